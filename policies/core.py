"""The policy model shared by the CrossGuard pack (``policies.pack``) and the offline checker
(``policies.check``): one definition per policy, run against :class:`ResourceView` objects.

- :class:`ResourceView` - one Kubernetes resource as the policies see it: the Pulumi type token, the
  manifest-shaped props (camelCase dict with apiVersion, kind, metadata, spec ...), the Pulumi name
  and URN, and the resource options when they are known.
- :class:`ResourcePolicy` / :class:`StackPolicy` - name, description, default enforcement level,
  config schema (JSON schema per property, with defaults) and a check function yielding violation
  messages (stack policies: ``(view, message)`` pairs).
- :func:`resolve_config` - enforcement levels and properties from a config in the
  ``pulumi preview --policy-pack-config`` format, resolved like the Pulumi engine does (policy
  defaults, then ``"all"``, then per-policy entries) and validated against each policy's schema.
- :func:`check_objects` - run policies over views; returns :class:`Violation` objects.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence, Union

from . import typetokens

ENFORCEMENT_LEVELS = ("advisory", "mandatory", "remediate", "disabled")
ADVISORY = "advisory"
MANDATORY = "mandatory"
DISABLED = "disabled"
ALL = "all"


# ---------------------------------------------------------------------------------------------
# Values that are not known yet (pulumi preview)
# ---------------------------------------------------------------------------------------------

class _Unknown:
    """A value the engine could not compute yet (an Output during preview)."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<unknown>"

    def __bool__(self) -> bool:
        return False

    def __deepcopy__(self, memo):
        return self

    def __copy__(self):
        return self


UNKNOWN = _Unknown()


def is_unknown(value: Any) -> bool:
    return value is UNKNOWN


class UndecidableError(Exception):
    """A check cannot decide because a value it needs is unknown (preview). The pack turns this into
    the engine's "can't run policy during preview" diagnostic; the offline checker skips the check."""

    def __init__(self, path: str):
        super().__init__(f"value at {path} is not known yet")
        self.path = path


def find_unknown(value: Any, path: str = "") -> Optional[str]:
    """The path of the first unknown value inside `value`, or None."""
    steps = _steps_to_unknown(value)
    if steps is None:
        return None
    for key, is_index in reversed(steps):
        path = f"{path}[{key}]" if is_index else (f"{path}.{key}" if path else str(key))
    return path or "."


def _steps_to_unknown(value: Any) -> Optional[list[tuple[Any, bool]]]:
    # Paths are spelled only once an unknown is found: the pod policies ask this of every pod spec.
    kind = type(value)
    if kind is dict:
        pairs, is_index = value.items(), False
    elif kind is list:
        pairs, is_index = enumerate(value), True
    elif value is UNKNOWN:
        return []
    elif kind in _LEAVES:
        return None
    elif isinstance(value, Mapping):
        pairs, is_index = value.items(), False
    elif isinstance(value, list):
        pairs, is_index = enumerate(value), True
    else:
        return None
    for key, item in pairs:
        steps = _steps_to_unknown(item)
        if steps is not None:
            steps.append((key, is_index))
            return steps
    return None


_LEAVES = frozenset({str, int, float, bool, type(None)})


# ---------------------------------------------------------------------------------------------
# Small accessors tolerant of missing keys, nulls and wrong types
# ---------------------------------------------------------------------------------------------

def as_dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def dig(value: Any, *keys: Union[str, int]) -> Any:
    """value[k1][k2]..., or None when a step is missing or has the wrong type."""
    for key in keys:
        if isinstance(key, int):
            if not isinstance(value, list) or not -len(value) <= key < len(value):
                return None
            value = value[key]
        else:
            if not isinstance(value, dict):
                return None
            value = value.get(key)
    return value


def as_int(value: Any) -> Optional[int]:
    """An integer value (ints, or strings of digits as YAML authors sometimes write); else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


# ---------------------------------------------------------------------------------------------
# Resources as the policies see them
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ResourceOptions:
    """Resource options relevant to the policies. None = not known to the caller (the Pulumi policy
    engine passes ``protect`` but not ``retainOnDelete``)."""

    protect: Optional[bool] = None
    retain_on_delete: Optional[bool] = None


@dataclass
class ResourceView:
    """One Kubernetes resource: its Pulumi type token, manifest-shaped props and identity.

    ``opts`` is None when the resource options are unknown (plain YAML); ``source`` names where the
    resource came from (a file path) for reports.
    """

    type: str
    props: Mapping[str, Any]
    name: str = ""
    urn: str = ""
    opts: Optional[ResourceOptions] = None
    source: str = ""
    _token: Optional[typetokens.TypeToken] = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.props, dict):
            self.props = dict(self.props) if isinstance(self.props, Mapping) else {}
        token = typetokens.parse_type_token(self.type)
        if token is None and not self.type:
            api_version = self.props.get("apiVersion")
            kind = self.props.get("kind")
            if isinstance(api_version, str) and isinstance(kind, str):
                token = typetokens.parse_type_token(typetokens.type_token(api_version, kind))
        self._token = token

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Any], *, source: str = "", name: str = "",
                      urn: str = "", opts: Optional[ResourceOptions] = None) -> "ResourceView":
        """A view of a Kubernetes object (apiVersion/kind mapped to the type token)."""
        manifest = dict(manifest)
        token = typetokens.type_token(str(manifest.get("apiVersion") or ""), str(manifest.get("kind") or ""))
        return cls(type=token, props=manifest, name=name, urn=urn, opts=opts, source=source)

    # identity ---------------------------------------------------------------------------------
    @property
    def group(self) -> str:
        """API group, ``""`` for core."""
        return self._token.api_group if self._token else ""

    @property
    def kind(self) -> str:
        return self._token.kind if self._token else str(self.props.get("kind") or "")

    @property
    def api_version(self) -> str:
        return self._token.api_version if self._token else str(self.props.get("apiVersion") or "")

    def is_kind(self, kind: Union[str, Iterable[str]], group: Optional[Union[str, Iterable[str]]] = None) -> bool:
        own = self.kind
        if own != kind if isinstance(kind, str) else own not in kind:
            return False
        if group is None:
            return True
        return self.group == group if isinstance(group, str) else self.group in group

    def is_toolhive(self, kind: Union[str, Iterable[str]]) -> bool:
        return self.is_kind(kind, typetokens.TOOLHIVE_GROUP)

    @property
    def manifest(self) -> dict:
        """The props as a manifest: apiVersion and kind filled in from the type token if absent."""
        manifest = dict(self.props)
        if self._token:
            if not isinstance(manifest.get("apiVersion"), str):
                manifest["apiVersion"] = self._token.api_version
            if not isinstance(manifest.get("kind"), str):
                manifest["kind"] = self._token.kind
        return manifest

    @property
    def metadata(self) -> dict:
        return as_dict(self.props.get("metadata"))

    @property
    def spec(self) -> dict:
        return as_dict(self.props.get("spec"))

    @property
    def labels(self) -> dict:
        return as_dict(self.metadata.get("labels"))

    @property
    def object_name(self) -> str:
        """metadata.name, else the Pulumi resource name."""
        name = self.metadata.get("name")
        return name if isinstance(name, str) and name else self.name

    @property
    def namespace(self) -> str:
        """metadata.namespace as written ("" when unset)."""
        namespace = self.metadata.get("namespace")
        return namespace if isinstance(namespace, str) else ""

    @property
    def cluster_scoped(self) -> bool:
        return self.kind in typetokens.CLUSTER_SCOPED_KINDS

    @property
    def effective_namespace(self) -> str:
        """The namespace the object lands in: metadata.namespace, else ``default`` (the provider's
        and kubectl's default); "" for cluster-scoped kinds."""
        if self.cluster_scoped:
            return ""
        return self.namespace or "default"

    def describe(self) -> str:
        """e.g. ``MCPServer team-a/fetch`` or ``Namespace team-a``."""
        if self.cluster_scoped or not self.namespace:
            return f"{self.kind} {self.object_name}"
        return f"{self.kind} {self.namespace}/{self.object_name}"


# ---------------------------------------------------------------------------------------------
# Policies
# ---------------------------------------------------------------------------------------------

ResourceCheck = Callable[[ResourceView, Mapping[str, Any]], Iterable[str]]
StackCheck = Callable[[Sequence[ResourceView], Mapping[str, Any]], Iterable[tuple[Optional[ResourceView], str]]]


@dataclass(frozen=True, eq=False)
class _PolicyBase:
    name: str
    description: str
    enforcement: str
    config_schema: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    required: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.enforcement not in ENFORCEMENT_LEVELS:
            raise ValueError(f"{self.name}: unknown enforcement level {self.enforcement!r}")

    def defaults(self) -> dict[str, Any]:
        """Property defaults from the config schema."""
        return {key: copy.deepcopy(schema["default"])
                for key, schema in self.config_schema.items() if "default" in schema}

    def properties(self, given: Optional[Mapping[str, Any]] = None) -> dict[str, Any]:
        """The schema defaults overlaid with `given` properties (``enforcementLevel`` dropped)."""
        props = self.defaults()
        for key, value in dict(given or {}).items():
            if key != "enforcementLevel":
                props[key] = value
        return props


@dataclass(frozen=True, eq=False)
class ResourcePolicy(_PolicyBase):
    """A policy judging one resource at a time. ``check(view, properties)`` yields messages."""

    check: ResourceCheck = field(default=lambda view, props: ())


@dataclass(frozen=True, eq=False)
class StackPolicy(_PolicyBase):
    """A policy judging the whole set of resources. ``check(views, properties)`` yields
    ``(view or None, message)``; the view is the resource the violation is reported against.

    ``reads(view)`` says which resources the check looks at (default: every one). :meth:`evaluate`
    hands the check only those, under the engine and offline alike, so a process that checked part of
    a large input sends back only them."""

    check: StackCheck = field(default=lambda views, props: ())
    reads: Callable[[ResourceView], bool] = field(default=lambda view: True)

    def evaluate(self, views: Iterable[ResourceView], properties: Mapping[str, Any]
                 ) -> Iterable[tuple[Optional[ResourceView], str]]:
        return self.check([view for view in views if self.reads(view)], properties)


Policy = Union[ResourcePolicy, StackPolicy]


@dataclass(frozen=True)
class Violation:
    """One policy violation, as reported by the offline checker and the renderer's report."""

    file: str
    kind: str
    namespace: str
    name: str
    policy: str
    enforcement: str
    message: str
    urn: str = ""

    REPORT_KEYS = ("file", "kind", "namespace", "name", "policy", "enforcement", "message")

    @property
    def mandatory(self) -> bool:
        return self.enforcement == MANDATORY

    def to_dict(self) -> dict[str, str]:
        """The report shape: exactly file, kind, namespace, name, policy, enforcement, message."""
        return {key: getattr(self, key) for key in self.REPORT_KEYS}

    def format(self) -> str:
        """One line: ``file: Kind namespace/name: [policy] enforcement: message``."""
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        message = " ".join(self.message.split())
        return f"{self.file or '-'}: {self.kind} {where}: [{self.policy}] {self.enforcement}: {message}"


# ---------------------------------------------------------------------------------------------
# Configuration (--policy-pack-config format)
# ---------------------------------------------------------------------------------------------

class ConfigError(ValueError):
    """A policy configuration that the engine would reject (or that names unknown policies or
    properties). The message names the policy and property."""


@dataclass(frozen=True)
class PolicySettings:
    enforcement: str
    properties: dict[str, Any]


_JSON_TYPES = {
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
    "array": (list, tuple),
    "object": (dict,),
    "null": (type(None),),
}


def _schema_errors(value: Any, schema: Mapping[str, Any], where: str) -> list[str]:
    """Errors of `value` against the subset of JSON schema used by the config schemas here:
    type, enum, items, minimum, maximum, minLength, minItems, uniqueItems."""
    errors: list[str] = []
    expected = schema.get("type")
    if expected is not None:
        types = [expected] if isinstance(expected, str) else list(expected)
        ok = False
        for name in types:
            python_types = _JSON_TYPES.get(name, ())
            if isinstance(value, bool) and name in ("integer", "number"):
                continue
            if isinstance(value, python_types):
                ok = True
        if not ok:
            return [f"{where}: expected {' or '.join(types)}, got {json.dumps(value, default=str)}"]
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(json.dumps(v) for v in schema["enum"])
        errors.append(f"{where}: {json.dumps(value, default=str)} is not one of {allowed}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{where}: must be >= {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{where}: must be <= {schema['maximum']}")
    if isinstance(value, str) and "minLength" in schema and len(value) < schema["minLength"]:
        errors.append(f"{where}: must be at least {schema['minLength']} characters")
    if isinstance(value, (list, tuple)):
        if "minItems" in schema and len(value) < schema["minItems"]:
            errors.append(f"{where}: must have at least {schema['minItems']} items")
        if schema.get("uniqueItems") and len({json.dumps(v, sort_keys=True) for v in value}) != len(value):
            errors.append(f"{where}: items must be unique")
        if isinstance(schema.get("items"), Mapping):
            for index, item in enumerate(value):
                errors += _schema_errors(item, schema["items"], f"{where}[{index}]")
    return errors


def _parse_entry(key: str, value: Any) -> tuple[Optional[str], dict[str, Any]]:
    """(enforcement level or None, properties) of one config entry."""
    if isinstance(value, str):
        level, props = value, {}
    elif isinstance(value, Mapping):
        props = dict(value)
        level = props.pop("enforcementLevel", None)
        if level is not None and not isinstance(level, str):
            raise ConfigError(f'policy "{key}": enforcementLevel must be a string, got {json.dumps(level)}')
    else:
        raise ConfigError(
            f'policy "{key}": expected an enforcement level string or an object, got {json.dumps(value)}')
    if level is not None and level not in ENFORCEMENT_LEVELS:
        raise ConfigError(
            f'policy "{key}": "{level}" is not a valid enforcement level ({", ".join(ENFORCEMENT_LEVELS)})')
    return level, props


def resolve_config(policies: Sequence[Policy], config: Optional[Mapping[str, Any]] = None) -> dict[str, PolicySettings]:
    """Enforcement level and properties of every policy, given a ``--policy-pack-config`` style
    mapping. Resolution follows the Pulumi engine: policy defaults (enforcement and schema defaults),
    then ``"all"`` (enforcement only), then each policy's entry (enforcement and properties merged
    over the defaults). Raises :class:`ConfigError` for malformed entries, unknown policy or
    property names, values that do not match the schema and missing required properties."""
    by_name = {policy.name: policy for policy in policies}
    settings = {policy.name: PolicySettings(policy.enforcement, policy.defaults()) for policy in policies}
    if config is None:
        config = {}
    if not isinstance(config, Mapping):
        raise ConfigError("policy config must be a JSON object mapping policy names to settings")

    entries: dict[str, tuple[Optional[str], dict[str, Any]]] = {}
    for key, value in config.items():
        if not isinstance(key, str):
            raise ConfigError(f"policy config keys must be policy names, got {key!r}")
        if key != ALL and key not in by_name:
            raise ConfigError(f'unknown policy "{key}" (known policies: {", ".join(sorted(by_name))})')
        entries[key] = _parse_entry(key, value)

    if ALL in entries:
        level, props = entries.pop(ALL)
        if props:
            raise ConfigError(f'"all" only takes an enforcement level; set properties ({", ".join(sorted(props))}) '
                              f'on the policy they belong to')
        if level is not None:
            settings = {name: PolicySettings(level, s.properties) for name, s in settings.items()}

    for name, (level, props) in entries.items():
        policy = by_name[name]
        for prop in props:
            if prop not in policy.config_schema:
                known = ", ".join(sorted(policy.config_schema)) or "none"
                raise ConfigError(f'policy "{name}": unknown property "{prop}" (properties: {known})')
        merged = dict(settings[name].properties)
        merged.update(copy.deepcopy(props))
        settings[name] = PolicySettings(level or settings[name].enforcement, merged)

    for policy in policies:
        props = settings[policy.name].properties
        for prop in policy.required:
            if prop not in props:
                raise ConfigError(f'policy "{policy.name}": property "{prop}" is required')
        for prop, value in props.items():
            schema = policy.config_schema.get(prop)
            if schema is None:
                continue
            errors = _schema_errors(value, schema, f'policy "{policy.name}": property "{prop}"')
            if errors:
                raise ConfigError("; ".join(errors))
    return settings


# ---------------------------------------------------------------------------------------------
# Running policies
# ---------------------------------------------------------------------------------------------

def _violation(view: Optional[ResourceView], policy: Policy, enforcement: str, message: str,
               default_source: str = "") -> Violation:
    if view is None:
        return Violation(file=default_source, kind="", namespace="", name="", policy=policy.name,
                         enforcement=enforcement, message=message)
    return Violation(file=view.source or default_source, kind=view.kind, namespace=view.namespace,
                     name=view.object_name, policy=policy.name, enforcement=enforcement,
                     message=message, urn=view.urn)


def _reported_level(level: str) -> str:
    # Like the engine: a violation of a "remediate" policy that still shows up is mandatory.
    return MANDATORY if level == "remediate" else level


def check_objects(views: Iterable[ResourceView], config: Optional[Mapping[str, Any]] = None,
                  policies: Optional[Sequence[Policy]] = None) -> list[Violation]:
    """Run every policy (default: all of :func:`policies.registry.all_policies`) over `views`.

    `config` is a ``--policy-pack-config`` style mapping (None = defaults); raises
    :class:`ConfigError` when it is invalid. Disabled policies are skipped. Checks that need a value
    that is not known yet are skipped. Returns violations in resource order, resource policies
    first, then stack policies."""
    if policies is None:
        from .registry import all_policies
        policies = all_policies()
    views = list(views)
    settings = resolve_config(policies, config)
    return run_resource_policies(views, policies, settings) + run_stack_policies(views, policies, settings)


def _enabled(policies: Sequence[Policy], settings: Mapping[str, PolicySettings], kind: type
             ) -> list[tuple[Policy, PolicySettings]]:
    return [(policy, settings[policy.name]) for policy in policies
            if isinstance(policy, kind) and settings[policy.name].enforcement != DISABLED]


def run_resource_policies(views: Sequence[ResourceView], policies: Sequence[Policy],
                          settings: Mapping[str, PolicySettings]) -> list[Violation]:
    """The resource policies' violations over `views`, in resource order (`settings` from
    :func:`resolve_config`). Each view is judged alone, so parts of a large input can be checked
    apart and their results concatenated."""
    enabled = _enabled(policies, settings, ResourcePolicy)
    violations: list[Violation] = []
    for view in views:
        for policy, s in enabled:
            try:
                messages = list(policy.check(view, s.properties))
            except UndecidableError:
                continue
            if messages:
                level = _reported_level(s.enforcement)
                violations += [_violation(view, policy, level, m) for m in messages]
    return violations


def run_stack_policies(views: Sequence[ResourceView], policies: Sequence[Policy],
                       settings: Mapping[str, PolicySettings]) -> list[Violation]:
    """The stack policies' violations: each judges all of `views` together."""
    violations: list[Violation] = []
    for policy, s in _enabled(policies, settings, StackPolicy):
        try:
            results = list(policy.evaluate(views, s.properties))
        except UndecidableError:
            continue
        violations += [_violation(view, policy, _reported_level(s.enforcement), m) for view, m in results]
    return violations


def stack_reads(policies: Sequence[Policy], settings: Mapping[str, PolicySettings]) -> Callable[[ResourceView], bool]:
    """Whether any enabled stack policy looks at a view (what a process checking part of an input keeps)."""
    readers = [policy.reads for policy, _ in _enabled(policies, settings, StackPolicy)]
    return lambda view: any(reads(view) for reads in readers)


def has_mandatory(violations: Iterable[Violation]) -> bool:
    return any(v.mandatory for v in violations)
