"""Names of the objects this program writes, in one place (like the upstream chart's name helpers).

Every Kubernetes object gets an explicit, stable metadata.name: no auto-naming, so what the offline
renderer shows is what `pulumi up` applies.
"""
from __future__ import annotations

OPERATOR = "toolhive-operator"
OPERATOR_SERVICE_ACCOUNT = OPERATOR
OPERATOR_MANAGER_ROLE = "toolhive-operator-manager-role"
OPERATOR_MANAGER_BINDING = "toolhive-operator-manager-rolebinding"
OPERATOR_LEADER_ELECTION_ROLE = "toolhive-operator-leader-election-role"
OPERATOR_LEADER_ELECTION_BINDING = "toolhive-operator-leader-election-rolebinding"
OPERATOR_METRICS_SERVICE = "toolhive-operator-metrics"
OPERATOR_PDB = OPERATOR

DEFAULT_REDIS_SECRET = "toolhive-default-redis"
DEFAULT_REDIS_SECRET_KEY = "redis-password"

TENANT_QUOTA = "mcp-quota"
TENANT_SERVER_QUOTA = "mcp-server-count"
TENANT_LIMIT_RANGE = "mcp-limits"
NETPOL_DEFAULT_DENY = "default-deny"
NETPOL_DNS_EGRESS = "allow-dns-egress"
NETPOL_SAME_NAMESPACE = "allow-same-namespace"
NETPOL_FROM_CLIENTS = "allow-from-clients"
NETPOL_EGRESS = "allow-egress"
NETPOL_PROXY_EGRESS = "allow-proxy-egress"
NETPOL_SESSION_STORE_EGRESS = "allow-session-store-egress"
NETPOL_TO_TENANTS = "allow-egress-to-tenants"

TEAM_ROLES = ("viewer", "editor", "admin")


def team_role(tier: str) -> str:
    return f"toolhive-{tier}"


def team_binding(tier: str) -> str:
    return f"toolhive-{tier}s"


def aggregate_role(builtin: str) -> str:
    """The ClusterRole that adds ToolHive rules to a built-in role (view, edit, admin)."""
    return f"toolhive-platform-aggregate-to-{builtin}"


def resource_name(*parts: str) -> str:
    """A Pulumi logical name from Kubernetes names: stable, unique per type within the stack."""
    return "-".join(part for part in parts if part)


# The registry server (components/registry): objects named after toolhive:registry.name, its sources and
# its OAuth providers. The config model checks each against the API server's rule for its kind.
def registry_volume(prefix: str, name: str) -> str:
    """A volume of the registry-api pod: data-<source>, git-<source>, oauth-<provider>, ca-<provider>."""
    return f"{prefix}-{name}"


def registry_database(registry: str) -> str:
    """StatefulSet and Service of the in-cluster PostgreSQL."""
    return f"{registry}-postgres"


def registry_service(registry: str, mode: str) -> str:
    """The registry API's Service: the operator's `<name>-api` for an MCPRegistry (operator-objects.md)."""
    return f"{registry}-api" if mode == "mcpRegistry" else registry


def registry_service_account(registry: str, mode: str) -> str:
    return f"{registry}-registry-api" if mode == "mcpRegistry" else registry
