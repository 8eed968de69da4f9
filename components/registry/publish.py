"""Servers this stack runs, published in the registry: the annotations the kubernetes source reads.

The registry server's kubernetes source lists MCPServer, MCPRemoteProxy and VirtualMCPServer objects
annotated `toolhive.stacklok.dev/registry-export: "true"`, with the URL clients call and a description
(../shared/registry-server/README.md). A server entry with `publish: true` gets them, its URL derived
from the operator's Service names (components/servers/operator_objects.py), never typed — unless the
entry names an external URL (`registryUrl`, e.g. its ingress).
"""
from __future__ import annotations

from components.servers import operator_objects

PREFIX = "toolhive.stacklok.dev/"
EXPORT, URL, DESCRIPTION, TITLE = (PREFIX + key for key in
                                   ("registry-export", "registry-url", "registry-description", "registry-title"))


def endpoint_path(entry) -> str:
    """Where the proxy serves MCP: /sse for SSE, /mcp for streamable HTTP (and vMCP)."""
    transport = getattr(entry.spec, "transport", None)  # a virtual server's spec has none: it serves /mcp
    mode = entry.spec.proxy_mode if transport == "stdio" else transport  # only an MCPServer runs stdio
    return "/sse" if mode == "sse" else "/mcp"


def in_cluster_url(entry) -> str:
    port = operator_objects.VMCP_PORT if entry.kind == "VirtualMCPServer" else entry.spec.proxy_port
    return operator_objects.url(entry.kind, entry.name, entry.namespace, port) + endpoint_path(entry)


def registry_annotations(entry) -> dict[str, str]:
    """The registry annotations of one server entry; empty unless it is published."""
    if not entry.publish:
        return {}
    annotations = {EXPORT: "true", URL: entry.registry_url or in_cluster_url(entry), DESCRIPTION: entry.description}
    if entry.title:
        annotations[TITLE] = entry.title
    return annotations
