"""Stack config: tenant namespaces (`toolhive:namespaces`) with their fences, access and groups."""
from __future__ import annotations

import ipaddress
from typing import Annotated, Literal, Optional

from pydantic import AfterValidator, Field, model_validator

from components.config.base import (_PSA_VERSION, Cidr, KeyedError, Labels, Model, Name, NamespaceName, ObjectName, Port,
                                     Quantity, Subject, _matches, unique)
from components.k8s.labels import RESERVED_NAMESPACE_LABEL_PREFIXES
from components.k8s.quantity import parse_quantity


class PodSecurity(Model):
    level: Literal["baseline", "restricted"] = Field("restricted", description="Pod Security Admission level (enforce, audit, warn).")
    version: Annotated[str, AfterValidator(_matches(_PSA_VERSION, "a policy version such as v1.33"))] = Field(
        "v1.33", description="Pinned Pod Security Standards version, so a cluster upgrade never tightens it silently."
    )


class Quota(Model):
    """The namespace's ResourceQuota: compute, object counts, and storage and exposure a team can claim."""

    requests_cpu: Quantity = Field("4")
    requests_memory: Quantity = Field("8Gi")
    limits_cpu: Quantity = Field("8")
    limits_memory: Quantity = Field("16Gi")
    pods: int = Field(40, ge=1)
    mcp_servers: int = Field(20, ge=0, description="MCPServer objects the namespace may hold.")
    persistent_volume_claims: int = Field(10, ge=0, description="PersistentVolumeClaims the namespace may hold.")
    requests_storage: Quantity = Field("50Gi", description="Storage all PersistentVolumeClaims may request together.")
    services_load_balancers: int = Field(
        0, ge=0, description="Services of type LoadBalancer (each one a cloud load balancer); 0: MCP servers are "
        "reached through the cluster's gateway, never exposed directly."
    )
    services_node_ports: int = Field(0, ge=0, description="Services of type NodePort (open a port on every node).")


class LimitAmounts(Model):
    cpu: Quantity
    memory: Quantity


class SomeAmounts(Model):
    cpu: Optional[Quantity] = None
    memory: Optional[Quantity] = None


class Limits(Model):
    """Container defaults and bounds (LimitRange), so a pod without resources still lands under the quota.
    Every container of the namespace is held to them when its pod is created (the LimitRanger admission
    plugin), also those the operator creates; the dry run checks every server against them."""

    default_request: LimitAmounts = Field(default_factory=lambda: LimitAmounts(cpu="50m", memory="64Mi"))
    default: LimitAmounts = Field(default_factory=lambda: LimitAmounts(cpu="500m", memory="512Mi"))
    max: LimitAmounts = Field(default_factory=lambda: LimitAmounts(cpu="2", memory="4Gi"))
    min: Optional[SomeAmounts] = Field(None, description="Smallest request (and limit) a container may state.")
    max_limit_request_ratio: Optional[SomeAmounts] = Field(
        None, description="Largest limit/request a container may have, e.g. cpu: '4' (at least 1).")


class EgressRule(Model):
    cidr: Cidr = Field(description="IPv4 or IPv6 block, e.g. 10.0.0.0/16, 0.0.0.0/0 or ::/0.")
    except_cidrs: list[Cidr] = Field(
        default_factory=list, alias="except",
        description="Blocks inside cidr that stay closed, e.g. 169.254.169.254/32 (cloud metadata).",
    )
    ports: list[Port] = Field(default_factory=list, description="Ports; empty means every port.")
    protocol: Literal["TCP", "UDP", "SCTP"] = Field("TCP", description="Protocol of the ports.")

    @model_validator(mode="after")
    def _except_inside_cidr(self) -> "EgressRule":
        # The API server refuses an except that is not a strict subset of cidr (same IP family).
        try:
            block = ipaddress.ip_network(self.cidr, strict=False)
        except ValueError:
            return self  # the Cidr type reports it
        for index, text in enumerate(self.except_cidrs):
            try:
                hole = ipaddress.ip_network(text, strict=False)
            except ValueError:
                continue
            if hole.version != block.version or not hole.subnet_of(block) or hole == block:
                raise KeyedError(("except", index), f"{text!r} must be a block strictly inside cidr {self.cidr!r}")
        return self


def _default_egress() -> list[EgressRule]:
    return [EgressRule(cidr="0.0.0.0/0", ports=[443, 6443]), EgressRule(cidr="::/0", ports=[443, 6443])]


class DnsEgress(Model):
    """Where pods resolve names: kube-dns in kube-system always, plus the NodeLocal DNSCache addresses."""

    node_local: list[Cidr] = Field(
        default_factory=lambda: ["169.254.20.10/32"],
        description="Addresses NodeLocal DNSCache answers on (UDP/TCP 53): its link-local IP and, in iptables "
        "mode, the kube-dns ClusterIP it intercepts. Harmless where no cache runs.",
    )


class Network(Model):
    allow_from: list[Name] = Field(
        default_factory=list, description="Client namespaces whose pods may reach MCP servers here."
    )
    egress: list[EgressRule] = Field(
        default_factory=_default_egress,
        description="Egress beyond DNS, the namespace itself and the default Redis: the Kubernetes API (proxy "
        "runners use it) and the upstream APIs MCP servers call, IPv4 and IPv6. Narrow it in production.",
    )
    dns: DnsEgress = Field(default_factory=DnsEgress)


class Subjects(Model):
    """Who gets a role: names as the cluster's authenticator reports them (never an everyone-group)."""

    groups: Annotated[list[Subject], unique()] = Field(default_factory=list, description="Group names, e.g. platform-team.")
    users: Annotated[list[Subject], unique()] = Field(default_factory=list, description="User names, e.g. dev@example.com.")


class Access(Model):
    viewers: Subjects = Field(default_factory=Subjects, description="Read ToolHive resources.")
    editors: Subjects = Field(default_factory=Subjects, description="Manage MCP servers and their configs.")
    admins: Subjects = Field(default_factory=Subjects, description="Editors, plus Secrets and RoleBindings.")


class McpGroup(Model):
    name: ObjectName
    description: Optional[str] = None


class TenantNamespace(Model):
    """A namespace where teams run MCP servers."""

    name: NamespaceName = Field(description="The namespace (a DNS label; never default or kube-*).")
    pod_security: PodSecurity = Field(default_factory=PodSecurity)
    quota: Quota = Field(default_factory=Quota)
    limits: Limits = Field(default_factory=Limits)
    network: Network = Field(default_factory=Network)
    access: Access = Field(default_factory=Access)
    groups: Annotated[list[McpGroup], unique("name", lambda group: group.name)] = Field(
        default_factory=list, description="MCPGroups to create in the namespace.")
    labels: Labels = Field(default_factory=dict, description="Extra labels; PSA and app.kubernetes.io labels are reserved.")

    @model_validator(mode="after")
    def _labels_not_reserved(self) -> "TenantNamespace":
        for key in self.labels:
            if key.startswith(RESERVED_NAMESPACE_LABEL_PREFIXES):
                raise KeyedError(("labels", key), f"is reserved (set by the program): {', '.join(RESERVED_NAMESPACE_LABEL_PREFIXES)}*")
        clients = self.network.allow_from
        for index, client in enumerate(clients):
            if clients.index(client) != index:
                raise KeyedError(("network", "allowFrom", index), f"{client!r} is listed twice; each entry must be unique")
        return self

    @model_validator(mode="after")
    def _amounts_in_order(self) -> "TenantNamespace":
        """What the API server and the scheduler need: quota limits not below quota requests (else no pod
        with limits fits), and LimitRange defaultRequest <= default <= max (else it is refused)."""
        for resource in ("cpu", "memory"):
            request = getattr(self.quota, f"requests_{resource}")
            limit = getattr(self.quota, f"limits_{resource}")
            if parse_quantity(limit) < parse_quantity(request):
                raise KeyedError(("quota", f"limits{resource.capitalize()}"),
                                 f"{limit} is below quota.requests{resource.capitalize()} ({request}); limits are never below requests")
            steps = [("min", self.limits.min), ("defaultRequest", self.limits.default_request),
                     ("default", self.limits.default), ("max", self.limits.max)]
            steps = [(key, amounts) for key, amounts in steps if amounts is not None and getattr(amounts, resource)]
            for (lower_key, lower), (upper_key, upper) in zip(steps, steps[1:]):
                low, high = getattr(lower, resource), getattr(upper, resource)
                if parse_quantity(low) > parse_quantity(high):
                    raise KeyedError(("limits", lower_key, resource),
                                     f"{low} is above limits.{upper_key}.{resource} ({high}); "
                                     "the LimitRange needs min <= defaultRequest <= default <= max")
            ratio = getattr(self.limits.max_limit_request_ratio, resource, None) if self.limits.max_limit_request_ratio else None
            if ratio is not None:
                bound = parse_quantity(ratio)
                if bound < 1:
                    raise KeyedError(("limits", "maxLimitRequestRatio", resource), f"{ratio} is below 1; a limit is "
                                     "never below its request")
                request = parse_quantity(getattr(self.limits.default_request, resource))
                default = parse_quantity(getattr(self.limits.default, resource))
                if request == 0 or default / request > bound:
                    raise KeyedError(("limits", "maxLimitRequestRatio", resource),
                                     f"{ratio} is below limits.default.{resource} / limits.defaultRequest.{resource} "
                                     f"({getattr(self.limits.default, resource)} / "
                                     f"{getattr(self.limits.default_request, resource)}); the API server refuses the "
                                     "LimitRange")
        return self

