"""The stack's own Kubernetes provider: the cluster named in `toolhive:cluster`, nothing ambient.

Every Kubernetes resource of the program uses it (the platform component passes it to all children).
Options whose defaults an environment variable could change are set explicitly, so a `PULUMI_K8S_*`
variable on a CI runner cannot switch them: Server-Side Apply on, upsert of existing objects only in
adoption mode, patch force never provider-wide (only per adopted object, by annotation).
"""
from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.config.cluster import ClusterConfig


def cluster_provider(config: ClusterConfig, opts: pulumi.ResourceOptions | None = None) -> k8s.Provider:
    return k8s.Provider(
        "kubernetes",
        context=config.context,
        kubeconfig=config.kubeconfig,
        enable_server_side_apply=True,
        # pulumi-kubernetes >= 4.29 fails to create an object that already exists; adoption opts back in.
        upsert_existing_objects=config.adopt_existing,
        enable_patch_force=False,
        opts=opts,
    )
