"""A tenant namespace: where a team's MCP servers run, fenced in by default.

Creates the Namespace (Pod Security Admission enforce/audit/warn, pinned version), a ResourceQuota and
a LimitRange, and NetworkPolicies (built with components.k8s.netpol): deny everything, then allow DNS
(kube-dns and NodeLocal DNSCache) to every pod. The other allowances select by role, never the MCP
server pods (backends), which only their own server's policies open (components/servers/isolation.py):
the team's workloads (pods without the operator's `toolhive` label) talk to each other and take calls
from the proxies, accept the named
client namespaces, reach the tenants that list this one as a client and the configured egress; the
operator's proxies (MCPServer and remote proxies, vMCPs) reach the session store (the operator's default
Redis) and the configured egress — their clients are opened per server. Then the default Redis password
Secret and the namespace's MCPGroups, if configured. The Namespace is retained on delete and
protected by default: deleting it deletes every MCP server in it. Its fences (quota, LimitRange,
NetworkPolicies) share those options, so a destroy never leaves a tenant namespace standing but open.
"""
from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.k8s import naming, netpol
from components.config import TenantNamespace as TenantNamespaceConfig
from components.platform.crds import ToolHiveCrds
from components.k8s.labels import TENANT_LABEL, pod_security_labels, standard_labels
from components.servers.operator_objects import proxy_expressions, workload_expressions



#: pulumi-kubernetes' generic await (>= 4.18): the object is ready once the JSONPath has a value.
WAIT_FOR = "pulumi.com/waitFor"
#: The API server refuses what a quota counts while any of its hard resources has no usage in status
#: (plugin/resourcequota: "status unknown for quota"). The quota controller counts the built-in resources
#: in its first pass, so `up` waits for that.
QUOTA_COUNTED = "jsonpath={.status.used}"
#: The MCPServer count of a tenant, a quota of its own (see TenantNamespace.count_servers).
SERVER_COUNT = "count/mcpservers.toolhive.stacklok.dev"
#: RFC 9535 JSONPath: a name with '/' is quoted in brackets ("unexpected '/'" otherwise, seen in the real run).
SERVERS_COUNTED = f"jsonpath={{.status.used['{SERVER_COUNT}']}}"


class TenantNamespace(pulumi.ComponentResource):
    """One tenant namespace and the fences around it."""

    def __init__(self, name: str, config: TenantNamespaceConfig, *, crds: ToolHiveCrds, protect: bool = True,
                 redis_password: pulumi.Output | None = None, session_store: netpol.ServiceAddress | None = None,
                 client_of: list[str] | None = None, api_server: list[str] | None = None,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("toolhive:platform:TenantNamespace", name, None, opts)
        ns = config.name
        labels = standard_labels(ns, "mcp-tenant")
        intent = netpol.intent_annotations(config.network.allow_from, config.network.dns.node_local, api_server)

        self.namespace = k8s.core.v1.Namespace(
            naming.resource_name("namespace", ns),
            metadata={
                "name": ns,
                "labels": {
                    **config.labels,
                    **labels,
                    **pod_security_labels(config.pod_security.level, config.pod_security.version),
                    TENANT_LABEL: "true",
                },
                **({"annotations": intent} if intent else {}),
            },
            opts=pulumi.ResourceOptions(parent=self, protect=protect, retain_on_delete=True),
        )
        inside = pulumi.ResourceOptions(parent=self, depends_on=[self.namespace])
        # The fences live and die with the namespace: a destroy that keeps the namespace keeps them too.
        fence = pulumi.ResourceOptions.merge(inside, pulumi.ResourceOptions(protect=protect, retain_on_delete=True))

        quota = config.quota
        self.resource_quota = k8s.core.v1.ResourceQuota(
            naming.resource_name(ns, "resourcequota", naming.TENANT_QUOTA),
            # The API server refuses every object a quota counts (pods, Services, PVCs) while the quota's status
            # is unknown, i.e. until the quota controller has counted it once (seen in the real run, tools/e2e:
            # "status unknown for quota"). `up` waits for that status before anything counted.
            metadata={"name": naming.TENANT_QUOTA, "namespace": ns, "labels": labels,
                      "annotations": {WAIT_FOR: QUOTA_COUNTED}},
            spec={"hard": {
                "requests.cpu": quota.requests_cpu,
                "requests.memory": quota.requests_memory,
                "limits.cpu": quota.limits_cpu,
                "limits.memory": quota.limits_memory,
                "pods": str(quota.pods),
                "persistentvolumeclaims": str(quota.persistent_volume_claims),
                "requests.storage": quota.requests_storage,
                "services.loadbalancers": str(quota.services_load_balancers),
                "services.nodeports": str(quota.services_node_ports),
            }},
            opts=fence,
        )

        #: What the tenant's objects wait for: the namespace, and its quota counted.
        self.ready = self.resource_quota
        self._fence, self._labels, self._max_servers = fence, labels, quota.mcp_servers
        #: The MCPServer count quota, made by count_servers once the servers are registered.
        self.server_quota: k8s.core.v1.ResourceQuota | None = None

        limits = config.limits
        self.limit_range = k8s.core.v1.LimitRange(
            naming.resource_name(ns, "limitrange", naming.TENANT_LIMIT_RANGE),
            metadata={"name": naming.TENANT_LIMIT_RANGE, "namespace": ns, "labels": labels},
            spec={"limits": [{
                "type": "Container",
                "defaultRequest": limits.default_request.model_dump(),
                "default": limits.default.model_dump(),
                "max": limits.max.model_dump(),
                **({"min": limits.min.model_dump(exclude_none=True)} if limits.min else {}),
                **({"maxLimitRequestRatio": limits.max_limit_request_ratio.model_dump(exclude_none=True)}
                   if limits.max_limit_request_ratio else {}),
            }]},
            opts=fence,
        )

        self.network_policies = [self._network_policy(ns, labels, policy_name, spec, fence)
                                 for policy_name, spec in self._network_policy_specs(config, session_store, client_of or [])]

        # The default Redis password, where the operator's workloads reference it (secretKeyRef).
        self.redis_secret = None
        if redis_password is not None:
            self.redis_secret = k8s.core.v1.Secret(
                naming.resource_name(ns, "secret", naming.DEFAULT_REDIS_SECRET),
                metadata={"name": naming.DEFAULT_REDIS_SECRET, "namespace": ns, "labels": labels},
                type="Opaque",
                string_data={naming.DEFAULT_REDIS_SECRET_KEY: redis_password},
                opts=inside,
            )

        self.groups = [
            crds.custom_resource("MCPGroup", group.name, ns, {"description": group.description} if group.description else {},
                                 labels=labels, parent=self, depends_on=[self.namespace])
            for group in config.groups
        ]

        self.namespace_name = ns
        self.register_outputs({"name": ns, "podSecurity": config.pod_security.level})

    def count_servers(self, servers: list[pulumi.Resource]) -> k8s.core.v1.ResourceQuota:
        """The quota on the tenant's MCPServer count (`quota.mcpServers`), made after its MCPServers.

        The quota controller counts a custom resource only once its discovery (every 30 s) has seen the CRD,
        and the same `up` creates the CRD. Until then a quota naming the count has unknown usage, and the API
        server refuses every MCPServer in the namespace ("status unknown for quota", the real run's first
        `up` in 4 of 5 runs). So this quota comes after the servers of this `up`, and waits until it has
        counted them: later MCPServers meet it with its usage known. The first `up` is held to the count by
        the offline dry run (tools/validate/admission.py counts every quota's `count/...`).
        """
        ns = self.namespace_name
        self.server_quota = k8s.core.v1.ResourceQuota(
            naming.resource_name(ns, "resourcequota", naming.TENANT_SERVER_QUOTA),
            metadata={"name": naming.TENANT_SERVER_QUOTA, "namespace": ns, "labels": self._labels,
                      "annotations": {WAIT_FOR: SERVERS_COUNTED}},
            spec={"hard": {SERVER_COUNT: str(self._max_servers)}},
            opts=pulumi.ResourceOptions.merge(self._fence, pulumi.ResourceOptions(depends_on=servers)),
        )
        return self.server_quota

    @staticmethod
    def _network_policy_specs(config: TenantNamespaceConfig, session_store: netpol.ServiceAddress | None,
                              client_of: list[str]) -> list[tuple[str, dict]]:
        network = config.network
        dns_rules = [netpol.egress([netpol.namespace_peer("kube-system", netpol.KUBE_DNS_LABELS)], netpol.dns_ports())]
        if network.dns.node_local:
            dns_rules.append(netpol.egress([netpol.ip_peer(cidr) for cidr in network.dns.node_local], netpol.dns_ports()))
        workloads, proxies = workload_expressions(), proxy_expressions()
        specs = [
            (naming.NETPOL_DEFAULT_DENY, netpol.spec(ingress_rules=[], egress_rules=[])),
            (naming.NETPOL_DNS_EGRESS, netpol.spec(egress_rules=dns_rules)),
            # The team's workloads take calls from each other and from the proxies (e.g. a Redis kept here);
            # nothing here selects an MCP server pod: only its own server's policy opens it.
            (naming.NETPOL_SAME_NAMESPACE, netpol.spec(
                expressions=workloads, ingress_rules=[netpol.ingress([netpol.pod_peer(expressions=workloads),
                                                                      netpol.pod_peer(expressions=proxies)])],
                egress_rules=[netpol.egress([netpol.pod_peer()])])),
        ]
        if network.allow_from:
            specs.append((naming.NETPOL_FROM_CLIENTS, netpol.spec(expressions=workloads, ingress_rules=[
                netpol.ingress([netpol.namespace_peer(client) for client in network.allow_from])])))
        # The session store every proxy keeps its sessions in (the operator's default Redis).
        store_peer = netpol.address_peer(session_store) if session_store else None
        if store_peer is None and session_store is not None and session_store.same_namespace:
            store_peer = netpol.pod_peer(expressions=workloads)  # a Redis the team runs here
        if store_peer:
            specs.append((naming.NETPOL_SESSION_STORE_EGRESS, netpol.spec(expressions=proxies, egress_rules=[
                netpol.egress([store_peer], netpol.ports([session_store.port]))])))
        # Tenants that accept clients from this one: their own ingress policy decides which pods and ports.
        if client_of:
            specs.append((naming.NETPOL_TO_TENANTS, netpol.spec(expressions=workloads, egress_rules=[
                netpol.egress([netpol.namespace_peer(tenant) for tenant in client_of])])))
        if network.egress:
            rules = [netpol.egress([netpol.ip_peer(rule.cidr, rule.except_cidrs)],
                                   netpol.ports(rule.ports, rule.protocol) if rule.ports else None)
                     for rule in network.egress]
            specs.append((naming.NETPOL_EGRESS, netpol.spec(expressions=workloads, egress_rules=rules)))
            specs.append((naming.NETPOL_PROXY_EGRESS, netpol.spec(expressions=proxies, egress_rules=rules)))
        return specs

    def _network_policy(self, ns: str, labels: dict, policy_name: str, spec: dict,
                        opts: pulumi.ResourceOptions) -> k8s.networking.v1.NetworkPolicy:
        return k8s.networking.v1.NetworkPolicy(
            naming.resource_name(ns, "networkpolicy", policy_name),
            metadata={"name": policy_name, "namespace": ns, "labels": labels},
            spec=spec,
            opts=opts,
        )
