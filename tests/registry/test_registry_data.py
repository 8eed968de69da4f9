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


# -- every rule and path of the validator (surviving mutants of components/registry/data.py) ---------------------

def test_a_remote_of_an_unknown_transport_is_refused_naming_the_server_and_the_remote():
    document = registry_document("io.example/a")
    document["data"]["servers"][0]["remotes"] = [{"type": "sse", "url": "https://a.example.com/sse"},
                                                 {"type": "stdio", "url": "https://a.example.com/x"}]
    rules = [p for p in _problems(document) if "known" in p]
    assert rules == [f"{WHERE}: server 'io.example/a' (data.servers[0]): remotes[1].type 'stdio' is not a known remote "
                     "transport (streamable-http, sse)"]


def test_a_package_of_an_unknown_transport_names_the_transports_there_are():
    document = registry_document("io.example/a")
    document["data"]["servers"][0]["packages"][0]["transport"] = {"type": "websocket"}
    assert f"{WHERE}: server 'io.example/a' (data.servers[0]): packages[0].transport.type 'websocket' is not a known " \
           "transport (stdio, streamable-http, sse)" in _problems(document)


def test_a_server_entry_that_is_not_an_object_does_not_hide_the_next_ones_problems():
    document = registry_document("io.example/a", "io.example/b")
    document["data"]["servers"][0] = "io.example/a"
    del document["data"]["servers"][1]["description"]
    problems = _problems(document)
    assert f"{WHERE}: server data.servers[0]: .: 'io.example/a' is not of type 'object'" in problems
    assert f"{WHERE}: server 'io.example/b' (data.servers[1]): description must be set and not empty" in problems


def test_schema_problems_come_in_the_order_of_their_paths_with_list_indexes_in_brackets():
    document = registry_document("io.example/a", "io.example/b")
    document["version"] = 1
    document["data"]["servers"][1]["packages"][0]["transport"] = {}
    document["data"]["servers"][0]["version"] = 7
    assert _problems(document) == [
        f"{WHERE}: server 'io.example/a' (data.servers[0]): .version: 7 is not of type 'string'",
        f"{WHERE}: server 'io.example/b' (data.servers[1]): .packages[0].transport: {{}} is not valid under any of the given schemas",
        f"{WHERE}: .version: 1 is not of type 'string'",
        f"{WHERE}: server 'io.example/b' (data.servers[1]): packages[0].transport.type None is not a known transport "
        "(stdio, streamable-http, sse)",
    ]


@pytest.mark.parametrize("text, expected", [
    ("[]", [f"{WHERE}: .: [] is not of type 'object'",
            f"{WHERE}: data.servers: the registry server refuses data with no servers; add at least one"]),
    ('{"version": "1.0.0", "meta": {"last_updated": "2026-01-01T00:00:00Z"}}',
     [f"{WHERE}: .: 'data' is a required property",
      f"{WHERE}: data.servers: the registry server refuses data with no servers; add at least one"]),
    ('{"version": "1.0.0", "meta": {"last_updated": "2026-01-01T00:00:00Z"}, "data": {"servers": "x"}}',
     [f"{WHERE}: .data.servers: 'x' is not of type 'array'",
      f"{WHERE}: data.servers: the registry server refuses data with no servers; add at least one"]),
])
def test_data_of_the_wrong_shape_is_refused_naming_where(text, expected):
    assert validate_registry_data(text, WHERE) == expected


def test_the_configmap_name_ends_in_ten_hex_digits_of_the_datas_sha256(tmp_path):
    import hashlib

    from components.registry.data import content_hash

    text = json.dumps(registry_document("io.example/a"))
    assert content_hash(text) == hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]
    assert _plan(tmp_path, text).file_data[0].configmap_name == f"toolhive-registry-data-team-{content_hash(text)}"
