"""Per-server NetworkPolicies: only a server's proxy reaches its MCP server pods.

For an MCPServer `<name>` (selectors from operator_objects, rules from components.k8s.netpol):
- `<name>-backend` selects the MCP server pods (`app=<name>`): ingress only from this server's proxy
  pods on `mcpPort` (none at all for stdio: the proxy attaches through the API server); egress only to
  the server's `network.egress` allowlist (DNS comes from the tenant's `allow-dns-egress`).
- `<name>-proxy` selects its proxy pods: ingress on `proxyPort` from the tenant's client namespaces, the
  server's own `network.allowFrom`, the team's workloads in the namespace and the group's
  VirtualMCPServer pods; egress to its backend on `mcpPort`, the API server (`toolhive:cluster.apiServer`)
  and its own session store.
An MCPRemoteProxy gets `<name>-proxy` with egress to the remote host's port on public addresses; a
VirtualMCPServer gets `<name>-vmcp`: ingress on 4483 from the same clients, egress to its group's proxies
and the API server. The tenant-wide allowances (components/platform/namespaces.py) never select MCP
server pods, so nothing else opens them.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

import pulumi
import pulumi_kubernetes as k8s

from components.config.cluster import ApiServerEndpoint
from components.k8s import netpol
from components.k8s.naming import resource_name
from components.servers import operator_objects as objs

#: Addresses a remote MCP server never has (the operator refuses them): private, loopback, link-local.
_NOT_REMOTE = {4: ["10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16"],
               6: ["::1/128", "fc00::/7", "fe80::/10"]}


@dataclass(frozen=True)
class Surroundings:
    """What a server's policies need to know about the stack around it."""

    tenant_clients: tuple[str, ...] = ()  # network.allowFrom of the server's namespace
    group_vmcps: tuple[str, ...] = ()  # VirtualMCPServers aggregating the server's group
    group_members: tuple[tuple[str, str, int], ...] = ()  # for a vMCP: (kind, name, proxyPort) of its group
    api_server: tuple[ApiServerEndpoint, ...] = ()


def policy_name(name: str, role: str) -> str:
    return f"{name}-{role}"


def backend_port(spec) -> int | None:
    """The port the MCP server pods listen on, None for stdio (nothing connects to them): the config requires
    mcpPort for the other transports and refuses it for stdio."""
    return spec.mcp_port


def client_peers(namespace_clients: list[str], vmcps: tuple[str, ...]) -> list[dict]:
    """Who may call a proxy: client namespaces, the team's workloads here, the group's vMCP pods."""
    return ([netpol.namespace_peer(ns) for ns in sorted(set(namespace_clients))]
            + [netpol.pod_peer(expressions=objs.workload_expressions())]
            + [netpol.pod_peer(objs.proxy_selector("VirtualMCPServer", vmcp)) for vmcp in sorted(vmcps)])


def api_server_rules(endpoints: tuple[ApiServerEndpoint, ...]) -> list[dict]:
    return [netpol.egress([netpol.ip_peer(e.cidr)], netpol.ports([e.port])) for e in endpoints]


def session_store_rules(storage) -> list[dict]:
    """Egress to the server's own Redis when it is in the cluster or an IP; a DNS name outside the cluster
    has no peer, so the tenant's network.egress must open it (the reachability check verifies)."""
    if storage is None or storage.provider != "redis" or not storage.address:
        return []
    address = netpol.parse_address(storage.address)
    peer = netpol.address_peer(address)
    if peer is None and address.same_namespace:
        peer = netpol.pod_peer(expressions=objs.workload_expressions())
    return [netpol.egress([peer], netpol.ports([address.port]))] if peer else []


def remote_host_rules(remote_url: str) -> list[dict]:
    """The remote server's port on public addresses (its IP when the URL names one)."""
    parts = urlsplit(remote_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        address = ipaddress.ip_address(parts.hostname)
    except ValueError:
        peers = [netpol.ip_peer("0.0.0.0/0", _NOT_REMOTE[4]), netpol.ip_peer("::/0", _NOT_REMOTE[6])]
    else:
        peers = [netpol.ip_peer(str(ipaddress.ip_network(address)))]
    return [netpol.egress(peers, netpol.ports([port]))]


def egress_allowlist(rules) -> list[dict]:
    """One rule per network.egress entry; an entry without ports opens every port (netpol.rule)."""
    return [netpol.egress([netpol.ip_peer(rule.cidr, rule.except_cidrs)], netpol.ports(rule.ports, rule.protocol))
            for rule in rules]


def policy_specs(kind: str, name: str, spec, around: Surroundings) -> list[tuple[str, dict]]:
    """(NetworkPolicy name, spec) of one server, in the order they are created."""
    clients = client_peers([*around.tenant_clients, *spec.network.allow_from], around.group_vmcps)
    api = api_server_rules(around.api_server)
    store = session_store_rules(spec.session_storage)
    if kind == "MCPServer":
        port = backend_port(spec)
        to_backend = [netpol.egress([netpol.pod_peer(objs.backend_selector(name))], netpol.ports([port]))] if port else []
        from_proxy = [netpol.ingress([netpol.pod_peer(objs.proxy_selector(kind, name))], netpol.ports([port]))] if port else []
        return [
            (policy_name(name, "backend"), netpol.spec(
                objs.backend_selector(name), ingress_rules=from_proxy, egress_rules=egress_allowlist(spec.network.egress))),
            (policy_name(name, "proxy"), netpol.spec(
                objs.proxy_selector(kind, name), ingress_rules=[netpol.ingress(clients, netpol.ports([spec.proxy_port]))],
                egress_rules=to_backend + api + store)),
        ]
    if kind == "MCPRemoteProxy":
        return [(policy_name(name, "proxy"), netpol.spec(
            objs.proxy_selector(kind, name), ingress_rules=[netpol.ingress(clients, netpol.ports([spec.proxy_port]))],
            egress_rules=remote_host_rules(spec.remote_url) + api + store))]
    to_members = [netpol.egress([netpol.pod_peer(objs.proxy_selector(member_kind, member))], netpol.ports([port]))
                  for member_kind, member, port in around.group_members]
    return [(policy_name(name, "vmcp"), netpol.spec(
        objs.proxy_selector(kind, name), ingress_rules=[netpol.ingress(clients, netpol.ports([objs.VMCP_PORT]))],
        egress_rules=to_members + api + store))]


def network_policies(kind: str, name: str, namespace: str, spec, around: Surroundings, *, labels: dict,
                     parent: pulumi.Resource, depends_on: list[pulumi.Resource]) -> list[k8s.networking.v1.NetworkPolicy]:
    return [
        k8s.networking.v1.NetworkPolicy(
            resource_name(namespace, "networkpolicy", policy),
            metadata={"name": policy, "namespace": namespace, "labels": labels},
            spec=body,
            opts=pulumi.ResourceOptions(parent=parent, depends_on=depends_on),
        )
        for policy, body in policy_specs(kind, name, spec, around)
    ]
