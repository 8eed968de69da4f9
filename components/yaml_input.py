"""YAML the user writes (stack files, server files): read strictly, a key given twice is refused.

PyYAML keeps the last of two equal keys without a word, so `replicas: 1` followed further down by
`replicas: 5` silently deploys five. Pulumi itself (Go yaml.v3) refuses such a stack file; so does
everything here that reads the user's YAML, naming the key and both lines.
"""
from __future__ import annotations

from typing import Any

import yaml

_BASE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class DuplicateKeyError(yaml.constructor.ConstructorError):
    """A mapping that sets one key twice."""


class StrictLoader(_BASE):  # type: ignore[misc,valid-type]
    """A safe loader (libyaml's when available) that refuses duplicate mapping keys."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, Any] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:  # unhashable: SafeConstructor's own error names it
                    continue
                if first is not None:
                    raise DuplicateKeyError(
                        None, None, f"key {key!r} is set twice (first on line {first.start_mark.line + 1}); "
                        "YAML keeps only the last, so remove one", key_node.start_mark)
                seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


StrictLoader.add_constructor("tag:yaml.org,2002:map", StrictLoader.construct_yaml_map)


def load(stream) -> Any:
    """yaml.safe_load(stream), refusing a key set twice (DuplicateKeyError, a yaml.YAMLError)."""
    return yaml.load(stream, Loader=StrictLoader)


def describe(error: yaml.YAMLError) -> str:
    """A one-line reason with the line and column, for `<file>: not valid YAML: <reason>`."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None)
    if mark is not None and problem:
        return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"
    return " ".join(str(error).split())
