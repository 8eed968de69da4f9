"""One thing the API server or the engine would reject, located as precisely as we can."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Iterable

_PLAIN_KEY = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$-]*$")
# "Kind/namespace/name: message" or "Kind/namespace/name: $.path: message" (what plug-in checks return)
_OBJECT_PREFIX = re.compile(r"^(?P<kind>[A-Za-z][A-Za-z0-9]*)/(?P<namespace>[a-z0-9-]*)/(?P<name>[^\s/]+?): (?P<rest>.*)$", re.S)


@dataclass(frozen=True, order=True)
class Problem:
    """``kind``/``namespace``/``name`` of the object (empty for a problem of no single object), ``path`` a
    JSON path into it (``$.spec.replicas``), ``message`` what is wrong, and ``config_key`` the
    ``toolhive:`` key that produced it, where that is traceable."""

    kind: str
    namespace: str
    name: str
    path: str
    message: str
    config_key: str | None = None
    #: Other objects the problem is about, as (kind, namespace, name, JSON path): e.g. the largest users
    #: of an exceeded quota. The dry run names their source after the message.
    blame: tuple[tuple[str, str, str, str], ...] = ()

    @property
    def object(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}" if self.kind else ""

    def with_key(self, key: str | None) -> "Problem":
        return replace(self, config_key=key)

    def __str__(self) -> str:
        where = ": ".join(part for part in (self.object, self.path if self.path != "$" else "") if part)
        text = f"{where}: {self.message}" if where else self.message
        return f"{self.config_key}: {text}" if self.config_key else text


def json_path(parts: Iterable[Any]) -> str:
    """``$.spec.containers[0].env`` from ``["spec", "containers", 0, "env"]``."""
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(str(part)):
            out += f".{part}"
        else:
            out += "['" + str(part).replace("\\", "\\\\").replace("'", "\\'") + "']"
    return out


def identity(obj: Any) -> tuple[str, str, str]:
    """(kind, namespace, name) of a manifest, '?' where missing."""
    if not isinstance(obj, dict):
        return "?", "", "?"
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    kind = obj.get("kind") if isinstance(obj.get("kind"), str) and obj.get("kind") else "?"
    namespace = meta.get("namespace") if isinstance(meta.get("namespace"), str) else ""
    return kind, namespace, str(meta.get("name") or meta.get("generateName") or "?")


def problem(obj: Any, path: Iterable[Any] | str, message: str) -> Problem:
    """A problem at ``path`` (parts or a JSON path) of ``obj``."""
    kind, namespace, name = identity(obj)
    return Problem(kind, namespace, name, path if isinstance(path, str) else json_path(path), message)


def from_text(text: str) -> Problem:
    """A plug-in check's string as a Problem: 'Kind/namespace/name: [$.path: ]message', else object-less."""
    match = _OBJECT_PREFIX.match(text)
    if not match:
        return Problem("", "", "", "$", text)
    rest = match["rest"]
    path = "$"
    if rest.startswith("$"):
        path, sep, message = rest.partition(": ")
        rest = message if sep else rest
    return Problem(match["kind"], match["namespace"], match["name"], path, rest)
