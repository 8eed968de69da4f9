"""The stack configuration contract: defaults, validation and errors that name the key."""
from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

from components.config.loader import parse_stack_config
from components.errors import ConfigError
from tests.conftest import PROJECT_ROOT, STACKS, render_config
from tools import render as render_tool
from tools.mock_runtime import ProgramRun


def problems_of(raw: dict) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(raw)
    return caught.value.problems


def test_empty_config_serves_a_local_dev_cluster():
    config = parse_stack_config({})
    assert config.operator.namespace == "toolhive-system"
    assert config.operator.rbac.scope == "cluster"
    assert config.operator.replicas == 1
    assert config.images.release == "v0.44.0"
    assert config.images.digest_source == "none"
    assert config.crds.protect is True


def test_invalid_enum_names_the_key_and_what_is_allowed():
    assert problems_of({"operator": {"rbac": {"scope": "everywhere"}}}) == [
        "toolhive:operator.rbac.scope: must be one of cluster, namespace (got 'everywhere')"
    ]


def test_unknown_key_is_rejected_with_the_allowed_keys():
    (problem,) = problems_of({"operator": {"replica": 2}})
    assert problem.startswith("toolhive:operator.replica: unknown key; allowed here: namespace, replicas,")


def test_every_problem_is_reported_at_once_with_list_indices():
    found = problems_of({"namespaces": [{"name": "ok"}, {"name": "Not_A_Name", "quota": {"pods": 0}}]})
    assert any(p.startswith("toolhive:namespaces[1].name: 'Not_A_Name' is not a valid name") for p in found)
    assert any(p.startswith("toolhive:namespaces[1].quota.pods: ") for p in found)
    assert len(found) == 2


def test_reserved_operator_env_cannot_be_set_by_the_user():
    (problem,) = problems_of({"operator": {"env": [{"name": "TOOLHIVE_SKIP_UPDATE_CHECK", "value": "true"},
                                                   {"name": "WATCH_NAMESPACE", "value": "x"}]}})
    assert problem.startswith("toolhive:operator.env[1].name: WATCH_NAMESPACE is set by the program and cannot be overridden")


def test_namespace_scope_with_storage_version_migrator_is_rejected():
    (problem,) = problems_of({"operator": {"rbac": {"scope": "namespace", "allowedNamespaces": ["a"]}}})
    assert problem == ("toolhive:operator.features.storageVersionMigrator: must be false when "
                       "toolhive:operator.rbac.scope is namespace (the migrator needs cluster scope)")


def test_namespace_scope_needs_namespaces_to_watch():
    (problem,) = problems_of({"operator": {"rbac": {"scope": "namespace"}, "features": {"storageVersionMigrator": False}}})
    assert problem.startswith("toolhive:operator.rbac.allowedNamespaces: must name at least one namespace")


def test_namespace_scope_watches_every_tenant_namespace_by_default():
    config = parse_stack_config({"operator": {"rbac": {"scope": "namespace"}, "features": {"storageVersionMigrator": False}},
                                 "namespaces": [{"name": "a"}, {"name": "b"}]})
    assert config.watched_namespaces == ["a", "b"]


def test_unbundled_release_is_rejected_naming_the_bundled_ones():
    assert problems_of({"images": {"release": "v9.9.9"}}) == [
        "toolhive:images.release: must be one of v0.44.0 (the bundled releases)"
    ]


def test_privileged_pod_security_is_not_allowed_for_tenants():
    (problem,) = problems_of({"namespaces": [{"name": "a", "podSecurity": {"level": "privileged"}}]})
    assert problem.startswith("toolhive:namespaces[0].podSecurity.level: must be one of baseline, restricted")


def test_pdb_that_would_block_every_drain_is_rejected():
    (problem,) = problems_of({"operator": {"replicas": 2, "podDisruptionBudget": {"enabled": True, "minAvailable": 2}}})
    assert problem.startswith("toolhive:operator.podDisruptionBudget.minAvailable: must be less than")


def test_reserved_namespace_labels_are_rejected():
    (problem,) = problems_of({"namespaces": [{"name": "a", "labels": {"pod-security.kubernetes.io/enforce": "privileged"}}]})
    assert problem.startswith("toolhive:namespaces[0].labels.pod-security.kubernetes.io/enforce: is reserved")


def test_tenant_namespace_cannot_be_the_operator_namespace():
    (problem,) = problems_of({"namespaces": [{"name": "toolhive-system"}]})
    assert problem.startswith("toolhive:namespaces[0].name: 'toolhive-system' is the operator namespace")


def test_config_error_registers_no_resource(preview):
    registered = ProgramRun()
    with pytest.raises(ConfigError) as caught:
        render_config({"operator": {"rbac": {"scope": "nope"}}, "namespaces": [{"name": "ok"}]},
                      preview=preview, into=registered)
    assert "toolhive:operator.rbac.scope" in str(caught.value)
    assert [r.type for r in registered.resources] == ["pulumi:pulumi:Stack"]


def test_unknown_top_level_key_is_rejected_before_anything_registers():
    with pytest.raises(ConfigError) as caught:
        render_config({"operatr": {}})
    assert caught.value.problems[0].startswith("toolhive:operatr: unknown key; allowed: toolhive:images,")


def test_secret_value_where_no_setting_takes_one_is_rejected():
    with pytest.raises(ConfigError) as caught:
        render_config({"operator": {"env": [{"name": "TOKEN", "value": "[secret]"}]}}, secret_keys=["toolhive:operator"])
    assert caught.value.problems[0].startswith("toolhive:operator: holds a secret value")


def test_schema_describes_the_stack_file(capsys):
    assert render_tool.main(["--schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    config = schema["properties"]["config"]["properties"]
    assert {"toolhive:images", "toolhive:operator", "toolhive:namespaces", "toolhive:crds"} <= set(config)
    rbac = schema["$defs"]["OperatorRbac"]["properties"]["scope"]
    assert rbac["enum"] == ["cluster", "namespace"] and rbac["description"]


def test_only_secret_typed_settings_may_hold_secrets():
    from typing import Optional

    from pydantic import BaseModel, SecretStr

    from components.config import OperatorConfig, StackConfig, is_secret_setting

    class WithToken(BaseModel):
        token: SecretStr | None = None

    assert is_secret_setting(Optional[SecretStr]) is True
    assert is_secret_setting(StackConfig.model_fields["default_redis_password"].annotation) is True
    # A secret nested in a larger setting would make the whole key secret, and the rest plaintext.
    assert is_secret_setting(list[WithToken]) is False
    assert is_secret_setting(OperatorConfig) is False


def test_a_secret_setting_given_in_plaintext_is_rejected():
    with pytest.raises(ConfigError) as caught:
        render_config({"operator": {"defaultRedis": {"addr": "redis:6379"}}, "defaultRedisPassword": "hunter2"})
    assert caught.value.problems == ["toolhive:defaultRedisPassword: must be set as a secret, never in plaintext: "
                                     "pulumi config set --secret toolhive:defaultRedisPassword <value>"]
    assert "hunter2" not in str(caught.value)


def test_redis_password_needs_the_redis_it_belongs_to():
    assert problems_of({"defaultRedisPassword": "x"}) == [
        "toolhive:defaultRedisPassword: needs toolhive:operator.defaultRedis.addr (the Redis it belongs to)"]
    assert problems_of({"defaultRedisPassword": "x",
                        "operator": {"defaultRedis": {"addr": "r:1", "existingSecret": "mine"}}}) == [
        "toolhive:defaultRedisPassword: conflicts with toolhive:operator.defaultRedis.existingSecret; set one of them"]


def test_committed_schema_is_current():
    committed = json.loads((PROJECT_ROOT / "stack-config.schema.json").read_text())
    assert committed == render_tool.config_schema(), "regenerate: python -m tools.render --schema > stack-config.schema.json"


@pytest.mark.parametrize("stack", STACKS)
def test_shipped_stack_files_validate_against_the_schema(stack):
    document = yaml.safe_load((PROJECT_ROOT / f"Pulumi.{stack}.yaml").read_text())
    jsonschema.validate(document, render_tool.config_schema())


def test_schema_catches_what_validation_catches():
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"config": {"toolhive:operator": {"rbac": {"scope": "everywhere"}}}}, render_tool.config_schema())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"config": {"toolhive:defaultRedisPassword": "plaintext"}}, render_tool.config_schema())


# Every field-level rule, one row each: a value just outside what is allowed is refused naming its key,
# and the value at the boundary is accepted (so loosening or tightening a rule turns a row red).
OUT_OF_BOUNDS = {
    "operator.namespace=Bad_Name": ({"operator": {"namespace": "Bad_Name"}}, "toolhive:operator.namespace"),
    "operator.replicas=0": ({"operator": {"replicas": 0}}, "toolhive:operator.replicas"),
    "operator.replicas=11": ({"operator": {"replicas": 11}}, "toolhive:operator.replicas"),
    "operator.imagePullPolicy=Sometimes": ({"operator": {"imagePullPolicy": "Sometimes"}}, "toolhive:operator.imagePullPolicy"),
    "operator.imagePullSecrets[0]=Bad_Name": ({"operator": {"imagePullSecrets": ["Bad_Name"]}}, "toolhive:operator.imagePullSecrets[0]"),
    "operator.defaultImagePullSecrets[0]=Bad_Name": (
        {"operator": {"defaultImagePullSecrets": ["Bad_Name"]}}, "toolhive:operator.defaultImagePullSecrets[0]"),
    "operator.defaultRedis.addr=no-port": ({"operator": {"defaultRedis": {"addr": "redis"}}}, "toolhive:operator.defaultRedis.addr"),
    "operator.defaultRedis.existingSecret=Bad_Name": (
        {"operator": {"defaultRedis": {"addr": "redis:6379", "existingSecret": "Bad_Name"}}},
        "toolhive:operator.defaultRedis.existingSecret"),
    "operator.defaultRedis.existingSecretKey=empty": (
        {"operator": {"defaultRedis": {"addr": "redis:6379", "existingSecretKey": ""}}},
        "toolhive:operator.defaultRedis.existingSecretKey"),
    "operator.proxyHost=empty": ({"operator": {"proxyHost": ""}}, "toolhive:operator.proxyHost"),
    "operator.rbac.allowedNamespaces[0]=Bad_Name": (
        {"operator": {"rbac": {"scope": "namespace", "allowedNamespaces": ["Bad_Name"]},
                      "features": {"storageVersionMigrator": False}}}, "toolhive:operator.rbac.allowedNamespaces[0]"),
    "operator.resources.requests without cpu": (
        {"operator": {"resources": {"requests": {"memory": "64Mi"}}}}, "toolhive:operator.resources.requests"),
    "operator.resources.requests without memory": (
        {"operator": {"resources": {"requests": {"cpu": "10m"}}}}, "toolhive:operator.resources.requests"),
    "operator.resources.limits without memory": (
        {"operator": {"resources": {"limits": {"cpu": "1"}}}}, "toolhive:operator.resources.limits.memory"),
    "operator.resources.limits.cpu=lots": (
        {"operator": {"resources": {"limits": {"cpu": "lots", "memory": "128Mi"}}}}, "toolhive:operator.resources.limits.cpu"),
    "operator.gc.gomemlimit=110MB": ({"operator": {"gc": {"gomemlimit": "110MB"}}}, "toolhive:operator.gc.gomemlimit"),
    "operator.gc.gogc=0": ({"operator": {"gc": {"gogc": 0}}}, "toolhive:operator.gc.gogc"),
    "operator.gc.gogc=1001": ({"operator": {"gc": {"gogc": 1001}}}, "toolhive:operator.gc.gogc"),
    "operator.env[0].name=1ST": ({"operator": {"env": [{"name": "1ST", "value": "x"}]}}, "toolhive:operator.env[0].name"),
    "operator.env[0] without value": ({"operator": {"env": [{"name": "A"}]}}, "toolhive:operator.env[0].value"),
    "operator.env[0] with value and valueFrom": (
        {"operator": {"env": [{"name": "A", "value": "x", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]}},
        "toolhive:operator.env[0].value"),
    "operator.podDisruptionBudget.minAvailable=0": (
        {"operator": {"podDisruptionBudget": {"enabled": True, "minAvailable": 0}}},
        "toolhive:operator.podDisruptionBudget.minAvailable"),
    "operator.priorityClassName=Bad_Name": ({"operator": {"priorityClassName": "Bad_Name"}}, "toolhive:operator.priorityClassName"),
    "namespaces[0].name=Bad_Name": ({"namespaces": [{"name": "Bad_Name"}]}, "toolhive:namespaces[0].name"),
    "namespaces[0].podSecurity.version=1.33": (
        {"namespaces": [{"name": "a", "podSecurity": {"version": "1.33"}}]}, "toolhive:namespaces[0].podSecurity.version"),
    "namespaces[0].quota.requestsCpu=lots": (
        {"namespaces": [{"name": "a", "quota": {"requestsCpu": "lots"}}]}, "toolhive:namespaces[0].quota.requestsCpu"),
    "namespaces[0].quota.pods=0": ({"namespaces": [{"name": "a", "quota": {"pods": 0}}]}, "toolhive:namespaces[0].quota.pods"),
    "namespaces[0].quota.mcpServers=-1": (
        {"namespaces": [{"name": "a", "quota": {"mcpServers": -1}}]}, "toolhive:namespaces[0].quota.mcpServers"),
    "namespaces[0].limits.max.memory=lots": (
        {"namespaces": [{"name": "a", "limits": {"max": {"cpu": "2", "memory": "lots"}}}]},
        "toolhive:namespaces[0].limits.max.memory"),
    "namespaces[0].network.allowFrom[0]=Bad_Name": (
        {"namespaces": [{"name": "a", "network": {"allowFrom": ["Bad_Name"]}}]}, "toolhive:namespaces[0].network.allowFrom[0]"),
    "namespaces[0].groups[0].name=Bad_Name": (
        {"namespaces": [{"name": "a", "groups": [{"name": "Bad_Name"}]}]}, "toolhive:namespaces[0].groups[0].name"),
}

AT_THE_BOUNDARY = {
    "operator.replicas=1 and 10": [{"operator": {"replicas": 1}}, {"operator": {"replicas": 10}}],
    "operator.gc.gogc=1 and 1000": [{"operator": {"gc": {"gogc": 1}}}, {"operator": {"gc": {"gogc": 1000}}}],
    "operator.gc.gomemlimit units": [{"operator": {"gc": {"gomemlimit": value}}} for value in ("0", "110MiB", "1GiB")],
    "operator.podDisruptionBudget.minAvailable=replicas-1": [
        {"operator": {"replicas": 2, "podDisruptionBudget": {"enabled": True, "minAvailable": 1}}}],
    "operator.env valueFrom alone": [
        {"operator": {"env": [{"name": "_A1", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]}}],
    "namespaces[0].quota.mcpServers=0 and pods=1": [{"namespaces": [{"name": "a", "quota": {"mcpServers": 0, "pods": 1}}]}],
    "namespaces[0].podSecurity.version=latest": [{"namespaces": [{"name": "a", "podSecurity": {"version": "latest"}}]}],
}


@pytest.mark.parametrize(("raw", "key"), OUT_OF_BOUNDS.values(), ids=OUT_OF_BOUNDS.keys())
def test_a_value_outside_what_a_setting_allows_is_refused_naming_its_key(raw, key):
    found = problems_of(raw)
    assert len(found) == 1 and found[0].startswith(f"{key}: "), found


@pytest.mark.parametrize("raws", AT_THE_BOUNDARY.values(), ids=AT_THE_BOUNDARY.keys())
def test_the_value_at_the_boundary_of_a_setting_is_accepted(raws):
    for raw in raws:
        parse_stack_config(raw)


def test_a_tenant_namespace_declared_twice_is_refused():
    assert problems_of({"namespaces": [{"name": "a"}, {"name": "b"}, {"name": "a"}]}) == [
        "toolhive:namespaces[2].name: 'a' is declared twice"]


def test_an_mcp_group_declared_twice_in_a_namespace_is_refused():
    assert problems_of({"namespaces": [{"name": "a", "groups": [{"name": "g"}, {"name": "g"}]}]}) == [
        "toolhive:namespaces[0].groups[1].name: 'g' is declared twice"]


def test_every_reserved_namespace_label_prefix_is_refused():
    for key in ("pod-security.kubernetes.io/audit", "app.kubernetes.io/name", "toolhive.platform/tenant"):
        (problem,) = problems_of({"namespaces": [{"name": "a", "labels": {key: "x"}}]})
        assert problem.startswith(f"toolhive:namespaces[0].labels.{key}: is reserved"), problem
    assert parse_stack_config({"namespaces": [{"name": "a", "labels": {"team": "x"}}]}).namespaces[0].labels == {"team": "x"}


def test_the_operator_namespace_is_refused_as_a_tenant_wherever_it_lives():
    (problem,) = problems_of({"operator": {"namespace": "platform"}, "namespaces": [{"name": "a"}, {"name": "platform"}]})
    assert problem.startswith("toolhive:namespaces[1].name: 'platform' is the operator namespace")


def test_namespace_scope_watches_the_allowed_namespaces_when_given():
    config = parse_stack_config({"operator": {"rbac": {"scope": "namespace", "allowedNamespaces": ["b"]},
                                              "features": {"storageVersionMigrator": False}},
                                 "namespaces": [{"name": "a"}, {"name": "b"}]})
    assert config.watched_namespaces == ["b"]


def test_cluster_scope_watches_no_namespace_list():
    assert parse_stack_config({"namespaces": [{"name": "a"}]}).watched_namespaces == []


def test_the_default_redis_secret_is_the_users_secret_and_key_else_the_programs():
    existing = parse_stack_config({"operator": {"defaultRedis": {"addr": "r:6379", "existingSecret": "mine",
                                                                 "existingSecretKey": "pw"}}})
    assert existing.default_redis_secret == ("mine", "pw")
    written = parse_stack_config({"operator": {"defaultRedis": {"addr": "r:6379"}}, "defaultRedisPassword": "x"})
    assert written.default_redis_secret == ("toolhive-default-redis", "redis-password")
    assert parse_stack_config({"operator": {"defaultRedis": {"addr": "r:6379"}}}).default_redis_secret is None


def test_safe_defaults_protect_crds_and_namespaces_and_aggregate_team_roles():
    config = parse_stack_config({})
    assert (config.crds.protect, config.namespace_protect, config.team_rbac.aggregate_to_builtin_roles) == (True, True, True)
