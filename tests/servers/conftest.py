"""Helpers for the server tests: a tenant with a group, and one-server configs."""
from __future__ import annotations

import copy
from typing import Any

import pytest

from components.errors import ConfigError
from tests.conftest import render_config
from tools.mock_runtime import ProgramRun

NS = "mcp-dev"
IMAGE = "ghcr.io/stackloklabs/gofetch/server:1.0.1"
REDIS = {"provider": "redis", "address": "valkey.cache:6379",
         "passwordRef": {"name": "valkey-auth", "key": "password"}}
TENANTS = [{"name": NS, "groups": [{"name": "tools"}]}, {"name": "mcp-data"}]


def server(name: str = "fetch", namespace: str = NS, **spec: Any) -> dict:
    return {"name": name, "namespace": namespace, "spec": {"image": IMAGE, **spec}}


#: Objects the helpers' servers reference that a real cluster would hold (toolhive:servers.existing): the
#: Secrets and the MCPOIDCConfig of the fixtures above and of older tests, in both tenant namespaces. Tests of
#: the reference rule itself (test_references.py) use other names, or pass `existing` explicitly.
FIXTURE_EXISTING = {
    "secrets": [{"namespace": ns, "name": name} for ns in (NS, "mcp-data")
                for name in ("valkey-auth", "redis-auth", "team-creds", "own", "auth", "api")],
    "oidcConfigs": [{"namespace": ns, "name": "corp"} for ns in (NS, "mcp-data")],
}


def config_with(*, servers: list | None = None, remote: list | None = None, virtual: list | None = None,
                existing: dict | None = None, **extra: Any) -> dict:
    block: dict = {"existing": copy.deepcopy(FIXTURE_EXISTING if existing is None else existing)}
    if servers:
        block["mcpServers"] = servers
    if remote:
        block["remoteProxies"] = remote
    if virtual:
        block["virtualServers"] = virtual
    return {"namespaces": copy.deepcopy(TENANTS), "servers": block, **extra}


def render_servers(preview: bool = False, *, stack: str = "dev", secret_keys=None, extra=None, **kwargs):
    return render_config(config_with(**kwargs), preview=preview, stack=stack, secret_keys=secret_keys, extra=extra)


def config_error(**kwargs) -> tuple[list[str], list]:
    """The problems of a config that must be refused, and the resources registered before (must be none)."""
    run = ProgramRun()
    stack = kwargs.pop("stack", "dev")
    with pytest.raises(ConfigError) as raised:
        render_config(config_with(**kwargs), stack=stack, into=run)
    return raised.value.problems, [r for r in run.resources if r.type != "pulumi:pulumi:Stack"]


def spec_of(rendered, kind: str, name: str, namespace: str = NS) -> dict:
    return rendered.object(kind, name, namespace)["spec"]
