"""Registry data (`registry.json`, upstream format): validated before deploy, shipped content-hashed.

Validation is what the v1.3.0 server would do on sync, done at preview instead: the vendored JSON Schemas
(schemas/v1.3.0, see SOURCE.md) plus the server's own rules — at least one server, `name` and
`description` on each, unique names, known transports. Every problem names the file and the server.
"""
from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas" / "v1.3.0"
PACKAGE_TRANSPORTS = ("stdio", "streamable-http", "sse")
REMOTE_TRANSPORTS = ("streamable-http", "sse")


@lru_cache(maxsize=None)
def _validator() -> Draft202012Validator:
    schemas = {name: json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
               for name in ("upstream-registry.schema.json", "server.schema.json", "publisher-provided.schema.json")}
    registry = Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in schemas.values())
    return Draft202012Validator(schemas["upstream-registry.schema.json"], registry=registry)


def _server_label(servers: list, index: int) -> str:
    entry = servers[index]  # a schema error's path names an existing item
    name = entry.get("name") if isinstance(entry, dict) else None
    return f"server {name!r} (data.servers[{index}])" if name else f"server data.servers[{index}]"


def _json_path(parts) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in parts) or "."


def validate_registry_data(text: str, where: str) -> list[str]:
    """Every problem of one registry.json, each as `<where>: <server>: <what>`."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        return [f"{where}: not valid JSON: {error}"]
    problems = []
    servers = document.get("data", {}).get("servers") if isinstance(document, dict) else None
    servers = servers if isinstance(servers, list) else []
    for error in sorted(_validator().iter_errors(document), key=lambda e: list(map(str, e.absolute_path))):
        path = list(error.absolute_path)
        if path[:2] == ["data", "servers"] and len(path) > 2:
            problems.append(f"{where}: {_server_label(servers, path[2])}: {_json_path(path[3:])}: {error.message}")
        else:
            problems.append(f"{where}: {_json_path(path)}: {error.message}")
    problems += _server_rules(servers, where)
    return problems


def _server_rules(servers: list, where: str) -> list[str]:
    """The registry server's own rules on top of the schema."""
    if not servers:
        return [f"{where}: data.servers: the registry server refuses data with no servers; add at least one"]
    problems, seen = [], {}
    for index, server in enumerate(servers):
        if not isinstance(server, dict):
            continue
        label = _server_label(servers, index)
        for field in ("name", "description"):
            if not str(server.get(field) or "").strip():
                problems.append(f"{where}: {label}: {field} must be set and not empty")
        name = server.get("name")
        if name in seen:
            problems.append(f"{where}: {label}: name {name!r} is already used by data.servers[{seen[name]}]")
        elif name:
            seen[name] = index
        for position, package in enumerate(server.get("packages") or []):
            kind = ((package or {}).get("transport") or {}).get("type")
            if kind not in PACKAGE_TRANSPORTS:
                problems.append(f"{where}: {label}: packages[{position}].transport.type {kind!r} is not a known "
                                f"transport ({', '.join(PACKAGE_TRANSPORTS)})")
        for position, remote in enumerate(server.get("remotes") or []):
            kind = (remote or {}).get("type")
            if kind not in REMOTE_TRANSPORTS:
                problems.append(f"{where}: {label}: remotes[{position}].type {kind!r} is not a known remote "
                                f"transport ({', '.join(REMOTE_TRANSPORTS)})")
    return problems


def content_hash(text: str) -> str:
    """Short, stable hash of the data: part of the ConfigMap name, so new data means a new ConfigMap."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]
