"""Replica rules at preview: what the operator would force or warn about, the program forces or warns
about first (Pulumi warnings on the server's resource); what the CRDs reject is a config error."""
from __future__ import annotations

import pytest

from tests.servers.conftest import NS, REDIS, config_error, render_servers, server, spec_of

HTTP = {"transport": "streamable-http", "mcpPort": 8080}


def warnings_of(rendered) -> list[tuple[str, str]]:
    return [(w.urn.rsplit("::", 1)[-1], w.message) for w in rendered.run.warnings]


def test_unset_replicas_leave_no_replica_keys_at_all(preview):
    rendered = render_servers(preview, servers=[server("web", **HTTP)])
    spec = spec_of(rendered, "MCPServer", "web")
    assert "replicas" not in spec and "backendReplicas" not in spec
    assert warnings_of(rendered) == []


def test_a_stdio_server_is_capped_at_one_replica_with_a_warning_on_its_resource(preview):
    rendered = render_servers(preview, servers=[server("fetch", transport="stdio", replicas=3, backendReplicas=2)])
    spec = spec_of(rendered, "MCPServer", "fetch")
    assert (spec["replicas"], spec["backendReplicas"]) == (1, 1)
    warnings = warnings_of(rendered)
    assert [urn for urn, _ in warnings] == ["mcp-dev-mcpserver-fetch", "mcp-dev-mcpserver-fetch"]
    assert warnings[0][1].startswith("MCPServer mcp-dev/fetch: spec.replicas is 3 but the transport is stdio")
    assert warnings[1][1].startswith("MCPServer mcp-dev/fetch: spec.backendReplicas is 2 but the transport is stdio")
    # The warning is attached to the MCPServer itself (the engine shows it under that resource).
    server_urn = rendered.resource("MCPServer", "fetch", NS).urn
    assert {w.urn for w in rendered.run.warnings} == {server_urn}


def test_stdio_is_also_the_default_transport_for_the_cap(preview):
    rendered = render_servers(preview, servers=[server("fetch", replicas=2)])
    assert spec_of(rendered, "MCPServer", "fetch")["replicas"] == 1


def test_several_replicas_without_redis_warn_and_deploy(preview):
    rendered = render_servers(preview, servers=[server("web", replicas=3, **HTTP)])
    assert spec_of(rendered, "MCPServer", "web")["replicas"] == 3
    assert warnings_of(rendered) == [("mcp-dev-mcpserver-web", "MCPServer mcp-dev/web: spec.replicas is 3 without Redis "
                                      "session storage: sessions live in one replica's memory and break when a request "
                                      "reaches another replica; set sessionStorage to provider redis")]


def test_memory_session_storage_is_no_better_than_none(preview):
    rendered = render_servers(preview, servers=[server("web", replicas=2, sessionStorage={"provider": "memory"}, **HTTP)])
    assert len(warnings_of(rendered)) == 1


def test_several_replicas_with_redis_do_not_warn(preview):
    rendered = render_servers(preview, servers=[server("web", replicas=3, sessionStorage=REDIS, **HTTP)])
    assert warnings_of(rendered) == []
    assert spec_of(rendered, "MCPServer", "web")["sessionStorage"] == {
        "provider": "redis", "address": "valkey.cache:6379", "db": 0,
        "passwordRef": {"name": "valkey-auth", "key": "password"}}


@pytest.mark.parametrize("storage, key, message", [
    ({"provider": "redis", "passwordRef": {"name": "s", "key": "k"}}, "address", "is required when provider is redis"),
    ({"provider": "redis", "address": "r:6379"}, "passwordRef", "set exactly one of passwordRef"),
    ({"provider": "redis", "address": "r:6379", "password": "hunter2"}, "password", "is not a secret reference"),
])
def test_redis_needs_an_address_and_a_password_from_a_secret(storage, key, message):
    problems, registered = config_error(servers=[server("web", sessionStorage=storage, **HTTP)])
    assert len(problems) == 1 and problems[0].startswith(f"toolhive:servers.mcpServers[0].spec.sessionStorage.{key}: ")
    assert message in problems[0]
    assert registered == []


def test_rate_limiting_without_redis_is_a_config_error_naming_the_key():
    limits = {"shared": {"maxTokens": 100, "refillPeriod": "1m"}}
    problems, registered = config_error(servers=[server("web", rateLimiting=limits, **HTTP)])
    assert problems == ["toolhive:servers.mcpServers[0].spec.rateLimiting: needs sessionStorage with provider redis "
                        "(rate limits are counted in Redis)"]
    assert registered == []
    render_servers(servers=[server("web", rateLimiting=limits, sessionStorage=REDIS, **HTTP)])


def test_per_user_rate_limits_without_oidc_or_external_auth_are_a_config_error():
    limits = {"tools": [{"name": "fetch", "perUser": {"maxTokens": 5, "refillPeriod": "1m"}}]}
    problems, _ = config_error(servers=[server("web", rateLimiting=limits, sessionStorage=REDIS, **HTTP)])
    assert problems == ["toolhive:servers.mcpServers[0].spec.rateLimiting: per-user limits need to know the user: "
                        "set oidcConfigRef or externalAuthConfigRef"]
    rendered = render_servers(servers=[server("web", rateLimiting=limits, sessionStorage=REDIS,
                                              oidcConfigRef={"name": "corp", "audience": "mcp"}, **HTTP)])
    assert spec_of(rendered, "MCPServer", "web")["oidcConfigRef"] == {"name": "corp", "audience": "mcp"}


def test_a_pdb_guards_the_proxy_pods_only_when_replicas_exceed_one(preview):
    rendered = render_servers(preview, servers=[
        server("web", replicas=2, sessionStorage=REDIS, **HTTP),
        server("one", replicas=1, **HTTP),
        server("auto", **HTTP),
        server("optout", replicas=2, sessionStorage=REDIS, podDisruptionBudget=False, **HTTP),
    ])
    pdbs = {o["metadata"]["name"]: o for o in rendered.objects("PodDisruptionBudget") if o["metadata"]["namespace"] == NS}
    assert list(pdbs) == ["web-proxy"]
    assert pdbs["web-proxy"]["spec"] == {"minAvailable": 1, "selector": {"matchLabels": {
        "app.kubernetes.io/name": "mcpserver", "app.kubernetes.io/instance": "web"}}}
    pdb = rendered.resource("PodDisruptionBudget", "web-proxy", NS)
    mcp_server = rendered.resource("MCPServer", "web", NS)
    assert mcp_server.urn in pdb.dependencies
    # Its URN: named after its namespace and object, a child of the server's component (a rename replaces it).
    assert pdb.name == "mcp-dev-pdb-web-proxy" and pdb.parent == mcp_server.parent
    assert pdbs["web-proxy"]["metadata"]["labels"] == rendered.object("MCPServer", "web", NS)["metadata"]["labels"]


def test_a_stdio_server_forced_to_one_replica_gets_no_pdb(preview):
    rendered = render_servers(preview, servers=[server("fetch", replicas=3)])
    assert [o for o in rendered.objects("PodDisruptionBudget") if o["metadata"]["namespace"] == NS] == []


def test_hpas_target_the_deployment_and_statefulset_the_operator_creates(preview):
    rendered = render_servers(preview, servers=[server("web", sessionStorage=REDIS, autoscaling={
        "proxy": {"minReplicas": 2, "maxReplicas": 6, "targetCpuUtilization": 70},
        "backend": {"maxReplicas": 3}}, **HTTP)])
    proxy = rendered.object("HorizontalPodAutoscaler", "web-proxy", NS)
    backend = rendered.object("HorizontalPodAutoscaler", "web-backend", NS)
    assert proxy["apiVersion"] == "autoscaling/v2"
    assert proxy["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}
    assert (proxy["spec"]["minReplicas"], proxy["spec"]["maxReplicas"]) == (2, 6)
    assert proxy["spec"]["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]
    component = rendered.resource("MCPServer", "web", NS).parent
    for role in ("proxy", "backend"):
        hpa = rendered.resource("HorizontalPodAutoscaler", f"web-{role}", NS)
        assert hpa.name == f"mcp-dev-hpa-web-{role}" and hpa.parent == component
        assert hpa.inputs["metadata"]["labels"] == rendered.object("MCPServer", "web", NS)["metadata"]["labels"]
    assert backend["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web"}
    spec = spec_of(rendered, "MCPServer", "web")
    assert "replicas" not in spec and "backendReplicas" not in spec


@pytest.mark.parametrize("fields, key, message", [
    ({"replicas": 2, "autoscaling": {"proxy": {"maxReplicas": 4}}}, "autoscaling.proxy", "conflicts with replicas"),
    ({"backendReplicas": 2, "autoscaling": {"backend": {"maxReplicas": 4}}}, "autoscaling.backend",
     "conflicts with backendReplicas"),
])
def test_an_hpa_beside_a_fixed_replica_count_is_a_config_error(fields, key, message):
    problems, registered = config_error(servers=[server("web", sessionStorage=REDIS, **HTTP, **fields)])
    assert len(problems) == 1 and problems[0].startswith(f"toolhive:servers.mcpServers[0].spec.{key}: {message}")
    assert registered == []


@pytest.mark.parametrize("role", ["proxy", "backend"])
def test_a_stdio_server_is_never_autoscaled(role):
    problems, _ = config_error(servers=[server("fetch", autoscaling={role: {"maxReplicas": 3}})])
    assert len(problems) == 1 and problems[0].startswith(f"toolhive:servers.mcpServers[0].spec.autoscaling.{role}: a stdio")


def test_remote_proxies_and_virtual_servers_follow_the_same_rules(preview):
    rendered = render_servers(preview, remote=[
        {"name": "remote", "namespace": NS, "spec": {"remoteUrl": "https://mcp.example.com", "replicas": 2}},
        {"name": "scaled", "namespace": NS, "spec": {"remoteUrl": "https://mcp.example.com",
                                                     "autoscaling": {"proxy": {"maxReplicas": 3}}}},
    ], virtual=[{"name": "all", "namespace": NS, "spec": {"group": "tools", "incomingAuth": {"type": "anonymous"},
                                                          "replicas": 2, "sessionStorage": REDIS}}])
    assert sorted(warnings_of(rendered)) == [("mcp-dev-mcpremoteproxy-remote", "MCPRemoteProxy mcp-dev/remote: spec.replicas "
                                      "is 2 without Redis session storage: sessions live in one replica's memory and "
                                      "break when a request reaches another replica; set sessionStorage to provider redis"),
                                     ("mcp-dev-mcpremoteproxy-scaled", "MCPRemoteProxy mcp-dev/scaled: autoscaling.proxy "
                                      "scales to 3 replicas without Redis session storage: sessions live in one "
                                      "replica's memory and break when a request reaches another replica; set "
                                      "sessionStorage to provider redis")]
    assert rendered.object("PodDisruptionBudget", "remote-proxy", NS)["spec"]["selector"]["matchLabels"] == {
        "app.kubernetes.io/name": "mcpremoteproxy", "app.kubernetes.io/instance": "remote"}
    assert rendered.object("PodDisruptionBudget", "all-proxy", NS)["spec"]["selector"]["matchLabels"] == {
        "app.kubernetes.io/name": "virtualmcpserver", "app.kubernetes.io/instance": "all"}
    assert rendered.object("HorizontalPodAutoscaler", "scaled-proxy", NS)["spec"]["scaleTargetRef"]["name"] == "scaled"
    assert "replicas" not in spec_of(rendered, "MCPRemoteProxy", "scaled")


def test_remote_proxy_hpa_beside_replicas_is_a_config_error():
    problems, _ = config_error(remote=[{"name": "r", "namespace": NS, "spec": {
        "remoteUrl": "https://mcp.example.com", "replicas": 2, "autoscaling": {"proxy": {"maxReplicas": 3}}}}])
    assert problems[0].startswith("toolhive:servers.remoteProxies[0].spec.autoscaling.proxy: conflicts with replicas")


def test_the_program_and_the_policy_pack_share_one_rule_module():
    """Both import policies.replica_rules: a rule changed there changes in both places."""
    import components.servers.scaling as scaling
    import components.config.servers as config_servers
    import policies.replicas as pack
    from policies import replica_rules

    assert scaling.replica_rules is replica_rules and config_servers.replica_rules is replica_rules
    assert pack.replica_rules is replica_rules


def test_an_autoscaler_without_redis_warns_like_fixed_replicas(preview):
    scaler = {"proxy": {"minReplicas": 1, "maxReplicas": 4}}
    rendered = render_servers(preview, servers=[server("web", autoscaling=scaler, **HTTP)],
                              remote=[{"name": "docs", "namespace": NS, "spec": {
                                  "remoteUrl": "https://docs.example.com/mcp", "autoscaling": scaler}}])
    assert sorted(warnings_of(rendered)) == [
        ("mcp-dev-mcpremoteproxy-docs", "MCPRemoteProxy mcp-dev/docs: autoscaling.proxy scales to 4 replicas without "
         "Redis session storage: sessions live in one replica's memory and break when a request reaches another "
         "replica; set sessionStorage to provider redis"),
        ("mcp-dev-mcpserver-web", "MCPServer mcp-dev/web: autoscaling.proxy scales to 4 replicas without Redis session "
         "storage: sessions live in one replica's memory and break when a request reaches another replica; set "
         "sessionStorage to provider redis")]


@pytest.mark.parametrize("scaler, storage", [({"proxy": {"maxReplicas": 4}}, REDIS), ({"proxy": {"maxReplicas": 1}}, None)],
                         ids=["with redis", "at most one replica"])
def test_an_autoscaler_with_redis_or_a_single_replica_does_not_warn(preview, scaler, storage):
    spec = {"autoscaling": scaler, **({"sessionStorage": storage} if storage else {}), **HTTP}
    assert warnings_of(render_servers(preview, servers=[server("web", **spec)])) == []


INT32_MAX = 2**31 - 1


@pytest.mark.parametrize("field", ["replicas", "backendReplicas", "autoscaling.proxy.maxReplicas",
                                   "autoscaling.backend.minReplicas"])
def test_replica_counts_are_bounded_like_the_crds_int32_fields(field):
    def spec_with(value):
        *parents, last = field.split(".")
        spec = dict(HTTP)
        holder = spec
        for part in parents:
            holder = holder.setdefault(part, {})
        holder[last] = value
        if parents and last == "minReplicas":
            holder["maxReplicas"] = INT32_MAX
        return spec

    problems, registered = config_error(servers=[server("web", **spec_with(INT32_MAX + 1))])
    assert problems == [f"toolhive:servers.mcpServers[0].spec.{field}: input should be less than or equal to "
                        f"{INT32_MAX} (got {INT32_MAX + 1})"] and registered == []
    from components.config.loader import parse_stack_config
    from tests.servers.conftest import config_with
    parse_stack_config(config_with(servers=[server("web", **spec_with(INT32_MAX))]))  # the boundary: accepted
