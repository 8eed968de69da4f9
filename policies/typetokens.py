"""Pulumi type tokens of Kubernetes resources, and the mapping from apiVersion/kind.

The Pulumi engine hands policies a type token such as ``kubernetes:apps/v1:Deployment`` rather than
an apiVersion/kind pair. A Kubernetes object maps to ``kubernetes:<group or core>/<version>:<Kind>``:
``v1/Pod`` -> ``kubernetes:core/v1:Pod``, ``toolhive.stacklok.dev/v1beta1/MCPServer`` ->
``kubernetes:toolhive.stacklok.dev/v1beta1:MCPServer`` (custom resources registered through
``pulumi_kubernetes.apiextensions.CustomResource`` get the same token).

(This module is deliberately not called ``types.py``: Pulumi runs the pack with ``policies/`` as the
working directory, where a ``types.py`` would shadow the standard library module.)
"""
from __future__ import annotations

from typing import NamedTuple, Optional

PROVIDER_PREFIX = "kubernetes:"
CORE_GROUP = "core"

TOOLHIVE_GROUP = "toolhive.stacklok.dev"
RBAC_GROUP = "rbac.authorization.k8s.io"
APIEXTENSIONS_GROUP = "apiextensions.k8s.io"
NETWORKING_GROUP = "networking.k8s.io"
AUTOSCALING_GROUP = "autoscaling"

#: ToolHive custom resources that run MCP servers (a namespace holding one "hosts MCP servers").
MCP_WORKLOAD_KINDS = ("MCPServer", "MCPRemoteProxy", "VirtualMCPServer")

# Kinds whose objects are not namespaced (the ones a platform stack creates; anything else is
# treated as namespaced).
CLUSTER_SCOPED_KINDS = frozenset({
    "Namespace", "Node", "PersistentVolume", "ComponentStatus",
    "ClusterRole", "ClusterRoleBinding",
    "CustomResourceDefinition", "APIService",
    "StorageClass", "CSIDriver", "CSINode", "VolumeAttachment",
    "PriorityClass", "RuntimeClass", "IngressClass",
    "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
    "CertificateSigningRequest", "FlowSchema", "PriorityLevelConfiguration",
    "ClusterIssuer",
})

# Well-known tokens.
POD = "kubernetes:core/v1:Pod"
NAMESPACE = "kubernetes:core/v1:Namespace"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
CLUSTER_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
CRD = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"
MCP_SERVER = "kubernetes:toolhive.stacklok.dev/v1beta1:MCPServer"
MCP_REMOTE_PROXY = "kubernetes:toolhive.stacklok.dev/v1beta1:MCPRemoteProxy"
VIRTUAL_MCP_SERVER = "kubernetes:toolhive.stacklok.dev/v1beta1:VirtualMCPServer"


class TypeToken(NamedTuple):
    """The parts of a ``kubernetes:`` type token. ``group`` is ``core`` for the core API group."""

    group: str
    version: str
    kind: str

    @property
    def api_version(self) -> str:
        """The Kubernetes apiVersion: ``v1`` for core, ``<group>/<version>`` otherwise."""
        if self.group == CORE_GROUP:
            return self.version
        return f"{self.group}/{self.version}" if self.version else self.group

    @property
    def api_group(self) -> str:
        """The Kubernetes API group: ``""`` for core."""
        return "" if self.group == CORE_GROUP else self.group


def type_token(api_version: str, kind: str) -> str:
    """The Pulumi type token of an object with this apiVersion and kind."""
    group, _, version = str(api_version).strip().rpartition("/")
    return f"{PROVIDER_PREFIX}{group or CORE_GROUP}/{version}:{kind}"


def parse_type_token(token: str) -> Optional[TypeToken]:
    """Split a ``kubernetes:<group>/<version>:<Kind>`` token; None for tokens of other providers or
    malformed ones. Non-object tokens of the provider (``kubernetes:yaml/v2:ConfigGroup``,
    ``kubernetes:helm.sh/v3:Release``) parse too; no policy matches their kinds."""
    if not isinstance(token, str) or not token.startswith(PROVIDER_PREFIX):
        return None
    parts = token.split(":")
    if len(parts) != 3 or not parts[2]:
        return None
    group, _, version = parts[1].rpartition("/")
    if not group:  # e.g. "kubernetes:yaml:ConfigFile"
        group, version = version, ""
    return TypeToken(group, version, parts[2])


def is_kubernetes_type(token: str) -> bool:
    """True for type tokens of the Kubernetes provider (``kubernetes:...``)."""
    return isinstance(token, str) and token.startswith(PROVIDER_PREFIX)
