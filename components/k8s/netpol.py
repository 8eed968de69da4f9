"""The one way to build NetworkPolicy specs, rules, peers and ports, and to read a service address.

Every NetworkPolicy this program writes (tenant fences now, per-server isolation later) is built from
these helpers, so the shapes the reachability check (`tools/validate/reachability.py`) evaluates are the
shapes the program writes. Peers select namespaces by `kubernetes.io/metadata.name`, the label the API
server sets on every namespace (immutable, so it cannot be spoofed by relabelling).
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Iterable

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
DNS_PORT = 53
KUBE_DNS_LABELS = {"k8s-app": "kube-dns"}  # the cluster DNS pods in kube-system (CoreDNS keeps the label)
# On a tenant Namespace, the network intent its policies implement, for people (`kubectl describe ns`)
# and for the reachability check: which namespaces may call its MCP servers, and where NodeLocal
# DNSCache answers (comma-separated).
ALLOW_FROM_ANNOTATION = "toolhive.platform/allow-from"
NODE_LOCAL_DNS_ANNOTATION = "toolhive.platform/node-local-dns"
# Where the Kubernetes API server answers (`<cidr>:<port>`, comma-separated; toolhive:cluster.apiServer).
API_SERVER_ANNOTATION = "toolhive.platform/api-server"


def intent_annotations(allow_from: list[str], node_local_dns: list[str],
                       api_server: list[str] | None = None) -> dict[str, str]:
    annotations = {}
    if api_server:
        annotations[API_SERVER_ANNOTATION] = ",".join(api_server)
    if allow_from:
        annotations[ALLOW_FROM_ANNOTATION] = ",".join(allow_from)
    if node_local_dns:
        annotations[NODE_LOCAL_DNS_ANNOTATION] = ",".join(node_local_dns)
    return annotations


def selector(match_labels: dict[str, str] | None = None, expressions: list[dict] | None = None) -> dict:
    """A metav1.LabelSelector; empty selects every pod."""
    body: dict = {}
    if match_labels:
        body["matchLabels"] = dict(match_labels)
    if expressions:
        body["matchExpressions"] = [dict(e) for e in expressions]
    return body


def label_absent(key: str) -> dict:
    return {"key": key, "operator": "DoesNotExist"}


def label_in(key: str, values: Iterable[str]) -> dict:
    return {"key": key, "operator": "In", "values": sorted(values)}


def namespace_peer(namespace: str, pod_labels: dict[str, str] | None = None) -> dict:
    """Pods of one namespace (all of them, or those with `pod_labels`)."""
    peer: dict = {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: namespace}}}
    if pod_labels is not None:
        peer["podSelector"] = {"matchLabels": dict(pod_labels)}
    return peer


def pod_peer(pod_labels: dict[str, str] | None = None, expressions: list[dict] | None = None) -> dict:
    """Pods of the policy's own namespace (all of them when neither labels nor expressions are given)."""
    return {"podSelector": selector(pod_labels, expressions)}


def ip_peer(cidr: str, except_cidrs: Iterable[str] = ()) -> dict:
    """Addresses in `cidr` (IPv4 or IPv6), minus the `except_cidrs` inside it."""
    block: dict = {"cidr": cidr}
    if except_cidrs:
        block["except"] = list(except_cidrs)
    return {"ipBlock": block}


def ports(numbers: Iterable[int | str], protocol: str = "TCP") -> list[dict]:
    """NetworkPolicyPorts: one per port number or port name, all of one protocol."""
    return [{"protocol": protocol, "port": number} for number in numbers]


def dns_ports() -> list[dict]:
    return ports([DNS_PORT], "UDP") + ports([DNS_PORT], "TCP")


def rule(peers: list[dict] | None = None, rule_ports: list[dict] | None = None, *, direction: str) -> dict:
    """One ingress (`from`) or egress (`to`) rule; no peers means every peer, no ports every port."""
    key = {"ingress": "from", "egress": "to"}[direction]
    entry: dict = {}
    if peers:
        entry[key] = peers
    if rule_ports:
        entry["ports"] = rule_ports
    return entry


def egress(peers: list[dict] | None = None, rule_ports: list[dict] | None = None) -> dict:
    return rule(peers, rule_ports, direction="egress")


def ingress(peers: list[dict] | None = None, rule_ports: list[dict] | None = None) -> dict:
    return rule(peers, rule_ports, direction="ingress")


def spec(pod_labels: dict[str, str] | None = None, *, expressions: list[dict] | None = None,
         ingress_rules: list[dict] | None = None, egress_rules: list[dict] | None = None) -> dict:
    """A NetworkPolicy spec with explicit policyTypes: a direction given (even with no rules) isolates it."""
    body: dict = {"podSelector": selector(pod_labels, expressions), "policyTypes": []}
    if ingress_rules is not None:
        body["policyTypes"].append("Ingress")
        if ingress_rules:
            body["ingress"] = ingress_rules
    if egress_rules is not None:
        body["policyTypes"].append("Egress")
        if egress_rules:
            body["egress"] = egress_rules
    return body


@dataclass(frozen=True)
class ServiceAddress:
    """Where a `host:port` address points, as far as NetworkPolicy peers can express it."""

    host: str
    port: int
    namespace: str | None = None  # an in-cluster Service `<svc>.<ns>.svc[.<cluster domain>]`
    ip: str | None = None  # an IP literal
    same_namespace: bool = False  # a bare Service name: resolves in the client's own namespace

    @property
    def external(self) -> bool:
        """A DNS name outside the cluster: no peer can be derived from the name alone."""
        return self.namespace is None and self.ip is None and not self.same_namespace


def parse_address(addr: str) -> ServiceAddress:
    """Read `host:port` (host may be `[v6]`) into what a NetworkPolicy peer can select."""
    host, _, port_text = addr.rpartition(":")
    host = host.strip("[]")
    port = int(port_text)
    try:
        return ServiceAddress(host, port, ip=str(ipaddress.ip_address(host)))
    except ValueError:
        pass
    # Pods resolve with ndots:5 and the search path `<ns>.svc.<domain> svc.<domain> <domain>`: `<svc>`
    # is a Service of the client's namespace, `<svc>.<ns>` and `<svc>.<ns>.svc[.<domain>]` one of <ns>.
    # A name ending in '.' is absolute (no search path).
    absolute = host.endswith(".")
    labels = host.rstrip(".").split(".")
    if len(labels) >= 3 and labels[2] == "svc":
        return ServiceAddress(host, port, namespace=labels[1])
    if not absolute and len(labels) == 1:
        return ServiceAddress(host, port, same_namespace=True)
    if not absolute and len(labels) == 2:
        return ServiceAddress(host, port, namespace=labels[1])
    return ServiceAddress(host, port)


def address_peer(address: ServiceAddress) -> dict | None:
    """The peer that reaches `address` from another namespace, or None (same namespace or external)."""
    if address.namespace:
        return namespace_peer(address.namespace)
    if address.ip:
        network = ipaddress.ip_network(address.ip)
        return ip_peer(str(network))
    return None
