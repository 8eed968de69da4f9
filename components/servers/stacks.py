"""Every server of the stack, each a small stack of its own, placed in its tenant namespace.

Each server waits for its namespace and (when it joins one) its MCPGroup; every custom resource
waits for its CRD (ToolHiveCrds.custom_resource). The `mcpServers` output is the view `thv list
--group` gives on a laptop: per `<namespace>/<group>`, the servers with their in-cluster URLs,
transports and replica settings, and the group's VirtualMCPServer URL.
"""
from __future__ import annotations

import pulumi

from components.platform.crds import ToolHiveCrds
from components.servers.catalog import ServerCatalog
from components.servers.remote_proxy import RemoteProxy
from components.servers.server import McpServer
from components.servers.virtual_server import VirtualServer

UNGROUPED = "(ungrouped)"
COMPONENTS = {"MCPServer": McpServer, "MCPRemoteProxy": RemoteProxy, "VirtualMCPServer": VirtualServer}


class McpServerStacks(pulumi.ComponentResource):
    def __init__(self, name: str, catalog: ServerCatalog, *, crds: ToolHiveCrds, namespaces: dict[str, pulumi.Resource],
                 groups: dict[tuple[str, str], pulumi.Resource], mirrors: dict[str, str],
                 secret_values: dict[str, pulumi.Output],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("toolhive:servers:Servers", name, None, opts)
        self.members: list[pulumi.ComponentResource] = []
        for declared in catalog.declared:
            entry = declared.entry
            group = groups.get((entry.namespace, entry.spec.group)) if entry.spec.group else None
            depends_on = [namespaces[entry.namespace], *([group] if group is not None else [])]
            extra = {"mirrors": mirrors} if entry.kind == "MCPServer" else {}
            self.members.append(COMPONENTS[entry.kind](
                f"{entry.namespace}-{entry.kind.lower()}-{entry.name}", entry, source=declared, crds=crds,
                secret_values=secret_values, depends_on=depends_on, opts=pulumi.ResourceOptions(parent=self), **extra,
            ))

        self.warnings = [warning for member in self.members for warning in member.warnings]
        self.outputs = {"mcpServers": by_group([member.summary for member in self.members])}
        self.register_outputs(self.outputs)


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
    """(namespace name -> Namespace, (namespace, group) -> MCPGroup) from the platform's tenants."""
    namespaces = {name: tenant.namespace for name, tenant in platform.tenants.items()}
    groups = {(ns.name, group.name): resource
              for ns in namespace_configs
              for group, resource in zip(ns.groups, platform.tenants[ns.name].groups)}
    return namespaces, groups
