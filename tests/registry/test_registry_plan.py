"""The registry plan (components/registry/plan.py): every source turned into its config.yaml entry and mounts,
and every problem of every source collected into one ConfigError before any resource exists."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from components.config.registry import RegistryConfig
from components.errors import ConfigError
from components.registry.git_sources import GitSourceError, Pin
from components.registry.plan import plan_registry, registry_secret_requests
from components.registry.server_config import ServerConfig
from tests.conftest import make_unreadable, registry_document

COMMIT = "c" * 40


class Pins:
    """A resolver with a commit for some repositories and none for the others (as the lock file would say)."""

    def __init__(self, *known: str):
        self.known = known

    def resolve(self, source_name, spec) -> Pin:
        if spec.repository not in self.known:
            raise GitSourceError(f"registry source {source_name!r}: no commit recorded for {spec.repository}")
        return Pin(spec.repository, spec.ref, spec.path, COMMIT)


def plan(sources: list[dict], root: Path, *, pins=None, tenants=("mcp-a",), **registry):
    config = RegistryConfig.model_validate({"sources": sources, **registry})
    return plan_registry(config, namespace="toolhive-system", tenant_namespaces=list(tenants), pins=pins or Pins(),
                         project_root=root)


def data_file(root: Path, relative: str, content: bytes | dict) -> str:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else json.dumps(content).encode())
    return relative


def test_every_problem_of_every_source_is_listed_in_source_order(tmp_path, monkeypatch):
    bad = registry_document("io.example/a")
    del bad["data"]["servers"][0]["description"]
    sources = [
        {"name": "missing", "file": {"data": "registry/none.json"}},
        {"name": "latin", "file": {"data": data_file(tmp_path, "registry/latin.json", b'{"name": "caf\xe9"}')}},
        {"name": "locked", "file": {"data": data_file(tmp_path, "registry/locked.json", registry_document("io.example/l"))}},
        {"name": "team", "git": {"repository": "https://git.example/team.git", "branch": "main", "path": "r.json"}},
        {"name": "bad", "file": {"data": data_file(tmp_path, "registry/bad.json", bad)}},
        {"name": "good", "file": {"data": data_file(tmp_path, "registry/good.json", registry_document("io.example/g"))}},
    ]
    make_unreadable(monkeypatch, "locked.json")
    with pytest.raises(ConfigError) as raised:
        plan(sources, tmp_path)
    assert raised.value.problems == [
        "toolhive:registry.sources[0].file.data: registry/none.json does not exist in this repository",
        "toolhive:registry.sources[1].file.data: registry/latin.json: not UTF-8 text (byte 13); save it as UTF-8 JSON",
        "toolhive:registry.sources[2].file.data: registry/locked.json: cannot read: Permission denied; "
        "save it as UTF-8 JSON",
        "toolhive:registry.sources[3].git: registry source 'team': no commit recorded for https://git.example/team.git",
        "registry/bad.json: server 'io.example/a' (data.servers[0]): .: 'description' is a required property",
        "registry/bad.json: server 'io.example/a' (data.servers[0]): description must be set and not empty",
    ]


def test_a_file_source_is_mounted_from_its_content_named_configmap(tmp_path):
    relative = data_file(tmp_path, "registry/team.json", registry_document("io.example/a"))
    result = plan([{"name": "team", "file": {"data": relative}}], tmp_path)
    [data] = result.file_data
    assert (data.source, data.repo_path, data.text) == ("team", relative, (tmp_path / relative).read_text())
    assert data.configmap_name.startswith("toolhive-registry-data-team-")
    assert result.mounts[0].volume == {"name": "data-team", "configMap": {"name": data.configmap_name, "items": [
        {"key": "registry.json", "path": "registry.json"}]}}
    assert result.server_config.sources[0].file.path == "/data/sources/team/registry.json"


@pytest.mark.parametrize(("ref", "expected"), [
    ({"branch": "main"}, {"branch": "main"}),
    ({"tag": "v1.0.0"}, {"tag": "v1.0.0"}),
    ({"tag": "v1.0.0", "pin": True}, {"commit": COMMIT}),
    ({"commit": COMMIT}, {"commit": COMMIT}),
])
def test_a_git_source_follows_its_branch_or_tag_unless_pinned_to_the_resolved_commit(tmp_path, ref, expected):
    spec = {"repository": "https://git.example/team.git", "path": "r.json", **ref}
    result = plan([{"name": "team", "git": spec}], tmp_path, pins=Pins("https://git.example/team.git"))
    assert result.server_config.document()["sources"][0]["git"] == {
        "repository": "https://git.example/team.git", "path": "r.json", **expected}
    assert result.pins["team"].commit == COMMIT


def test_a_git_sources_password_is_a_secret_file_readable_by_owner_and_group_only(tmp_path):
    spec = {"repository": "https://git.example/team.git", "branch": "main", "path": "r.json",
            "auth": {"username": "git", "passwordSecret": {"name": "git-token", "key": "token"}}}
    result = plan([{"name": "team", "git": spec}], tmp_path, pins=Pins("https://git.example/team.git"),
                  existing={"secrets": ["git-token"]})
    assert result.mounts[0].volume["secret"] == {"secretName": "git-token", "defaultMode": 0o440,
                                                 "items": [{"key": "token", "path": "password"}]}
    assert result.server_config.document()["sources"][0]["git"]["auth"] == {
        "username": "git", "passwordFile": f"{result.mounts[0].mount_path}/password"}


def test_every_kubernetes_sources_namespaces_are_watched_each_once_in_order(tmp_path):
    result = plan([{"name": "one", "kubernetes": {"namespaces": ["mcp-b", "mcp-a"]}},
                   {"name": "two", "kubernetes": {"namespaces": ["mcp-a", "mcp-c"]}},
                   {"name": "tenants", "kubernetes": {}}], tmp_path, tenants=("mcp-d",))
    assert result.watch_namespaces == ["mcp-b", "mcp-a", "mcp-c", "mcp-d"]


def test_a_synced_source_keeps_its_filter_and_claims_and_a_kubernetes_source_its_claims(tmp_path):
    relative = data_file(tmp_path, "registry/team.json", registry_document("io.example/a"))
    result = plan([{"name": "team", "file": {"data": relative}, "filter": {"names": {"include": ["io.example/*"]}},
                    "claims": {"org": "example"}},
                   {"name": "cluster", "kubernetes": {}, "claims": {"org": ["a", "b"]}}], tmp_path)
    team, cluster = result.server_config.document()["sources"]
    assert team == {"name": "team", "file": {"path": "/data/sources/team/registry.json"}, "syncPolicy": {"interval": "30m"},
                    "filter": {"names": {"include": ["io.example/*"]}}, "claims": {"org": "example"}}
    assert cluster == {"name": "cluster", "kubernetes": {"namespaces": ["mcp-a"]}, "claims": {"org": ["a", "b"]}}


@pytest.mark.parametrize(("length", "refused"), [(63, False), (64, True)])
def test_a_per_namespace_source_name_is_a_dns_label_of_at_most_63_characters(tmp_path, length, refused):
    source = "s" * (length - len("-mcp-a"))
    sources = [{"name": "keeps", "kubernetes": {"namespaces": ["mcp-a"]}},  # one namespace: keeps its name
               {"name": source, "kubernetes": {}}]  # both tenants: one source each, named <source>-<namespace>
    if not refused:
        names = [s["name"] for s in plan(sources, tmp_path, tenants=("mcp-a", "mcp-b")).server_config.document()["sources"]]
        assert names == ["keeps", f"{source}-mcp-a", f"{source}-mcp-b"] and len(names[1]) == 63
        return
    with pytest.raises(ConfigError) as raised:
        plan(sources, tmp_path, tenants=("mcp-a", "mcp-b"))
    assert raised.value.problems == [
        f"toolhive:registry.sources[1].name: the per-namespace source '{source}-{tenant}' (one kubernetes source per "
        "namespace, upstream issue #886) is longer than 63 characters; shorten the source name or declare one source "
        "per namespace" for tenant in ("mcp-a", "mcp-b")]


# -- auth and the database --------------------------------------------------------------------------------------

FILE_SOURCE = {"name": "team", "file": {"data": "registry/team.json"}}
DB_PASSWORD, MIGRATION_PASSWORD = "pulumi-config://registry:dbPassword", "pulumi-config://registry:migration"


def plan_with(tmp_path, *, secret_values=None, **registry):
    data_file(tmp_path, FILE_SOURCE["file"]["data"], registry_document("io.example/a"))
    config = RegistryConfig.model_validate({"sources": [FILE_SOURCE], **registry})
    return plan_registry(config, namespace="toolhive-system", tenant_namespaces=[], pins=Pins(), project_root=tmp_path,
                         secret_values=secret_values)


def test_oauth_is_written_with_every_setting_and_each_providers_files_mounted(tmp_path):
    auth = {"mode": "oauth", "resourceUrl": "https://registry.example.com", "realm": "mcp", "scopesSupported": ["read"],
            "publicPaths": ["/health"], "providers": [
                {"name": "sso", "issuerUrl": "https://auth.example.com", "audience": "api://registry",
                 "clientId": "registry", "allowPrivateIP": True, "clientSecret": {"name": "sso-client", "key": "secret"},
                 "caCert": {"name": "sso-ca", "key": "ca.crt"}},
                {"name": "k8s", "issuerUrl": "https://kubernetes.default.svc", "audience": "registry"}]}
    result = plan_with(tmp_path, auth=auth, existing={"secrets": ["sso-client"], "configMaps": ["sso-ca"]})
    assert result.server_config.document()["auth"] == {"mode": "oauth", "publicPaths": ["/health"], "oauth": {
        "resourceUrl": "https://registry.example.com", "realm": "mcp", "scopesSupported": ["read"], "providers": [
            {"name": "sso", "issuerUrl": "https://auth.example.com", "audience": "api://registry", "clientId": "registry",
             "allowPrivateIP": True, "clientSecretFile": "/secrets/oauth/sso/client-secret",
             "caCertPath": "/certs/oauth/sso/ca.crt"},
            {"name": "k8s", "issuerUrl": "https://kubernetes.default.svc", "audience": "registry"}]}}
    secret, ca = (m.volume for m in result.mounts[1:])
    assert secret["secret"] == {"secretName": "sso-client", "defaultMode": 0o440,
                                "items": [{"key": "secret", "path": "client-secret"}]}
    assert ca["configMap"] == {"name": "sso-ca", "items": [{"key": "ca.crt", "path": "ca.crt"}]}


def test_anonymous_auth_keeps_its_public_paths(tmp_path):
    result = plan_with(tmp_path, auth={"publicPaths": ["/health", "/v0/servers"]})
    assert result.server_config.document()["auth"] == {"mode": "anonymous", "publicPaths": ["/health", "/v0/servers"]}


def test_an_external_database_takes_its_passwords_from_the_resolved_secrets_and_its_pool_settings(tmp_path):
    database = {"external": {"host": "db.example.com", "port": 6432, "password": DB_PASSWORD, "migrationUser": "migrator",
                             "migrationPassword": MIGRATION_PASSWORD},
                "maxOpenConns": 20, "maxIdleConns": 0, "connMaxLifetime": "30m", "caBundle": {"name": "db-ca", "key": "rds.pem"}}
    values = {DB_PASSWORD: "p1", MIGRATION_PASSWORD: "p2"}  # stand-ins for the resolved pulumi.Outputs
    result = plan_with(tmp_path, database=database, secret_values=values, existing={"configMaps": ["db-ca"]})
    assert result.server_config.document()["database"] == {
        "host": "db.example.com", "port": 6432, "user": "thv_registry", "database": "toolhive_registry",
        "sslMode": "verify-full", "migrationUser": "migrator", "maxOpenConns": 20, "maxIdleConns": 0,
        "connMaxLifetime": "30m"}
    assert (result.database_host, result.db_passwords) == ("db.example.com", {"thv_registry": "p1", "migrator": "p2"})
    assert result.mounts[-1].volume == {"name": "database-ca", "configMap": {"name": "db-ca", "items": [
        {"key": "rds.pem", "path": "ca.crt"}]}}
    assert result.mounts[-1].mount_path == "/certs/database" and result.ssl_root_cert == "/certs/database/ca.crt"


def test_an_unresolved_database_password_is_named_by_its_key(tmp_path):
    database = {"external": {"host": "db.example.com", "password": DB_PASSWORD, "migrationUser": "migrator",
                             "migrationPassword": MIGRATION_PASSWORD}, "sslMode": "require"}
    with pytest.raises(ConfigError) as raised:
        plan_with(tmp_path, database=database, secret_values={MIGRATION_PASSWORD: "p2"})
    assert raised.value.problems == [f"toolhive:registry.database.external.password: {DB_PASSWORD} was not resolved"]
    with pytest.raises(ConfigError) as raised:
        plan_with(tmp_path, database=database, secret_values={DB_PASSWORD: "p1"})
    assert raised.value.problems == [
        f"toolhive:registry.database.external.migrationPassword: {MIGRATION_PASSWORD} was not resolved"]


def test_the_in_cluster_database_is_reached_by_its_service_without_a_ca_or_passwords_to_read(tmp_path):
    result = plan_with(tmp_path)
    assert result.database_host == "toolhive-registry-postgres.toolhive-system.svc.cluster.local"
    assert result.server_config.document()["database"]["host"] == result.database_host
    assert result.ssl_root_cert is None and result.db_passwords == {}
    assert "maxOpenConns" not in result.server_config.document()["database"]
    assert registry_secret_requests(result.config) == [] and registry_secret_requests(None) == []


def test_registries_list_their_sources_and_claims(tmp_path):
    result = plan_with(tmp_path, registries=[{"name": "all", "sources": ["team"], "claims": {"org": "example"}},
                                             {"name": "plain", "sources": ["team"]}])
    assert result.server_config.document()["registries"] == [
        {"name": "all", "sources": ["team"], "claims": {"org": "example"}}, {"name": "plain", "sources": ["team"]}]


def test_a_generated_config_yaml_the_server_would_refuse_is_a_config_error(tmp_path, monkeypatch):
    def refuse(document):
        raise ValueError("a rule the stack model does not know")

    monkeypatch.setattr(ServerConfig, "model_validate", refuse)
    with pytest.raises(ConfigError) as raised:
        plan_with(tmp_path)
    assert raised.value.problems == [
        "toolhive:registry: the generated config.yaml breaks a registry server rule: a rule the stack model does not know"]
