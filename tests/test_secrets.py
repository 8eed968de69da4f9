"""Secrets never appear in plaintext: not in manifests, resources (state), or stack outputs."""
from __future__ import annotations

import json

import pytest

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


def test_the_operator_points_workloads_at_that_secret(rendered):
    env = deployment_env(rendered.object("Deployment", "toolhive-operator", "toolhive-system"))
    assert env["TOOLHIVE_DEFAULT_REDIS_SECRET_NAME"]["value"] == "toolhive-default-redis"
    assert env["TOOLHIVE_DEFAULT_REDIS_SECRET_KEY"]["value"] == "redis-password"


def test_the_plaintext_appears_in_no_resource_input_and_no_output(rendered):
    everything = json.dumps([r.as_json() for r in rendered.resources]) + json.dumps(rendered.outputs)
    assert PASSWORD not in everything
