"""The Pulumi program: read and validate config, resolve images, build the platform, export outputs.

`__main__.py` runs it under the engine; tools/render.py runs the very same function under the mock
runtime, with an offline digest resolver instead of Amazon ECR.
"""
from __future__ import annotations

import pulumi

from components.config.cluster import require_target
from components.config.loader import load_stack_config
from components.images import DigestResolver, resolve_images
from components.platform.helm_adoption import adoptable_objects, patch_force_transformation
from components.platform.provider import cluster_provider
from components.platform.toolhive_platform import ToolHivePlatform


def run(digest_resolver: DigestResolver | None = None) -> ToolHivePlatform:
    """Everything is validated (config, images) before the first resource is registered."""
    config = load_stack_config()
    require_target(config.cluster)
    images = resolve_images(config.images, digest_resolver)
    # One explicit provider for every Kubernetes object: the cluster the stack names, never the ambient one.
    provider = cluster_provider(config.cluster)
    adopt = [patch_force_transformation(adoptable_objects(config))] if config.cluster.adopt_existing else []
    platform = ToolHivePlatform("toolhive", config, images,
                                opts=pulumi.ResourceOptions(providers=[provider], transformations=adopt))
    for key, value in platform.outputs.items():
        pulumi.export(key, value)
    return platform
