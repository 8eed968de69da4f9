"""No input crashes the program: a bad value is a clean ConfigError (exit 2) naming the file or key, never a
traceback, and no message carries a secret value.

The property-based tests put arbitrary YAML values (hypothesis) at every field the config models know —
every key of a server file of each kind and every `toolhive:` key, found by walking the models — and run
everything the program checks before it registers a resource (`components.program.check_inputs`:
config, server files, images, secrets, registry plan) in-process under the mock runtime. The examples
are bounded and derandomised, so the run is fast and repeatable. The files the user writes by hand get
their own cases: non-UTF-8 server and registry data files, a corrupted or merge-conflicted lock file.
"""
from __future__ import annotations

import copy
import json
import shutil
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from components.config import StackConfig
from components.config.servers import McpServerEntry, RemoteProxyEntry, VirtualServerEntry
from components.errors import ConfigError
from components.images import offline_digest_resolver
from components.program import check_inputs
from components.registry.git_sources import LockedResolver
from components.secret_sources import offline_secret_reader
from tests.conftest import PROJECT_ROOT, TEST_CLUSTER
from tools import render as render_tool
from tools.mock_runtime import run_program

SENTINEL = "s3cr3t-sentinel-value-7f3a"
SECRET_KEY = "fuzz:token"
DATA = "registry/data/registry.json"
NS = "mcp-dev"

SERVER_FILES = {
    "MCPServer": {"kind": "MCPServer", "name": "fetch", "namespace": NS, "publish": True, "description": "Fetches",
                  "spec": {"image": "ghcr.io/stackloklabs/gofetch/server:1.0.1", "group": "tools",
                           "env": {"LOG_LEVEL": "info"},
                           "secrets": [{"targetEnvName": "API_TOKEN", "ref": f"pulumi-config://{SECRET_KEY}"}],
                           "tools": {"allow": ["fetch"]}}},
    "MCPRemoteProxy": {"kind": "MCPRemoteProxy", "name": "remote", "namespace": NS,
                       "spec": {"remoteUrl": "https://mcp.example.com/mcp",
                                "headers": {"plaintext": {"X-Team": "a"}, "fromSecrets": [
                                    {"headerName": "X-Api-Key", "ref": f"pulumi-config://{SECRET_KEY}"}]}}},
    "VirtualMCPServer": {"kind": "VirtualMCPServer", "name": "all", "namespace": NS,
                         "spec": {"group": "tools", "incomingAuth": {"type": "anonymous"}}},
}
TOOLHIVE = {
    "cluster": TEST_CLUSTER,
    "namespaces": [{"name": NS, "groups": [{"name": "tools"}]}],
    "servers": {"directory": "servers/fuzz"},
    "registry": {"sources": [{"name": "platform", "file": {"data": DATA}}, {"name": "cluster", "kubernetes": {}}],
                 "network": {"allowFrom": [NS]}},
}
#: The server-file examples run without the registry (its data validation is the slow part of a check).
SERVERS_ONLY = {key: value for key, value in TOOLHIVE.items() if key != "registry"}
ENTRY_MODELS = {"MCPServer": McpServerEntry, "MCPRemoteProxy": RemoteProxyEntry, "VirtualMCPServer": VirtualServerEntry}


# --- every field the models know -------------------------------------------------------------------------

def _inner_models(annotation: Any, container: tuple = ()) -> list[tuple[type[BaseModel], tuple]]:
    """(model, path suffix) for each model an annotation holds: list items at [0], dict values at 'key'."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [(annotation, container)]
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is list:
        return _inner_models(args[0], (*container, 0)) if args else []
    if origin is dict:
        return _inner_models(args[1], (*container, "key")) if len(args) == 2 else []
    return [found for arg in args for found in _inner_models(arg, container)]


def field_paths(model: type[BaseModel], prefix: tuple = (), depth: int = 0) -> list[tuple]:
    paths = []
    for name, field in model.model_fields.items():
        path = (*prefix, field.alias or name)
        paths.append(path)
        if depth < 8:
            for inner, suffix in _inner_models(field.annotation):
                paths += field_paths(inner, (*path, *suffix), depth + 1)
    return paths


def put(document: dict, path: tuple, value: Any) -> dict:
    """A copy of `document` with `value` at `path`, creating what is missing on the way."""
    document = copy.deepcopy(document)
    node: Any = document
    for part, following in zip(path, (*path[1:], None)):
        fresh: Any = [] if isinstance(following, int) else {}
        if following is None:
            if isinstance(part, int):
                node.append(value) if len(node) <= part else node.__setitem__(part, value)
            else:
                node[part] = value
            break
        if isinstance(part, int):
            if len(node) <= part:
                node.append(fresh)
            if not isinstance(node[part], (dict, list)) or isinstance(node[part], list) != isinstance(fresh, list):
                node[part] = fresh
        elif not isinstance(node.get(part), (dict, list)) or isinstance(node[part], list) != isinstance(fresh, list):
            node[part] = fresh
        node = node[part]
    return document


# --- arbitrary YAML values ---------------------------------------------------------------------------------

MEANINGFUL = st.sampled_from([
    "", " ", "0", "-1", "true", "null", "latest", "a" * 300, "x\ny", "http://127.0.0.1/", "https://kubernetes.default/",
    "ghcr.io/a/b:1", "ghcr.io/a/b", "10.0.0.0/8", "1Gi", "-5Gi", "a,b", "Host", "key:", "*.example.com", "k8s-secret://a#b",
    f"pulumi-config://{SECRET_KEY}", "pulumi-config://fuzz:missing", "aws-sm://x", "redis", "stdio", "sse", "MCPServer",
    "mcp-dev", "tools", "ünïcödé", "\x00", "{{", "[", "::ffff:10.0.0.1",
])
#: Letters of every kind a config holds, separators, whitespace, quotes, non-ASCII and control characters
#: (an explicit alphabet: hypothesis builds no Unicode tables, which would take longer than the examples).
ALPHABET = "abzAZ09-_.:/@#*,=%+~ \t\n\r\"'{}[]|&!?éß€\u200b\x00\x7f"
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**63, max_value=2**64),
                    st.floats(allow_nan=False, allow_infinity=False),
                    st.text(ALPHABET, max_size=20), MEANINGFUL)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.one_of(st.text(ALPHABET, max_size=8), MEANINGFUL), inner, max_size=3)),
    max_leaves=8)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A project tree with the registry data, where the fuzzed server files are written."""
    root = tmp_path_factory.mktemp("project")
    (root / "registry" / "data").mkdir(parents=True)
    shutil.copy(PROJECT_ROOT / DATA, root / DATA)
    (root / "servers" / "fuzz").mkdir(parents=True)
    return root


def check(project: Path, toolhive: dict, files: dict[str, str], *, preview: bool = False) -> list[str]:
    """Run every check before the first resource; [] when accepted, else the problems. Anything but a
    ConfigError propagates and fails the test."""
    directory = project / "servers" / "fuzz"
    for old in directory.iterdir():
        old.unlink()
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
    config = {f"toolhive:{key}": value for key, value in toolhive.items()}
    config[SECRET_KEY] = SENTINEL
    try:
        run_program(lambda: check_inputs(offline_digest_resolver, offline_secret_reader, project_root=project),
                    config=config, secret_keys=[SECRET_KEY], stack="dev", preview=preview)
    except ConfigError as error:
        assert error.problems and all(isinstance(p, str) and p for p in error.problems)
        assert SENTINEL not in str(error), "a secret value reached a message"
        return error.problems
    return []


def server_files() -> dict[str, str]:
    return {f"{kind.lower()}.yaml": yaml.safe_dump(document) for kind, document in SERVER_FILES.items()}


def test_the_base_documents_pass_so_each_example_changes_one_field_of_a_working_stack(project):
    assert check(project, TOOLHIVE, server_files()) == []


FUZZ = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
SERVER_PATHS = [(kind, path) for kind, model in ENTRY_MODELS.items() for path in field_paths(model)]
TOOLHIVE_PATHS = field_paths(StackConfig)


def test_the_walk_reaches_every_kind_and_deep_fields():
    assert ("MCPRemoteProxy", ("spec", "headers", "fromSecrets", 0, "headerName")) in SERVER_PATHS
    assert ("MCPServer", ("spec", "tools", "rename", "key", "name")) in SERVER_PATHS
    assert ("registry", "auth", "providers", 0, "caCert", "key") in TOOLHIVE_PATHS
    assert ("servers", "mcpServers", 0, "spec", "sessionStorage", "keyPrefix") in TOOLHIVE_PATHS


@FUZZ
@given(target=st.sampled_from(SERVER_PATHS), value=VALUES, preview=st.booleans())
@example(target=("MCPServer", ("kind",)), value=[], preview=False)  # found by this test: kind [] crashed the catalog
@example(target=("MCPRemoteProxy", ("spec", "headers", "plaintext")), value={"Host": None}, preview=True)
@example(target=("MCPServer", ("spec", "tools", "rename")), value={"": {"name": 1}}, preview=False)
def test_any_value_in_any_server_file_field_is_accepted_or_refused_cleanly(project, target, value, preview):
    kind, path = target
    files = server_files()
    files[f"{kind.lower()}.yaml"] = yaml.safe_dump(put(SERVER_FILES[kind], path, value))
    problems = check(project, SERVERS_ONLY, files, preview=preview)
    assert all(p.startswith(("servers/fuzz/", "toolhive:")) for p in problems), problems


@FUZZ
@given(document=VALUES, preview=st.booleans())
def test_any_yaml_document_as_a_server_file_is_refused_cleanly(project, document, preview):
    problems = check(project, SERVERS_ONLY, {**server_files(), "odd.yaml": yaml.safe_dump(document)}, preview=preview)
    assert all(p.startswith(("servers/fuzz/", "toolhive:")) for p in problems), problems


@FUZZ
@given(path=st.sampled_from(TOOLHIVE_PATHS), value=VALUES, preview=st.booleans())
def test_any_value_in_any_toolhive_field_is_accepted_or_refused_cleanly(project, path, value, preview):
    toolhive = put(TOOLHIVE, path, value)
    problems = check(project, toolhive, server_files(), preview=preview)
    assert all(p.startswith(("servers/fuzz/", "toolhive:", "registry/")) for p in problems), problems


# --- files written by hand ----------------------------------------------------------------------------------

def test_a_server_file_that_is_not_utf8_is_refused_naming_it(project, preview):
    directory = project / "servers" / "fuzz"
    problems_before = check(project, TOOLHIVE, {})
    (directory / "latin1.yaml").write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError) as raised:
        run_program(lambda: check_inputs(offline_digest_resolver, offline_secret_reader, project_root=project),
                    config={f"toolhive:{k}": v for k, v in TOOLHIVE.items()}, stack="dev", preview=preview)
    assert problems_before == []
    assert raised.value.problems == ["servers/fuzz/latin1.yaml: not UTF-8 text (byte 9: invalid continuation byte); "
                                     "save it as UTF-8"]


def test_registry_data_that_is_not_utf8_is_refused_naming_the_key_and_file(tmp_path, preview):
    (tmp_path / "registry" / "data").mkdir(parents=True)
    (tmp_path / DATA).write_bytes(b'{"name": "caf\xe9"}')
    with pytest.raises(ConfigError) as raised:
        run_program(lambda: check_inputs(offline_digest_resolver, offline_secret_reader, project_root=tmp_path),
                    config={"toolhive:cluster": TEST_CLUSTER, "toolhive:namespaces": TOOLHIVE["namespaces"],
                            "toolhive:registry": TOOLHIVE["registry"]}, stack="dev", preview=preview)
    assert raised.value.problems == [f"toolhive:registry.sources[0].file.data: {DATA}: not UTF-8 text (byte 13); "
                                     "save it as UTF-8 JSON"]


def test_a_stack_file_that_is_not_utf8_exits_2_naming_it(tmp_path, capsys):
    stack_file = tmp_path / "Pulumi.odd.yaml"
    stack_file.write_bytes(b"config:\n  toolhive:cluster: caf\xe9\n")
    assert render_tool.main(["odd", "--config-file", str(stack_file), "--out", str(tmp_path / "out")]) == 2
    assert f"{stack_file}: not UTF-8 text" in capsys.readouterr().err


GIT = {"name": "upstream", "git": {"repository": "https://example.com/r.git", "branch": "main", "path": "r.json"}}
PIN = {"repository": "https://example.com/r.git", "ref": "refs/heads/main", "path": "r.json", "commit": "a" * 40}
CONFLICTED = """{
  "pins": {
<<<<<<< HEAD
    "k": {"repository": "r", "ref": "refs/heads/main", "path": "p", "commit": "%s"}
=======
    "k": {"repository": "r", "ref": "refs/heads/main", "path": "p", "commit": "%s"}
>>>>>>> feature
  }
}
""" % ("a" * 40, "b" * 40)


@pytest.mark.parametrize("content, why", [
    (CONFLICTED, "not valid JSON (it has merge-conflict markers) at line 3"),
    ('{"pins": {"k": ', "not valid JSON at line 1"),
    ("[1, 2]", 'expected {"pins": {<key>: {repository, ref, path, commit (40 hex digits)}}}'),
    (json.dumps({"pins": {"k": {**PIN, "commit": "HEAD"}}}), "commit (40 hex digits)"),
    (json.dumps({"pins": {"k": "a" * 40}}), "commit (40 hex digits)"),
    (b"\xff\xfe{}", "not UTF-8 text (byte 0)"),
])
def test_a_corrupted_or_conflicted_lock_file_is_refused_naming_it_and_the_source(tmp_path, preview, content, why):
    lock = tmp_path / "sources.lock.json"
    lock.write_bytes(content if isinstance(content, bytes) else content.encode())
    config = {"toolhive:cluster": TEST_CLUSTER, "toolhive:registry": {"sources": [GIT]}}
    with pytest.raises(ConfigError) as raised:
        run_program(lambda: check_inputs(offline_digest_resolver, offline_secret_reader, pins=LockedResolver(lock)),
                    config=config, stack="dev", preview=preview)
    [problem] = raised.value.problems
    assert problem.startswith(f"toolhive:registry.sources[0].git: {lock}: ") and why in problem
    assert "python -m tools.registry_pins update <stack>" in problem


def test_a_stack_without_git_sources_never_reads_the_lock_file(tmp_path, preview):
    lock = tmp_path / "sources.lock.json"
    lock.write_text(CONFLICTED)
    config = {"toolhive:cluster": TEST_CLUSTER, "toolhive:namespaces": TOOLHIVE["namespaces"],
              "toolhive:registry": {"sources": [{"name": "c", "kubernetes": {}}]}}
    run_program(lambda: check_inputs(offline_digest_resolver, offline_secret_reader, pins=LockedResolver(lock)),
                config=config, stack="dev", preview=preview)


@pytest.mark.parametrize("key, image, why", [
    ("setupImage", "postgres", "has neither a tag nor a digest"),
    ("setupImage", "Not An Image", "is not an image reference"),
    ("setupImage", "postgres:latest", "moving tag 'latest'"),
    ("database.inCluster.image", "postgres", "has neither a tag nor a digest"),
    ("database.inCluster.image", "docker.io/library/postgres:latest", "moving tag 'latest'"),
])
def test_every_image_of_the_registry_is_typed_like_the_servers_images(preview, key, image, why):
    registry = put(TOOLHIVE["registry"], tuple(key.split(".")), image)
    with pytest.raises(ConfigError) as raised:
        run_program(lambda: check_inputs(offline_digest_resolver, offline_secret_reader),
                    config={"toolhive:cluster": TEST_CLUSTER, "toolhive:registry": registry}, stack="dev", preview=preview)
    [problem] = raised.value.problems
    assert problem.startswith(f"toolhive:registry.{key}: ") and why in problem
