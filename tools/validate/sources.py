"""Where each registered resource came from: the one mapping from an object (or URN) to its source.

The source of an MCP server's objects is the server file and the field in it
(``servers/dev/fetch.yaml: spec.resources.limits.cpu``) or the inline entry
(``toolhive:servers.mcpServers[0].spec.env``): the server's component registers the file as its input
``source`` (components/servers/), and ``trace.server_field`` knows which field each part of its objects
comes from. Everything else is named by its ``toolhive:`` key (``trace.config_key``): the platform's
objects, the session store and the registry. The dry run, ``warnings.json``, ``policy-report.json`` and
the renderer's stdout all name sources through :class:`Sources`, so they always agree.

Works on what the program registered (``tools.mock_runtime.RegisteredResource``) and on the entries of
``resources.json`` alike.
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
            urn, type_, parent, inputs = _fields(resource)
            self._by_urn[urn] = (type_, parent, inputs)
            if type_.startswith("kubernetes:") and "kind" in inputs:
                self._by_object.setdefault(identity(inputs), urn)

    def of(self, urn: str, path: str = "$") -> str | None:
        """The source of the resource ``urn`` (and of the field at ``path`` of it), or None if unknown."""
        found = self._by_urn.get(urn)
        if found is None:
            return None
        type_, parent, inputs = found
        server = self._server_component(urn)
        if server is not None:
            source = server["source"]
            is_object = type_.startswith("kubernetes:") and "kind" in inputs
            return where(source, server_field(inputs, path, server) if is_object else "")
        if type_.startswith("kubernetes:") and "kind" in inputs:
            return config_key(parent, inputs, path, self.config)
        return None

    def of_object(self, kind: str, namespace: str, name: str, path: str = "$") -> str | None:
        """The source of a Kubernetes object by its identity (what a dry-run problem names)."""
        urn = self._by_object.get((kind, namespace, name))
        return self.of(urn, path) if urn is not None else None

    def urn_of(self, kind: str, namespace: str, name: str) -> str | None:
        return self._by_object.get((kind, namespace, name))

    def _server_component(self, urn: str) -> dict | None:
        """The inputs of the MCP server component ``urn`` is (or belongs to), if any."""
        seen = 0
        while urn and seen < 64:
            found = self._by_urn.get(urn)
            if found is None:
                return None
            type_, parent, inputs = found
            if component_type(urn) in SERVER_COMPONENTS and isinstance(inputs.get("source"), str):
                return inputs
            urn, seen = parent, seen + 1
        return None


def _fields(resource: Any) -> tuple[str, str, str, dict]:
    if isinstance(resource, Mapping):
        inputs = resource.get("inputs")
        return (str(resource.get("urn") or ""), str(resource.get("type") or ""), str(resource.get("parent") or ""),
                inputs if isinstance(inputs, dict) else {})
    return resource.urn, resource.type, resource.parent or "", resource.inputs if isinstance(resource.inputs, dict) else {}
