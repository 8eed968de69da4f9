"""Declaring servers: inline in toolhive:servers or one YAML file per server; errors name the key or file."""
from __future__ import annotations

import json

import pytest
import yaml

from components.config import StackConfig
from components.config.loader import parse_stack_config
from components.errors import ConfigError
from components.servers.catalog import is_dev_stack, load_servers, secret_requests
from tests.conftest import PROJECT_ROOT, make_unreadable, render_config
from tests.servers.conftest import IMAGE, NS, TENANTS, config_error, render_servers, server


def write(directory, name, document):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(yaml.safe_dump(document) if not isinstance(document, str) else document)


def catalog_of(tmp_path, files: dict, **servers_block):
    for name, document in files.items():
        write(tmp_path / "servers" / "t", name, document)
    config = parse_stack_config({"namespaces": TENANTS, "servers": {"directory": "servers/t", **servers_block}})
    return load_servers(config, root=tmp_path, stack="dev")


def problems_of(tmp_path, files: dict, **servers_block) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        catalog_of(tmp_path, files, **servers_block)
    return raised.value.problems


def test_one_file_per_server_is_read_with_the_same_models_as_inline(tmp_path):
    catalog = catalog_of(tmp_path, {
        "fetch.yaml": {"name": "fetch", "namespace": NS, "spec": {"image": IMAGE}},
        "remote.yml": {"kind": "MCPRemoteProxy", "name": "remote", "namespace": NS,
                       "spec": {"remoteUrl": "https://mcp.example.com/mcp"}},
    }, mcpServers=[server("inline")])
    assert [(d.entry.kind, d.entry.name, d.source) for d in catalog.declared] == [
        ("MCPServer", "inline", "toolhive:servers.mcpServers[0]"),
        ("MCPServer", "fetch", "servers/t/fetch.yaml"),
        ("MCPRemoteProxy", "remote", "servers/t/remote.yml"),
    ]


def test_a_bad_file_is_named_with_the_field(tmp_path):
    problems = problems_of(tmp_path, {
        "fetch.yaml": {"name": "fetch", "namespace": NS, "spec": {"image": IMAGE, "transport": "websocket"}},
        "typo.yaml": {"name": "typo", "namespace": NS, "spec": {"image": IMAGE, "imagePullPolicy": "Always"}},
        "kind.yaml": {"kind": "Pod", "name": "x", "namespace": NS},
        "broken.yaml": "name: [unclosed",
    })
    assert "servers/t/fetch.yaml: spec.transport: must be one of stdio, sse, streamable-http (got 'websocket')" in problems
    assert any(p.startswith("servers/t/typo.yaml: spec.imagePullPolicy: unknown key; allowed here: ") for p in problems)
    assert "servers/t/kind.yaml: kind: must be one of MCPServer, MCPRemoteProxy, VirtualMCPServer (got 'Pod')" in problems
    assert any(p.startswith("servers/t/broken.yaml: not valid YAML") for p in problems)


def test_a_key_set_twice_in_a_server_file_is_refused_naming_both_lines(tmp_path):
    problems = problems_of(tmp_path, {"web.yaml": f"name: web\nnamespace: {NS}\nspec:\n  image: {IMAGE}\n"
                                                  "  replicas: 1\n  replicas: 5\n",
                                      "worker.yaml": "name: worker\n"})  # the files after it are read too
    assert problems == ["servers/t/web.yaml: not valid YAML: line 6, column 3: key 'replicas' is set twice (first on "
                        "line 5); YAML keeps only the last, so remove one",
                        "servers/t/worker.yaml: namespace: is required", "servers/t/worker.yaml: spec: is required"]


def test_files_the_directory_would_not_read_are_named(tmp_path):
    write(tmp_path / "servers" / "t" / "team-a", "web.yaml", {"name": "web", "namespace": NS, "spec": {"image": IMAGE}})
    write(tmp_path / "servers" / "t" / "drafts", "notes.txt", "later")
    write(tmp_path / "servers" / "t", "README.md", "# servers")
    write(tmp_path / "servers" / "t", ".gitkeep", "")
    problems = problems_of(tmp_path, {"fetch.yaml": {"name": "fetch", "namespace": NS, "spec": {"image": IMAGE}}})
    assert problems == ["servers/t/team-a/: server files are read from the top level of toolhive:servers.directory "
                        "only; these would not deploy: web.yaml (move them up)"]
    (tmp_path / "servers" / "t" / "team-a" / "web.yaml").unlink()
    catalog = catalog_of(tmp_path, {})
    assert catalog.warnings == ["servers/t/README.md: not a server file (only *.yaml and *.yml are read); it is ignored",
                                "servers/t/drafts/: a subdirectory of toolhive:servers.directory; it is not read",
                                "servers/t/team-a/: a subdirectory of toolhive:servers.directory; it is not read"]


def test_a_stray_file_warns_in_the_render(tmp_path, preview):
    write(tmp_path / "servers", "fetch.yaml", {"name": "fetch", "namespace": NS, "spec": {"image": IMAGE}})
    write(tmp_path / "servers", "fetch.yaml.bak", "old")
    rendered = render_config({"namespaces": TENANTS, "servers": {"directory": str(tmp_path / "servers")}}, preview=preview)
    [warning] = rendered.run.warnings
    assert warning.message == f"{tmp_path}/servers/fetch.yaml.bak: not a server file (only *.yaml and *.yml are " \
                              "read); it is ignored"
    assert warning.urn.endswith("toolhive:servers:Servers::servers")


def test_a_missing_directory_is_a_config_error(tmp_path):
    config = parse_stack_config({"namespaces": TENANTS, "servers": {"directory": "servers/none"}})
    with pytest.raises(ConfigError, match="toolhive:servers.directory: servers/none is not a directory"):
        load_servers(config, root=tmp_path, stack="dev")


def test_names_are_unique_per_namespace_across_kinds_and_files(tmp_path):
    problems = problems_of(tmp_path, {"fetch.yaml": {"name": "fetch", "namespace": NS, "spec": {"image": IMAGE}}},
                           remoteProxies=[{"name": "fetch", "namespace": NS, "spec": {"remoteUrl": "https://a.example.com"}}])
    assert problems == ["servers/t/fetch.yaml: name: 'fetch' is already declared in namespace mcp-dev by "
                        "toolhive:servers.remoteProxies[0] (the operator names its Deployment after it)"]
    # The same name in another namespace is another server.
    catalog_of(tmp_path / "other", {"fetch.yaml": {"name": "fetch", "namespace": "mcp-data", "spec": {"image": IMAGE}}},
               mcpServers=[server("fetch")])


def test_a_name_declared_in_two_files_blames_the_file_that_came_second(tmp_path):
    problems = problems_of(tmp_path, {"b-fetch.yml": {"name": "fetch", "namespace": NS, "spec": {"image": IMAGE}},
                                      "a-fetch.yaml": {"name": "fetch", "namespace": NS, "spec": {"image": IMAGE}}})
    assert problems == ["servers/t/b-fetch.yml: name: 'fetch' is already declared in namespace mcp-dev by "
                        "servers/t/a-fetch.yaml (the operator names its Deployment after it)"]


def test_the_namespace_must_be_a_tenant_namespace_of_the_stack_and_the_group_declared_on_it():
    problems, run = config_error(servers=[server("a", namespace="kube-system"), server("b", group="nope")])
    assert problems == [
        "toolhive:servers.mcpServers[0].namespace: 'kube-system' is not a tenant namespace of this stack (mcp-data, mcp-dev)",
        "toolhive:servers.mcpServers[1].spec.group: 'nope' is not a group of namespace mcp-dev "
        "(declare it in toolhive:namespaces[].groups)",
    ]
    assert run == []


@pytest.mark.parametrize("name", ["mcpserver", "mcpremoteproxy", "virtualmcpserver"])
def test_names_that_make_operator_selectors_ambiguous_are_refused(name):
    problems, run = config_error(servers=[server(name)])
    assert problems == [f"toolhive:servers.mcpServers[0].name: {name!r} is reserved: a server with this name makes "
                        "the operator's pod selectors ambiguous (never mcpserver, mcpremoteproxy, virtualmcpserver)"]
    assert run == []


@pytest.mark.parametrize("name, why", [("Fetch", "not a valid name"), ("a" * 51, "longer than 50")])
def test_names_must_be_kubernetes_names_that_fit_the_operator_service_names(name, why):
    problems, _ = config_error(servers=[server(name)])
    assert len(problems) == 1 and why in problems[0] and problems[0].startswith("toolhive:servers.mcpServers[0].name")


@pytest.mark.parametrize("image, why", [
    ("ghcr.io/org/server", "neither a tag nor a digest"),
    ("ghcr.io/org/server:latest", "moving tag 'latest'"),
])
def test_images_need_a_tag_or_digest(image, why):
    problems, _ = config_error(servers=[{"name": "x", "namespace": NS, "spec": {"image": image}}])
    assert len(problems) == 1 and problems[0].startswith("toolhive:servers.mcpServers[0].spec.image:") and why in problems[0]


def test_a_digest_pins_an_image():
    rendered = render_servers(servers=[{"name": "x", "namespace": NS,
                                        "spec": {"image": "ghcr.io/org/server@sha256:" + "a" * 64}}])
    assert rendered.object("MCPServer", "x", NS)["spec"]["image"].endswith("@sha256:" + "a" * 64)


def test_secret_looking_env_literals_are_refused():
    problems, _ = config_error(servers=[server(env={"GITHUB_TOKEN": "ghp_x", "LOG_LEVEL": "info"})])
    assert problems == ["toolhive:servers.mcpServers[0].spec.env.GITHUB_TOKEN: looks like a secret; env holds "
                        "non-secret literals only, move it to secrets ({targetEnvName, ref})"]


@pytest.mark.parametrize("url", [
    "http://localhost:8080/mcp", "http://127.0.0.1/mcp", "http://[::1]/mcp", "http://169.254.169.254/latest",
    "http://10.1.2.3/mcp", "http://172.16.0.1/mcp", "http://192.168.1.1/mcp", "http://[fd00::1]/mcp",
    "http://mcp.tools.svc.cluster.local/mcp", "https://kubernetes.default.svc/api", "http://0.0.0.0/",
])
def test_remote_hosts_the_operator_refuses_are_refused_at_preview(url):
    problems, run = config_error(remote=[{"name": "r", "namespace": NS, "spec": {"remoteUrl": url}}])
    assert len(problems) == 1 and problems[0].startswith("toolhive:servers.remoteProxies[0].spec.remoteUrl:")
    assert "operator refuses" in problems[0]
    assert run == []


def test_public_remote_hosts_are_accepted():
    for url in ("https://mcp.example.com/mcp", "http://8.8.8.8/mcp", "https://[2001:db8::1]/mcp"):
        catalog_of_ok = parse_stack_config(
            {"namespaces": TENANTS, "servers": {"remoteProxies": [{"name": "r", "namespace": NS, "spec": {"remoteUrl": url}}]}})
        assert catalog_of_ok.servers.remote_proxies[0].spec.remote_url == url


def test_anonymous_virtual_servers_are_for_dev_stacks_only():
    vmcp = [{"name": "all", "namespace": NS, "spec": {"group": "tools", "incomingAuth": {"type": "anonymous"}}}]
    problems, _ = config_error(virtual=vmcp, stack="prod")
    assert problems == ["toolhive:servers.virtualServers[0].spec.incomingAuth.type: anonymous is for dev stacks only "
                        "(this is stack 'prod'); use oidc with an oidcConfigRef"]
    render_servers(virtual=vmcp, stack="dev")


@pytest.mark.parametrize(("stack", "dev"), [("dev", True), ("dev-alice", True), ("devel", False), ("staging", False)])
def test_a_dev_stack_is_dev_or_named_dev_dash_something(stack, dev):
    assert is_dev_stack(stack) is dev


def test_the_json_schema_covers_servers_and_is_committed_current():
    committed = json.loads((PROJECT_ROOT / "stack-config.schema.json").read_text())
    server_spec = committed["$defs"]["McpServerSpec"]["properties"]
    assert server_spec["transport"]["enum"] == ["stdio", "sse", "streamable-http"]
    assert "toolhive:servers" in committed["properties"]["config"]["properties"]
    assert StackConfig.model_fields["servers"].alias == "servers"


# -- every file's problem, each named by its file, all at once --------------------------------------------------

def test_every_unreadable_or_malformed_file_is_named_and_the_others_are_still_read(tmp_path, monkeypatch):
    folder = tmp_path / "servers" / "t"
    folder.mkdir(parents=True)
    (folder / "a-latin.yaml").write_bytes(b"name: caf\xe9\n")
    (folder / "b-list.yaml").write_text("- name: fetch\n")
    (folder / "c-locked.yaml").write_text("name: locked\n")
    (folder / "d-empty.yaml").write_text("")
    write(folder, "e-bad.yaml", {"name": "bad", "namespace": NS, "spec": {"image": IMAGE, "transport": "ws"}})
    write(folder, "f-other.yaml", {"name": "other", "namespace": "mcp-elsewhere", "spec": {"image": IMAGE}})
    make_unreadable(monkeypatch, "c-locked.yaml")
    assert problems_of(tmp_path, {}) == [
        "servers/t/a-latin.yaml: not UTF-8 text (byte 9: invalid continuation byte); save it as UTF-8",
        "servers/t/b-list.yaml: expected a mapping {kind, name, namespace, spec}",
        "servers/t/c-locked.yaml: cannot read: Permission denied",
        "servers/t/d-empty.yaml: expected a mapping {kind, name, namespace, spec}",
        "servers/t/e-bad.yaml: spec.transport: must be one of stdio, sse, streamable-http (got 'ws')",
        "servers/t/f-other.yaml: namespace: 'mcp-elsewhere' is not a tenant namespace of this stack (mcp-data, mcp-dev)",
    ]


def test_a_directory_outside_the_project_names_its_files_by_their_full_path(tmp_path):
    outside = tmp_path / "outside"
    write(outside, "fetch.yaml", {"name": "fetch", "namespace": NS, "spec": {"image": IMAGE}})
    config = parse_stack_config({"namespaces": TENANTS, "servers": {"directory": str(outside)}})
    catalog = load_servers(config, root=tmp_path / "project", stack="dev")
    assert [d.source for d in catalog.declared] == [f"{outside}/fetch.yaml"]


def test_a_server_in_a_stack_without_tenants_is_told_there_are_none(tmp_path):
    config = parse_stack_config({"servers": {"mcpServers": [server("fetch")]}})
    with pytest.raises(ConfigError) as raised:
        load_servers(config, root=tmp_path, stack="dev")
    assert raised.value.problems == ["toolhive:servers.mcpServers[0].namespace: 'mcp-dev' is not a tenant namespace of "
                                     "this stack (none declared in toolhive:namespaces)"]


def test_every_nested_server_file_is_named(tmp_path):
    for name in ("web.yaml", "api.yml"):
        write(tmp_path / "servers" / "t" / "team-a", name, {"name": name[:3], "namespace": NS, "spec": {"image": IMAGE}})
    assert problems_of(tmp_path, {}) == [
        "servers/t/team-a/: server files are read from the top level of toolhive:servers.directory only; these would "
        "not deploy: api.yml, web.yaml (move them up)"]


def test_every_secret_reference_of_every_server_is_asked_for_naming_the_server_and_the_field(tmp_path):
    catalog = catalog_of(tmp_path, {
        "remote.yaml": {"kind": "MCPRemoteProxy", "name": "remote", "namespace": "mcp-data", "spec": {
            "remoteUrl": "https://mcp.example.com/mcp",
            "headers": {"fromSecrets": [{"headerName": "X-Api-Key", "ref": "aws-sm://mcp/remote#key"}]}}},
    }, mcpServers=[server("github", secrets=[{"targetEnvName": "GITHUB_TOKEN", "ref": "aws-sm://mcp/github#token"}])])
    assert secret_requests(catalog) == [
        ("MCPServer mcp-dev/github (toolhive:servers.mcpServers[0].spec.secrets[0].ref)", "aws-sm://mcp/github#token"),
        ("MCPRemoteProxy mcp-data/remote (servers/t/remote.yaml: spec.headers.fromSecrets[0].ref)", "aws-sm://mcp/remote#key"),
    ]


@pytest.mark.parametrize(("transport", "clash"), [("streamable-http", True), ("stdio", False)])
def test_a_servers_operator_service_may_clash_with_anothers_only_where_the_operator_creates_it(tmp_path, transport, clash):
    """MCPServer `web` gets Service mcp-web-proxy; MCPServer `web-proxy` gets Service mcp-web-proxy too, but only
    with an HTTP transport (a stdio server has no backend Service)."""
    spec = {"transport": transport, **({"mcpPort": 8080} if transport != "stdio" else {})}
    servers = [server("web"), server("web-proxy", **spec)]
    (tmp_path / "servers" / "t").mkdir(parents=True)
    if clash:
        assert problems_of(tmp_path, {}, mcpServers=servers) == [
            "toolhive:servers.mcpServers[1].name: the operator's Service 'mcp-web-proxy' for this MCPServer would also "
            "be created for MCPServer web (toolhive:servers.mcpServers[0]) in namespace mcp-dev; rename one of them"]
    else:
        assert [d.entry.name for d in catalog_of(tmp_path, {}, mcpServers=servers).declared] == ["web", "web-proxy"]
