"""What each server renders: the MCPServer fields, the mcp container's pod template, tool configs,
remote proxies, virtual servers, ordering, stack outputs — all valid against the CRDs and PSS restricted."""
from __future__ import annotations

import copy
from types import SimpleNamespace

import pytest

from components.servers.common import default_redis_warnings, header_key, secret_fields, secret_name
from components.servers.default_redis import DefaultRedis
from policies.pod_security import check_object
from tests.conftest import render_config
from tests.servers.conftest import FIXTURE_EXISTING, IMAGE, NS, REDIS, TENANTS, config_error, config_with, render_servers, server, spec_of
from tools.schema_check import validate_object

TOOLHIVE_KINDS = ("MCPServer", "MCPRemoteProxy", "VirtualMCPServer", "MCPToolConfig", "MCPGroup")


@pytest.fixture
def rendered(preview):
    return render_servers(
        preview,
        # Room for web's 2 proxies (the LimitRange's default cpu limit, 500m each) and 3 large backends (2 each):
        # the default quota's limits.cpu 8 would refuse some of their pods.
        namespaces=[{**TENANTS[0], "quota": {"limitsCpu": "16"}}, *TENANTS[1:]],
        servers=[
            server("fetch", group="tools", args=["--verbose"], env={"LOG_LEVEL": "debug"}, proxyMode="sse",
                   tools={"allow": ["get_page"], "rename": {"fetch": {"name": "get_page", "title": "Get a page",
                                                                       "description": "Fetch a web page"}}}),
            server("web", transport="streamable-http", mcpPort=9000, proxyPort=8081, size="large", replicas=2,
                   backendReplicas=3, sessionStorage=REDIS, sessionAffinity="None", serviceAccount="web-sa",
                   authzConfigRef={"name": "policy"}, proxyResources={"requests": {"cpu": "20m", "memory": "32Mi"},
                                                                      "limits": {"memory": "64Mi"}}),
            server("writer", transport="sse", mcpPort=8080, readOnlyRootFilesystem=False,
                   resources={"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "32Mi"}}),
        ],
        remote=[{"name": "remote", "namespace": NS, "spec": {"remoteUrl": "https://mcp.example.com/mcp", "group": "tools",
                                                             "tools": {"allow": ["search"]}}}],
        virtual=[{"name": "all", "namespace": NS, "spec": {"group": "tools", "incomingAuth": {"type": "anonymous"}}}],
    )


def test_the_mcpserver_carries_the_configured_fields(rendered):
    spec = spec_of(rendered, "MCPServer", "fetch")
    assert spec["image"] == IMAGE and spec["transport"] == "stdio" and spec["proxyMode"] == "sse"
    assert spec["proxyPort"] == 8080 and "mcpPort" not in spec
    assert spec["args"] == ["--verbose"] and spec["env"] == [{"name": "LOG_LEVEL", "value": "debug"}]
    assert spec["groupRef"] == {"name": "tools"} and spec["toolConfigRef"] == {"name": "fetch-tools"}
    web = spec_of(rendered, "MCPServer", "web")
    assert (web["transport"], web["mcpPort"], web["proxyPort"]) == ("streamable-http", 9000, 8081)
    assert (web["replicas"], web["backendReplicas"], web["sessionAffinity"]) == (2, 3, "None")
    assert web["serviceAccount"] == "web-sa" and web["authzConfigRef"] == {"name": "policy"}
    # spec.resources sizes the proxy container.
    assert web["resources"] == {"requests": {"cpu": "20m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}}


def mcp_container(spec: dict) -> dict:
    [container] = spec["podTemplateSpec"]["spec"]["containers"]
    assert container["name"] == "mcp"
    return container


def test_the_mcp_container_gets_size_presets_and_a_restricted_read_only_context(rendered):
    fetch = spec_of(rendered, "MCPServer", "fetch")
    container = mcp_container(fetch)
    assert container["resources"] == {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert container["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
    assert fetch["podTemplateSpec"]["spec"]["volumes"] == [{"name": "tmp", "emptyDir": {}}]
    assert fetch["podTemplateSpec"]["spec"]["securityContext"] == {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    assert mcp_container(spec_of(rendered, "MCPServer", "web"))["resources"] == {
        "requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}}


def test_a_server_may_opt_out_of_the_read_only_root_and_set_explicit_resources(rendered):
    spec = spec_of(rendered, "MCPServer", "writer")
    container = mcp_container(spec)
    assert container["securityContext"]["readOnlyRootFilesystem"] is False
    assert "volumeMounts" not in container and "volumes" not in spec["podTemplateSpec"]["spec"]
    assert container["resources"] == {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "32Mi"}}


def test_tool_filtering_and_renaming_make_an_mcptoolconfig(rendered):
    assert spec_of(rendered, "MCPToolConfig", "fetch-tools") == {
        "toolsFilter": ["get_page"], "toolsOverride": {"fetch": {
            "name": "get_page", "description": "Fetch a web page", "annotations": {"title": "Get a page"}}}}
    assert spec_of(rendered, "MCPToolConfig", "remote-tools") == {"toolsFilter": ["search"]}
    assert spec_of(rendered, "MCPRemoteProxy", "remote")["toolConfigRef"] == {"name": "remote-tools"}
    assert "toolConfigRef" not in spec_of(rendered, "MCPServer", "web")


def test_an_empty_allow_list_is_refused_because_it_exposes_every_tool():
    problems, registered = config_error(servers=[server("fetch", tools={"allow": []})],
                                        remote=[{"name": "remote", "namespace": NS, "spec": {
                                            "remoteUrl": "https://docs.example.com/mcp", "tools": {"allow": []}}}])
    assert [p.split(": ", 1)[0] for p in problems] == ["toolhive:servers.mcpServers[0].spec.tools.allow",
                                                       "toolhive:servers.remoteProxies[0].spec.tools.allow"]
    assert all("filters nothing: the operator then exposes every tool" in p for p in problems)
    assert registered == []
    # Leaving allow out (renames only) still means every tool, said explicitly.
    render_servers(servers=[server("fetch", tools={"rename": {"fetch": {"name": "get_page"}}})])


def test_every_custom_resource_waits_for_its_crd_its_namespace_and_its_group(rendered):
    crd = {kind: r.urn for r in rendered.k8s_resources("CustomResourceDefinition")
           for kind in [r.inputs["spec"]["names"]["kind"]]}
    namespace = rendered.resource("Namespace", NS).urn
    quota = rendered.resource("ResourceQuota", "mcp-quota", NS).urn
    group = rendered.resource("MCPGroup", "tools", NS).urn
    for kind, name in [("MCPServer", "fetch"), ("MCPRemoteProxy", "remote"), ("VirtualMCPServer", "all"),
                       ("MCPToolConfig", "fetch-tools")]:
        deps = rendered.waits_for(rendered.resource(kind, name, NS))
        assert crd[kind] in deps and namespace in deps and group in deps, (kind, name)
        assert quota in deps, (kind, name, "waits for the tenant quota to be counted")
    assert rendered.resource("MCPToolConfig", "fetch-tools", NS).urn in rendered.resource("MCPServer", "fetch", NS).dependencies


def test_the_virtual_server_discovers_its_group(rendered):
    spec = spec_of(rendered, "VirtualMCPServer", "all")
    assert spec["groupRef"] == {"name": "tools"} and spec["outgoingAuth"] == {"source": "discovered"}
    assert spec["incomingAuth"] == {"type": "anonymous"}
    assert spec["podTemplateSpec"]["spec"]["containers"][0]["name"] == "vmcp"


def test_every_rendered_object_validates_against_its_schema_and_pss_restricted(rendered):
    for obj in rendered.objects():
        if obj["metadata"].get("namespace") != NS:
            continue
        assert validate_object(obj) == [], obj["metadata"]["name"]
        assert check_object(obj, "restricted") == [], (obj["kind"], obj["metadata"]["name"])
    kinds = {obj["kind"] for obj in rendered.objects() if obj["metadata"].get("namespace") == NS}
    assert set(TOOLHIVE_KINDS) <= kinds


def test_outputs_list_each_group_with_urls_transports_and_replicas(rendered):
    groups = rendered.outputs["mcpServers"]
    assert set(groups) == {"mcp-dev/tools", "mcp-dev/(ungrouped)"}
    tools = groups["mcp-dev/tools"]
    assert tools["virtualServer"] == {"kind": "VirtualMCPServer", "name": "all", "incomingAuth": "anonymous",
                                      "url": "http://vmcp-all.mcp-dev.svc.cluster.local:4483", "autoscaled": []}
    by_name = {s["name"]: s for s in tools["servers"]}
    assert by_name["fetch"]["url"] == "http://mcp-fetch-proxy.mcp-dev.svc.cluster.local:8080"
    assert by_name["fetch"]["transport"] == "stdio"
    assert by_name["remote"]["url"] == "http://mcp-remote-remote-proxy.mcp-dev.svc.cluster.local:8080"
    web = next(s for s in groups["mcp-dev/(ungrouped)"]["servers"] if s["name"] == "web")
    assert (web["url"], web["replicas"], web["backendReplicas"], web["sessionStorage"]) == (
        "http://mcp-web-proxy.mcp-dev.svc.cluster.local:8081", 2, 3, "redis")


def test_the_image_mirror_applies_to_server_images(preview):
    rendered = render_servers(preview, servers=[server("fetch")], images={"mirror": "registry.example.com/ghcr"})
    assert spec_of(rendered, "MCPServer", "fetch")["image"] == "registry.example.com/ghcr/stackloklabs/gofetch/server:1.0.1"


def test_every_server_component_registers_its_outputs(rendered):
    components = [r for r in rendered.resources if r.type.startswith("toolhive:servers:")]
    assert {r.type for r in components} == {"toolhive:servers:Servers", "toolhive:servers:McpServer",
                                            "toolhive:servers:RemoteProxy", "toolhive:servers:VirtualServer"}
    assert {r.urn for r in components} <= rendered.run.outputs_registered


def test_remote_proxies_and_virtual_servers_are_deleted_in_the_background(rendered):
    """The v0.44.0 MCPRemoteProxy and VirtualMCPServer controllers reconcile an object being deleted: under the
    provider's default foreground deletion they remake the Deployment and Service the garbage collector removes,
    and `pulumi destroy` never ends (the real run). MCPServers finalize properly and keep the default."""
    def annotations(kind, name):
        return rendered.resource(kind, name, NS).inputs["metadata"].get("annotations", {})

    for kind, name in [("MCPRemoteProxy", "remote"), ("VirtualMCPServer", "all")]:
        assert annotations(kind, name)["pulumi.com/deletionPropagationPolicy"] == "background", kind
    assert "pulumi.com/deletionPropagationPolicy" not in annotations("MCPServer", "fetch")


# -- a virtual server with every field (surviving mutants of components/servers/virtual_server.py) ---------------

GATEWAY = {"name": "gateway", "namespace": NS, "publish": True, "description": "One endpoint for the tools",
           "spec": {"group": "tools", "incomingAuth": {"type": "oidc", "oidcConfigRef": {"name": "corp", "audience": "mcp"}},
                    "replicas": 2, "sessionAffinity": "ClientIP",
                    "sessionStorage": {"provider": "redis", "address": "valkey.cache:6379",
                                       "password": "pulumi-config://mcp-secrets:redis"},
                    "proxyResources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}}}}


@pytest.fixture
def gateway(preview):
    return render_servers(preview, virtual=[GATEWAY], extra={"mcp-secrets:redis": "redis-pw"},
                          secret_keys=["mcp-secrets:redis"])


def test_a_virtual_server_carries_every_configured_field(gateway):
    from components.k8s.security import container_security_context, pod_security_context

    spec = spec_of(gateway, "VirtualMCPServer", "gateway")
    assert spec["incomingAuth"] == {"type": "oidc", "oidcConfigRef": {"name": "corp", "audience": "mcp", "scopes": []}}
    assert (spec["replicas"], spec["sessionAffinity"]) == (2, "ClientIP")
    [secret] = gateway.objects("Secret")
    assert secret["metadata"]["namespace"] == NS
    assert spec["sessionStorage"] == {"provider": "redis", "address": "valkey.cache:6379", "db": 0,
                                      "passwordRef": {"name": secret["metadata"]["name"], "key": next(iter(secret["stringData"]))}}
    pod = spec["podTemplateSpec"]["spec"]
    assert pod["securityContext"] == pod_security_context()
    assert pod["containers"] == [{"name": "vmcp", "resources": GATEWAY["spec"]["proxyResources"],
                                  "securityContext": container_security_context()}]
    annotations = gateway.object("VirtualMCPServer", "gateway", NS)["metadata"]["annotations"]
    assert annotations["toolhive.stacklok.dev/registry-export"] == "true"


def own_objects(rendered, component_type: str, source: str, name: str, label_component: str, **inputs: str) -> list:
    """The Kubernetes objects a server's component registers (it was declared at `source`; its other inputs are
    `inputs`), each checked to carry the server's name and component labels."""
    [component] = [r for r in rendered.resources if r.type == component_type and r.inputs.get("source") == source]
    assert component.inputs == {"source": source, **inputs}
    own = [r for r in rendered.k8s_resources() if r.parent == component.urn]
    for resource in own:
        labels = resource.inputs["metadata"]["labels"]
        assert (labels["app.kubernetes.io/name"], labels["app.kubernetes.io/component"]) == (name, label_component), \
            resource.inputs["kind"]
    return own


def test_an_mcp_servers_objects_are_labelled_parented_and_ordered_as_its_own(preview):
    """Its Secret, tool config, claim and NetworkPolicies carry its labels, wait for the tenant (its quota) and
    come before the MCPServer, which carries its registry annotations. The component names its file, and says when the size preset sizes the mcp
    container (findings on spec.resources then name spec.size: tools/validate/trace.py)."""
    notes = render_servers(
        preview, extra={"mcp-secrets:token": "notes-token-1234"}, secret_keys=["mcp-secrets:token"],
        servers=[{**server("notes", secrets=[{"targetEnvName": "TOKEN", "ref": "pulumi-config://mcp-secrets:token"}],
                           tools={"allow": ["read"]}, storage={"size": "1Gi"}), "publish": True, "description": "Notes"},
                 server("sized", resources={"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "32Mi"}})])
    own = own_objects(notes, "toolhive:servers:McpServer", "toolhive:servers.mcpServers[0]", "notes", "mcp-mcpserver",
                      mcpResources="size")
    assert sorted(r.inputs["kind"] for r in own) == ["MCPServer", "MCPToolConfig", "NetworkPolicy", "NetworkPolicy",
                                                     "PersistentVolumeClaim", "Secret"]
    server_object = notes.resource("MCPServer", "notes", NS)
    namespace = notes.resource("ResourceQuota", "mcp-quota", NS).urn
    for resource in own:
        if resource is not server_object:
            assert resource.urn in server_object.dependencies and namespace in resource.dependencies, resource.inputs["kind"]
    assert server_object.inputs["metadata"]["annotations"]["toolhive.stacklok.dev/registry-export"] == "true"
    own_objects(notes, "toolhive:servers:McpServer", "toolhive:servers.mcpServers[1]", "sized", "mcp-mcpserver")


def test_rate_limits_reach_the_mcpserver_as_configured_and_nothing_else(preview):
    rendered = render_servers(preview, servers=[server(
        "limited", transport="streamable-http", mcpPort=8080, sessionStorage=REDIS,
        rateLimiting={"shared": {"maxTokens": 10, "refillPeriod": "1m"}})])
    assert spec_of(rendered, "MCPServer", "limited")["rateLimiting"] == {"shared": {"maxTokens": 10, "refillPeriod": "1m"}}


def test_a_virtual_servers_objects_are_labelled_parented_and_ordered_as_its_own(gateway):
    own = own_objects(gateway, "toolhive:servers:VirtualServer", "toolhive:servers.virtualServers[0]", "gateway",
                      "mcp-virtualmcpserver")
    assert sorted(r.inputs["kind"] for r in own) == ["NetworkPolicy", "PodDisruptionBudget", "Secret", "VirtualMCPServer"]
    server = gateway.resource("VirtualMCPServer", "gateway", NS)
    secret = next(r for r in own if r.inputs["kind"] == "Secret")
    namespace = gateway.resource("ResourceQuota", "mcp-quota", NS).urn
    assert secret.urn in server.dependencies and namespace in secret.dependencies
    policy = next(r for r in own if r.inputs["kind"] == "NetworkPolicy")
    assert policy.urn in server.dependencies and namespace in policy.dependencies


def test_a_virtual_servers_outputs_name_its_replicas_session_store_and_autoscaling(gateway, preview):
    assert gateway.outputs["mcpServers"]["mcp-dev/tools"]["virtualServer"] == {
        "kind": "VirtualMCPServer", "name": "gateway", "incomingAuth": "oidc", "replicas": 2, "sessionStorage": "redis",
        "url": "http://vmcp-gateway.mcp-dev.svc.cluster.local:4483", "autoscaled": []}
    scaled = render_servers(preview, virtual=[{"name": "scaled", "namespace": NS, "spec": {
        "group": "tools", "incomingAuth": {"type": "anonymous"}, "autoscaling": {"proxy": {"maxReplicas": 3}}}}])
    summary = scaled.outputs["mcpServers"]["mcp-dev/tools"]["virtualServer"]
    assert summary["autoscaled"] == ["proxy"] and "replicas" not in summary and "sessionStorage" not in summary
    # An autoscaler that may run 3 proxies without Redis warns on the VirtualMCPServer itself.
    [warning] = scaled.run.warnings
    assert warning.urn == scaled.resource("VirtualMCPServer", "scaled", NS).urn
    assert warning.message.startswith("VirtualMCPServer mcp-dev/scaled: autoscaling.proxy scales to 3 replicas")
    [hpa] = scaled.objects("HorizontalPodAutoscaler")
    assert hpa["metadata"]["labels"]["app.kubernetes.io/name"] == "scaled"


# -- a remote proxy with every field (components/servers/remote_proxy.py) --------------------------------------

DOCS = {"name": "docs", "namespace": NS, "publish": True, "description": "Docs search",
        "spec": {"remoteUrl": "https://mcp.example.com/mcp", "transport": "sse", "proxyPort": 8090, "group": "tools",
                 "tools": {"allow": ["search"]},
                 "headers": {"plaintext": {"X-Team": "platform"},
                             "fromSecrets": [{"headerName": "Authorization", "ref": "pulumi-config://mcp-secrets:docs"}]},
                 "serviceAccount": "docs-sa", "oidcConfigRef": {"name": "corp", "audience": "mcp"},
                 "authzConfigRef": {"name": "policy"}, "replicas": 2, "sessionAffinity": "ClientIP",
                 "sessionStorage": {"provider": "redis", "address": "valkey.cache:6379",
                                    "password": "pulumi-config://mcp-secrets:redis"},
                 "proxyResources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}}}}
DOCS_SECRETS = {"mcp-secrets:docs": "Bearer docs-token", "mcp-secrets:redis": "redis-pw"}


@pytest.fixture
def docs(preview):
    return render_servers(preview, remote=[DOCS], extra=DOCS_SECRETS, secret_keys=list(DOCS_SECRETS))


def test_a_remote_proxy_carries_every_configured_field(docs):
    spec = spec_of(docs, "MCPRemoteProxy", "docs")
    secrets = {next(iter(s["stringData"])): s["metadata"]["name"] for s in docs.objects("Secret")}
    assert {s["metadata"]["namespace"] for s in docs.objects("Secret")} == {NS}
    header_key = next(key for key in secrets if key.startswith("header-"))
    password_key = next(key for key in secrets if not key.startswith("header-"))
    assert spec == {
        "remoteUrl": "https://mcp.example.com/mcp", "transport": "sse", "proxyPort": 8090,
        "resources": DOCS["spec"]["proxyResources"],
        "headerForward": {"addPlaintextHeaders": {"X-Team": "platform"}, "addHeadersFromSecret": [
            {"headerName": "Authorization", "valueSecretRef": {"name": secrets[header_key], "key": header_key}}]},
        "groupRef": {"name": "tools"}, "toolConfigRef": {"name": "docs-tools"}, "serviceAccount": "docs-sa",
        "replicas": 2, "sessionAffinity": "ClientIP",
        "sessionStorage": {"provider": "redis", "address": "valkey.cache:6379", "db": 0,
                           "passwordRef": {"name": secrets[password_key], "key": password_key}},
        "oidcConfigRef": {"name": "corp", "audience": "mcp"}, "authzConfigRef": {"name": "policy"},
    }
    annotations = docs.object("MCPRemoteProxy", "docs", NS)["metadata"]["annotations"]
    assert annotations["toolhive.stacklok.dev/registry-export"] == "true"


def test_a_remote_proxys_objects_are_labelled_parented_and_ordered_as_its_own(docs):
    own = own_objects(docs, "toolhive:servers:RemoteProxy", "toolhive:servers.remoteProxies[0]", "docs", "mcp-mcpremoteproxy")
    assert sorted(r.inputs["kind"] for r in own) == [
        "MCPRemoteProxy", "MCPToolConfig", "NetworkPolicy", "PodDisruptionBudget", "Secret", "Secret"]
    proxy = docs.resource("MCPRemoteProxy", "docs", NS)
    quota = docs.resource("ResourceQuota", "mcp-quota", NS).urn
    for resource in own:
        if resource is not proxy and resource.inputs["kind"] != "PodDisruptionBudget":
            assert resource.urn in proxy.dependencies and quota in resource.dependencies, resource.inputs["kind"]


def test_a_remote_proxys_outputs_name_its_endpoint_replicas_session_store_and_autoscaling(docs, preview):
    [summary] = docs.outputs["mcpServers"]["mcp-dev/tools"]["servers"]
    assert summary == {"kind": "MCPRemoteProxy", "name": "docs", "url": "http://mcp-docs-remote-proxy.mcp-dev.svc.cluster.local:8090",
                       "remoteUrl": "https://mcp.example.com/mcp", "transport": "sse", "replicas": 2,
                       "autoscaled": [], "sessionStorage": "redis"}
    scaled = render_servers(preview, remote=[{"name": "scaled", "namespace": NS, "spec": {
        "remoteUrl": "https://mcp.example.com/mcp", "autoscaling": {"proxy": {"maxReplicas": 3}}}}])
    [summary] = scaled.outputs["mcpServers"]["mcp-dev/(ungrouped)"]["servers"]
    assert summary["autoscaled"] == ["proxy"] and "replicas" not in summary and "sessionStorage" not in summary
    assert "toolConfigRef" not in spec_of(scaled, "MCPRemoteProxy", "scaled")  # no tools, no MCPToolConfig to name
    [warning] = scaled.run.warnings
    assert warning.urn == scaled.resource("MCPRemoteProxy", "scaled", NS).urn
    assert warning.message.startswith("MCPRemoteProxy mcp-dev/scaled: autoscaling.proxy scales to 3 replicas")
    [hpa] = scaled.objects("HorizontalPodAutoscaler")
    assert hpa["metadata"]["labels"]["app.kubernetes.io/name"] == "scaled"


def test_server_components_register_their_summaries_as_outputs(component_outputs, preview):
    render_servers(preview, virtual=[GATEWAY], remote=[DOCS], extra=DOCS_SECRETS, secret_keys=list(DOCS_SECRETS),
                   servers=[server("solo", group="tools", transport="streamable-http", mcpPort=8080, replicas=2,
                                   sessionStorage=REDIS, autoscaling={"backend": {"maxReplicas": 4}}),
                            server("scaled", transport="streamable-http", mcpPort=8080, sessionStorage=REDIS,
                                   autoscaling={"proxy": {"maxReplicas": 3}, "backend": {"maxReplicas": 4}})])
    kinds = ("McpServer", "RemoteProxy", "VirtualServer")
    assert [len(component_outputs[name]) for name in kinds] == [2, 1, 1]
    assert component_outputs["McpServer"][1]["autoscaled"] == ["proxy", "backend"]
    registered = {name: component_outputs[name][0] for name in kinds}
    assert registered == {
        "McpServer": {"kind": "MCPServer", "name": "solo", "namespace": NS, "group": "tools",
                      "url": "http://mcp-solo-proxy.mcp-dev.svc.cluster.local:8080", "transport": "streamable-http",
                      "replicas": 2, "backendReplicas": None, "autoscaled": ["backend"], "sessionStorage": "redis"},
        "VirtualServer": {"kind": "VirtualMCPServer", "name": "gateway", "namespace": NS,
                          "url": "http://vmcp-gateway.mcp-dev.svc.cluster.local:4483", "group": "tools",
                          "incomingAuth": "oidc", "replicas": 2, "autoscaled": [], "sessionStorage": "redis"},
        "RemoteProxy": {"kind": "MCPRemoteProxy", "name": "docs", "namespace": NS, "group": "tools",
                        "url": "http://mcp-docs-remote-proxy.mcp-dev.svc.cluster.local:8090",
                        "remoteUrl": "https://mcp.example.com/mcp", "transport": "sse", "replicas": 2,
                        "autoscaled": [], "sessionStorage": "redis"},
    }


# -- the Servers component around them (components/servers/stacks.py) -------------------------------------------

def test_every_server_object_uses_the_stacks_provider(rendered):
    provider = rendered.resource("Namespace", NS).provider
    under = [r for r in rendered.k8s_resources() if "toolhive:servers:Servers" in r.urn]
    assert provider and under and {r.provider for r in under} == {provider}


def test_each_tenants_server_count_waits_for_exactly_its_own_mcpservers(preview):
    rendered = render_servers(preview, servers=[server("fetch"), server("time", namespace="mcp-data")],
                              remote=[{"name": "far", "namespace": NS, "spec": {"remoteUrl": "https://mcp.example.com/mcp"}}])
    for namespace, name in ((NS, "fetch"), ("mcp-data", "time")):
        count = rendered.resource("ResourceQuota", "mcp-server-count", namespace)
        waited = {r.urn for r in rendered.resources if r.urn in count.dependencies}
        assert {r.inputs["metadata"]["name"] for r in rendered.k8s_resources("MCPServer") if r.urn in waited} == {name}
        assert rendered.resource("MCPRemoteProxy", "far", NS).urn not in waited


def test_a_server_waits_for_the_auth_object_and_the_default_redis_secret_the_stack_makes(preview):
    config = config_with(servers=[server("web", transport="streamable-http", mcpPort=8080,
                                         oidcConfigRef={"name": "made-sso", "audience": "mcp"})],
                         operator={"defaultRedis": {"addr": "valkey.cache:6379"}},
                         defaultRedisPassword="redis-pw")
    config["servers"]["oidcConfigs"] = [{"name": "made-sso", "namespace": NS, "inline": {"issuer": "https://auth.example.com"}}]
    rendered = render_config(config, preview=preview, stack="dev", secret_keys=["toolhive:defaultRedisPassword"])
    web = rendered.resource("MCPServer", "web", NS)
    storage = rendered.object("MCPServer", "web", NS)["spec"]["sessionStorage"]
    assert rendered.resource("MCPOIDCConfig", "made-sso", NS).urn in web.dependencies
    assert rendered.resource("Secret", storage["passwordRef"]["name"], NS).urn in web.dependencies


def test_catalog_warnings_are_told_on_the_servers_component_and_outputs_registered(component_outputs, tmp_path, preview):
    (tmp_path / "notes.txt").write_text("not a server")
    (tmp_path / "fetch.yaml").write_text(f"name: fetch\nnamespace: {NS}\nspec:\n  image: {IMAGE}\n")
    config = config_with()
    config["servers"]["directory"] = str(tmp_path)
    rendered = render_config(config, preview=preview, stack="dev")
    [warning] = [w for w in rendered.run.warnings if "not a server file" in w.message]
    assert warning.urn == next(r.urn for r in rendered.resources if r.type == "toolhive:servers:Servers")
    assert component_outputs["McpServerStacks"] == [{"mcpServers": rendered.outputs["mcpServers"]}] and rendered.outputs["mcpServers"]


def test_a_server_with_its_own_redis_waits_for_its_own_written_secret_not_the_default_ones(preview):
    """The session store writes valkey-auth into every tenant; the default Redis (with a password) is another Redis:
    a server that names the store in its sessionStorage waits for valkey-auth, and never for the default's Secret."""
    store = {"provider": "redis", "address": "valkey.mcp-dev.svc.cluster.local:6379",
             "passwordRef": {"name": "valkey-auth", "key": "password"}}
    config = config_with(servers=[server("own", transport="streamable-http", mcpPort=8080, sessionStorage=store)],
                         operator={"defaultRedis": {"addr": "redis.elsewhere.svc.cluster.local:6379"}},
                         defaultRedisPassword="default-pw")
    config["servers"]["sessionStore"] = {"namespace": NS}
    rendered = render_config(config, preview=preview, stack="dev", secret_keys=["toolhive:defaultRedisPassword"])
    own = rendered.resource("MCPServer", "own", NS)
    assert rendered.resource("Secret", "valkey-auth", NS).urn in own.dependencies
    written = {r.inputs["metadata"]["name"] for r in rendered.k8s_resources("Secret") if r.urn in own.dependencies}
    assert written == {"valkey-auth"}


# -- shared server helpers (components/servers/common.py) ----------------------------------------------------------

def test_a_tool_override_carries_only_what_it_changes(preview):
    rendered = render_servers(preview, servers=[server("f", tools={"rename": {
        "fetch": {"description": "Fetch a page"}, "read": {"name": "read_page"}}})])
    assert rendered.object("MCPToolConfig", "f-tools", NS)["spec"] == {
        "toolsOverride": {"fetch": {"description": "Fetch a page"}, "read": {"name": "read_page"}}}


@pytest.mark.parametrize("key, secret", [("GITHUB_TOKEN", "web-secret-github-token"),
                                         ("_Api__Key_", "web-secret-api-key"), ("redis-password", "web-secret-redis-password")])
def test_a_servers_secret_is_named_by_the_server_and_its_key_in_dns_label_characters(key, secret):
    assert secret_name("web", key) == secret


@pytest.mark.parametrize("header, key", [("X-API-Key", "header-x-api-key"), ("X Team!", "header-x-team-"),
                                         ("x_trace.id", "header-x_trace.id")])
def test_a_forwarded_headers_key_is_a_valid_secret_key_for_any_header_name(header, key):
    assert header_key(header) == key


@pytest.mark.parametrize("kind, storage, secret, warned", [
    ("MCPServer", "memory", ("toolhive-default-redis", "redis-password"), " and its password"),
    ("MCPServer", "memory", None, ""),
    ("MCPServer", None, ("toolhive-default-redis", "redis-password"), None),
    ("MCPRemoteProxy", "memory", ("toolhive-default-redis", "redis-password"), None),
])
def test_memory_sessions_the_operator_overrides_are_warned_about(kind, storage, secret, warned):
    storage = SimpleNamespace(provider=storage) if storage else None
    found = default_redis_warnings(kind, NS, "web", storage, DefaultRedis("redis.cache:6379", secret))
    assert found == ([] if warned is None else [
        f"{kind} mcp-dev/web: sessionStorage provider memory is ignored by the v0.44.0 operator, which gives the "
        f"server the default Redis (redis.cache:6379) instead; rendered with that Redis{warned}"])
    assert default_redis_warnings(kind, NS, "web", storage, None) == []


def test_a_servers_auth_references_and_secrets_reach_the_mcpserver_as_the_crd_spells_them(preview):
    existing = {**copy.deepcopy(FIXTURE_EXISTING), "externalAuthConfigs": [{"namespace": NS, "name": "exchange"}]}
    rendered = render_servers(preview, existing=existing, extra={"mcp-secrets:token": "t0ken-1234"},
                              secret_keys=["mcp-secrets:token"], servers=[server(
        "ext", oidcConfigRef={"name": "corp", "audience": "mcp"}, externalAuthConfigRef={"name": "exchange"},
        authzConfigRef={"name": "policy"},
        secrets=[{"targetEnvName": "API", "ref": "k8s-secret://team-creds#api"},
                 {"targetEnvName": "TOKEN", "ref": "pulumi-config://mcp-secrets:token"}])])
    spec = spec_of(rendered, "MCPServer", "ext")
    assert (spec["oidcConfigRef"], spec["externalAuthConfigRef"], spec["authzConfigRef"]) == (
        {"name": "corp", "audience": "mcp"}, {"name": "exchange"}, {"name": "policy"})
    assert spec["secrets"] == [{"name": "team-creds", "key": "api", "targetEnvName": "API"},
                               {"name": "ext-secret-token", "key": "TOKEN", "targetEnvName": "TOKEN"}]
    assert rendered.object("Secret", "ext-secret-token", NS)["type"] == "Opaque"


def test_a_server_with_its_own_redis_keeps_it_beside_a_default_redis_with_a_password(preview):
    rendered = render_servers(preview, operator={"defaultRedis": {"addr": "redis.cache:6379"}},
                              defaultRedisPassword="default-redis-pw", secret_keys=["toolhive:defaultRedisPassword"],
                              servers=[server("own", transport="streamable-http", mcpPort=8080, sessionStorage=REDIS),
                                       server("plain")])
    assert spec_of(rendered, "MCPServer", "own")["sessionStorage"] == {
        "provider": "redis", "address": "valkey.cache:6379", "db": 0, "passwordRef": {"name": "valkey-auth", "key": "password"}}
    assert spec_of(rendered, "MCPServer", "plain")["sessionStorage"] == {
        "provider": "redis", "address": "redis.cache:6379",
        "passwordRef": {"name": "toolhive-default-redis", "key": "redis-password"}}


def test_each_secret_a_server_spec_reads_is_asked_for_by_its_key_and_field():
    spec = SimpleNamespace(secrets=[SimpleNamespace(target_env_name="TOKEN", ref="aws-sm://a#t")],
                           headers=SimpleNamespace(from_secrets=[SimpleNamespace(header_name="X-Key", ref="aws-sm://b")]),
                           session_storage=SimpleNamespace(password="aws-sm://redis"))
    assert secret_fields(spec) == [("TOKEN", "aws-sm://a#t", "spec.secrets[0].ref"),
                                   ("header-x-key", "aws-sm://b", "spec.headers.fromSecrets[0].ref"),
                                   ("redis-password", "aws-sm://redis", "spec.sessionStorage.password")]


def test_a_session_store_key_prefix_reaches_the_crd_by_its_name(preview):
    rendered = render_servers(preview, servers=[server("pre", transport="streamable-http", mcpPort=8080,
                                                       sessionStorage={**REDIS, "keyPrefix": "team-a:", "db": 2})])
    assert spec_of(rendered, "MCPServer", "pre")["sessionStorage"] == {
        "provider": "redis", "address": "valkey.cache:6379", "db": 2, "keyPrefix": "team-a:",
        "passwordRef": {"name": "valkey-auth", "key": "password"}}
