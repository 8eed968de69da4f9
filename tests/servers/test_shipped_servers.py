"""The servers that ship with the dev, staging and prod stacks, and the renderer's warnings.json."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from tests.conftest import STACKS, TEST_CLUSTER, PROJECT_ROOT, render_stack, shipped_servers
from tests.stack_checks import assert_servers_render_as_declared


@pytest.mark.parametrize("stack", STACKS)
def test_every_server_a_shipped_stack_declares_renders_as_its_file_says(stack):
    """Read from the stack's server files: adding, removing or renaming one needs no edit here."""
    declared = shipped_servers(stack)
    assert declared, f"{stack} declares no server"
    assert_servers_render_as_declared(render_stack(stack), declared)


@pytest.mark.process
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
