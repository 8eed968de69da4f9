"""Offline schema validation of rendered Kubernetes manifests.

Every object (a manifest dict with ``apiVersion``/``kind``/``metadata``...) is checked against a schema:

* **Built-in kinds** (including ``apiextensions.k8s.io/v1`` ``CustomResourceDefinition`` objects) against
  the Kubernetes OpenAPI schema of the requested version (default 1.33), in the *strict* flavour bundled
  with ``kubernetes-validate`` (``v1.33.0-local-strict``: every object rejects unknown fields). The kind is
  looked up through the ``x-kubernetes-group-version-kind`` index of the bundled ``_definitions.json``.
* **Custom resources** (e.g. ``toolhive.stacklok.dev/v1beta1`` ``MCPServer``) against the
  ``openAPIV3Schema`` of that version in the CRD files of ``crd_dir`` (default: the project's bundled
  ``components/bundle/crds/v0.44.0/``). Kubernetes
  structural-schema semantics are applied as far as JSON Schema can express them:

  - ``x-kubernetes-*`` keywords are annotations, except as below;
  - objects (``type: object`` / ``properties``) on the structural spine reject fields that are not declared,
    unless ``x-kubernetes-preserve-unknown-fields: true`` or ``additionalProperties`` is set. The API server
    would silently *prune* such fields; we report them as ``unknown field`` errors because a field that is
    dropped on admission is almost always a bug in the program that rendered it. Sub-schemas under
    ``allOf``/``anyOf``/``oneOf``/``not`` are value validations only and are not made strict;
  - ``nullable: true`` lets ``null`` pass every keyword of that node; without it ``null`` fails ``type``;
  - ``x-kubernetes-int-or-string: true`` requires an integer or a string;
  - ``x-kubernetes-embedded-resource: true`` requires ``apiVersion`` and ``kind`` and checks ``metadata``
    as ObjectMeta;
  - ``x-kubernetes-list-type: set`` / ``map`` (with ``x-kubernetes-list-map-keys``) reject duplicates;
  - ``metadata`` at the root is validated as ObjectMeta (the strict built-in schema) and the name must be a
    DNS-1123 subdomain;
  - the formats the API server checks (``date-time``, ``duration``, ``uri``, ``byte``, ``uuid``, ``ipv4``,
    ``ipv6``, ``cidr``, ``hostname``, ``email``) are checked leniently; ``int32``/``int64`` are ignored as
    the API server ignores them;
  - a version the CRD marks ``served: false`` is an error.

  CEL rules (``x-kubernetes-validations``) are not evaluated here but by ``tools.validate.cel``, the next
  step of the dry run (``tools.validate.dry_run``); defaulting for schema checks and ratcheting are not done.
* For every object, ``metadata`` gets the basic ObjectMeta checks the API server does outside the OpenAPI
  schema: a name (or ``generateName``) is required; its format per kind (DNS-1123 subdomain for custom
  resources and most workload/config kinds, DNS-1035 label for ``Service``, DNS-1123 label for
  ``Namespace``, ``<plural>.<group>`` for a CRD, a path segment otherwise); ``namespace`` a DNS-1123 label;
  label keys/values and annotation keys syntactically valid.
* A kind with no known schema is an error (``no schema for <apiVersion> <kind>``).

Errors are strings ``<kind>/<namespace>/<name>: <json path>: <message>`` (namespace empty for
cluster-scoped or unnamespaced objects), sorted by path within an object, e.g.
``MCPServer/toolhive-system/fetch: $.spec.transport: 'websocket' is not one of ['stdio', 'streamable-http', 'sse']``
or ``Deployment/toolhive-system/op: $.spec.template.spec.containers[0].imagePullPolcy: unknown field "imagePullPolcy"``.

Known gaps: the built-in OpenAPI schema has no enums for string fields (allowed values are only in
descriptions, e.g. ``imagePullPolicy``); the API server's per-kind validation code (cross-field rules,
port ranges, ...) is in ``tools.validate.apiserver`` as far as this program can hit it.

In a dry run, :func:`check` validates custom resources against the CRDs the stack itself applies.

Command line: ``python -m tools.validate.schema FILE_OR_DIR...`` (or ``python -m tools.schema_check``) (YAML/JSON, multi-document; directories are
searched recursively for ``*.yaml``/``*.yml``/``*.json``; ``-`` reads stdin). Prints one error per line,
exits 0 when everything is valid, 1 on schema errors, 2 on unreadable input (or no objects at all).
"""
from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import functools
import hashlib
import ipaddress
import json
import re
import sys
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import jsonschema
import yaml
from jsonschema import Draft4Validator, Draft202012Validator, FormatChecker, ValidationError
from packaging.version import Version
from referencing import Registry, Resource

from tools.validate.problem import Problem, json_path as _json_path, problem

__all__ = [
    "check",
    "crds_for",
    "validate_object",
    "validate_manifests",
    "main",
    "default_crd_dir",
    "has_schema",
    "is_builtin",
    "load_manifests",
    "clear_caches",
]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BUNDLED_CRD_DIR = PROJECT_ROOT / "components" / "bundle" / "crds" / "v0.44.0"

DEFS_URI = "https://kubernetes.io/api/_definitions.json"
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
OBJECT_META_REF = f"{DEFS_URI}#/$defs/{OBJECT_META}"

_MAX_MESSAGE = 240


# --------------------------------------------------------------------------------------------------
# Public API


def default_crd_dir() -> Path:
    """The project's bundled CRD directory (program data: never reference data beside the project)."""
    return BUNDLED_CRD_DIR


def validate_object(obj: dict, *, kubernetes_version: str = "1.33.0", crd_dir: Path | None = None) -> list[str]:
    """Schema errors of one object, each prefixed with '<kind>/<namespace>/<name>: <json path>: <message>'; [] if valid.

    A ``v1`` ``List`` is validated item by item. Raises ``ValueError`` for an unsupported Kubernetes
    version and ``FileNotFoundError`` for an explicit ``crd_dir`` that does not exist.
    """
    builtins = _builtin_catalog(kubernetes_version)
    crds = _crd_catalog(_resolve_crd_dir(crd_dir))
    return [f"{_describe(obj)}: {_json_path(path)}: {msg}" for path, msg in _object_errors(obj, builtins, crds)]


def check(objects: list[dict], *, kubernetes_version: str = "1.33.0", crd_dir: Path | None = None) -> list[Problem]:
    """Schema problems of every object a stack applies: custom resources are checked against the CRDs
    among ``objects`` (else the CRD directory's). Results are cached per object content, so objects that
    repeat between renders (the CRDs themselves) are validated once."""
    builtins = _builtin_catalog(kubernetes_version)
    crds = crds_for(objects, crd_dir)
    problems: list[Problem] = []
    for obj in objects:
        key = (id(crds), builtins.version, _text(obj))
        errors = _RESULTS.get(key)
        if errors is None:
            if len(_RESULTS) >= 4096:
                _RESULTS.clear()
            errors = _RESULTS[key] = tuple(_object_errors(obj, builtins, crds))
        problems.extend(problem(obj, path, message) for path, message in errors)
    return problems


_RESULTS: dict[tuple, tuple] = {}


#: The JSON text of each object of one `same_objects()` block, by identity (with the object, so that its id
#: is not reused while the block lasts). Outside such a block nothing is kept: an object may change between calls.
_TEXTS: dict[int, tuple[Any, str]] | None = None


def _text(obj: Any) -> str:
    """An object's content as canonical JSON: the key of the cached results and CRD catalogs."""
    if _TEXTS is not None:
        held = _TEXTS.get(id(obj))
        if held is not None and held[0] is obj:
            return held[1]
    text = json.dumps(obj, sort_keys=True, default=str)
    if _TEXTS is not None:
        _TEXTS[id(obj)] = (obj, text)
    return text


@contextlib.contextmanager
def same_objects() -> Iterator[None]:
    """While it lasts, the objects checked do not change: each object's JSON text is computed once, though
    `crds_for` and `check` (and the CEL check, through `crds_for`) all key their caches by it. A stack's
    CRDs are over 90% of its bytes; this turns three serializations of them per dry run into one."""
    global _TEXTS
    outer, _TEXTS = _TEXTS, ({} if _TEXTS is None else _TEXTS)
    try:
        yield
    finally:
        _TEXTS = outer


def validate_manifests(objs: Iterable[dict], **kw: Any) -> list[str]:
    """Schema errors of all objects, in order (see :func:`validate_object` for ``kw``)."""
    errors: list[str] = []
    for obj in objs:
        errors.extend(validate_object(obj, **kw))
    return errors


def has_schema(obj: dict, *, kubernetes_version: str = "1.33.0", crd_dir: Path | None = None) -> bool:
    """Whether a schema (built-in or from a CRD in ``crd_dir``) is known for the object's apiVersion/kind."""
    gvk = _gvk(obj)
    if gvk is None:
        return False
    return gvk in _builtin_catalog(kubernetes_version).gvk or gvk in _crd_catalog(_resolve_crd_dir(crd_dir)).versions


def is_builtin(obj: dict, *, kubernetes_version: str = "1.33.0") -> bool:
    """Whether the object's apiVersion/kind is a built-in kind of that Kubernetes version."""
    gvk = _gvk(obj)
    return gvk is not None and gvk in _builtin_catalog(kubernetes_version).gvk


def load_manifests(path: Path | str) -> list[dict]:
    """All non-empty documents of a YAML/JSON file (``-`` = stdin), parsed the way kubectl parses them
    (timestamps stay strings). Raises ``OSError`` / ``yaml.YAMLError`` on unreadable input."""
    text = sys.stdin.read() if str(path) == "-" else Path(path).read_text(encoding="utf-8")
    return [doc for doc in yaml.load_all(text, Loader=_ManifestLoader) if doc is not None]


def clear_caches() -> None:
    """Forget loaded schemas and compiled validators (e.g. after CRD files changed)."""
    _builtin_catalog_for.cache_clear()
    _crd_catalog.cache_clear()
    _STACK_CATALOGS.clear()
    _RESULTS.clear()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.validate.schema",
        description="Validate Kubernetes manifests offline against the Kubernetes OpenAPI schema and ToolHive CRDs.",
    )
    parser.add_argument("paths", nargs="+", metavar="FILE_OR_DIR", help="YAML/JSON manifest files or directories ('-' = stdin)")
    parser.add_argument("--kubernetes-version", default="1.33.0", help="Kubernetes version of the built-in schemas (default %(default)s)")
    parser.add_argument("--crd-dir", help=f"directory of CRD files (default {default_crd_dir()})")
    parser.add_argument("-q", "--quiet", action="store_true", help="no summary line on stderr")
    args = parser.parse_args(argv)

    try:
        _builtin_catalog(args.kubernetes_version)
        crd_dir = _resolve_crd_dir(args.crd_dir)
        _crd_catalog(crd_dir)
    except (ValueError, OSError) as exc:
        print(f"schema_check: {exc}", file=sys.stderr)
        return 2

    unreadable = False
    n_files = n_objects = 0
    errors: list[str] = []
    for file in _expand_paths(args.paths):
        if isinstance(file, str) and file.startswith("!"):
            print(f"schema_check: {file[1:]}", file=sys.stderr)
            unreadable = True
            continue
        try:
            docs = load_manifests(file)
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            print(f"schema_check: cannot read {file}: {exc}", file=sys.stderr)
            unreadable = True
            continue
        n_files += 1
        n_objects += len(docs)
        for doc in docs:
            errors.extend(
                f"{file}: {err}"
                for err in validate_object(doc, kubernetes_version=args.kubernetes_version, crd_dir=crd_dir)
            )
    for err in errors:
        print(err)
    if n_objects == 0 and not unreadable:
        print("schema_check: no objects found", file=sys.stderr)
        unreadable = True
    if not args.quiet:
        print(f"schema_check: {n_objects} objects in {n_files} files, {len(errors)} errors", file=sys.stderr)
    if unreadable:
        return 2
    return 1 if errors else 0


# --------------------------------------------------------------------------------------------------
# Input


class _ManifestLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe loader (libyaml when available) that keeps timestamps as strings, as sigs.k8s.io/yaml does,
    and tolerates '=' scalars."""


_ManifestLoader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_ManifestLoader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))


def _expand_paths(paths: Iterable[str]) -> Iterator[Path | str]:
    for raw in paths:
        if raw == "-":
            yield "-"
            continue
        p = Path(raw)
        if p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in {".yaml", ".yml", ".json"})
            if not files:
                yield f"!no manifest files (*.yaml, *.yml, *.json) under {p}"
            yield from files
        elif p.exists():
            yield p
        else:
            yield f"!no such file or directory: {p}"


# --------------------------------------------------------------------------------------------------
# Built-in schemas (kubernetes-validate's bundled strict JSON schemas)


@dataclass
class _Builtins:
    version: str
    registry: Registry
    defs: dict[str, Any]
    gvk: dict[tuple[str, str, str], str]
    validators: dict[str, Any] = field(default_factory=dict)

    def validator(self, gvk: tuple[str, str, str]):
        name = self.gvk[gvk]
        v = self.validators.get(name)
        if v is None:
            v = self.validators[name] = Draft202012Validator({"$ref": f"{DEFS_URI}#/$defs/{name}"}, registry=self.registry)
        return v


def _schema_root() -> Path:
    import importlib.resources

    return Path(str(importlib.resources.files("kubernetes_validate") / "kubernetes-json-schema"))


@functools.lru_cache(maxsize=None)
def _available_versions() -> tuple[Version, ...]:
    found = set()
    for d in _schema_root().iterdir():
        m = re.fullmatch(r"v(\d+\.\d+)\.\d+-local-strict", d.name)
        if m and (d / "_definitions.json").is_file():
            found.add(Version(m.group(1)))
    return tuple(sorted(found))


def _pick_version(requested: str) -> str:
    m = re.match(r"^v?(\d+)\.(\d+)", requested.strip())
    if not m:
        raise ValueError(f"not a Kubernetes version: {requested!r}")
    want = Version(f"{m.group(1)}.{m.group(2)}")
    candidates = [v for v in _available_versions() if v <= want]
    available = _available_versions()
    if not candidates or (available and want > available[-1]):
        raise ValueError(
            f"kubernetes-validate has no strict schemas for Kubernetes {requested} "
            f"(available: {', '.join(str(v) for v in available)})"
        )
    return str(candidates[-1])


@functools.lru_cache(maxsize=None)
def _builtin_catalog_for(version: str) -> _Builtins:
    path = _schema_root() / f"v{version}.0-local-strict" / "_definitions.json"
    with path.open(encoding="utf-8") as f:
        contents = json.load(f)
    registry = Registry().with_resource(DEFS_URI, Resource.from_contents(contents)).crawl()
    defs = contents["$defs"]
    gvk: dict[tuple[str, str, str], str] = {}
    for name, schema in defs.items():
        for entry in schema.get("x-kubernetes-group-version-kind") or ():
            key = (entry.get("group", ""), entry["version"], entry["kind"])
            # DeleteOptions/WatchEvent carry one entry per group; they are never manifests anyway.
            gvk.setdefault(key, name)
    return _Builtins(version=version, registry=registry, defs=defs, gvk=gvk)


def _builtin_catalog(kubernetes_version: str) -> _Builtins:
    return _builtin_catalog_for(_pick_version(kubernetes_version))


# --------------------------------------------------------------------------------------------------
# CRD schemas


@dataclass
class _CrdVersion:
    group: str
    plural: str
    served: bool
    schema: dict[str, Any] | None
    source: str
    _validator: Any = None

    def validator(self, registry: Registry):
        if self._validator is None:
            self._validator = _CustomResourceValidator(
                _prepare_root(self.schema), registry=registry, format_checker=_CR_FORMATS
            )
        return self._validator


@dataclass
class _Crds:
    versions: dict[tuple[str, str, str], _CrdVersion]


def _resolve_crd_dir(crd_dir: Path | None) -> Path | None:
    if crd_dir is None:
        d = default_crd_dir()
        return d.resolve() if d.is_dir() else None
    d = Path(crd_dir)
    if not d.is_dir():
        raise FileNotFoundError(f"CRD directory not found: {d}")
    return d.resolve()


@functools.lru_cache(maxsize=None)
def _crd_catalog(directory: Path | None) -> _Crds:
    if directory is None:
        return _Crds({})
    files = sorted(f for f in directory.iterdir() if f.is_file() and f.suffix.lower() in {".yaml", ".yml", ".json"})
    return _Crds(_crd_versions((doc, file.name) for file in files for doc in load_manifests(file)))


def _is_crd(doc: Any) -> bool:
    return (isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition"
            and str(doc.get("apiVersion")).startswith("apiextensions.k8s.io/"))


def _crd_versions(docs: Iterable[tuple[Any, str]]) -> dict[tuple[str, str, str], _CrdVersion]:
    """Every (group, version, kind) the CRDs among ``docs`` ((document, source) pairs) define; first one wins."""
    versions: dict[tuple[str, str, str], _CrdVersion] = {}
    for doc, source in docs:
        if not _is_crd(doc):
            continue
        spec = doc.get("spec") or {}
        names = spec.get("names") or {}
        for v in spec.get("versions") or ():
            key = (spec.get("group", ""), v.get("name", ""), names.get("kind", ""))
            if key not in versions:
                versions[key] = _CrdVersion(
                    group=key[0], plural=names.get("plural", ""), served=bool(v.get("served", True)),
                    schema=((v.get("schema") or {}).get("openAPIV3Schema")), source=source,
                )
    return versions


_STACK_CATALOGS: dict[str, _Crds] = {}


def crds_for(objects: Iterable[Any], crd_dir: Path | None = None) -> _Crds:
    """The CRDs a dry run validates custom resources against: those among ``objects`` (what the stack
    applies) first, then the CRD directory's. Cached by content, so a repeated render costs a hash."""
    crds = [obj for obj in objects if _is_crd(obj)]
    directory = _resolve_crd_dir(crd_dir)
    base = _crd_catalog(directory)
    if not crds:
        return base
    digest = hashlib.sha1("\n".join(map(_text, crds)).encode()).hexdigest() + str(directory)
    catalog = _STACK_CATALOGS.get(digest)
    if catalog is None:
        versions = _crd_versions((doc, f"stack:{doc.get('metadata', {}).get('name', '?')}") for doc in crds)
        for key, version in base.versions.items():
            versions.setdefault(key, version)
        if len(_STACK_CATALOGS) >= 8:
            _STACK_CATALOGS.clear()
        catalog = _STACK_CATALOGS[digest] = _Crds(versions)
    return catalog


# Structural-schema preparation: mark the objects on the spine that reject unknown fields.

_FIELDS_KEY = "x-schema-check-known-fields"
_EMBEDDED_FIELDS = ("apiVersion", "kind", "metadata")


def _prepare(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    node = dict(node)
    if isinstance(node.get("properties"), dict):
        node["properties"] = {k: _prepare(v) for k, v in node["properties"].items()}
    if isinstance(node.get("additionalProperties"), dict):
        node["additionalProperties"] = _prepare(node["additionalProperties"])
    if isinstance(node.get("items"), dict):
        node["items"] = _prepare(node["items"])
    is_object = node.get("type") == "object" or "properties" in node
    if is_object and node.get("x-kubernetes-preserve-unknown-fields") is not True and "additionalProperties" not in node:
        known = set(node.get("properties") or ())
        if node.get("x-kubernetes-embedded-resource") is True:
            known.update(_EMBEDDED_FIELDS)
        node[_FIELDS_KEY] = sorted(known)
    return node


def _prepare_root(schema: dict[str, Any]) -> dict[str, Any]:
    root = _prepare(schema)
    props = dict(root.get("properties") or {})
    meta = (schema.get("properties") or {}).get("metadata")
    # The API server validates root metadata as ObjectMeta; the CRD may only narrow name/generateName.
    props["metadata"] = {"allOf": [{"$ref": OBJECT_META_REF}, meta]} if isinstance(meta, dict) else {"$ref": OBJECT_META_REF}
    for known in ("apiVersion", "kind"):  # known fields; a non-string one never gets here (no schema to look up)
        props.setdefault(known, {})
    root["properties"] = props
    if root.get("x-kubernetes-preserve-unknown-fields") is not True:
        root[_FIELDS_KEY] = sorted(props)
    return root


# Custom keywords of the custom-resource validator.


def _kw_known_fields(validator, known, instance, schema):
    if not isinstance(instance, dict):
        return
    allowed = set(known)
    for key in instance:
        if key not in allowed:
            yield ValidationError(f"unknown field {json.dumps(key)} (the API server would prune it)", path=[key])


def _kw_int_or_string(validator, value, instance, schema):
    if value is True and not (isinstance(instance, str) or (isinstance(instance, int) and not isinstance(instance, bool))):
        if instance is None and schema.get("nullable") is True:
            return
        yield ValidationError(f"{_short(instance)} is not of type 'integer' or 'string'")


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


_MISSING = object()


def _kw_list_type(validator, value, instance, schema):
    if not isinstance(instance, list):
        return
    seen: dict[Any, int] = {}
    if value == "set":
        for i, item in enumerate(instance):
            key = _canon(item)
            if key in seen:
                yield ValidationError(f"duplicate value {_short(item)} (same as [{seen[key]}]; list-type set)", path=[i])
            else:
                seen[key] = i
    elif value == "map":
        keys = schema.get("x-kubernetes-list-map-keys") or []
        item_props = (schema.get("items") or {}).get("properties") or {}  # structural schemas: items is one schema
        if not keys:
            return
        for i, item in enumerate(instance):
            if not isinstance(item, dict):
                continue
            parts = []
            for k in keys:
                v = item.get(k, (item_props.get(k) or {}).get("default", _MISSING))
                if v is _MISSING:
                    break
                parts.append(_canon(v))
            else:
                key = tuple(parts)
                if key in seen:
                    shown = ", ".join(f"{k}={p}" for k, p in zip(keys, parts))
                    yield ValidationError(f"duplicate entry with {shown} (same as [{seen[key]}]; list-type map)", path=[i])
                else:
                    seen[key] = i


def _kw_embedded(validator, value, instance, schema):
    if value is not True or not isinstance(instance, dict):
        return
    for f in ("apiVersion", "kind"):
        if not isinstance(instance.get(f), str) or not instance.get(f):
            yield ValidationError(f"embedded resource needs a non-empty {f!r}")
    if "metadata" in instance:
        yield from validator.descend(instance["metadata"], {"$ref": OBJECT_META_REF}, path="metadata")


def _skip_null(fn, validator, value, instance, schema):
    """A keyword that lets ``null`` pass where the node says ``nullable: true``."""
    if instance is None and schema.get("nullable") is True:
        return
    result = fn(validator, value, instance, schema)
    if result is not None:
        yield from result


# Partials of module functions, built at import: every call of a keyword runs `_skip_null` as it is now.
_CR_KEYWORDS = {k: functools.partial(_skip_null, fn) for k, fn in Draft4Validator.VALIDATORS.items()}
_CR_KEYWORDS.update(
    {
        _FIELDS_KEY: functools.partial(_skip_null, _kw_known_fields),
        "x-kubernetes-int-or-string": _kw_int_or_string,
        "x-kubernetes-list-type": functools.partial(_skip_null, _kw_list_type),
        "x-kubernetes-embedded-resource": functools.partial(_skip_null, _kw_embedded),
    }
)
# OpenAPI v3.0 (what CRDs use) is based on JSON Schema draft 4 (boolean exclusiveMinimum/Maximum, ...).
_CustomResourceValidator = jsonschema.validators.extend(Draft4Validator, validators=_CR_KEYWORDS)


# Formats the API server validates (k8s.io/kube-openapi strfmt); lenient approximations.

_CR_FORMATS = FormatChecker(formats=())
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?$")
_GO_DURATION = re.compile(r"^[-+]?(0|((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+)$")
_UNIT_DURATION = re.compile(
    r"^(\s*-?\d+(\.\d+)?\s*(ns|us|µs|μs|ms|s|sec|secs|second|seconds|m|min|mins|minute|minutes|h|hr|hrs|hour|hours"
    r"|d|day|days|w|wk|wks|week|weeks)\s*)+$"
)
_UUID = re.compile(r"^(?i:[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12})$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


@_CR_FORMATS.checks("date-time")
@_CR_FORMATS.checks("datetime")
def _fmt_date_time(value: Any) -> bool:
    return not isinstance(value, str) or bool(_DATE_TIME.match(value))


@_CR_FORMATS.checks("duration")
def _fmt_duration(value: Any) -> bool:
    return not isinstance(value, str) or bool(_GO_DURATION.match(value) or _UNIT_DURATION.match(value))


@_CR_FORMATS.checks("uri")
def _fmt_uri(value: Any) -> bool:
    # Go url.ParseRequestURI: an absolute URI (with scheme) or an absolute path; no spaces.
    if not isinstance(value, str):
        return True
    if not value or any(c.isspace() for c in value):
        return False
    parsed = urllib.parse.urlsplit(value)
    return bool(parsed.scheme) or value.startswith("/")


@_CR_FORMATS.checks("byte")
def _fmt_byte(value: Any) -> bool:
    if not isinstance(value, str):
        return True
    try:
        base64.b64decode(value, validate=True)
        return True
    except (binascii.Error, ValueError):
        return False


@_CR_FORMATS.checks("uuid")
def _fmt_uuid(value: Any) -> bool:
    return not isinstance(value, str) or bool(_UUID.match(value))


@_CR_FORMATS.checks("email")
def _fmt_email(value: Any) -> bool:
    return not isinstance(value, str) or bool(_EMAIL.match(value))


@_CR_FORMATS.checks("ipv4")
def _fmt_ipv4(value: Any) -> bool:
    try:
        return not isinstance(value, str) or bool(ipaddress.IPv4Address(value))
    except ValueError:
        return False


@_CR_FORMATS.checks("ipv6")
def _fmt_ipv6(value: Any) -> bool:
    try:
        return not isinstance(value, str) or bool(ipaddress.IPv6Address(value))
    except ValueError:
        return False


@_CR_FORMATS.checks("cidr")
def _fmt_cidr(value: Any) -> bool:
    try:
        return not isinstance(value, str) or bool(ipaddress.ip_network(value, strict=False))
    except ValueError:
        return False


@_CR_FORMATS.checks("hostname")
def _fmt_hostname(value: Any) -> bool:
    return not isinstance(value, str) or _is_dns1123_subdomain(value.lower().rstrip("."))


# --------------------------------------------------------------------------------------------------
# Validation


def _gvk(obj: Any) -> tuple[str, str, str] | None:
    if not isinstance(obj, dict):
        return None
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if not (isinstance(api_version, str) and api_version and isinstance(kind, str) and kind):
        return None
    group, _, version = api_version.rpartition("/")
    return group, version, kind


def _object_errors(obj: Any, builtins: _Builtins, crds: _Crds) -> list[tuple[list, str]]:
    if not isinstance(obj, dict):
        return [([], f"not an object but {type(obj).__name__}")]
    gvk = _gvk(obj)
    if gvk is None:
        missing = [f for f in ("apiVersion", "kind") if not (isinstance(obj.get(f), str) and obj.get(f))]
        return [([], f"missing or empty {' and '.join(missing)}")]

    if gvk == ("", "v1", "List") and isinstance(obj.get("items"), list):
        return [
            (["items", i, *p], m)
            for i, item in enumerate(obj["items"])
            for p, m in _object_errors(item, builtins, crds)
        ]

    errors: list[tuple[list, str]] = []
    if gvk in builtins.gvk:
        validator = builtins.validator(gvk)
        for err in validator.iter_errors(obj):
            errors.extend(_convert(err))
    elif gvk in crds.versions:
        crd = crds.versions[gvk]
        if not crd.served:
            return [([], f"version {gvk[1]} of {gvk[2]} is not served (CRD {crd.plural}.{crd.group})")]
        if crd.schema is None:
            errors.append(([], f"CRD {crd.plural}.{crd.group} has no openAPIV3Schema for {gvk[1]}; fields not checked"))
        else:
            for err in crd.validator(builtins.registry).iter_errors(obj):
                errors.extend(_convert(err))
    else:
        return [([], f"no schema for {obj['apiVersion']} {obj['kind']}")]

    errors.extend(_metadata_errors(obj, gvk, is_cr=gvk not in builtins.gvk))
    seen: set[tuple[str, str]] = set()
    unique = []
    for p, m in errors:
        key = (_json_path(p), m)
        if key not in seen:
            seen.add(key)
            unique.append((p, m))
    # stable, document-like order: by path (list indexes numerically; an int key of a map before its text keys),
    # then message
    unique.sort(key=lambda e: ([(False, x) if isinstance(x, int) else (True, str(x)) for x in e[0]], e[1]))
    return unique


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 5] + "...}" if isinstance(value, dict) else text[: limit - 3] + "..."


def _truncate(message: str) -> str:
    return message if len(message) <= _MAX_MESSAGE else message[: _MAX_MESSAGE - 3] + "..."


def _types(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _not_of_type(instance: Any, types: list[str]) -> str:
    """Which types the value should have had; null only when it is the only one (nullable is said elsewhere)."""
    shown = [t for t in types if t != "null"] or types
    return f"{_short(instance)} is not of type {' or '.join(repr(t) for t in shown)}"


def _convert(err: ValidationError) -> list[tuple[list, str]]:
    path = list(err.absolute_path)
    if err.validator == "additionalProperties":  # `false` in the strict built-in schemas (none has patternProperties)
        known = set(err.schema.get("properties") or ())
        extras = [k for k in err.instance if k not in known]
        if extras:
            return [([*path, k], f"unknown field {json.dumps(k)}") for k in extras]
    if err.validator in ("oneOf", "anyOf") and err.context and all(e.validator == "type" for e in err.context):
        types: list[str] = []
        for e in err.context:
            for t in _types(e.validator_value):
                if t not in types:
                    types.append(t)
        return [(path, _not_of_type(err.instance, types))]
    if err.validator == "type":
        return [(path, _not_of_type(err.instance, _types(err.validator_value)))]
    return [(path, _truncate(err.message))]


# Metadata checks the API server does outside the OpenAPI schema.

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

# Built-in kinds whose names the API server requires to be DNS-1123 subdomains (others: path segment).
_SUBDOMAIN_KINDS = {
    ("", "Pod"), ("", "ConfigMap"), ("", "Secret"), ("", "ServiceAccount"), ("", "PersistentVolumeClaim"),
    ("", "ReplicationController"), ("", "ResourceQuota"), ("", "LimitRange"), ("", "Node"), ("", "Endpoints"),
    ("apps", "Deployment"), ("apps", "StatefulSet"), ("apps", "DaemonSet"), ("apps", "ReplicaSet"),
    ("batch", "Job"), ("batch", "CronJob"), ("autoscaling", "HorizontalPodAutoscaler"),
    ("networking.k8s.io", "Ingress"), ("networking.k8s.io", "IngressClass"), ("networking.k8s.io", "NetworkPolicy"),
    ("policy", "PodDisruptionBudget"), ("scheduling.k8s.io", "PriorityClass"), ("storage.k8s.io", "StorageClass"),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
    ("coordination.k8s.io", "Lease"),
}


def _is_dns1123_subdomain(value: str) -> bool:
    return len(value) <= 253 and bool(_DNS1123_SUBDOMAIN.match(value))


def _is_qualified_name(key: str) -> str | None:
    """None if ``key`` is a valid qualified name ([prefix/]name), else the reason."""
    prefix, slash, name = key.rpartition("/")
    if slash and not prefix:
        return "prefix part must be non-empty"
    if slash and not _is_dns1123_subdomain(prefix):
        return f"prefix {prefix!r} must be a DNS-1123 subdomain"
    if not name:
        return "name part must be non-empty"
    if len(name) > 63:
        return "name part must be no more than 63 characters"
    if not _QUALIFIED_NAME.match(name):
        return "name part must consist of alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric"
    return None


def _name_problem(obj: dict, group: str, kind: str, name: str, is_cr: bool) -> str | None:
    """What the API server's name rule of this kind says about ``name``, or None."""
    if is_cr or (group, kind) in _SUBDOMAIN_KINDS:
        if not _is_dns1123_subdomain(name):
            return "must be a DNS-1123 subdomain (lowercase alphanumerics, '-' and '.', at most 253 characters)"
    elif (group, kind) == ("", "Service"):
        if len(name) > 63 or not _DNS1035_LABEL.match(name):
            return "must be a DNS-1035 label (lowercase alphanumerics and '-', starting with a letter, at most 63 characters)"
    elif (group, kind) == ("", "Namespace"):
        if len(name) > 63 or not _DNS1123_LABEL.match(name):
            return "must be a DNS-1123 label (lowercase alphanumerics and '-', at most 63 characters)"
    elif (group, kind) == ("apiextensions.k8s.io", "CustomResourceDefinition"):
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
        names = spec.get("names") if isinstance(spec.get("names"), dict) else {}
        expected = f"{names.get('plural')}.{spec.get('group')}"
        if name != expected:
            return f"must be spec.names.plural + '.' + spec.group ({expected!r})"
    elif name in (".", "..") or "/" in name or "%" in name:
        return "must be a valid path segment (not '.' or '..', no '/' or '%')"
    return None


def _metadata_errors(obj: dict, gvk: tuple[str, str, str], is_cr: bool) -> list[tuple[list, str]]:
    meta = obj.get("metadata")
    if meta is None:
        return [(["metadata"], "required: metadata.name or metadata.generateName")]
    if not isinstance(meta, dict):
        return []  # the schema already reported the type
    errors: list[tuple[list, str]] = []
    name, generate_name = meta.get("name"), meta.get("generateName")
    group, _, kind = gvk
    if not name and not generate_name:
        errors.append((["metadata", "name"], "required: metadata.name or metadata.generateName"))
    elif isinstance(name, str) and name and (problem := _name_problem(obj, group, kind, name, is_cr)):
        errors.append((["metadata", "name"], f"{name!r} {problem}"))
    namespace = meta.get("namespace")
    if isinstance(namespace, str) and namespace and (len(namespace) > 63 or not _DNS1123_LABEL.match(namespace)):
        errors.append((["metadata", "namespace"], f"{namespace!r} must be a DNS-1123 label"))
    labels = meta.get("labels")
    if isinstance(labels, dict):
        for key, value in labels.items():
            reason = _is_qualified_name(str(key))
            if reason:
                errors.append((["metadata", "labels", key], f"invalid label key: {reason}"))
            if isinstance(value, str) and (len(value) > 63 or not _LABEL_VALUE.match(value)):
                errors.append((["metadata", "labels", key],
                               f"invalid label value {value!r}: at most 63 alphanumerics, '-', '_' or '.', "
                               "starting and ending with an alphanumeric"))
    annotations = meta.get("annotations")
    if isinstance(annotations, dict):
        total = 0
        for key, value in annotations.items():
            reason = _is_qualified_name(str(key).lower())
            if reason:
                errors.append((["metadata", "annotations", key], f"invalid annotation key: {reason}"))
            total += len(str(key)) + (len(value) if isinstance(value, str) else 0)
        if total > 256 * 1024:
            errors.append((["metadata", "annotations"], f"annotations total {total} bytes, must be at most 262144"))
    return errors


# --------------------------------------------------------------------------------------------------
# Formatting


def _describe(obj: Any) -> str:
    if not isinstance(obj, dict):
        return "?//?"
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    kind = obj.get("kind") if isinstance(obj.get("kind"), str) and obj.get("kind") else "?"
    namespace = meta.get("namespace") if isinstance(meta.get("namespace"), str) else ""
    name = meta.get("name") or meta.get("generateName") or "?"
    return f"{kind}/{namespace}/{name}"


if __name__ == "__main__":
    sys.exit(main())
