"""The dev session store: Valkey the stack runs itself, restricted, with a generated password in Secrets,
reachable from the tenant namespaces only, and wired into the dev servers and the operator."""
from __future__ import annotations

import copy
import json

import pytest

from policies.pod_security import check_object
from components.errors import ConfigError
from components.servers.catalog import _near_store, _same_store
from tests.conftest import render_config, render_stack
from tests.test_reachability import flow_names
from tests.servers.conftest import NS, config_with, server
from tools.mock_runtime import ProgramRun
from tools.schema_check import validate_object
from tools.validate import reachability

STORE_NS = "toolhive-system"
ADDRESS = "valkey.toolhive-system.svc.cluster.local:6379"
STORE_REDIS = {"provider": "redis", "address": ADDRESS, "passwordRef": {"name": "valkey-auth", "key": "password"}}


@pytest.fixture
def dev(preview):
    return render_stack("dev", preview=preview)


def test_valkey_runs_restricted_with_its_data_on_a_claim_template(dev):
    statefulset = dev.object("StatefulSet", "valkey", STORE_NS)
    assert check_object(statefulset, "restricted") == []
    assert validate_object(statefulset) == []
    pod = statefulset["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["fsGroup"] == 999
    assert container["resources"] == {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}
    assert container["readinessProbe"]["exec"] and container["livenessProbe"]["tcpSocket"] == {"port": "redis"}
    assert statefulset["spec"]["volumeClaimTemplates"] == [{"metadata": {"name": "data"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]
    # The password comes from the Secret, never from the manifest.
    assert {"name": "VALKEY_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "valkey-auth", "key": "password"}}} \
        in container["env"]
    assert dev.object("Service", "valkey", STORE_NS)["spec"]["ports"] == [
        {"name": "redis", "port": 6379, "targetPort": "redis", "protocol": "TCP"}]


def test_valkey_starts_as_its_own_user_with_the_secrets_password_and_append_only_data_on_the_claim(dev):
    """The image's entrypoint would chown as root, so the server is started directly: on 6379, the password
    from the env (kubelet expands $(VALKEY_PASSWORD)), an append-only file in the claim's /data, and protected
    mode off (it listens beyond loopback; its NetworkPolicy is the fence). The readiness probe logs in with that
    password and wants PONG; the liveness probe only needs the port."""
    [container] = dev.object("StatefulSet", "valkey", STORE_NS)["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["valkey-server", "--port", "6379", "--requirepass", "$(VALKEY_PASSWORD)",
                                    "--appendonly", "yes", "--dir", "/data", "--protected-mode", "no"]
    assert {"name": "data", "mountPath": "/data"} in container["volumeMounts"]
    assert container["readinessProbe"] == {"exec": {"command": [
        "sh", "-c", 'valkey-cli -a "$VALKEY_PASSWORD" --no-auth-warning ping | grep -q PONG']},
        "periodSeconds": 10, "timeoutSeconds": 3}
    assert container["livenessProbe"] == {"tcpSocket": {"port": "redis"}, "initialDelaySeconds": 10, "periodSeconds": 20}
    assert (container["securityContext"]["runAsUser"], container["securityContext"]["runAsGroup"]) == (999, 999)


def test_valkey_is_one_pod_without_an_api_token_writing_only_its_data_and_tmp(dev):
    statefulset = dev.object("StatefulSet", "valkey", STORE_NS)["spec"]
    pod = statefulset["template"]["spec"]
    assert statefulset["replicas"] == 1 and pod["automountServiceAccountToken"] is False
    assert pod["containers"][0]["volumeMounts"] == [{"name": "data", "mountPath": "/data"}, {"name": "tmp", "mountPath": "/tmp"}]
    assert pod["volumes"] == [{"name": "tmp", "emptyDir": {}}]


def test_its_claim_takes_the_configured_storage_class():
    rendered = render_config({"servers": {"sessionStore": {"storageClass": "gp3", "size": "2Gi"}}}, stack="dev")
    assert rendered.object("StatefulSet", "valkey", STORE_NS)["spec"]["volumeClaimTemplates"] == [
        {"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "gp3",
                                                "resources": {"requests": {"storage": "2Gi"}}}}]


def test_without_tenants_nothing_may_reach_it():
    """An ingress rule without peers would admit every pod: no tenants, no rule."""
    rendered = render_config({"servers": {"sessionStore": {}}}, stack="dev")
    assert "ingress" not in rendered.object("NetworkPolicy", "valkey", STORE_NS)["spec"]


def test_the_stores_objects_are_labelled_ordered_and_on_the_stacks_provider(dev, component_outputs):
    """Each object carries the store's labels and the stack's provider; each waits for its namespace (a tenant's
    Secret for the tenant, i.e. its quota) and the password; the StatefulSet starts after its Secret, Service and
    NetworkPolicy. The component reports its address and the Secret that holds the password."""
    [component] = [r for r in dev.resources if r.type == "toolhive:servers:SessionStore"]
    own = [r for r in dev.k8s_resources() if r.parent == component.urn]
    assert sorted(r.inputs["kind"] for r in own) == ["NetworkPolicy", "Secret", "Secret", "Service", "StatefulSet"]
    provider = dev.resource("Namespace", NS).provider
    for resource in own:
        labels = resource.inputs["metadata"]["labels"]
        assert (labels["app.kubernetes.io/name"], labels["app.kubernetes.io/component"]) == ("valkey", "session-store")
        assert resource.provider == provider, resource.inputs["kind"]
    [password] = [r for r in dev.resources if r.parent == component.urn and r.type.startswith("random:")]
    assert (password.inputs["length"], password.inputs["special"]) == (32, False)
    namespace = dev.resource("Namespace", STORE_NS).urn
    secret, service, policy = (dev.resource(kind, name, STORE_NS) for kind, name in (
        ("Secret", "valkey-auth"), ("Service", "valkey"), ("NetworkPolicy", "valkey")))
    assert set(secret.dependencies) == {namespace, password.urn}
    assert service.dependencies == [namespace] and policy.dependencies == [namespace]
    assert set(dev.resource("Secret", "valkey-auth", NS).dependencies) == {
        dev.resource("ResourceQuota", "mcp-quota", NS).urn, password.urn}
    assert set(dev.resource("StatefulSet", "valkey", STORE_NS).dependencies) == {namespace, secret.urn, service.urn, policy.urn}
    for secret_object in dev.objects("Secret"):
        if secret_object["metadata"]["name"] == "valkey-auth":
            assert secret_object["type"] == "Opaque"
    render_stack("dev", preview=True)  # afresh: the fixture emptied the cache for this test
    assert component_outputs["SessionStore"] == [{"address": ADDRESS, "passwordSecret": "valkey-auth"}]


def test_the_generated_password_is_a_secret_in_the_store_and_every_tenant_namespace(dev):
    for namespace in (STORE_NS, NS):
        assert dev.object("Secret", "valkey-auth", namespace)["stringData"] == {"password": "[secret]"}
    password = [r for r in dev.resources if r.type == "random:index/randomPassword:RandomPassword" and "SessionStore" in r.urn]
    assert len(password) == 1 and password[0].inputs["length"] >= 32
    # The mock provider's generated value never shows, anywhere.
    dumped = json.dumps([r.as_json() for r in dev.resources]) + json.dumps(dev.outputs)
    assert "offline-stand-in" not in dumped


def test_only_the_tenant_namespaces_reach_it_on_6379_and_it_reaches_nothing(dev):
    assert dev.object("NetworkPolicy", "valkey", STORE_NS)["spec"] == {
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "valkey", "app.kubernetes.io/instance": "valkey"}},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": NS}}}],
                     "ports": [{"protocol": "TCP", "port": 6379}]}]}


def test_the_dev_servers_and_the_operator_use_it(dev):
    yardstick = dev.resource("MCPServer", "yardstick", NS)
    assert yardstick.inputs["spec"]["replicas"] == 3
    assert yardstick.inputs["spec"]["sessionStorage"] == {"provider": "redis", "address": ADDRESS, "db": 0,
                                                          "passwordRef": {"name": "valkey-auth", "key": "password"}}
    assert dev.resource("Secret", "valkey-auth", NS).urn in yardstick.dependencies
    env = {var["name"]: var.get("value") for var in
           dev.object("Deployment", "toolhive-operator", STORE_NS)["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["TOOLHIVE_DEFAULT_REDIS_ADDR"] == ADDRESS
    assert env["TOOLHIVE_DEFAULT_REDIS_SECRET_NAME"] == "valkey-auth"
    assert env["TOOLHIVE_DEFAULT_REDIS_SECRET_KEY"] == "password"


def test_it_is_reachable_from_every_proxy_and_only_through_its_own_policy(dev):
    objects = copy.deepcopy(dev.objects())
    assert reachability.check(objects) == []
    for obj in objects:
        if obj["kind"] == "NetworkPolicy" and obj["metadata"]["name"] == "valkey":
            obj["spec"]["ingress"][0]["from"] = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "elsewhere"}}}]
    problems = reachability.check(objects)
    assert {p.split(" (")[1].split(" ->")[0] for p in problems} == flow_names("dev")  # every server of dev
    assert all("ingress denied at the destination by valkey" in p for p in problems)


def store_config(servers: list | None = None, store: dict | None = None, **extra) -> dict:
    config = config_with(servers=servers, **extra)
    config["servers"]["sessionStore"] = store or {}
    return config


def refused(config: dict) -> list[str]:
    run = ProgramRun()
    with pytest.raises(ConfigError) as raised:
        render_config(config, stack="dev", into=run)
    assert [r for r in run.resources if r.type != "pulumi:pulumi:Stack"] == []
    return raised.value.problems


def test_a_server_pointing_at_the_store_must_read_its_generated_password():
    wrong = {**STORE_REDIS, "passwordRef": {"name": "my-secret", "key": "password"}}
    problems = refused(store_config([server("web", transport="streamable-http", mcpPort=8080, replicas=2,
                                            sessionStorage=wrong)],
                                    existing={"secrets": [{"namespace": NS, "name": "my-secret"}]}))
    assert problems == ["toolhive:servers.mcpServers[0].spec.sessionStorage.passwordRef: the stack's session store at "
                        f"{ADDRESS} has a generated password: set passwordRef {{name: valkey-auth, key: password}}"]


def test_the_operator_default_redis_pointing_at_the_store_must_read_its_generated_password():
    problems = refused(store_config(operator={"defaultRedis": {"addr": "valkey.toolhive-system:6379", "existingSecret": "x"}}))
    assert problems == ["toolhive:operator.defaultRedis: points at the stack's session store (valkey.toolhive-system:6379), "
                        "whose password is generated: set existingSecret: valkey-auth and existingSecretKey: password"]


def test_the_store_lives_in_the_operator_or_a_tenant_namespace():
    assert refused(store_config(store={"namespace": "nowhere"})) == [
        "toolhive:servers.sessionStore.namespace: 'nowhere' is neither the operator namespace "
        "(toolhive-system) nor a tenant namespace of this stack"]


def test_a_store_in_a_tenant_namespace_serves_the_other_tenants(preview):
    redis = {**STORE_REDIS, "address": "valkey.mcp-data.svc.cluster.local:6379"}
    rendered = render_config(store_config([server("web", transport="streamable-http", mcpPort=8080, replicas=2,
                                                  sessionStorage=redis),
                                           server("near", "mcp-data", transport="streamable-http", mcpPort=8080,
                                                  replicas=2, sessionStorage=redis)], {"namespace": "mcp-data"}),
                             preview=preview, stack="dev")
    # Each server waits for the password's Secret of its own namespace: the store's own one beside it.
    for name, namespace in (("web", NS), ("near", "mcp-data")):
        assert rendered.resource("Secret", "valkey-auth", namespace).urn in rendered.waits_for(
            rendered.resource("MCPServer", name, namespace))
    assert rendered.object("StatefulSet", "valkey", "mcp-data")
    assert {s["metadata"]["namespace"] for s in rendered.objects("Secret") if s["metadata"]["name"] == "valkey-auth"} == {
        NS, "mcp-data"}
    assert reachability.check(rendered.objects()) == []
    assert check_object(rendered.object("StatefulSet", "valkey", "mcp-data"), "restricted") == []


@pytest.mark.parametrize("address", ["valkey.toolhive-sytem.svc.cluster.local:6379", "valkey.toolhive-system:6380",
                                     "valkye.toolhive-system.svc.cluster.local:6379"])
def test_a_session_address_must_be_a_store_the_stack_knows_or_declares(address):
    typo = {**STORE_REDIS, "address": address}
    problems = refused(store_config([server("web", transport="streamable-http", mcpPort=8080, replicas=2,
                                            sessionStorage=typo)]))
    assert problems == [f"toolhive:servers.mcpServers[0].spec.sessionStorage.address: {address} is not a session store "
                        f"this stack knows; use {ADDRESS} (toolhive:servers.sessionStore), or declare it in "
                        "toolhive:operator.defaultRedis"]


def test_a_session_address_may_be_any_name_of_the_store_or_the_operators_default_redis(preview):
    elsewhere = "redis.example.internal:6379"
    servers = [server(name, transport="streamable-http", mcpPort=8080, replicas=2,
                      sessionStorage={**STORE_REDIS, "address": address})
               for name, address in [("short", "valkey.toolhive-system:6379"), ("svc", "valkey.toolhive-system.svc:6379")]]
    servers.append(server("managed", transport="streamable-http", mcpPort=8080, replicas=2, sessionStorage={
        "provider": "redis", "address": elsewhere, "passwordRef": {"name": "redis", "key": "password"}}))
    config = store_config(servers, operator={"defaultRedis": {"addr": elsewhere, "existingSecret": "redis"}})
    config["servers"]["existing"] = {"secrets": [{"namespace": NS, "name": "redis"}]}  # the managed Redis' password
    for namespace in config["namespaces"]:  # the managed Redis: egress to it, beside the API server
        namespace["network"] = {"egress": [{"cidr": "0.0.0.0/0", "ports": [443, 6443, 6379]}]}
    render_config(config, preview=preview, stack="dev")
    # A stack that knows no store at all has nothing to check against (its address is its own business).
    config = config_with(servers=[servers[2]])
    config["servers"]["existing"] = {"secrets": [{"namespace": NS, "name": "redis"}]}
    config["namespaces"][0]["network"] = {"egress": [{"cidr": "0.0.0.0/0", "ports": [443, 6443, 6379]}]}
    render_config(config, preview=preview, stack="dev")


def test_the_operator_default_redis_cannot_be_a_typo_of_the_store():
    problems = refused(store_config(operator={"defaultRedis": {"addr": "valkey.toolhive-systen.svc.cluster.local:6379",
                                                               "existingSecret": "valkey-auth"}}))
    assert problems == ["toolhive:operator.defaultRedis.addr: valkey.toolhive-systen.svc.cluster.local:6379 looks like "
                        f"the stack's session store but is not it; use {ADDRESS} (toolhive:servers.sessionStore)"]


@pytest.mark.parametrize(("a", "b", "same"), [
    ("valkey.mcp-dev:6379", "valkey.mcp-dev.svc.cluster.local:6379", True),  # one Service, written two ways
    ("valkey.mcp-dev.svc:6379", "valkey.mcp-dev:6379", True),
    ("valkey.mcp-dev:6379", "valkey.mcp-dev:6380", False),  # another port
    ("valkey.mcp-dev:6379", "valkey.mcp-data:6379", False),  # another namespace
    ("valkey.mcp-dev:6379", "valkey.mcp-dev.:6379", False),  # absolute: a DNS host, not the Service
    ("valkey.mcp-dev.:6379", "valkey.mcp-dev:6379", False),
    ("redis.example.com:6379", "REDIS.example.com.:6379", True),  # hosts: case and the root dot do not count
    ("redis.example.com.:6379", "redis.example.com:6379", True),
    ("redis.example.X.:6379", "redis.example.x:6379", True),  # only the dot is stripped, on either side
    ("redis.example.x:6379", "redis.example.X.:6379", True),
    ("redis.example.com:6379", "redis.example.org:6379", False),
])
def test_two_addresses_are_one_store_when_they_name_one_service_or_one_host(a, b, same):
    assert _same_store(a, b) is same


@pytest.mark.parametrize(("address", "store", "near"), [
    ("valkey.mcp-dev:6380", "valkey.mcp-dev.svc.cluster.local:6379", True),  # the store's Service on another port
    ("Valkey.MCP-dev:6379", "valkey.mcp-dev:6379", True),
    ("valkey-sessions.team:6379", "valkey-sessixyz.team:6379", True),  # 17 of 2 x 20 letters alike: a ratio of 0.85
    ("valkey-sessions.team:6379", "valkey-sesxyzw.team:6379", False),  # below it
    ("valkey:6379", "valkey.ns:6379", True),  # a short name: its namespace reads as none ("valkey." vs "valkey.ns")
    ("cache.mcp-dev:6379", "valkey.mcp-dev:6379", False),  # a server's own Redis beside the store
    ("redis:6379", "valkey.mcp-dev:6379", False),
])
def test_an_address_is_near_a_store_when_it_reads_like_a_typo_of_it(address, store, near):
    assert _near_store(address, store) is near


def catalog_problems(config: dict) -> list[str]:
    """The stack-wide server rules alone (components/servers/catalog.py), without a render."""
    from components.config.loader import parse_stack_config
    from components.servers.catalog import load_servers

    with pytest.raises(ConfigError) as raised:
        load_servers(parse_stack_config(config), stack="dev")
    return raised.value.problems


def test_every_server_pointing_at_the_store_is_checked_not_only_the_first():
    wrong = {**STORE_REDIS, "passwordRef": {"name": "my-secret", "key": "password"}}
    servers = [server("mem", transport="streamable-http", mcpPort=8080, sessionStorage={"provider": "memory"}),
               server("web", transport="streamable-http", mcpPort=8080, sessionStorage=wrong)]
    assert catalog_problems(store_config(servers, existing={"secrets": [{"namespace": NS, "name": "my-secret"}]})) == [
        "toolhive:servers.mcpServers[1].spec.sessionStorage.passwordRef: the stack's session store at "
        f"{ADDRESS} has a generated password: set passwordRef {{name: valkey-auth, key: password}}"]


def test_every_server_against_a_tls_only_redis_is_checked_not_only_the_first():
    managed = {"provider": "redis", "address": "sessions.redis.cache.windows.net:6380",
               "passwordRef": {"name": "auth", "key": "password"}}
    servers = [server("mem", sessionStorage={"provider": "memory"}),
               server("web", transport="streamable-http", mcpPort=8080, sessionStorage=managed)]
    [problem] = catalog_problems(config_with(servers=servers))
    assert problem.startswith("toolhive:servers.mcpServers[1].spec.sessionStorage.address: ")


def test_an_address_near_the_operators_default_redis_is_refused_naming_that_key():
    redis = "redis.cache.svc.cluster.local:6379"
    typo = {"provider": "redis", "address": "redis.cahce.svc.cluster.local:6379", "passwordRef": {"name": "redis", "key": "password"}}
    config = config_with(servers=[server("web", transport="streamable-http", mcpPort=8080, sessionStorage=typo)],
                         operator={"defaultRedis": {"addr": redis, "existingSecret": "redis"}},
                         existing={"secrets": [{"namespace": NS, "name": "redis"}]})
    assert catalog_problems(config) == [
        "toolhive:servers.mcpServers[0].spec.sessionStorage.address: redis.cahce.svc.cluster.local:6379 is not a session "
        f"store this stack knows; use {redis} (toolhive:operator.defaultRedis.addr), or declare it in toolhive:operator.defaultRedis"]


def test_every_redis_address_is_held_to_every_store_the_stack_knows():
    elsewhere = "redis.example.internal:6379"
    typo = {**STORE_REDIS, "address": "valkey.toolhive-system:6380"}
    servers = [server("mem", sessionStorage={"provider": "memory", "address": "valkey.toolhive-system:6380"}),  # not used
               server("web", transport="streamable-http", mcpPort=8080, sessionStorage=typo)]
    config = store_config(servers, operator={"defaultRedis": {"addr": elsewhere, "existingSecret": "redis"}},
                          existing={"secrets": [{"namespace": NS, "name": "redis"}]})
    assert catalog_problems(config) == [
        "toolhive:servers.mcpServers[1].spec.sessionStorage.address: valkey.toolhive-system:6380 is not a session store this "
        f"stack knows; use {ADDRESS} (toolhive:servers.sessionStore), {elsewhere} (toolhive:operator.defaultRedis.addr), "
        "or declare it in toolhive:operator.defaultRedis"]
