"""What the pulumi-kubernetes provider refuses before the API server sees anything: the
``pulumi.com/waitFor`` annotation.

The provider (v4.25.0, ``pkg/metadata/overrides.go`` ``ReadyCondition``) reads the annotation as a JSON
array of strings, else as one string, and fails the resource's create or update when an expression is
not understood:

* each expression starts with ``jsonpath=`` or ``condition=`` ("expected a "jsonpath=" or "condition="
  prefix"); an empty array is refused ("at least one condition must be specified");
* ``jsonpath=`` (``pkg/jsonpath/jsonpath.go`` ``Parse``): ``{PATH}`` or ``{PATH}=VALUE`` (``==`` is not a
  separator; a second ``=`` or an empty value is refused), not in shell quotes, wrapped in braces; the
  path is RFC 9535 JSONPath (github.com/theory/jsonpath v0.9.0), ``$`` prepended when missing. A member
  name after a dot is a shorthand name: it starts with a letter, ``_`` or a non-ASCII character and goes
  on with those and digits; anything else (``count/mcpservers...``, ``a-b``) must be quoted in brackets,
  ``['count/mcpservers.toolhive.stacklok.dev']`` (seen in the real run: "jsonpath: unexpected '/' at
  position 20").

The path check here knows RFC 9535's segments without filters: ``.name``, ``.*``, ``..name``, ``..*``
and brackets of comma-separated quoted names, integers, slices and ``*``. A filter (``[?...]``) is
reported as not checked offline, never passed as good.
"""
from __future__ import annotations

import json
import re
from typing import Any, Iterator

from tools.validate.problem import Problem, identity, json_path

WAIT_FOR = "pulumi.com/waitFor"

_BRACES = re.compile(r"\{\s*(.*?)\s*\}")
_INT = r"-?(?:0|[1-9][0-9]*)"
_SELECTOR = re.compile(
    rf"""\s*(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|\*|(?:{_INT})?\s*:\s*(?:{_INT})?\s*(?::\s*(?:{_INT})?)?|{_INT})\s*""")


def check(objects: list[dict]) -> Iterator[Problem]:
    for obj in objects:
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        if WAIT_FOR not in annotations:
            continue
        for message in wait_for_errors(annotations[WAIT_FOR]):
            yield Problem(*identity(obj), json_path(["metadata", "annotations", WAIT_FOR]),
                          f"the kubernetes provider refuses this: {message}")


def wait_for_errors(value: Any) -> list[str]:
    """Why the provider would refuse this `pulumi.com/waitFor` value (empty when it accepts it)."""
    if not isinstance(value, str):
        return [f"must be a string, not {type(value).__name__}"]
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = None
    expressions = parsed if isinstance(parsed, list) and all(isinstance(e, str) for e in parsed) else [value]
    if not expressions:
        return ["at least one condition must be specified"]
    errors = []
    for expr in expressions:
        if expr.startswith("jsonpath="):
            errors += _jsonpath_errors(expr)
        elif not expr.startswith("condition="):
            errors.append(f'expected a "jsonpath=" or "condition=" prefix, got {expr!r}')
    return errors


def _jsonpath_errors(raw: str) -> list[str]:
    raw = raw.removeprefix("jsonpath=")
    parts = raw.replace("==", "\0").split("=")
    path = parts[0].replace("\0", "==")
    if len(parts) > 2:
        return [f"format should be {{.path}}=value or {{.path}}, got {raw!r}"]
    if len(parts) == 2 and not parts[1]:
        return [f"{path}= requires a value"]
    if path.startswith("'") and path.endswith("'"):
        return [f"{path} should omit shell quotes"]
    found = _BRACES.search(path)
    if found is None:
        return [f"{path} should be wrapped in brackets {{ ... }}"]
    inner = found.group(1)
    error = path_error(inner if inner.startswith("$") else "$" + inner)
    return [f"parsing {path!r}: {error}"] if error else []


def path_error(path: str) -> str | None:
    """Why RFC 9535 JSONPath (without filters) refuses `path`, which starts with `$`; None when it parses."""
    i = 1
    while i < len(path):
        if path.startswith("..", i):
            i += 2
            if i < len(path) and path[i] == "[":
                end, error = _brackets(path, i)
            else:
                end, error = _shorthand(path, i)
        elif path[i] == ".":
            end, error = _shorthand(path, i + 1)
        elif path[i] == "[":
            end, error = _brackets(path, i)
        elif path[i].isspace():
            end, error = i + 1, None
        else:
            return f"unexpected {path[i]!r} at position {i}"
        if error:
            return error
        i = end
    return None


def _shorthand(path: str, i: int) -> tuple[int, str | None]:
    if i < len(path) and path[i] == "*":
        return i + 1, None
    if i >= len(path) or not _name_first(path[i]):
        shown = repr(path[i]) if i < len(path) else "end of path"
        return i, f"unexpected {shown} at position {i}: a member name after '.' starts with a letter or '_'; " \
                  f"quote others in brackets, ['name']"
    end = i + 1
    while end < len(path) and (_name_first(path[end]) or path[end].isdigit()):
        end += 1
    if end < len(path) and path[end] not in ".[ \t\n\r":
        return end, f"unexpected {path[end]!r} at position {end}: quote member names with it in brackets, ['name']"
    return end, None


def _name_first(char: str) -> bool:
    return char == "_" or ("a" <= char.lower() <= "z") or ord(char) > 0x7F


def _brackets(path: str, i: int) -> tuple[int, str | None]:
    i += 1
    while True:
        if path[i:].lstrip().startswith("?"):
            return i, f"a filter selector at position {i} is not checked offline (RFC 9535 filters are not modelled)"
        selector = _SELECTOR.match(path, i)
        if selector is None or selector.end() == i:
            shown = repr(path[i]) if i < len(path) else "end of path"
            return i, f"unexpected {shown} at position {i}: expected a quoted name, an index, a slice or '*'"
        i = selector.end()
        if i < len(path) and path[i] == ",":
            i += 1
            continue
        if i < len(path) and path[i] == "]":
            return i + 1, None
        shown = repr(path[i]) if i < len(path) else "end of path"
        return i, f"unexpected {shown} at position {i}: expected ',' or ']'"
