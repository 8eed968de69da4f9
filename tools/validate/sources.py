"""Where each registered resource came from: the one mapping from an object (or URN) to its source.

The source of an MCP server's objects is the server file and the field in it
(``servers/dev/fetch.yaml: spec.resources.limits.cpu``) or the inline entry
(``toolhive:servers.mcpServers[0].spec.env``): the server's component registers the file as its input
``source`` (components/servers/), and ``trace.server_field`` knows which field each part of its objects
comes from. Everything else is named by its ``toolhive:`` key (``trace.config_key``): the platform's
objects, the session store and the registry. The dry run, ``warnings.json``, ``policy-report.json`` and
the renderer's stdout all name sources through :class:`Sources`, so they always agree.

Works on what the program registered (``tools.mock_runtime.RegisteredResource``).
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from tools.validate.problem import identity
from tools.validate.trace import SERVER_COMPONENTS, component_type, config_key, server_field, where


class Sources:
    def __init__(self, resources: Iterable[Any], config: Mapping[str, Any] | None = None):
        self.config = dict(config or {})
        self._by_urn: dict[str, tuple[str, str, dict]] = {}  # urn -> (type, parent, inputs)
        self._by_object: dict[tuple[str, str, str], str] = {}
        for resource in resources:
            self._by_urn[resource.urn] = (resource.type, resource.parent, resource.inputs)
            if _is_object(resource.type, resource.inputs):
                self._by_object.setdefault(identity(resource.inputs), resource.urn)

    def of(self, urn: str | None, path: str = "$") -> str | None:
        """The source of the resource ``urn`` (and of the field at ``path`` of it), or None if unknown."""
        found = self._by_urn.get(urn)
        if found is None:
            return None
        type_, parent, inputs = found
        server = self._server_component(urn)
        if server is not None:
            source = server["source"]
            return where(source, server_field(inputs, path, server) if _is_object(type_, inputs) else "")
        if _is_object(type_, inputs):
            return config_key(parent, inputs, path, self.config)
        return None

    def of_object(self, kind: str, namespace: str, name: str, path: str) -> str | None:
        """The source of a Kubernetes object by its identity (what a dry-run problem names)."""
        return self.of(self.urn_of(kind, namespace, name), path)

    def urn_of(self, kind: str, namespace: str, name: str) -> str | None:
        return self._by_object.get((kind, namespace, name))

    def _server_component(self, urn: str) -> dict | None:
        """The inputs of the MCP server component ``urn`` is (or belongs to), if any."""
        visited: set[str] = set()  # a parent cycle (not something the engine makes) ends the walk
        while urn not in visited:  # the stack's parent, "", is no resource: the walk ends there
            visited.add(urn)
            found = self._by_urn.get(urn)
            if found is None:
                return None
            type_, parent, inputs = found
            if component_type(urn) in SERVER_COMPONENTS and isinstance(inputs.get("source"), str):
                return inputs
            urn = parent
        return None


def _is_object(type_: str, inputs: dict) -> bool:
    """A Kubernetes object (kind and metadata in its inputs), not a component or another provider's resource."""
    return type_.startswith("kubernetes:") and "kind" in inputs
