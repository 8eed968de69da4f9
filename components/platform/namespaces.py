"""A tenant namespace: where a team's MCP servers run, fenced in by default.

Creates the Namespace (Pod Security Admission enforce/audit/warn, pinned version), a ResourceQuota and
a LimitRange, and NetworkPolicies: deny everything, then allow DNS, traffic inside the namespace (the
proxy runner talks to its MCP server pod), ingress from the named client namespaces and the configured
egress. Then the default Redis password Secret and the namespace's MCPGroups, if configured. The Namespace is retained on delete and protected by default: deleting it deletes every MCP
server in it. Its fences (quota, LimitRange, NetworkPolicies) share those options, so a destroy never
leaves a tenant namespace standing but open.
"""
from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.k8s import naming
from components.config import TenantNamespace as TenantNamespaceConfig
from components.platform.crds import ToolHiveCrds
from components.k8s.labels import TENANT_LABEL, pod_security_labels, standard_labels

DNS_PORTS = [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]


def _namespace_selector(name: str) -> dict:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}


class TenantNamespace(pulumi.ComponentResource):
    """One tenant namespace and the fences around it."""

    def __init__(self, name: str, config: TenantNamespaceConfig, *, crds: ToolHiveCrds, protect: bool = True,
                 redis_password: pulumi.Output | None = None, opts: pulumi.ResourceOptions | None = None):
        super().__init__("toolhive:platform:TenantNamespace", name, None, opts)
        ns = config.name
        labels = standard_labels(ns, "mcp-tenant")

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
            },
            opts=pulumi.ResourceOptions(parent=self, protect=protect, retain_on_delete=True),
        )
        inside = pulumi.ResourceOptions(parent=self, depends_on=[self.namespace])
        # The fences live and die with the namespace: a destroy that keeps the namespace keeps them too.
        fence = pulumi.ResourceOptions.merge(inside, pulumi.ResourceOptions(protect=protect, retain_on_delete=True))

        quota = config.quota
        self.resource_quota = k8s.core.v1.ResourceQuota(
            naming.resource_name(ns, "resourcequota", naming.TENANT_QUOTA),
            metadata={"name": naming.TENANT_QUOTA, "namespace": ns, "labels": labels},
            spec={"hard": {
                "requests.cpu": quota.requests_cpu,
                "requests.memory": quota.requests_memory,
                "limits.cpu": quota.limits_cpu,
                "limits.memory": quota.limits_memory,
                "pods": str(quota.pods),
                "count/mcpservers.toolhive.stacklok.dev": str(quota.mcp_servers),
            }},
            opts=fence,
        )

        limits = config.limits
        self.limit_range = k8s.core.v1.LimitRange(
            naming.resource_name(ns, "limitrange", naming.TENANT_LIMIT_RANGE),
            metadata={"name": naming.TENANT_LIMIT_RANGE, "namespace": ns, "labels": labels},
            spec={"limits": [{
                "type": "Container",
                "defaultRequest": limits.default_request.model_dump(),
                "default": limits.default.model_dump(),
                "max": limits.max.model_dump(),
            }]},
            opts=fence,
        )

        self.network_policies = [self._network_policy(ns, labels, policy_name, spec, fence)
                                 for policy_name, spec in self._network_policy_specs(config)]

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

    @staticmethod
    def _network_policy_specs(config: TenantNamespaceConfig) -> list[tuple[str, dict]]:
        everything = {"podSelector": {}}
        specs = [
            (naming.NETPOL_DEFAULT_DENY, {**everything, "policyTypes": ["Ingress", "Egress"]}),
            (naming.NETPOL_DNS_EGRESS, {**everything, "policyTypes": ["Egress"], "egress": [{
                "to": [{**_namespace_selector("kube-system"), "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                "ports": DNS_PORTS,
            }]}),
            (naming.NETPOL_SAME_NAMESPACE, {**everything, "policyTypes": ["Ingress", "Egress"],
                                            "ingress": [{"from": [{"podSelector": {}}]}],
                                            "egress": [{"to": [{"podSelector": {}}]}]}),
        ]
        if config.network.allow_from:
            specs.append((naming.NETPOL_FROM_CLIENTS, {**everything, "policyTypes": ["Ingress"], "ingress": [
                {"from": [_namespace_selector(client) for client in config.network.allow_from]},
            ]}))
        if config.network.egress:
            rules = []
            for rule in config.network.egress:
                entry = {"to": [{"ipBlock": {"cidr": rule.cidr}}]}
                if rule.ports:
                    entry["ports"] = [{"protocol": "TCP", "port": port} for port in rule.ports]
                rules.append(entry)
            specs.append((naming.NETPOL_EGRESS, {**everything, "policyTypes": ["Egress"], "egress": rules}))
        return specs

    def _network_policy(self, ns: str, labels: dict, policy_name: str, spec: dict,
                        opts: pulumi.ResourceOptions) -> k8s.networking.v1.NetworkPolicy:
        return k8s.networking.v1.NetworkPolicy(
            naming.resource_name(ns, "networkpolicy", policy_name),
            metadata={"name": policy_name, "namespace": ns, "labels": labels},
            spec=spec,
            opts=opts,
        )
