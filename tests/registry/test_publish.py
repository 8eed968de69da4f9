"""Servers declared with publish: true carry the annotations the registry's kubernetes source lists."""
from __future__ import annotations

import pytest

from components.errors import ConfigError
from components.registry.publish import DESCRIPTION, EXPORT, TITLE, URL
from tests.conftest import render_config, render_stack

TENANT = [{"name": "mcp-dev"}]


def server(name: str, **fields) -> dict:
    spec = {"image": "ghcr.io/example/server:1.0.0", "transport": fields.pop("transport", "streamable-http"), "mcpPort": 8080}
    return {"name": name, "namespace": "mcp-dev", "spec": spec, **fields}


def annotations(rendered, kind: str, name: str) -> dict:
    return rendered.object(kind, name, "mcp-dev")["metadata"].get("annotations", {})


def test_dev_publishes_its_servers_with_their_in_cluster_urls():
    rendered = render_stack("dev")
    fetch = annotations(rendered, "MCPServer", "fetch")
    assert fetch[EXPORT] == "true"
    assert fetch[URL] == "http://mcp-fetch-proxy.mcp-dev.svc.cluster.local:8080/mcp"
    assert fetch[DESCRIPTION]
    assert annotations(rendered, "VirtualMCPServer", "default")[URL] == "http://vmcp-default.mcp-dev.svc.cluster.local:4483/mcp"
    assert EXPORT not in annotations(rendered, "MCPServer", "github")
    # The registry's kubernetes source watches the namespace these servers live in.
    assert rendered.outputs["registry"]["sources"]["cluster"]["namespaces"] == ["mcp-dev"]


def test_only_published_servers_carry_registry_annotations_and_sse_servers_their_sse_path():
    rendered = render_config({"namespaces": TENANT, "servers": {"mcpServers": [
        server("listed", publish=True, description="Listed", title="Listed server", transport="sse"),
        server("hidden", description="Not listed"),
        server("external", publish=True, description="Behind the ingress", registryUrl="https://mcp.example.com/mcp"),
    ]}})
    assert annotations(rendered, "MCPServer", "listed") == {
        EXPORT: "true", URL: "http://mcp-listed-proxy.mcp-dev.svc.cluster.local:8080/sse",
        DESCRIPTION: "Listed", TITLE: "Listed server"}
    assert annotations(rendered, "MCPServer", "hidden") == {}
    assert annotations(rendered, "MCPServer", "external")[URL] == "https://mcp.example.com/mcp"


@pytest.mark.parametrize("proxy_mode, path", [("sse", "/sse"), ("streamable-http", "/mcp"), (None, "/mcp")])
def test_a_stdio_server_is_published_at_the_path_of_its_proxy_mode(proxy_mode, path):
    """A stdio server is reached through its proxy: the proxy's mode, not the transport, decides the path."""
    spec = {"image": "ghcr.io/example/server:1.0.0", "transport": "stdio", **({"proxyMode": proxy_mode} if proxy_mode else {})}
    rendered = render_config({"namespaces": TENANT, "servers": {"mcpServers": [
        {"name": "local", "namespace": "mcp-dev", "publish": True, "description": "Local", "spec": spec}]}})
    assert annotations(rendered, "MCPServer", "local")[URL] == f"http://mcp-local-proxy.mcp-dev.svc.cluster.local:8080{path}"


def test_publishing_a_remote_proxy_uses_its_proxy_service():
    rendered = render_config({"namespaces": TENANT, "servers": {"remoteProxies": [{
        "name": "docs", "namespace": "mcp-dev", "publish": True, "description": "Docs search",
        "spec": {"remoteUrl": "https://mcp.example.com/mcp"}}]}})
    assert annotations(rendered, "MCPRemoteProxy", "docs")[URL].startswith("http://mcp-docs-remote-proxy.mcp-dev.svc.cluster.local:")


def test_publish_without_a_description_names_the_key():
    with pytest.raises(ConfigError, match=r"toolhive:servers.mcpServers\[0\].description: is required with publish: true"):
        render_config({"namespaces": TENANT, "servers": {"mcpServers": [server("x", publish=True)]}})
