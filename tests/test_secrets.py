"""Secrets never appear in plaintext: not in manifests, resources (state), or stack outputs."""
from __future__ import annotations

import json

import pytest

from components.errors import ConfigError
from tests.conftest import deployment_env, render_config
from tools.mock_runtime import SECRET_PLACEHOLDER

PASSWORD = "correct-horse-battery-staple"
REDIS_WITH_PASSWORD = {
    "operator": {"defaultRedis": {"addr": "valkey.cache:6379"}},
    "defaultRedisPassword": PASSWORD,
    "namespaces": [{"name": "team-a"}, {"name": "team-b"}],
}


@pytest.fixture
def rendered(preview):
    # The engine hands a decrypted secret to the program with its key marked secret; so does this.
    return render_config(REDIS_WITH_PASSWORD, secret_keys=["toolhive:defaultRedisPassword"], preview=preview)


def test_the_redis_password_becomes_a_secret_in_every_tenant_namespace(rendered):
    for ns in ("team-a", "team-b"):
        secret = rendered.object("Secret", "toolhive-default-redis", ns)
        # On the wire the value is a Pulumi secret (the engine encrypts it in state), never the text.
        assert secret["stringData"] == {"redis-password": SECRET_PLACEHOLDER}
        assert secret["type"] == "Opaque"
        assert rendered.resource("Namespace", ns).urn in rendered.waits_for(rendered.resource("Secret", "toolhive-default-redis", ns))


def test_the_operator_points_workloads_at_that_secret(rendered):
    env = deployment_env(rendered.object("Deployment", "toolhive-operator", "toolhive-system"))
    assert env["TOOLHIVE_DEFAULT_REDIS_SECRET_NAME"]["value"] == "toolhive-default-redis"
    assert env["TOOLHIVE_DEFAULT_REDIS_SECRET_KEY"]["value"] == "redis-password"


def test_the_plaintext_appears_in_no_resource_input_and_no_output(rendered):
    everything = json.dumps([r.as_json() for r in rendered.resources]) + json.dumps(rendered.outputs)
    assert PASSWORD not in everything


VERBATIM = ["123", "null", "true", '{"a":1}', '["x"]', 'she said "hi"\nand left\n', "  spaced  "]


@pytest.fixture
def secret_values(monkeypatch):
    """Let a test see what sits inside a Pulumi secret: the recorder keeps ('secret', text) instead of
    the placeholder. Renders here bypass the shared render cache, so no other test sees them."""
    import tools.mock_runtime as mock_runtime

    monkeypatch.setattr(mock_runtime, "_masked", lambda value: ("secret", value))


@pytest.mark.parametrize("password", VERBATIM, ids=["number", "null", "bool", "object", "list", "quotes-newlines", "spaces"])
def test_a_secret_is_written_exactly_as_given_and_stays_secret(password, secret_values, preview):
    from tests.conftest import TEST_CLUSTER
    from tools.render import render

    run = render({"toolhive:operator": {"defaultRedis": {"addr": "valkey.cache:6379"}},
                  "toolhive:defaultRedisPassword": password, "toolhive:namespaces": [{"name": "team-a"}],
                  "toolhive:cluster": TEST_CLUSTER},
                 ["toolhive:defaultRedisPassword"], stack="secrets", preview=preview)
    (secret,) = [r.inputs for r in run.resources if r.type == "kubernetes:core/v1:Secret"]
    assert secret["stringData"] == ("secret", {"redis-password": password})


SECRET_TEXT = "s3cr3t-never-printed"


@pytest.mark.parametrize("config", [
    # the password without the Redis it belongs to
    {"defaultRedisPassword": SECRET_TEXT},
    # the password next to an existing Secret
    {"defaultRedisPassword": SECRET_TEXT, "operator": {"defaultRedis": {"addr": "r:1", "existingSecret": "mine"}}},
], ids=["no-redis", "conflict"])
def test_an_error_about_a_secret_names_the_key_never_the_value(config):
    with pytest.raises(ConfigError) as caught:
        render_config(config, secret_keys=["toolhive:defaultRedisPassword"])
    assert "toolhive:defaultRedisPassword" in str(caught.value)
    assert SECRET_TEXT not in str(caught.value)


def test_a_secret_of_the_wrong_type_is_refused_without_echoing_it():
    from components.config.loader import parse_stack_config

    with pytest.raises(ConfigError) as caught:
        parse_stack_config({"defaultRedisPassword": 987654321, "operator": {"defaultRedis": {"addr": "r:1"}}})
    assert caught.value.problems == ["toolhive:defaultRedisPassword: must be a string (set with pulumi config set "
                                     "--secret toolhive:defaultRedisPassword <value>)"]
    assert "987654321" not in str(caught.value)


def test_a_secret_under_a_key_that_takes_none_is_refused_without_echoing_it():
    with pytest.raises(ConfigError) as caught:
        render_config({"operator": {"proxyHost": SECRET_TEXT}}, secret_keys=["toolhive:operator"])
    assert caught.value.problems[0].startswith("toolhive:operator: holds a secret value")
    assert SECRET_TEXT not in str(caught.value)


PASTED = "Sup3r-s3cret-t0ken"
#: What lands in a `ref:` position when someone pastes the secret instead of a reference to it.
NOT_REFERENCES = [PASTED, f"aws-sm://{PASTED} with spaces", f"pulumi-config://{PASTED}", f"k8s-secret://{PASTED}",
                  f"pulumi-config://toolhive:{PASTED}", 31415926535, [PASTED]]
HTTP_SERVER = {"image": "ghcr.io/stackloklabs/yardstick/yardstick-server:1.1.1", "transport": "streamable-http",
               "mcpPort": 8080}


def _ref_positions(value) -> tuple[dict, list[str]]:
    """A config with `value` in every position that takes a secret reference, and those positions' keys."""
    servers = {
        "mcpServers": [{"name": "web", "namespace": "team-a", "spec": {
            **HTTP_SERVER, "secrets": [{"targetEnvName": "API_KEY", "ref": value}],
            "sessionStorage": {"provider": "redis", "address": "redis.example.com:6379", "password": value}}}],
        "remoteProxies": [{"name": "docs", "namespace": "team-a", "spec": {
            "remoteUrl": "https://docs.example.com/mcp", "headers": {"fromSecrets": [{"headerName": "X-Key", "ref": value}]}}}],
    }
    registry = {"sources": [{"name": "cluster", "kubernetes": {}}], "database": {"external": {
        "host": "db.example.com", "password": value, "migrationUser": "admin", "migrationPassword": value}}}
    keys = ["toolhive:servers.mcpServers[0].spec.secrets[0].ref",
            "toolhive:servers.mcpServers[0].spec.sessionStorage.password",
            "toolhive:servers.remoteProxies[0].spec.headers.fromSecrets[0].ref",
            "toolhive:registry.database.external.password",
            "toolhive:registry.database.external.migrationPassword"]
    return {"namespaces": [{"name": "team-a"}], "servers": servers, "registry": registry}, keys


@pytest.mark.parametrize("value", NOT_REFERENCES, ids=["literal", "aws-sm", "pulumi-config", "k8s-secret",
                                                       "toolhive-namespace", "number", "list"])
def test_a_value_in_a_ref_position_is_reported_by_its_position_never_echoed(value):
    config, keys = _ref_positions(value)
    with pytest.raises(ConfigError) as raised:
        render_config(config)
    problems = raised.value.problems
    for key in keys:
        assert any(p.startswith(f"{key}: ") for p in problems), (key, problems)
    shown = "\n".join(problems) + str(raised.value)
    assert PASTED not in shown and "31415926535" not in shown and "Sup3r" not in shown
