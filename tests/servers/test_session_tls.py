"""Session storage with a password against a managed Redis that takes one only over TLS (ElastiCache,
Azure): v0.44.0 session storage has no TLS option, so it is refused before anything is registered, with what
to do at v0.44.0. A managed Redis without a password, and any in-cluster Redis, stay allowed."""
from __future__ import annotations

import pytest

from components.errors import ConfigError
from tests.conftest import render_config
from tests.servers.conftest import NS, config_with, server
from tools.mock_runtime import ProgramRun

ELASTICACHE = "sessions.x1y2z3.ng.0001.euw1.cache.amazonaws.com:6379"
AZURE = "sessions.redis.cache.windows.net:6380"


def refused(config: dict, preview: bool, **kwargs) -> list[str]:
    run = ProgramRun()
    with pytest.raises(ConfigError) as raised:
        render_config(config, stack="dev", into=run, preview=preview, **kwargs)
    assert [r for r in run.resources if r.type != "pulumi:pulumi:Stack"] == [], "nothing may be registered"
    return raised.value.problems


@pytest.mark.parametrize("address", [ELASTICACHE, AZURE, "x.serverless.euw1.cache.amazonaws.com:6379"])
def test_a_server_password_against_a_tls_only_managed_redis_is_refused_with_what_to_do(address, preview):
    storage = {"provider": "redis", "address": address, "passwordRef": {"name": "auth", "key": "password"}}
    [problem] = refused(config_with(servers=[server("web", transport="streamable-http", mcpPort=8080,
                                                    sessionStorage=storage)]), preview)
    assert problem.startswith(f"toolhive:servers.mcpServers[0].spec.sessionStorage.address: {address} is ")
    assert "accepts a password only over TLS" in problem and "no TLS option" in problem
    assert "toolhive:servers.sessionStore" in problem  # what to do at v0.44.0


@pytest.mark.parametrize("address, service", [
    ("Sessions.X1.Cache.AmazonAWS.com:6379", "Amazon ElastiCache"),     # host names are case-insensitive
    ("sessions.x1.cache.amazonaws.com.:6379", "Amazon ElastiCache"),    # a fully qualified name's trailing dot
    ("sessions.redis.cache.windows.net.:6380", "Azure Cache for Redis"),
    ("cache.amazonaws.com.evil.example:6379", None),                    # the suffix must end the host
    ("valkey.mcp-data.svc.cluster.local:6379", None),
])
def test_a_managed_endpoint_is_known_by_its_host_name_suffix(address, service):
    from components.servers.redis_tls import managed_tls_service

    assert managed_tls_service(address) == service


def test_the_same_holds_for_remote_proxies_and_virtual_servers(preview):
    storage = {"provider": "redis", "address": ELASTICACHE, "passwordRef": {"name": "auth", "key": "password"}}
    problems = refused(config_with(
        remote=[{"name": "far", "namespace": NS, "spec": {"remoteUrl": "https://mcp.example.com/mcp",
                                                          "sessionStorage": storage}}],
        virtual=[{"name": "all", "namespace": NS, "spec": {"group": "tools", "incomingAuth": {"type": "anonymous"},
                                                           "sessionStorage": storage}}]), preview)
    assert [p.split(": ")[0] for p in problems] == ["toolhive:servers.remoteProxies[0].spec.sessionStorage.address",
                                                    "toolhive:servers.virtualServers[0].spec.sessionStorage.address"]


def test_the_operators_default_redis_with_a_password_is_refused_too(preview):
    config = config_with(operator={"defaultRedis": {"addr": ELASTICACHE, "existingSecret": "session-auth"}})
    [problem] = refused(config, preview)
    assert problem.startswith(f"toolhive:operator.defaultRedis.addr: {ELASTICACHE} is Amazon ElastiCache")


def test_a_managed_redis_without_a_password_and_an_in_cluster_one_with_a_password_are_fine(preview):
    in_cluster = {"provider": "redis", "address": "valkey.cache:6379", "passwordRef": {"name": "auth", "key": "pw"}}
    rendered = render_config(config_with(servers=[server("web", sessionStorage=in_cluster)],
                                         operator={"defaultRedis": {"addr": ELASTICACHE}},
                                         namespaces=[{"name": NS, "groups": [{"name": "tools"}], "network": {
                                             "egress": [{"cidr": "10.0.96.0/20", "ports": [6379]}]}},
                                             {"name": "mcp-data", "network": {
                                                 "egress": [{"cidr": "10.0.96.0/20", "ports": [6379]}]}}]),
                             preview=preview, stack="dev", allow_problems=True)
    assert rendered.object("MCPServer", "web", NS)["spec"]["sessionStorage"]["address"] == "valkey.cache:6379"
