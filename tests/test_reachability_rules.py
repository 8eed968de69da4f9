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
