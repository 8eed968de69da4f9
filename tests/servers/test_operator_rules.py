"""What the v0.44.0 operator and proxy runner refuse in a server spec is refused at preview, naming the field.

Each rule: a value just outside what the real system takes is refused (before any resource is registered,
naming the server's key and what is allowed), and the value at the boundary renders.
Sources: components/config/toolhive_rules.py cites the operator's files.
"""
from __future__ import annotations

import pytest

from components.errors import ConfigError
from tests.conftest import render_config
from tests.servers.conftest import NS, REDIS, config_with, render_servers, server, spec_of
from tools.mock_runtime import ProgramRun


def refused(preview: bool, **kwargs) -> list[str]:
    run = ProgramRun()
    with pytest.raises(ConfigError) as raised:
        render_config(config_with(**kwargs), preview=preview, stack="dev", into=run)
    assert [r for r in run.resources if r.type != "pulumi:pulumi:Stack"] == []
    return raised.value.problems


def remote(url: str = "https://mcp.example.com/mcp", name: str = "r", **spec) -> dict:
    return {"name": name, "namespace": NS, "spec": {"remoteUrl": url, **spec}}


ACCEPTED_URLS = [
    # names that only start or end like a blocked one
    "https://kubernetes.defaultx.io/mcp", "https://kubernetes.default-backup.example.com/",
    "https://mylocalhost.com/", "https://localhost.example.com/", "https://notcluster.local.example.com/",
    "https://metadata.google.internal.example.com/",
    # addresses outside its networks (CGNAT, 172.32/16, IPv4-compatible IPv6 are not on its list)
    "http://8.8.8.8/mcp", "http://100.64.0.1/", "http://172.32.0.1/", "http://[2001:db8::1]/",
    "http://[::ffff:8.8.8.8]/", "http://[::127.0.0.1]/",
]
FORWARDED = {"X-Tenant": "dev", "X-Forwarded-Prefix": "/mcp", "x-request-source": "toolhive"}


@pytest.fixture
def accepted(preview):
    """One render holding every value at the boundary of the rules below (one render per mode keeps it fast)."""
    return render_servers(
        preview,
        servers=[
            server("env", env={"GREETING": "tab\there = ok; \"quoted\""}),
            server("described", tools={"rename": {"fetch": {"description": "Fetch a page"}}}),
            # 'fetch' is what clients see of the tool actually called 'download' ('fetch' itself is renamed away).
            server("renamed", tools={"allow": ["get_page", "fetch"],
                                     "rename": {"fetch": {"name": "get_page"}, "download": {"name": "fetch"}}}),
        ],
        remote=[remote(name="headers", headers={"plaintext": FORWARDED, "fromSecrets": [
                    {"headerName": "X-Api-Key", "ref": "k8s-secret://api#token"}]}),
                remote(name="prefixed", sessionStorage={**REDIS, "keyPrefix": "thv:r:"}),
                *[remote(url, name=f"url{index}") for index, url in enumerate(ACCEPTED_URLS)]],
    )


# --- env literals --------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["line one\nline two", "windows\r", "\n"])
def test_an_env_literal_with_a_newline_or_carriage_return_is_refused(preview, value):
    problems = refused(preview, servers=[server(env={"GREETING": value})])
    assert problems == ["toolhive:servers.mcpServers[0].spec.env.GREETING: contains a newline or carriage return, "
                        "which the operator refuses in env values (write the value on one line)"]


def test_an_env_literal_on_one_line_with_tabs_and_symbols_renders(accepted):
    assert spec_of(accepted, "MCPServer", "env")["env"] == [{"name": "GREETING", "value": "tab\there = ok; \"quoted\""}]


# --- tool names, overrides, allow after renames ----------------------------------------------------------

@pytest.mark.parametrize("tool", ["fetch,search", "fetch\n", "a\rb", ""])
def test_an_allowed_tool_name_with_a_comma_or_newline_or_empty_is_refused(preview, tool):
    problems = refused(preview, servers=[server(tools={"allow": [tool]})])
    assert len(problems) == 1 and problems[0].startswith("toolhive:servers.mcpServers[0].spec.tools.allow[0]: must not")


def test_a_renamed_tool_name_with_a_comma_is_refused(preview):
    problems = refused(preview, remote=[remote(tools={"rename": {"fetch": {"name": "get,page"}}})])
    assert problems == ["toolhive:servers.remoteProxies[0].spec.tools.rename.fetch.name: must not contain a comma, "
                        "newline or carriage return (the operator refuses such tool names)"]


@pytest.mark.parametrize("override", [{"title": "Get a page"}, {}, {"name": "", "description": ""}])
def test_a_tool_override_without_name_or_description_is_refused(preview, override):
    problems = refused(preview, servers=[server(tools={"rename": {"fetch": override}})])
    assert problems == ["toolhive:servers.mcpServers[0].spec.tools.rename.fetch.name: set name or description (or "
                        "both): the proxy runner refuses an override with neither, and a title alone is not passed on to it"]


def test_a_tool_override_with_only_a_description_renders(accepted):
    assert spec_of(accepted, "MCPToolConfig", "described-tools") == {"toolsOverride": {"fetch": {"description": "Fetch a page"}}}


def test_allow_naming_a_tool_by_the_name_a_rename_replaces_is_refused(preview):
    problems = refused(preview, servers=[server(tools={"allow": ["search", "fetch"],
                                                       "rename": {"fetch": {"name": "get_page"}}})])
    assert problems == ["toolhive:servers.mcpServers[0].spec.tools.allow[1]: 'fetch' is renamed to 'get_page' by rename; "
                        "allow lists the names clients see (the proxy filters after renaming): write 'get_page'"]


def test_allow_lists_the_names_clients_see_after_renames(accepted):
    assert spec_of(accepted, "MCPToolConfig", "renamed-tools")["toolsFilter"] == ["get_page", "fetch"]


# --- forwarded headers ------------------------------------------------------------------------------------

RESTRICTED = ["host", "Connection", "keep-alive", "TE", "Trailer", "upgrade", "HTTP2-Settings", "proxy-authorization",
              "Proxy-Authenticate", "proxy-connection", "transfer-encoding", "Content-Length", "forwarded",
              "x-forwarded-for", "X-Forwarded-Host", "x-forwarded-proto", "x-real-ip"]


@pytest.mark.parametrize("header", RESTRICTED)
def test_a_restricted_plaintext_header_is_refused_in_any_case(preview, header):
    problems = refused(preview, remote=[remote(headers={"plaintext": {header: "x"}})])
    assert len(problems) == 1
    assert problems[0].startswith(f"toolhive:servers.remoteProxies[0].spec.headers.plaintext.{header}: header ")
    assert "is restricted: the proxy runner refuses to forward" in problems[0]


@pytest.mark.parametrize("header", ["Host", "x-forwarded-for"])
def test_a_restricted_header_from_a_secret_is_refused(preview, header):
    problems = refused(preview, remote=[remote(headers={"fromSecrets": [{"headerName": header,
                                                                         "ref": "k8s-secret://api#token"}]})])
    assert len(problems) == 1
    assert problems[0].startswith("toolhive:servers.remoteProxies[0].spec.headers.fromSecrets[0].headerName: header ")


@pytest.mark.parametrize("header", ["X Api Key", "X-Key:", "Ümlaut"])
def test_a_header_name_that_is_no_http_token_is_refused(preview, header):
    problems = refused(preview, remote=[remote(headers={"plaintext": {header: "x"}})])
    assert len(problems) == 1 and "is not an HTTP header name" in problems[0]


def test_a_plaintext_header_value_with_a_newline_is_refused(preview):
    problems = refused(preview, remote=[remote(headers={"plaintext": {"X-Tenant": "a\r\nHost: evil"}})])
    assert problems == ["toolhive:servers.remoteProxies[0].spec.headers.plaintext.X-Tenant: value contains a newline "
                        "or carriage return, which no HTTP request can carry"]


def test_headers_the_runner_forwards_render(accepted):
    # X-Forwarded-Prefix is not on the runner's list: it is forwarded.
    forward = spec_of(accepted, "MCPRemoteProxy", "headers")["headerForward"]
    assert forward["addPlaintextHeaders"] == FORWARDED
    assert [h["headerName"] for h in forward["addHeadersFromSecret"]] == ["X-Api-Key"]


# --- session key prefixes ---------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["servers", "remote", "virtual"])
def test_a_session_key_prefix_must_end_with_a_colon(preview, kind):
    storage = {**REDIS, "keyPrefix": "thv-fetch"}
    entry = {"servers": server(transport="sse", mcpPort=8080, sessionStorage=storage),
             "remote": remote(sessionStorage=storage),
             "virtual": {"name": "v", "namespace": NS, "spec": {"group": "tools", "incomingAuth": {"type": "anonymous"},
                                                                 "sessionStorage": storage}}}[kind]
    key = {"servers": "mcpServers", "remote": "remoteProxies", "virtual": "virtualServers"}[kind]
    problems = refused(preview, **{kind: [entry]})
    assert problems == [f"toolhive:servers.{key}[0].spec.sessionStorage.keyPrefix: must end with ':' (e.g. thv:fetch:), "
                        "or be left unset for the default; the proxy refuses to start otherwise"]


def test_a_session_key_prefix_ending_with_a_colon_renders(accepted):
    assert spec_of(accepted, "MCPRemoteProxy", "prefixed")["sessionStorage"]["keyPrefix"] == "thv:r:"


# --- remote URL hosts: exactly the operator's blocklist ---------------------------------------------------

REFUSED_URLS = [
    # its hostnames, exactly and below them (any case)
    "http://localhost:8080/mcp", "http://api.localhost/", "http://LOCALHOST/", "https://kubernetes.default/",
    "https://kubernetes.default.svc/api", "https://a.kubernetes.default.svc.cluster.local/", "http://cluster.local/",
    "http://mcp.tools.svc.cluster.local/mcp", "http://metadata.google.internal/computeMetadata/v1/",
    "http://x.metadata.google.internal/",
    # its networks, IPv4-mapped IPv6 read as IPv4
    "http://127.0.0.1/mcp", "http://127.1.2.3/", "http://0.0.0.0/", "http://0.1.2.3/", "http://169.254.169.254/latest",
    "http://10.1.2.3/mcp", "http://172.16.0.1/mcp", "http://172.31.255.255/", "http://192.168.1.1/mcp",
    "http://[::1]/mcp", "http://[::]/", "http://[fe80::1]/", "http://[fd00::1]/mcp", "http://[fc00::1]/",
    "http://[::ffff:127.0.0.1]/", "http://[::ffff:169.254.169.254]/", "http://[::ffff:10.0.0.1]/",
]


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_remote_hosts_the_operator_refuses_are_refused(preview, url):
    problems = refused(preview, remote=[remote(url)])
    assert len(problems) == 1 and problems[0].startswith("toolhive:servers.remoteProxies[0].spec.remoteUrl: host ")
    assert "the operator refuses" in problems[0]


def test_remote_hosts_the_operator_accepts_render(accepted):
    assert [spec_of(accepted, "MCPRemoteProxy", f"url{index}")["remoteUrl"] for index in range(len(ACCEPTED_URLS))] \
        == ACCEPTED_URLS


@pytest.mark.parametrize("url, why", [
    ("HTTPS://mcp.example.com/", "must be an http:// or https:// URL"),
    ("ftp://mcp.example.com/", "must be an http:// or https:// URL"),
    ("https:///mcp", "must name a host"),
    ("https://mcp.example.com:http/", "port that is not a number"),
    ("https://mcp example.com/", "spaces or control characters"),
])
def test_a_remote_url_that_is_no_http_url_with_a_host_is_refused(preview, url, why):
    problems = refused(preview, remote=[remote(url)])
    assert len(problems) == 1 and problems[0].startswith("toolhive:servers.remoteProxies[0].spec.remoteUrl: ")
    assert why in problems[0]
