"""What the end-to-end run asserts, as pure functions over three inputs: the offline render (`render/`), the
engine's state (`pulumi stack export`) and the live objects read back from the API server.

Each check returns a `Check` (name, ok, detail). They take plain data, so each is tested offline
(tests/e2e/test_checks.py) on small inputs where it must pass and where it must fail.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

from components.servers import operator_objects
from tools.validate import reachability

#: The MCP kinds the operator reconciles into workloads.
SERVER_KINDS = ("MCPServer", "MCPRemoteProxy", "VirtualMCPServer")
#: The proxy's session password variable (proxy runner, v0.44.0 pkg/transport/session: THV_SESSION_REDIS_PASSWORD).
REDIS_PASSWORD_ENV = "THV_SESSION_REDIS_PASSWORD"


@dataclass
class Check:
    name: str
    ok: bool
    detail: Any = ""
    section: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Live:
    """The live objects, indexed by (kind, namespace, name)."""

    objects: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.index = {key_of(obj): obj for obj in self.objects}

    def get(self, kind: str, namespace: str, name: str) -> dict | None:
        return self.index.get((kind, namespace or "", name))

    def of_kind(self, kind: str) -> list[dict]:
        return [obj for obj in self.objects if obj.get("kind") == kind]


def key_of(obj: dict) -> tuple[str, str, str]:
    meta = obj.get("metadata", {})
    return obj.get("kind", ""), meta.get("namespace", "") or "", meta.get("name", "")


def _strings(value) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def images_pinned(state: dict, digests: dict[str, str]) -> Check:
    """Every image the program looked up in (moto's) ECR is deployed as `<reference>@<the digest ECR gave>`,
    and every ECR image in the state is one of those: the deploy-time lookup ran for real, not offline."""
    pinned = {f"{ref}@{digest}" for ref, digest in digests.items()}
    hosts = {ref.split("/", 1)[0] for ref in digests}
    texts = {text for res in state.get("deployment", {}).get("resources", []) for text in _strings(res.get("inputs", {}))}
    seen = {text for text in texts if text.split("/", 1)[0] in hosts and "@sha256:" in text}
    unpinned = sorted(texts & set(digests))
    return Check("images are pinned to the digests ECR (moto) gave at deploy time",
                 pinned <= seen and seen <= pinned and not unpinned,
                 {"not_deployed": sorted(pinned - seen), "unknown_digests": sorted(seen - pinned),
                  "unpinned": unpinned})


# -- the engine against the offline render ----------------------------------------------------------------------
def state_urns(state: dict) -> set[str]:
    """The URNs of the program's resources in `pulumi stack export` (the stack and default providers aside)."""
    urns = set()
    for res in state.get("deployment", {}).get("resources", []):
        rtype = res.get("type", "")
        if rtype == "pulumi:pulumi:Stack" or rtype.startswith("pulumi:providers:") and "::default" in res["urn"]:
            continue
        urns.add(res["urn"])
    return urns


def render_urns(resources: list[dict]) -> set[str]:
    return {res["urn"] for res in resources if res.get("type") != "pulumi:pulumi:Stack"}


def urns_equal(state: dict, resources: list[dict]) -> Check:
    live, offline = state_urns(state), render_urns(resources)
    only_live, only_offline = sorted(live - offline), sorted(offline - live)
    return Check("state URNs equal the offline render's resources.json URNs", not only_live and not only_offline,
                 {"only_in_state": only_live, "only_in_render": only_offline, "count": len(live)})


def policy_findings_equal(engine_events: list[dict], report: list[dict] | dict, resources: list[dict]) -> Check:
    """The pack run by the real CLI reports the same findings (policy, kind, namespace, name) as the offline
    policy report. The engine names a resource by URN; the render's resources.json maps it to its object."""
    findings = report.get("violations", report) if isinstance(report, dict) else report
    objects = {res["urn"]: res.get("inputs") or {} for res in resources}

    def engine_key(item: dict) -> tuple[str, str, str, str]:
        inputs = objects.get(item.get("urn", ""), {})
        meta = inputs.get("metadata") or {}
        return item.get("policy", ""), inputs.get("kind", ""), meta.get("namespace", "") or "", meta.get("name", "")

    def offline_key(item: dict) -> tuple[str, str, str, str]:
        return item.get("policy", ""), item.get("kind", ""), item.get("namespace", "") or "", item.get("name", "")

    engine = sorted({engine_key(item) for item in engine_events})
    offline = sorted({offline_key(item) for item in findings})
    return Check("policy findings of `pulumi preview --policy-pack` equal the offline policy report",
                 engine == offline, {"only_engine": sorted(set(engine) - set(offline)),
                                     "only_offline": sorted(set(offline) - set(engine)), "count": len(engine)})


# -- the operator's objects ---------------------------------------------------------------------------------------
def servers_of(live: Live) -> list[tuple[str, str, str]]:
    return sorted(key_of(obj) for kind in SERVER_KINDS for obj in live.of_kind(kind))


def operator_objects_predicted(live: Live) -> Check:
    """Each server's proxy Deployment and Service exist under the names and labels operator_objects.py predicts."""
    missing, wrong = [], []
    for kind, namespace, name in servers_of(live):
        dep_kind, dep_name = operator_objects.proxy_workload(name)
        deployment = live.get(dep_kind, namespace, dep_name)
        service = live.get("Service", namespace, operator_objects.service_name(kind, name))
        if deployment is None:
            missing.append(f"{dep_kind}/{namespace}/{dep_name} (for {kind} {name})")
        else:
            labels = deployment["spec"]["template"]["metadata"].get("labels", {})
            expected = operator_objects.proxy_selector(kind, name)
            if any(labels.get(k) != v for k, v in expected.items()):
                wrong.append(f"{dep_kind}/{namespace}/{dep_name}: pod labels {labels} lack {expected}")
        if service is None:
            missing.append(f"Service/{namespace}/{operator_objects.service_name(kind, name)} (for {kind} {name})")
        elif deployment is not None:
            selector = service["spec"].get("selector", {})
            labels = deployment["spec"]["template"]["metadata"].get("labels", {})
            if not selector or any(labels.get(k) != v for k, v in selector.items()):
                wrong.append(f"Service/{namespace}/{service['metadata']['name']} selects {selector}, "
                             f"not the pods of Deployment {dep_name}")
    return Check("operator-created Deployments and Services are the ones operator_objects.py predicts",
                 not missing and not wrong, {"missing": missing, "wrong": wrong})


def network_policies_select_proxies(live: Live) -> Check:
    """Every server's own NetworkPolicies (labelled for it) select its live proxy pods."""
    problems = []
    for kind, namespace, name in servers_of(live):
        deployment = live.get("Deployment", namespace, name)
        if deployment is None:
            continue
        labels = deployment["spec"]["template"]["metadata"].get("labels", {})
        policies = [p for p in live.of_kind("NetworkPolicy") if p["metadata"].get("namespace") == namespace]
        selecting = [p["metadata"]["name"] for p in policies
                     if reachability.selector_matches(p["spec"].get("podSelector"), labels)]
        if not selecting:
            problems.append(f"no NetworkPolicy in {namespace} selects the pods of {kind} {name} ({labels})")
    return Check("each server's NetworkPolicies select its proxy pods", not problems, problems)


def quotas_counted(live: Live) -> Check:
    """Every ResourceQuota's usage is known for each hard resource: the API server refuses whatever a quota with
    unknown usage counts ("status unknown for quota"), so after `up` a new object of the stack would be refused."""
    problems = []
    for quota in live.of_kind("ResourceQuota"):
        unknown = sorted(set(quota.get("spec", {}).get("hard", {})) - set(quota.get("status", {}).get("used", {})))
        if unknown:
            problems.append(f"ResourceQuota {quota['metadata'].get('namespace')}/{quota['metadata']['name']}: "
                            f"usage unknown for {', '.join(unknown)}")
    return Check("every ResourceQuota has counted each of its hard resources", not problems, problems)


def reachability_on_live(live: Live) -> Check:
    problems = reachability.check(live.objects)
    return Check("the reachability check holds over the live objects", not problems, problems)


def scaling_targets_exist(live: Live) -> Check:
    """Every PDB selects a live workload's pods; every HPA's scaleTargetRef names a live object. An MCPServer's
    backend StatefulSet is made by the proxy runner inside its pod, which never runs here (no kubelet): a PDB or
    HPA of a live MCPServer's backend is listed as not checkable, never passed or failed."""
    problems, not_checkable = [], []
    workloads = [o for o in live.objects if o.get("kind") in ("Deployment", "StatefulSet")]
    servers = [(ns, name) for kind, ns, name in servers_of(live) if kind == "MCPServer"]
    for pdb in live.of_kind("PodDisruptionBudget"):
        ns, selector = pdb["metadata"]["namespace"], pdb["spec"].get("selector")
        where = f"PodDisruptionBudget/{ns}/{pdb['metadata']['name']}"
        if any(w["metadata"]["namespace"] == ns and reachability.selector_matches(
                selector, w["spec"]["template"]["metadata"].get("labels", {})) for w in workloads):
            continue
        backends = [name for server_ns, name in servers if server_ns == ns and reachability.selector_matches(
            selector, operator_objects.backend_selector(name))]
        if backends:
            not_checkable.append(f"{where} selects the backend pods of MCPServer {backends[0]} (made by the proxy runner)")
        else:
            problems.append(f"{where} selects no live workload's pods")
    for hpa in live.of_kind("HorizontalPodAutoscaler"):
        ns, ref = hpa["metadata"]["namespace"], hpa["spec"]["scaleTargetRef"]
        where = f"HorizontalPodAutoscaler/{ns}/{hpa['metadata']['name']}"
        if live.get(ref["kind"], ns, ref["name"]) is not None:
            continue
        if (ns, ref["name"]) in servers and (ref["kind"], ref["name"]) == operator_objects.backend_workload(ref["name"]):
            not_checkable.append(f"{where} targets the backend {ref['kind']}/{ref['name']} (made by the proxy runner)")
        else:
            problems.append(f"{where} targets {ref['kind']}/{ref['name']}, which does not exist")
    return Check("PDB and HPA targets exist", not problems, {"problems": problems, "not_checkable": not_checkable})


def _redis_sessions(obj: dict) -> bool:
    storage = (obj.get("spec") or {}).get("sessionStorage") or {}
    return storage.get("provider") == "redis"


def redis_password_reaches_proxies(live: Live, default_redis: bool) -> Check:
    """Every proxy that keeps sessions in Redis has THV_SESSION_REDIS_PASSWORD in its Deployment (from a Secret).

    A server keeps sessions in Redis when its spec says so, or, with a default Redis configured for the operator,
    when it runs more than one replica or scales (the operator then points it at the default Redis)."""
    problems, checked = [], []
    for kind, namespace, name in servers_of(live):
        obj = live.get(kind, namespace, name)
        if not (_redis_sessions(obj) or (default_redis and _replicated(obj, live))):
            continue
        deployment = live.get("Deployment", namespace, name)
        checked.append(f"{kind}/{namespace}/{name}")
        if deployment is None:
            problems.append(f"{kind}/{namespace}/{name}: no proxy Deployment")
            continue
        env = [e for c in deployment["spec"]["template"]["spec"].get("containers", []) for e in c.get("env", [])]
        found = [e for e in env if e.get("name") == REDIS_PASSWORD_ENV]
        if not found or "secretKeyRef" not in (found[0].get("valueFrom") or {}):
            problems.append(f"{kind}/{namespace}/{name}: proxy Deployment has no {REDIS_PASSWORD_ENV} from a Secret")
    return Check(f"every proxy with Redis sessions gets the password ({REDIS_PASSWORD_ENV})", not problems,
                 {"problems": problems, "checked": checked})


def _replicated(obj: dict, live: Live) -> bool:
    spec = obj.get("spec") or {}
    meta = obj["metadata"]
    scaled = any(h["spec"]["scaleTargetRef"].get("name") == meta["name"] and h["metadata"]["namespace"] ==
                 meta.get("namespace") for h in live.of_kind("HorizontalPodAutoscaler"))
    return (spec.get("replicas") or 1) > 1 or scaled


def pods_admitted(live: Live, namespaces: Iterable[str]) -> Check:
    """The ReplicaSets' pod creations passed admission (Pod Security included) in the stack's namespaces.

    Without a kubelet the pods stay Pending; a pod that admission refused shows as the ReplicaSet's
    `ReplicaFailure` condition instead (FailedCreate, "forbidden: violates PodSecurity ...")."""
    wanted = set(namespaces)
    refused, admitted = [], []
    for rs in live.of_kind("ReplicaSet"):
        ns = rs["metadata"]["namespace"]
        if ns not in wanted or not (rs.get("spec", {}).get("replicas") or 0):
            continue
        failures = [c for c in (rs.get("status") or {}).get("conditions", []) if c.get("type") == "ReplicaFailure"
                    and c.get("status") == "True"]
        if failures:
            refused.append(f"ReplicaSet/{ns}/{rs['metadata']['name']}: {failures[0].get('message', '')}")
    owners = {(p["metadata"]["namespace"], ref["name"]) for p in live.of_kind("Pod")
              for ref in p["metadata"].get("ownerReferences", [])}
    for rs in live.of_kind("ReplicaSet"):
        key = (rs["metadata"]["namespace"], rs["metadata"]["name"])
        if key[0] in wanted and key in owners:
            admitted.append(f"{key[0]}/{key[1]}")
    return Check("pods created by the ReplicaSets pass admission (Pod Security) in their namespace",
                 not refused and bool(admitted), {"refused": refused, "admitted": sorted(admitted)})


def backends_made(started: list, live: Live, refusals: dict[tuple[str, str], list[str]]) -> list[Check]:
    """The proxy runner (out of cluster) made each chosen MCPServer's backend StatefulSet, with the `mcp` container
    of the MCPServer's podTemplateSpec merged in (security context and volume mounts), and the StatefulSet
    controller's pods passed admission (Pod Security and the tenant's fences): a pod exists, and no FailedCreate
    event (`refusals`, by (namespace, name)) says otherwise."""
    made, missing, merged, admitted, refused = [], [], [], [], []
    for run in started:
        key = f"{run.namespace}/{run.name} ({run.transport})"
        statefulset = live.get("StatefulSet", run.namespace, run.name)
        if statefulset is None:
            missing.append(f"{key}: {run.error or 'no StatefulSet'}")
            continue
        made.append(key)
        server = live.get("MCPServer", run.namespace, run.name) or {}
        wanted = _mcp_container(((server.get("spec") or {}).get("podTemplateSpec") or {}).get("spec") or {})
        got = _mcp_container(statefulset["spec"]["template"].get("spec") or {})
        for field_name in ("securityContext",):
            for item, value in (wanted.get(field_name) or {}).items():
                if (got.get(field_name) or {}).get(item) != value:
                    merged.append(f"{key}: mcp {field_name}.{item} is {(got.get(field_name) or {}).get(item)!r}, "
                                  f"the MCPServer says {value!r}")
        mounts = {m.get("name") for m in got.get("volumeMounts", [])}
        merged += [f"{key}: mcp lacks volumeMount {m.get('name')}" for m in wanted.get("volumeMounts", [])
                   if m.get("name") not in mounts]
        pods = [p for p in live.of_kind("Pod") if p["metadata"].get("namespace") == run.namespace and any(
            ref.get("kind") == "StatefulSet" and ref.get("name") == run.name
            for ref in p["metadata"].get("ownerReferences", []))]
        if refusals.get((run.namespace, run.name)) or not pods:
            refused.append(f"{key}: {(refusals.get((run.namespace, run.name)) or ['no pod was created'])[0]}")
        else:
            admitted.append(key)
    return [Check("the proxy runner makes the backend StatefulSet of one MCPServer per transport",
                  bool(made) and not missing, {"made": made, "missing": missing}),
            Check("the backend's mcp container carries the MCPServer's podTemplateSpec", not merged and bool(made),
                  merged),
            Check("the backend StatefulSets' pods pass admission (Pod Security, fences) in their namespace",
                  bool(admitted) and not refused, {"admitted": admitted, "refused": refused})]


def _mcp_container(pod_spec: dict) -> dict:
    return next((c for c in pod_spec.get("containers", []) if c.get("name") == "mcp"), {})


# -- destroy ------------------------------------------------------------------------------------------------------
def destroy_leaves_only_retained(state: dict, after: Live) -> Check:
    """After `pulumi destroy`: what the program retains on delete is live, every other object of the stack is gone
    (or being deleted)."""
    kept_missing, left_over = [], []
    for res in state.get("deployment", {}).get("resources", []):
        if not res.get("type", "").startswith("kubernetes:") or res["type"].startswith("pulumi:providers"):
            continue
        outputs = res.get("outputs") or {}
        meta = outputs.get("metadata") or {}
        key = (outputs.get("kind", ""), meta.get("namespace", "") or "", meta.get("name", ""))
        obj = after.index.get(key)
        present = obj is not None and not obj["metadata"].get("deletionTimestamp")
        if res.get("retainOnDelete"):
            if not present:
                kept_missing.append("/".join(key))
        elif present:
            left_over.append("/".join(key))
    return Check("destroy keeps what is retained on delete and removes everything else",
                 not kept_missing and not left_over, {"retained_but_gone": kept_missing, "left_over": left_over})
