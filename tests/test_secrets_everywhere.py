"""Secrets stay secret on every path: each secret input travels only inside Pulumi's secret wrapper.

For every shipped stack and every test configuration (tests/configurations.py), the secret inputs are found
from the configuration itself, not listed by hand:

- the value of every config key the engine marks secret (a stack's `secure:` values get a distinct
  stand-in text each, since the offline renderer never decrypts them);
- the value behind every secret reference read at deploy time (`aws-sm://` through the offline reader,
  `pulumi-config://` from the config), in the stack config and in the server files it loads;
- every generated password (RandomPassword: the Valkey and PostgreSQL passwords; the mock provider's result).

Each value must reach the program's resources (delivered somewhere) and appear only inside the secret
wrapper: in no resource input outside it, no stack output outside it, no warning or log line, and nowhere in
the files a render writes (resources.json, manifests.yaml, outputs.json, warnings.json). In a Kubernetes
object, even wrapped, it may only sit in a Secret's `data` or `stringData` (the cluster keeps anything else
in plaintext). Dropping an `Output.secret` before a Secret is not a leak: pulumi_kubernetes wraps a Secret's
data itself.
"""
from __future__ import annotations

import base64
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml
from pulumi.runtime import rpc

from components.registry.database import pgpass_escape
from components.secret_sources import AWS_SM, PULUMI_CONFIG, offline_secret_reader, parse_reference
from tests.conftest import PROJECT_ROOT, Rendered, render_config
from tests.configurations import RENDERS, configuration
from tools import mock_runtime
from tools.render import read_stack_file, write_outputs

PASSWORD_TYPE = "random:index/randomPassword:RandomPassword"


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def is_secret_wrapper(value: Any) -> bool:
    return isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig


def plaintext(value: Any) -> Iterator[str]:
    """Every string outside Pulumi's secret wrapper."""
    if is_secret_wrapper(value):
        return
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from plaintext(item)
    elif isinstance(value, list):
        for item in value:
            yield from plaintext(item)
    elif value is not None:
        yield str(value)


def wrapped(value: Any) -> Iterator[str]:
    """Every string inside a secret wrapper."""
    if is_secret_wrapper(value):
        yield from (str(text) for text in strings(value.get("value")))
        if not isinstance(value.get("value"), (dict, list, str)):
            yield str(value.get("value"))
    elif isinstance(value, dict):
        for item in value.values():
            yield from wrapped(item)
    elif isinstance(value, list):
        for item in value:
            yield from wrapped(item)


def outside_secret_data(resource) -> Iterator[str]:
    """Strings inside secret wrappers of a Kubernetes object anywhere but a Secret's data and stringData:
    Pulumi keeps them encrypted in state, but the cluster would hold them in plaintext."""
    inputs = resource.wire_inputs or {}
    if not resource.type.startswith("kubernetes:") or not isinstance(inputs, dict):
        return iter(())
    if inputs.get("kind") == "Secret":
        inputs = {key: value for key, value in inputs.items() if key not in ("data", "stringData")}
    return wrapped(inputs)


def canary(key: str) -> str:
    return f"canary-secret-of-{key.replace(':', '-')}"


def render_with_secrets(name: str, preview: bool) -> tuple[Rendered, dict[str, Any], list[str]]:
    """The render, its full config (`ns:key` -> value) and the keys marked secret."""
    found = configuration(name)
    if found is not None:
        config = {f"toolhive:{key}": value for key, value in found.toolhive.items()} | dict(found.extra)
        return found.render(preview), config, list(found.secret_keys)
    config, secret_keys = read_stack_file(PROJECT_ROOT / f"Pulumi.{name}.yaml")
    config = {key: canary(key) if key in secret_keys else value for key, value in config.items()}
    if not secret_keys:
        return RENDERS[name](preview), config, secret_keys
    toolhive = {key.split(":", 1)[1]: value for key, value in config.items() if key.startswith("toolhive:")}
    others = {key: value for key, value in config.items() if not key.startswith("toolhive:")}
    return render_config(toolhive, extra=others, secret_keys=secret_keys, stack=name, preview=preview), config, secret_keys


def server_files(config: dict[str, Any]) -> list[Any]:
    directory = (config.get("toolhive:servers") or {}).get("directory")
    if not directory:
        return []
    return [yaml.safe_load(path.read_text()) for path in sorted((PROJECT_ROOT / directory).glob("*.yaml"))]


def secret_inputs(rendered: Rendered, config: dict[str, Any], secret_keys: list[str]) -> dict[str, str]:
    """{value: where it comes from} for every secret input of a render."""
    found: dict[str, str] = {}

    def add(value: str, source: str) -> None:
        found[value] = f"{found[value]}, {source}" if value in found else source

    for key in secret_keys:
        for text in strings(config[key]):
            add(text, f"config key {key}")
    for text in strings([config, server_files(config)]):
        try:
            ref = parse_reference(text)
        except ValueError:
            continue
        if ref.scheme == AWS_SM:
            add(offline_secret_reader(ref), text)
        elif ref.scheme == PULUMI_CONFIG and ref.name in config:
            add(str(config[ref.name]), text)
    for resource in rendered.resources:
        if resource.type == PASSWORD_TYPE:
            args = type("Args", (), {"inputs": resource.inputs, "name": resource.name})
            add(mock_runtime.PROVIDER_OUTPUTS[PASSWORD_TYPE](args)["result"], f"generated password {resource.name}")
    return found


def encodings(value: str) -> set[str]:
    """The value as the program may write it: as given, escaped for a pgpass line, base64 (Secret data)."""
    return {value, pgpass_escape(value), base64.b64encode(value.encode()).decode()}


def leaks(value: str, texts: Iterator[str]) -> list[str]:
    forms = encodings(value)
    return sorted({text[:120] for text in texts if any(form in text for form in forms)})


@pytest.mark.parametrize("name", RENDERS)
def test_every_secret_input_is_delivered_only_inside_the_secret_wrapper(name, preview, tmp_path):
    rendered, config, secret_keys = render_with_secrets(name, preview)
    secrets = secret_inputs(rendered, config, secret_keys)
    write_outputs(rendered.run, tmp_path)
    written = {path.name: path.read_text() for path in sorted(Path(tmp_path).iterdir())}
    inside = list(wrapped([r.wire_inputs for r in rendered.resources] + [rendered.run.wire_outputs]))
    places = {  # each place's strings, gathered once for all the secret values
        "a resource input": list(plaintext([r.wire_inputs for r in rendered.resources])),
        "a stack output": list(plaintext(rendered.run.wire_outputs)),
        "a Kubernetes object outside a Secret's data": [
            text for resource in rendered.resources for text in outside_secret_data(resource)],
        "a warning or log line": [entry.message for entry in rendered.run.logs],
        **{file: [text] for file, text in written.items()},
    }
    problems = []
    for value, source in secrets.items():
        if not any(form in text for text in inside for form in encodings(value)):
            problems.append(f"{source}: never delivered inside a secret wrapper")
        for where, texts in places.items():
            problems += [f"{source}: in plaintext in {where}: {text}" for text in leaks(value, texts)]
    assert problems == []


def test_every_configuration_with_secrets_is_swept():
    """The sweep bites only where there are secrets: each kind of secret input is in some configuration."""
    sources = " ".join(source for name in RENDERS for source in secret_inputs(*render_with_secrets(name, False)).values())
    for kind in ("config key toolhive:defaultRedisPassword", "config key registry:dbPassword",
                 "config key mcp-secrets:extra", "aws-sm://", "pulumi-config://", "generated password session-store",
                 "generated password postgres"):
        assert kind in sources, kind
