"""The servers that ship with the dev, staging and prod stacks, and the renderer's warnings.json."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from tests.conftest import TEST_CLUSTER, PROJECT_ROOT, render_stack


def servers_of(stack: str) -> dict[str, dict]:
    return {f"{o['kind']}/{o['metadata']['name']}": o["spec"] for o in render_stack(stack).objects()
            if o["kind"] in ("MCPServer", "MCPRemoteProxy", "VirtualMCPServer")}


def test_dev_ships_stdio_http_with_redis_github_remote_and_a_virtual_server():
    servers = servers_of("dev")
    assert servers["MCPServer/fetch"]["transport"] == "stdio"
    yardstick = servers["MCPServer/yardstick"]
    assert yardstick["transport"] == "streamable-http" and yardstick["replicas"] == 3
    assert yardstick["sessionStorage"]["provider"] == "redis"
    assert servers["MCPServer/github"]["secrets"][0]["targetEnvName"] == "GITHUB_PERSONAL_ACCESS_TOKEN"
    assert servers["MCPRemoteProxy/deepwiki"]["remoteUrl"].startswith("https://")
    assert servers["VirtualMCPServer/default"]["groupRef"] == {"name": "default"}


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_staging_and_prod_show_the_ha_choices(stack):
    rendered = render_stack(stack)
    servers = servers_of(stack)
    assert servers["MCPServer/fetch"]["replicas"] > 1 and servers["MCPServer/fetch"]["sessionStorage"]["provider"] == "redis"
    assert rendered.object("PodDisruptionBudget", "fetch-proxy", "mcp-platform")["spec"]["minAvailable"] == 1
    assert "replicas" not in servers["MCPServer/yardstick"]
    assert rendered.object("HorizontalPodAutoscaler", "yardstick-proxy", "mcp-platform")
    assert servers["VirtualMCPServer/shared"]["incomingAuth"]["type"] == "oidc"
    # Secrets from AWS Secrets Manager: written into the server's Secret (placeholders offline).
    assert rendered.object("Secret", "github-secret-github-personal-access-token", "mcp-platform")["stringData"] == {
        "GITHUB_PERSONAL_ACCESS_TOKEN": "[secret]"}


def test_the_renderer_prints_warnings_and_writes_warnings_json(tmp_path):
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text(yaml.safe_dump({"config": {
        "toolhive:cluster": TEST_CLUSTER,
        "toolhive:namespaces": [{"name": "mcp-dev"}],
        "toolhive:servers": {"mcpServers": [{"name": "fetch", "namespace": "mcp-dev", "spec": {
            "image": "ghcr.io/stackloklabs/gofetch/server:1.0.1", "replicas": 2}}]},
    }}))
    result = subprocess.run([sys.executable, "-m", "tools.render", "dev", "--config-file", str(stack_file),
                             "--out", str(tmp_path / "out")], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert ("warning: toolhive:servers.mcpServers[0]: MCPServer mcp-dev/fetch: spec.replicas is 2 but the transport "
            "is stdio") in result.stderr
    [warning] = json.loads((tmp_path / "out" / "warnings.json").read_text())
    assert warning["severity"] == "warning" and warning["message"].startswith("MCPServer mcp-dev/fetch: spec.replicas is 2")
    assert warning["source"] == "toolhive:servers.mcpServers[0]"
    assert warning["urn"].endswith("MCPServer::mcp-dev-mcpserver-fetch")


def test_a_bad_server_file_fails_the_renderer_naming_the_file(tmp_path):
    (tmp_path / "servers").mkdir()
    (tmp_path / "servers" / "bad.yaml").write_text("name: bad\nnamespace: mcp-dev\nspec:\n  image: ghcr.io/a/b:1\n  transport: websocket\n")
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text(yaml.safe_dump({"config": {"toolhive:namespaces": [{"name": "mcp-dev"}],
                                                     "toolhive:cluster": TEST_CLUSTER,
                                                     "toolhive:servers": {"directory": str(tmp_path / "servers")}}}))
    result = subprocess.run([sys.executable, "-m", "tools.render", "dev", "--config-file", str(stack_file),
                             "--out", str(tmp_path / "out")], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert "bad.yaml: spec.transport: must be one of stdio, sse, streamable-http (got 'websocket')" in result.stderr
    assert "Traceback" not in result.stderr
