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
    "namespaces[0].limits.min.cpu above defaultRequest": (
        {"namespaces": [{"name": "a", "limits": {"min": {"cpu": "51m"}}}]}, "toolhive:namespaces[0].limits.min.cpu"),
    "namespaces[0].limits.maxLimitRequestRatio.cpu=0.9": (
        {"namespaces": [{"name": "a", "limits": {"maxLimitRequestRatio": {"cpu": "0.9"}}}]},
        "toolhive:namespaces[0].limits.maxLimitRequestRatio.cpu"),
    "namespaces[0].limits.maxLimitRequestRatio.cpu below default/defaultRequest": (
        {"namespaces": [{"name": "a", "limits": {"maxLimitRequestRatio": {"cpu": "9.9"}}}]},
        "toolhive:namespaces[0].limits.maxLimitRequestRatio.cpu"),
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
    "operator.gc.gomemlimit units": [{"operator": {"gc": {"gomemlimit": value}}} for value in ("0", "110MiB", "120000KiB")],
    "operator.podDisruptionBudget.minAvailable=replicas-1": [
        {"operator": {"replicas": 2, "podDisruptionBudget": {"enabled": True, "minAvailable": 1}}}],
    "operator.env valueFrom alone": [
        {"operator": {"env": [{"name": "_A1", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]}}],
    "namespaces[0].quota.mcpServers=0 and pods=1": [{"namespaces": [{"name": "a", "quota": {"mcpServers": 0, "pods": 1}}]}],
    "namespaces[0].podSecurity.version=latest": [{"namespaces": [{"name": "a", "podSecurity": {"version": "latest"}}]}],
    "namespaces[0].limits.min=defaultRequest, maxLimitRequestRatio=default/defaultRequest": [
        {"namespaces": [{"name": "a", "limits": {"min": {"cpu": "50m", "memory": "64Mi"},
                                                 "maxLimitRequestRatio": {"cpu": "10", "memory": "8"}}}]}],
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
    (problem,) = problems_of({"namespaces": [{"name": "a", "groups": [{"name": "g"}, {"name": "g"}]}]})
    assert problem.startswith("toolhive:namespaces[0].groups[1].name: 'g' is listed twice")


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


# --- Validation that matches the cluster: what passes here, the API server admits. -------------------

def one_problem(raw: dict) -> str:
    (problem,) = problems_of(raw)
    return problem


def tenant(**fields) -> dict:
    return {"name": "team-a", **fields}


def egress(cidr: str) -> dict:
    return {"namespaces": [tenant(network={"egress": [{"cidr": "10.0.0.0/8"}, {"cidr": cidr, "ports": [443]}]})]}


@pytest.mark.parametrize("cidr", ["10.0.0.0/8", "0.0.0.0/0", "10.1.2.3/32", "::/0", "2001:db8::/32", "fd00::1/128"])
def test_ipv4_and_ipv6_cidrs_are_accepted(cidr):
    assert parse_stack_config(egress(cidr)).namespaces[0].network.egress[1].cidr == cidr


@pytest.mark.parametrize(("cidr", "reason"), [
    ("10.0.0.0/33", "the prefix length must be a number from 0 to 32 for IPv4"),
    ("2001:db8::/129", "the prefix length must be a number from 0 to 128 for IPv6"),
    ("10.0.0.0/-1", "the prefix length must be a number from 0 to 32 for IPv4"),
    ("256.0.0.0/8", "'256.0.0.0' is not an IPv4 or IPv6 address"),
    ("010.0.0.0/8", "'010.0.0.0' is not an IPv4 or IPv6 address"),   # leading zeros: octal to some parsers
    ("10.0.0.0", "it needs a prefix length, e.g. 10.0.0.0/32 for one IPv4 address"),
    ("10.0.0.1/24", "host bits are set; the network is 10.0.0.0/24 (or use /32 for one address)"),
    ("2001:db8::1/32", "host bits are set; the network is 2001:db8::/32 (or use /128 for one address)"),
    ("::ffff:10.0.0.0/104", "IPv4-mapped IPv6 is ambiguous; write the IPv4 CIDR"),
])
def test_an_invalid_cidr_names_its_key_and_why(cidr, reason):
    assert one_problem(egress(cidr)) == f"toolhive:namespaces[0].network.egress[1].cidr: {cidr!r} is not a valid CIDR: {reason}"


RESERVED = ["default", "kube-system", "kube-public", "kube-node-lease", "kube-anything"]


@pytest.mark.parametrize("name", RESERVED)
def test_a_reserved_namespace_is_never_a_tenant(name):
    assert one_problem({"namespaces": [tenant(name=name)]}).startswith(
        f"toolhive:namespaces[0].name: {name!r} is reserved for the cluster itself (default, kube-*)")


@pytest.mark.parametrize("name", RESERVED)
def test_a_reserved_namespace_is_never_the_operator_namespace(name):
    assert one_problem({"operator": {"namespace": name}}).startswith(
        f"toolhive:operator.namespace: {name!r} is reserved for the cluster itself")


NAMESPACE_SCOPE = {"scope": "namespace"}
NO_MIGRATOR = {"storageVersionMigrator": False}


def namespace_scoped(rbac: dict, tenants: list[str] = ("team-a", "team-b")) -> dict:
    return {"operator": {"rbac": {**NAMESPACE_SCOPE, **rbac}, "features": NO_MIGRATOR},
            "namespaces": [tenant(name=name) for name in tenants]}


@pytest.mark.parametrize("key", ["allowedNamespaces", "externalNamespaces"])
@pytest.mark.parametrize("name", RESERVED)
def test_a_reserved_namespace_is_never_watched(name, key):
    assert one_problem(namespace_scoped({key: [name]})).startswith(
        f"toolhive:operator.rbac.{key}[0]: {name!r} is reserved for the cluster itself")


def test_a_watched_namespace_is_listed_once():
    assert one_problem(namespace_scoped({"allowedNamespaces": ["team-a", "team-b", "team-a"]})) == (
        "toolhive:operator.rbac.allowedNamespaces[2]: 'team-a' is listed twice; each entry must be unique")


def test_the_operator_namespace_is_never_a_watched_namespace():
    assert one_problem(namespace_scoped({"allowedNamespaces": ["team-a", "toolhive-system"]})).startswith(
        "toolhive:operator.rbac.allowedNamespaces[1]: 'toolhive-system' is the operator namespace")


def test_a_watched_namespace_must_be_a_tenant_of_this_stack():
    assert one_problem(namespace_scoped({"allowedNamespaces": ["team-a", "elsewhere"]})) == (
        "toolhive:operator.rbac.allowedNamespaces[1]: 'elsewhere' is not a tenant namespace of this stack "
        "(toolhive:namespaces); declare it in toolhive:operator.rbac.externalNamespaces if it exists outside the stack")


def test_an_external_namespace_must_be_watched():
    assert one_problem(namespace_scoped({"allowedNamespaces": ["team-a"], "externalNamespaces": ["elsewhere"]})) == (
        "toolhive:operator.rbac.externalNamespaces[0]: 'elsewhere' is not in toolhive:operator.rbac.allowedNamespaces; "
        "list only watched namespaces here")


def test_a_tenant_is_never_an_external_namespace():
    assert one_problem(namespace_scoped({"allowedNamespaces": ["team-a"], "externalNamespaces": ["team-a"]})) == (
        "toolhive:operator.rbac.externalNamespaces[0]: 'team-a' is a tenant namespace this stack creates, not an external one")


def test_an_external_namespace_is_listed_once():
    assert one_problem(namespace_scoped({"allowedNamespaces": ["x"], "externalNamespaces": ["x", "x"]})) == (
        "toolhive:operator.rbac.externalNamespaces[1]: 'x' is listed twice; each entry must be unique")


@pytest.mark.parametrize("key", ["allowedNamespaces", "externalNamespaces"])
def test_watched_namespaces_are_refused_with_cluster_scope(key):
    assert one_problem({"operator": {"rbac": {key: ["team-a"]}}, "namespaces": [tenant()]}) == (
        f"toolhive:operator.rbac.{key}: only applies when toolhive:operator.rbac.scope is namespace "
        "(a cluster-scoped operator watches every namespace)")


def test_an_external_namespace_is_bound_but_never_created(preview):
    rendered = render_config(namespace_scoped({"allowedNamespaces": ["team-a", "shared-tools"],
                                               "externalNamespaces": ["shared-tools"]}), preview=preview)
    assert rendered.object("RoleBinding", "toolhive-operator-manager-rolebinding", "shared-tools")
    assert "shared-tools" not in [ns["metadata"]["name"] for ns in rendered.objects("Namespace")]
    env = {var["name"]: var for var in rendered.object("Deployment", "toolhive-operator", "toolhive-system")
           ["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["WATCH_NAMESPACE"]["value"] == "team-a,shared-tools"


def access(tier: str, kind: str, names: list) -> dict:
    return {"namespaces": [tenant(access={tier: {kind: names}})]}


@pytest.mark.parametrize("group", ["system:unauthenticated", "system:authenticated", "system:serviceaccounts"])
@pytest.mark.parametrize("tier", ["viewers", "editors", "admins"])
def test_everyone_groups_are_never_given_tenant_access(tier, group):
    assert one_problem(access(tier, "groups", ["platform-team", group])).startswith(
        f"toolhive:namespaces[0].access.{tier}.groups[1]: {group!r} stands for every caller")


def test_the_anonymous_user_is_never_given_tenant_access():
    assert one_problem(access("viewers", "users", ["system:anonymous"])).startswith(
        "toolhive:namespaces[0].access.viewers.users[0]: 'system:anonymous' stands for every caller")


@pytest.mark.parametrize("name", ["", "   "])
@pytest.mark.parametrize("kind", ["groups", "users"])
def test_a_subject_is_never_empty(kind, name):
    assert one_problem(access("editors", kind, [name])) == (
        f"toolhive:namespaces[0].access.editors.{kind}[0]: must be a non-empty user or group name")


def test_a_subject_has_no_surrounding_spaces():
    assert one_problem(access("editors", "users", [" dev@example.com"])).startswith(
        "toolhive:namespaces[0].access.editors.users[0]: ' dev@example.com' has leading or trailing spaces")


@pytest.mark.parametrize(("raw", "key", "name"), [
    (access("admins", "groups", ["ops", "ops"]), "namespaces[0].access.admins.groups[1]", "ops"),
    (access("viewers", "users", ["a@x", "b@x", "a@x"]), "namespaces[0].access.viewers.users[2]", "a@x"),
    ({"namespaces": [tenant(network={"allowFrom": ["agents", "agents"]})]}, "namespaces[0].network.allowFrom[1]", "agents"),
    ({"namespaces": [tenant(groups=[{"name": "g"}, {"name": "g"}])]}, "namespaces[0].groups[1].name", "g"),
    ({"operator": {"env": [{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]}}, "operator.env[1].name", "A"),
    ({"operator": {"imagePullSecrets": ["regcred", "regcred"]}}, "operator.imagePullSecrets[1]", "regcred"),
    ({"operator": {"defaultImagePullSecrets": ["a", "b", "b"]}}, "operator.defaultImagePullSecrets[2]", "b"),
], ids=["groups", "users", "allowFrom", "mcpGroups", "env", "imagePullSecrets", "defaultImagePullSecrets"])
def test_every_name_keyed_list_refuses_duplicates(raw, key, name):
    assert one_problem(raw) == f"toolhive:{key}: {name!r} is listed twice; each entry must be unique"


LONG = "a" * 64


@pytest.mark.parametrize(("key", "value", "message"), [
    ("Team", "a", None),
    ("example.com/team", "", None),
    ("app_tier.v2", "Front-End.1", None),
    ("-team", "a", "key '-team' must be a name of at most 63 characters"),
    ("team-", "a", "key 'team-' must be a name of at most 63 characters"),
    (LONG, "a", f"key {LONG!r} must be a name of at most 63 characters"),
    ("a/b/c", "a", "key 'a/b/c' must be a name of at most 63 characters"),
    ("Example.com/team", "a", "key 'Example.com/team' prefix must be a DNS subdomain"),
    ("/team", "a", "key '/team' has an empty prefix before '/'"),
    ("team", LONG, f"value {LONG!r} must be empty or at most 63 characters"),
    ("team", "a b", "value 'a b' must be empty or at most 63 characters"),
    ("team", "-a", "value '-a' must be empty or at most 63 characters"),
])
@pytest.mark.parametrize("where", ["operator.podLabels", "operator.nodeSelector", "namespaces[0].labels"])
def test_label_maps_follow_the_api_server_rules(where, key, value, message):
    raw = ({"namespaces": [tenant(labels={key: value})]} if where.startswith("namespaces")
           else {"operator": {where.split(".")[1]: {key: value}}})
    if message is None:
        parse_stack_config(raw)
    else:
        assert one_problem(raw).startswith(f"toolhive:{where}.{key}: {message}")


@pytest.mark.parametrize("where", ["podAnnotations", "serviceAccount.annotations"])
def test_annotation_maps_follow_the_api_server_rules(where):
    def operator_with(annotations: dict) -> dict:
        return {"operator": {"podAnnotations": annotations} if where == "podAnnotations"
                else {"serviceAccount": {"annotations": annotations}}}

    # Keys are qualified names (checked lowercased, as the API server does); values are free text.
    parse_stack_config(operator_with({"Example.com/Note": "any text: {\"json\": [1, 2]}\n", "note": ""}))
    assert one_problem(operator_with({"bad key": "x"})).startswith(
        f"toolhive:operator.{where}.bad key: key 'bad key' must be a name of at most 63 characters")
    assert one_problem(operator_with({"a": "x" * (128 * 1024), "b": "y" * (128 * 1024)})).startswith(
        f"toolhive:operator.{where}: annotations take 262146 bytes; keys and values together may take at most 262144")
    parse_stack_config(operator_with({"a": "x" * (128 * 1024 - 1), "b": "y" * (128 * 1024 - 1)}))


def tolerations(*items: dict) -> dict:
    return {"operator": {"tolerations": list(items)}}


@pytest.mark.parametrize(("toleration", "message"), [
    ({"key": "dedicated", "operator": "Exists", "value": "ops"}, "[0].value: must be empty when operator is Exists"),
    ({"key": "dedicated", "value": "ops", "effect": "NoSchedule", "tolerationSeconds": 30},
     "[0].tolerationSeconds: is only allowed with effect NoExecute"),
    ({"key": "dedicated", "effect": "NoExecuteNow"}, "[0].effect: must be one of NoSchedule, PreferNoSchedule, NoExecute"),
    ({"key": "dedicated", "operator": "In"}, "[0].operator: must be one of Exists, Equal"),
    ({"value": "ops"}, "[0].operator: must be Exists when no key is given"),
    ({"key": "bad key", "operator": "Exists"}, "[0].key: 'bad key' must be a name of at most 63 characters"),
    ({"key": "dedicated", "value": "not ok"}, "[0].value: 'not ok' must be empty or at most 63 characters"),
    ({"key": "dedicated", "tolerance": 1}, "[0].tolerance: unknown key"),
])
def test_tolerations_are_typed(toleration, message):
    assert one_problem(tolerations(toleration)).startswith(f"toolhive:operator.tolerations{message}")


def test_valid_tolerations_reach_the_pod_as_written(preview):
    given = [{"key": "dedicated", "operator": "Equal", "value": "platform", "effect": "NoSchedule"},
             {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30},
             {"operator": "Exists"}]
    rendered = render_config(tolerations(*given), preview=preview)
    pod = rendered.object("Deployment", "toolhive-operator", "toolhive-system")["spec"]["template"]["spec"]
    assert pod["tolerations"] == given


@pytest.mark.parametrize("gomemlimit", ["128MiB", "1GiB", "134217728"])
def test_gomemlimit_stays_below_the_memory_limit(gomemlimit):
    assert one_problem({"operator": {"gc": {"gomemlimit": gomemlimit}, "resources": {"limits": {"memory": "128Mi"}}}}).startswith(
        f"toolhive:operator.gc.gomemlimit: {gomemlimit} must stay below toolhive:operator.resources.limits.memory (128Mi)")


def test_gomemlimit_just_below_the_memory_limit_is_accepted():
    config = parse_stack_config({"operator": {"gc": {"gomemlimit": "134217727B"}, "resources": {"limits": {"memory": "128Mi"}}}})
    assert config.operator.gc.gomemlimit == "134217727B"
    # A decimal memory limit is compared by value too: 0.2G = 200,000,000 bytes > 190MiB.
    parse_stack_config({"operator": {"gc": {"gomemlimit": "190MiB"}, "resources": {"limits": {"memory": "0.2G"}}}})


@pytest.mark.parametrize("gomemlimit", ["110MB", "110 MiB", "1.5GiB", "-1"])
def test_gomemlimit_uses_go_syntax(gomemlimit):
    assert one_problem({"operator": {"gc": {"gomemlimit": gomemlimit}}}).startswith(
        f"toolhive:operator.gc.gomemlimit: {gomemlimit!r} is not a Go memory limit")


@pytest.mark.parametrize(("resource", "asked", "limit"), [("cpu", "600m", "500m"), ("memory", "129Mi", "128Mi"),
                                                            ("cpu", "2", "1500m"), ("memory", "1G", "0.9Gi")])
def test_operator_requests_never_exceed_limits(resource, asked, limit):
    resources = {"requests": {"cpu": "10m", "memory": "64Mi", resource: asked},
                 "limits": {"cpu": "500m", "memory": "128Mi", resource: limit}}
    gc = {"gomemlimit": "1MiB"}
    assert one_problem({"operator": {"resources": resources, "gc": gc}}).startswith(
        f"toolhive:operator.resources.requests.{resource}: {asked} is above the limit {limit}")


def test_operator_requests_equal_to_limits_are_accepted():
    parse_stack_config({"operator": {"resources": {"requests": {"cpu": "0.5", "memory": "128Mi"},
                                                   "limits": {"cpu": "500m", "memory": "134217728"}}}})


@pytest.mark.parametrize(("quota", "key"), [({"requestsCpu": "4", "limitsCpu": "3900m"}, "limitsCpu"),
                                            ({"requestsMemory": "8Gi", "limitsMemory": "8G"}, "limitsMemory")])
def test_quota_limits_are_never_below_quota_requests(quota, key):
    assert one_problem({"namespaces": [tenant(quota=quota)]}).startswith(
        f"toolhive:namespaces[0].quota.{key}: ")


def test_quota_limits_equal_to_requests_are_accepted():
    parse_stack_config({"namespaces": [tenant(quota={"requestsCpu": "4", "limitsCpu": "4000m",
                                                     "requestsMemory": "1Gi", "limitsMemory": "1024Mi"})]})


@pytest.mark.parametrize(("limits", "key"), [
    ({"defaultRequest": {"cpu": "600m", "memory": "64Mi"}}, "defaultRequest.cpu"),
    ({"defaultRequest": {"cpu": "50m", "memory": "1Gi"}}, "defaultRequest.memory"),
    ({"default": {"cpu": "3", "memory": "512Mi"}}, "default.cpu"),
    ({"default": {"cpu": "500m", "memory": "5Gi"}}, "default.memory"),
])
def test_limit_range_keeps_default_request_below_default_below_max(limits, key):
    assert one_problem({"namespaces": [tenant(limits=limits)]}).startswith(f"toolhive:namespaces[0].limits.{key}: ")


@pytest.mark.parametrize("amount", ["1.5.0", "10 m", "1Kb", "m", "1e", "-1"])
def test_a_malformed_or_negative_quantity_is_refused(amount):
    assert one_problem({"namespaces": [tenant(quota={"pods": 10, "requestsCpu": amount})]}).startswith(
        f"toolhive:namespaces[0].quota.requestsCpu: {amount!r} is ")


@pytest.mark.parametrize(("text", "value"), [("500m", "0.5"), ("2", "2"), ("128Mi", "134217728"), ("1Gi", "1073741824"),
                                             ("1.5G", "1500000000"), ("1e3", "1000"), ("100n", "1E-7"), ("+.5k", "500")])
def test_quantities_are_read_exactly(text, value):
    from decimal import Decimal

    from components.k8s.quantity import parse_quantity

    assert parse_quantity(text) == Decimal(value)
