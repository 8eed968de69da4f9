"""Adapters from the policy definitions (``policies.core``) to pulumi_policy.

- resource policies -> ``ResourceValidationPolicy``: the view is built from ``args.resource_type``,
  ``args.props`` (the resource's inputs), ``args.name``, ``args.urn`` and ``args.opts`` (the engine
  passes ``protect``; ``retain_on_delete`` is read if a future SDK exposes it, else unknown).
- stack policies -> ``StackValidationPolicy`` over ``args.resources`` (``.resource_type``,
  ``.props``, ``.name``, ``.urn``, ``.opts``); violations are reported with the offending URN.

Properties come from ``args.get_config()`` laid over the schema defaults, so the pack works with no
config. Values that are unknown during preview become :data:`policies.core.UNKNOWN`; a check that
needs one raises the SDK's ``UnknownValueError`` so the engine reports that it cannot run yet.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Callable, Optional

from pulumi_policy import (
    EnforcementLevel, PolicyConfigSchema, ResourceValidationPolicy, Secret, StackValidationPolicy,
)
from pulumi_policy import proxy as _proxy
from pulumi_policy.proxy import UNKNOWN_OBJECT_VALUE, UnknownValueError

from .core import (
    UNKNOWN, Policy, ResourceOptions, ResourcePolicy, ResourceView, StackPolicy, UndecidableError,
)
from .registry import all_policies
from .typetokens import is_kubernetes_type

PACK_NAME = "toolhive-platform"

#: The engine's sentinels for values not known during preview.
_UNKNOWN_SENTINELS = frozenset(
    getattr(_proxy, name) for name in dir(_proxy) if name.startswith("UNKNOWN_") and name.endswith("_VALUE")
)


def to_plain(value: Any) -> Any:
    """Plain dicts/lists from the engine's proxies: unknown values become UNKNOWN, secrets unwrap,
    integral numbers become ints (the engine sends every number as a double)."""
    if isinstance(value, Secret):
        return to_plain(value.value)
    if isinstance(value, str):
        return UNKNOWN if value in _UNKNOWN_SENTINELS else value
    if isinstance(value, float) and value.is_integer():
        return int(value)  # protobuf Structs carry every number as a double; manifests use integers
    if isinstance(value, Mapping):
        out = {}
        for key in list(value):
            try:
                item = value[key]
            except UnknownValueError:
                out[key] = UNKNOWN
                continue
            out[key] = to_plain(item)
        return out
    if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        items = []
        for index in range(len(value)):
            try:
                item = value[index]
            except UnknownValueError:
                items.append(UNKNOWN)
                continue
            items.append(to_plain(item))
        return items
    return value


def _options(opts: Any) -> ResourceOptions:
    protect = getattr(opts, "protect", None)
    retain = getattr(opts, "retain_on_delete", None)
    return ResourceOptions(
        protect=bool(protect) if protect is not None else None,
        retain_on_delete=bool(retain) if retain is not None else None,
    )


def view_from_resource(resource: Any) -> ResourceView:
    """A view of ResourceValidationArgs or a stack PolicyResource (duck-typed)."""
    return ResourceView(
        type=str(getattr(resource, "resource_type", "") or ""),
        props=to_plain(getattr(resource, "props", None) or {}),
        name=str(getattr(resource, "name", "") or ""),
        urn=str(getattr(resource, "urn", "") or ""),
        opts=_options(getattr(resource, "opts", None)),
    )


def _config(args: Any) -> Mapping[str, Any]:
    get_config = getattr(args, "get_config", None)
    config = get_config() if callable(get_config) else None
    return config or {}


def _unknown(error: UndecidableError) -> UnknownValueError:
    return UnknownValueError(UNKNOWN_OBJECT_VALUE, [p for p in error.path.split(".") if p])


def _schema(policy: Policy) -> Optional[PolicyConfigSchema]:
    if not policy.config_schema:
        return None
    return PolicyConfigSchema(properties={k: dict(v) for k, v in policy.config_schema.items()},
                              required=list(policy.required) or None)


def _resource_validation(policy: ResourcePolicy) -> Callable[[Any, Callable], None]:
    def validate(args: Any, report_violation: Callable) -> None:
        if not is_kubernetes_type(getattr(args, "resource_type", "")):
            return  # components, providers, other clouds
        view = view_from_resource(args)
        try:
            messages = list(policy.check(view, policy.properties(_config(args))))
        except UndecidableError as error:
            raise _unknown(error) from None
        for message in messages:
            report_violation(message)
    return validate


def _stack_validation(policy: StackPolicy) -> Callable[[Any, Callable], None]:
    def validate(args: Any, report_violation: Callable) -> None:
        views = [view_from_resource(r) for r in getattr(args, "resources", None) or []
                 if is_kubernetes_type(getattr(r, "resource_type", ""))]
        try:
            results = list(policy.evaluate(views, policy.properties(_config(args))))
        except UndecidableError as error:
            raise _unknown(error) from None
        for view, message in results:
            if view is not None and view.urn:
                report_violation(message, view.urn)
            else:
                report_violation(message)
    return validate


def to_pulumi_policy(policy: Policy):
    """The pulumi_policy policy for one of our policies."""
    common = dict(
        name=policy.name,
        description=policy.description,
        enforcement_level=EnforcementLevel(policy.enforcement),
        config_schema=_schema(policy),
    )
    if isinstance(policy, ResourcePolicy):
        return ResourceValidationPolicy(validate=_resource_validation(policy), **common)
    if isinstance(policy, StackPolicy):
        return StackValidationPolicy(validate=_stack_validation(policy), **common)
    raise TypeError(f"not a policy: {policy!r}")


def pulumi_policies() -> list:
    """Every policy of the pack as a pulumi_policy ResourceValidationPolicy/StackValidationPolicy."""
    return [to_pulumi_policy(p) for p in all_policies()]


def serve() -> None:
    """Build the PolicyPack; the constructor starts the analyzer server and blocks."""
    from pulumi_policy import PolicyPack

    PolicyPack(
        name=PACK_NAME,
        policies=pulumi_policies(),
        enforcement_level=EnforcementLevel.ADVISORY,
        description="Guardrails for the ToolHive operator and MCP servers on Kubernetes.",
    )
