"""Names and labels of what the v0.44.0 operator creates for each server, in one place.

Source: ../shared/toolhive/operator-objects.md (read from the operator's controllers at v0.44.0).
PodDisruptionBudgets, HPAs, NetworkPolicies and the URLs in stack outputs select or name these
objects, so they come from here and nowhere else.
"""
from __future__ import annotations

from components.k8s.netpol import label_absent, label_in

#: kind -> the `app.kubernetes.io/name` (and `app`) label of the proxy pods the operator creates.
PROXY_APP = {"MCPServer": "mcpserver", "MCPRemoteProxy": "mcpremoteproxy", "VirtualMCPServer": "virtualmcpserver"}
#: The port a VirtualMCPServer's Service listens on.
VMCP_PORT = 4483


def proxy_selector(kind: str, name: str) -> dict[str, str]:
    """The proxy (or vmcp) pods of one server: Deployment `<name>`."""
    return {"app.kubernetes.io/name": PROXY_APP[kind], "app.kubernetes.io/instance": name}


def backend_selector(name: str) -> dict[str, str]:
    """The MCP server pods of an MCPServer: StatefulSet `<name>` (container `mcp`)."""
    return {"app": name}


def proxy_workload(kind: str, name: str) -> tuple[str, str]:
    """(kind, name) of the Deployment the operator creates for the proxy: always named like the resource."""
    return "Deployment", name


def backend_workload(name: str) -> tuple[str, str]:
    return "StatefulSet", name


def service_name(kind: str, name: str) -> str:
    return {"MCPServer": f"mcp-{name}-proxy", "MCPRemoteProxy": f"mcp-{name}-remote-proxy",
            "VirtualMCPServer": f"vmcp-{name}"}[kind]


def url(kind: str, name: str, namespace: str, port: int) -> str:
    """What clients in the cluster call."""
    return f"http://{service_name(kind, name)}.{namespace}.svc.cluster.local:{port}"


#: The pods of a tenant namespace by role, as NetworkPolicy selector expressions over operator-set labels:
#: proxies (MCPServer proxies, remote proxies, vMCPs) carry `app.kubernetes.io/name` of their kind; every
#: pod the operator creates carries `toolhive=true`. What is neither is a team's own workload; what carries
#: `toolhive=true` but is no proxy is an MCP server pod (backend), which only its own policies open.
TOOLHIVE_LABEL = "toolhive"


def proxy_expressions() -> list[dict]:
    return [label_in("app.kubernetes.io/name", PROXY_APP.values())]


def workload_expressions() -> list[dict]:
    return [label_absent(TOOLHIVE_LABEL)]
