"""Isolation: each server's NetworkPolicies (exact selectors and ports), the tenant-wide allowances never
opening an MCP server pod, and the reachability check proving each backend answers only its own proxy."""
from __future__ import annotations

import copy
from types import SimpleNamespace

import pytest

from components.servers import isolation
from tests.conftest import render_stack
from tests.servers.conftest import NS, render_servers, server
from tools.validate import reachability
from tools.validate.reachability import selector_matches

PROXY = {"app.kubernetes.io/instance": "web", "app.kubernetes.io/name": "mcpserver"}
WORKLOADS = {"podSelector": {"matchExpressions": [{"key": "toolhive", "operator": "DoesNotExist"}]}}
API = {"to": [{"ipBlock": {"cidr": "10.96.0.1/32"}}], "ports": [{"protocol": "TCP", "port": 443}]}
IN_CLUSTER_REDIS = {"provider": "redis", "address": "redis.cache.svc.cluster.local:6380",
                    "passwordRef": {"name": "redis-auth", "key": "password"}}


def ns_peer(name: str) -> dict:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}


def tcp(*numbers: int) -> list[dict]:
    return [{"protocol": "TCP", "port": n} for n in numbers]


@pytest.fixture
def rendered(preview):
    # No tenant-wide egress: what the proxies reach comes from their own policies.
    config_tenants = [{"name": NS, "groups": [{"name": "tools"}], "network": {"allowFrom": ["agents"], "egress": []}},
                      {"name": "mcp-data"}]
    from tests.conftest import render_config
    return render_config({
        "namespaces": config_tenants,
        "cluster": {"context": "test-cluster", "apiServer": [{"cidr": "10.96.0.1/32", "port": 443}]},
        "servers": {
            "mcpServers": [
                server("web", transport="streamable-http", mcpPort=9000, proxyPort=8081, group="tools",
                       sessionStorage=IN_CLUSTER_REDIS,
                       network={"allowFrom": ["gateway"], "egress": [
                           {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"], "ports": [443]}]}),
                server("fetch", group="tools"),
            ],
            "remoteProxies": [{"name": "docs", "namespace": NS, "spec": {"remoteUrl": "https://mcp.example.com:8443/mcp",
                                                                         "group": "tools"}}],
            "virtualServers": [{"name": "all", "namespace": NS, "spec": {"group": "tools", "incomingAuth": {"type": "anonymous"}}}],
            "existing": {"secrets": [{"namespace": NS, "name": "redis-auth"}]},
        },
    }, preview=preview, stack="dev")


def policy_spec(rendered, name: str, namespace: str = NS) -> dict:
    return rendered.object("NetworkPolicy", name, namespace)["spec"]


VMCP_PEER = {"podSelector": {"matchLabels": {"app.kubernetes.io/instance": "all", "app.kubernetes.io/name": "virtualmcpserver"}}}


def test_the_backend_accepts_only_its_own_proxy_on_mcp_port_and_egresses_only_to_its_allowlist(rendered):
    assert policy_spec(rendered, "web-backend") == {
        "podSelector": {"matchLabels": {"app": "web"}},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [{"from": [{"podSelector": {"matchLabels": PROXY}}], "ports": tcp(9000)}],
        "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}}], "ports": tcp(443)}],
    }


def test_a_stdio_backend_accepts_nothing_and_reaches_nothing(rendered):
    # The proxy attaches to the process through the API server; no one connects to the pod.
    assert policy_spec(rendered, "fetch-backend") == {"podSelector": {"matchLabels": {"app": "fetch"}},
                                                      "policyTypes": ["Ingress", "Egress"]}


def test_the_proxy_accepts_clients_workloads_and_the_group_vmcp_on_proxy_port(rendered):
    spec = policy_spec(rendered, "web-proxy")
    assert spec["podSelector"] == {"matchLabels": PROXY} and spec["policyTypes"] == ["Ingress", "Egress"]
    assert spec["ingress"] == [{"from": [ns_peer("agents"), ns_peer("gateway"), WORKLOADS, VMCP_PEER], "ports": tcp(8081)}]
    # its backend on mcpPort, the API server, its own session store
    assert spec["egress"] == [
        {"to": [{"podSelector": {"matchLabels": {"app": "web"}}}], "ports": tcp(9000)},
        API,
        {"to": [ns_peer("cache")], "ports": tcp(6380)},
    ]
    assert policy_spec(rendered, "fetch-proxy")["egress"] == [API], "a stdio proxy has no backend to call"


def test_a_remote_proxy_reaches_its_host_port_on_public_addresses_only(rendered):
    spec = policy_spec(rendered, "docs-proxy")
    assert spec["podSelector"] == {"matchLabels": {"app.kubernetes.io/instance": "docs",
                                                   "app.kubernetes.io/name": "mcpremoteproxy"}}
    assert spec["ingress"] == [{"from": [ns_peer("agents"), WORKLOADS, VMCP_PEER], "ports": tcp(8080)}]
    assert spec["egress"] == [
        {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16",
                                                             "172.16.0.0/12", "192.168.0.0/16"]}},
                {"ipBlock": {"cidr": "::/0", "except": ["::1/128", "fc00::/7", "fe80::/10"]}}], "ports": tcp(8443)},
        API,
    ]


def test_the_vmcp_accepts_clients_on_4483_and_reaches_its_group_proxies_and_the_api_server(rendered):
    spec = policy_spec(rendered, "all-vmcp")
    assert spec["podSelector"] == {"matchLabels": {"app.kubernetes.io/instance": "all",
                                                   "app.kubernetes.io/name": "virtualmcpserver"}}
    assert spec["ingress"] == [{"from": [ns_peer("agents"), WORKLOADS], "ports": tcp(4483)}]
    proxies = {(rule["to"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/instance"], rule["ports"][0]["port"])
               for rule in spec["egress"][:-1]}
    assert proxies == {("web", 8081), ("fetch", 8080), ("docs", 8080)}
    assert spec["egress"][-1] == API


def test_each_server_waits_for_its_network_policies_which_wait_for_the_tenant(rendered):
    tenant = rendered.resource("ResourceQuota", "mcp-quota", NS).urn
    for kind, name, policies in [("MCPServer", "web", ["web-backend", "web-proxy"]),
                                 ("MCPRemoteProxy", "docs", ["docs-proxy"]), ("VirtualMCPServer", "all", ["all-vmcp"])]:
        dependencies = rendered.resource(kind, name, NS).dependencies
        for policy in policies:
            assert rendered.resource("NetworkPolicy", policy, NS).urn in dependencies, (kind, policy)
            assert tenant in rendered.resource("NetworkPolicy", policy, NS).dependencies, policy


PUBLIC = [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
                                                       "192.168.0.0/16"]}},
          {"ipBlock": {"cidr": "::/0", "except": ["::1/128", "fc00::/7", "fe80::/10"]}}]


@pytest.mark.parametrize("url, to, port", [
    ("http://mcp.example.com/mcp", PUBLIC, 80),
    ("https://mcp.example.com/mcp", PUBLIC, 443),
    ("https://203.0.113.7/mcp", [{"ipBlock": {"cidr": "203.0.113.7/32"}}], 443),
    ("http://[2001:db8::1]:8443/x", [{"ipBlock": {"cidr": "2001:db8::1/128"}}], 8443),
])
def test_a_remote_hosts_addresses_and_port_come_from_its_url(url, to, port):
    """The scheme's port unless the URL names one; the host's own address when it is an IP, else any public one."""
    assert isolation.remote_host_rules(url) == [{"to": to, "ports": tcp(port)}]


@pytest.mark.parametrize("storage, rules", [
    (None, []),
    (SimpleNamespace(provider="memory", address="valkey:6379"), []),
    (SimpleNamespace(provider="redis", address=None), []),  # no address of its own: nothing to open here
    (SimpleNamespace(provider="redis", address="valkey:6379"), [{"to": [WORKLOADS], "ports": tcp(6379)}]),
    (SimpleNamespace(provider="redis", address="valkey.cache:6380"), [{"to": [ns_peer("cache")], "ports": tcp(6380)}]),
    (SimpleNamespace(provider="redis", address="10.1.2.3:6379"), [{"to": [{"ipBlock": {"cidr": "10.1.2.3/32"}}],
                                                                   "ports": tcp(6379)}]),
    (SimpleNamespace(provider="redis", address="redis.example.com:6379"), []),  # no peer: network.egress opens it
])
def test_a_proxy_reaches_its_own_redis_where_a_peer_can_name_it(storage, rules):
    assert isolation.session_store_rules(storage) == rules


def test_an_egress_allowlist_entry_without_ports_opens_every_port_and_keeps_its_protocol_otherwise():
    rules = [SimpleNamespace(cidr="10.0.0.0/8", except_cidrs=["10.1.0.0/16"], ports=[], protocol="TCP"),
             SimpleNamespace(cidr="0.0.0.0/0", except_cidrs=[], ports=[53], protocol="UDP")]
    assert isolation.egress_allowlist(rules) == [
        {"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}]},
        {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"protocol": "UDP", "port": 53}]}]


def test_tenant_wide_allowances_never_select_an_mcp_server_pod(rendered):
    backend = {"app": "web", "toolhive": "true", "toolhive-name": "web"}
    selecting = [p["metadata"]["name"] for p in rendered.objects("NetworkPolicy") if p["metadata"]["namespace"] == NS
                 and selector_matches(p["spec"]["podSelector"], backend)]
    assert sorted(selecting) == ["allow-dns-egress", "default-deny", "web-backend"]


def test_the_api_server_endpoints_are_recorded_on_tenant_namespaces_for_the_check(rendered):
    annotations = rendered.object("Namespace", NS)["metadata"]["annotations"]
    assert annotations["toolhive.platform/api-server"] == "10.96.0.1/32:443"
    objects = rendered.objects()
    assert reachability.check(objects) == []
    assert reachability.cluster_facts(objects).api_server == (("10.96.0.1", 443),)
    # The proxies reach exactly that endpoint: moved elsewhere, the check reports every proxy.
    moved = copy.deepcopy(objects)
    for obj in moved:
        if obj["kind"] == "Namespace" and "annotations" in obj["metadata"]:
            obj["metadata"]["annotations"]["toolhive.platform/api-server"] = "172.20.0.1/32:443"
    blocked = [p for p in reachability.check(moved) if "Kubernetes API server" in p]
    assert {p.split(" (")[1].split(" ->")[0] for p in blocked if f"'{NS}'" in p} == {
        "proxy of MCP server web", "proxy of MCP server fetch", "proxy of remote proxy docs", "virtual MCP server all"}


# --- the reachability check: required flows, and each backend only from its own proxy --------------------

def objects_of(rendered) -> list[dict]:
    return copy.deepcopy(rendered.objects())


def edit_policy(objects: list[dict], name: str, change) -> list[dict]:
    for obj in objects:
        if obj["kind"] == "NetworkPolicy" and obj["metadata"]["name"] == name and obj["metadata"]["namespace"] == NS:
            change(obj["spec"])
            return objects
    raise AssertionError(f"no NetworkPolicy {name}")


def test_every_required_flow_is_allowed_and_no_backend_is_reachable_but_from_its_proxy(rendered):
    assert reachability.check(rendered.objects()) == []


def test_the_proxy_to_backend_flow_is_required(rendered):
    objects = edit_policy(objects_of(rendered), "web-backend", lambda spec: spec.update(ingress=[]))
    assert reachability.check(objects) == [
        f"reachability: proxy to its MCP server is blocked in namespace '{NS}' (proxy of MCP server web -> MCP server "
        "web on TCP 9000): ingress denied at the destination by default-deny, web-backend"]


def test_the_vmcp_to_its_group_proxies_flow_is_required(rendered):
    objects = edit_policy(objects_of(rendered), "all-vmcp", lambda spec: spec.update(egress=spec["egress"][-1:]))
    problems = reachability.check(objects)
    assert {p.split(" (")[1].split(" ->")[0] for p in problems} == {"virtual MCP server all"}
    assert len(problems) == 3 and all("virtual MCP server all to its group's proxies is blocked" in p for p in problems)


def test_the_remote_proxy_to_its_host_flow_is_required(rendered):
    objects = edit_policy(objects_of(rendered), "docs-proxy",
                          lambda spec: spec["egress"][0].update(ports=tcp(443)))
    assert reachability.check(objects) == [
        f"reachability: remote proxy to its remote server is blocked in namespace '{NS}' (proxy of remote proxy docs "
        "-> remote server on TCP 8443): egress denied at the source by allow-dns-egress, default-deny, docs-proxy"]


@pytest.mark.parametrize("widened, seen_from", [
    ({"podSelector": {"matchLabels": {"app.kubernetes.io/name": "mcpserver"}}}, f"proxy of another MCPServer in {NS}"),
    ({"podSelector": {"matchLabels": {"toolhive": "true"}}}, f"another VirtualMCPServer in {NS}"),
    ({"podSelector": {}}, f"a workload in {NS}"),
    ({"namespaceSelector": {}, "podSelector": {"matchLabels": PROXY}}, "a pod in another namespace labelled like its proxy"),
    ({"namespaceSelector": {}}, "a pod in another namespace"),
    ({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "agents"}}}, "a client pod in agents"),
])
def test_a_widened_backend_selector_is_reported(rendered, widened, seen_from):
    objects = edit_policy(objects_of(rendered), "web-backend", lambda spec: spec["ingress"][0].update({"from": [widened]}))
    problems = reachability.check(objects)
    assert any(p.startswith(f"reachability: MCP server {NS}/web is reachable from {seen_from} on TCP 9000, not only "
                            "from its own proxy: allowed by web-backend") for p in problems), problems


def test_the_old_same_namespace_allowance_would_open_every_backend(rendered):
    objects = edit_policy(objects_of(rendered), "allow-same-namespace", lambda spec: spec.update(
        podSelector={}, ingress=[{"from": [{"podSelector": {}}]}]))
    problems = reachability.check(objects)
    for name in ("web", "fetch"):
        assert any(p.startswith(f"reachability: MCP server {NS}/{name} is reachable from a workload in {NS}")
                   and "allowed by allow-same-namespace" in p for p in problems), problems


def test_a_backend_no_policy_isolates_is_reported(rendered):
    objects = [o for o in objects_of(rendered) if o["kind"] != "NetworkPolicy" or o["metadata"]["name"] != "default-deny"
               or o["metadata"]["namespace"] != NS]
    objects = [o for o in objects if o["kind"] != "NetworkPolicy" or o["metadata"]["name"] != "fetch-backend"]  # (only in NS)
    problems = reachability.check(objects)
    assert any(p == f"reachability: MCP server {NS}/fetch is reachable from a pod in another namespace on TCP 8080, "
               "not only from its own proxy: no NetworkPolicy isolates its ingress" for p in problems), problems


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_shipped_backend_is_reachable_only_from_its_own_proxy(stack, preview):
    objects = render_stack(stack, preview=preview).objects()
    assert reachability.check(objects) == []
    backends = [o for o in objects if o["kind"] == "NetworkPolicy" and o["metadata"]["name"].endswith("-backend")]
    assert {b["metadata"]["name"] for b in backends} >= {"fetch-backend", "github-backend", "yardstick-backend"}


def test_per_server_clients_must_not_be_a_tenant_of_the_stack():
    from tests.servers.conftest import config_error
    problems, registered = config_error(servers=[server("web", network={"allowFrom": ["mcp-data"]})])
    assert problems == ["toolhive:servers.mcpServers[0].spec.network.allowFrom[0]: 'mcp-data' is a tenant namespace "
                        "of this stack: list it in toolhive:namespaces[].network.allowFrom of mcp-dev (which also "
                        "opens its egress)"] and registered == []
