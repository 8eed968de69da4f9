"""Every server of the stack, each a small stack of its own, placed in its tenant namespace.

Each server waits for its namespace and (when it joins one) its MCPGroup; every custom resource
waits for its CRD (ToolHiveCrds.custom_resource). The `mcpServers` output is the view `thv list
--group` gives on a laptop: per `<namespace>/<group>`, the servers with their in-cluster URLs,
transports and replica settings, and the group's VirtualMCPServer URL.
"""
from __future__ import annotations

import pulumi

from components.platform.crds import ToolHiveCrds
from components.servers import default_redis
from components.servers.references import auth_references
from components.servers.catalog import ServerCatalog
from components.servers.isolation import Surroundings
from components.servers.remote_proxy import RemoteProxy
from components.servers.server import McpServer
from components.servers.virtual_server import VirtualServer

UNGROUPED = "(ungrouped)"
COMPONENTS = {"MCPServer": McpServer, "MCPRemoteProxy": RemoteProxy, "VirtualMCPServer": VirtualServer}


class McpServerStacks(pulumi.ComponentResource):
    def __init__(self, name: str, catalog: ServerCatalog, *, crds: ToolHiveCrds, namespaces: dict[str, pulumi.Resource],
                 groups: dict[tuple[str, str], pulumi.Resource], images: dict,
                 secret_values: dict[str, pulumi.Output], tenant_clients: dict[str, list[str]],
                 api_server: tuple = (), written_secrets: dict[tuple[str, str], pulumi.Resource] | None = None,
                 default: default_redis.DefaultRedis | None = None,
                 auth_objects: dict[tuple[str, str, str], pulumi.Resource] | None = None, opts: pulumi.ResourceOptions | None = None):
        super().__init__("toolhive:servers:Servers", name, None, opts)
        self.members: list[pulumi.ComponentResource] = []
        by_group_key = group_index(catalog)
        for declared in catalog.declared:
            entry = declared.entry
            around = surroundings(by_group_key, entry, tenant_clients[entry.namespace], api_server)  # each tenant's
            group = groups.get((entry.namespace, entry.spec.group))  # None without a group: no (namespace, None) key
            depends_on = [namespaces[entry.namespace], *([group] if group is not None else [])]
            # Its passwordRef names a Secret the stack writes: the session store's, or the default Redis one.
            secret = (written_secrets or {}).get((entry.namespace, password_secret(entry, default)))
            if secret is not None:
                depends_on.append(secret)
            # The MCPOIDCConfig / MCPExternalAuthConfig it references, when the stack creates them.
            depends_on += [(auth_objects or {})[key] for key in
                           ((kind, entry.namespace, name) for kind, name, _ in auth_references(entry))
                           if key in (auth_objects or {})]
            extra = {"image": images[entry.namespace, entry.name]} if entry.kind == "MCPServer" else {}
            if entry.kind in default_redis.PASSWORDLESS_FALLBACK_KINDS:
                extra["default_redis"] = default
            self.members.append(COMPONENTS[entry.kind](
                f"{entry.namespace}-{entry.kind.lower()}-{entry.name}", entry, source=declared, crds=crds,
                secret_values=secret_values, depends_on=depends_on, surroundings=around,
                opts=pulumi.ResourceOptions(parent=self), **extra,
            ))

        for warning in catalog.warnings:
            pulumi.log.warn(warning, resource=self)
        self.outputs = {"mcpServers": by_group([member.summary for member in self.members])}
        self.register_outputs(self.outputs)

    def mcp_servers(self, namespace: str) -> list[pulumi.Resource]:
        """The MCPServer custom resources of one namespace (what its server-count quota waits for)."""
        return [member.server for member in self.members
                if member.summary["kind"] == "MCPServer" and member.summary["namespace"] == namespace]


def password_secret(entry, default: default_redis.DefaultRedis | None) -> str | None:
    """The Secret the server's rendered sessionStorage.passwordRef names (its own, or the default Redis one)."""
    storage = entry.spec.session_storage
    explicit = default_redis.explicit_storage(entry.kind, storage.provider if storage else None, default)
    if explicit is not None:
        return explicit["passwordRef"]["name"]
    return storage.password_ref.name if storage is not None and storage.password_ref is not None else None


def group_index(catalog: ServerCatalog) -> dict[tuple[str, str], list]:
    """(namespace, group) -> the entries that join it."""
    index: dict[tuple[str, str], list] = {}
    for declared in catalog.declared:
        if declared.entry.spec.group:
            index.setdefault((declared.entry.namespace, declared.entry.spec.group), []).append(declared.entry)
    return index


def surroundings(index: dict[tuple[str, str], list], entry, tenant_clients: list[str], api_server) -> Surroundings:
    """Who a server's NetworkPolicies admit and reach: its tenant's clients, its group's vMCPs (or, for a
    vMCP, the group's proxies) and the API server."""
    in_group = index.get((entry.namespace, entry.spec.group), [])  # (namespace, None) is no key: no group
    vmcps = tuple(e.name for e in in_group if e.kind == "VirtualMCPServer")
    members = tuple((e.kind, e.name, e.spec.proxy_port) for e in in_group if e.kind != "VirtualMCPServer")
    return Surroundings(tenant_clients=tuple(tenant_clients), api_server=tuple(api_server),
                        group_vmcps=vmcps if entry.kind != "VirtualMCPServer" else (),
                        group_members=members)  # only a vMCP's policies reach the group's members


def by_group(summaries: list[dict]) -> dict:
    groups: dict[str, dict] = {}
    for summary in sorted(summaries, key=lambda s: (s["namespace"], s["name"])):
        if summary["kind"] == "VirtualMCPServer":
            key = f"{summary['namespace']}/{summary['group']}"
            groups.setdefault(key, {"servers": []})["virtualServer"] = {
                k: v for k, v in summary.items() if k not in ("namespace", "group") and v is not None}
            continue
        key = f"{summary['namespace']}/{summary.get('group') or UNGROUPED}"
        groups.setdefault(key, {"servers": []})["servers"].append(
            {k: v for k, v in summary.items() if k not in ("namespace", "group") and v is not None})
    return groups


def tenant_resources(platform, namespace_configs) -> tuple[dict, dict]:
    """(namespace name -> what its objects wait for, (namespace, group) -> MCPGroup) from the platform's
    tenants. Objects in a tenant namespace wait for its ResourceQuota to be counted (which waits for the
    Namespace): the API server refuses what a quota counts until then."""
    namespaces = {name: tenant.ready for name, tenant in platform.tenants.items()}
    groups = {(ns.name, group.name): resource
              for ns in namespace_configs
              for group, resource in zip(ns.groups, platform.tenants[ns.name].groups)}
    return namespaces, groups
