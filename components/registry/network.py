"""NetworkPolicies of the registry: only the configured client namespaces in; out only what it needs.

Out: DNS, the database, the Kubernetes API server (kubernetes source), and the git/api/OIDC endpoints
(each on the port its URL names; an API source's egressCidr where given, else anywhere on those ports).
The in-cluster PostgreSQL accepts only the registry pods and talks to nothing.
"""
from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.config.registry import endpoint_port
from components.k8s import naming
from components.k8s.labels import selector_labels
from components.k8s.netpol import selector
from components.registry import plan as paths
from components.registry.plan import RegistryPlan
from components.servers.operator_objects import workload_expressions

ANYWHERE = "0.0.0.0/0"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


def _namespaces(names: list[str]) -> dict:
    return {"namespaceSelector": {"matchExpressions": [
        {"key": NAMESPACE_NAME_LABEL, "operator": "In", "values": sorted(set(names))}]}}


def _to(cidr: str | None, *ports: int) -> dict:
    return {"to": [{"ipBlock": {"cidr": cidr or ANYWHERE}}], "ports": [{"protocol": "TCP", "port": p} for p in ports]}


def registry_egress(plan: RegistryPlan) -> list[dict]:
    config = plan.config
    rules = [{"to": [{"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: "kube-system"}},
                      "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
              "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}]
    if config.database.in_cluster is not None:
        rules.append({"to": [{"podSelector": {"matchLabels": selector_labels(paths.database_service_name(plan.name))}}],
                      "ports": [{"protocol": "TCP", "port": paths.POSTGRES_PORT}]})
    else:
        rules.append(_to(config.database.external.cidr, config.database.external.port))
    if plan.watch_namespaces:
        rules.append(_to(config.network.api_server_cidr, 443, 6443))
    rules += endpoint_egress(config)
    rules += [_to(rule.cidr, *rule.ports) for rule in config.network.egress]
    return rules


def endpoints(config) -> list[tuple[str, str | None]]:
    """(URL, CIDR or None for anywhere) of every endpoint the server dials: git repositories, API sources
    (their egressCidr), and each OIDC provider's issuer, JWKS and introspection URLs."""
    found: list[tuple[str, str | None]] = [(s.git.repository, None) for s in config.sources if s.git]
    found += [(s.api.endpoint, s.api.egress_cidr) for s in config.sources if s.api]
    for provider in config.auth.providers:
        found += [(url, None) for url in (provider.issuer_url, provider.jwks_url, provider.introspection_url) if url]
    return found


def endpoint_egress(config) -> list[dict]:
    """One rule per destination network, on exactly the ports the URLs name (explicit, else https 443,
    http 80, ssh 22, git 9418)."""
    by_cidr: dict[str | None, set[int]] = {}
    for url, cidr in endpoints(config):
        port = endpoint_port(url)
        if port is not None:
            by_cidr.setdefault(cidr, set()).add(port)
    return [_to(cidr, *sorted(ports)) for cidr, ports in sorted(by_cidr.items(), key=lambda item: item[0] or "")]


def registry_clients(plan: RegistryPlan) -> list[str]:
    """Namespaces allowed to call the API: the configured clients and the ingress controller's."""
    config = plan.config
    return sorted(set(config.network.allow_from) | set(config.ingress.from_namespaces if config.ingress else []))


def registry_network_policies(parent: pulumi.Resource, plan: RegistryPlan, labels: dict, pod_labels: dict,
                              depends_on: list, *, protect: bool) -> list[k8s.networking.v1.NetworkPolicy]:
    """Retained and protected like the namespace they fence (a destroy never leaves the namespace open)."""
    config, ns = plan.config, plan.namespace
    clients = registry_clients(plan)
    ingress = [{"from": [_namespaces(clients)], "ports": [{"protocol": "TCP", "port": 8080}]}] if clients else []
    opts = pulumi.ResourceOptions(parent=parent, depends_on=depends_on, retain_on_delete=True, protect=protect)
    policies = [k8s.networking.v1.NetworkPolicy(
        naming.resource_name(ns, "networkpolicy", f"{plan.name}-api"),
        metadata={"name": f"{plan.name}-api", "namespace": ns, "labels": labels},
        spec={"podSelector": {"matchLabels": pod_labels}, "policyTypes": ["Ingress", "Egress"],
              "ingress": ingress, "egress": registry_egress(plan)},
        opts=opts,
    )]
    if config.database.in_cluster is not None:
        database = paths.database_service_name(plan.name)
        policies.append(k8s.networking.v1.NetworkPolicy(
            naming.resource_name(ns, "networkpolicy", database),
            metadata={"name": database, "namespace": ns, "labels": labels},
            spec={"podSelector": {"matchLabels": selector_labels(database)}, "policyTypes": ["Ingress", "Egress"],
                  "ingress": [{"from": [{"podSelector": {"matchLabels": pod_labels}}],
                               "ports": [{"protocol": "TCP", "port": paths.POSTGRES_PORT}]}],
                  "egress": []},
            opts=opts,
        ))
    return policies


def client_egress_policies(parent: pulumi.Resource, plan: RegistryPlan, labels: dict, pod_labels: dict,
                           namespace_resources: dict[str, pulumi.Resource], *, protect: bool
                           ) -> list[k8s.networking.v1.NetworkPolicy]:
    """Client namespaces this stack fences (tenants, default-deny egress) get one way out for the team's own
    workloads: to the registry pods on 8080 (MCP server pods stay fenced to their allowlist). Retained and
    protected like the namespace, as its other fences are."""
    name = f"allow-egress-to-{plan.name}"
    policies = []
    for client in registry_clients(plan):
        if client not in namespace_resources or client == plan.namespace:
            continue
        policies.append(k8s.networking.v1.NetworkPolicy(
            naming.resource_name(client, "networkpolicy", name),
            metadata={"name": name, "namespace": client, "labels": labels},
            spec={"podSelector": selector(expressions=workload_expressions()), "policyTypes": ["Egress"], "egress": [{
                "to": [{**_namespaces([plan.namespace]), "podSelector": {"matchLabels": pod_labels}}],
                "ports": [{"protocol": "TCP", "port": 8080}]}]},
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[namespace_resources[client]],
                                        retain_on_delete=True, protect=protect),
        ))
    return policies
