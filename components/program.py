"""The Pulumi program: read and validate config, resolve images, build the platform, export outputs.

`__main__.py` runs it under the engine; tools/render.py runs the very same function under the mock
runtime, with an offline digest resolver instead of Amazon ECR.
"""
from __future__ import annotations

import pulumi

from components.config.loader import load_stack_config
from components.images import DigestResolver, resolve_images
from components.platform.toolhive_platform import ToolHivePlatform
from components.registry.git_sources import PinResolver
from components.registry.images import registry_images


def run(digest_resolver: DigestResolver | None = None, pins: PinResolver | None = None) -> ToolHivePlatform:
    """Everything is validated (config, images, registry data and pins) before the first resource is registered.

    `pins` resolves the registry's git sources: the engine entry point resolves online and records the
    commits in registry/sources.lock.json; the default (the offline renderer, tests) reads that lock only.
    """
    config = load_stack_config()
    images = resolve_images(config.images, digest_resolver)
    extra = registry_images(config, digest_resolver) if config.registry is not None else {}
    platform = ToolHivePlatform("toolhive", config, images, pins=pins, registry_images=extra)
    for key, value in platform.outputs.items():
        pulumi.export(key, value)
    return platform
