"""Reads the `toolhive:` namespace of Pulumi config into a StackConfig, or fails naming the key.

Errors come out as `toolhive:operator.rbac.scope: must be one of cluster, namespace` — one line per
problem, all problems at once, raised as ConfigError before any resource is registered.
"""
from __future__ import annotations

import json
import re
from typing import Any

from pulumi.runtime import config as runtime_config
from pydantic import BaseModel, ValidationError

from components.config import KeyedError, StackConfig, is_secret_setting
from components.errors import ConfigError

NAMESPACE = "toolhive"


def _config_keys() -> dict[str, Any]:
    """Every `toolhive:*` key the engine (or the mock runtime) passed, with its raw value."""
    raw = dict(runtime_config.get_config_env())
    raw.update(runtime_config.CONFIG.get())
    return {key: value for key, value in raw.items() if key.startswith(f"{NAMESPACE}:")}


def _decode(value: Any) -> Any:
    """Structured config arrives as a JSON string; plain strings stay strings."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def load_stack_config() -> StackConfig:
    """The validated stack configuration from Pulumi config (engine or mock runtime)."""
    raw: dict[str, Any] = {}
    problems: list[str] = []
    fields = {field.alias or name: field for name, field in StackConfig.model_fields.items()}
    for full_key, value in sorted(_config_keys().items()):
        key = full_key.split(":", 1)[1]
        if key not in fields:
            problems.append(f"{full_key}: unknown key; allowed: {', '.join(NAMESPACE + ':' + k for k in fields)}")
            continue
        is_secret, takes_secret = runtime_config.is_config_secret(full_key), is_secret_setting(fields[key].annotation)
        if is_secret and not takes_secret:
            problems.append(
                f"{full_key}: holds a secret value, but no setting under it takes one; reference a "
                "Kubernetes Secret instead (e.g. valueFrom.secretKeyRef)"
            )
            continue
        if takes_secret and not is_secret:
            problems.append(f"{full_key}: must be set as a secret, never in plaintext: "
                            f"pulumi config set --secret {full_key} <value>")
            continue
        # A secret is a string exactly as given: `123`, `null` or `{"a":1}` are passwords, not JSON.
        raw[key] = value if takes_secret else _decode(value)
    if problems:
        raise ConfigError(problems)
    return parse_stack_config(raw)


def parse_stack_config(raw: dict[str, Any]) -> StackConfig:
    """Validate a dict shaped like the `toolhive:` namespace (top-level keys without the prefix)."""
    try:
        return StackConfig.model_validate(raw)
    except ValidationError as error:
        raise ConfigError([format_error(e) for e in error.errors(include_url=False)]) from None


def key_path(loc: tuple) -> str:
    """('operator', 'env', 0, 'name') -> 'toolhive:operator.env[0].name'."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return f"{NAMESPACE}:{path}" if path else f"{NAMESPACE}:"


def format_error(error: dict) -> str:
    """One pydantic error as `key: what is allowed`."""
    loc = tuple(part for part in error["loc"] if not _is_union_tag(part))
    kind = error["type"]
    if loc and _is_secret_key(loc[0]):  # name the key and what is allowed, never the value
        return f"{key_path(loc[:1])}: must be a string (set with pulumi config set --secret {key_path(loc[:1])} <value>)"
    ctx = error.get("ctx") or {}
    cause = ctx.get("error")
    if isinstance(cause, KeyedError):
        return f"{key_path(loc + cause.path)}: {cause.message}"
    if kind == "literal_error":
        allowed = re.findall(r"'([^']*)'", ctx.get("expected", ""))
        message = f"must be one of {', '.join(allowed)}"
    elif kind == "extra_forbidden":
        message = f"unknown key; allowed here: {', '.join(_allowed_keys(loc[:-1]))}"
    elif kind == "missing":
        message = "is required"
    elif kind == "value_error":
        message = str(cause) if cause is not None else error["msg"]
    else:
        message = error["msg"][0].lower() + error["msg"][1:]
    shown = kind in _SHOW_INPUT and not is_secret_position(loc)
    return f"{key_path(loc)}: {message} (got {_short(error.get('input'))})" if shown else f"{key_path(loc)}: {message}"


#: The keys that hold a secret reference (components/secret_sources.py): a value there that is not a
#: reference may be the secret itself, pasted; errors name its position only, never the value.
SECRET_POSITIONS = ("ref", "password", "migrationPassword")


def is_secret_position(loc: tuple) -> bool:
    return any(isinstance(part, str) and part in SECRET_POSITIONS for part in loc)


_SHOW_INPUT = {"literal_error", "int_parsing", "int_type", "bool_type", "bool_parsing", "string_type",
               "greater_than_equal", "less_than_equal", "list_type", "dict_type", "model_type", "string_too_short"}


def _is_secret_key(key: Any) -> bool:
    field = next((f for n, f in StackConfig.model_fields.items() if (f.alias or n) == key), None)
    return field is not None and is_secret_setting(field.annotation)


def _is_union_tag(part: Any) -> bool:
    return isinstance(part, str) and part.startswith(("function-after[", "function-before["))


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _allowed_keys(loc: tuple) -> list[str]:
    """The keys the model at `loc` accepts, for an 'unknown key' message."""
    model: Any = StackConfig
    for part in loc:
        if isinstance(part, int):
            continue
        field = next((f for n, f in model.model_fields.items() if (f.alias or n) == part), None)
        if field is None:
            return []
        model = _model_of(field.annotation)
        if model is None:
            return []
    return [field.alias or name for name, field in model.model_fields.items()]


def _model_of(annotation: Any):
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_of(arg)
        if found is not None:
            return found
    return None
