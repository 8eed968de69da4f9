"""registry.json: the v1.3.0 schemas plus the server's own rules, every problem naming the file and the server."""
from __future__ import annotations

import json

import pytest

from components.config.registry import RegistryConfig
from components.errors import ConfigError
from components.registry.data import validate_registry_data
from components.registry.plan import plan_registry
from tests.conftest import REGISTRY_DATA, registry_document

WHERE = "registry/data/team.json"


def _problems(document) -> list[str]:
    return validate_registry_data(json.dumps(document), WHERE)


def test_the_registry_data_in_this_repository_is_valid():
    assert validate_registry_data(REGISTRY_DATA.read_text(), "registry/data/registry.json") == []


def test_a_server_without_description_is_named_with_the_file():
    document = registry_document("io.example/a", "io.example/b")
    del document["data"]["servers"][1]["description"]
    problems = _problems(document)
    assert problems and all(p.startswith(f"{WHERE}: server 'io.example/b' (data.servers[1]): ") for p in problems)
    assert any("description must be set" in p for p in problems)


def test_an_empty_description_is_refused_like_the_server_does():
    assert any("server 'io.example/a' (data.servers[0]): description must be set" in p
               for p in _problems(registry_document("io.example/a", description="  ")))


def test_a_server_without_a_name_is_named_by_its_position():
    document = registry_document("io.example/a")
    del document["data"]["servers"][0]["name"]
    assert any(p.startswith(f"{WHERE}: server data.servers[0]: name must be set") for p in _problems(document))


def test_duplicate_server_names_are_refused():
    problems = _problems(registry_document("io.example/a", "io.example/a"))
    assert f"{WHERE}: server 'io.example/a' (data.servers[1]): name 'io.example/a' is already used by data.servers[0]" in problems


def test_data_without_servers_is_refused():
    document = registry_document()
    assert _problems(document) == [f"{WHERE}: data.servers: the registry server refuses data with no servers; add at least one"]


def test_an_unknown_transport_is_refused_naming_the_server():
    document = registry_document("io.example/a")
    document["data"]["servers"][0]["packages"][0]["transport"] = {"type": "websocket"}
    assert any("server 'io.example/a' (data.servers[0]): packages[0].transport.type 'websocket' is not a known transport"
               in p for p in _problems(document))


def test_schema_errors_inside_a_server_name_the_server_and_the_field():
    document = registry_document("io.example/a", version=7)
    assert f"{WHERE}: server 'io.example/a' (data.servers[0]): .version: 7 is not of type 'string'" in _problems(document)


def test_schema_errors_outside_the_servers_name_the_field():
    document = registry_document("io.example/a")
    document["version"] = "one"
    assert any(p.startswith(f"{WHERE}: .version: 'one' does not match") for p in _problems(document))


def test_invalid_json_is_reported_with_the_file():
    assert validate_registry_data("{", WHERE)[0].startswith(f"{WHERE}: not valid JSON")


# -- the data as a content-hashed ConfigMap -------------------------------------------------------------------

def _plan(root, text: str):
    (root / "registry").mkdir(parents=True, exist_ok=True)
    (root / "registry" / "team.json").write_text(text)
    config = RegistryConfig.model_validate({"sources": [{"name": "team", "file": {"data": "registry/team.json"}}]})
    return plan_registry(config, namespace="toolhive-system", tenant_namespaces=[], project_root=root)


def test_the_configmap_name_changes_exactly_when_the_data_changes(tmp_path):
    text = json.dumps(registry_document("io.example/a"))
    name = _plan(tmp_path, text).file_data[0].configmap_name
    assert name.startswith("toolhive-registry-data-team-")
    assert _plan(tmp_path, text).file_data[0].configmap_name == name
    changed = _plan(tmp_path, json.dumps(registry_document("io.example/b"))).file_data[0].configmap_name
    assert changed != name and changed.startswith("toolhive-registry-data-team-")


def test_the_server_reads_the_data_where_the_hashed_configmap_is_mounted(tmp_path):
    plan = _plan(tmp_path, json.dumps(registry_document("io.example/a")))
    mount = plan.mounts[0]
    assert mount.volume["configMap"]["name"] == plan.file_data[0].configmap_name
    assert plan.server_config.sources[0].file.path == f"{mount.mount_path}/registry.json"


def test_invalid_data_fails_the_plan_naming_the_file_and_server(tmp_path):
    document = registry_document("io.example/a")
    del document["data"]["servers"][0]["description"]
    with pytest.raises(ConfigError, match=r"registry/team.json: server 'io.example/a' \(data.servers\[0\]\)"):
        _plan(tmp_path, json.dumps(document))


def test_a_missing_data_file_names_the_key(tmp_path):
    config = RegistryConfig.model_validate({"sources": [{"name": "team", "file": {"data": "registry/none.json"}}]})
    with pytest.raises(ConfigError, match=r"toolhive:registry.sources\[0\].file.data: registry/none.json does not exist"):
        plan_registry(config, namespace="toolhive-system", tenant_namespaces=[], project_root=tmp_path)
