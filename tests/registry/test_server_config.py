"""The typed config.yaml (registry server v1.3.0): the server's rules, enforced before the file is written."""
from __future__ import annotations

import copy

import pytest
from pydantic import ValidationError

from components.registry.server_config import ServerConfig

BASE = {
    "sources": [{"name": "team", "file": {"path": "/data/registry.json"}, "syncPolicy": {"interval": "5m"}}],
    "registries": [{"name": "default", "sources": ["team"]}],
    "database": {"host": "db", "port": 5432, "user": "app", "database": "registry", "sslMode": "require"},
    "auth": {"mode": "anonymous"},
}
EVERY_KIND = [
    {"name": "git", "git": {"repository": "https://example.com/r.git", "branch": "main", "path": "r.json",
                            "auth": {"username": "git", "passwordFile": "/secrets/git/token"}},
     "syncPolicy": {"interval": "30m"}, "filter": {"names": {"include": ["io.example/*"]}, "tags": {"exclude": ["beta"]}}},
    {"name": "api", "api": {"endpoint": "https://registry.example.com"}, "syncPolicy": {"interval": "1h"}},
    {"name": "file", "file": {"path": "/data/registry.json"}, "syncPolicy": {"interval": "5m"}, "claims": {"org": "x"}},
    {"name": "managed", "managed": {}},
    {"name": "k8s", "kubernetes": {"namespaces": ["mcp-dev"]}},
]


def _with(**changes) -> dict:
    document = copy.deepcopy(BASE)
    document.update(changes)
    return document


def _error(document) -> str:
    with pytest.raises(ValidationError) as caught:
        ServerConfig.model_validate(document)
    return str(caught.value)


def test_every_source_kind_round_trips_through_yaml_unchanged():
    document = _with(sources=EVERY_KIND, registries=[{"name": "all", "sources": [s["name"] for s in EVERY_KIND]}])
    config = ServerConfig.model_validate(document)
    assert ServerConfig.from_yaml(config.to_yaml()).document() == document
    assert [s.kind for s in config.sources] == ["git", "api", "file", "managed", "kubernetes"]


def test_oauth_round_trips_with_go_field_names():
    auth = {"mode": "oauth", "oauth": {"resourceUrl": "https://registry.example.com", "providers": [
        {"name": "k8s", "issuerUrl": "https://kubernetes.default.svc", "audience": "x", "allowPrivateIP": True,
         "clientSecretFile": "/secrets/oauth/k8s/client-secret"}]}}
    assert ServerConfig.from_yaml(ServerConfig.model_validate(_with(auth=auth)).to_yaml()).document()["auth"] == auth


@pytest.mark.parametrize("source, message", [
    ({"name": "x", "api": {"endpoint": "https://a"}, "file": {"path": "/a"}, "syncPolicy": {"interval": "1m"}},
     "exactly one of git, api, file, managed, kubernetes"),
    ({"name": "x"}, "exactly one of"),
    ({"name": "x", "api": {"endpoint": "https://a"}}, "is required for a api source"),
    ({"name": "x", "managed": {}, "syncPolicy": {"interval": "1m"}}, "takes neither syncPolicy nor filter"),
    ({"name": "x", "kubernetes": {}, "filter": {"names": {"include": ["a"]}}}, "takes neither syncPolicy nor filter"),
    ({"name": "x", "file": {"path": "/a", "url": "https://a"}, "syncPolicy": {"interval": "1m"}}, "exactly one of path and url"),
    ({"name": "x", "file": {"path": "relative.json"}, "syncPolicy": {"interval": "1m"}}, "not an absolute path"),
    ({"name": "x", "file": {"path": "/a"}, "syncPolicy": {"interval": "5 minutes"}}, "not a Go duration"),
    ({"name": "x", "git": {"repository": "https://a/r.git", "branch": "main", "tag": "v1", "path": "r.json"},
      "syncPolicy": {"interval": "1m"}}, "at most one of branch, tag and commit"),
    ({"name": "Bad_Name", "managed": {}}, "not a valid name"),
])
def test_a_source_breaking_a_server_rule_is_refused(source, message):
    assert message in _error(_with(sources=[source], registries=[{"name": "d", "sources": [source["name"]]}]))


def test_source_names_are_unique_and_registries_name_existing_sources():
    twice = [BASE["sources"][0], BASE["sources"][0]]
    assert "'team' is declared twice" in _error(_with(sources=twice))
    assert "'other' is not a source; sources: team" in _error(_with(registries=[{"name": "d", "sources": ["other"]}]))
    assert "at least 1 item" in _error(_with(registries=[]))
    assert "at least 1 item" in _error(_with(sources=[]))


def test_at_most_one_managed_source():
    sources = [{"name": "a", "managed": {}}, {"name": "b", "managed": {}}]
    assert "at most one managed source" in _error(_with(sources=sources, registries=[{"name": "d", "sources": ["a"]}]))


def test_no_password_can_be_written_into_config_yaml():
    database = {**BASE["database"], "password": "hunter2"}
    assert "password" in _error(_with(database=database)) and "Extra inputs are not permitted" in _error(_with(database=database))
    provider = {"name": "p", "issuerUrl": "https://idp", "audience": "a", "clientSecret": "s3cret"}
    auth = {"mode": "oauth", "oauth": {"resourceUrl": "https://r", "providers": [provider]}}
    assert "Extra inputs are not permitted" in _error(_with(auth=auth))


def test_oauth_needs_https_issuers_and_at_least_one_provider():
    assert "is required when mode is oauth" in _error(_with(auth={"mode": "oauth"}))
    http = {"mode": "oauth", "oauth": {"resourceUrl": "https://r", "providers": [
        {"name": "p", "issuerUrl": "http://idp", "audience": "a"}]}}
    assert "must be an https:// URL" in _error(_with(auth=http))
    assert "at least 1 item" in _error(_with(auth={"mode": "oauth", "oauth": {"resourceUrl": "https://r", "providers": []}}))
    assert "must be one of" in _error(_with(auth={"mode": "none"})) or "Input should be" in _error(_with(auth={"mode": "none"}))


def test_referenced_paths_lists_every_file_the_server_opens():
    document = _with(sources=EVERY_KIND, registries=[{"name": "all", "sources": ["git"]}], auth={
        "mode": "oauth", "oauth": {"resourceUrl": "https://r", "providers": [
            {"name": "p", "issuerUrl": "https://idp", "audience": "a", "clientSecretFile": "/s/p/secret",
             "caCertPath": "/c/p/ca.crt", "authTokenFile": "/t/token"}]}})
    assert ServerConfig.model_validate(document).referenced_paths() == [
        "/secrets/git/token", "/data/registry.json", "/s/p/secret", "/c/p/ca.crt", "/t/token"]


def _keyed(document) -> tuple:
    """Where a refusal points: the key path below the model the rule is on (what the stack error names)."""
    with pytest.raises(ValidationError) as caught:
        ServerConfig.model_validate(document)
    return caught.value.errors()[0]["ctx"]["error"].path


def test_a_name_declared_twice_points_at_its_second_entry():
    third = {**BASE["sources"][0], "name": "other"}
    assert _keyed(_with(sources=[BASE["sources"][0], third, BASE["sources"][0]])) == ("sources", 2, "name")
    assert _keyed(_with(registries=[BASE["registries"][0]] * 2)) == ("registries", 1, "name")
    provider = {"name": "k8s", "issuerUrl": "https://kubernetes.default.svc", "audience": "x"}
    auth = {"mode": "oauth", "oauth": {"resourceUrl": "https://r.example.com", "providers": [provider, provider]}}
    with pytest.raises(ValidationError) as caught:
        ServerConfig.model_validate(_with(auth=auth))
    assert caught.value.errors()[0]["ctx"]["error"].path == ("oauth", "providers", 1, "name")


def test_config_yaml_is_written_in_block_style_in_the_servers_own_key_order():
    assert ServerConfig.model_validate(BASE).to_yaml() == """\
sources:
- name: team
  file:
    path: /data/registry.json
  syncPolicy:
    interval: 5m
registries:
- name: default
  sources:
  - team
database:
  host: db
  port: 5432
  user: app
  database: registry
  sslMode: require
auth:
  mode: anonymous
"""
