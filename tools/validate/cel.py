"""The CEL rules of CRD schemas (``x-kubernetes-validations``), evaluated as the API server does on create.

For each custom resource the object is first defaulted from its schema (the API server validates the
defaulted object), then every rule is evaluated bottom-up with ``self`` bound to the value of the schema
node that carries it. A rule that is false fails with its ``message`` (else ``failed rule: <rule>``),
at the node's path plus its ``fieldPath``; an evaluation error (a missing field, a bad ``duration()``)
fails too, as it does on the server. Transition rules (those that read ``oldSelf``) are skipped: on
create there is no old object, and the server skips them as well.

The evaluator is cel-python (``celpy``); of the Kubernetes CEL libraries it gets the functions the
bundled CRDs use that celpy lacks: ``lowerAscii``/``upperAscii`` (strings extension). ``has``, ``size``,
``all``/``exists``, ``in``, ``startsWith``, ``matches`` (RE2) and ``duration`` are CEL built-ins.

Compiled programs are cached per rule text, the schema walk per CRD version and results per (rule node,
value), so checking N objects is linear in their size.
"""
from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any

import celpy
from celpy import celtypes

from tools.validate import schema
from tools.validate.problem import Problem, json_path, problem

_OLD_SELF = re.compile(r"\b(oldSelf)\b")


def _lower_ascii(value: celtypes.StringType) -> celtypes.StringType:
    return celtypes.StringType("".join(c.lower() if c.isascii() else c for c in value))


def _upper_ascii(value: celtypes.StringType) -> celtypes.StringType:
    return celtypes.StringType("".join(c.upper() if c.isascii() else c for c in value))


KUBERNETES_FUNCTIONS = {"lowerAscii": _lower_ascii, "upperAscii": _upper_ascii}

_ENV = celpy.Environment()  # the interpreter: celpy 0.5's CompiledRunner mis-evaluates '&&'/'||' on bools
_PROGRAMS: dict[str, Any] = {}


def program(rule: str):
    """The compiled program of a rule (cached by its text). Raises celpy.CELParseError."""
    compiled = _PROGRAMS.get(rule)
    if compiled is None:
        compiled = _PROGRAMS[rule] = _ENV.program(_ENV.compile(rule), functions=KUBERNETES_FUNCTIONS)
    return compiled


@dataclass
class _Node:
    """The part of a schema that matters here: rules, defaults and the children that have either."""

    rules: list[dict] = field(default_factory=list)
    defaults: dict[str, Any] = field(default_factory=dict)
    properties: dict[str, "_Node"] = field(default_factory=dict)
    additional: "_Node | None" = None
    items: "_Node | None" = None


def _plan(node: Any) -> _Node | None:
    """The schema reduced to the nodes with rules or defaults below them; None if there are none."""
    if not isinstance(node, dict):
        return None
    plan = _Node(rules=[rule for rule in node.get("x-kubernetes-validations") or ()
                        if isinstance(rule, dict) and not _OLD_SELF.search(str(rule.get("rule", "")))])
    for name, sub in (node.get("properties") or {}).items():
        if isinstance(sub, dict) and "default" in sub:
            plan.defaults[name] = sub["default"]
        child = _plan(sub)
        if child is not None:
            plan.properties[name] = child
    plan.additional = _plan(node.get("additionalProperties"))
    plan.items = _plan(node.get("items"))
    if plan.rules or plan.defaults or plan.properties or plan.additional or plan.items:
        return plan
    return None


_PLANS: dict[int, tuple[Any, _Node | None]] = {}


def _plan_for(version: Any) -> _Node | None:
    cached = _PLANS.get(id(version))
    if cached is None or cached[0] is not version:  # keyed by identity; keep the object so ids are not reused
        cached = _PLANS[id(version)] = (version, _plan(version.schema))
    return cached[1]


def check(objects: list[dict], *, crd_dir=None) -> list[Problem]:
    """CEL problems of every custom resource among ``objects`` (CRDs from the objects, else ``crd_dir``)."""
    crds = schema.crds_for(objects, crd_dir)
    problems: list[Problem] = []
    for obj in objects:
        gvk = schema._gvk(obj)
        version = crds.versions.get(gvk) if gvk else None
        if version is None or not version.schema:
            continue
        plan = _plan_for(version)
        if plan is None:
            continue
        instance = copy.deepcopy(obj)
        problems.extend(problem(obj, path, message) for path, message in _walk(plan, instance, []))
    return problems


def _walk(node: _Node, value: Any, path: list) -> list[tuple[str, str]]:
    """Default ``value`` in place, then evaluate rules bottom-up; (json path, message) of each failure."""
    failures: list[tuple[str, str]] = []
    if isinstance(value, dict):
        for name, default in node.defaults.items():
            if name not in value:
                value[name] = copy.deepcopy(default)
        for name, child in node.properties.items():
            if name in value and value[name] is not None:
                failures.extend(_walk(child, value[name], [*path, name]))
        if node.additional is not None:
            for name, item in value.items():
                if name not in node.properties and item is not None:
                    failures.extend(_walk(node.additional, item, [*path, name]))
    elif isinstance(value, list) and node.items is not None:
        for index, item in enumerate(value):
            if item is not None:
                failures.extend(_walk(node.items, item, [*path, index]))
    if node.rules:
        # Rules are pure functions of self: many servers share a spec shape, so results are cached.
        key = (id(node), json.dumps(value, sort_keys=True, default=str))
        found = _RESULTS.get(key)
        if found is None:
            if len(_RESULTS) >= 8192:
                _RESULTS.clear()
            bound = {"self": celpy.json_to_cel(value)}
            found = _RESULTS[key] = [failure for rule in node.rules for failure in _evaluate(rule, bound)]
        where = json_path(path)
        failures.extend((where + suffix, message) for suffix, message in found)
    return failures


_RESULTS: dict[tuple, list] = {}


def _evaluate(rule: dict, bound: dict) -> list[tuple[str, str]]:
    """(fieldPath suffix, message) if the rule fails for ``self``."""
    text = str(rule.get("rule", ""))
    where = _field_path(rule.get("fieldPath"))
    try:
        result = program(text).evaluate(bound)
    except celpy.CELParseError as error:
        return [(where, f"CEL rule does not compile ({error}): {text}")]
    except celpy.CELEvalError as error:
        result = error
    if isinstance(result, celpy.CELEvalError):
        return [(where, f"CEL rule could not be evaluated ({result.args[0] if result.args else result}): {text}")]
    if not isinstance(result, celtypes.BoolType):  # celpy gives its own bool type, never Python's
        return [(where, f"CEL rule did not return a bool ({result!r}): {text}")]
    if bool(result):
        return []
    return [(where, rule.get("message") or f"failed rule: {text}")]


def _field_path(value: Any) -> str:
    """A rule's fieldPath ('.spec.x' or "['x']") appended to the node's JSON path."""
    if not isinstance(value, str) or not value:
        return ""
    return value if value.startswith((".", "[")) else f".{value}"
