"""Which cluster a stack deploys to, and whether it adopts objects that already exist there.

The program builds its own Kubernetes provider from these settings: nothing ever lands on whatever
cluster the ambient kubeconfig happens to point at (`kubernetes:*` stack keys configure only Pulumi's
default provider, which this program never uses).
"""
from __future__ import annotations

from typing import Optional

from pydantic import Field, model_validator

from components.config.base import KeyedError, Model
from components.errors import ConfigError


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
