"""Offline policy checker: the CrossGuard policies over Kubernetes YAML or a rendered resources.json.

Usage::

    python -m policies.check [--config FILE] [--json] PATH...

PATH is a YAML file (multi-document; empty documents skipped; ``kind: List`` expanded), a directory
(searched recursively for *.yaml / *.yml, hidden directories skipped), or a ``.json`` file: a
``resources.json`` written by the offline renderer (a list of registered resources with ``urn``,
``type``, ``name``, ``protect``, ``retain_on_delete``, ``inputs`` ...; entries whose type does not
start with ``kubernetes:`` are skipped; resource options are known, so the protection policy
applies) or a Kubernetes object / List in JSON. ``--config`` takes the JSON accepted by
``pulumi preview --policy-pack-config`` (e.g. policies/config/prod.json).

Output: one line per violation (``file: Kind namespace/name: [policy] enforcement: message``), or
with ``--json`` a JSON list of objects with keys file, kind, namespace, name, policy, enforcement,
message. Exit status: 1 if any mandatory violation, 0 otherwise, 2 for unreadable input or a bad
config.

In-process API (used by the renderer to write policy-report.json)::

    from policies.check import check_objects, views_from_resources, load_config
    views = views_from_resources(json.load(open("resources.json")), source="resources.json")
    violations = check_objects(views, load_config("policies/config/prod.json"))
    report = [v.to_dict() for v in violations]        # the --json shape
    failed = has_mandatory(violations)
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence

import yaml

from .core import (
    ConfigError, ResourceOptions, ResourceView, Violation, check_objects, has_mandatory,
)
from .typetokens import is_kubernetes_type

__all__ = [
    "ConfigError", "InputError", "ResourceView", "Violation", "check_objects", "has_mandatory",
    "load_config", "load_paths", "main", "report_for_render", "views_from_manifests", "views_from_resources",
]

YAML_SUFFIXES = (".yaml", ".yml")
#: libyaml's C parser when PyYAML has it (parsing was 96% of a check in pure Python).
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class InputError(Exception):
    """An input that cannot be read; the message names the file and the reason."""


def _warn(message: str) -> None:
    print(f"policies.check: warning: {message}", file=sys.stderr)


# ---------------------------------------------------------------------------------------------
# Building views
# ---------------------------------------------------------------------------------------------

def _opt_bool(value: Any) -> Optional[bool]:
    return None if value is None else bool(value)


def views_from_resources(entries: Iterable[Mapping[str, Any]], source: str = "resources.json") -> list[ResourceView]:
    """Views of a resources.json-shaped list (one entry per registered Pulumi resource with keys
    urn, type, name, parent, dependencies, protect, retain_on_delete, ignore_changes, inputs).
    Entries whose type does not start with ``kubernetes:`` (components, providers, the stack) are
    skipped. Resource options are taken from ``protect`` / ``retain_on_delete``."""
    views = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise InputError(f"{source}: entry {index} is not an object")
        token = entry.get("type")
        if not is_kubernetes_type(token):
            continue
        inputs = entry.get("inputs")
        if inputs is None:
            inputs = {}
        if not isinstance(inputs, Mapping):
            raise InputError(f"{source}: entry {index} ({entry.get('urn') or token}): inputs is not an object")
        views.append(ResourceView(
            type=token,
            props=dict(inputs),
            name=str(entry.get("name") or ""),
            urn=str(entry.get("urn") or ""),
            opts=ResourceOptions(protect=_opt_bool(entry.get("protect")),
                                 retain_on_delete=_opt_bool(entry.get("retain_on_delete"))),
            source=source,
        ))
    return views


def views_from_manifests(documents: Iterable[Any], source: str = "") -> list[ResourceView]:
    """Views of Kubernetes objects (manifest dicts; None documents skipped; Lists expanded).
    Documents that are not objects raise InputError; objects without apiVersion/kind are skipped
    with a warning."""
    views = []
    for index, doc in enumerate(documents, start=1):
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise InputError(f"{source}: document {index} is a {type(doc).__name__}, not a Kubernetes object")
        api_version, kind = doc.get("apiVersion"), doc.get("kind")
        if not isinstance(api_version, str) or not isinstance(kind, str) or not api_version or not kind:
            _warn(f"{source}: document {index} has no apiVersion/kind; skipped")
            continue
        if kind.endswith("List") and isinstance(doc.get("items"), list):
            views += views_from_manifests(doc["items"], source)
            continue
        views.append(ResourceView.from_manifest(doc, source=source))
    return views


# ---------------------------------------------------------------------------------------------
# Reading inputs
# ---------------------------------------------------------------------------------------------

def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise InputError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    except OSError as error:
        raise InputError(f"{path}: {error.strerror or error}") from None


class _ManifestLoader(YAML_LOADER):
    """Resolves each distinct plain scalar once (manifests repeat the same values thousands of times)."""

    def __init__(self, stream):
        super().__init__(stream)
        self._tags: dict[str, str] = {}

    def resolve(self, kind, value, implicit):
        if kind is yaml.ScalarNode and implicit[0]:  # the tag depends on the text alone
            tag = self._tags.get(value)
            if tag is None:
                tag = self._tags[value] = super().resolve(kind, value, implicit)
            return tag
        return super().resolve(kind, value, implicit)


_STR, _MAP, _SEQ = (f"tag:yaml.org,2002:{name}" for name in ("str", "map", "seq"))
_SCALARS = {f"tag:yaml.org,2002:{name}": yaml.constructor.SafeConstructor.yaml_constructors[f"tag:yaml.org,2002:{name}"]
            for name in ("int", "float", "bool", "null", "timestamp")}


class _Unusual(Exception):
    """A node the direct build leaves to PyYAML's SafeConstructor (merge key, recursive alias, binary...):
    any tag but str, map, seq and the plain scalars."""


def _build(node, loader, open_nodes: set) -> Any:
    """What SafeConstructor builds from `node`, for the plain nodes manifests consist of, minus its bookkeeping."""
    tag = node.tag
    if tag == _STR:
        return node.value
    if tag in _SCALARS:
        return _SCALARS[tag](loader, node)
    if (tag != _MAP and tag != _SEQ) or id(node) in open_nodes:
        raise _Unusual
    open_nodes.add(id(node))
    if tag == _SEQ:
        value: Any = [_build(item, loader, open_nodes) for item in node.value]
    else:
        value = {}
        for key_node, value_node in node.value:
            key, item = _build(key_node, loader, open_nodes), _build(value_node, loader, open_nodes)
            try:
                value[key] = item
            except TypeError:  # an unhashable key: SafeConstructor's error names it
                raise _Unusual from None
    open_nodes.discard(id(node))
    return value


def load_yaml_documents(text: str) -> list[Any]:
    """yaml.safe_load_all(text), the same values, ~2x faster than CSafeLoader alone on large manifests."""
    loader = _ManifestLoader(text)
    documents = []
    try:
        while loader.check_node():
            node = loader.get_node()
            try:
                documents.append(_build(node, loader, set()))
            except _Unusual:
                documents.append(loader.construct_document(node))
    finally:
        loader.dispose()
    return documents


def _load_yaml_file(path: Path) -> list[ResourceView]:
    text = _read_text(path)
    try:
        documents = load_yaml_documents(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None)
        if mark is not None and problem:
            reason = f"line {mark.line + 1}, column {mark.column + 1}: {problem}"
        else:
            reason = " ".join(str(error).split())
        raise InputError(f"{path}: invalid YAML: {reason}") from None
    return views_from_manifests(documents, str(path))


def _load_json_file(path: Path) -> list[ResourceView]:
    text = _read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"{path}: invalid JSON: {error}") from None
    if isinstance(data, list):
        if all(isinstance(e, Mapping) and "type" in e for e in data):
            return views_from_resources(data, str(path))
        return views_from_manifests(data, str(path))
    if isinstance(data, dict):
        return views_from_manifests([data], str(path))
    raise InputError(f"{path}: expected a resources.json list or a Kubernetes object, got {type(data).__name__}")


def _files_under(directory: Path) -> list[Path]:
    found = []
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_file() and path.suffix.lower() in YAML_SUFFIXES:
            found.append(path)
    return found


def load_path(path: Path) -> list[ResourceView]:
    """Views from one PATH argument (file or directory). Raises InputError."""
    if path.is_dir():
        views = []
        for file in _files_under(path):
            views += _load_yaml_file(file)
        return views
    if not path.exists():
        raise InputError(f"{path}: no such file or directory")
    if path.suffix.lower() == ".json":
        return _load_json_file(path)
    return _load_yaml_file(path)


def load_paths(paths: Sequence[str | Path]) -> tuple[list[ResourceView], list[str]]:
    """(views, error messages) over all PATH arguments; every unreadable input is reported."""
    views: list[ResourceView] = []
    errors: list[str] = []
    for raw in paths:
        try:
            views += load_path(Path(raw))
        except InputError as error:
            errors.append(str(error))
    return views, errors


def load_config(path: str | Path) -> dict[str, Any]:
    """A ``--policy-pack-config`` JSON file. Raises ConfigError naming the file and the reason
    (validation against the policies happens in check_objects / resolve_config)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise ConfigError(f"{path}: {reason}") from None
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"{path}: invalid JSON: {error}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object mapping policy names to settings")
    return data


# ---------------------------------------------------------------------------------------------
# Renderer integration
# ---------------------------------------------------------------------------------------------

def report_for_render(resources: Sequence[Mapping[str, Any]], config_path: Optional[str | Path],
                      report_path: str | Path, *, render_dir: Optional[str | Path] = None) -> int:
    """Check a render (resources.json-shaped entries) and write ``report_path`` (policy-report.json:
    the ``--json`` list). Violations are listed on stderr. Returns the checker's exit status: 1 if
    any violation is mandatory, 0 otherwise, 2 (nothing written) for a bad config or malformed
    entries."""
    report_path = Path(report_path)
    # Where the render finally lands (a renderer writes the report while the render is staged elsewhere).
    final_dir = Path(render_dir) if render_dir is not None else report_path.parent
    source = str(final_dir / "resources.json")
    try:
        config = load_config(config_path) if config_path else {}
        violations = check_objects(views_from_resources(resources, source=source), config)
    except ConfigError as error:
        where = f"{config_path}: " if config_path and not str(error).startswith(str(config_path)) else ""
        print(f"policies: bad policy config: {where}{error}", file=sys.stderr)
        return 2
    except InputError as error:
        print(f"policies: cannot check the render: {error}", file=sys.stderr)
        return 2
    report_path.parent.mkdir(parents=True, exist_ok=True)
    with open(report_path, "w", encoding="utf-8") as handle:
        json.dump([v.to_dict() for v in violations], handle, indent=2)
        handle.write("\n")
    for violation in violations:
        print(f"policy {violation.format()}", file=sys.stderr)
    mandatory = sum(1 for v in violations if v.mandatory)
    print(f"policies: {len(violations)} violations ({mandatory} mandatory) -> {final_dir / report_path.name}",
          file=sys.stderr)
    return 1 if mandatory else 0


# ---------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m policies.check",
        description="Run the ToolHive platform policies over Kubernetes YAML or a rendered resources.json.",
    )
    parser.add_argument("--config", metavar="FILE",
                        help="policy config in the `pulumi preview --policy-pack-config` JSON format")
    parser.add_argument("--json", action="store_true", help="print violations as a JSON list")
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="YAML file, directory (recursive *.yaml/*.yml) or resources.json")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)

    config: dict[str, Any] = {}
    if args.config:
        try:
            config = load_config(args.config)
        except ConfigError as error:
            print(f"policies.check: bad --config: {error}", file=sys.stderr)
            return 2

    views, errors = load_paths(args.paths)
    if errors:
        for message in errors:
            print(f"policies.check: cannot read {message}", file=sys.stderr)
        return 2

    try:
        violations = check_objects(views, config)
    except ConfigError as error:
        where = f"{args.config}: " if args.config else ""
        print(f"policies.check: bad --config: {where}{error}", file=sys.stderr)
        return 2

    if args.json:
        json.dump([v.to_dict() for v in violations], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for violation in violations:
            print(violation.format())
    mandatory = sum(1 for v in violations if v.mandatory)
    print(f"policies.check: {len(views)} resources checked, {len(violations)} violations "
          f"({mandatory} mandatory)", file=sys.stderr)
    return 1 if has_mandatory(violations) else 0


if __name__ == "__main__":
    sys.exit(main())
