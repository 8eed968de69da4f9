"""Replica rules mirroring the ToolHive operator: through the policy functions and the offline checker."""
from __future__ import annotations

import pytest

from policies import replicas
from tests.policies.conftest import (
    REDIS, check_manifests, container, deployment, hpa, mcpserver, of_policy, operator_deployment,
    stack_violations_of, toolhive, violations_of,
)

STDIO = replicas.STDIO_SINGLE_REPLICA
REDIS_SESSIONS = replicas.REPLICAS_NEED_REDIS
RATE_LIMITING = replicas.RATE_LIMITING_NEEDS_REDIS
HPA = replicas.HPA_REPLICAS_CONFLICT
LEADER = replicas.OPERATOR_LEADER_ELECTION


def test_replica_policies_have_the_documented_names_and_default_enforcement():
    assert {p.name: p.enforcement for p in replicas.POLICIES} == {
        "mcp-stdio-single-replica": "mandatory",
        "mcp-replicas-need-redis-sessions": "advisory",
        "mcp-rate-limiting-needs-redis": "mandatory",
        "hpa-replicas-conflict": "mandatory",
        "operator-leader-election": "mandatory",
    }


# ---------------------------------------------------------------------------------------------
# mcp-stdio-single-replica
# ---------------------------------------------------------------------------------------------

class TestStdioServersRunOneReplica:
    def test_stdio_mcpserver_with_two_replicas_is_a_violation_naming_the_field(self):
        messages = violations_of(STDIO, mcpserver(transport="stdio", replicas=2))
        assert len(messages) == 1
        assert "spec.replicas is 2" in messages[0] and "stdio" in messages[0]
        assert "set spec.replicas to 1" in messages[0]

    def test_stdio_mcpserver_with_several_backend_replicas_is_a_violation(self):
        messages = violations_of(STDIO, mcpserver(transport="stdio", backendReplicas=3))
        assert len(messages) == 1 and "spec.backendReplicas is 3" in messages[0]

    def test_mcpserver_without_transport_defaults_to_stdio(self):
        manifest = mcpserver(replicas=2)
        del manifest["spec"]["transport"]
        messages = violations_of(STDIO, manifest)
        assert len(messages) == 1 and "default" in messages[0]

    def test_stdio_remote_proxy_with_two_replicas_is_a_violation(self):
        proxy = toolhive("MCPRemoteProxy", "gh", transport="stdio", replicas=2, remoteUrl="https://x")
        assert violations_of(STDIO, proxy)

    @pytest.mark.parametrize("manifest", [
        mcpserver(transport="stdio", replicas=1, backendReplicas=1),
        mcpserver(transport="stdio"),
        mcpserver(transport="streamable-http", replicas=3, backendReplicas=3, sessionStorage=REDIS),
        mcpserver(transport="sse", replicas=2, sessionStorage=REDIS),
        toolhive("MCPRemoteProxy", "gh", replicas=3, remoteUrl="https://x"),  # default streamable-http
    ], ids=["stdio-one-replica", "stdio-unset-replicas", "streamable-http", "sse", "remote-proxy-default"])
    def test_single_replica_or_network_transports_comply(self, manifest):
        assert violations_of(STDIO, manifest) == []

    def test_offline_checker_reports_stdio_scale_out_as_mandatory(self, tmp_path, capsys):
        code, results = check_manifests(tmp_path, capsys, mcpserver(transport="stdio", replicas=2,
                                                                    sessionStorage=REDIS))
        found = of_policy(results, "mcp-stdio-single-replica")
        assert code == 1
        assert [(r["kind"], r["namespace"], r["name"], r["enforcement"]) for r in found] == [
            ("MCPServer", "mcp", "fetch", "mandatory")]

    def test_offline_checker_accepts_single_replica_stdio_server(self, tmp_path, capsys):
        _, results = check_manifests(tmp_path, capsys, mcpserver(transport="stdio", replicas=1))
        assert of_policy(results, "mcp-stdio-single-replica") == []


# ---------------------------------------------------------------------------------------------
# mcp-replicas-need-redis-sessions
# ---------------------------------------------------------------------------------------------

class TestScaledOutServersNeedRedisSessions:
    @pytest.mark.parametrize("kind", ["MCPServer", "MCPRemoteProxy", "VirtualMCPServer"])
    def test_replicas_above_one_without_session_storage_is_a_violation(self, kind):
        messages = violations_of(REDIS_SESSIONS, toolhive(kind, replicas=3))
        assert len(messages) == 1
        assert "spec.replicas is 3" in messages[0] and "spec.sessionStorage" in messages[0]
        assert "provider: redis" in messages[0]

    def test_memory_session_storage_is_a_violation(self):
        messages = violations_of(REDIS_SESSIONS, mcpserver(replicas=2, sessionStorage={"provider": "memory"}))
        assert len(messages) == 1 and '"memory"' in messages[0]

    @pytest.mark.parametrize("manifest", [
        mcpserver(replicas=3, sessionStorage=REDIS),
        mcpserver(replicas=1),
        mcpserver(),
        toolhive("VirtualMCPServer", replicas=2, sessionStorage=REDIS),
    ], ids=["redis", "one-replica", "unset-replicas", "vmcp-redis"])
    def test_redis_sessions_or_a_single_replica_comply(self, manifest):
        assert violations_of(REDIS_SESSIONS, manifest) == []

    def test_offline_checker_reports_it_as_advisory_and_exits_zero(self, tmp_path, capsys):
        code, results = check_manifests(tmp_path, capsys, mcpserver(replicas=2), config={
            "mcp-namespace-default-deny": "disabled"})
        assert [r["enforcement"] for r in of_policy(results, "mcp-replicas-need-redis-sessions")] == ["advisory"]
        assert code == 0

    def test_offline_checker_accepts_redis_backed_replicas(self, tmp_path, capsys):
        _, results = check_manifests(tmp_path, capsys, mcpserver(replicas=2, sessionStorage=REDIS))
        assert of_policy(results, "mcp-replicas-need-redis-sessions") == []


# ---------------------------------------------------------------------------------------------
# mcp-rate-limiting-needs-redis
# ---------------------------------------------------------------------------------------------

RATE_LIMIT = {"shared": {"requestsPerWindow": 100, "window": "1m"}}


class TestRateLimitingNeedsRedis:
    def test_mcpserver_rate_limiting_without_session_storage_is_a_violation(self):
        messages = violations_of(RATE_LIMITING, mcpserver(rateLimiting=RATE_LIMIT))
        assert len(messages) == 1
        assert "spec.rateLimiting" in messages[0] and "provider: redis" in messages[0]

    def test_mcpserver_rate_limiting_with_memory_sessions_is_a_violation(self):
        assert violations_of(RATE_LIMITING, mcpserver(rateLimiting=RATE_LIMIT,
                                                      sessionStorage={"provider": "memory"}))

    def test_virtual_mcp_server_rate_limiting_lives_under_spec_config(self):
        messages = violations_of(RATE_LIMITING, toolhive("VirtualMCPServer", config={"rateLimiting": RATE_LIMIT}))
        assert len(messages) == 1 and "spec.config.rateLimiting" in messages[0]

    @pytest.mark.parametrize("manifest", [
        mcpserver(rateLimiting=RATE_LIMIT, sessionStorage=REDIS),
        mcpserver(),
        toolhive("VirtualMCPServer", config={"rateLimiting": RATE_LIMIT}, sessionStorage=REDIS),
    ], ids=["mcpserver-redis", "no-rate-limiting", "vmcp-redis"])
    def test_rate_limiting_with_redis_or_no_rate_limiting_complies(self, manifest):
        assert violations_of(RATE_LIMITING, manifest) == []

    def test_offline_checker_reports_rate_limiting_without_redis(self, tmp_path, capsys):
        code, results = check_manifests(tmp_path, capsys, mcpserver(rateLimiting=RATE_LIMIT))
        assert [r["enforcement"] for r in of_policy(results, "mcp-rate-limiting-needs-redis")] == ["mandatory"]
        assert code == 1

    def test_offline_checker_accepts_rate_limiting_with_redis(self, tmp_path, capsys):
        _, results = check_manifests(tmp_path, capsys, mcpserver(rateLimiting=RATE_LIMIT, sessionStorage=REDIS))
        assert of_policy(results, "mcp-rate-limiting-needs-redis") == []


# ---------------------------------------------------------------------------------------------
# hpa-replicas-conflict (stack)
# ---------------------------------------------------------------------------------------------

class TestAutoscaledResourcesLeaveReplicasUnset:
    @pytest.mark.parametrize("kind", ["MCPServer", "MCPRemoteProxy", "VirtualMCPServer"])
    def test_hpa_targeting_a_resource_that_sets_replicas_is_a_violation_on_that_resource(self, kind):
        target = toolhive(kind, "fetch", "mcp", replicas=2)
        results = stack_violations_of(HPA, [target, hpa(kind, "fetch", "mcp")])
        assert len(results) == 1
        anchor, message = results[0]
        assert (anchor.kind, anchor.object_name) == (kind, "fetch")
        assert "spec.replicas is 2" in message and "mcp/fetch-hpa" in message
        assert "remove spec.replicas" in message

    def test_hpa_targeting_a_resource_without_replicas_complies(self):
        assert stack_violations_of(HPA, [mcpserver(), hpa("MCPServer", "fetch")]) == []

    def test_hpa_in_another_namespace_does_not_match(self):
        assert stack_violations_of(HPA, [mcpserver(replicas=2), hpa("MCPServer", "fetch", "other")]) == []

    def test_hpa_targeting_the_operator_created_deployment_conflicts_with_spec_replicas(self):
        manifests = [mcpserver(replicas=2), hpa("Deployment", "fetch", api_version="apps/v1")]
        [(anchor, message)] = stack_violations_of(HPA, manifests)
        assert (anchor.kind, anchor.object_name) == ("MCPServer", "fetch")
        assert "spec.replicas is 2" in message and "Deployment the operator creates" in message

    def test_hpa_targeting_the_backend_statefulset_conflicts_with_spec_backend_replicas(self):
        manifests = [mcpserver(transport="streamable-http", backendReplicas=2),
                     hpa("StatefulSet", "fetch", api_version="apps/v1")]
        [(_, message)] = stack_violations_of(HPA, manifests)
        assert "spec.backendReplicas is 2" in message
        # The proxy Deployment is not the backend: replicas alone do not conflict with a StatefulSet HPA.
        assert stack_violations_of(HPA, [mcpserver(replicas=2), hpa("StatefulSet", "fetch", api_version="apps/v1")]) == []

    def test_hpa_targeting_an_unrelated_deployment_is_not_this_rule(self):
        manifests = [mcpserver(replicas=2), hpa("Deployment", "other", api_version="apps/v1")]
        assert stack_violations_of(HPA, manifests) == []

    def test_target_without_namespace_matches_hpa_in_default_namespace(self):
        server = mcpserver(replicas=2)
        del server["metadata"]["namespace"]
        autoscaler = hpa("MCPServer", "fetch")
        del autoscaler["metadata"]["namespace"]
        assert len(stack_violations_of(HPA, [server, autoscaler])) == 1

    def test_offline_checker_sees_the_conflict_across_files(self, tmp_path, capsys):
        from tests.policies.conftest import run_checker, write_yaml
        write_yaml(tmp_path / "in", "server.yaml", mcpserver(replicas=2, sessionStorage=REDIS))
        write_yaml(tmp_path / "in" / "autoscaling", "hpa.yml", hpa("MCPServer", "fetch"))
        code, results = run_checker(capsys, str(tmp_path / "in"))
        found = of_policy(results, "hpa-replicas-conflict")
        assert [(r["kind"], r["name"], r["enforcement"]) for r in found] == [("MCPServer", "fetch", "mandatory")]
        assert found[0]["file"].endswith("server.yaml")
        assert code == 1

    def test_offline_checker_accepts_hpa_on_resource_without_replicas(self, tmp_path, capsys):
        _, results = check_manifests(tmp_path, capsys, mcpserver(), hpa("MCPServer", "fetch"))
        assert of_policy(results, "hpa-replicas-conflict") == []


# ---------------------------------------------------------------------------------------------
# operator-leader-election
# ---------------------------------------------------------------------------------------------

class TestScaledOperatorElectsALeader:
    def test_operator_with_two_replicas_and_no_leader_elect_is_a_violation(self):
        messages = violations_of(LEADER, operator_deployment(replicas=2, args=["--metrics-bind-address=:8080"]))
        assert len(messages) == 1
        assert "spec.replicas is 2" in messages[0]
        assert '"--leader-elect"' in messages[0]
        assert 'spec.template.spec.containers[0] ("manager").args' in messages[0]

    def test_leader_elect_false_counts_as_disabled(self):
        assert violations_of(LEADER, operator_deployment(replicas=3, args=["--leader-elect=false"]))

    def test_operator_recognised_by_label_with_another_image(self):
        manifest = operator_deployment(replicas=2, image="123456789012.dkr.ecr.eu-west-1.amazonaws.com/op:v1",
                                       labels={"app.kubernetes.io/name": "toolhive-operator"})
        assert violations_of(LEADER, manifest)

    def test_operator_recognised_by_mirrored_operator_image(self):
        manifest = operator_deployment(
            replicas=2, image="123456789012.dkr.ecr.eu-west-1.amazonaws.com/ghcr/stacklok/toolhive/operator@" + "sha256:" + "b" * 64)
        assert violations_of(LEADER, manifest)

    @pytest.mark.parametrize("manifest", [
        operator_deployment(replicas=2, args=["--leader-elect"]),
        operator_deployment(replicas=2, args=["--leader-elect=true"]),
        operator_deployment(replicas=1, args=[]),
        operator_deployment(replicas=1),
        deployment("web", replicas=5, containers=[container("web")]),
    ], ids=["leader-elect", "leader-elect-true", "one-replica", "no-args", "not-the-operator"])
    def test_leader_election_single_replica_or_other_deployments_comply(self, manifest):
        assert violations_of(LEADER, manifest) == []

    def test_offline_checker_reports_scaled_operator_without_leader_election(self, tmp_path, capsys):
        code, results = check_manifests(tmp_path, capsys, operator_deployment(replicas=2, args=[]))
        found = of_policy(results, "operator-leader-election")
        assert [(r["kind"], r["namespace"], r["name"]) for r in found] == [
            ("Deployment", "toolhive-system", "toolhive-operator")]
        assert code == 1

    def test_offline_checker_accepts_scaled_operator_with_leader_election(self, tmp_path, capsys):
        code, results = check_manifests(tmp_path, capsys, operator_deployment(replicas=2, args=["--leader-elect"]))
        assert results == []
        assert code == 0


# -- the shared rule module itself (killed mutants of python -m tools.mutation policies/replica_rules.py) --------

def test_a_kind_without_replica_fields_has_no_hpa_conflict():
    from policies import replica_rules

    assert replica_rules.hpa_conflict_field("MCPGroup", {"replicas": 2}, "Deployment") is None
    assert replica_rules.hpa_conflict_field("MCPServer", {"backendReplicas": 2}, "StatefulSet") == "backendReplicas"


@pytest.mark.parametrize("kind, spec", [
    ("MCPServer", {"rateLimiting": {"perUser": {"maxTokens": 5, "refillPeriod": "1m"}}}),
    ("MCPServer", {"rateLimiting": {"tools": [{"name": "fetch", "perUser": {"maxTokens": 5, "refillPeriod": "1m"}}]}}),
    ("VirtualMCPServer", {"incomingAuth": {"type": "anonymous"},
                          "config": {"rateLimiting": {"perUser": {"maxTokens": 5, "refillPeriod": "1m"}}}}),
], ids=["server-wide", "per-tool", "vmcp-config"])
def test_a_per_user_limit_needs_an_identity_wherever_it_is_set(kind, spec):
    from policies import replica_rules

    assert replica_rules.per_user_limit_without_identity(kind, spec) is True
    identity = {"incomingAuth": {"type": "oidc"}} if kind == "VirtualMCPServer" else {"oidcConfigRef": {"name": "sso"}}
    assert replica_rules.per_user_limit_without_identity(kind, {**spec, **identity}) is False


def test_shared_limits_per_tool_need_no_identity():
    from policies import replica_rules

    spec = {"rateLimiting": {"shared": {"maxTokens": 50, "refillPeriod": "1m"},
                             "tools": [{"name": "fetch", "shared": {"maxTokens": 5, "refillPeriod": "1m"}}]}}
    assert replica_rules.per_user_limit_without_identity("MCPServer", spec) is False


@pytest.mark.parametrize("max_replicas, lost", [(None, None), (1, None), (2, 2), (5, 5)])
def test_an_autoscaler_that_may_run_two_replicas_without_redis_loses_sessions(max_replicas, lost):
    from policies import replica_rules

    assert replica_rules.sessions_lost_autoscaled({"transport": "streamable-http"}, max_replicas) == lost
    redis = {"transport": "streamable-http", "sessionStorage": {"provider": "redis", "address": "valkey:6379"}}
    assert replica_rules.sessions_lost_autoscaled(redis, max_replicas) is None


def test_external_auth_identifies_the_user_of_a_per_user_limit_as_oidc_does():
    from policies import replica_rules

    spec = {"rateLimiting": {"perUser": {"maxTokens": 5, "refillPeriod": "1m"}}}
    assert replica_rules.per_user_limit_without_identity("MCPServer", {**spec, "externalAuthConfigRef": {"name": "x"}}) is False
    # On a vMCP only its own incoming OIDC counts: an MCPServer's reference fields mean nothing there.
    assert replica_rules.per_user_limit_without_identity(
        "VirtualMCPServer", {"config": spec, "externalAuthConfigRef": {"name": "x"}, "oidcConfigRef": {"name": "y"}}) is True


@pytest.mark.parametrize("value", ["perUser", ["perUser"], 5, True])
def test_a_rate_limiting_that_is_not_an_object_is_left_to_the_schema(value):
    """The CRD's schema refuses such a value; the replica rules neither report nor fail on it."""
    from policies import replica_rules

    for kind, spec in (("MCPServer", {"rateLimiting": value}), ("VirtualMCPServer", {"config": {"rateLimiting": value}})):
        assert replica_rules.rate_limiting_without_redis(kind, spec) is False
        assert replica_rules.per_user_limit_without_identity(kind, spec) is False


def test_a_per_tool_entry_that_is_not_an_object_sets_no_per_user_limit():
    from policies import replica_rules

    spec = {"rateLimiting": {"tools": ["perUser", {"name": "fetch"}]}}
    assert replica_rules.per_user_limit_without_identity("MCPServer", spec) is False


@pytest.mark.parametrize("kind, spec, expected", [
    ("MCPServer", {"transport": "sse"}, ("sse", True)),
    ("MCPServer", {}, ("stdio", False)),
    ("MCPServer", {"transport": ""}, ("stdio", False)),
    ("MCPServer", {"transport": 7}, ("stdio", False)),  # not a transport: the default, not "explicitly 7"
    ("MCPServer", {"transport": ["sse"]}, ("stdio", False)),
    ("MCPRemoteProxy", {}, ("streamable-http", False)),
    ("MCPRemoteProxy", {"transport": "sse"}, ("sse", True)),
    ("VirtualMCPServer", {}, (None, False)),
])
def test_the_transport_is_the_set_string_else_the_kinds_default_and_says_which(kind, spec, expected):
    from policies import replica_rules

    assert replica_rules.transport(kind, spec) == expected


@pytest.mark.parametrize(("kind", "spec"), [
    ("MCPRemoteProxy", {"rateLimiting": RATE_LIMIT}),  # its CRD has no rate limits: the schema refuses the field
    ("VirtualMCPServer", {"rateLimiting": RATE_LIMIT}),  # a vMCP's live under spec.config
    ("VirtualMCPServer", {"config": "rateLimiting"}),
    ("MCPServer", {"config": {"rateLimiting": RATE_LIMIT}}),
], ids=["remote-proxy", "vmcp-top-level", "vmcp-config-not-an-object", "mcpserver-under-config"])
def test_rate_limits_are_read_only_where_the_kinds_crd_holds_them(kind, spec):
    from policies import replica_rules

    assert replica_rules.rate_limiting_without_redis(kind, spec) is False
    assert violations_of(RATE_LIMITING, toolhive(kind, **spec)) == []
