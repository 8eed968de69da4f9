"""Names and labels of what the v0.44.0 operator creates for each server, in one place.

Source: ../shared/toolhive/operator-objects.md (read from the operator's controllers at v0.44.0).
PodDisruptionBudgets, HPAs, NetworkPolicies and the URLs in stack outputs select or name these
objects, so they come from here and nowhere else.
"""
from __future__ import annotations

from components.k8s import validation
from components.k8s.netpol import label_absent, label_in

#: The kinds whose v0.44.0 controllers reconcile an object that is being deleted (no DeletionTimestamp check in
#: mcpremoteproxy_controller.go and virtualmcpserver_controller.go). Under foreground deletion, the kubernetes
#: provider's default, the garbage collector removes their Deployment and Service first, the operator makes
#: them again, and the object never goes: the real run's `pulumi destroy` hung on MCPRemoteProxy deepwiki
#: while the operator logged "Creating a new Service" 164 times. Background deletion removes the object at
#: once; the collector then removes what it owned, and the operator, finding the object gone, makes nothing.
RECONCILED_WHILE_DELETING = ("MCPRemoteProxy", "VirtualMCPServer")
#: pulumi-kubernetes: how `pulumi destroy` (and a replacement) deletes the object (Foreground by default).
DELETION_PROPAGATION = "pulumi.com/deletionPropagationPolicy"


def deletion_annotations(kind: str) -> dict[str, str]:
    """The provider annotation that deletes a ToolHive object of this kind without a loop (see above)."""
    return {DELETION_PROPAGATION: "background"} if kind in RECONCILED_WHILE_DELETING else {}


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


def proxy_workload(name: str) -> tuple[str, str]:
    """(kind, name) of the Deployment the operator creates for the proxy, for every ToolHive kind: always named
    like the resource."""
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


#: Every object the operator (and, for an MCPServer's backend, the proxy runner) creates for a server, as
#: (Kubernetes kind, name pattern, when): `http` only for sse/streamable-http servers (the runner makes no
#: Service without ports), `own-sa` only without spec.serviceAccount. Read at v0.44.0 from
#: cmd/thv-operator/controllers/mcpserver_controller.go (`%s-runconfig`, `mcp-%s`, `mcp-%s-headless`, `%s-sa`),
#: pkg/controllerutil/resources.go (`mcp-%s-proxy`, `%s-proxy-runner`: ServiceAccount, Role and RoleBinding),
#: mcpremoteproxy_controller.go (`%s-remote-proxy-runner`, `mcp-%s-remote-proxy`), virtualmcpserver_controller.go
#: (`%s-vmcp`, `vmcp-%s`, `%s-vmcp-config`, `%s-hmac-secret`) and pkg/container/kubernetes/client.go.
CREATED = {
    "MCPServer": (
        ("Deployment", "{name}", None), ("StatefulSet", "{name}", None), ("Service", "mcp-{name}-proxy", None),
        ("Service", "mcp-{name}", "http"), ("Service", "mcp-{name}-headless", "http"),
        *((kind, "{name}-proxy-runner", None) for kind in ("ServiceAccount", "Role", "RoleBinding")),
        ("ServiceAccount", "{name}-sa", "own-sa"), ("ConfigMap", "{name}-runconfig", None),
    ),
    "MCPRemoteProxy": (
        ("Deployment", "{name}", None), ("Service", "mcp-{name}-remote-proxy", None),
        *((kind, "{name}-remote-proxy-runner", None) for kind in ("ServiceAccount", "Role", "RoleBinding")),
        ("ConfigMap", "{name}-runconfig", None),
    ),
    "VirtualMCPServer": (
        ("Deployment", "{name}", None), ("Service", "vmcp-{name}", None),
        *((kind, "{name}-vmcp", None) for kind in ("ServiceAccount", "Role", "RoleBinding")),
        ("ConfigMap", "{name}-vmcp-config", None), ("Secret", "{name}-hmac-secret", None),
    ),
}

#: The API server's rule for the name of each kind above (components/k8s/validation.py).
NAME_RULES = {
    "Service": validation.service_name, "StatefulSet": validation.statefulset_name,
    "ServiceAccount": validation.service_account_name,
}


def created_objects(kind: str, name: str, *, transport: str | None = None,
                    service_account: str | None = None) -> list[tuple[str, str]]:
    """(Kubernetes kind, name) of what the operator creates for one server. Without a transport, every
    object it may create (the backend Services too)."""
    return [(k8s_kind, pattern.format(name=name)) for k8s_kind, pattern, when in CREATED[kind]
            if when is None or (when == "http" and transport != "stdio") or (when == "own-sa" and not service_account)]


def name_problem(kind: str, name: str) -> str | None:
    """Why the objects the operator names after a server could not be created with this name (the tightest
    rule first), or None."""
    found = []
    for k8s_kind, pattern, _ in CREATED[kind]:
        rule = NAME_RULES.get(k8s_kind, validation.dns1123_subdomain)
        if problems := rule(pattern.format(name=name)):
            shown = pattern.replace("{name}", "<name>")
            longest = {"Service": validation.DNS1123_LABEL_MAX,
                       "StatefulSet": validation.STATEFULSET_NAME_MAX}.get(k8s_kind, validation.DNS1123_SUBDOMAIN_MAX)
            limit = longest - (len(pattern) - len("{name}"))
            if len(name) > limit:
                found.append((limit, f"is longer than {limit} characters: the operator's {k8s_kind} {shown} "
                                     f"{problems[0]}"))
            else:
                found.append((0, f"makes the operator's {k8s_kind} {shown} invalid: it {problems[0]}"))
    return min(found)[1] if found else None
