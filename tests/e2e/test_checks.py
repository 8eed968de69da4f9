"""The end-to-end run's checks, on small inputs where each must pass and where each must fail.

The checks run for real in `python -m tools.e2e`; here they are held to their rule offline, so a loosened check
fails a test instead of turning a real run green."""
from __future__ import annotations

import pytest

from tools.e2e import checks
from tools.e2e.checks import Live


def deployment(name, ns, labels, env=()):
    return {"kind": "Deployment", "metadata": {"name": name, "namespace": ns},
            "spec": {"template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "toolhive", "env": list(env)}]}}}}


def service(name, ns, selector):
    return {"kind": "Service", "metadata": {"name": name, "namespace": ns}, "spec": {"selector": selector}}


def mcpserver(name, ns, **spec):
    return {"kind": "MCPServer", "metadata": {"name": name, "namespace": ns}, "spec": spec}


PROXY_LABELS = {"app.kubernetes.io/name": "mcpserver", "app.kubernetes.io/instance": "fetch", "toolhive": "true"}


def test_operator_objects_pass_when_deployment_and_service_are_named_and_labelled_as_predicted():
    live = Live([mcpserver("fetch", "mcp"), deployment("fetch", "mcp", PROXY_LABELS),
                 service("mcp-fetch-proxy", "mcp", {"app.kubernetes.io/instance": "fetch"})])
    assert checks.operator_objects_predicted(live).ok


@pytest.mark.parametrize("objects, problem", [
    ([deployment("fetch", "mcp", PROXY_LABELS)], "missing"),
    ([service("mcp-fetch-proxy", "mcp", {"app.kubernetes.io/instance": "fetch"})], "missing"),
    ([deployment("fetch", "mcp", {"app": "fetch"}), service("mcp-fetch-proxy", "mcp", {"app": "fetch"})], "wrong"),
    ([deployment("fetch", "mcp", PROXY_LABELS), service("mcp-fetch-proxy", "mcp", {"app": "other"})], "wrong"),
], ids=["no service", "no deployment", "pod labels differ", "service selects other pods"])
def test_operator_objects_fail_when_the_prediction_is_wrong(objects, problem):
    result = checks.operator_objects_predicted(Live([mcpserver("fetch", "mcp"), *objects]))
    assert not result.ok and result.detail[problem]


def test_state_urns_must_equal_the_render_both_ways():
    state = {"deployment": {"resources": [
        {"urn": "urn:pulumi:dev::toolhive::pulumi:pulumi:Stack::toolhive-dev", "type": "pulumi:pulumi:Stack"},
        {"urn": "urn:pulumi:dev::toolhive::pulumi:providers:random::default_4_21_4",
         "type": "pulumi:providers:random"},
        {"urn": "urn:a", "type": "kubernetes:core/v1:Namespace"}]}}
    assert checks.urns_equal(state, [{"urn": "urn:a"}]).ok
    assert checks.urns_equal(state, [{"urn": "urn:a"}, {"urn": "urn:b"}]).detail["only_in_render"] == ["urn:b"]
    assert not checks.urns_equal(state, []).ok


def test_policy_findings_compare_policy_and_the_object_behind_the_urn():
    resources = [{"urn": "urn:a", "inputs": {"kind": "Namespace", "metadata": {"name": "mcp"}}},
                 {"urn": "urn:b", "inputs": {"kind": "Namespace", "metadata": {"name": "other"}}}]
    engine = [{"policy": "protect", "urn": "urn:a", "message": "x"}]
    finding = {"policy": "protect", "kind": "Namespace", "namespace": "", "name": "mcp"}
    assert checks.policy_findings_equal(engine, [finding], resources).ok
    assert not checks.policy_findings_equal(engine, [], resources).ok
    assert not checks.policy_findings_equal([], [finding], resources).ok
    assert not checks.policy_findings_equal([{"policy": "protect", "urn": "urn:b"}], [finding], resources).ok


def redis_server(env):
    return Live([mcpserver("fetch", "mcp", sessionStorage={"provider": "redis"}),
                 deployment("fetch", "mcp", PROXY_LABELS, env)])


def test_a_redis_session_proxy_needs_the_password_from_a_secret():
    from_secret = [{"name": "THV_SESSION_REDIS_PASSWORD",
                    "valueFrom": {"secretKeyRef": {"name": "valkey-auth", "key": "password"}}}]
    assert checks.redis_password_reaches_proxies(redis_server(from_secret), default_redis=False).ok
    assert not checks.redis_password_reaches_proxies(redis_server([]), default_redis=False).ok
    literal = [{"name": "THV_SESSION_REDIS_PASSWORD", "value": "hunter2"}]
    assert not checks.redis_password_reaches_proxies(redis_server(literal), default_redis=False).ok


def test_a_replicated_server_relying_on_the_default_redis_is_checked_too():
    live = Live([mcpserver("fetch", "mcp", replicas=2), deployment("fetch", "mcp", PROXY_LABELS)])
    assert not checks.redis_password_reaches_proxies(live, default_redis=True).ok
    assert checks.redis_password_reaches_proxies(live, default_redis=False).ok


def replicaset(name, ns, conditions=()):
    return {"kind": "ReplicaSet", "metadata": {"name": name, "namespace": ns}, "spec": {"replicas": 1},
            "status": {"conditions": list(conditions)}}


def pod(ns, owner):
    return {"kind": "Pod", "metadata": {"name": owner + "-x", "namespace": ns,
                                        "ownerReferences": [{"kind": "ReplicaSet", "name": owner}]}}


def test_pods_admitted_fails_on_a_pod_security_refusal_and_on_no_pod_at_all():
    refused = {"type": "ReplicaFailure", "status": "True",
               "message": 'pods "x" is forbidden: violates PodSecurity "restricted:latest"'}
    assert checks.pods_admitted(Live([replicaset("a", "mcp"), pod("mcp", "a")]), ["mcp"]).ok
    assert not checks.pods_admitted(Live([replicaset("a", "mcp", [refused]), pod("mcp", "b")]), ["mcp"]).ok
    assert not checks.pods_admitted(Live([replicaset("a", "mcp")]), ["mcp"]).ok


def state_with(*resources):
    return {"deployment": {"resources": [
        {"type": "kubernetes:core/v1:" + kind, "retainOnDelete": retain,
         "outputs": {"kind": kind, "metadata": {"name": name, "namespace": ns}}}
        for kind, ns, name, retain in resources]}}


def test_destroy_keeps_exactly_what_is_retained():
    state = state_with(("Namespace", "", "mcp", True), ("ConfigMap", "mcp", "cfg", False))
    ns = {"kind": "Namespace", "metadata": {"name": "mcp"}}
    cfg = {"kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "mcp"}}
    assert checks.destroy_leaves_only_retained(state, Live([ns])).ok
    assert not checks.destroy_leaves_only_retained(state, Live([ns, cfg])).ok
    assert not checks.destroy_leaves_only_retained(state, Live([])).ok
    going = {"kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "mcp", "deletionTimestamp": "now"}}
    assert checks.destroy_leaves_only_retained(state, Live([ns, going])).ok


def test_scaling_targets_must_exist():
    hpa = {"kind": "HorizontalPodAutoscaler", "metadata": {"name": "h", "namespace": "mcp"},
           "spec": {"scaleTargetRef": {"kind": "MCPServer", "name": "fetch"}}}
    pdb = {"kind": "PodDisruptionBudget", "metadata": {"name": "p", "namespace": "mcp"},
           "spec": {"selector": {"matchLabels": {"app.kubernetes.io/instance": "fetch"}}}}
    assert checks.scaling_targets_exist(Live([hpa, pdb, mcpserver("fetch", "mcp"),
                                              deployment("fetch", "mcp", PROXY_LABELS)])).ok
    assert not checks.scaling_targets_exist(Live([hpa])).ok
    assert not checks.scaling_targets_exist(Live([pdb])).ok


ECR = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ghcr/stacklok/toolhive/operator:v0.44.0"


def _state_with(*images: str) -> dict:
    return {"deployment": {"resources": [
        {"urn": f"urn:{i}", "type": "kubernetes:apps/v1:Deployment",
         "inputs": {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": image}]}}}}}
        for i, image in enumerate(images)]}}


def test_images_are_pinned_to_the_digest_ecr_gave():
    digests = {ECR: "sha256:" + "a" * 64}
    assert checks.images_pinned(_state_with(f"{ECR}@sha256:{'a' * 64}"), digests).ok


def test_an_offline_placeholder_digest_or_a_bare_tag_is_not_pinned():
    digests = {ECR: "sha256:" + "a" * 64}
    other = checks.images_pinned(_state_with(f"{ECR}@sha256:{'b' * 64}"), digests)
    assert not other.ok and other.detail["unknown_digests"] and other.detail["not_deployed"]
    bare = checks.images_pinned(_state_with(ECR, f"{ECR}@sha256:{'a' * 64}"), digests)
    assert not bare.ok and bare.detail["unpinned"] == [ECR]


def _quota(hard: dict, used: dict | None) -> dict:
    return {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q", "namespace": "team"},
            "spec": {"hard": hard}, **({"status": {"hard": hard, "used": used}} if used is not None else {})}


def test_a_quota_is_counted_once_it_has_usage_for_every_hard_resource():
    hard = {"pods": "4", "count/mcpservers.toolhive.stacklok.dev": "2"}
    assert checks.quotas_counted(Live([_quota(hard, {"pods": "0", "count/mcpservers.toolhive.stacklok.dev": "1"})])).ok
    partial = checks.quotas_counted(Live([_quota(hard, {"pods": "0"})]))
    assert not partial.ok and "count/mcpservers.toolhive.stacklok.dev" in partial.detail[0]
    assert not checks.quotas_counted(Live([_quota(hard, None)])).ok


def test_a_backend_scaled_by_an_hpa_is_not_checkable_without_a_kubelet_but_a_missing_target_still_fails():
    """The proxy runner makes an MCPServer's backend StatefulSet from inside its pod, which never runs here."""
    hpa = {"kind": "HorizontalPodAutoscaler", "metadata": {"name": "fetch-backend", "namespace": "mcp"},
           "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "fetch"}}}
    found = checks.scaling_targets_exist(Live([hpa, mcpserver("fetch", "mcp")]))
    assert found.ok and found.detail["not_checkable"] and not found.detail["problems"]
    other = {**hpa, "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "other"}}}
    assert not checks.scaling_targets_exist(Live([other, mcpserver("fetch", "mcp")])).ok
    pdb = {"kind": "PodDisruptionBudget", "metadata": {"name": "fetch-backend", "namespace": "mcp"},
           "spec": {"selector": {"matchLabels": {"app": "fetch"}}}}
    assert checks.scaling_targets_exist(Live([pdb, mcpserver("fetch", "mcp")])).detail["not_checkable"]
    assert not checks.scaling_targets_exist(Live([pdb])).ok
