"""Tenant namespaces: Pod Security Admission, quota, limits, network fences, protection."""
from __future__ import annotations

import pytest

from tests.conftest import render_config

TENANTS = {"namespaces": [
    {"name": "team-a", "network": {"allowFrom": ["agents", "gateway"]}, "groups": [{"name": "tools", "description": "d"}]},
    {"name": "team-b", "podSecurity": {"level": "baseline", "version": "v1.32"},
     "quota": {"requestsCpu": "1", "requestsMemory": "1Gi", "limitsCpu": "2", "limitsMemory": "2Gi", "pods": 5, "mcpServers": 3},
     "network": {"egress": []}},
]}


@pytest.fixture
def tenants(preview):
    return render_config(TENANTS, preview=preview)


def test_tenant_namespace_enforces_audits_and_warns_restricted_with_a_pinned_version(tenants):
    labels = tenants.object("Namespace", "team-a")["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
        assert labels[f"pod-security.kubernetes.io/{mode}-version"] == "v1.33"
    assert labels["app.kubernetes.io/part-of"] == "toolhive-platform"
    assert labels["app.kubernetes.io/managed-by"] == "pulumi"
    assert labels["toolhive.platform/tenant"] == "true"


def test_pod_security_level_and_version_come_from_config(tenants):
    labels = tenants.object("Namespace", "team-b")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "baseline"
    assert labels["pod-security.kubernetes.io/enforce-version"] == "v1.32"


def test_tenant_namespaces_are_protected_and_retained(tenants):
    namespace = tenants.resource("Namespace", "team-a")
    assert namespace.protect is True
    assert namespace.retain_on_delete is True


def test_namespace_protection_can_be_relaxed_for_dev_but_never_deletes(preview):
    namespace = render_config({**TENANTS, "namespaceProtect": False}, preview=preview).resource("Namespace", "team-a")
    assert namespace.protect is False
    assert namespace.retain_on_delete is True


def test_quota_sizes_come_from_config(tenants):
    assert tenants.object("ResourceQuota", "mcp-quota", "team-b")["spec"]["hard"] == {
        "requests.cpu": "1", "requests.memory": "1Gi", "limits.cpu": "2", "limits.memory": "2Gi",
        "pods": "5", "count/mcpservers.toolhive.stacklok.dev": "3",
    }


def test_limit_range_gives_containers_defaults_and_bounds(tenants):
    (limits,) = tenants.object("LimitRange", "mcp-limits", "team-a")["spec"]["limits"]
    assert limits["type"] == "Container"
    assert limits["defaultRequest"] == {"cpu": "50m", "memory": "64Mi"}
    assert limits["default"] == {"cpu": "500m", "memory": "512Mi"}
    assert limits["max"] == {"cpu": "2", "memory": "4Gi"}


def test_default_deny_covers_every_pod_both_ways(tenants):
    spec = tenants.object("NetworkPolicy", "default-deny", "team-a")["spec"]
    assert spec == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_dns_egress_is_allowed_to_kube_dns_only(tenants):
    (rule,) = tenants.object("NetworkPolicy", "allow-dns-egress", "team-a")["spec"]["egress"]
    assert rule["to"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                           "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}]
    assert rule["ports"] == [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]


def test_ingress_is_allowed_from_the_named_client_namespaces(tenants):
    (rule,) = tenants.object("NetworkPolicy", "allow-from-clients", "team-a")["spec"]["ingress"]
    assert rule["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "agents"}}},
                            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "gateway"}}}]


def test_no_client_policy_without_clients_and_no_egress_policy_without_egress(tenants):
    names = {np["metadata"]["name"] for np in tenants.objects("NetworkPolicy") if np["metadata"]["namespace"] == "team-b"}
    assert names == {"default-deny", "allow-dns-egress", "allow-same-namespace"}


def test_configured_egress_is_port_scoped(tenants):
    (rule,) = tenants.object("NetworkPolicy", "allow-egress", "team-a")["spec"]["egress"]
    assert rule == {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}],
                    "ports": [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 6443}]}


def test_everything_in_a_namespace_waits_for_the_namespace(tenants):
    namespace_urn = tenants.resource("Namespace", "team-a").urn
    for resource in tenants.k8s_resources():
        if resource.inputs["metadata"].get("namespace") == "team-a":
            assert namespace_urn in resource.dependencies, resource.urn


def test_mcp_groups_are_custom_resources_that_wait_for_their_crd(tenants):
    group = tenants.resource("MCPGroup", "tools", "team-a")
    assert group.type == "kubernetes:toolhive.stacklok.dev/v1beta1:MCPGroup"
    assert group.inputs["spec"] == {"description": "d"}
    crd = tenants.resource("CustomResourceDefinition", "mcpgroups.toolhive.stacklok.dev")
    assert crd.urn in group.dependencies


def test_the_policy_pack_recognises_the_tenant_label_the_program_writes():
    from components.k8s.labels import TENANT_LABEL
    from policies import guardrails

    assert guardrails.TENANT_LABEL == TENANT_LABEL


def test_extra_namespace_labels_reach_the_namespace_beside_the_programs(preview):
    rendered = render_config({"namespaces": [{"name": "team-a", "labels": {"cost-center": "42"}}]}, preview=preview)
    labels = rendered.object("Namespace", "team-a")["metadata"]["labels"]
    assert labels["cost-center"] == "42" and labels["toolhive.platform/tenant"] == "true"
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
