"""The replica rules of the ToolHive v0.44.0 operator, written once.

The operator enforces these only at reconcile time (conditions `StdioReplicaCapped`,
`SessionStorageWarning`, CEL rules on rateLimiting). Two callers use this module: the program
(`components/servers`, which forces, warns or refuses before anything is applied) and the policy pack
(`policies/replicas.py`, which reports violations on whatever reaches the engine). Plain dicts in the
shape of the custom resource's `spec` (camelCase), no Pulumi and no pack imports, so the pack stays
publishable alone.
"""
from __future__ import annotations

from typing import Optional

from .core import as_int

#: Transport defaults from the CRDs (v1beta1): MCPServer stdio, MCPRemoteProxy streamable-http.
DEFAULT_TRANSPORT = {"MCPServer": "stdio", "MCPRemoteProxy": "streamable-http"}

#: What an HPA can scale for each ToolHive kind: the operator-created workload (always named like the
#: custom resource, see operator-objects.md) and the spec field that would fight the autoscaler.
HPA_TARGETS = {
    "MCPServer": {"Deployment": "replicas", "StatefulSet": "backendReplicas", "MCPServer": "replicas"},
    "MCPRemoteProxy": {"Deployment": "replicas", "MCPRemoteProxy": "replicas"},
    "VirtualMCPServer": {"Deployment": "replicas", "VirtualMCPServer": "replicas"},
}


def transport(kind: str, spec: dict) -> tuple[Optional[str], bool]:
    """(transport, explicitly set). A kind without a transport field (VirtualMCPServer) gives None."""
    value = spec.get("transport")
    if isinstance(value, str) and value:
        return value, True
    return DEFAULT_TRANSPORT.get(kind), False


def stdio_excess_replicas(kind: str, spec: dict) -> list[tuple[str, int]]:
    """The (field, count) pairs above 1 on a stdio server: the operator caps them at 1."""
    if transport(kind, spec)[0] != "stdio":
        return []
    found = []
    for field in ("replicas", "backendReplicas"):
        count = as_int(spec.get(field))
        if count is not None and count > 1:
            found.append((field, count))
    return found


def redis_sessions(spec: dict) -> bool:
    storage = spec.get("sessionStorage")
    return isinstance(storage, dict) and storage.get("provider") == "redis"


def sessions_lost_replicas(spec: dict) -> Optional[int]:
    """The replica count when several proxy replicas run without Redis session storage, else None."""
    count = as_int(spec.get("replicas"))
    if count is None or count <= 1 or redis_sessions(spec):
        return None
    return count


def sessions_lost_autoscaled(spec: dict, max_replicas: Optional[int]) -> Optional[int]:
    """An autoscaler's maxReplicas when it may run several proxy replicas without Redis session storage."""
    if max_replicas is None or max_replicas <= 1 or redis_sessions(spec):
        return None
    return max_replicas


# Where each kind's CRD holds its rate limits (MCPRemoteProxy's CRD has none).
RATE_LIMITING_PATHS = {"MCPServer": ("rateLimiting",), "VirtualMCPServer": ("config", "rateLimiting")}


def rate_limiting_field(kind: str) -> str:
    return ".".join(RATE_LIMITING_PATHS[kind])


def _rate_limiting(kind: str, spec: dict) -> Optional[dict]:
    if kind not in RATE_LIMITING_PATHS:
        return None
    value = spec
    for key in RATE_LIMITING_PATHS[kind]:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, dict) else None


def rate_limiting_without_redis(kind: str, spec: dict) -> bool:
    """Rate limits are counted in Redis: the CRDs reject rateLimiting without Redis session storage."""
    return _rate_limiting(kind, spec) is not None and not redis_sessions(spec)


def per_user_limit_without_identity(kind: str, spec: dict) -> bool:
    """A per-user limit needs to know the user: OIDC or external auth (MCPServer), OIDC incoming auth (vMCP)."""
    limits = _rate_limiting(kind, spec)
    if limits is None:
        return False
    per_user = "perUser" in limits or any(isinstance(t, dict) and "perUser" in t for t in limits.get("tools") or [])
    if not per_user:
        return False
    if kind == "VirtualMCPServer":
        incoming = spec.get("incomingAuth")
        return not (isinstance(incoming, dict) and incoming.get("type") == "oidc")
    return not (spec.get("oidcConfigRef") or spec.get("externalAuthConfigRef"))


def hpa_conflict_field(kind: str, spec: dict, target_kind: str) -> Optional[str]:
    """The spec field an HPA on `target_kind` would fight (set on the custom resource), else None."""
    field = HPA_TARGETS.get(kind, {}).get(target_kind)
    if field is None or spec.get(field) is None:
        return None
    return field


# Messages, so the program's warnings and the pack's violations say the same thing.

def stdio_message(field: str, count: int) -> str:
    return (f"spec.{field} is {count} but the transport is stdio: a stdio MCP server is one process the proxy "
            f"attaches to and cannot be scaled out; the operator runs 1")


def autoscaled_sessions_message(max_replicas: int) -> str:
    return (f"autoscaling.proxy scales to {max_replicas} replicas without Redis session storage: sessions live in "
            f"one replica's memory and break when a request reaches another replica; set sessionStorage to "
            f"provider redis")


def sessions_message(count: int) -> str:
    return (f"spec.replicas is {count} without Redis session storage: sessions live in one replica's memory "
            f"and break when a request reaches another replica; set sessionStorage to provider redis")
