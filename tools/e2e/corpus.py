"""The offline dry run against the real API server: a corpus of objects, each judged by both.

Each case is one object: a valid base (a Deployment, Service, NetworkPolicy, Role, MCPServer, ...) with one
change. The offline verdict is `tools.validate.check_objects` (schemas, CEL rules of the CRDs, API-server rules);
the real verdict is a `pulumi up --continue-on-error` of a program that registers every case as its own resource
through the real kubernetes provider, against the real API server. The two must agree on every case: an object the
dry run refuses must fail to apply, and an object it accepts must apply.

Cases cover the rule families of tools/validate/apiserver.py (labels, selectors, containers, resources, env,
ports, volumes, tolerations, LimitRange, ResourceQuota, NetworkPolicy, Service, PDB, RBAC, names and keys derived
from input), the CRDs' schemas and CEL rules, and tools/validate/admission.py: bare Pods and claims in a namespace
fenced like a tenant, judged at create by LimitRanger and ResourceQuota admission (offline: with the fences). The CRDs must be installed (the run does the corpus after the stack's destroy, which keeps them).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Callable

NAMESPACE = "e2e-corpus"
#: A namespace fenced like a tenant (LimitRange and ResourceQuota) for the admission cases: Pods and claims are
#: judged there at create, as the pods the operator makes in a tenant namespace are.
FENCED = "e2e-corpus-fenced"


def fences() -> list[dict]:
    """The fenced namespace's LimitRange and ResourceQuota, applied before its cases."""
    return [
        {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "fence", "namespace": FENCED},
         "spec": {"limits": [{"type": "Container", "min": {"cpu": "10m"}, "max": {"cpu": "500m", "memory": "256Mi"},
                              "default": {"cpu": "100m", "memory": "64Mi"},
                              "defaultRequest": {"cpu": "50m", "memory": "32Mi"}},
                             {"type": "PersistentVolumeClaim", "max": {"storage": "5Gi"}}]}},
        {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "fence", "namespace": FENCED},
         "spec": {"hard": {"pods": "5", "persistentvolumeclaims": "3", "requests.storage": "3Gi"}}},
    ]


def _pod() -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "pod", "namespace": FENCED},
            "spec": {"containers": [{"name": "app", "image": "nginx:1.27",
                                     "resources": {"requests": {"cpu": "50m", "memory": "32Mi"},
                                                   "limits": {"cpu": "100m", "memory": "64Mi"}}}]}}


def _claim(namespace: str = FENCED) -> dict:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data", "namespace": namespace},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}


def _ingress() -> dict:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web", "namespace": NAMESPACE},
            "spec": {"ingressClassName": "nginx", "rules": [{"host": "mcp.example.com", "http": {"paths": [
                {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}}


def _service_account() -> dict:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "runner", "namespace": NAMESPACE}}


def _deployment() -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": NAMESPACE, "labels": {"app": "web"}},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{
                                      "name": "web", "image": "nginx:1.27",
                                      "ports": [{"name": "http", "containerPort": 8080}],
                                      "env": [{"name": "MODE", "value": "test"}],
                                      "resources": {"requests": {"cpu": "10m", "memory": "16Mi"},
                                                    "limits": {"cpu": "100m", "memory": "64Mi"}},
                                      "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}]}],
                                      "volumes": [{"name": "tmp", "emptyDir": {}}]}}}}


def _service() -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": NAMESPACE},
            "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}


def _netpol() -> dict:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "web", "namespace": NAMESPACE},
            "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress", "Egress"],
                     "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "client"}}}],
                                  "ports": [{"port": 8080, "protocol": "TCP"}]}],
                     "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/24"}}], "ports": [{"port": 443}]}]}}


def _limit_range() -> dict:
    return {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "limits", "namespace": NAMESPACE},
            "spec": {"limits": [{"type": "Container", "min": {"cpu": "10m"}, "max": {"cpu": "2"},
                                 "default": {"cpu": "500m"}, "defaultRequest": {"cpu": "100m"}}]}}


def _quota() -> dict:
    return {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "quota", "namespace": NAMESPACE},
            "spec": {"hard": {"pods": "10", "requests.cpu": "4"}}}


def _pdb() -> dict:
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": "web", "namespace": NAMESPACE},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}}


def _role() -> dict:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": "reader", "namespace": NAMESPACE},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]}


def _binding() -> dict:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "reader", "namespace": NAMESPACE},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
            "subjects": [{"kind": "User", "name": "dev@example.com", "apiGroup": "rbac.authorization.k8s.io"}]}


def _mcpserver() -> dict:
    return {"apiVersion": "toolhive.stacklok.dev/v1beta1", "kind": "MCPServer",
            "metadata": {"name": "fetch", "namespace": NAMESPACE},
            "spec": {"image": "ghcr.io/stackloklabs/gofetch/server:1.0.1", "transport": "streamable-http",
                     "proxyPort": 8080, "mcpPort": 8080}}


@dataclass(frozen=True)
class Case:
    name: str
    family: str
    base: Callable[[], dict]
    change: Callable[[dict], Any] | None = None

    def object(self) -> dict:
        obj = self.base()
        obj["metadata"]["name"] = self.name
        if obj["kind"] == "RoleBinding":
            obj["roleRef"]["name"] = "reader"
        if self.change is not None:
            self.change(obj)
        return obj


def _container(obj: dict) -> dict:
    return obj["spec"]["template"]["spec"]["containers"][0]


def _set(path: str, value: Any) -> Callable[[dict], None]:
    """Set a dotted path (`spec.replicas`, list indices as numbers)."""
    def change(obj: dict) -> None:
        node: Any = obj
        parts = path.split(".")
        for part in parts[:-1]:
            node = node[int(part)] if part.isdigit() else node[part]
        last = parts[-1]
        if last.isdigit():
            node[int(last)] = copy.deepcopy(value)
        else:
            node[last] = copy.deepcopy(value)
    return change


CONTAINER = "spec.template.spec.containers.0"

CASES: list[Case] = [
    # valid bases: both must accept
    Case("ok-deployment", "valid", _deployment), Case("ok-service", "valid", _service),
    Case("ok-netpol", "valid", _netpol), Case("ok-limits", "valid", _limit_range), Case("ok-quota", "valid", _quota),
    Case("ok-pdb", "valid", _pdb), Case("ok-role", "valid", _role), Case("ok-binding", "valid", _binding),
    Case("ok-mcpserver", "valid", _mcpserver),
    # metadata: labels and selectors
    Case("label-key", "labels", _deployment, _set("metadata.labels", {"bad key!": "x"})),
    Case("label-value", "labels", _deployment, _set("metadata.labels", {"app": "-starts-with-dash"})),
    Case("label-value-long", "labels", _deployment, _set("metadata.labels", {"app": "a" * 64})),
    Case("selector-mismatch", "selectors", _deployment,
         _set("spec.selector", {"matchLabels": {"app": "other"}})),
    Case("selector-operator", "selectors", _netpol,
         _set("spec.podSelector", {"matchExpressions": [{"key": "app", "operator": "Near", "values": ["a"]}]})),
    # containers
    Case("request-over-limit", "resources", _deployment, _set(f"{CONTAINER}.resources.requests.cpu", "1")),
    Case("bad-quantity", "resources", _deployment, _set(f"{CONTAINER}.resources.limits.memory", "lots")),
    Case("env-duplicate-valuefrom", "env", _deployment,
         _set(f"{CONTAINER}.env", [{"name": "MODE", "value": "x",
                                    "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}])),
    Case("port-name-long", "ports", _deployment, _set(f"{CONTAINER}.ports.0.name", "a-much-too-long-port-name")),
    Case("port-out-of-range", "ports", _deployment, _set(f"{CONTAINER}.ports.0.containerPort", 70000)),
    Case("port-protocol", "ports", _deployment, _set(f"{CONTAINER}.ports.0.protocol", "HTTP")),
    Case("mount-unknown-volume", "volumes", _deployment, _set(f"{CONTAINER}.volumeMounts.0.name", "nope")),
    Case("toleration-effect", "tolerations", _deployment,
         _set("spec.template.spec.tolerations", [{"key": "k", "operator": "Exists", "effect": "Sometimes"}])),
    # fences
    Case("limitrange-min-over-max", "limitrange", _limit_range, _set("spec.limits.0.min.cpu", "3")),
    Case("limitrange-type", "limitrange", _limit_range, _set("spec.limits.0.type", "Node")),
    Case("quota-negative", "quota", _quota, _set("spec.hard.pods", "-1")),
    # network
    Case("netpol-cidr", "networkpolicy", _netpol, _set("spec.egress.0.to.0.ipBlock.cidr", "10.0.0.0/33")),
    Case("netpol-policy-type", "networkpolicy", _netpol, _set("spec.policyTypes", ["Sideways"])),
    Case("service-port-names", "service", _service,
         _set("spec.ports", [{"port": 80}, {"port": 81}])),
    Case("service-target-port-name", "service", _service, _set("spec.ports.0.targetPort", "Not_A_Name")),
    Case("pdb-both", "pdb", _pdb, _set("spec.maxUnavailable", 1)),
    # RBAC
    Case("role-no-verbs", "rbac", _role, _set("rules.0.verbs", [])),
    Case("role-nonresource", "rbac", _role, _set("rules", [{"nonResourceURLs": ["/healthz"], "verbs": ["get"]}])),
    Case("binding-ref-kind", "rbac", _binding, _set("roleRef.kind", "Group")),
    Case("binding-subject-kind", "rbac", _binding,
         _set("subjects", [{"kind": "Robot", "name": "r2", "apiGroup": "rbac.authorization.k8s.io"}])),
    # CRD schemas and CEL rules
    Case("mcpserver-transport", "crd-schema", _mcpserver, _set("spec.transport", "carrier-pigeon")),
    Case("mcpserver-port", "crd-schema", _mcpserver, _set("spec.proxyPort", 0)),
    Case("mcpserver-no-image", "crd-schema", _mcpserver, lambda obj: obj["spec"].pop("image")),
    Case("mcpserver-redis-no-address", "crd-cel", _mcpserver, _set("spec.sessionStorage", {"provider": "redis"})),
    Case("ok-mcpserver-redis", "valid", _mcpserver,
         _set("spec.sessionStorage", {"provider": "redis", "address": "valkey.mcp.svc:6379"})),
    # names and keys derived from input, each by the rule of the field it lands in
    Case("ok-ingress", "valid", _ingress), Case("ok-serviceaccount", "valid", _service_account),
    Case("volume-name-long", "names", _deployment, lambda obj: (
        _set("spec.template.spec.volumes.0.name", "v" * 64)(obj), _set(f"{CONTAINER}.volumeMounts.0.name", "v" * 64)(obj))),
    Case("secret-key-invalid", "names", _deployment, _set(f"{CONTAINER}.env", [
        {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "api token"}}}])),
    Case("storage-class-name", "names", lambda: _claim(NAMESPACE), _set("spec.storageClassName", "Fast_SSD")),
    Case("ingress-host-ip", "names", _ingress, _set("spec.rules.0.host", "10.0.0.1")),
    Case("ingress-class-name", "names", _ingress, _set("spec.ingressClassName", "Nginx_Public")),
    Case("service-name", "names", _service, _set("metadata.name", "9web")),
    Case("serviceaccount-name", "names", _service_account, _set("metadata.name", "Runner_One")),
    # admission by the namespace's own fences (LimitRanger and ResourceQuota at create)
    Case("ok-pod", "valid", _pod), Case("ok-claim", "valid", _claim),
    Case("ok-pod-defaulted", "valid", _pod, lambda obj: obj["spec"]["containers"][0].pop("resources")),
    Case("pod-over-max", "admission", _pod, _set("spec.containers.0.resources.limits.cpu", "1")),
    Case("pod-under-min", "admission", _pod, _set("spec.containers.0.resources.requests.cpu", "5m")),
    Case("pod-memory-over-max", "admission", _pod, _set("spec.containers.0.resources.limits.memory", "512Mi")),
    Case("claim-over-quota", "admission", _claim, _set("spec.resources.requests.storage", "4Gi")),
    Case("claim-over-max", "admission", _claim, _set("spec.resources.requests.storage", "6Gi")),
    Case("claim-zero", "admission", _claim, _set("spec.resources.requests.storage", "0")),
]


def offline_verdicts() -> dict[str, list[str]]:
    """Case name -> the dry run's problems (empty: accepted)."""
    from tools.validate import check_objects
    context = fences()
    baseline = {str(p) for p in check_objects(context)}
    verdicts = {}
    for case in CASES:
        obj = case.object()
        around = context if obj["metadata"]["namespace"] == FENCED else []
        verdicts[case.name] = [str(p) for p in check_objects([*around, obj]) if str(p) not in baseline]
    return verdicts


def type_token(obj: dict) -> str:
    version = obj["apiVersion"]
    group_version = version if "/" in version else f"core/{version}"
    return f"kubernetes:{group_version}:{obj['kind']}"


def program() -> None:
    """Every case as its own resource, through the stack's kind of provider (server-side apply)."""
    import pulumi
    import pulumi_kubernetes as k8s

    class Raw(pulumi.CustomResource):
        def __init__(self, name: str, obj: dict, opts: pulumi.ResourceOptions):
            super().__init__(type_token(obj), name, dict(obj), opts)

    provider = k8s.Provider("corpus", enable_server_side_apply=True)
    on = pulumi.ResourceOptions(provider=provider)
    namespace = k8s.core.v1.Namespace("ns", metadata={"name": NAMESPACE}, opts=on)
    fenced = k8s.core.v1.Namespace("fenced-ns", metadata={"name": FENCED}, opts=on)
    ready = [fenced]
    for fence in fences():
        if fence["kind"] == "ResourceQuota":  # counted before anything it counts is created (the stack does the same)
            fence["metadata"]["annotations"] = {"pulumi.com/waitFor": "jsonpath={.status.used}"}
        ready.append(Raw(f"fence-{fence['kind'].lower()}", fence, pulumi.ResourceOptions(provider=provider, depends_on=[fenced])))
    for case in CASES:
        obj = case.object()
        obj["metadata"].setdefault("annotations", {})["pulumi.com/skipAwait"] = "true"  # no kubelet: nothing gets ready
        waits = ready if obj["metadata"]["namespace"] == FENCED else [namespace]
        Raw(case.name, obj, pulumi.ResourceOptions(provider=provider, depends_on=waits))


def real_verdicts(failed_urns: dict[str, str]) -> dict[str, list[str]]:
    """Case name -> the engine's errors for its resource (empty: applied)."""
    verdicts = {case.name: [] for case in CASES}
    for urn, message in failed_urns.items():
        name = urn.rsplit("::", 1)[-1]
        if name in verdicts:
            verdicts[name].append(message)
    return verdicts


def agreement(offline: dict[str, list[str]], real: dict[str, list[str]]) -> dict:
    rows = [{"case": case.name, "family": case.family, "offline_refuses": bool(offline[case.name]),
             "api_server_refuses": bool(real[case.name]), "offline": offline[case.name][:2],
             "real": [m[:300] for m in real[case.name][:2]]} for case in CASES]
    agree = [r for r in rows if r["offline_refuses"] == r["api_server_refuses"]]
    return {"cases": len(rows), "agree": len(agree), "refused_offline": sum(r["offline_refuses"] for r in rows),
            "disagreements": [r for r in rows if r not in agree], "rows": rows}
