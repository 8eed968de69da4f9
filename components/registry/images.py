"""The registry's images besides the bundle's registryApi: PostgreSQL (in-cluster database) and the image of
the setup-pgpass init container. Mirrored and digest-pinned exactly like the bundle's images."""
from __future__ import annotations

from components.config import StackConfig
from components.images import DigestResolver, resolve_references

POSTGRES = "registryPostgres"
SETUP = "registrySetup"


def registry_images(config: StackConfig, resolver: DigestResolver | None = None) -> dict[str, str]:
    registry = config.registry
    refs = {SETUP: registry.setup_image}
    keys = {SETUP: "toolhive:registry.setupImage"}
    if registry.database.in_cluster is not None:
        refs[POSTGRES] = registry.database.in_cluster.image
        keys[POSTGRES] = "toolhive:registry.database.inCluster.image"
    return resolve_references(refs, config.images, resolver, keys.__getitem__)
