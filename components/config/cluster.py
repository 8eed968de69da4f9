"""Which cluster a stack deploys to, and whether it adopts objects that already exist there.

The program builds its own Kubernetes provider from these settings: nothing ever lands on whatever
cluster the ambient kubeconfig happens to point at (`kubernetes:*` stack keys configure only Pulumi's
default provider, which this program never uses).
"""
from __future__ import annotations

from typing import Optional

from pydantic import Field, model_validator

from components.config.base import Cidr, KeyedError, Model, Port
from components.errors import ConfigError


class ApiServerEndpoint(Model):
    """One address block where the Kubernetes API server answers (e.g. the EKS endpoint ENIs' subnets)."""

    cidr: Cidr = Field(description="IPv4 or IPv6 block of the API server endpoints, e.g. 10.20.0.0/16 or 172.20.0.1/32.")
    port: Port = Field(443, description="The port the endpoints listen on (443 on EKS/GKE/AKS, 6443 on kubeadm/kind).")

    def text(self) -> str:
        return f"{self.cidr}:{self.port}"


class ClusterConfig(Model):
    context: Optional[str] = Field(
        None, min_length=1,
        description="kubeconfig context of the cluster this stack deploys to (e.g. kind-toolhive). "
        "Required unless `kubeconfig` names a file whose current context is the target.",
    )
    kubeconfig: Optional[str] = Field(
        None, min_length=1,
        description="Path of the kubeconfig file (default: $KUBECONFIG or ~/.kube/config). A path, "
        "never the file's contents: those are credentials.",
    )
    adopt_existing: bool = Field(
        False,
        description="Migration from the upstream toolhive-operator/toolhive-operator-crds Helm charts: "
        "create objects that already exist by updating them (provider upsertExistingObjects) and take "
        "their fields over from Helm's field manager (pulumi.com/patchForce on the objects the charts "
        "made). Turn it off again once the stack owns them.",
    )

    api_server: list[ApiServerEndpoint] = Field(
        default_factory=list,
        description="Where the Kubernetes API server answers. MCP proxies and virtual MCP servers get egress "
        "to exactly these (they create the backend StatefulSet, attach to stdio pods, discover backends), and "
        "the reachability check verifies that flow against them. Unset: proxies reach it through the tenant's "
        "network.egress and the check accepts any address on 443 or 6443.",
    )

    @model_validator(mode="after")
    def _path_not_contents(self) -> "ClusterConfig":
        if self.kubeconfig is not None and ("\n" in self.kubeconfig or self.kubeconfig.lstrip().startswith(("apiVersion", "{"))):
            raise KeyedError(("kubeconfig",), "must be a path to a kubeconfig file, not its contents")
        return self


def require_target(config: ClusterConfig) -> None:
    """A deployment names its cluster. Checked by the program (not the model), so partial configs
    still parse; raised before any resource is registered."""
    if config.context is None and config.kubeconfig is None:
        raise ConfigError(["toolhive:cluster.context: is required (or toolhive:cluster.kubeconfig): the stack "
                           "deploys only to a cluster it names, never to the ambient current context; "
                           "kubernetes:context is not read"])
