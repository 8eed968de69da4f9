"""Dependencies are wiring: every resource waits for what its object names, in every configuration.

The edges are derived from the objects, not listed by hand, so a dropped `depends_on` fails wherever it
happens. A resource registered by the program must wait for (`Rendered.waits_for`: its depends_on, their
depends_on, and what its parent components waited for):

- the Namespace it lives in;
- the CustomResourceDefinition of its kind;
- the Secrets, ConfigMaps and ServiceAccount its pods mount or reference (volumes, projected volumes,
  env and envFrom, imagePullSecrets, serviceAccountName), the Service a StatefulSet names, and every
  RoleBinding / ClusterRoleBinding that grants its ServiceAccount something (RBAC before workloads);
- the Role / ClusterRole a binding grants (a binding may name an account that does not exist yet: the
  API server accepts it, and the workload waits for both);
- what a ToolHive custom resource references (`*Ref` fields, `spec.secrets`), and the NetworkPolicies that
  fence exactly its pods (isolation before the server starts);
- the custom resource whose operator-made workload or pods a HorizontalPodAutoscaler or
  PodDisruptionBudget targets;
- every ResourceQuota of its namespace that counts it (the quota admission plugin refuses an object while
  a quota matching it has unknown usage: "status unknown for quota", the real run). Except when the
  quota counts a custom resource of a CRD the program itself creates (`count/<plural>.<group>`): the quota
  controller discovers that CRD up to 30 s later, so such a quota waits for the objects it counts instead.

Only objects the program registers count: a reference to an object the cluster already has (a team's own
Secret, an OIDC config made elsewhere) has nothing to wait for.
"""
from __future__ import annotations

from typing import Any, Iterator

import pytest

from components.servers import operator_objects
from tests.conftest import Rendered
from tests.configurations import RENDERS
from tools.validate import admission
from tools.mock_runtime import RegisteredResource

WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}
BINDING_KINDS = {"RoleBinding", "ClusterRoleBinding"}
#: What each reference field of a ToolHive custom resource names (in the resource's namespace).
REFERENCE_KINDS = {
    "groupRef": "MCPGroup", "toolConfigRef": "MCPToolConfig", "passwordRef": "Secret", "valueSecretRef": "Secret",
    "secretRef": "Secret", "secretKeyRef": "Secret", "configMapRef": "ConfigMap", "configMapKeyRef": "ConfigMap",
    "oidcConfigRef": "MCPOIDCConfig", "externalAuthConfigRef": "MCPExternalAuthConfig",
    "authzConfigRef": "MCPAuthzConfig", "telemetryConfigRef": "MCPTelemetryConfig",
    "compositeToolRefs": "VirtualMCPCompositeToolDefinition", "webhookConfigRef": "MCPWebhookConfig",
    "pgpassSecretRef": "Secret",
}
#: Fields ending in Ref that point at no object of the program (a field of the pod, not a resource).
NOT_OBJECT_REFS = {"fieldRef", "resourceFieldRef", "scaleTargetRef", "roleRef"}


class Index:
    """The program's Kubernetes objects by (kind, namespace, name) and the CRDs by (group, kind)."""

    def __init__(self, rendered: Rendered):
        self.by_key: dict[tuple[str, str | None, str], RegisteredResource] = {}
        self.crds: dict[tuple[str, str], RegisteredResource] = {}
        for resource in rendered.k8s_resources():
            obj = resource.inputs
            if "kind" not in obj:
                continue
            metadata = obj["metadata"]
            self.by_key[(obj["kind"], metadata.get("namespace"), metadata["name"])] = resource
            if obj["kind"] == "CustomResourceDefinition":
                self.crds[(obj["spec"]["group"], obj["spec"]["names"]["kind"])] = resource

    def find(self, kind: str, namespace: str | None, name: str) -> list[RegisteredResource]:
        found = self.by_key.get((kind, namespace, name))
        return [found] if found else []

    def of_kind(self, *kinds: str) -> list[RegisteredResource]:
        return [r for (kind, _, _), r in self.by_key.items() if kind in kinds]


def pod_specs(value: Any) -> Iterator[dict]:
    """Every pod spec inside an object (a Deployment's template, a custom resource's podTemplateSpec)."""
    if isinstance(value, dict):
        if isinstance(value.get("containers"), list):
            yield value
        for item in value.values():
            yield from pod_specs(item)
    elif isinstance(value, list):
        for item in value:
            yield from pod_specs(item)


def pod_references(pod: dict) -> Iterator[tuple[str, str]]:
    """(kind, name) of every Secret, ConfigMap and ServiceAccount a pod spec mounts or references."""
    if pod.get("serviceAccountName"):
        yield "ServiceAccount", pod["serviceAccountName"]
    for secret in pod.get("imagePullSecrets", []):
        yield "Secret", secret["name"]
    for volume in pod.get("volumes", []):
        if "secret" in volume:
            yield "Secret", volume["secret"]["secretName"]
        if "configMap" in volume:
            yield "ConfigMap", volume["configMap"]["name"]
        for source in volume.get("projected", {}).get("sources", []):
            if "secret" in source:
                yield "Secret", source["secret"]["name"]
            if "configMap" in source:
                yield "ConfigMap", source["configMap"]["name"]
    for container in pod.get("initContainers", []) + pod["containers"]:
        for var in container.get("env", []):
            source = var.get("valueFrom", {})
            if "secretKeyRef" in source:
                yield "Secret", source["secretKeyRef"]["name"]
            if "configMapKeyRef" in source:
                yield "ConfigMap", source["configMapKeyRef"]["name"]
        for source in container.get("envFrom", []):
            if "secretRef" in source:
                yield "Secret", source["secretRef"]["name"]
            if "configMapRef" in source:
                yield "ConfigMap", source["configMapRef"]["name"]


def custom_resource_references(spec: Any, field: str = "") -> Iterator[tuple[str, str]]:
    """(kind, name) of every object a ToolHive custom resource's spec names through a `*Ref` or spec.secrets."""
    if isinstance(spec, dict):
        for key, value in spec.items():
            if key in NOT_OBJECT_REFS or key in ("podTemplateSpec", "template"):
                continue
            if key.endswith("Ref") or key.endswith("Refs"):
                assert key in REFERENCE_KINDS, f"{field}.{key}: classify what this reference names in REFERENCE_KINDS"
                for ref in value if isinstance(value, list) else [value]:
                    yield REFERENCE_KINDS[key], ref["name"] if isinstance(ref, dict) else ref
            elif key == "secrets" and isinstance(value, list):
                yield from (("Secret", item["name"]) for item in value if isinstance(item, dict) and "name" in item)
            else:
                yield from custom_resource_references(value, f"{field}.{key}")
    elif isinstance(spec, list):
        for item in spec:
            yield from custom_resource_references(item, field)


def bound_accounts(binding: dict) -> Iterator[tuple[str, str]]:
    for subject in binding.get("subjects", []):
        if subject.get("kind") == "ServiceAccount":
            yield subject["namespace"], subject["name"]


def selects(selector: dict, labels: dict) -> bool:
    """A selector of matchLabels only, non-empty, that every one of `labels`' pods satisfies."""
    match = selector.get("matchLabels") or {}
    return bool(match) and set(selector) <= {"matchLabels"} and match.items() <= labels.items()


#: The hard resources the quota admission plugin's evaluators match, per kind (k8s.io/kubernetes v1.33,
#: pkg/quota/v1/evaluator/core); every kind also matches its own `count/<plural>[.<group>]`.
QUOTA_MATCHES = {
    "Service": {"services", "services.loadbalancers", "services.nodeports"},
    "PersistentVolumeClaim": {"persistentvolumeclaims", "requests.storage"},
    "Pod": {"pods", "cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory"},
    "Secret": {"secrets"}, "ConfigMap": {"configmaps"},
}


def quota_counts(obj: dict, hard: dict, plural: str) -> bool:
    """Whether a quota with these hard resources counts `obj` at its creation."""
    group = obj["apiVersion"].rpartition("/")[0]
    own = {f"count/{plural}{'.' + group if group else ''}", *(QUOTA_MATCHES.get(obj["kind"], ()) if not group else ())}
    storage_class = obj["kind"] == "PersistentVolumeClaim" and any(".storageclass.storage.k8s.io/" in key for key in hard)
    return bool(own & set(hard)) or storage_class


def operator_made(kind: str, name: str) -> tuple[list[dict], list[tuple[str, str]]]:
    """(pod label sets, (kind, name) workloads) the operator creates for a ToolHive server resource."""
    if kind not in operator_objects.PROXY_APP:
        return [], []
    pods = [operator_objects.proxy_selector(kind, name)]
    workloads = [operator_objects.proxy_workload(name)]
    if kind == "MCPServer":
        pods.append(operator_objects.backend_selector(name))
        workloads.append(operator_objects.backend_workload(name))
    return pods, workloads


#: The rules above, by the name each edge records.
RULES = ("namespace", "crd", "pod reference", "governing service", "rbac", "role", "reference", "isolation", "scaling",
         "quota", "late count")


def required_waits(rendered: Rendered) -> dict[str, dict[str, tuple[str, str]]]:
    """{resource URN: {URN it must wait for: (rule, why)}} for every Kubernetes object the program registers."""
    index = Index(rendered)
    required: dict[str, dict[str, str]] = {}
    servers = [r for r in index.of_kind(*operator_objects.PROXY_APP)]

    quotas = index.of_kind("ResourceQuota")
    plurals = {(crd.inputs["spec"]["group"], crd.inputs["spec"]["names"]["kind"]): crd.inputs["spec"]["names"]["plural"]
               for crd in index.crds.values()}

    for resource in rendered.k8s_resources():
        obj = resource.inputs
        if "kind" not in obj:
            continue
        kind, namespace, name = obj["kind"], obj["metadata"].get("namespace"), obj["metadata"]["name"]
        needs = required.setdefault(resource.urn, {})
        group = obj["apiVersion"].rpartition("/")[0]

        for quota in quotas:
            hard = quota.inputs["spec"].get("hard", {})
            if quota.urn == resource.urn or quota.inputs["metadata"].get("namespace") != namespace:
                continue
            if not quota_counts(obj, hard, plurals.get((group, kind)) or admission._plural(kind)):
                continue
            if (group, kind) in index.crds:
                required.setdefault(quota.urn, {})[resource.urn] = (
                    "late count", f"it counts {kind} {name}, whose CRD the quota controller discovers late")
            else:
                needs[quota.urn] = ("quota", f"ResourceQuota {quota.inputs['metadata']['name']} counts it")

        def need(rule: str, target_kind: str, target_namespace: str | None, target_name: str, why: str) -> None:
            for target in index.find(target_kind, target_namespace, target_name):
                if target.urn != resource.urn:
                    needs[target.urn] = (rule, why)

        if namespace:
            need("namespace", "Namespace", None, namespace, "the namespace it lives in")
        if (group, kind) in index.crds:
            needs[index.crds[(group, kind)].urn] = ("crd", "the CRD of its kind")

        accounts = set()
        for pod in pod_specs(obj.get("spec", {})):
            for ref_kind, ref_name in pod_references(pod):
                need("pod reference", ref_kind, namespace, ref_name, f"its pods reference {ref_kind} {ref_name}")
            accounts.add((namespace, pod.get("serviceAccountName") or "default"))
        if kind == "StatefulSet":
            need("governing service", "Service", namespace, obj["spec"]["serviceName"], "the Service it names")
        if kind in WORKLOAD_KINDS or accounts:
            for binding in index.of_kind(*BINDING_KINDS):
                if accounts & set(bound_accounts(binding.inputs)):
                    needs[binding.urn] = ("rbac", f"{binding.inputs['kind']} {binding.inputs['metadata']['name']} "
                                                  "grants its pods")

        if kind in BINDING_KINDS:
            role = obj["roleRef"]
            need("role", role["kind"], namespace if role["kind"] == "Role" else None, role["name"], "the role it grants")

        if (group, kind) in index.crds:
            for ref_kind, ref_name in custom_resource_references(obj.get("spec", {}), kind):
                need("reference", ref_kind, namespace, ref_name, f"it references {ref_kind} {ref_name}")
            pods, _ = operator_made(kind, name)
            for policy in index.of_kind("NetworkPolicy"):
                if policy.inputs["metadata"].get("namespace") == namespace and any(
                        selects(policy.inputs["spec"]["podSelector"], labels) for labels in pods):
                    needs[policy.urn] = ("isolation", f"NetworkPolicy {policy.inputs['metadata']['name']} fences its pods")

        if kind in ("HorizontalPodAutoscaler", "PodDisruptionBudget"):
            for server in servers:
                if server.inputs["metadata"].get("namespace") != namespace:
                    continue
                pods, workloads = operator_made(server.inputs["kind"], server.inputs["metadata"]["name"])
                target = obj["spec"].get("scaleTargetRef", {})
                if (target.get("kind"), target.get("name")) in workloads or any(
                        selects(obj["spec"].get("selector", {}), labels) for labels in pods):
                    needs[server.urn] = ("scaling", f"{server.inputs['kind']} {server.inputs['metadata']['name']} "
                                                    "makes what it targets")
    return required


def describe(rendered: Rendered, urn: str) -> str:
    for resource in rendered.resources:
        if resource.urn == urn and "kind" in resource.inputs:
            metadata = resource.inputs["metadata"]
            return f"{resource.inputs['kind']} {metadata.get('namespace') or '-'}/{metadata['name']}"
    return urn


@pytest.mark.parametrize("configuration", RENDERS)
def test_every_resource_waits_for_what_its_object_names(configuration, preview):
    rendered = RENDERS[configuration](preview)
    missing = []
    for urn, needs in required_waits(rendered).items():
        waits = rendered.waits_for(next(r for r in rendered.resources if r.urn == urn))
        missing += [f"{describe(rendered, urn)} does not wait for {describe(rendered, target)} ({why})"
                    for target, (_, why) in needs.items() if target not in waits]
    assert missing == []


def test_every_rule_of_the_derivation_finds_edges_in_the_configurations():
    """The derivation itself bites: a rule that stopped matching anything (a renamed field, a changed
    object shape) would let every edge it stands for go unchecked."""
    found = {rule for name in RENDERS for needs in required_waits(RENDERS[name](False)).values()
             for rule, _ in needs.values()}
    assert found == set(RULES)
