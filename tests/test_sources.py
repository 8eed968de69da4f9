"""Findings name their source: one mapping (tools.validate.sources) from an object or URN to the server
file (or inline entry) and field, or the `toolhive:` key, behind it — used by the dry run, warnings.json,
policy-report.json and the renderer's console lines alike."""
from __future__ import annotations

import json

from policies import check
from tests.conftest import PROJECT_ROOT, render_config, render_stack
from tests.policies.conftest import container, deployment
from tools import validate
from tools.mock_runtime import RegisteredResource
from tools.render import read_stack_file, write_outputs
from tools.validate import Sources, dry_run
from tools.validate.problem import problem

STACK = "urn:pulumi:dev::toolhive::pulumi:pulumi:Stack::toolhive-dev"
SERVERS = "urn:pulumi:dev::toolhive::toolhive:servers:Servers::servers"
IMAGE = "ghcr.io/stackloklabs/gofetch/server:1.0.1"


def entry(urn: str, type_: str, parent: str = "", inputs: dict | None = None) -> RegisteredResource:
    return RegisteredResource(urn=urn, type=type_, name=urn.rsplit("::", 1)[1], custom=type_.startswith("kubernetes:"),
                              parent=parent, dependencies=[], protect=False, retain_on_delete=False, ignore_changes=[],
                              inputs=inputs or {})


def server_entries(source: str, **props) -> tuple[list[dict], str, str]:
    """A server component declared in `source`, with its MCPServer and a Deployment of its own below it."""
    component = f"urn:pulumi:dev::toolhive::toolhive:servers:Servers$toolhive:servers:McpServer::mcp-dev-mcpserver-fetch"
    server = (f"urn:pulumi:dev::toolhive::toolhive:servers:Servers$toolhive:servers:McpServer$"
              f"kubernetes:toolhive.stacklok.dev/v1alpha1:MCPServer::fetch")
    bare = container("web")
    del bare["resources"]
    workload = "urn:pulumi:dev::toolhive::toolhive:servers:McpServer$kubernetes:apps/v1:Deployment::web"
    return ([entry(SERVERS, "toolhive:servers:Servers", STACK),
             entry(component, "toolhive:servers:McpServer", SERVERS, {"source": source, **props}),
             entry(server, "kubernetes:toolhive.stacklok.dev/v1alpha1:MCPServer", component,
                   {"apiVersion": "toolhive.stacklok.dev/v1alpha1", "kind": "MCPServer",
                    "metadata": {"name": "fetch", "namespace": "mcp-dev"}, "spec": {"image": IMAGE}}),
             entry(workload, "kubernetes:apps/v1:Deployment", component, deployment(containers=[bare]))],
            server, workload)


def test_a_servers_objects_are_named_by_its_file_and_the_field_in_it():
    entries, server, _ = server_entries("servers/dev/fetch.yaml", mcpResources="size")
    sources = Sources(entries)
    assert sources.of(server) == "servers/dev/fetch.yaml"
    assert sources.of(server, "$.spec.env[0].value") == "servers/dev/fetch.yaml: spec.env"
    assert sources.of(server, "$.spec.resources.limits.cpu") == "servers/dev/fetch.yaml: spec.proxyResources.limits.cpu"
    assert sources.of(server, "$.spec.podTemplateSpec.spec.containers[0].resources.limits.cpu") == \
        "servers/dev/fetch.yaml: spec.size"
    assert sources.of_object("MCPServer", "mcp-dev", "fetch", "$.metadata.name") == "servers/dev/fetch.yaml: name"
    assert sources.of_object("MCPServer", "mcp-dev", "other", "$") is None
    # The server's component itself is named by its file alone: it is no object with fields.
    assert sources.of(entries[1].urn, "$.metadata.name") == "servers/dev/fetch.yaml"


def test_only_kubernetes_objects_are_found_by_kind_and_name():
    """A component whose inputs look like an object (a kind, a name) is not the object the cluster holds."""
    entries, server, _ = server_entries("servers/dev/fetch.yaml")
    impostor = entry("urn:pulumi:dev::toolhive::toolhive:servers:Catalog::fetch", "toolhive:servers:Catalog", STACK,
                     {"kind": "MCPServer", "metadata": {"name": "fetch", "namespace": "mcp-dev"}})
    sources = Sources([impostor, *entries])
    assert sources.urn_of("MCPServer", "mcp-dev", "fetch") == server
    assert sources.of(impostor.urn) is None
    # Below a server's component, such a resource is named by the file alone, not by a field of an object.
    inner = entry(f"{entries[1].urn}$toolhive:servers:Part::fetch", "toolhive:servers:Part", entries[1].urn, impostor.inputs)
    assert Sources([*entries, inner]).of(inner.urn, "$.metadata.name") == "servers/dev/fetch.yaml"


def test_only_a_server_component_names_a_file_as_the_source_of_what_is_below_it():
    tenant = "urn:pulumi:dev::toolhive::toolhive:platform:TenantNamespace::mcp-dev"
    quota = entry(f"{tenant.replace('::mcp-dev', '$kubernetes:core/v1:ResourceQuota::q')}", "kubernetes:core/v1:ResourceQuota",
                  tenant, {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "mcp-quota", "namespace": "mcp-dev"}})
    sources = Sources([entry(tenant, "toolhive:platform:TenantNamespace", STACK, {"source": "servers/dev/x.yaml"}), quota],
                      {"toolhive:namespaces": [{"name": "mcp-dev"}]})
    assert sources.of(quota.urn) == "toolhive:namespaces[0].quota"


def test_a_parent_cycle_ends_the_walk_to_the_server_component():
    a, b = "urn:pulumi:dev::toolhive::toolhive:x:A::a", "urn:pulumi:dev::toolhive::toolhive:x:B::b"
    sources = Sources([entry(a, "toolhive:x:A", b), entry(b, "toolhive:x:B", a)])
    assert sources.of(a) is None and sources.of(b) is None


def test_an_inline_server_is_named_by_its_toolhive_key_and_explicit_resources_by_their_field():
    entries, server, _ = server_entries("toolhive:servers.mcpServers[2]")
    assert Sources(entries).of(server, "$.spec.podTemplateSpec.spec.containers[0].resources.limits.cpu") == \
        "toolhive:servers.mcpServers[2].spec.resources.limits.cpu"


def test_the_platforms_objects_are_named_by_their_toolhive_key():
    tenant = "urn:pulumi:dev::toolhive::toolhive:platform:TenantNamespace::mcp-dev"
    quota = entry("urn:pulumi:dev::toolhive::toolhive:platform:TenantNamespace$kubernetes:core/v1:ResourceQuota::q",
                  "kubernetes:core/v1:ResourceQuota", tenant,
                  {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "mcp-quota", "namespace": "mcp-dev"}})
    sources = Sources([entry(tenant, "toolhive:platform:TenantNamespace", STACK), quota],
                      {"toolhive:namespaces": [{"name": "other"}, {"name": "mcp-dev"}]})
    assert sources.of(quota.urn) == "toolhive:namespaces[1].quota"
    assert sources.of("urn:pulumi:dev::toolhive::nothing::here") is None


def test_policy_findings_carry_the_source_in_the_report_and_on_the_console(tmp_path, capsys):
    entries, _, _ = server_entries("servers/dev/fetch.yaml")
    report = tmp_path / "policy-report.json"
    assert check.report_for_render([e.as_json() for e in entries], None, report, sources=Sources(entries).of) == 1
    findings = [f for f in json.loads(report.read_text()) if f["name"] == "web"]
    assert findings and {f["source"] for f in findings} == {"servers/dev/fetch.yaml"}
    assert "policy servers/dev/fetch.yaml: " in capsys.readouterr().err


def test_warnings_json_names_the_server_behind_each_warning(tmp_path, preview):
    rendered = render_config({"namespaces": [{"name": "mcp-dev"}], "servers": {"mcpServers": [
        {"name": "fetch", "namespace": "mcp-dev", "spec": {"image": IMAGE, "replicas": 2}}]}}, preview=preview)
    write_outputs(rendered.run, tmp_path)
    [warning] = json.loads((tmp_path / "warnings.json").read_text())
    assert warning["message"].startswith("MCPServer mcp-dev/fetch: spec.replicas is 2")
    assert warning["source"] == "toolhive:servers.mcpServers[0]"


def test_every_problem_in_a_servers_the_session_stores_or_the_registrys_objects_names_its_source(monkeypatch, preview):
    """Flag every object of the shipped dev stack: each problem names a server file (one of servers/dev/), a
    `toolhive:servers.sessionStore` or `toolhive:registry` key, or another `toolhive:` key; never only the object."""
    rendered = render_stack("dev", preview=preview)
    config, _ = read_stack_file(PROJECT_ROOT / "Pulumi.dev.yaml")
    monkeypatch.setattr(validate, "CHECKS", (lambda objects: [problem(obj, "$", "flagged") for obj in objects],))
    flagged = dry_run(rendered.resources, config)
    assert flagged and all(found.config_key for found in flagged), [str(f) for f in flagged if not f.config_key]
    files = {f"servers/dev/{path.name}" for path in (PROJECT_ROOT / "servers" / "dev").glob("*.yaml")}
    by_component = {r.urn: r.parent for r in rendered.resources}
    for found in flagged:
        urn = Sources(rendered.resources).urn_of(found.kind, found.namespace, found.name)
        assert urn is not None, str(found)
        chain = by_component[urn]
        if "toolhive:servers:McpServer" in chain or "toolhive:servers:RemoteProxy" in chain or \
                "toolhive:servers:VirtualServer" in chain:
            assert found.config_key.split(": ")[0] in files, str(found)
        elif "toolhive:servers:SessionStore" in chain:
            assert found.config_key.startswith("toolhive:servers.sessionStore"), str(found)
        elif "toolhive:registry:" in chain:
            assert found.config_key.startswith("toolhive:registry"), str(found)
    assert {found.config_key for found in flagged if found.kind in ("MCPServer", "MCPRemoteProxy", "VirtualMCPServer")} == files
