"""Replica rules that mirror what the ToolHive operator (v0.44.0) can actually run.

- ``mcp-stdio-single-replica`` (mandatory): an MCPServer/MCPRemoteProxy using the stdio transport
  (MCPServer's default) cannot run more than one replica (spec.replicas or spec.backendReplicas > 1).
- ``mcp-replicas-need-redis-sessions`` (advisory): replicas > 1 without Redis session storage
  (spec.sessionStorage.provider: redis) loses sessions across replicas; the operator only warns.
- ``mcp-rate-limiting-needs-redis`` (mandatory): rate limiting (MCPServer spec.rateLimiting,
  VirtualMCPServer spec.config.rateLimiting) requires Redis session storage (the CRDs reject it).
- ``hpa-replicas-conflict`` (stack, mandatory): a HorizontalPodAutoscaler targeting an MCPServer,
  MCPRemoteProxy or VirtualMCPServer in its namespace while that resource also sets spec.replicas.
- ``operator-leader-election`` (mandatory): the operator Deployment with replicas > 1 must run with
  ``--leader-elect``.
"""
from __future__ import annotations

import re
from typing import Any, Iterator, Mapping, Optional, Sequence

from . import k8s, replica_rules
from .core import (
    ADVISORY, MANDATORY, ResourcePolicy, ResourceView, StackPolicy, as_dict, as_int, as_list,
    is_unknown,
)
from .typetokens import AUTOSCALING_GROUP, MCP_WORKLOAD_KINDS, TOOLHIVE_GROUP

#: Transport defaults from the CRDs (v1beta1): MCPServer stdio, MCPRemoteProxy streamable-http.
DEFAULT_TRANSPORT = replica_rules.DEFAULT_TRANSPORT


def _redis_sessions(spec: dict) -> Optional[bool]:
    """True if spec.sessionStorage.provider is redis, False if not, None if not known yet."""
    provider = as_dict(spec.get("sessionStorage")).get("provider")
    if is_unknown(provider):
        return None
    return provider == "redis"


# ---------------------------------------------------------------------------------------------
# mcp-stdio-single-replica
# ---------------------------------------------------------------------------------------------

def check_stdio_single_replica(view: ResourceView, props: Mapping[str, Any]) -> Iterator[str]:
    if not view.is_toolhive(("MCPServer", "MCPRemoteProxy")):
        return
    spec = view.spec
    transport = spec.get("transport")
    if is_unknown(transport):
        return
    explicit = replica_rules.transport(view.kind, spec)[1]
    how = 'spec.transport is "stdio"' if explicit else 'spec.transport is unset, so "stdio" (the default)'
    counts = {field: as_int(spec.get(field)) for field in ("replicas", "backendReplicas")}
    for field, count in replica_rules.stdio_excess_replicas(view.kind, {**spec, **counts}):
        yield (f"spec.{field} is {count} but {how}: a stdio MCP server is a single process the proxy "
               f"attaches to over stdin/stdout and cannot be scaled out; set spec.{field} to 1 (or leave "
               f'it unset), or set spec.transport to "streamable-http" if the server supports it')


STDIO_SINGLE_REPLICA = ResourcePolicy(
    name="mcp-stdio-single-replica",
    description="MCPServer/MCPRemoteProxy with the stdio transport (MCPServer's default) must not set "
                "spec.replicas or spec.backendReplicas above 1.",
    enforcement=MANDATORY,
    check=check_stdio_single_replica,
)


# ---------------------------------------------------------------------------------------------
# mcp-replicas-need-redis-sessions
# ---------------------------------------------------------------------------------------------

def check_replicas_need_redis(view: ResourceView, props: Mapping[str, Any]) -> Iterator[str]:
    if not view.is_toolhive(MCP_WORKLOAD_KINDS):
        return
    spec = view.spec
    if _redis_sessions(spec) is None:
        return
    count = replica_rules.sessions_lost_replicas({**spec, "replicas": as_int(spec.get("replicas"))})
    if count is None:
        return
    provider = as_dict(spec.get("sessionStorage")).get("provider")
    now = f'spec.sessionStorage.provider is "{provider}"' if provider else "spec.sessionStorage is not set"
    yield (f"spec.replicas is {count} but {now}: sessions live in one replica's memory and break when "
           f"requests reach another replica; set spec.sessionStorage to {{provider: redis, address: "
           f'<host:port>}} (and spec.sessionAffinity: "None"), or set spec.replicas to 1')


REPLICAS_NEED_REDIS = ResourcePolicy(
    name="mcp-replicas-need-redis-sessions",
    description="MCPServer/MCPRemoteProxy/VirtualMCPServer with spec.replicas above 1 should use Redis "
                "session storage (spec.sessionStorage.provider: redis).",
    enforcement=ADVISORY,
    check=check_replicas_need_redis,
)


# ---------------------------------------------------------------------------------------------
# mcp-rate-limiting-needs-redis
# ---------------------------------------------------------------------------------------------

def check_rate_limiting_needs_redis(view: ResourceView, props: Mapping[str, Any]) -> Iterator[str]:
    if not view.is_toolhive(MCP_WORKLOAD_KINDS):
        return
    spec = view.spec
    if _redis_sessions(spec) is None or not replica_rules.rate_limiting_without_redis(view.kind, spec):
        return
    field = "spec." + replica_rules.rate_limiting_field(view.kind)
    yield (f"{field} is set but spec.sessionStorage does not use provider redis: rate limits are counted "
           f"in Redis, so set spec.sessionStorage to {{provider: redis, address: <host:port>}} or remove "
           f"{field}")


RATE_LIMITING_NEEDS_REDIS = ResourcePolicy(
    name="mcp-rate-limiting-needs-redis",
    description="Rate limiting on an MCPServer (spec.rateLimiting) or VirtualMCPServer "
                "(spec.config.rateLimiting) requires spec.sessionStorage with provider redis.",
    enforcement=MANDATORY,
    check=check_rate_limiting_needs_redis,
)


# ---------------------------------------------------------------------------------------------
# hpa-replicas-conflict (stack)
# ---------------------------------------------------------------------------------------------

def check_hpa_replicas_conflict(views: Sequence[ResourceView], props: Mapping[str, Any]
                                ) -> Iterator[tuple[Optional[ResourceView], str]]:
    """An HPA may target the custom resource itself or the workload the operator creates for it
    (Deployment/StatefulSet named like the resource, see replica_rules.HPA_TARGETS)."""
    by_name: dict[tuple[str, str], list[ResourceView]] = {}
    for view in views:
        if view.is_toolhive(MCP_WORKLOAD_KINDS):
            by_name.setdefault((view.effective_namespace, view.object_name), []).append(view)
    for hpa in views:
        if not hpa.is_kind("HorizontalPodAutoscaler", AUTOSCALING_GROUP):
            continue
        ref = as_dict(hpa.spec.get("scaleTargetRef"))
        kind, name, api_version = ref.get("kind"), ref.get("name"), ref.get("apiVersion")
        if not isinstance(name, str) or not isinstance(kind, str):
            continue
        group = api_version.split("/")[0] if isinstance(api_version, str) and "/" in api_version else None
        expected_group = TOOLHIVE_GROUP if kind in MCP_WORKLOAD_KINDS else "apps"
        if group is not None and group != expected_group:
            continue
        for target in by_name.get((hpa.effective_namespace, name), []):
            if kind in MCP_WORKLOAD_KINDS and target.kind != kind:
                continue
            field = replica_rules.hpa_conflict_field(target.kind, target.spec, kind)
            if field is None or is_unknown(target.spec.get(field)):
                continue
            scaled = f"this {kind}" if kind == target.kind else f"the {kind} the operator creates for this {target.kind}"
            yield target, (f"spec.{field} is {target.spec[field]} but HorizontalPodAutoscaler "
                           f"{hpa.effective_namespace}/{hpa.object_name} scales {scaled}: every deployment "
                           f"would reset the replica count the autoscaler chose; remove spec.{field} (leave it "
                           f"unset so the autoscaler owns it) or remove the HorizontalPodAutoscaler")


HPA_REPLICAS_CONFLICT = StackPolicy(
    name="hpa-replicas-conflict",
    description="A HorizontalPodAutoscaler must not target an MCPServer, MCPRemoteProxy or "
                "VirtualMCPServer (or the Deployment/StatefulSet the operator creates for it) whose "
                "matching replica field (spec.replicas, spec.backendReplicas) is set.",
    enforcement=MANDATORY,
    check=check_hpa_replicas_conflict,
    reads=lambda view: (view.is_toolhive(MCP_WORKLOAD_KINDS)
                        or view.is_kind("HorizontalPodAutoscaler", AUTOSCALING_GROUP)),
)


# ---------------------------------------------------------------------------------------------
# operator-leader-election
# ---------------------------------------------------------------------------------------------

OPERATOR_IMAGE_RE = re.compile(r"(?:^|/)toolhive/operator(?:[:@]|$)")
OPERATOR_NAME_LABEL = ("app.kubernetes.io/name", "toolhive-operator")
_LEADER_ELECT_ON = re.compile(r"^--?leader-elect(?:=(?:true|t|1))?$", re.IGNORECASE)


def _runs_operator_image(container: dict) -> bool:
    image = container.get("image")
    return isinstance(image, str) and bool(OPERATOR_IMAGE_RE.search(image))


def is_operator_deployment(view: ResourceView) -> bool:
    """The Deployment running the ToolHive operator: a container image ``.../toolhive/operator:...``
    or the label app.kubernetes.io/name=toolhive-operator (on the Deployment or its pod template)."""
    if not view.is_kind("Deployment", ("apps", "extensions")):
        return False
    key, value = OPERATOR_NAME_LABEL
    if view.labels.get(key) == value:
        return True
    for template in k8s.pod_templates(view):
        if as_dict(template.metadata.get("labels")).get(key) == value:
            return True
        if any(_runs_operator_image(c.body) for c in k8s.containers(template, ("containers",))):
            return True
    return False


def operator_containers(view: ResourceView) -> list[k8s.Container]:
    """The operator's containers: those running the operator image, else all app containers."""
    all_containers = [c for t in k8s.pod_templates(view) for c in k8s.containers(t, ("containers",))]
    by_image = [c for c in all_containers if _runs_operator_image(c.body)]
    return by_image or all_containers


def check_operator_leader_election(view: ResourceView, props: Mapping[str, Any]) -> Iterator[str]:
    if not is_operator_deployment(view):
        return
    replicas = as_int(view.spec.get("replicas"))
    if replicas is None or replicas <= 1:
        return
    containers = operator_containers(view)
    for container in containers:
        words = [w for w in as_list(container.body.get("command")) + as_list(container.body.get("args"))
                 if isinstance(w, str)]
        if any(_LEADER_ELECT_ON.match(w.strip()) for w in words):
            return
    where = f"{containers[0].label}.args" if containers else "the manager container's args"
    yield (f"spec.replicas is {replicas} but the operator does not run with --leader-elect: several "
           f"operator replicas would reconcile the same resources at once; add \"--leader-elect\" to "
           f"{where} or set spec.replicas to 1")


OPERATOR_LEADER_ELECTION = ResourcePolicy(
    name="operator-leader-election",
    description="The ToolHive operator Deployment must pass --leader-elect when it runs more than one "
                "replica.",
    enforcement=MANDATORY,
    check=check_operator_leader_election,
)


POLICIES = [
    STDIO_SINGLE_REPLICA,
    REPLICAS_NEED_REDIS,
    RATE_LIMITING_NEEDS_REDIS,
    HPA_REPLICAS_CONFLICT,
    OPERATOR_LEADER_ELECTION,
]
