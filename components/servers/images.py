"""The servers' own images: each MCPServer's `spec.image` and the session store's Valkey. Mirrored and
digest-pinned exactly like the bundle's images (components/images.resolve_references), before any resource is registered;
a problem names the server file (or `toolhive:` key) and field that chose the image."""
from __future__ import annotations

from components.config import StackConfig
from components.images import DigestResolver, resolve_references
from components.servers.catalog import ServerCatalog

SESSION_STORE = "sessionStore"


def server_images(catalog: ServerCatalog, config: StackConfig, resolver: DigestResolver | None = None
                  ) -> dict[tuple[str, str] | str, str]:
    """(namespace, name) of each MCPServer -> the image it deploys; SESSION_STORE -> the Valkey image."""
    refs: dict[tuple[str, str] | str, str] = {}
    keys: dict[tuple[str, str] | str, str] = {}
    for declared in catalog.of_kind("MCPServer"):
        entry = declared.entry
        refs[entry.namespace, entry.name] = entry.spec.image
        keys[entry.namespace, entry.name] = declared.where("spec.image")
    if config.servers.session_store is not None:
        refs[SESSION_STORE] = config.servers.session_store.image
        keys[SESSION_STORE] = "toolhive:servers.sessionStore.image"
    return resolve_references(refs, config.images, resolver, keys.__getitem__)
