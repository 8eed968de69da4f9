"""The reachability check's flows on small hand-built object sets, every problem exactly: which flows a tenant
needs (DNS, clients, API server, session store, proxies, backends, remote hosts, a vMCP's group), how each is
named, and which pods must not reach an MCP server. A default-deny policy makes every required flow show up as a
problem; an open namespace makes every forbidden one show up. tests/test_reachability.py holds the evaluator's
semantics and the shipped stacks."""
from __future__ import annotations

import pytest

from tools.validate import reachability
from tools.validate.reachability import ClusterFacts

ALLOW_FROM, NODE_LOCAL, API_SERVER = ("toolhive.platform/allow-from", "toolhive.platform/node-local-dns",
                                      "toolhive.platform/api-server")


def namespace(name: str, tenant: bool = True, **annotations: str) -> dict:
    labels = {"toolhive.platform/tenant": "true"} if tenant else {}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels, "annotations": annotations}}


def server(kind: str, name: str, ns: str = "team", **spec) -> dict:
    return {"apiVersion": "toolhive.stacklok.dev/v1beta1", "kind": kind, "metadata": {"name": name, "namespace": ns}, "spec": spec}


def policy(name: str, ns: str, spec: dict) -> dict:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": name, "namespace": ns},
            "spec": spec}


def deny(ns: str = "team") -> dict:
    return policy("deny", ns, {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})


def operator(**env: str) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "toolhive-operator", "namespace": "toolhive-system"},
            "spec": {"template": {"spec": {"containers": [{"name": "manager", "env": [
                {"name": key, "value": value} for key, value in env.items()]}]}}}}


def blocked(flow: str, ns: str, what: str, side: str = "egress denied at the source by deny") -> str:
    return f"reachability: {flow} is blocked in namespace {ns!r} ({what}): {side}"


def dns(pod: str, ns: str = "team", node_local: str | None = None) -> list[str]:
    lines = []
    for protocol in ("UDP", "TCP"):
        lines.append(blocked(f"DNS to kube-dns ({protocol})", ns, f"{pod} -> kube-dns on {protocol} 53"))
        if node_local:
            lines.append(blocked(f"DNS to NodeLocal DNSCache {node_local} ({protocol})", ns,
                                 f"{pod} -> node-local DNS on {protocol} 53"))
    return lines


def no_api_server(pod: str, ns: str = "team") -> str:
    return f"reachability: proxy to the Kubernetes API server is blocked in namespace {ns!r} ({pod}): no egress to any address on TCP 443/6443"


INGRESS = "ingress denied at the destination by deny"


def test_a_fenced_tenant_needs_every_flow_of_its_servers_clients_dns_and_api_server():
    objects = [namespace("team", **{ALLOW_FROM: "clients,more", NODE_LOCAL: "169.254.20.10/32",
                                    API_SERVER: "10.0.0.1/32:6443,10.0.0.2/32:443"}), deny(),
               server("MCPRemoteProxy", "remote", remoteUrl="http://10.1.2.3/mcp", groupRef={"name": "g"}),
               server("VirtualMCPServer", "v", groupRef={"name": "g"}),
               server("MCPServer", "s", proxyPort=9090, groupRef={"name": "g"})]  # stdio: nothing calls its backend
    remote, vmcp, proxy = "proxy of remote proxy remote", "virtual MCP server v", "proxy of MCP server s"

    def api(pod: str) -> list[str]:
        return [blocked("proxy to the Kubernetes API server", "team", f"{pod} -> API server on TCP {port}") for port in (6443, 443)]

    def called(pod: str, port: int) -> list[str]:
        return [blocked(f"clients in {client!r} to MCP proxies", "team", f"a client pod in {client} -> {pod} on TCP {port}", INGRESS)
                for client in ("clients", "more")] + [
            blocked("the team's workloads to MCP proxies", "team", f"a workload in team -> {pod} on TCP {port}")]

    node_local = "169.254.20.10"
    assert reachability.check(objects) == [
        *dns("a workload in team", node_local=node_local), *dns(remote, node_local=node_local),
        *dns(vmcp, node_local=node_local), *dns(proxy, node_local=node_local), *dns("MCP server s", node_local=node_local),
        *[blocked(f"clients in {client!r} to the team's workloads", "team", f"a client pod in {client} -> a workload in team on TCP 8080",
                  INGRESS) for client in ("clients", "more")],
        *api(remote), *called(remote, 8080),
        blocked("remote proxy to its remote server", "team", f"{remote} -> remote server on TCP 80"),
        blocked("virtual MCP server v to its group's proxies", "team", f"{vmcp} -> {remote} on TCP 8080"),
        *api(vmcp), *called(vmcp, 4483),
        *api(proxy), *called(proxy, 9090),
        blocked("virtual MCP server v to its group's proxies", "team", f"{vmcp} -> {proxy} on TCP 9090"),
    ]


def test_an_http_server_needs_its_proxy_to_reach_it_on_mcp_port_and_no_api_server_address_means_any():
    objects = [namespace("team"), deny(), server("MCPServer", "s", transport="streamable-http", mcpPort=9000)]
    proxy = "proxy of MCP server s"
    assert reachability.check(objects) == [
        *dns("a workload in team"), *dns(proxy), *dns("MCP server s"), no_api_server(proxy),
        blocked("the team's workloads to MCP proxies", "team", f"a workload in team -> {proxy} on TCP 8080"),
        blocked("proxy to its MCP server", "team", f"{proxy} -> MCP server s on TCP 9000"),
    ]
    del objects[2]["spec"]["mcpPort"]
    assert reachability.check(objects)[-1] == blocked("proxy to its MCP server", "team", f"{proxy} -> MCP server s on TCP 8080")


@pytest.mark.parametrize(("url", "address"), [
    ("https://10.1.2.3/mcp", "TCP 443"), ("http://10.1.2.3:8443/mcp", "TCP 8443"), ("https://mcp.example.com/mcp", "TCP 443")])
def test_a_remote_proxy_needs_its_remote_host_on_the_urls_port(url, address):
    objects = [namespace("team"), deny(), server("MCPRemoteProxy", "remote", remoteUrl=url)]
    assert reachability.check(objects)[-1] == blocked("remote proxy to its remote server", "team",
                                                      f"proxy of remote proxy remote -> remote server on {address}")


def test_a_remote_host_named_by_dns_stands_for_a_public_address():
    allow_public = policy("out", "team", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [
        {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}]}]})
    objects = [namespace("team"), allow_public, server("MCPRemoteProxy", "remote", remoteUrl="https://mcp.example.com/mcp")]
    assert not [p for p in reachability.check(objects) if "remote server" in p]
    objects[2]["spec"]["remoteUrl"] = "https://10.1.2.3/mcp"
    assert [p for p in reachability.check(objects) if "remote server" in p] == [
        blocked("remote proxy to its remote server", "team", "proxy of remote proxy remote -> remote server on TCP 443",
                "egress denied at the source by out")]


def test_an_mcp_server_in_an_open_namespace_is_reachable_from_every_stranger():
    objects = [namespace("team", **{ALLOW_FROM: "clients"}), namespace("other"), server("MCPServer", "s", transport="sse"),
               server("VirtualMCPServer", "v", groupRef={"name": "g"})]

    def reached(source: str) -> str:
        return (f"reachability: MCP server team/s is reachable from {source} on TCP 8080, not only from its own proxy: "
                "no NetworkPolicy isolates its ingress")

    strangers = ["a pod in another namespace", "a workload in team", "a client pod in clients"]
    for ns in ("team", "other"):
        if ns == "other":
            strangers.append("a workload in other")
        strangers += [f"proxy of another MCPServer in {ns}", f"another MCPServer in {ns}",
                      f"proxy of another MCPRemoteProxy in {ns}", f"another VirtualMCPServer in {ns}"]
    strangers += ["virtual MCP server v", "a pod in another namespace labelled like its proxy"]
    assert reachability.check(objects) == [reached(source) for source in strangers]


def test_a_policy_that_lets_strangers_in_is_named():
    own_proxy = policy("backend", "team", {"podSelector": {"matchLabels": {"app": "s"}}, "policyTypes": ["Ingress"], "ingress": [
        {"from": [{"podSelector": {"matchLabels": {"app": "mcpserver", "toolhive-name": "s"}}}]}]})
    wide = policy("wide", "team", {"podSelector": {"matchLabels": {"app": "s"}}, "policyTypes": ["Ingress"], "ingress": [
        {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "team"}}}], "ports": [{"port": 7000}]}]})
    objects = [namespace("team"), server("MCPServer", "s", transport="sse", mcpPort=7000), own_proxy]
    assert reachability.check(objects) == []
    assert reachability.check([*objects, wide]) == [
        f"reachability: MCP server team/s is reachable from {source} on TCP 7000, not only from its own proxy: allowed by wide"
        for source in ("a workload in team", "proxy of another MCPServer in team", "another MCPServer in team",
                       "proxy of another MCPRemoteProxy in team", "another VirtualMCPServer in team")]


def test_the_operators_default_redis_is_needed_in_the_namespaces_it_watches():
    store = "redis.cache.svc.cluster.local:6379"
    objects = [namespace("team"), namespace("idle"), deny("team"), deny("idle"),
               operator(WATCH_NAMESPACE="team", TOOLHIVE_DEFAULT_REDIS_ADDR=store), server("MCPServer", "s")]
    stand_in, proxy = "proxy of MCP server any-mcp-server", "proxy of MCP server s"
    assert reachability.check(objects) == [
        *dns("a workload in idle", "idle"), *dns(stand_in, "idle"), no_api_server(stand_in, "idle"),
        *dns("a workload in team"), *dns(proxy), *dns("MCP server s"),
        blocked(f"proxy to its session store {store}", "team", f"{proxy} -> session store redis.cache.svc.cluster.local on TCP 6379"),
        no_api_server(proxy),
        blocked("the team's workloads to MCP proxies", "team", f"a workload in team -> {proxy} on TCP 8080"),
    ]
    objects[4] = operator(TOOLHIVE_RUNNER_IMAGE="runner", TOOLHIVE_DEFAULT_REDIS_ADDR="10.9.9.9:6380")  # watches every tenant
    stores = [p for p in reachability.check(objects) if "session store" in p]
    assert stores == [blocked("proxy to its session store 10.9.9.9:6380", ns, f"{pod} -> session store on TCP 6380")
                      for ns, pod in (("idle", stand_in), ("team", proxy))]


@pytest.mark.parametrize(("address", "expected"), [
    ("valkey:6379", "proxy of MCP server s -> session store valkey on TCP 6379"),  # the server's own namespace
    ("valkey.cache:6380", "proxy of MCP server s -> session store valkey.cache on TCP 6380"),
    ("10.9.9.9:6379", "proxy of MCP server s -> session store on TCP 6379"),
])
def test_a_servers_own_session_store_is_needed_where_its_address_points(address, expected):
    objects = [namespace("team"), deny(), server("MCPServer", "s", sessionStorage={"provider": "redis", "address": address})]
    [found] = [p for p in reachability.check(objects) if "session store" in p]
    assert found == blocked(f"proxy to its session store {address}", "team", expected)


def test_a_session_store_named_by_dns_needs_egress_to_some_address_on_its_port():
    objects = [namespace("team"), deny(),
               server("MCPServer", "s", sessionStorage={"provider": "redis", "address": "redis.example.com:6379"})]
    assert [p for p in reachability.check(objects) if "session store" in p] == [
        "reachability: proxy to its session store redis.example.com:6379 is blocked in namespace 'team' (proxy of MCP server s): "
        "no egress to any address on TCP 6379"]
    out = policy("out", "team", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"ports": [{"port": 6379}]}]})
    assert not [p for p in reachability.check([*objects, out]) if "session store" in p]
    memory = server("MCPServer", "s", sessionStorage={"provider": "memory"})
    assert not [p for p in reachability.check([objects[0], deny(), memory]) if "session store" in p]


def test_a_session_store_the_stack_runs_is_reached_on_its_pods_port():
    """The dev session store: a Service whose StatefulSet the stack renders; the flow meets the pod's own policy."""
    labels = {"app.kubernetes.io/name": "valkey"}
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "valkey", "namespace": "cache"},
               "spec": {"selector": labels, "ports": [{"port": 6379, "targetPort": "redis"}]}}
    stateful_set = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "valkey", "namespace": "cache"},
                    "spec": {"template": {"metadata": {"labels": {**labels, "tier": "cache"}}, "spec": {"containers": [
                        {"name": "valkey", "ports": [{"name": "redis", "containerPort": 16379}]}]}}}}
    open_out = policy("out", "team", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{}]})
    only_6379 = policy("in", "cache", {"podSelector": {"matchLabels": labels}, "policyTypes": ["Ingress"],
                                       "ingress": [{"ports": [{"port": 6379}]}]})
    objects = [namespace("team"), open_out, service, stateful_set, only_6379,
               server("MCPServer", "s", sessionStorage={"provider": "redis", "address": "valkey.cache.svc.cluster.local:6379"})]
    assert [p for p in reachability.check(objects) if "session store" in p] == [
        blocked("proxy to its session store valkey.cache.svc.cluster.local:6379", "team",
                "proxy of MCP server s -> session store valkey.cache on TCP 16379", "ingress denied at the destination by in")]
    objects[4] = policy("in", "cache", {"podSelector": {"matchLabels": labels}, "policyTypes": ["Ingress"],
                                        "ingress": [{"ports": [{"port": "redis"}]}]})
    assert not [p for p in reachability.check(objects) if "session store" in p]


def test_only_namespaces_labelled_as_tenants_are_checked_and_only_their_servers():
    objects = [namespace("team", tenant=False), deny(), server("MCPServer", "s", ns="team"),
               {**namespace("other"), "metadata": {"name": "other", "labels": {"toolhive.platform/tenant": "false"}}}]
    assert reachability.check(objects) == []


def test_cluster_facts_are_the_api_server_endpoints_the_tenants_declare():
    objects = [namespace("a", **{API_SERVER: "10.0.0.2/32:443,10.0.0.1/24:6443"}), namespace("b", **{API_SERVER: "10.0.0.2/32:443"}),
               namespace("c", tenant=False, **{API_SERVER: "10.9.0.1/32:443"})]
    assert reachability.cluster_facts(objects) == ClusterFacts(api_server=(("10.0.0.0", 6443), ("10.0.0.2", 443)))
    assert reachability.cluster_facts([namespace("a")]) == ClusterFacts()
    assert ClusterFacts().api_server_ports == (443, 6443)


def test_a_given_cluster_overrides_what_the_namespaces_declare():
    objects = [namespace("team", **{API_SERVER: "10.0.0.1/32:6443"}), deny()]
    cluster = ClusterFacts(api_server=(("10.5.5.5", 443),))
    assert blocked("proxy to the Kubernetes API server", "team",
                   "proxy of MCP server any-mcp-server -> API server on TCP 443") in reachability.check(objects, cluster)


# --- the registry server ---------------------------------------------------------------------------------

def registry_objects(config: dict) -> list[dict]:
    import yaml

    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "reg", "namespace": "reg"},
                  "spec": {"template": {"metadata": {"labels": {"app.kubernetes.io/component": "registry-api", "app": "reg"}},
                                        "spec": {"containers": []}}}}
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "reg-config", "namespace": "reg"},
                  "data": {"config.yaml": yaml.safe_dump(config)}}
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "reg", "namespace": "reg", "annotations": {
        ALLOW_FROM: "team,outside"}}, "spec": {"selector": {"app": "reg"}}}
    database = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "pg", "namespace": "reg"}, "spec": {"selector": {"app": "pg"}}}
    return [namespace("team"), deployment, config_map, service, database, deny("reg")]


def test_a_fenced_registry_needs_dns_its_database_the_api_server_every_endpoint_and_its_clients():
    config = {"database": {"host": "pg.reg.svc.cluster.local", "port": 5433},
              "sources": [{"name": "k", "kubernetes": {}}, {"name": "g", "git": {"repository": "https://git.example.com/r.git"}},
                          {"name": "a", "api": {"endpoint": "http://api.example.com:8081"}}],
              "auth": {"oauth": {"providers": [{"issuerUrl": "https://idp.example.com", "jwksUrl": "https://idp.example.com:8443/jwks",
                                                "introspectionUrl": "https://idp.example.com:9443/introspect"}]}}}
    pod = "registry server reg"

    def nowhere(flow: str, port: int) -> str:
        return f"reachability: {flow} is blocked in namespace 'reg' ({pod}): no egress to any address on TCP {port}"

    assert reachability.check_registry(registry_objects(config)) == [
        *[blocked(f"registry DNS to kube-dns ({protocol})", "reg", f"{pod} -> kube-dns on {protocol} 53") for protocol in ("UDP", "TCP")],
        blocked("registry to its database", "reg", f"{pod} -> database pg on TCP 5433"),
        "reachability: registry to the Kubernetes API server is blocked in namespace 'reg' (registry server reg): no egress to "
        "any address on TCP 443/6443",
        nowhere("registry to https://git.example.com/r.git", 443), nowhere("registry to http://api.example.com:8081", 8081),
        nowhere("registry to https://idp.example.com", 443), nowhere("registry to https://idp.example.com:8443/jwks", 8443),
        nowhere("registry to https://idp.example.com:9443/introspect", 9443),
        *[blocked(f"clients in {client!r} to the registry", "reg", f"a client pod in {client} -> {pod} on TCP 8080", INGRESS)
          for client in ("team", "outside")],
    ]
    cluster = ClusterFacts(api_server=(("10.0.0.1", 6443),))
    assert blocked("registry to the Kubernetes API server", "reg", f"{pod} -> API server on TCP 6443") in \
        reachability.check_registry(registry_objects(config), cluster)


def test_an_external_database_needs_egress_on_its_port_and_no_host_none():
    problems = reachability.check_registry(registry_objects({"database": {"host": "db.example.com"}}))
    assert "reachability: registry to its database is blocked in namespace 'reg' (registry server reg): no egress to any " \
           "address on TCP 5432" in problems
    assert not [p for p in reachability.check_registry(registry_objects({})) if "database" in p]


def test_an_mcp_registrys_pods_are_those_the_operator_labels_and_a_tenants_mcp_servers_must_not_reach_them():
    import yaml

    registry = {"apiVersion": "toolhive.stacklok.dev/v1beta1", "kind": "MCPRegistry",
                "metadata": {"name": "mr", "namespace": "reg", "annotations": {ALLOW_FROM: "team,outside"}},
                "spec": {"configYAML": yaml.safe_dump({"sources": [{"name": "k", "kubernetes": {}}]})}}
    assert reachability.check_registry([namespace("team"), registry]) == [
        "reachability: an MCP server pod in team reaches registry server reg/mr on TCP 8080; only the team's workloads may"]
    fence = policy("api", "reg", {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "mr-api"}}, "policyTypes": ["Ingress"],
                                  "ingress": [{"from": [{"namespaceSelector": {}, "podSelector": {
                                      "matchExpressions": [{"key": "toolhive", "operator": "DoesNotExist"}]}}]}]})
    assert reachability.check_registry([namespace("team"), registry, fence]) == []


# --- what the rules above rest on: the pods' named ports and labels, the session store's pod ---------------

KUBE_SYSTEM = {"kubernetes.io/metadata.name": "kube-system"}
DNS_BY_NAME = {"to": [{"namespaceSelector": {"matchLabels": KUBE_SYSTEM}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
               "ports": [{"port": "dns", "protocol": "UDP"}, {"port": "dns-tcp", "protocol": "TCP"}]}


def test_kube_dns_serves_on_ports_named_dns_and_dns_tcp():
    only_dns = policy("dns", "team", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [DNS_BY_NAME]})
    assert reachability.check([namespace("team"), only_dns]) == [no_api_server("proxy of MCP server any-mcp-server")]


def test_the_proxies_the_operator_creates_serve_on_a_port_named_http():
    by_name = policy("in", "team", {"podSelector": {"matchLabels": {"toolhive": "true"}}, "policyTypes": ["Ingress"],
                                    "ingress": [{"ports": [{"port": "http"}]}]})
    objects = [namespace("team", **{ALLOW_FROM: "clients"}), by_name, server("VirtualMCPServer", "v", groupRef={"name": "g"}),
               server("MCPRemoteProxy", "r", proxyPort=9090, remoteUrl="https://10.1.2.3/mcp", groupRef={"name": "g"})]
    assert reachability.check(objects) == []
    objects[1]["spec"]["ingress"] = [{"ports": [{"port": "mcp"}]}]  # a name they do not carry
    vmcp, remote = ("virtual MCP server v", 4483), ("proxy of remote proxy r", 9090)
    assert reachability.check(objects) == [
        blocked(flow, "team", f"{source} -> {pod} on TCP {port}", "ingress denied at the destination by in")
        for flow, source, (pod, port) in [("clients in 'clients' to MCP proxies", "a client pod in clients", vmcp),
                                          ("the team's workloads to MCP proxies", "a workload in team", vmcp),
                                          ("clients in 'clients' to MCP proxies", "a client pod in clients", remote),
                                          ("the team's workloads to MCP proxies", "a workload in team", remote),
                                          ("virtual MCP server v to its group's proxies", "virtual MCP server v", remote)]]


@pytest.mark.parametrize("proxy_labels", [
    {"toolhive": "true", "toolhive-name": "s"},
    {"app": "mcpserver", "toolhive-name": "s"},
    {"app.kubernetes.io/name": "mcpserver", "app.kubernetes.io/instance": "s"},
])
def test_a_backend_may_let_in_its_proxy_by_any_label_the_operator_gives_it(proxy_labels):
    own_proxy = policy("backend", "team", {"podSelector": {"matchLabels": {"app": "s"}}, "policyTypes": ["Ingress"],
                                           "ingress": [{"from": [{"podSelector": {"matchLabels": proxy_labels}}]}]})
    assert reachability.check([namespace("team"), server("MCPServer", "s", transport="sse"), own_proxy]) == []


def test_a_backend_letting_in_its_proxys_labels_from_any_namespace_admits_an_impostor():
    """Remote proxies and vMCPs have no backend: the servers after them are checked all the same."""
    def letting_in(name: str) -> dict:
        return policy(name, "team", {"podSelector": {"matchLabels": {"app": "s"}}, "policyTypes": ["Ingress"], "ingress": [
            {"from": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": "mcpserver", "toolhive-name": "s"}}}]}]})

    objects = [namespace("team"), server("MCPRemoteProxy", "r", remoteUrl="https://10.1.2.3/mcp"),
               server("VirtualMCPServer", "v"), server("MCPServer", "s", transport="sse"), letting_in("backend")]
    impostor = "reachability: MCP server team/s is reachable from a pod in another namespace labelled like its proxy on TCP 8080, " \
               "not only from its own proxy: allowed by "
    assert reachability.check(objects) == [impostor + "backend"]
    assert reachability.check([*objects, letting_in("also")]) == [impostor + "also, backend"]


def test_a_client_pod_is_any_pod_of_its_namespace_let_in_by_the_namespaces_name():
    by_name = policy("in", "team", {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [
        {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "clients"}}}]}]})
    objects = [namespace("team", **{ALLOW_FROM: "clients"}), by_name, server("MCPRemoteProxy", "r", remoteUrl="https://10.1.2.3/mcp")]
    assert reachability.check(objects) == [
        blocked("the team's workloads to MCP proxies", "team", "a workload in team -> proxy of remote proxy r on TCP 8080",
                "ingress denied at the destination by in")]


def test_a_virtual_mcp_server_needs_the_proxies_of_its_own_group_only():
    objects = [namespace("team"), deny(), server("VirtualMCPServer", "ungrouped"), server("MCPServer", "alone"),
               server("MCPServer", "b", groupRef={"name": "no-vmcp"}), server("VirtualMCPServer", "w", groupRef={"name": "g"}),
               server("MCPServer", "c", groupRef={"name": "g"})]
    assert [p for p in reachability.check(objects) if "group's proxies" in p] == [
        blocked("virtual MCP server w to its group's proxies", "team", "virtual MCP server w -> proxy of MCP server c on TCP 8080")]


def test_the_operator_is_the_first_deployment_with_a_redis_address_or_a_runner_image():
    def deployment(name: str, **env: str) -> dict:
        return {**operator(**env), "metadata": {"name": name, "namespace": "apps"}}

    base = [namespace("team"), deny(), server("MCPServer", "s")]
    later_redis = deployment("app", TOOLHIVE_DEFAULT_REDIS_ADDR="10.9.9.9:6379")
    assert not [p for p in reachability.check([*base, operator(TOOLHIVE_RUNNER_IMAGE="runner"), later_redis]) if "session store" in p]
    assert [p for p in reachability.check([*base, deployment("app"), operator(TOOLHIVE_DEFAULT_REDIS_ADDR="10.9.9.9:6379")])
            if "session store" in p] == [
        blocked("proxy to its session store 10.9.9.9:6379", "team", "proxy of MCP server s -> session store on TCP 6379")]


@pytest.mark.parametrize("storage", [{"provider": "memory", "address": "redis:6379"}, {"provider": "redis"}])
def test_only_a_redis_provider_with_an_address_is_a_session_store(storage):
    objects = [namespace("team"), deny(), server("MCPServer", "s", sessionStorage=storage)]
    assert not [p for p in reachability.check(objects) if "session store" in p]


def test_a_session_store_at_an_ip_is_reached_through_an_ip_block():
    to_store = policy("out", "team", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [
        {"to": [{"ipBlock": {"cidr": "10.9.9.0/24"}}], "ports": [{"port": 6379}]}]})
    objects = [namespace("team"), to_store, server("MCPServer", "s", sessionStorage={"provider": "redis", "address": "10.9.9.9:6379"})]
    assert not [p for p in reachability.check(objects) if "session store" in p]


def store_stack(ports: list[dict], kind: str = "StatefulSet", ns: str | None = "cache", protocol: str = "TCP",
                selector: dict | None = None, workload_ns: str | None = "cache", decoy: bool = False) -> list[dict]:
    """The proxy's egress open; the store's namespace lets in only what reaches a container port named redis."""
    labels = {"app.kubernetes.io/name": "valkey"}
    where = {"namespace": ns} if ns else {}
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "valkey", **where},
               "spec": {"selector": labels if selector is None else selector, "ports": ports}}

    def workload(name: str, workload_labels: dict) -> dict:
        return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, **({"namespace": workload_ns} if workload_ns else {})},
                "spec": {"template": {"metadata": {"labels": workload_labels}, "spec": {"containers": [
                    {"name": "valkey", "ports": [{"name": "redis", "containerPort": 16379, "protocol": protocol}]}]}}}}

    by_name = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "in", **where},
               "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"ports": [{"port": "redis"}]}]}}
    address = f"valkey.{ns or 'default'}.svc.cluster.local:6379"
    return [namespace("team"), policy("out", "team", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{}]}),
            service, *([workload("other", {"app": "other"})] if decoy else []), workload("valkey", labels), by_name,
            server("MCPServer", "s", sessionStorage={"provider": "redis", "address": address})]


@pytest.mark.parametrize(("stack", "reached"), [
    ({"ports": [{"port": 6379, "targetPort": "redis"}]}, None),
    ({"ports": [{"port": 6379, "targetPort": "redis"}], "kind": "Deployment"}, None),
    ({"ports": [{"port": 6379, "targetPort": "redis"}], "ns": None, "workload_ns": None}, None),  # both in `default`
    ({"ports": [{"port": 6379, "targetPort": "redis"}], "decoy": True}, None),  # another workload of its namespace first
    ({"ports": [{"port": 6379, "targetPort": "redis"}], "protocol": "UDP"}, "session store valkey.cache on TCP 16379"),
    ({"ports": [{"port": 6379, "targetPort": 16380}]}, "session store valkey.cache on TCP 16380"),
    ({"ports": [{"port": 6379}]}, "session store valkey.cache on TCP 6379"),
    ({"ports": [{"port": 6380, "targetPort": "redis"}]}, "session store valkey.cache on TCP 6379"),  # a port it does not map
    ({"ports": [{"port": 6379, "targetPort": "redis"}], "workload_ns": "elsewhere"},
     "session store valkey.cache.svc.cluster.local on TCP 6379"),  # not its pod: any pod of the namespace
    ({"ports": [{"port": 6379, "targetPort": "redis"}], "selector": {}}, "session store valkey.cache.svc.cluster.local on TCP 6379"),
])
def test_a_session_store_the_stack_runs_is_reached_on_the_pod_port_its_service_maps_to(stack, reached):
    objects = store_stack(**stack)
    address = objects[-1]["spec"]["sessionStorage"]["address"]
    assert [p for p in reachability.check(objects) if "session store" in p] == ([] if reached is None else [
        blocked(f"proxy to its session store {address}", "team", f"proxy of MCP server s -> {reached}",
                "ingress denied at the destination by in")])


@pytest.mark.parametrize(("cidr", "excepts", "reachable"), [
    ("10.0.0.0/32", [], True),
    ("10.0.0.0/31", ["10.0.0.0/32"], True),  # the address after a hole
    ("10.0.0.0/24", ["10.0.0.1/32", "10.0.0.0/32"], True),
    ("10.0.0.0/31", ["::/0", "10.0.0.0/32"], True),  # an except of the other IP version excepts nothing
    ("10.0.0.0/24", ["not-a-cidr"], True),
    ("0.0.0.0/0", ["255.255.255.0/24"], True),  # a hole at the end of the address space
    ("10.0.0.0/24", ["10.0.0.0/25", "10.0.0.128/25"], False),
    ("not-a-cidr", [], False),  # a malformed block admits nothing
])
def test_an_ip_block_opens_the_addresses_outside_its_excepts(cidr, excepts, reachable):
    out = policy("out", "team", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [
        {"to": [{"ipBlock": {"cidr": cidr, "except": excepts}}], "ports": [{"port": 443}]}]})
    stand_in = "proxy of MCP server any-mcp-server"
    assert [p for p in reachability.check([namespace("team"), out]) if "API server" in p] == \
        ([] if reachable else [no_api_server(stand_in)])


def test_an_ipv6_api_server_endpoint_keeps_its_colons():
    objects = [namespace("a", **{API_SERVER: "fd00::1/128:6443"})]
    assert reachability.cluster_facts(objects) == ClusterFacts(api_server=(("fd00::1", 6443),))


# --- the registry server's pods ----------------------------------------------------------------------------

def registry_stack(config: dict | None, *more: dict, config_map: dict | None = None) -> list[dict]:
    """registry_objects' registry `reg` (clients: only `outside`, no tenant) and its database, with `more` as policies;
    config None: `config_map` in place of its own."""
    _, deployment, own_config, service, database, _ = registry_objects(config or {})
    service["metadata"]["annotations"] = {ALLOW_FROM: "outside"}
    return [o for o in (deployment, config_map if config is None else own_config, service, database) if o] + list(more)


def registry_dns(pod: str = "registry server reg") -> list[str]:
    return [blocked(f"registry DNS to kube-dns ({protocol})", "reg", f"{pod} -> kube-dns on {protocol} 53") for protocol in ("UDP", "TCP")]


REGISTRY_CLIENTS = blocked("clients in 'outside' to the registry", "reg", "a client pod in outside -> registry server reg on TCP 8080",
                           INGRESS)


def test_the_registry_server_serves_on_a_port_named_http_and_reaches_kube_dns_by_its_port_names():
    by_name = policy("named", "reg", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"],
                                      "ingress": [{"ports": [{"port": "http"}]}], "egress": [DNS_BY_NAME]})
    assert reachability.check_registry(registry_stack({}, by_name)) == []


def test_a_database_in_the_cluster_serves_on_a_port_named_postgres():
    config = {"database": {"host": "pg.reg.svc.cluster.local", "port": 5433}}
    by_name = policy("pg", "reg", {"podSelector": {"matchLabels": {"app": "pg"}}, "policyTypes": ["Ingress"],
                                   "ingress": [{"ports": [{"port": "postgres"}]}]})
    assert reachability.check_registry(registry_stack(config, by_name)) == []
    by_number = policy("pg", "reg", {"podSelector": {"matchLabels": {"app": "pg"}}, "policyTypes": ["Ingress"],
                                     "ingress": [{"ports": [{"port": 5432}]}]})
    assert reachability.check_registry(registry_stack(config, by_number)) == [
        blocked("registry to its database", "reg", "registry server reg -> database pg on TCP 5433",
                "ingress denied at the destination by pg")]


def test_a_database_host_outside_the_cluster_domain_is_external_even_if_it_names_a_service():
    assert reachability.check_registry(registry_stack({"database": {"host": "pg.reg.example.com"}}, deny("reg"))) == [
        *registry_dns(), "reachability: registry to its database is blocked in namespace 'reg' (registry server reg): "
                         "no egress to any address on TCP 5432", REGISTRY_CLIENTS]


API_ANYWHERE = "reachability: registry to the Kubernetes API server is blocked in namespace 'reg' (registry server reg): no egress to " \
               "any address on TCP 443/6443"


@pytest.mark.parametrize(("sources", "needs"), [
    ([{"name": "k", "kubernetes": {}}], [API_ANYWHERE]),
    ([{"name": "f", "file": {"path": "/data/registry.json"}}], []),
    ([{"name": "g", "git": {"repository": 42}}], []),  # not a URL: nothing to dial
])
def test_only_a_kubernetes_source_makes_the_registry_need_the_api_server(sources, needs):
    assert reachability.check_registry(registry_stack({"sources": sources}, deny("reg"))) == [*registry_dns(), *needs, REGISTRY_CLIENTS]


def test_check_hands_the_api_server_the_tenants_declare_to_the_registry():
    objects = [namespace("team", **{API_SERVER: "10.0.0.1/32:6443"}),
               *registry_stack({"sources": [{"name": "k", "kubernetes": {}}]}, deny("reg"))]
    assert reachability.check(objects) == [
        *registry_dns(), blocked("registry to the Kubernetes API server", "reg", "registry server reg -> API server on TCP 6443"),
        REGISTRY_CLIENTS]


CONFIG_MAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "reg-config", "namespace": "reg"}}


@pytest.mark.parametrize("config_map", [None, CONFIG_MAP, {**CONFIG_MAP, "data": {"other.yaml": "sources: []"}}])
def test_a_registry_deployment_without_its_config_has_an_empty_one(config_map):
    assert reachability.check_registry(registry_stack(None, deny("reg"), config_map=config_map)) == [*registry_dns(), REGISTRY_CLIENTS]


@pytest.mark.parametrize("selector", [
    {"app.kubernetes.io/name": "mr-api"}, {"app.kubernetes.io/component": "registry-api"},
    {"app.kubernetes.io/managed-by": "toolhive-operator"}, {"toolhive.stacklok.io/registry-name": "mr"}])
def test_a_policy_selects_an_mcp_registrys_pods_by_any_label_the_operator_gives_them(selector):
    registry = {"apiVersion": "toolhive.stacklok.dev/v1beta1", "kind": "MCPRegistry",
                "metadata": {"name": "mr", "namespace": "reg", "annotations": {ALLOW_FROM: "team"}}, "spec": {"configYAML": "{}"}}
    fence = policy("api", "reg", {"podSelector": {"matchLabels": selector}, "policyTypes": ["Ingress"], "ingress": [
        {"from": [{"namespaceSelector": {}, "podSelector": {"matchExpressions": [{"key": "toolhive", "operator": "DoesNotExist"}]}}]}]})
    assert reachability.check_registry([namespace("team"), registry, fence]) == []
