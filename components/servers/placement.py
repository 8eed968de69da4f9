"""Where an MCP server's pods land and what they keep: its PersistentVolumeClaim and GPU placement.

Both reach the operator's backend StatefulSet only through `podTemplateSpec` (container `mcp`):
- storage: a PVC `<server>-data` this stack creates (a stable name, so a re-created server finds its
  data), mounted at `storage.mountPath`;
- gpu: the `nvidia.com/gpu` limit, required node affinity on `nvidia.com/gpu.product`, and the
  `nvidia.com/gpu` NoSchedule taint (as the NVIDIA GPU operator and cloud GPU node pools set it) tolerated.
"""
from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.config.servers import Gpu, Storage
from components.k8s.naming import resource_name

DATA_VOLUME = "data"
GPU_RESOURCE = "nvidia.com/gpu"
GPU_PRODUCT_LABEL = "nvidia.com/gpu.product"


def claim_name(server: str) -> str:
    return f"{server}-data"


def persistent_volume_claim(server: str, namespace: str, storage: Storage, *, labels: dict, parent: pulumi.Resource,
                            depends_on: list[pulumi.Resource]) -> k8s.core.v1.PersistentVolumeClaim:
    """The server's data volume; retained on delete, since it holds what the server wrote."""
    spec: dict = {"accessModes": [storage.access_mode], "resources": {"requests": {"storage": storage.size}}}
    if storage.storage_class:
        spec["storageClassName"] = storage.storage_class
    return k8s.core.v1.PersistentVolumeClaim(
        resource_name(namespace, "pvc", claim_name(server)),
        metadata={"name": claim_name(server), "namespace": namespace, "labels": labels},
        spec=spec,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=depends_on, retain_on_delete=True),
    )


def mount_storage(pod: dict, container: dict, server: str, storage: Storage) -> None:
    pod.setdefault("volumes", []).append({"name": DATA_VOLUME, "persistentVolumeClaim": {"claimName": claim_name(server)}})
    container.setdefault("volumeMounts", []).append({"name": DATA_VOLUME, "mountPath": storage.mount_path})


def place_on_gpu(pod: dict, container: dict, gpu: Gpu) -> None:
    resources = container["resources"] = {key: dict(value) for key, value in container["resources"].items()}
    resources.setdefault("limits", {})[GPU_RESOURCE] = str(gpu.count)
    pod["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": GPU_PRODUCT_LABEL, "operator": "In", "values": list(gpu.products)}]}]}}}
    pod["tolerations"] = [{"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}]
