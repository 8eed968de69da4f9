"""References to objects of a server's namespace: MCPOIDCConfig, MCPExternalAuthConfig and Secrets are created by
the stack (oidcConfigs, externalAuthConfigs, its own Secrets) or declared existing (toolhive:servers.existing);
any other reference stops the preview before anything is registered, naming the server and the reference."""
from __future__ import annotations

import json

import pytest

from components.errors import ConfigError
from tests.conftest import render_config, render_stack
from tests.servers.conftest import NS, REDIS, config_with, server
from tools.mock_runtime import ProgramRun

HTTP = {"transport": "streamable-http", "mcpPort": 8080}
OIDC_REF = {"name": "corp-sso", "audience": "mcp"}
CORP_SSO = {"name": "corp-sso", "namespace": NS, "inline": {"issuer": "https://auth.example.com"}}


def refused(config: dict, preview: bool) -> list[str]:
    run = ProgramRun()
    with pytest.raises(ConfigError) as raised:
        render_config(config, stack="dev", into=run, preview=preview)
    assert [r for r in run.resources if r.type != "pulumi:pulumi:Stack"] == [], "nothing may be registered"
    return raised.value.problems


def with_servers_block(config: dict, **block) -> dict:
    config["servers"].update(block)
    return config


# -- MCPOIDCConfig ------------------------------------------------------------------------------------------------

def test_an_oidc_reference_to_nothing_is_refused_naming_the_server_and_the_reference(preview):
    problems = refused(config_with(servers=[server("web", oidcConfigRef=OIDC_REF, **HTTP)]), preview)
    assert problems == [
        "toolhive:servers.mcpServers[0].spec.oidcConfigRef.name: MCPServer mcp-dev/web references MCPOIDCConfig "
        "mcp-dev/corp-sso, which is neither created by this stack (toolhive:servers.oidcConfigs) nor declared existing "
        "(toolhive:servers.existing.oidcConfigs: {namespace: mcp-dev, name: corp-sso}); the operator fails the "
        "reconcile without it"]


def test_a_virtual_servers_oidc_reference_to_nothing_is_refused(preview):
    vmcp = {"name": "all", "namespace": NS, "spec": {"group": "tools", "incomingAuth": {"type": "oidc",
                                                                                      "oidcConfigRef": OIDC_REF}}}
    [problem] = refused(config_with(virtual=[vmcp]), preview)
    assert problem.startswith("toolhive:servers.virtualServers[0].spec.incomingAuth.oidcConfigRef.name: "
                              "VirtualMCPServer mcp-dev/all references MCPOIDCConfig mcp-dev/corp-sso")


def test_a_reference_in_another_namespace_is_not_satisfied(preview):
    config = with_servers_block(config_with(servers=[server("web", namespace="mcp-data", oidcConfigRef=OIDC_REF, **HTTP)]),
                                oidcConfigs=[CORP_SSO])
    [problem] = refused(config, preview)
    assert "references MCPOIDCConfig mcp-data/corp-sso" in problem


def test_an_oidc_config_the_stack_creates_is_rendered_and_waited_for(preview):
    config = with_servers_block(config_with(servers=[server("web", oidcConfigRef=OIDC_REF, **HTTP)]), oidcConfigs=[{
        **CORP_SSO, "inline": {"issuer": "https://auth.example.com", "clientId": "mcp",
                               "clientSecret": "pulumi-config://mcp-secrets:ssoClientSecret",
                               "jwksUrl": "https://auth.example.com/jwks", "caBundle": {"name": "corp-ca", "key": "ca.crt"}}}])
    rendered = render_config(config, preview=preview, stack="dev", secret_keys=["mcp-secrets:ssoClientSecret"],
                             extra={"mcp-secrets:ssoClientSecret": "very-secret-client"})
    oidc = rendered.resource("MCPOIDCConfig", "corp-sso", NS)
    assert oidc.inputs["apiVersion"] == "toolhive.stacklok.dev/v1beta1"
    assert oidc.inputs["spec"] == {"type": "inline", "inline": {
        "issuer": "https://auth.example.com", "clientId": "mcp", "jwksUrl": "https://auth.example.com/jwks",
        "clientSecretRef": {"name": "corp-sso-oidc-secret-client-secret", "key": "client-secret"},
        "caBundleRef": {"configMapRef": {"name": "corp-ca", "key": "ca.crt"}}}}
    secret = rendered.resource("Secret", "corp-sso-oidc-secret-client-secret", NS)
    assert secret.urn in rendered.waits_for(oidc)
    assert oidc.urn in rendered.waits_for(rendered.resource("MCPServer", "web", NS)), "the server waits for its MCPOIDCConfig"
    assert "very-secret-client" not in json.dumps([r.as_json() for r in rendered.resources])


def test_an_oidc_config_declared_existing_satisfies_the_reference_and_is_not_created(preview):
    config = with_servers_block(config_with(servers=[server("web", oidcConfigRef=OIDC_REF, **HTTP)]),
                                existing={"oidcConfigs": [{"namespace": NS, "name": "corp-sso"}]})
    rendered = render_config(config, preview=preview, stack="dev")
    assert rendered.object("MCPServer", "web", NS)["spec"]["oidcConfigRef"] == OIDC_REF
    assert rendered.objects("MCPOIDCConfig") == []


@pytest.mark.parametrize("block, message", [
    ({"oidcConfigs": [CORP_SSO], "existing": {"oidcConfigs": [{"namespace": NS, "name": "corp-sso"}]}},
     "toolhive:servers.oidcConfigs[0].name: MCPOIDCConfig mcp-dev/corp-sso is also declared existing"),
    ({"oidcConfigs": [CORP_SSO, CORP_SSO]}, "toolhive:servers.oidcConfigs[1].name: MCPOIDCConfig mcp-dev/corp-sso is declared twice"),
    ({"oidcConfigs": [{**CORP_SSO, "namespace": "elsewhere"}]},
     "toolhive:servers.oidcConfigs[0].namespace: 'elsewhere' is not a tenant namespace of this stack"),
    ({"oidcConfigs": [{"name": "x", "namespace": NS}]},
     "toolhive:servers.oidcConfigs[0].inline: set exactly one of inline and kubernetesServiceAccount"),
    ({"oidcConfigs": [{"name": "x", "namespace": NS, "inline": {"issuer": "http://auth.example.com"}}]},
     "toolhive:servers.oidcConfigs[0].inline.issuer: 'http://auth.example.com' must be an https:// URL"),
])
def test_bad_auth_object_declarations_are_refused_naming_the_key(block, message, preview):
    problems = refused(with_servers_block(config_with(), **block), preview)
    assert any(p.startswith(message) for p in problems), problems


# -- MCPExternalAuthConfig ----------------------------------------------------------------------------------------

def test_an_external_auth_reference_to_nothing_is_refused(preview):
    [problem] = refused(config_with(servers=[server("web", externalAuthConfigRef={"name": "github-exchange"}, **HTTP)]),
                        preview)
    assert problem.startswith("toolhive:servers.mcpServers[0].spec.externalAuthConfigRef.name: MCPServer mcp-dev/web "
                              "references MCPExternalAuthConfig mcp-dev/github-exchange, which is neither created")


def test_an_external_auth_config_the_stack_creates_keeps_its_secret_by_reference(preview):
    remote = {"name": "far", "namespace": NS, "spec": {"remoteUrl": "https://mcp.example.com/mcp",
                                                       "externalAuthConfigRef": {"name": "upstream-key"}}}
    config = with_servers_block(config_with(remote=[remote]), externalAuthConfigs=[
        {"name": "upstream-key", "namespace": NS, "headerInjection": {"headerName": "X-Api-Key",
                                                                       "value": "k8s-secret://upstream#key"}}],
        existing={"secrets": [{"namespace": NS, "name": "upstream"}]})
    rendered = render_config(config, preview=preview, stack="dev")
    auth = rendered.resource("MCPExternalAuthConfig", "upstream-key", NS)
    assert auth.inputs["spec"] == {"type": "headerInjection", "headerInjection": {
        "headerName": "X-Api-Key", "valueSecretRef": {"name": "upstream", "key": "key"}}}
    assert auth.urn in rendered.waits_for(rendered.resource("MCPRemoteProxy", "far", NS))


def test_an_auth_objects_existing_secret_must_be_declared(preview):
    config = with_servers_block(config_with(), externalAuthConfigs=[
        {"name": "bearer", "namespace": NS, "bearerToken": {"token": "k8s-secret://upstream#token"}}])
    [problem] = refused(config, preview)
    assert problem.startswith("toolhive:servers.externalAuthConfigs[0].bearerToken.token: MCPExternalAuthConfig "
                              "mcp-dev/bearer references Secret mcp-dev/upstream, which is neither written by this stack")


@pytest.mark.parametrize("key, entry, field", [
    ("oidcConfigs", {"name": "sso", "namespace": NS, "inline": {
        "issuer": "https://auth.example.com", "clientId": "mcp", "clientSecret": "k8s-secret://upstream#secret"}},
     "inline.clientSecret"),
    ("externalAuthConfigs", {"name": "exchange", "namespace": NS, "tokenExchange": {
        "tokenUrl": "https://auth.example.com/token", "audience": "backend", "clientId": "mcp",
        "clientSecret": "k8s-secret://upstream#secret"}}, "tokenExchange.clientSecret"),
    ("externalAuthConfigs", {"name": "header", "namespace": NS, "headerInjection": {
        "headerName": "X-Key", "value": "k8s-secret://upstream#value"}}, "headerInjection.value"),
    ("externalAuthConfigs", {"name": "bearer", "namespace": NS, "bearerToken": {"token": "k8s-secret://upstream#token"}},
     "bearerToken.token"),
])
def test_every_secret_an_auth_object_reads_must_be_declared(key, entry, field):
    kind = "MCPOIDCConfig" if key == "oidcConfigs" else "MCPExternalAuthConfig"
    assert refused(with_servers_block(config_with(), **{key: [entry]}), preview=False) == [
        f"toolhive:servers.{key}[0].{field}: {kind} mcp-dev/{entry['name']} references Secret mcp-dev/upstream, which "
        "is neither written by this stack nor declared existing (toolhive:servers.existing.secrets: {namespace: mcp-dev, "
        "name: upstream}); its pods would never start without it"]


def test_a_remote_proxys_header_secret_must_be_declared(preview):
    remote = {"name": "far", "namespace": NS, "spec": {"remoteUrl": "https://mcp.example.com/mcp", "headers": {
        "fromSecrets": [{"headerName": "X-A", "ref": "pulumi-config://mcp-secrets:a"},
                        {"headerName": "X-Key", "ref": "k8s-secret://upstream#key"}]}}}
    [problem] = refused(config_with(remote=[remote]), preview)
    assert problem.startswith("toolhive:servers.remoteProxies[0].spec.headers.fromSecrets[1].ref: MCPRemoteProxy "
                              "mcp-dev/far references Secret mcp-dev/upstream, which is neither written")


def test_an_external_auth_config_declared_twice_is_refused_naming_its_key():
    twice = [{"name": "up", "namespace": NS, "bearerToken": {"token": "pulumi-config://mcp-secrets:t"}}] * 2
    problems = refused(with_servers_block(config_with(), externalAuthConfigs=twice), preview=False)
    assert problems == ["toolhive:servers.externalAuthConfigs[1].name: MCPExternalAuthConfig mcp-dev/up is declared twice"]


# -- existing Secrets ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("spec, field", [
    ({"secrets": [{"targetEnvName": "API_TOKEN", "ref": "k8s-secret://other-creds#api"}]}, "spec.secrets[0].ref"),
    ({"sessionStorage": {"provider": "redis", "address": "valkey.cache:6379",
                         "passwordRef": {"name": "other-creds", "key": "redis"}}}, "spec.sessionStorage.passwordRef.name"),
])
def test_a_secret_nobody_creates_or_declares_is_refused(spec, field, preview):
    [problem] = refused(config_with(servers=[server("web", **spec)]), preview)
    assert problem.startswith(f"toolhive:servers.mcpServers[0].{field}: MCPServer mcp-dev/web references Secret "
                              "mcp-dev/other-creds, which is neither written by this stack nor declared existing")
    assert "its pods would never start without it" in problem


def test_the_session_stores_secret_name_needs_a_declaration_when_the_stack_runs_no_store(preview):
    [problem] = refused(config_with(existing={}, servers=[server("web", transport="streamable-http", mcpPort=8080,
                                                                sessionStorage=REDIS)]), preview)
    assert problem.startswith("toolhive:servers.mcpServers[0].spec.sessionStorage.passwordRef.name: MCPServer mcp-dev/web "
                              "references Secret mcp-dev/valkey-auth, which is neither written by this stack")


def test_the_default_redis_secret_must_exist_where_proxies_read_it(preview):
    own_redis = server("own", transport="streamable-http", mcpPort=8080, sessionStorage=REDIS)
    config = config_with(servers=[server("web"), own_redis],
                         operator={"defaultRedis": {"addr": "valkey.cache:6379", "existingSecret": "other-auth"}})
    [problem] = refused(config, preview)  # `own` brings its Redis and its password: it never reads the default's
    assert problem.startswith("toolhive:servers.mcpServers[0].spec.sessionStorage (unset: the operator's default Redis, "
                              "toolhive:operator.defaultRedis.existingSecret): MCPServer mcp-dev/web references Secret "
                              "mcp-dev/other-auth")


def test_secrets_the_stack_writes_need_no_declaration(preview):
    """The session store's password and the default Redis password, both written into every tenant namespace."""
    config = config_with(servers=[server("web", sessionStorage={
        "provider": "redis", "address": "valkey.toolhive-system.svc.cluster.local:6379",
        "passwordRef": {"name": "valkey-auth", "key": "password"}}), server("plain")], existing={},
        operator={"defaultRedis": {"addr": "redis.cache:6379"}}, defaultRedisPassword="default-redis-pw")
    config["servers"]["sessionStore"] = {}
    rendered = render_config(config, preview=preview, stack="dev", secret_keys=["toolhive:defaultRedisPassword"])
    assert rendered.object("MCPServer", "web", NS)
    assert rendered.object("MCPServer", "plain", NS)["spec"]["sessionStorage"]["passwordRef"]["name"] == "toolhive-default-redis"


# -- the shipped stacks -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_staging_and_prod_create_the_mcpoidcconfig_their_virtual_server_uses(stack):
    rendered = render_stack(stack)
    vmcp = rendered.resource("VirtualMCPServer", "shared", "mcp-platform")
    name = vmcp.inputs["spec"]["incomingAuth"]["oidcConfigRef"]["name"]
    oidc = rendered.resource("MCPOIDCConfig", name, "mcp-platform")
    assert oidc.inputs["spec"]["inline"]["issuer"].startswith("https://")
    assert oidc.urn in rendered.waits_for(vmcp)


# -- every auth object the stack creates, as the CRDs spell it (components/servers/auth_configs.py) -----------------

AUTH_SECRETS = {"mcp-secrets:oidc": "oidc-client-secret", "mcp-secrets:exchange": "exchange-secret",
                "mcp-secrets:header": "header-value", "mcp-secrets:token": "bearer-token"}
AUTH_OBJECTS = {
    "oidcConfigs": [
        {"name": "corp-sso", "namespace": NS, "inline": {
            "issuer": "https://auth.example.com", "clientId": "mcp", "clientSecret": "pulumi-config://mcp-secrets:oidc",
            "jwksUrl": "https://auth.example.com/jwks", "introspectionUrl": "https://auth.example.com/introspect",
            "caBundle": {"name": "corp-ca", "key": "ca.crt"}, "jwksAllowPrivateIP": True,
            "protectedResourceAllowPrivateIP": True}},
        {"name": "cluster-sa", "namespace": NS, "kubernetesServiceAccount": {"serviceAccount": "mcp", "useClusterAuth": True}},
    ],
    "externalAuthConfigs": [
        {"name": "exchange", "namespace": NS, "tokenExchange": {
            "tokenUrl": "https://auth.example.com/token", "audience": "backend", "clientId": "mcp",
            "clientSecret": "pulumi-config://mcp-secrets:exchange", "scopes": ["read"]}},
        {"name": "exchange-bare", "namespace": NS, "tokenExchange": {"tokenUrl": "https://auth.example.com/token",
                                                                    "audience": "backend"}},
        {"name": "header", "namespace": NS, "headerInjection": {"headerName": "X-Key", "value": "pulumi-config://mcp-secrets:header"}},
        {"name": "bearer", "namespace": NS, "bearerToken": {"token": "pulumi-config://mcp-secrets:token"}},
    ],
}


@pytest.fixture
def auth_objects(preview):
    return render_config(with_servers_block(config_with(), **AUTH_OBJECTS), preview=preview, stack="dev",
                         secret_keys=list(AUTH_SECRETS), extra=AUTH_SECRETS)


def test_every_auth_object_kind_is_rendered_as_its_crd_spells_it(auth_objects):
    def spec(kind, name):
        return auth_objects.object(kind, name, NS)["spec"]

    assert spec("MCPOIDCConfig", "corp-sso") == {"type": "inline", "inline": {
        "issuer": "https://auth.example.com", "clientId": "mcp",
        "clientSecretRef": {"name": "corp-sso-oidc-secret-client-secret", "key": "client-secret"},
        "jwksUrl": "https://auth.example.com/jwks", "introspectionUrl": "https://auth.example.com/introspect",
        "caBundleRef": {"configMapRef": {"name": "corp-ca", "key": "ca.crt"}},
        "jwksAllowPrivateIP": True, "protectedResourceAllowPrivateIP": True}}
    assert spec("MCPOIDCConfig", "cluster-sa") == {
        "type": "kubernetesServiceAccount", "kubernetesServiceAccount": {"serviceAccount": "mcp", "useClusterAuth": True}}
    assert spec("MCPExternalAuthConfig", "exchange") == {"type": "tokenExchange", "tokenExchange": {
        "tokenUrl": "https://auth.example.com/token", "audience": "backend", "clientId": "mcp", "scopes": ["read"],
        "clientSecretRef": {"name": "exchange-auth-secret-client-secret", "key": "client-secret"}}}
    assert spec("MCPExternalAuthConfig", "exchange-bare") == {"type": "tokenExchange", "tokenExchange": {
        "tokenUrl": "https://auth.example.com/token", "audience": "backend"}}
    assert spec("MCPExternalAuthConfig", "header") == {"type": "headerInjection", "headerInjection": {
        "headerName": "X-Key", "valueSecretRef": {"name": "header-auth-secret-header-value", "key": "header-value"}}}
    assert spec("MCPExternalAuthConfig", "bearer") == {"type": "bearerToken", "bearerToken": {
        "tokenSecretRef": {"name": "bearer-auth-secret-token", "key": "token"}}}


def test_auth_objects_and_their_secrets_are_labelled_and_wait_for_their_namespace_and_secrets(auth_objects):
    [component] = [r for r in auth_objects.resources if r.type == "toolhive:servers:AuthConfigs"]
    own = [r for r in auth_objects.k8s_resources() if r.parent == component.urn]
    assert sorted((r.inputs["kind"], r.inputs["metadata"]["name"]) for r in own) == sorted([
        ("MCPOIDCConfig", "corp-sso"), ("MCPOIDCConfig", "cluster-sa"), ("Secret", "corp-sso-oidc-secret-client-secret"),
        ("MCPExternalAuthConfig", "exchange"), ("MCPExternalAuthConfig", "exchange-bare"),
        ("MCPExternalAuthConfig", "header"), ("MCPExternalAuthConfig", "bearer"),
        ("Secret", "exchange-auth-secret-client-secret"), ("Secret", "header-auth-secret-header-value"),
        ("Secret", "bearer-auth-secret-token")])
    namespace = auth_objects.resource("ResourceQuota", "mcp-quota", NS).urn
    provider = auth_objects.resource("Namespace", NS).provider
    assert provider and {r.provider for r in own} == {provider}  # the stack's own provider, never the default one
    for resource in own:
        kind, name = resource.inputs["kind"], resource.inputs["metadata"]["name"]
        owner = name.split("-oidc-secret")[0].split("-auth-secret")[0]
        labels = resource.inputs["metadata"]["labels"]
        component_label = "mcp-oidc-config" if kind == "MCPOIDCConfig" or "-oidc-secret" in name else "mcp-auth-config"
        assert (labels["app.kubernetes.io/name"], labels["app.kubernetes.io/component"]) == (owner, component_label), name
        assert namespace in resource.dependencies, name
    for kind, name, secret in (("MCPOIDCConfig", "corp-sso", "corp-sso-oidc-secret-client-secret"),
                               ("MCPExternalAuthConfig", "bearer", "bearer-auth-secret-token")):
        assert auth_objects.resource("Secret", secret, NS).urn in auth_objects.resource(kind, name, NS).dependencies


def test_each_auth_secret_is_asked_for_naming_the_key_it_is_written_in():
    from components.config.servers import ServersConfig
    from components.servers.auth_configs import secret_requests

    config = ServersConfig.model_validate({**AUTH_OBJECTS, "existing": config_with()["servers"]["existing"]})
    assert secret_requests(config) == [
        ("toolhive:servers.oidcConfigs[0].inline.clientSecret", "pulumi-config://mcp-secrets:oidc"),
        ("toolhive:servers.externalAuthConfigs[0].tokenExchange.clientSecret", "pulumi-config://mcp-secrets:exchange"),
        ("toolhive:servers.externalAuthConfigs[2].headerInjection.value", "pulumi-config://mcp-secrets:header"),
        ("toolhive:servers.externalAuthConfigs[3].bearerToken.token", "pulumi-config://mcp-secrets:token"),
    ]


def test_the_auth_objects_component_outputs_what_it_created(component_outputs, preview):
    render_config(with_servers_block(config_with(), **AUTH_OBJECTS), preview=preview, stack="dev",
                  secret_keys=list(AUTH_SECRETS), extra=AUTH_SECRETS)
    assert component_outputs["AuthConfigs"] == [{"objects": [
        "MCPExternalAuthConfig mcp-dev/bearer", "MCPExternalAuthConfig mcp-dev/exchange",
        "MCPExternalAuthConfig mcp-dev/exchange-bare", "MCPExternalAuthConfig mcp-dev/header",
        "MCPOIDCConfig mcp-dev/cluster-sa", "MCPOIDCConfig mcp-dev/corp-sso"]}]
