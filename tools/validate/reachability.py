"""NetworkPolicy reachability: do the rendered policies let through the flows the platform needs?

`check(objects)` returns one problem string per blocked required flow (tenant flows, and the MCP
registry's: `check_registry`) and per MCP server pod that admits anyone but its own proxy. The flows come from the rendered objects themselves. Required, per
tenant namespace (label `toolhive.platform/tenant`): every pod reaches DNS (kube-dns and NodeLocal
DNSCache); the client namespaces reach the team's workloads; every proxy (MCPServer, MCPRemoteProxy,
VirtualMCPServer) reaches the Kubernetes API server and its session store (its own `sessionStorage`
Redis, else the operator's `TOOLHIVE_DEFAULT_REDIS_ADDR`); the client namespaces, the team's workloads
and the group's VirtualMCPServer reach each proxy on its port; each proxy reaches its MCP server on
`mcpPort` and a remote proxy its remote host. Forbidden: an MCP server pod (backend) reachable, on its
ingress alone, from any pod but its own proxy — stand-ins for every role in every tenant, client
namespaces and any other namespace. Clients, NodeLocal DNSCache and API server addresses come from the
namespace's intent annotations (`toolhive.platform/allow-from`, `…/node-local-dns`, `…/api-server`,
written from config); without API server endpoints (`ClusterFacts`) any address on 443 or 6443 will do.

Pods are modelled abstractly: representatives (namespace, labels, named ports) of the workloads in play —
the pods the operator creates for each server (labels from `../shared/toolhive/operator-objects.md`), a
team workload per tenant, and a stand-in proxy where a tenant has no server yet.

Semantics are Kubernetes' own (networking.k8s.io/v1): a pod is isolated for a direction iff a policy
selecting it has that policyType (absent policyTypes: Ingress, plus Egress when an egress section exists);
an isolated direction allows a connection iff some rule of some selecting policy allows it; a flow needs
egress allowed at the source AND ingress allowed at a destination pod. Peers: podSelector (policy's own
namespace), namespaceSelector (labels of the namespace, including `kubernetes.io/metadata.name`), both
(intersection), ipBlock with except (addresses outside pods: pod IPs matching an ipBlock is
implementation-defined, so representatives never rely on it). Ports: protocol (default TCP), number,
number..endPort, or a name resolved against the destination pod's named ports. Policies are indexed by
namespace and by one label of their podSelector, so cost grows with flows, not flows x policies.
"""
from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping, Union
from urllib.parse import urlsplit

from components.config.registry import endpoint_port
from components.k8s.labels import TENANT_LABEL
from components.k8s.netpol import (ALLOW_FROM_ANNOTATION, API_SERVER_ANNOTATION, DNS_PORT, KUBE_DNS_LABELS, NAMESPACE_NAME_LABEL,
                                   NODE_LOCAL_DNS_ANNOTATION, parse_address)

REDIS_ADDR_ENV = "TOOLHIVE_DEFAULT_REDIS_ADDR"
WATCH_NAMESPACE_ENV = "WATCH_NAMESPACE"
DEFAULT_PROXY_PORT = 8080  # MCPServer spec.proxyPort default (CRD v0.44.0)


@dataclass(frozen=True)
class Pod:
    """A representative pod: where it runs, its labels and its named ports ({name: (port, protocol)})."""

    namespace: str
    labels: tuple[tuple[str, str], ...]
    named_ports: tuple[tuple[str, int, str], ...] = ()
    what: str = "pod"

    @staticmethod
    def of(namespace: str, labels: Mapping[str, str] | None = None, named_ports: Mapping[str, tuple[int, str]] | None = None,
           *, what: str) -> "Pod":
        return Pod(namespace, tuple(sorted((labels or {}).items())),
                   tuple(sorted((name, port, proto) for name, (port, proto) in (named_ports or {}).items())), what)

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)


@dataclass(frozen=True)
class Address:
    """An address outside every pod (API server, node-local DNS, an external service)."""

    ip: str
    what: str = "address"


Endpoint = Union[Pod, Address]


@dataclass(frozen=True)
class Flow:
    source: Pod
    destination: Endpoint
    port: int
    protocol: str = "TCP"
    name: str = ""  # what a problem calls it; flows only probed need none


@dataclass(frozen=True)
class ClusterFacts:
    """What the cluster around the stack looks like. api_server None: it may be any IP on 443 or 6443."""

    api_server: tuple[tuple[str, int], ...] | None = None
    api_server_ports: tuple[int, ...] = (443, 6443)


# --- label selectors -------------------------------------------------------------------------------

def selector_matches(selector: Mapping | None, labels: Mapping[str, str]) -> bool:
    """metav1.LabelSelector semantics; an empty selector matches everything."""
    if not selector:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def namespace_of(obj: dict) -> str:
    """The namespace of a namespaced object (the API server puts one without any in `default`)."""
    return obj["metadata"].get("namespace") or "default"


# --- policies --------------------------------------------------------------------------------------

@dataclass
class Policy:
    name: str
    namespace: str
    pod_selector: dict
    ingress: list[dict] | None  # None: not isolating ingress
    egress: list[dict] | None

    @staticmethod
    def of(obj: dict) -> "Policy":
        spec = obj.get("spec") or {}
        types = spec.get("policyTypes")
        if types is None:
            types = ["Ingress"] + (["Egress"] if "egress" in spec else [])
        return Policy(
            name=obj["metadata"]["name"],
            namespace=namespace_of(obj),
            pod_selector=spec.get("podSelector") or {},
            ingress=(spec.get("ingress") or []) if "Ingress" in types else None,
            egress=(spec.get("egress") or []) if "Egress" in types else None,
        )


class PolicyIndex:
    """Policies by namespace, and within a namespace by one (key, value) of their matchLabels."""

    def __init__(self, policies: Iterable[Policy]):
        self._by_label: dict[str, dict[tuple[str, str], list[Policy]]] = {}
        self._unindexed: dict[str, list[Policy]] = {}
        for policy in policies:
            match_labels = policy.pod_selector.get("matchLabels") or {}
            if match_labels:
                key = sorted(match_labels.items())[0]
                self._by_label.setdefault(policy.namespace, {}).setdefault(key, []).append(policy)
            else:
                self._unindexed.setdefault(policy.namespace, []).append(policy)
        self._cache: dict[Pod, list[Policy]] = {}

    def selecting(self, pod: Pod) -> list[Policy]:
        if pod not in self._cache:
            labels = pod.label_map
            by_label = self._by_label.get(pod.namespace, {})
            candidates = list(self._unindexed.get(pod.namespace, []))
            for item in pod.labels:
                candidates.extend(by_label.get(item, []))
            self._cache[pod] = [p for p in candidates if selector_matches(p.pod_selector, labels)]
        return self._cache[pod]


# --- the evaluator ---------------------------------------------------------------------------------

class Network:
    """The policies and namespaces of a render, answering: is this flow allowed?"""

    def __init__(self, objects: Iterable[dict]):
        self.namespace_labels: dict[str, dict[str, str]] = {}
        policies = []
        for obj in objects:
            kind = obj.get("kind")
            if kind == "Namespace":
                name = obj["metadata"]["name"]
                self.namespace_labels[name] = {**(obj["metadata"].get("labels") or {}), NAMESPACE_NAME_LABEL: name}
            elif kind == "NetworkPolicy" and str(obj.get("apiVersion")).startswith("networking.k8s.io/"):
                policies.append(Policy.of(obj))
        self.index = PolicyIndex(policies)

    def labels_of_namespace(self, namespace: str) -> dict[str, str]:
        return self.namespace_labels.get(namespace) or {NAMESPACE_NAME_LABEL: namespace}

    def blocked(self, flow: Flow) -> str | None:
        """None when the flow is allowed, else which side blocks it."""
        egress = [p for p in self.index.selecting(flow.source) if p.egress is not None]
        if egress and not any(self._rule_allows(p, rule, flow.destination, flow, "to")
                              for p in egress for rule in p.egress):
            return f"egress denied at the source by {_names(egress)}"
        if isinstance(flow.destination, Pod):
            ingress = [p for p in self.index.selecting(flow.destination) if p.ingress is not None]
            if ingress and not any(self._rule_allows(p, rule, flow.source, flow, "from")
                                   for p in ingress for rule in p.ingress):
                return f"ingress denied at the destination by {_names(ingress)}"
        return None

    def ingress_allowed_by(self, flow: Flow) -> list[str] | None:
        """Ingress at the destination pod alone (whatever the source's egress): None when refused, else the
        policies whose rules let it in ([] when no policy isolates the pod's ingress)."""
        ingress = [p for p in self.index.selecting(flow.destination) if p.ingress is not None]
        if not ingress:
            return []
        allowing = sorted({p.name for p in ingress for rule in p.ingress
                           if self._rule_allows(p, rule, flow.source, flow, "from")})
        return allowing or None

    def _rule_allows(self, policy: Policy, rule: dict, peer: Endpoint, flow: Flow, key: str) -> bool:
        peers = rule.get(key) or []
        if peers and not any(self._peer_matches(policy, item, peer) for item in peers):
            return False
        return _ports_match(rule.get("ports") or [], flow)

    def _peer_matches(self, policy: Policy, item: dict, peer: Endpoint) -> bool:
        if "ipBlock" in item:
            return isinstance(peer, Address) and _in_block(peer.ip, item["ipBlock"])
        if not isinstance(peer, Pod):
            return False
        if "namespaceSelector" in item:
            if not selector_matches(item["namespaceSelector"], self.labels_of_namespace(peer.namespace)):
                return False
        elif peer.namespace != policy.namespace:
            return False
        return selector_matches(item.get("podSelector"), peer.label_map)

    def some_address_allowed(self, source: Pod, ports: Iterable[int]) -> bool:
        """Is there any address outside the cluster's pods that `source` may reach on one of `ports`?"""
        egress = [p for p in self.index.selecting(source) if p.egress is not None]
        candidates = [Address("192.0.2.1")]  # for rules without peers (every destination)
        for policy in egress:
            for rule in policy.egress:
                for item in rule.get("to") or []:
                    if "ipBlock" in item:
                        candidates.extend(Address(ip) for ip in _addresses_in(item["ipBlock"]))
        return any(self.blocked(Flow(source, address, port)) is None
                   for address in candidates for port in ports)


def _names(policies: list[Policy]) -> str:
    return ", ".join(sorted({p.name for p in policies}))


@functools.lru_cache(maxsize=4096)
def _network(text: str):
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


@functools.lru_cache(maxsize=4096)
def _address(text: str):
    return ipaddress.ip_address(text)


def _in_block(ip: str, block: dict) -> bool:
    address, network = _address(ip), _network(block["cidr"])
    if network is None or address.version != network.version or address not in network:
        return False
    return not any((hole := _network(text)) is not None and hole.version == address.version and address in hole
                   for text in block.get("except") or [])


def _addresses_in(block: dict) -> list[str]:
    """A few addresses of an ipBlock, one of which lies outside its excepts when any does."""
    network = _network(block["cidr"])
    if network is None:
        return []
    picks = [network.network_address]  # the first address outside the excepts follows one of them, if it is not this
    for hole in filter(None, map(_network, block.get("except") or [])):
        if hole.broadcast_address in network and hole.broadcast_address < network.broadcast_address:  # in: same IP version
            picks.append(hole.broadcast_address + 1)
    return [str(ip) for ip in picks]


def _ports_match(rule_ports: list[dict], flow: Flow) -> bool:
    if not rule_ports:
        return True
    for item in rule_ports:
        if item.get("protocol", "TCP") != flow.protocol:
            continue
        port = item.get("port")
        if port is None:
            return True
        if isinstance(port, int):
            if port <= flow.port <= (item.get("endPort") or port):
                return True
        elif isinstance(flow.destination, Pod) and (port, flow.port, flow.protocol) in flow.destination.named_ports:
            return True
    return False


# --- the platform's required and forbidden flows ---------------------------------------------------

PROXY_APPS = {"MCPServer": "mcpserver", "MCPRemoteProxy": "mcpremoteproxy", "VirtualMCPServer": "virtualmcpserver"}
VMCP_PORT = 4483
#: Stands for the remote host of an MCPRemoteProxy named by DNS: a public address (outside every private,
#: loopback and link-local block, which the operator refuses for remoteUrl).
PUBLIC_ADDRESS = "93.184.215.14"
#: A label value no real server has (not a valid Kubernetes name): the pods of "some other server".
OTHER = "~another-server"
ELSEWHERE = "~some-other-namespace"
#: A pod of a namespace no tenant knows.
STRANGER = Pod.of(ELSEWHERE, what="a pod in another namespace")
KUBE_DNS = Pod.of("kube-system", KUBE_DNS_LABELS, {"dns": (DNS_PORT, "UDP"), "dns-tcp": (DNS_PORT, "TCP")}, what="kube-dns")


def client_pod(namespace: str) -> Pod:
    """A pod of a client namespace (any labels: none)."""
    return Pod.of(namespace, what=f"a client pod in {namespace}")


@dataclass
class _Server:
    kind: str
    name: str
    proxy: Pod
    proxy_port: int
    group: str | None = None
    backend: Pod | None = None
    backend_port: int | None = None  # None: stdio, nothing connects to the backend
    store: object | None = None  # the server's own Redis (ServiceAddress)
    remote: tuple[str, int] | None = None  # (address, port) of a remote proxy's server


@dataclass
class _Tenant:
    name: str
    clients: list[str] = field(default_factory=list)
    node_local_dns: list[str] = field(default_factory=list)
    api_server: list[tuple[str, int]] = field(default_factory=list)
    servers: list[_Server] = field(default_factory=list)

    @property
    def workload(self) -> Pod:
        """A pod of the team's own (no operator labels)."""
        return Pod.of(self.name, {"app": "workload"}, what=f"a workload in {self.name}")


def operator_pods(kind: str, namespace: str, name: str = OTHER, proxy_port: int = DEFAULT_PROXY_PORT,
                  what: str | None = None) -> tuple[Pod, Pod | None]:
    """The proxy (and, for an MCPServer, backend) pods the operator creates (operator-objects.md); by default
    those of some other server."""
    common = {"toolhive": "true", "toolhive-name": name}
    app = PROXY_APPS[kind]
    label = what or {"MCPServer": f"MCP server {name}", "MCPRemoteProxy": f"remote proxy {name}",
                     "VirtualMCPServer": f"virtual MCP server {name}"}[kind]
    proxy = Pod.of(namespace, {**common, "app": app, "app.kubernetes.io/name": app, "app.kubernetes.io/instance": name},
                   {"http": (proxy_port, "TCP")}, what=f"proxy of {label}" if kind != "VirtualMCPServer" else label)
    backend = Pod.of(namespace, {**common, "app": name}, what=label) if kind == "MCPServer" else None
    return proxy, backend


def _server(obj: dict) -> _Server:
    kind, spec = obj["kind"], obj.get("spec") or {}
    name, namespace = obj["metadata"]["name"], obj["metadata"]["namespace"]
    port = VMCP_PORT if kind == "VirtualMCPServer" else spec.get("proxyPort") or DEFAULT_PROXY_PORT
    proxy, backend = operator_pods(kind, namespace, name, port)
    storage = spec.get("sessionStorage") or {}
    server = _Server(kind, name, proxy, port, (spec.get("groupRef") or {}).get("name"), backend,
                     store=parse_address(storage["address"]) if storage.get("provider") == "redis" and storage.get("address") else None)
    if kind == "MCPServer" and spec.get("transport", "stdio") != "stdio":
        server.backend_port = spec.get("mcpPort") or DEFAULT_PROXY_PORT
    if kind == "MCPRemoteProxy":
        parts = urlsplit(spec["remoteUrl"])  # required by the CRD
        try:
            host = str(ipaddress.ip_address(parts.hostname))
        except ValueError:
            host = PUBLIC_ADDRESS
        server.remote = (host, parts.port or (443 if parts.scheme == "https" else 80))
    return server


def _tenants(objects: list[dict]) -> dict[str, _Tenant]:
    tenants = {}
    for obj in objects:
        metadata = obj.get("metadata") or {}
        if obj.get("kind") == "Namespace" and (metadata.get("labels") or {}).get(TENANT_LABEL) == "true":
            annotations = metadata.get("annotations") or {}
            tenants[metadata["name"]] = _Tenant(metadata["name"], _split(annotations.get(ALLOW_FROM_ANNOTATION)),
                                                [_first_address(cidr) for cidr in
                                                 _split(annotations.get(NODE_LOCAL_DNS_ANNOTATION))],
                                                [_endpoint(text) for text in _split(annotations.get(API_SERVER_ANNOTATION))])
    for obj in objects:
        if obj.get("kind") in PROXY_APPS and obj["metadata"].get("namespace") in tenants:
            tenants[obj["metadata"]["namespace"]].servers.append(_server(obj))
    return tenants


def _split(text: str | None) -> list[str]:
    return [item for item in (text or "").split(",") if item]


def _first_address(cidr: str) -> str:
    return str(ipaddress.ip_interface(cidr).network.network_address)


def _endpoint(text: str) -> tuple[str, int]:
    cidr, _, port = text.rpartition(":")
    return _first_address(cidr), int(port)


def _operator_env(objects: list[dict]) -> dict[str, str]:
    for obj in objects:
        if obj.get("kind") != "Deployment":
            continue
        for container in obj["spec"]["template"]["spec"].get("containers") or []:
            env = {var.get("name"): var.get("value") for var in container.get("env") or []}
            if REDIS_ADDR_ENV in env or "TOOLHIVE_RUNNER_IMAGE" in env:
                return env
    return {}


def cluster_facts(objects: list[dict]) -> ClusterFacts:
    """The API server endpoints the tenant namespaces declare (toolhive:cluster.apiServer), else any."""
    endpoints = sorted({endpoint for tenant in _tenants(objects).values() for endpoint in tenant.api_server})
    return ClusterFacts(api_server=tuple(endpoints)) if endpoints else ClusterFacts()


def check(objects: list[dict], cluster: ClusterFacts | None = None) -> list[str]:
    """One problem per required flow the rendered NetworkPolicies block, and per MCP server pod that
    admits anyone but its own proxy."""
    cluster = cluster or cluster_facts(objects)
    network = Network(objects)
    tenants = _tenants(objects)
    env = _operator_env(objects)
    watched = set(filter(None, (env.get(WATCH_NAMESPACE_ENV) or "").split(","))) or set(tenants)
    default_store = parse_address(env[REDIS_ADDR_ENV]) if env.get(REDIS_ADDR_ENV) else None
    store_pods = _store_pods(objects)
    problems = []

    def require(flow: Flow, namespace: str) -> None:
        reason = network.blocked(flow)
        if reason:
            problems.append(f"reachability: {flow.name} is blocked in namespace {namespace!r} "
                            f"({_describe(flow)}): {reason}")

    def proxy_egress(proxy: Pod, store, ns: str) -> None:
        store = store or (default_store if ns in watched else None)
        if store:
            _require_session_store(network, require, problems, proxy, store, ns, store_pods)
        if cluster.api_server is not None:
            for ip, port in cluster.api_server:
                require(Flow(proxy, Address(ip, "API server"), port, name="proxy to the Kubernetes API server"), ns)
        elif not network.some_address_allowed(proxy, cluster.api_server_ports):
            problems.append(f"reachability: proxy to the Kubernetes API server is blocked in namespace {ns!r} "
                            f"({proxy.what}): no egress to any address on TCP "
                            f"{'/'.join(map(str, cluster.api_server_ports))}")

    for tenant in sorted(tenants.values(), key=lambda t: t.name):
        ns = tenant.name
        # Proxy egress (API server, session store) is tenant-wide too: a tenant without servers is checked
        # with a stand-in proxy, so the first server deployed there finds them open.
        stand_in = [] if tenant.servers else [operator_pods("MCPServer", ns, "any-mcp-server")[0]]
        pods = [tenant.workload] + [pod for s in tenant.servers for pod in (s.proxy, s.backend) if pod is not None] + stand_in
        for pod in pods:
            for protocol in ("UDP", "TCP"):
                require(Flow(pod, KUBE_DNS, DNS_PORT, protocol, name=f"DNS to kube-dns ({protocol})"), ns)
                for ip in tenant.node_local_dns:
                    require(Flow(pod, Address(ip, "node-local DNS"), DNS_PORT, protocol,
                                 name=f"DNS to NodeLocal DNSCache {ip} ({protocol})"), ns)
        for client in tenant.clients:
            require(Flow(client_pod(client), tenant.workload, 8080, name=f"clients in {client!r} to the team's workloads"), ns)
        vmcps_by_group: dict[str | None, list[_Server]] = {}
        for server in tenant.servers:
            if server.kind == "VirtualMCPServer":
                vmcps_by_group.setdefault(server.group, []).append(server)
        for proxy in stand_in:
            proxy_egress(proxy, None, ns)
        for server in tenant.servers:
            proxy = server.proxy
            proxy_egress(proxy, server.store, ns)
            for client in tenant.clients:
                require(Flow(client_pod(client), proxy, server.proxy_port, name=f"clients in {client!r} to MCP proxies"), ns)
            require(Flow(tenant.workload, proxy, server.proxy_port, name="the team's workloads to MCP proxies"), ns)
            if server.backend_port is not None:
                require(Flow(proxy, server.backend, server.backend_port, name="proxy to its MCP server"), ns)
            if server.remote is not None:
                host, port = server.remote
                require(Flow(proxy, Address(host, "remote server"), port, name="remote proxy to its remote server"), ns)
            if server.kind != "VirtualMCPServer":
                for vmcp in vmcps_by_group.get(server.group, []) if server.group else []:
                    require(Flow(vmcp.proxy, proxy, server.proxy_port,
                                 name=f"virtual MCP server {vmcp.name} to its group's proxies"), ns)
    problems += _backend_isolation(network, tenants)
    return problems + check_registry(objects, cluster)


def _backend_isolation(network: Network, tenants: dict[str, _Tenant]) -> list[str]:
    """Every MCP server pod refuses every pod but its own proxy, even one whose own egress is open: other
    servers' proxies and backends, remote proxies, vMCPs and workloads of every tenant, client namespaces
    and any other namespace (stand-ins for each role, plus the real vMCPs of the server's namespace)."""
    strangers = [STRANGER]
    for tenant in tenants.values():
        strangers.append(tenant.workload)
        strangers += [client_pod(client) for client in tenant.clients]
        for kind in PROXY_APPS:
            proxy, backend = operator_pods(kind, tenant.name, what=f"another {kind} in {tenant.name}")
            strangers += [pod for pod in (proxy, backend) if pod is not None]
    problems = []
    for tenant in sorted(tenants.values(), key=lambda t: t.name):
        local_vmcps = [s.proxy for s in tenant.servers if s.kind == "VirtualMCPServer"]
        for server in tenant.servers:
            if server.backend is None:
                continue
            port = server.backend_port or DEFAULT_PROXY_PORT
            # Anyone may label a pod like this server's proxy in a namespace they control.
            impostor = replace(STRANGER, labels=server.proxy.labels, what="a pod in another namespace labelled like its proxy")
            for source in strangers + local_vmcps + [impostor]:
                allowed_by = network.ingress_allowed_by(Flow(source, server.backend, port))
                if allowed_by is not None:
                    reason = f"allowed by {', '.join(allowed_by)}" if allowed_by else "no NetworkPolicy isolates its ingress"
                    problems.append(f"reachability: MCP server {tenant.name}/{server.name} is reachable from "
                                    f"{source.what} on TCP {port}, not only from its own proxy: {reason}")
    return problems


def _store_pods(objects: list[dict]) -> dict[tuple[str, str], tuple[Pod, dict]]:
    """(namespace, Service name) -> (a pod it selects, {service port: pod port}) for Services the stack
    renders whose workload it renders too (the dev session store): flows to them meet the pod's policies."""
    workloads = [o for o in objects if o.get("kind") in ("StatefulSet", "Deployment")]
    found = {}
    for service in (o for o in objects if o.get("kind") == "Service"):
        selector = (service.get("spec") or {}).get("selector") or {}
        namespace = namespace_of(service)
        for workload in workloads:
            template = workload["spec"]["template"]
            labels = (template.get("metadata") or {}).get("labels") or {}
            if namespace_of(workload) != namespace or not selector or \
                    any(labels.get(k) != v for k, v in selector.items()):
                continue
            named = {p["name"]: (p["containerPort"], p.get("protocol", "TCP"))
                     for c in template["spec"].get("containers") or [] for p in c.get("ports") or [] if p.get("name")}
            targets = {p["port"]: p.get("targetPort") or p["port"] for p in service["spec"].get("ports") or []}
            ports = {port: named[target][0] if target in named else target for port, target in targets.items()}
            name = service["metadata"]["name"]
            found[(namespace, name)] = (Pod.of(namespace, labels, named, what=f"session store {name}.{namespace}"), ports)
    return found


def _require_session_store(network: Network, require, problems: list[str], proxy: Pod, store, ns: str,
                           store_pods: dict | None = None) -> None:
    name = f"proxy to its session store {store.host}:{store.port}"
    if store.namespace or store.same_namespace:
        known = (store_pods or {}).get((store.namespace or ns, store.host.split(".")[0]))
        if known:
            pod, ports = known
            require(Flow(proxy, pod, ports.get(store.port, store.port), name=name), ns)
            return
        destination = Pod.of(store.namespace or ns, what=f"session store {store.host}")
        require(Flow(proxy, destination, store.port, name=name), ns)
    elif store.ip:
        require(Flow(proxy, Address(store.ip, "session store"), store.port, name=name), ns)
    elif not network.some_address_allowed(proxy, [store.port]):
        problems.append(f"reachability: {name} is blocked in namespace {ns!r} ({proxy.what}): "
                        f"no egress to any address on TCP {store.port}")


def _describe(flow: Flow) -> str:
    return f"{flow.source.what} -> {flow.destination.what} on {flow.protocol} {flow.port}"


# --- the MCP registry server ---------------------------------------------------------------------------

REGISTRY_COMPONENT = "registry-api"


def _registry_pods(objects: list[dict]) -> list[tuple[Pod, dict, dict]]:
    """(registry-api pod, its config.yaml as a dict, intent annotations) of every registry in the render:
    a standalone Deployment (config from its `<name>-config` ConfigMap) or an MCPRegistry (the pods the
    operator creates, labelled as ../shared/toolhive/operator-objects.md says)."""
    import yaml

    configmaps = {(o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in objects if o.get("kind") == "ConfigMap"}
    services = {(o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in objects if o.get("kind") == "Service"}
    found = []
    for obj in objects:
        metadata = obj.get("metadata") or {}
        ns, name = metadata.get("namespace"), metadata.get("name")
        if obj.get("kind") == "Deployment":
            labels = (obj["spec"]["template"].get("metadata") or {}).get("labels") or {}
            if labels.get("app.kubernetes.io/component") != REGISTRY_COMPONENT:
                continue
            config = (configmaps.get((ns, f"{name}-config")) or {}).get("data", {}).get("config.yaml", "{}")
            service = services.get((ns, name)) or {}
        elif obj.get("kind") == "MCPRegistry":
            labels = {"app.kubernetes.io/name": f"{name}-api", "app.kubernetes.io/component": REGISTRY_COMPONENT,
                      "app.kubernetes.io/managed-by": "toolhive-operator", "toolhive.stacklok.io/registry-name": name}
            config = obj["spec"]["configYAML"]  # required by the CRD
            service = obj  # the operator creates the Service; the intent rides on the MCPRegistry
        else:
            continue
        pod = Pod.of(ns, labels, {"http": (8080, "TCP")}, what=f"registry server {name}")
        found.append((pod, yaml.safe_load(config) or {}, (service.get("metadata") or {}).get("annotations") or {}))
    return found


def _registry_endpoints(config: dict) -> list[str]:
    """Every URL config.yaml makes the registry server dial: git repositories, API sources, OIDC endpoints."""
    urls = []
    for source in config.get("sources") or []:
        urls += [(source.get("git") or {}).get("repository"), (source.get("api") or {}).get("endpoint")]
    for provider in ((config.get("auth") or {}).get("oauth") or {}).get("providers") or []:
        urls += [provider.get(key) for key in ("issuerUrl", "jwksUrl", "introspectionUrl")]
    return [url for url in urls if isinstance(url, str) and url]


def check_registry(objects: list[dict], cluster: ClusterFacts | None = None) -> list[str]:
    """The registry's required flows: clients in, DNS, its database, the API server (kubernetes source) and
    its git/api endpoints out."""
    cluster = cluster or ClusterFacts()
    network = Network(objects)
    services = {(o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in objects if o.get("kind") == "Service"}
    problems: list[str] = []

    def require(flow: Flow, ns: str) -> None:
        reason = network.blocked(flow)
        if reason:
            problems.append(f"reachability: {flow.name} is blocked in namespace {ns!r} ({_describe(flow)}): {reason}")

    def require_some(name: str, pod: Pod, ports: list[int]) -> None:
        if not network.some_address_allowed(pod, ports):
            problems.append(f"reachability: {name} is blocked in namespace {pod.namespace!r} ({pod.what}): "
                            f"no egress to any address on TCP {'/'.join(map(str, ports))}")

    tenants = _tenants(objects)
    for pod, config, intent in _registry_pods(objects):
        ns = pod.namespace
        for protocol in ("UDP", "TCP"):
            require(Flow(pod, KUBE_DNS, DNS_PORT, protocol, name=f"registry DNS to kube-dns ({protocol})"), ns)
        database = config.get("database") or {}
        host, port = str(database.get("host", "")), int(database.get("port", 5432))
        parts = host.split(".")
        service = services.get((parts[1], parts[0])) if host.endswith(".svc.cluster.local") else None
        if service is not None:
            db_pod = Pod.of(parts[1], service["spec"].get("selector") or {}, {"postgres": (port, "TCP")},
                            what=f"database {parts[0]}")
            require(Flow(pod, db_pod, port, name="registry to its database"), ns)
        elif host:
            require_some("registry to its database", pod, [port])
        sources = config.get("sources") or []
        if any("kubernetes" in source for source in sources):
            if cluster.api_server is not None:
                for ip, api_port in cluster.api_server:
                    require(Flow(pod, Address(ip, "API server"), api_port, name="registry to the Kubernetes API server"), ns)
            else:
                require_some("registry to the Kubernetes API server", pod, list(cluster.api_server_ports))
        for url in _registry_endpoints(config):
            port = endpoint_port(url)
            if port is not None:
                require_some(f"registry to {url}", pod, [port])
        for client in _split(intent.get(ALLOW_FROM_ANNOTATION)):
            require(Flow(client_pod(client), pod, 8080, name=f"clients in {client!r} to the registry"), ns)
            # MCP server pods of a tenant keep their egress allowlist: the tenant's way to the registry is not
            # theirs (a client namespace this stack does not fence is its owner's business).
            if client not in tenants:
                continue
            _, backend = operator_pods("MCPServer", client, what=f"an MCP server pod in {client}")
            if network.blocked(Flow(backend, pod, 8080)) is None:
                problems.append(f"reachability: {backend.what} reaches registry server {ns}/{pod.what.split()[-1]} "
                                "on TCP 8080; only the team's workloads may")
    return problems
