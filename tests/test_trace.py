"""The trace table (tools/validate/trace.py): which `toolhive:` key, or which field of a server file, a dry-run
problem at a field of an object is named by. Pure functions over plain data: each row shows the object, the
field path and the name the user reads."""
from __future__ import annotations

import pytest

from tools.validate.trace import component_type, config_key, server_field, where


def parent(component: str) -> str:
    """The URN of the component that registered an object (what `parent_urn` is)."""
    return f"urn:pulumi:dev::toolhive::toolhive:platform:ToolhivePlatform${component}::the-component"


def obj(kind: str, name: str | None = None, namespace: str | None = None) -> dict:
    metadata = {key: value for key, value in (("name", name), ("namespace", namespace)) if value is not None}
    return {"kind": kind, "metadata": metadata}


CONFIG = {"toolhive:namespaces": [
    "not-a-tenant",  # an entry the config models refuse is skipped, never a crash
    {"name": "mcp-a", "groups": ["not-a-group", {"name": "team-a"}, {"name": "team-b"}]},
    {"name": "mcp-b"},
]}
OPERATOR, TENANT, RBAC = "toolhive:platform:Operator", "toolhive:platform:TenantNamespace", "toolhive:platform:TeamRbac"
POD = "$.spec.template.spec"


@pytest.mark.parametrize(("component", "object_", "path", "key"), [
    # verbatim: the rest of the path is the config's own (values copied unchanged)
    (OPERATOR, obj("Deployment"), f"{POD}.containers[0].resources.limits.cpu", "toolhive:operator.resources.limits.cpu"),
    (OPERATOR, obj("Deployment"), f"{POD}.containers[0].resources", "toolhive:operator.resources"),
    # not verbatim: the key alone
    (OPERATOR, obj("Deployment"), f"{POD}.containers[0].env[2].value", "toolhive:operator.env"),
    # a field that only starts with a rule's last name is another field
    (OPERATOR, obj("Deployment"), f"{POD}.containers[0].envXtra", "toolhive:operator"),
    (OPERATOR, obj("Deployment"), "$.spec.replicas", "toolhive:operator.replicas"),
    # a rule for one kind, one name
    (OPERATOR, obj("RoleBinding", "toolhive-operator-manager-rolebinding", "mcp-a"), "$.subjects",
     "toolhive:operator.rbac.allowedNamespaces"),
    (OPERATOR, obj("RoleBinding", "another", "mcp-a"), "$.subjects", "toolhive:operator"),
    (OPERATOR, {"kind": "RoleBinding"}, "$", "toolhive:operator"),  # no metadata at all
    (OPERATOR, obj("Namespace", "toolhive-system"), "$.metadata.labels", "toolhive:operator.namespace"),
    (OPERATOR, obj("ServiceAccount", "toolhive-operator"), "$.metadata.annotations.a",
     "toolhive:operator.serviceAccount.annotations.a"),
    # {tenant}: a Namespace by its name, everything else by its namespace
    (TENANT, obj("Namespace", "mcp-b"), "$.metadata.labels.team", "toolhive:namespaces[2].labels.team"),
    (TENANT, obj("Namespace", "mcp-b"), "$", "toolhive:namespaces[2].name"),
    (TENANT, obj("ResourceQuota", "q", "mcp-a"), "$.spec.hard", "toolhive:namespaces[1].quota"),
    (TENANT, obj("LimitRange", "l", "mcp-z"), "$", "toolhive:namespaces[name=mcp-z].limits"),
    # {i}: the index after the prefix; none there, none in the key
    (TENANT, obj("NetworkPolicy", "allow-egress", "mcp-a"), "$.spec.egress[3].to[0]",
     "toolhive:namespaces[1].network.egress[3]"),
    (TENANT, obj("NetworkPolicy", "allow-egress", "mcp-a"), "$.spec.egress", "toolhive:namespaces[1].network.egress"),
    (TENANT, obj("NetworkPolicy", "allow-egress", "mcp-a"), "$.spec.podSelector", "toolhive:namespaces[1].network"),
    (TENANT, obj("NetworkPolicy", "allow-from-clients", "mcp-a"), "$.spec.ingress",
     "toolhive:namespaces[1].network.allowFrom"),
    # {group}: the MCPGroup's index in its tenant's groups, else its name
    (TENANT, obj("MCPGroup", "team-b", "mcp-a"), "$.spec", "toolhive:namespaces[1].groups[2]"),
    (TENANT, obj("MCPGroup", "team-z", "mcp-a"), "$.spec", "toolhive:namespaces[1].groups[name=team-z]"),
    (TENANT, obj("MCPGroup", "team-a", "mcp-b"), "$.spec", "toolhive:namespaces[2].groups[name=team-a]"),
    (TENANT, obj("ConfigMap", "c", "mcp-a"), "$.data", "toolhive:namespaces[1]"),
    (RBAC, obj("RoleBinding", "toolhive-editors", "mcp-a"), "$.subjects[0]", "toolhive:namespaces[1].access.editors"),
    (RBAC, obj("ClusterRole", "toolhive-mcp-view"), "$", "toolhive:teamRbac.aggregateToBuiltinRoles"),
    ("toolhive:registry:Postgres", obj("StatefulSet", "pg", "r"), "$.spec.volumeClaimTemplates[0].spec.storageClassName",
     "toolhive:registry.database.inCluster.storageClassName"),
])
def test_a_field_of_an_object_is_named_by_the_toolhive_key_behind_it(component, object_, path, key):
    assert config_key(parent(component), object_, path, CONFIG) == key


@pytest.mark.parametrize("config", [None, {}, {"toolhive:namespaces": None}, {"toolhive:namespaces": {"name": "mcp-a"}}])
def test_without_a_tenant_list_a_tenant_object_is_named_by_its_namespace(config):
    assert config_key(parent(TENANT), obj("ResourceQuota", "q", "mcp-a"), "$", config) == \
        "toolhive:namespaces[name=mcp-a].quota"
    assert config_key(parent(TENANT), obj("MCPGroup", "g", "mcp-a"), "$", config) == \
        "toolhive:namespaces[name=mcp-a].groups[name=g]"


@pytest.mark.parametrize("parent_urn", ["", parent("toolhive:servers:SomethingNew"),
                                        "urn:pulumi:dev::toolhive::pulumi:pulumi:Stack::toolhive-dev"])
def test_an_object_of_no_known_component_has_no_key(parent_urn):
    assert config_key(parent_urn, obj("Deployment", "d", "n"), "$.spec.replicas", CONFIG) is None


def test_the_component_type_is_the_last_of_the_urns_type_chain():
    assert component_type(parent(OPERATOR)) == OPERATOR
    assert component_type("urn:pulumi:dev::toolhive::toolhive:platform:Operator::operator") == OPERATOR
    assert component_type("not-a-urn") == component_type("a::b::c") == ""


# --------------------------------------------------------------------------------------------------
# The objects of one MCP server: the field of its server file

@pytest.mark.parametrize(("object_", "path", "props", "field"), [
    (obj("PersistentVolumeClaim", "fetch-data"), "$.spec.resources.requests.storage", {}, "spec.storage.size"),
    (obj("PersistentVolumeClaim", "fetch-data"), "$.spec.resources.requests.storage", {"mcpResources": "size"},
     "spec.storage.size"),  # the size preset names only the mcp container's resources
    (obj("PersistentVolumeClaim", "fetch-data"), "$.metadata", {}, "spec.storage"),
    (obj("HorizontalPodAutoscaler", "fetch-proxy"), "$.spec.maxReplicas", {}, "spec.autoscaling.proxy"),
    (obj("HorizontalPodAutoscaler", "fetch-backend"), "$.spec.maxReplicas", {}, "spec.autoscaling.backend"),
    (obj("HorizontalPodAutoscaler", "fetch-other"), "$.spec", {}, ""),
    ({"kind": "HorizontalPodAutoscaler"}, "$.spec", {}, ""),  # no metadata at all
    (obj("MCPServer", "fetch"), "$.spec.podTemplateSpec.spec.containers[0].resources.limits.memory", {},
     "spec.resources.limits.memory"),
    (obj("MCPServer", "fetch"), "$.spec.podTemplateSpec.spec.containers[0].resources.limits.memory",
     {"mcpResources": "size"}, "spec.size"),
    (obj("VirtualMCPServer", "v"), "$.spec.podTemplateSpec.spec.containers[0].resources.limits.memory",
     {"mcpResources": "size"}, "spec.proxyResources.limits.memory"),
    (obj("MCPServer", "fetch"), "$.spec.secrets[2].key", {}, "spec.secrets[2]"),
    (obj("MCPServer", "fetch"), "$.spec.secrets", {}, "spec.secrets"),
    (obj("MCPServer", "fetch"), "$.spec.image", {}, "spec.image"),
    (obj("MCPRemoteProxy", "r"), "$.spec.remoteUrl", {}, "spec.remoteUrl"),
    (obj("MCPServer", "fetch"), "$.spec.env[0].value", {}, "spec.env"),
    (obj("MCPServer", "fetch"), "$.spec.groupRef", {}, "spec.group"),
    (obj("MCPServer", "fetch"), "$.spec.proxyPortX", {}, ""),  # only starts with a field's name
    (obj("MCPServer", "fetch"), "$.metadata.name", {}, "name"),
    (obj("ConfigMap", "fetch"), "$.data", {}, ""),
])
def test_a_field_of_a_servers_object_is_named_by_the_field_of_its_server_entry(object_, path, props, field):
    assert server_field(object_, path, props) == field


@pytest.mark.parametrize(("source", "field", "shown"), [
    ("servers/dev/fetch.yaml", "spec.env", "servers/dev/fetch.yaml: spec.env"),
    ("servers/dev/fetch.yaml", "", "servers/dev/fetch.yaml"),
    ("toolhive:servers.mcpServers[0]", "spec.env", "toolhive:servers.mcpServers[0].spec.env"),
    ("toolhive:servers.mcpServers[0]", "", "toolhive:servers.mcpServers[0]"),
])
def test_a_server_field_is_shown_after_its_file_or_inside_its_toolhive_key(source, field, shown):
    assert where(source, field) == shown
