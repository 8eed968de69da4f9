"""Tenant namespaces: Pod Security Admission, quota, limits, network fences, protection."""
from __future__ import annotations

import pytest

from tests.conftest import render_config

TENANTS = {"namespaces": [
    {"name": "team-a", "network": {"allowFrom": ["agents", "gateway"]}, "groups": [{"name": "tools", "description": "d"}]},
    {"name": "team-b", "podSecurity": {"level": "baseline", "version": "v1.32"},
     "quota": {"requestsCpu": "1", "requestsMemory": "1Gi", "limitsCpu": "2", "limitsMemory": "2Gi", "pods": 5, "mcpServers": 3,
               "persistentVolumeClaims": 2, "requestsStorage": "5Gi", "servicesLoadBalancers": 1},
     "network": {"egress": [{"cidr": "10.96.0.1/32", "ports": [443]}], "dns": {"nodeLocal": []}}},  # the API server only
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
        "pods": "5",
        "persistentvolumeclaims": "2", "requests.storage": "5Gi", "services.loadbalancers": "1", "services.nodeports": "0",
    }
    assert tenants.object("ResourceQuota", "mcp-server-count", "team-b")["spec"]["hard"] == {
        "count/mcpservers.toolhive.stacklok.dev": "3"}


def test_default_quota_bounds_volumes_and_storage_and_forbids_load_balancers_and_node_ports(tenants):
    hard = tenants.object("ResourceQuota", "mcp-quota", "team-a")["spec"]["hard"]
    assert hard["persistentvolumeclaims"] == "10"
    assert hard["requests.storage"] == "50Gi"
    assert hard["services.loadbalancers"] == "0"
    assert hard["services.nodeports"] == "0"


def test_limit_range_gives_containers_defaults_and_bounds(tenants):
    (limits,) = tenants.object("LimitRange", "mcp-limits", "team-a")["spec"]["limits"]
    assert limits["type"] == "Container"
    assert limits["defaultRequest"] == {"cpu": "50m", "memory": "64Mi"}
    assert limits["default"] == {"cpu": "500m", "memory": "512Mi"}
    assert limits["max"] == {"cpu": "2", "memory": "4Gi"}


def test_default_deny_covers_every_pod_both_ways(tenants):
    spec = tenants.object("NetworkPolicy", "default-deny", "team-a")["spec"]
    assert spec == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_dns_egress_is_allowed_to_kube_dns_and_node_local_dns_only(tenants):
    kube_dns, node_local = tenants.object("NetworkPolicy", "allow-dns-egress", "team-a")["spec"]["egress"]
    dns_ports = [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]
    assert kube_dns == {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}], "ports": dns_ports}
    assert node_local == {"to": [{"ipBlock": {"cidr": "169.254.20.10/32"}}], "ports": dns_ports}


def test_node_local_dns_addresses_come_from_config(preview):
    config = {"namespaces": [{"name": "team-a", "network": {"dns": {"nodeLocal": ["169.254.25.10/32", "10.96.0.10/32"]}}}]}
    rendered = render_config(config, preview=preview)
    _, node_local = rendered.object("NetworkPolicy", "allow-dns-egress", "team-a")["spec"]["egress"]
    assert node_local["to"] == [{"ipBlock": {"cidr": "169.254.25.10/32"}}, {"ipBlock": {"cidr": "10.96.0.10/32"}}]
    annotations = rendered.object("Namespace", "team-a")["metadata"]["annotations"]
    assert annotations["toolhive.platform/node-local-dns"] == "169.254.25.10/32,10.96.0.10/32"


def test_without_node_local_dns_only_kube_dns_is_allowed(tenants):
    (rule,) = tenants.object("NetworkPolicy", "allow-dns-egress", "team-b")["spec"]["egress"]
    assert rule["to"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "kube-system"}


def test_ingress_is_allowed_from_the_named_client_namespaces(tenants):
    (rule,) = tenants.object("NetworkPolicy", "allow-from-clients", "team-a")["spec"]["ingress"]
    assert rule["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "agents"}}},
                            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "gateway"}}}]


def test_no_client_policy_without_clients_and_no_egress_policy_without_egress(preview):
    # Without any egress the operator's proxies cannot reach the API server: the dry run says so.
    rendered = render_config({"namespaces": [{"name": "team-b", "network": {"egress": []}}]}, preview=preview,
                             allow_problems=True)
    names = {np["metadata"]["name"] for np in rendered.objects("NetworkPolicy") if np["metadata"]["namespace"] == "team-b"}
    assert names == {"default-deny", "allow-dns-egress", "allow-same-namespace"}
    assert [p.message for p in rendered.problems] == [
        "reachability: proxy to the Kubernetes API server is blocked in namespace 'team-b' (proxy of MCP server "
        "any-mcp-server): no egress to any address on TCP 443/6443"]


def test_default_egress_is_port_scoped_over_ipv4_and_ipv6(tenants):
    rules = tenants.object("NetworkPolicy", "allow-egress", "team-a")["spec"]["egress"]
    ports = [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 6443}]
    assert rules == [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": ports},
                     {"to": [{"ipBlock": {"cidr": "::/0"}}], "ports": ports}]


def test_egress_rules_carry_except_blocks_protocol_and_ipv6(preview):
    egress = [{"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"], "ports": [443]},
              {"cidr": "2001:db8::/32", "protocol": "UDP", "ports": [4433]},
              {"cidr": "10.0.0.0/8"}]
    rendered = render_config({"namespaces": [{"name": "team-a", "network": {"egress": egress}}]}, preview=preview)
    assert rendered.object("NetworkPolicy", "allow-egress", "team-a")["spec"]["egress"] == [
        {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}}], "ports": [{"protocol": "TCP", "port": 443}]},
        {"to": [{"ipBlock": {"cidr": "2001:db8::/32"}}], "ports": [{"protocol": "UDP", "port": 4433}]},
        {"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]},
    ]


@pytest.mark.parametrize("cidr, hole", [("10.0.0.0/16", "10.1.0.0/24"), ("10.0.0.0/16", "10.0.0.0/16"),
                                        ("0.0.0.0/0", "fd00::/8"), ("::/0", "10.0.0.0/8")])
def test_an_egress_except_must_lie_strictly_inside_its_cidr(cidr, hole):
    from components.errors import ConfigError

    with pytest.raises(ConfigError, match=r"toolhive:namespaces\[0\]\.network\.egress\[0\]\.except\[0\]: .*strictly inside"):
        render_config({"namespaces": [{"name": "team-a", "network": {"egress": [{"cidr": cidr, "except": [hole]}]}}]})


REDIS = {"valkey.cache.svc.cluster.local:6380": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "cache"}}},
         "redis.sessions.svc:6379": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "sessions"}}},
         "10.3.4.5:6379": {"ipBlock": {"cidr": "10.3.4.5/32"}}}


#: Only the operator's proxies (MCPServer and remote proxies, vMCPs) use the session store; only the team's
#: own workloads (no `toolhive` label) call other tenants. MCP server pods are never selected.
PROXIES = {"matchExpressions": [{"key": "app.kubernetes.io/name", "operator": "In",
                                 "values": ["mcpremoteproxy", "mcpserver", "virtualmcpserver"]}]}
WORKLOADS = {"matchExpressions": [{"key": "toolhive", "operator": "DoesNotExist"}]}


@pytest.mark.parametrize("addr", sorted(REDIS))
def test_every_tenant_may_reach_the_default_redis_on_its_port(addr, preview):
    config = {**TENANTS, "operator": {"defaultRedis": {"addr": addr, "existingSecret": "redis-auth"}}}
    rendered = render_config(config, preview=preview)
    for namespace in ("team-a", "team-b"):
        spec = rendered.object("NetworkPolicy", "allow-session-store-egress", namespace)["spec"]
        assert spec == {"podSelector": PROXIES, "policyTypes": ["Egress"], "egress": [
            {"to": [REDIS[addr]], "ports": [{"protocol": "TCP", "port": int(addr.rpartition(":")[2])}]}]}


def test_a_redis_in_the_tenant_namespace_is_reached_by_the_proxies(preview):
    # A bare Service name resolves in the tenant's own namespace: the team's workloads there.
    config = {**TENANTS, "operator": {"defaultRedis": {"addr": "redis:6379"}}}
    spec = render_config(config, preview=preview).object("NetworkPolicy", "allow-session-store-egress", "team-a")["spec"]
    assert spec == {"podSelector": PROXIES, "policyTypes": ["Egress"], "egress": [
        {"to": [{"podSelector": WORKLOADS}], "ports": [{"protocol": "TCP", "port": 6379}]}]}


@pytest.mark.parametrize("redis", [None, {"addr": "redis.example.com:6379"}])
def test_no_session_store_policy_without_redis_in_another_namespace(redis, preview):
    # No Redis; an external host (no peer can be derived from a name: declare its egress, the reachability
    # check insists).
    config = {**TENANTS, **({"operator": {"defaultRedis": redis}} if redis else {})}
    rendered = render_config(config, preview=preview, allow_problems=True)
    names = {np["metadata"]["name"] for np in rendered.objects("NetworkPolicy")}
    assert "allow-session-store-egress" not in names
    external = redis is not None and "." in redis["addr"].partition(":")[0]
    assert [p.message.split(" (")[0] for p in rendered.problems] == (
        [f"reachability: proxy to its session store {redis['addr']} is blocked in namespace '{ns}'" for ns in ("team-a", "team-b")]
        if external else [])


def test_a_tenant_may_reach_the_tenants_that_name_it_a_client(preview):
    config = {"namespaces": [{"name": "team-a", "network": {"allowFrom": ["team-b", "agents"]}},
                             {"name": "team-b"}, {"name": "team-c", "network": {"allowFrom": ["team-b"]}}]}
    rendered = render_config(config, preview=preview)
    spec = rendered.object("NetworkPolicy", "allow-egress-to-tenants", "team-b")["spec"]
    assert spec == {"podSelector": WORKLOADS, "policyTypes": ["Egress"], "egress": [{"to": [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "team-a"}}},
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "team-c"}}}]}]}
    names = {np["metadata"]["name"] for np in rendered.objects("NetworkPolicy") if np["metadata"]["namespace"] == "team-a"}
    assert "allow-egress-to-tenants" not in names


def test_the_namespace_records_its_clients_for_people_and_the_reachability_check(tenants):
    assert tenants.object("Namespace", "team-a")["metadata"]["annotations"] == {
        "toolhive.platform/allow-from": "agents,gateway", "toolhive.platform/node-local-dns": "169.254.20.10/32"}
    assert "annotations" not in tenants.object("Namespace", "team-b")["metadata"]


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


@pytest.mark.parametrize("addr, peer", [
    ("valkey.toolhive-system.svc.cluster.local:6379", {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "toolhive-system"}}}),
    ("valkey.cache.svc.example.internal:6379", {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "cache"}}}),
    ("[fd00::5]:6379", {"ipBlock": {"cidr": "fd00::5/128"}}),
    ("10.3.4.5:6379", {"ipBlock": {"cidr": "10.3.4.5/32"}}),
    ("valkey.cache:6379", {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "cache"}}}),
    ("valkey:6379", None),  # the client's own namespace
    ("redis.example.com:6379", None),  # outside the cluster: only an ipBlock the user declares can reach it
    ("example.com.:6379", None),  # absolute: no search path
])
def test_a_service_address_becomes_the_peer_that_reaches_it(addr, peer):
    from components.k8s import netpol

    address = netpol.parse_address(addr)
    assert address.port == 6379
    assert netpol.address_peer(address) == peer


def test_the_quota_is_ready_only_once_the_quota_controller_counted_it(tenants):
    """The API server refuses every object a quota counts while the quota's usage of any hard resource is
    unknown ("status unknown for quota", seen in the real run): `up` waits for the quota's first count, and
    everything in the namespace waits for the quota. It counts only built-in resources, which the quota
    controller counts from its first pass."""
    quota = tenants.object("ResourceQuota", "mcp-quota", "team-a")
    assert quota["metadata"]["annotations"]["pulumi.com/waitFor"] == "jsonpath={.status.used}"
    assert not [key for key in quota["spec"]["hard"] if key.startswith("count/")]


def test_the_mcp_server_count_is_a_quota_made_after_the_servers_and_waiting_until_it_counted_them(preview):
    """The quota controller counts MCPServers only after its discovery (every 30 s) has seen their CRD, which
    the same `up` creates; a quota naming the count before then makes the API server refuse every MCPServer
    of the namespace (the real run's first `up`, 4 runs in 5). So the count has a quota of its own, made
    after the namespace's MCPServers, that `up` waits on until its MCPServer usage is known (quoted in
    brackets: RFC 9535 refuses the '/' of a dotted name)."""
    from tests.servers.conftest import NS, config_with, server

    rendered = render_config(config_with(servers=[server("fetch"), server("time")]), preview=preview)
    count = rendered.resource("ResourceQuota", "mcp-server-count", NS)
    assert count.inputs["spec"]["hard"] == {"count/mcpservers.toolhive.stacklok.dev": "20"}
    assert count.inputs["metadata"]["annotations"]["pulumi.com/waitFor"] == \
        "jsonpath={.status.used['count/mcpservers.toolhive.stacklok.dev']}"
    servers = {rendered.resource("MCPServer", name, NS).urn for name in ("fetch", "time")}
    assert servers <= rendered.waits_for(count)
    assert not servers & {r.urn for r in rendered.resources if count.urn in rendered.waits_for(r)}
    assert (count.protect, count.retain_on_delete) == (True, True), "a fence, kept with the namespace"
