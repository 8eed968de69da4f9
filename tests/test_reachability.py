"""NetworkPolicy reachability: the platform's required flows pass in every shipped stack, a removed rule is
reported by flow and namespace, and the evaluator follows Kubernetes NetworkPolicy semantics."""
from __future__ import annotations

import pytest

from tests.conftest import STACKS, render_config, render_stack, shipped_servers
from tools.validate import reachability
from tools.validate.reachability import Address, ClusterFacts, Flow, Network, Pod

REDIS = {"addr": "valkey.toolhive-system.svc.cluster.local:6379", "existingSecret": "valkey-auth"}


#: How a reachability problem names the pod of a server, by kind.
FLOW_NAMES = {"MCPServer": "proxy of MCP server", "MCPRemoteProxy": "proxy of remote proxy",
              "VirtualMCPServer": "virtual MCP server"}


def flow_names(stack: str, keep=lambda entry: True) -> set[str]:
    """The pods of the servers a shipped stack declares (read from its files), as problems name them."""
    return {f"{FLOW_NAMES[e['kind']]} {e['name']}" for e in shipped_servers(stack) if keep(e)}


def uses_the_store(entry: dict) -> bool:
    """Its own proxy-egress policy opens the stack's session store (sessionStorage at valkey)."""
    return (entry["spec"].get("sessionStorage") or {}).get("address", "").startswith("valkey.")


def objects_of(rendered) -> list[dict]:
    return [r.inputs for r in rendered.k8s_resources()]


def without_policy(objects: list[dict], name: str) -> list[dict]:
    kept = [o for o in objects if not (o["kind"] == "NetworkPolicy" and o["metadata"]["name"] == name)]
    assert len(kept) < len(objects), f"no NetworkPolicy {name} to remove"
    return kept


def with_policy_egress(objects: list[dict], name: str, keep) -> list[dict]:
    """A copy of `objects` where policy `name` keeps only the egress rules `keep` accepts."""
    changed = []
    for obj in objects:
        if obj["kind"] == "NetworkPolicy" and obj["metadata"]["name"] == name:
            obj = {**obj, "spec": {**obj["spec"], "egress": [rule for rule in obj["spec"]["egress"] if keep(rule)]}}
        changed.append(obj)
    return changed


# --- shipped stacks -----------------------------------------------------------------------------------

@pytest.mark.parametrize("stack", STACKS)
def test_every_required_flow_is_allowed_in_every_shipped_stack(stack, preview):
    assert reachability.check(objects_of(render_stack(stack, preview=preview))) == []


def test_the_dev_stack_keeps_proxies_able_to_reach_its_own_session_store(preview):
    objects = objects_of(render_stack("dev", preview=preview))
    problems = reachability.check(without_policy(objects, "allow-session-store-egress"))
    # A server whose sessionStorage points at the store has its own egress policy naming it.
    assert {p.split(" (")[1].split(" ->")[0] for p in problems} == flow_names("dev", lambda e: not uses_the_store(e))
    assert all("session store valkey.toolhive-system.svc.cluster.local:6379 is blocked in namespace 'mcp-dev'" in p
               for p in problems)
    closed = [o if not (o["kind"] == "NetworkPolicy" and o["metadata"]["name"] == "valkey") else
              {**o, "spec": {**o["spec"], "ingress": []}} for o in objects]  # the store's own ingress policy
    problems = reachability.check(closed)
    assert len(problems) == len(shipped_servers("dev")) and all(
        "session store valkey.toolhive-system.svc.cluster.local:6379 is blocked in namespace 'mcp-dev'" in p
        and "-> session store valkey.toolhive-system on TCP 6379): ingress denied at the destination by valkey" in p
        for p in problems), problems


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_staging_and_prod_proxies_reach_the_in_cluster_session_store(stack, preview):
    """Sessions live in the stack's Valkey (v0.44.0 session storage has no TLS, so not ElastiCache): every
    tenant's proxies reach it, and only through its own NetworkPolicy."""
    objects = objects_of(render_stack(stack, preview=preview))
    assert reachability.check(objects) == []
    closed = [{**o, "spec": {**o["spec"], "ingress": []}} if o["kind"] == "NetworkPolicy"
              and o["metadata"]["name"] == "valkey" else o for o in objects]
    problems = reachability.check(closed)
    for namespace in ("mcp-platform", "mcp-data"):
        assert any("session store valkey.toolhive-system" in p and f"is blocked in namespace '{namespace}'" in p
                   for p in problems), problems


@pytest.mark.parametrize("stack", STACKS)
def test_a_missing_dns_rule_is_reported_for_kube_dns_and_node_local_dns(stack, preview):
    objects = objects_of(render_stack(stack, preview=preview))
    no_kube_dns = with_policy_egress(objects, "allow-dns-egress", lambda rule: "ipBlock" in rule["to"][0])
    problems = reachability.check(no_kube_dns)
    assert any("DNS to kube-dns (UDP) is blocked" in p for p in problems)
    assert any("DNS to kube-dns (TCP) is blocked" in p for p in problems)
    assert not any("NodeLocal" in p for p in problems)
    no_node_local = with_policy_egress(objects, "allow-dns-egress", lambda rule: "ipBlock" not in rule["to"][0])
    problems = reachability.check(no_node_local)
    assert problems and all("DNS to NodeLocal DNSCache 169.254.20.10" in p for p in problems)


def test_staging_tenant_clients_in_another_tenant_need_its_egress(preview):
    # mcp-data accepts clients from mcp-platform, whose own egress is fenced: without the derived rule the
    # calls never leave mcp-platform.
    objects = without_policy(objects_of(render_stack("staging", preview=preview)), "allow-egress-to-tenants")
    assert reachability.check(objects) == [
        "reachability: clients in 'mcp-platform' to the team's workloads is blocked in namespace 'mcp-data' (a "
        "client pod in mcp-platform -> a workload in mcp-data on TCP 8080): egress denied at the source by "
        "allow-dns-egress, allow-egress, allow-egress-to-toolhive-registry, allow-same-namespace, default-deny"]


def test_clients_are_reported_when_the_tenant_does_not_let_them_in(preview):
    objects = objects_of(render_stack("prod", preview=preview))
    problems = reachability.check(without_policy(objects, "allow-from-clients"))
    assert any("clients in 'agents' to the team's workloads is blocked in namespace 'mcp-platform'" in p
               and "ingress denied at the destination" in p for p in problems)
    assert any("clients in 'mcp-platform' to the team's workloads is blocked in namespace 'mcp-data'" in p for p in problems)
    # MCP proxies are opened per server, on their proxy port.
    for entry in [e for e in shipped_servers("prod") if e["kind"] == "MCPServer" and e["namespace"] == "mcp-platform"][:1]:
        problems = reachability.check(without_policy(objects, f"{entry['name']}-proxy"))
        port = entry["spec"].get("proxyPort", 8080)
        assert any(f"clients in 'agents' to MCP proxies is blocked in namespace 'mcp-platform' (a client pod in agents -> "
                   f"proxy of MCP server {entry['name']} on TCP {port})" in p for p in problems), problems


def test_proxies_without_egress_to_the_api_server_are_reported(preview):
    rendered = render_config({"namespaces": [{"name": "mcp-dev"}]}, preview=preview)
    objects = without_policy(objects_of(rendered), "allow-proxy-egress")
    assert reachability.check(objects) == [
        "reachability: proxy to the Kubernetes API server is blocked in namespace 'mcp-dev' (proxy of MCP server "
        "any-mcp-server): no egress to any address on TCP 443/6443"]
    shipped = without_policy(objects_of(render_stack("dev", preview=preview)), "allow-proxy-egress")
    # (The remote proxy deepwiki still reaches public addresses on 443: with the API server's address unknown
    # that is as good as any; toolhive:cluster.apiServer makes the check exact.)
    assert {p.split(" (")[1].split(")")[0] for p in reachability.check(shipped) if "Kubernetes API server" in p} == \
        flow_names("dev", lambda e: e["kind"] != "MCPRemoteProxy")


def test_only_the_teams_workloads_of_a_client_tenant_reach_the_registry(preview):
    objects = objects_of(render_stack("dev", preview=preview))
    assert reachability.check(objects) == []
    [egress] = [o for o in objects if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] == "allow-egress-to-toolhive-registry"]
    assert egress["spec"]["podSelector"] == {"matchExpressions": [{"key": "toolhive", "operator": "DoesNotExist"}]}
    widened = [{**o, "spec": {**o["spec"], "podSelector": {}}} if o is egress else o for o in objects]
    assert reachability.check(widened) == [
        "reachability: an MCP server pod in mcp-dev reaches registry server toolhive-system/toolhive-registry on TCP 8080; "
        "only the team's workloads may"]


def test_a_known_api_server_address_is_checked_exactly(preview):
    objects = objects_of(render_stack("prod", preview=preview))  # tenant egress: 10.20.0.0/16 on 443 and 6443
    assert reachability.check(objects, ClusterFacts(api_server=(("10.20.0.10", 443),))) == []
    problems = reachability.check(objects, ClusterFacts(api_server=(("172.16.0.1", 443),)))
    assert {p.split(" (")[0] for p in problems} == {
        "reachability: proxy to the Kubernetes API server is blocked in namespace 'mcp-platform'",
        "reachability: proxy to the Kubernetes API server is blocked in namespace 'mcp-data'"}


def test_an_external_redis_needs_declared_egress_on_its_port(preview):
    redis = {"addr": "sessions.example.com:6379", "existingSecret": "redis-auth"}
    blocked = render_config({"operator": {"defaultRedis": redis}, "namespaces": [{"name": "team-a"}]}, preview=preview,
                            allow_problems=True)
    assert reachability.check(objects_of(blocked)) == [
        "reachability: proxy to its session store sessions.example.com:6379 is blocked in namespace 'team-a' "
        "(proxy of MCP server any-mcp-server): no egress to any address on TCP 6379"]
    allowed = render_config({"operator": {"defaultRedis": redis}, "namespaces": [{"name": "team-a", "network": {
        "egress": [{"cidr": "0.0.0.0/0", "ports": [443, 6443]}, {"cidr": "10.8.0.0/16", "ports": [6379]}]}}]},
        preview=preview)
    assert reachability.check(objects_of(allowed)) == []


def test_only_namespaces_the_operator_watches_need_the_session_store(preview):
    config = {"operator": {"defaultRedis": REDIS, "rbac": {"scope": "namespace", "allowedNamespaces": ["team-a"]},
                           "features": {"storageVersionMigrator": False}},
              "namespaces": [{"name": "team-a"}, {"name": "team-b"}]}
    objects = without_policy(objects_of(render_config(config, preview=preview)), "allow-session-store-egress")
    problems = reachability.check(objects)
    assert problems and all("namespace 'team-a'" in p and "session store" in p for p in problems)


def test_the_renderer_refuses_a_stack_whose_policies_block_a_required_flow(tmp_path, capsys):
    from tools import render as render_tool

    stack_file = tmp_path / "Pulumi.blocked.yaml"
    stack_file.write_text("config:\n  toolhive:cluster:\n    context: test\n  toolhive:operator:\n    defaultRedis:\n      addr: sessions.example.com:6379\n"
                          "  toolhive:namespaces:\n    - name: team-a\n")
    assert render_tool.main(["blocked", "--config-file", str(stack_file), "--out", str(tmp_path / "out")]) == 2
    assert "session store sessions.example.com:6379 is blocked in namespace 'team-a'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_flows_follow_each_mcp_server_and_its_proxy_port(preview):
    objects = objects_of(render_config({"namespaces": [{"name": "team-a", "network": {"allowFrom": ["agents"]}}],
                                        "servers": {"mcpServers": [{"name": "fetch", "namespace": "team-a", "spec": {
                                            "image": "ghcr.io/stackloklabs/gofetch/server:1.0.1", "proxyPort": 9090}}]}},
                                       preview=preview))
    assert reachability.check(objects) == []
    on_8080 = [o if o["metadata"]["name"] != "fetch-proxy" else
               {**o, "spec": {**o["spec"], "ingress": [{**o["spec"]["ingress"][0], "ports": [{"protocol": "TCP", "port": 8080}]}]}}
               for o in objects]
    problems = reachability.check(on_8080)
    assert len(problems) == 2 and all("proxy of MCP server fetch on TCP 9090" in p for p in problems), problems


def test_the_check_stays_linear_in_servers_and_policies(monkeypatch):
    """~1000 servers with their policies: selector matches grow with servers, not servers x policies."""
    from components.config.servers import McpServerSpec
    from components.servers.isolation import Surroundings, policy_specs

    objects = objects_of(render_config({"namespaces": [{"name": "team-a", "network": {"allowFrom": ["agents"]}}]}))
    spec = McpServerSpec.model_validate({"image": "ghcr.io/stackloklabs/gofetch/server:1.0.1",
                                         "transport": "streamable-http", "mcpPort": 8080})
    for index in range(1000):
        name = f"server-{index}"
        objects.append({"apiVersion": "toolhive.stacklok.dev/v1beta1", "kind": "MCPServer",
                        "metadata": {"name": name, "namespace": "team-a"},
                        "spec": {"image": "x", "transport": "streamable-http", "mcpPort": 8080}})
        objects += [policy(policy_name, "team-a", body) for policy_name, body in
                    policy_specs("MCPServer", name, spec, Surroundings(tenant_clients=("agents",)))]
    calls = 0
    original = reachability.selector_matches

    def counting(selector, labels):
        nonlocal calls
        calls += 1
        return original(selector, labels)

    monkeypatch.setattr(reachability, "selector_matches", counting)
    assert reachability.check(objects) == []
    assert calls < 150 * 1000, calls  # quadratic would be ~1000 pods x 1000 policies = 1,000,000+


# --- evaluator semantics ------------------------------------------------------------------------------

def policy(name: str, namespace: str, spec: dict) -> dict:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def namespace(name: str, **labels: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


WEB = Pod.of("app", {"role": "web"}, {"http": (8080, "TCP")}, what="web")
DB = Pod.of("data", {"role": "db"}, {"pg": (5432, "TCP")}, what="db")
DENY_ALL = {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def allowed(objects: list[dict], flow: Flow) -> bool:
    return Network(objects).blocked(flow) is None


def test_pods_no_policy_selects_are_open_both_ways():
    assert allowed([policy("other", "app", {**DENY_ALL, "podSelector": {"matchLabels": {"role": "batch"}}})],
                   Flow(WEB, DB, 5432))


def test_default_deny_isolates_both_directions_and_each_side_must_allow():
    flow = Flow(WEB, DB, 5432)
    assert not allowed([policy("deny", "app", DENY_ALL)], flow)
    assert not allowed([policy("deny", "data", DENY_ALL)], flow)
    egress_open = policy("out", "app", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{}]})
    assert allowed([policy("deny", "app", DENY_ALL), egress_open], flow)
    assert Network([policy("deny", "app", DENY_ALL), egress_open, policy("deny", "data", DENY_ALL)]).blocked(flow) == \
        "ingress denied at the destination by deny"


def test_absent_policy_types_mean_ingress_plus_egress_only_with_an_egress_section():
    ingress_only = policy("p", "app", {"podSelector": {}, "ingress": []})
    assert allowed([ingress_only], Flow(WEB, DB, 5432))
    assert not allowed([ingress_only], Flow(DB, WEB, 8080))
    with_egress = policy("p", "app", {"podSelector": {}, "egress": [{"ports": [{"port": 53, "protocol": "UDP"}]}]})
    assert not allowed([with_egress], Flow(WEB, DB, 5432))
    assert allowed([with_egress], Flow(WEB, Address("10.0.0.10"), 53, "UDP"))
    assert not allowed([with_egress], Flow(DB, WEB, 8080))  # still isolated for ingress


def test_policy_types_egress_alone_leaves_ingress_open():
    assert allowed([policy("p", "app", {"podSelector": {}, "policyTypes": ["Egress"]})], Flow(DB, WEB, 8080))


def test_ip_block_with_except_over_ipv4_and_ipv6():
    spec = {"podSelector": {}, "policyTypes": ["Egress"], "egress": [
        {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32", "10.0.0.0/8"]}}]},
        {"to": [{"ipBlock": {"cidr": "::/0", "except": ["fd00::/8"]}}]}]}
    objects = [policy("p", "app", spec)]
    assert allowed(objects, Flow(WEB, Address("93.184.216.34"), 443))
    assert not allowed(objects, Flow(WEB, Address("169.254.169.254"), 80))
    assert not allowed(objects, Flow(WEB, Address("10.1.2.3"), 443))
    assert allowed(objects, Flow(WEB, Address("2001:db8::1"), 443))
    assert not allowed(objects, Flow(WEB, Address("fd00::1"), 443))
    assert not allowed(objects, Flow(WEB, DB, 5432)), "ipBlock peers never stand in for pods"


def test_namespace_selector_matches_namespace_labels_and_the_name_label():
    spec = {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [{"namespaceSelector": {
        "matchExpressions": [{"key": "tier", "operator": "In", "values": ["front", "edge"]},
                             {"key": "quarantine", "operator": "DoesNotExist"}]}}]}]}
    objects = [policy("p", "data", spec), namespace("app", tier="front")]
    assert allowed(objects, Flow(WEB, DB, 5432))
    assert not allowed([policy("p", "data", spec), namespace("app", tier="front", quarantine="yes")], Flow(WEB, DB, 5432))
    assert not allowed([policy("p", "data", spec), namespace("app", tier="back")], Flow(WEB, DB, 5432))
    by_name = {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [{"namespaceSelector": {
        "matchLabels": {"kubernetes.io/metadata.name": "app"}}}]}]}
    assert allowed([policy("p", "data", by_name)], Flow(WEB, DB, 5432)), "the API server labels every namespace"
    assert not allowed([policy("p", "data", by_name)], Flow(Pod.of("other", {"role": "web"}, what="web elsewhere"), DB, 5432))


def test_pod_selector_alone_means_the_policy_namespace_and_with_namespace_selector_both():
    alone = {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "web"}}}]}]}
    assert not allowed([policy("p", "data", alone)], Flow(WEB, DB, 5432))
    assert allowed([policy("p", "data", alone)], Flow(Pod.of("data", {"role": "web"}, what="web in data"), DB, 5432))
    both = {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [{
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "app"}},
        "podSelector": {"matchExpressions": [{"key": "role", "operator": "NotIn", "values": ["batch"]}]}}]}]}
    assert allowed([policy("p", "data", both)], Flow(WEB, DB, 5432))
    assert not allowed([policy("p", "data", both)], Flow(Pod.of("app", {"role": "batch"}, what="batch"), DB, 5432))


def test_ports_by_number_range_protocol_and_name():
    def only(*ports: dict) -> list[dict]:
        return [policy("p", "data", {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"ports": list(ports)}]})]

    assert allowed(only({"port": 5432}), Flow(WEB, DB, 5432))
    assert not allowed(only({"port": 5000}), Flow(WEB, DB, 5432))
    assert not allowed(only({"port": 5432, "protocol": "UDP"}), Flow(WEB, DB, 5432))
    assert allowed(only({"port": 5000, "endPort": 6000}), Flow(WEB, DB, 5432))
    assert not allowed(only({"port": 5000, "endPort": 5400}), Flow(WEB, DB, 5432))
    assert allowed(only({"protocol": "TCP"}), Flow(WEB, DB, 5432)), "no port: every port of the protocol"
    assert allowed(only({"port": "pg"}), Flow(WEB, DB, 5432))
    assert not allowed(only({"port": "http"}), Flow(WEB, DB, 5432)), "a name the destination pod does not carry"


def test_named_egress_ports_resolve_against_the_destination_pod():
    spec = {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"ports": [{"port": "pg"}]}]}
    assert allowed([policy("p", "app", spec)], Flow(WEB, DB, 5432))
    assert not allowed([policy("p", "app", spec)], Flow(WEB, Address("10.0.0.1"), 5432))


def test_any_selecting_policy_may_allow_rules_are_a_union():
    objects = [policy("deny", "data", DENY_ALL),
               policy("a", "data", {"podSelector": {"matchLabels": {"role": "db"}}, "policyTypes": ["Ingress"],
                                    "ingress": [{"ports": [{"port": 1}]}]}),
               policy("b", "data", {"podSelector": {"matchLabels": {"role": "db"}}, "policyTypes": ["Ingress"],
                                    "ingress": [{"from": [{"namespaceSelector": {}}], "ports": [{"port": 5432}]}]})]
    assert allowed(objects, Flow(WEB, DB, 5432))
    assert not allowed(objects, Flow(WEB, DB, 5433))


@pytest.mark.parametrize(("expression", "matches"), [
    ({"key": "role", "operator": "Exists"}, True), ({"key": "tier", "operator": "Exists"}, False),
    ({"key": "role", "operator": "DoesNotExist"}, False), ({"key": "tier", "operator": "DoesNotExist"}, True),
    ({"key": "role", "operator": "In", "values": ["web"]}, True), ({"key": "tier", "operator": "In", "values": ["web"]}, False),
    ({"key": "role", "operator": "NotIn", "values": ["web"]}, False), ({"key": "tier", "operator": "NotIn", "values": ["web"]}, True),
])
def test_each_match_expression_operator(expression, matches):
    assert reachability.selector_matches({"matchExpressions": [expression]}, {"role": "web"}) is matches


@pytest.mark.parametrize("api_version", ["projectcalico.org/v3", None])
def test_only_networking_k8s_io_network_policies_count(api_version):
    deny = {**policy("deny", "data", DENY_ALL), "apiVersion": api_version}
    assert allowed([deny], Flow(WEB, DB, 5432))


def test_a_policy_without_a_namespace_is_in_default():
    deny = policy("deny", "default", DENY_ALL)
    del deny["metadata"]["namespace"]
    assert not allowed([deny], Flow(Pod.of("default", what="a pod in default"), DB, 5432))
