"""The operator's default Redis and its password (issue 13, point 9).

At v0.44.0 the operator hands `TOOLHIVE_DEFAULT_REDIS_ADDR` to every MCPServer whose sessionStorage is unset
or not redis, and to every MCPRemoteProxy without sessionStorage, but the password (`THV_SESSION_REDIS_PASSWORD`)
only from `spec.sessionStorage.passwordRef`. So every such proxy must be rendered with an explicit
sessionStorage naming the default Secret, or it fails its start-up ping against a password-protected Redis.
The rule is restated here from the operator's source, independently of components/servers/default_redis.py.
"""
from __future__ import annotations

import pytest

from tests.conftest import STACKS, deployment_env, render_config, render_stack
from tests.servers.conftest import NS, config_with, server

OPERATOR_NS = "toolhive-system"
DEFAULT = {"addr": "valkey.cache:6379"}
PROGRAM_SECRET = {"name": "toolhive-default-redis", "key": "redis-password"}


def gets_default_address(kind: str, spec: dict) -> bool:
    """What the v0.44.0 operator does (populateScalingConfig / populateScalingConfigForRemoteProxy)."""
    storage = spec.get("sessionStorage")
    if kind == "MCPServer":
        return storage is None or storage.get("provider") != "redis"
    return kind == "MCPRemoteProxy" and storage is None


def proxies(rendered) -> list[dict]:
    return [o for o in rendered.objects() if o["kind"] in ("MCPServer", "MCPRemoteProxy")]


@pytest.mark.parametrize("stack", STACKS)
def test_every_proxy_of_a_shipped_stack_with_redis_sessions_gets_the_password(stack, preview):
    rendered = render_stack(stack, preview=preview)
    env = deployment_env(rendered.object("Deployment", "toolhive-operator", OPERATOR_NS))
    default_secret = env.get("TOOLHIVE_DEFAULT_REDIS_SECRET_NAME", {}).get("value")
    written = {(s["metadata"]["namespace"], s["metadata"]["name"]): s for s in rendered.objects("Secret")}
    for obj in proxies(rendered):
        who, spec, ns = f"{obj['kind']} {obj['metadata']['name']}", obj["spec"], obj["metadata"]["namespace"]
        if default_secret:  # a password-protected default Redis: nobody may fall back to it without the password
            assert not gets_default_address(obj["kind"], spec), f"{who} relies on the operator's default Redis"
        storage = spec.get("sessionStorage") or {}
        if storage.get("provider") == "redis":
            ref = storage.get("passwordRef")
            assert ref, f"{who} keeps sessions in Redis without a passwordRef"
            secret = written.get((ns, ref["name"]))
            assert secret is not None, f"{who}: Secret {ns}/{ref['name']} is not written by the stack"
            assert ref["key"] in secret["stringData"], f"{who}: Secret {ref['name']} has no key {ref['key']}"
            assert rendered.resource("Secret", ref["name"], ns).urn in rendered.waits_for(
                rendered.resource(obj["kind"], obj["metadata"]["name"], ns))


def test_dev_servers_without_their_own_storage_read_the_stores_password(preview):
    rendered = render_stack("dev", preview=preview)
    store = {"provider": "redis", "address": "valkey.toolhive-system.svc.cluster.local:6379",
             "passwordRef": {"name": "valkey-auth", "key": "password"}}
    for kind, name in (("MCPServer", "fetch"), ("MCPServer", "github"), ("MCPRemoteProxy", "deepwiki")):
        assert rendered.object(kind, name, NS)["spec"]["sessionStorage"] == store


def _default_config(**operator_extra):
    return config_with(servers=[server("plain"), server("memory", sessionStorage={"provider": "memory"})],
                       remote=[{"name": "far", "namespace": NS, "spec": {"remoteUrl": "https://mcp.example.com/mcp"}}],
                       virtual=[{"name": "all", "namespace": NS, "spec": {"group": "tools",
                                                                          "incomingAuth": {"type": "anonymous"}}}],
                       operator={"defaultRedis": {**DEFAULT, **operator_extra}})


def test_the_programs_default_redis_secret_reaches_every_proxy_that_would_fall_back(preview):
    rendered = render_config(_default_config(), preview=preview, stack="dev", secret_keys=["toolhive:defaultRedisPassword"],
                             extra={"toolhive:defaultRedisPassword": "s3cret-value"})
    expected = {"provider": "redis", "address": DEFAULT["addr"], "passwordRef": PROGRAM_SECRET}
    secret = rendered.resource("Secret", "toolhive-default-redis", NS)
    for kind, name in (("MCPServer", "plain"), ("MCPServer", "memory"), ("MCPRemoteProxy", "far")):
        resource = rendered.resource(kind, name, NS)
        assert resource.inputs["spec"]["sessionStorage"] == expected, name
        assert secret.urn in rendered.waits_for(resource), f"{name} must wait for the Secret it reads"
    # The VirtualMCPServer gets the default Secret from the operator itself: left to it.
    assert "sessionStorage" not in rendered.object("VirtualMCPServer", "all", NS)["spec"]


def test_memory_sessions_on_an_mcp_server_are_overridden_by_the_operator_and_the_user_is_told(preview):
    rendered = render_config(_default_config(existingSecret="redis-auth", existingSecretKey="pw"), preview=preview,
                             stack="dev")
    assert rendered.object("MCPServer", "memory", NS)["spec"]["sessionStorage"]["passwordRef"] == {
        "name": "redis-auth", "key": "pw"}
    warnings = [w.message for w in rendered.run.warnings]
    assert any("MCPServer mcp-dev/memory: sessionStorage provider memory is ignored" in w for w in warnings), warnings


def test_a_default_redis_without_a_password_is_left_to_the_operator(preview):
    rendered = render_config(_default_config(), preview=preview, stack="dev")
    assert "sessionStorage" not in rendered.object("MCPServer", "plain", NS)["spec"]
    assert "sessionStorage" not in rendered.object("MCPRemoteProxy", "far", NS)["spec"]


def test_a_server_with_its_own_redis_keeps_it(preview):
    own = {"provider": "redis", "address": "valkey.other:6379", "passwordRef": {"name": "own", "key": "pw"}}
    config = config_with(servers=[server("own", sessionStorage=own)],
                         operator={"defaultRedis": {**DEFAULT, "existingSecret": "redis-auth"}})
    rendered = render_config(config, preview=preview, stack="dev")
    assert rendered.object("MCPServer", "own", NS)["spec"]["sessionStorage"] == {**own, "db": 0}


@pytest.mark.parametrize("kind, provider, falls", [
    ("MCPServer", None, True), ("MCPServer", "memory", True), ("MCPServer", "redis", False),
    ("MCPRemoteProxy", None, True), ("MCPRemoteProxy", "memory", False), ("MCPRemoteProxy", "redis", False),
    ("VirtualMCPServer", None, False), ("VirtualMCPServer", "memory", False),
])
def test_which_servers_the_operator_points_at_its_default_redis(kind, provider, falls):
    """v0.44.0: an MCPServer without its own Redis, a remote proxy without any sessionStorage; a VirtualMCPServer
    never (the operator hands it the default Secret itself)."""
    from components.servers.default_redis import falls_back

    assert falls_back(kind, provider) is falls


@pytest.mark.parametrize("kind, provider, has_default, overridden", [
    ("MCPServer", "memory", True, True),
    ("MCPServer", "memory", False, False),         # no default Redis: memory it is
    ("MCPServer", None, True, False),              # asked for nothing: nothing overridden
    ("MCPRemoteProxy", "memory", True, False),     # a remote proxy keeps memory sessions
    ("VirtualMCPServer", "memory", True, False),
])
def test_only_an_mcpservers_memory_sessions_are_overridden_by_a_default_redis(kind, provider, has_default, overridden):
    from components.servers.default_redis import DefaultRedis, memory_overridden

    default = DefaultRedis("valkey.cache:6379", None) if has_default else None
    assert memory_overridden(kind, provider, default) is overridden
