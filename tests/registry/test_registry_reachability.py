"""The registry's flows in the reachability check: clients in, DNS, database, API server, endpoints out."""
from __future__ import annotations

import pytest

from tests.conftest import render_config
from tests.test_reachability import objects_of, with_policy_egress, without_policy
from tools.validate import reachability

DEV = {"sources": [{"name": "platform", "file": {"data": "registry/data/registry.json"}}, {"name": "cluster", "kubernetes": {}},
                   {"name": "api", "api": {"endpoint": "https://registry.example.com"}}],
       "network": {"allowFrom": ["mcp-dev", "agents"]}}


@pytest.fixture(params=["standalone", "mcpRegistry"])
def objects(request):
    return objects_of(render_config({"namespaces": [{"name": "mcp-dev"}], "registry": {**DEV, "mode": request.param}}))


def test_every_registry_flow_is_allowed(objects):
    assert reachability.check(objects) == []


def test_a_tenant_client_without_its_egress_policy_is_reported(objects):
    problems = reachability.check(without_policy(objects, "allow-egress-to-toolhive-registry"))
    assert problems == ["reachability: clients in 'mcp-dev' to the registry is blocked in namespace 'toolhive-system' "
                        "(a client pod in mcp-dev -> registry server toolhive-registry on TCP 8080): egress denied at "
                        "the source by allow-dns-egress, allow-egress, allow-same-namespace, default-deny"]


@pytest.mark.parametrize("dropped, flow", [
    (lambda rule: any(p.get("port") == 53 for p in rule.get("ports", [])), "registry DNS to kube-dns"),
    (lambda rule: any(p.get("port") == 5432 for p in rule.get("ports", [])), "registry to its database"),
])
def test_a_missing_registry_egress_rule_is_reported_by_flow(objects, dropped, flow):
    problems = reachability.check(with_policy_egress(objects, "toolhive-registry-api", lambda rule: not dropped(rule)))
    assert problems and all(flow in problem for problem in problems), problems


def test_without_egress_to_outside_addresses_the_api_server_and_endpoints_are_reported(objects):
    """The API server (443/6443) and the endpoints (443) rules back each other up on 443; drop both."""
    outside = lambda rule: any("ipBlock" in peer for peer in rule.get("to", []))  # noqa: E731
    problems = reachability.check(with_policy_egress(objects, "toolhive-registry-api", lambda rule: not outside(rule)))
    assert [p.split(" is blocked")[0] for p in problems] == [
        "reachability: registry to the Kubernetes API server", "reachability: registry to https://registry.example.com"]


def test_the_database_refusing_the_registry_is_reported(objects):
    changed = [{**o, "spec": {**o["spec"], "ingress": []}} if o["kind"] == "NetworkPolicy"
               and o["metadata"]["name"] == "toolhive-registry-postgres" else o for o in objects]
    assert any("registry to its database" in p and "ingress denied" in p for p in reachability.check(changed))


def test_clients_outside_allow_from_are_not_let_in(objects):
    network = reachability.Network(objects)
    pod = reachability._registry_pods(objects)[0][0]
    stranger = reachability.Pod.of("elsewhere", {}, what="a pod elsewhere")
    assert network.blocked(reachability.Flow(stranger, pod, 8080))
    assert network.blocked(reachability.Flow(reachability.Pod.of("agents", what="an agent"), pod, 8080)) is None


# -- the registry's egress rules, as written (killed mutants of python -m tools.mutation components/registry/network.py)

NS = "toolhive-system"
GIT = {"name": "upstream", "git": {"repository": "https://github.com/stacklok/toolhive-registry-server.git",
                                   "tag": "v1.3.0", "path": "examples/upstream-registry.json"}}


def api_egress(preview, **registry) -> list[dict]:
    rendered = render_config({"namespaces": [{"name": "mcp-dev"}], "registry": {**DEV, **registry}}, preview=preview)
    return rendered.object("NetworkPolicy", "toolhive-registry-api", NS)["spec"]["egress"]


def test_the_api_server_and_extra_egress_go_to_the_networks_configured(preview):
    egress = api_egress(preview, network={**DEV["network"], "apiServerCidr": "10.96.0.1/32",
                                          "egress": [{"cidr": "10.20.0.0/16", "ports": [8443, 9000]}]})
    assert {"to": [{"ipBlock": {"cidr": "10.96.0.1/32"}}],
            "ports": [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 6443}]} in egress
    assert egress[-1] == {"to": [{"ipBlock": {"cidr": "10.20.0.0/16"}}],
                          "ports": [{"protocol": "TCP", "port": 8443}, {"protocol": "TCP", "port": 9000}]}


def test_endpoints_are_grouped_by_network_anywhere_first_then_each_cidr_in_order(preview):
    """An API source's egressCidr, git repositories and OIDC URLs anywhere; one rule per network, on its ports."""
    sources = [DEV["sources"][0],
               {"name": "b", "api": {"endpoint": "https://b.example.com:9443", "egressCidr": "10.9.0.0/16"}},
               {"name": "a", "api": {"endpoint": "http://a.example.com", "egressCidr": "10.1.0.0/16"}}, GIT]
    auth = {"mode": "oauth", "resourceUrl": "https://registry.example.com", "providers": [{
        "name": "sso", "issuerUrl": "https://auth.example.com:8443", "audience": "r",
        "jwksUrl": "https://keys.example.com:9444/jwks"}]}
    egress = api_egress(preview, sources=sources, auth=auth)
    assert egress[-3:] == [  # after DNS, the database and the API server; no extra egress is configured
        {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"protocol": "TCP", "port": p} for p in (443, 8443, 9444)]},
        {"to": [{"ipBlock": {"cidr": "10.1.0.0/16"}}], "ports": [{"protocol": "TCP", "port": 80}]},
        {"to": [{"ipBlock": {"cidr": "10.9.0.0/16"}}], "ports": [{"protocol": "TCP", "port": 9443}]},
    ]


def test_the_registry_policies_are_children_of_the_registry_and_wait_for_its_namespace(preview):
    rendered = render_config({"namespaces": [{"name": "mcp-dev"}], "registry": DEV}, preview=preview)
    namespace = rendered.resource("Namespace", NS)
    for name in ("toolhive-registry-api", "toolhive-registry-postgres"):
        policy = rendered.resource("NetworkPolicy", name, NS)
        assert policy.name == f"{NS}-networkpolicy-{name}"  # its URN: a rename would replace it
        assert policy.parent.endswith("$toolhive:registry:RegistryServer::registry")
        assert namespace.urn in policy.dependencies
        assert (policy.protect, policy.retain_on_delete) == (True, True)  # like the namespace it fences


@pytest.mark.parametrize("protect", [True, False])
def test_a_tenant_clients_way_out_to_the_registry_is_kept_like_its_namespace(preview, protect):
    rendered = render_config({"namespaces": [{"name": "mcp-dev"}], "namespaceProtect": protect, "registry": DEV},
                             preview=preview)
    policy = rendered.resource("NetworkPolicy", "allow-egress-to-toolhive-registry", "mcp-dev")
    assert policy.name == "mcp-dev-networkpolicy-allow-egress-to-toolhive-registry"
    assert policy.parent.endswith("$toolhive:registry:RegistryServer::registry")
    assert rendered.resource("Namespace", "mcp-dev").urn in policy.dependencies
    assert (policy.protect, policy.retain_on_delete) == (protect, True)
