"""Names the operator and this program derive from a server are valid where they land, and never collide.

The operator names Services, ServiceAccounts, Roles, ConfigMaps and (for an MCPServer) a StatefulSet after
each server (components/servers/operator_objects.py); this program names a Secret per secret value. A
server name must make each of them valid, and two servers of one namespace must never want one object.
"""
from __future__ import annotations

import pytest

from components.errors import ConfigError
from tests.conftest import render_config
from tests.servers.conftest import IMAGE, NS, REDIS, config_with, render_servers, server, spec_of
from tools.mock_runtime import ProgramRun


def refused(preview: bool, store: dict | None = None, **kwargs) -> list[str]:
    run, config = ProgramRun(), config_with(**kwargs)
    if store is not None:
        config["servers"]["sessionStore"] = store
    with pytest.raises(ConfigError) as raised:
        render_config(config, preview=preview, stack="dev", into=run)
    assert [r for r in run.resources if r.type != "pulumi:pulumi:Stack"] == []
    return raised.value.problems


def remote(name: str, **spec) -> dict:
    return {"name": name, "namespace": NS, "spec": {"remoteUrl": "https://mcp.example.com/mcp", **spec}}


def virtual(name: str) -> dict:
    return {"name": name, "namespace": NS, "spec": {"group": "tools", "incomingAuth": {"type": "anonymous"}}}


@pytest.fixture
def accepted(preview):
    """Every name at its boundary, in one render per mode."""
    return render_servers(
        preview,
        servers=[server("s" * 50, transport="sse", mcpPort=8080),
                 # a stdio server makes no backend Service mcp-<name>, so 'a-proxy' beside 'a' is fine
                 server("a"), server("a-proxy"),
                 server("hdr", secrets=[{"targetEnvName": "API_TOKEN", "ref": "pulumi-config://mcp-secrets:token"}])],
        remote=[remote("r" * 46), remote("odd", headers={"fromSecrets": [
            {"headerName": "X-Api*Key", "ref": "pulumi-config://mcp-secrets:token"}]})],
        virtual=[virtual("v" * 58)],
        secret_keys=["mcp-secrets:token"], extra={"mcp-secrets:token": "value-1"},
    )


# --- server names: every object the operator names after them -------------------------------------------

@pytest.mark.parametrize("key, entry, limit, obj", [
    ("mcpServers", server("s" * 51), 50, "Service mcp-<name>-headless"),
    ("remoteProxies", remote("r" * 47), 46, "Service mcp-<name>-remote-proxy"),
    ("virtualServers", virtual("v" * 59), 58, "Service vmcp-<name>"),
])
def test_a_server_name_too_long_for_an_object_the_operator_names_after_it_is_refused(preview, key, entry, limit, obj):
    kind = {"mcpServers": "servers", "remoteProxies": "remote", "virtualServers": "virtual"}[key]
    problems = refused(preview, **{kind: [entry]})
    assert len(problems) == 1
    assert problems[0].startswith(f"toolhive:servers.{key}[0].name: '{entry['name']}' is longer than {limit} "
                                  f"characters: the operator's {obj} must be a DNS-1035 label")


def test_server_names_at_the_limit_of_every_operator_object_render(accepted):
    assert accepted.object("MCPServer", "s" * 50, NS)
    assert accepted.object("MCPRemoteProxy", "r" * 46, NS)
    assert accepted.object("VirtualMCPServer", "v" * 58, NS)


# --- no object wanted by two servers of a namespace -----------------------------------------------------

def test_an_mcpserver_whose_objects_would_be_a_remote_proxys_is_refused(preview):
    # MCPServer a-remote: Service mcp-a-remote-proxy, ServiceAccount/Role/RoleBinding a-remote-proxy-runner,
    # exactly what the operator creates for MCPRemoteProxy a.
    problems = refused(preview, servers=[server("a-remote")], remote=[remote("a")])
    assert problems == ["toolhive:servers.remoteProxies[0].name: the operator's Service 'mcp-a-remote-proxy' (and 3 "
                        "more) for this MCPRemoteProxy would also be created for MCPServer a-remote "
                        "(toolhive:servers.mcpServers[0]) in namespace mcp-dev; rename one of them"]


def test_an_http_mcpserver_whose_backend_service_is_anothers_proxy_service_is_refused(preview):
    problems = refused(preview, servers=[server("a-proxy", transport="sse", mcpPort=8080), server("a")])
    assert problems == ["toolhive:servers.mcpServers[1].name: the operator's Service 'mcp-a-proxy' for this MCPServer "
                        "would also be created for MCPServer a-proxy (toolhive:servers.mcpServers[0]) in namespace "
                        "mcp-dev; rename one of them"]


def test_a_stdio_server_has_no_backend_service_to_collide(accepted):
    assert accepted.object("MCPServer", "a-proxy", NS) and accepted.object("MCPServer", "a", NS)


def test_the_same_names_in_two_namespaces_do_not_collide(preview):
    rendered = render_servers(preview, servers=[server("a-remote")], remote=[{**remote("a"), "namespace": "mcp-data"}])
    assert rendered.object("MCPRemoteProxy", "a", "mcp-data")


# --- the Secrets this program writes per value ----------------------------------------------------------

def test_two_secret_values_that_would_share_one_secret_are_refused(preview):
    secrets = [{"targetEnvName": "API_TOKEN", "ref": "aws-sm://mcp/a"}, {"targetEnvName": "API__TOKEN", "ref": "aws-sm://mcp/b"}]
    problems = refused(preview, servers=[server("x", secrets=secrets)])
    assert problems == ["toolhive:servers.mcpServers[0].spec.secrets[1].ref: its value would go into Secret "
                        "'x-secret-api-token', like spec.secrets[0].ref (the program names a server's Secrets after the "
                        "key, with '_' as '-'); rename one"]


def test_a_secret_value_whose_secret_name_would_be_too_long_is_refused(preview):
    problems = refused(preview, servers=[server("x", secrets=[{"targetEnvName": "T" * 250, "ref": "aws-sm://mcp/a"}])])
    assert problems == ["toolhive:servers.mcpServers[0].spec.secrets[0].ref: its value goes into Secret "
                        "<name>-secret-<key>, which must be a DNS subdomain: lowercase letters, digits, '-' and '.', "
                        "starting and ending with a letter or digit, at most 253 characters; use a shorter environment "
                        "variable or header name"]


def test_a_header_value_is_kept_under_a_valid_secret_key_whatever_the_header_name(accepted):
    forward = spec_of(accepted, "MCPRemoteProxy", "odd")["headerForward"]["addHeadersFromSecret"]
    assert forward == [{"headerName": "X-Api*Key", "valueSecretRef": {"name": "odd-secret-header-x-api-key",
                                                                      "key": "header-x-api-key"}}]
    assert set(accepted.object("Secret", "odd-secret-header-x-api-key", NS)["stringData"]) == {"header-x-api-key"}


# --- Secret keys in every reference, storage classes ------------------------------------------------------

@pytest.mark.parametrize("spec, key", [
    ({"transport": "sse", "mcpPort": 8080, "sessionStorage": {**REDIS, "passwordRef": {"name": "r", "key": "pass word"}}},
     "spec.sessionStorage.passwordRef.key"),
    ({"secrets": [{"targetEnvName": "T", "ref": "k8s-secret://creds#..token"}]}, "spec.secrets[0].ref"),
    ({"secrets": [{"targetEnvName": "T", "ref": "k8s-secret://creds#" + "k" * 254}]}, "spec.secrets[0].ref"),
    ({"storage": {"size": "1Gi", "storageClass": "Fast_SSD"}}, "spec.storage.storageClass"),
])
def test_a_secret_key_or_storage_class_outside_the_api_servers_rule_is_refused(preview, spec, key):
    problems = refused(preview, servers=[{"name": "x", "namespace": NS, "spec": {"image": IMAGE, **spec}}])
    assert len(problems) == 1 and problems[0].startswith(f"toolhive:servers.mcpServers[0].{key}: ")


def test_the_session_store_storage_class_follows_the_api_servers_rule(preview):
    problems = refused(preview, servers=[server("x")], store={"storageClass": "Fast_SSD"})
    assert len(problems) == 1 and problems[0].startswith("toolhive:servers.sessionStore.storageClass: 'Fast_SSD' is not "
                                                         "a valid storage class name")


def test_the_default_redis_secret_key_follows_the_api_servers_rule(preview):
    problems = refused(preview, servers=[server("x")], operator={"defaultRedis": {
        "addr": "redis.example.com:6379", "existingSecret": "redis", "existingSecretKey": "pass word"}})
    assert problems == ["toolhive:operator.defaultRedis.existingSecretKey: 'pass word' is not a valid Secret key: must be "
                        "letters, digits, '-', '_' and '.', at most 253 characters, not '.' or '..' and not starting with '..'"]


# -- operator_objects.name_problem / created_objects themselves (mutants of components/servers/operator_objects.py)

HEADLESS_TOO_LONG = ("is longer than 50 characters: the operator's Service mcp-<name>-headless must be a DNS-1035 label: "
                     "lowercase letters, digits and '-', starting with a letter and ending with a letter or digit, "
                     "at most 63 characters")
CONFIGMAP_INVALID = ("makes the operator's ConfigMap <name>-runconfig invalid: it must be a DNS subdomain: lowercase "
                     "letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters")


@pytest.mark.parametrize("name, expected", [
    ("a" * 50, None),
    ("a" * 51, HEADLESS_TOO_LONG),
    ("a" * 53, HEADLESS_TOO_LONG),    # the StatefulSet (at most 52) fails too, under a looser limit
    ("a" * 245, HEADLESS_TOO_LONG),   # the RoleBinding <name>-proxy-runner passes 253: every kind has a limit
    ("Fetch", CONFIGMAP_INVALID),
    ("F" + "a" * 51, CONFIGMAP_INVALID),  # at the StatefulSet's length, but invalid for another reason
], ids=["50", "51", "53", "245", "upper", "upper-52"])
def test_the_tightest_rule_names_the_problem_of_a_servers_name(name, expected):
    from components.servers import operator_objects

    assert operator_objects.name_problem("MCPServer", name) == expected


def test_the_operator_makes_its_own_service_account_only_when_the_server_names_none():
    from components.servers import operator_objects

    made = operator_objects.created_objects("MCPServer", "x", transport="stdio")
    assert ("ServiceAccount", "x-sa") in made
    assert ("ServiceAccount", "x-sa") not in operator_objects.created_objects("MCPServer", "x", transport="stdio",
                                                                             service_account="mine")


# --- the same rules, straight from the catalog (no render) ---------------------------------------------

def catalog_problems(servers: list[dict], virtual: list[dict] | None = None) -> list[str]:
    from components.config.loader import parse_stack_config
    from components.servers.catalog import load_servers
    from tests.servers.conftest import TENANTS

    config = parse_stack_config({"namespaces": TENANTS, "servers": {"mcpServers": servers, "virtualServers": virtual or []}})
    with pytest.raises(ConfigError) as raised:
        load_servers(config, stack="dev")
    return raised.value.problems


def http(name: str, **spec) -> dict:
    return server(name, transport="streamable-http", mcpPort=8080, **spec)


def test_a_too_long_secret_name_does_not_hide_the_servers_other_secret_problems():
    secrets = [{"targetEnvName": "T" * 250, "ref": "aws-sm://mcp/a"}, {"targetEnvName": "API_TOKEN", "ref": "aws-sm://mcp/b"},
               {"targetEnvName": "API__TOKEN", "ref": "aws-sm://mcp/c"}]
    problems = catalog_problems([server("x", secrets=secrets)])
    assert [p.partition(": ")[0] for p in problems] == ["toolhive:servers.mcpServers[0].spec.secrets[0].ref",
                                                   "toolhive:servers.mcpServers[0].spec.secrets[2].ref"]


def test_a_secret_the_program_writes_may_clash_with_a_secret_the_operator_creates():
    """MCPServer `a`'s value of B_HMAC_SECRET goes into Secret a-secret-b-hmac-secret, the name of the HMAC Secret
    the operator creates for VirtualMCPServer `a-secret-b`."""
    problems = catalog_problems([server("a", secrets=[{"targetEnvName": "B_HMAC_SECRET", "ref": "aws-sm://mcp/a"}])],
                                [{"name": "a-secret-b", "namespace": NS, "spec": {"group": "tools",
                                                                                  "incomingAuth": {"type": "anonymous"}}}])
    assert problems == ["toolhive:servers.virtualServers[0].name: the operator's Secret 'a-secret-b-hmac-secret' for "
                        "this VirtualMCPServer would also be created for MCPServer a (toolhive:servers.mcpServers[0]) in "
                        "namespace mcp-dev; rename one of them"]


@pytest.mark.parametrize(("servers", "expected"), [
    # two servers each clash with a third: one problem each
    ([http("x"), http("x-headless"), http("x-proxy")],
     [("mcpServers[1]", "Service 'mcp-x-headless'", "MCPServer x"), ("mcpServers[2]", "Service 'mcp-x-proxy'", "MCPServer x")]),
    # one server clashes with two: one problem per server it clashes with
    ([server("a"), http("a-proxy-proxy"), http("a-proxy")],
     [("mcpServers[2]", "Service 'mcp-a-proxy-proxy'", "MCPServer a-proxy-proxy"),
      ("mcpServers[2]", "Service 'mcp-a-proxy'", "MCPServer a")]),
])
def test_each_pair_of_clashing_servers_is_one_problem(servers, expected):
    found = []
    for problem in catalog_problems(servers):
        where, _, rest = problem.partition(".name: the operator's ")
        what, _, rest = rest.partition(" for this MCPServer would also be created for ")
        found.append((where.removeprefix("toolhive:servers."), what, rest.split(" (")[0]))
    assert found == expected


def test_a_clash_of_several_objects_names_the_first_and_counts_the_others():
    """Server `a`'s values of B_SECRET_C and B_SECRET_D go into Secrets a-secret-b-secret-c and -d, the names of
    server `a-secret-b`'s values of C and D."""
    def secrets(*keys: str) -> list[dict]:
        return [{"targetEnvName": key, "ref": f"aws-sm://mcp/{key.lower()}"} for key in keys]

    problems = catalog_problems([server("a", secrets=secrets("B_SECRET_C", "B_SECRET_D")),
                                 server("a-secret-b", secrets=secrets("C", "D"))])
    assert problems == ["toolhive:servers.mcpServers[1].name: the operator's Secret 'a-secret-b-secret-c' (and 1 more) for "
                        "this MCPServer would also be created for MCPServer a (toolhive:servers.mcpServers[0]) in namespace "
                        "mcp-dev; rename one of them"]
