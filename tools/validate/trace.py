"""Which `toolhive:` key produced an object (and a field of it): the key a problem message names.

A rule matches on the type of the component that registered the object, the object's kind (and name),
and a JSON-path prefix of the problem's field; the first match wins. ``{tenant}`` is the tenant entry
(``toolhive:namespaces[i]``) of the object's namespace, ``{group}`` the index of an MCPGroup in it,
``{i}`` the first list index after the prefix; with ``verbatim`` the rest of the field path is
appended, for values the program copies from config unchanged (tolerations, nodeSelector, labels).
A new component adds its rows here; an object no row matches is named by kind, namespace and name.
"""
from __future__ import annotations

import re
from typing import Any, NamedTuple


class Rule(NamedTuple):
    component: str
    kind: str | None
    prefix: str
    key: str
    name: str | None = None
    verbatim: bool = False


_POD = "$.spec.template.spec"
_OPERATOR = "toolhive:platform:Operator"
_TENANT = "toolhive:platform:TenantNamespace"
_TEAM_RBAC = "toolhive:platform:TeamRbac"
_CLAIM = "$.spec.volumeClaimTemplates[0].spec"
_STORE, _STORE_KEY = "toolhive:servers:SessionStore", "toolhive:servers.sessionStore"
_REGISTRY = "toolhive:registry:RegistryServer"
_POSTGRES, _POSTGRES_KEY = "toolhive:registry:Postgres", "toolhive:registry.database.inCluster"

RULES: tuple[Rule, ...] = (
    Rule(_OPERATOR, "Deployment", f"{_POD}.containers[0].resources", "toolhive:operator.resources", verbatim=True),
    Rule(_OPERATOR, "Deployment", f"{_POD}.containers[0].env", "toolhive:operator.env"),
    Rule(_OPERATOR, "Deployment", f"{_POD}.containers[0].image", "toolhive:images"),
    Rule(_OPERATOR, "Deployment", f"{_POD}.containers[0].imagePullPolicy", "toolhive:operator.imagePullPolicy"),
    Rule(_OPERATOR, "Deployment", f"{_POD}.imagePullSecrets", "toolhive:operator.imagePullSecrets", verbatim=True),
    Rule(_OPERATOR, "Deployment", f"{_POD}.tolerations", "toolhive:operator.tolerations", verbatim=True),
    Rule(_OPERATOR, "Deployment", f"{_POD}.nodeSelector", "toolhive:operator.nodeSelector", verbatim=True),
    Rule(_OPERATOR, "Deployment", f"{_POD}.priorityClassName", "toolhive:operator.priorityClassName"),
    Rule(_OPERATOR, "Deployment", "$.spec.template.metadata.labels", "toolhive:operator.podLabels", verbatim=True),
    Rule(_OPERATOR, "Deployment", "$.spec.template.metadata.annotations", "toolhive:operator.podAnnotations", verbatim=True),
    Rule(_OPERATOR, "Deployment", "$.spec.replicas", "toolhive:operator.replicas"),
    Rule(_OPERATOR, "ServiceAccount", "$.metadata.annotations", "toolhive:operator.serviceAccount.annotations", verbatim=True),
    Rule(_OPERATOR, "PodDisruptionBudget", "$", "toolhive:operator.podDisruptionBudget"),
    Rule(_OPERATOR, "RoleBinding", "$", "toolhive:operator.rbac.allowedNamespaces", name="toolhive-operator-manager-rolebinding"),
    Rule(_OPERATOR, "Namespace", "$", "toolhive:operator.namespace"),
    Rule(_OPERATOR, None, "$", "toolhive:operator"),
    Rule(_TENANT, "Namespace", "$.metadata.labels", "{tenant}.labels", verbatim=True),
    Rule(_TENANT, "Namespace", "$", "{tenant}.name"),
    Rule(_TENANT, "ResourceQuota", "$", "{tenant}.quota"),
    Rule(_TENANT, "LimitRange", "$", "{tenant}.limits"),
    Rule(_TENANT, "NetworkPolicy", "$.spec.egress", "{tenant}.network.egress[{i}]", name="allow-egress"),
    Rule(_TENANT, "NetworkPolicy", "$", "{tenant}.network.allowFrom", name="allow-from-clients"),
    Rule(_TENANT, "NetworkPolicy", "$", "{tenant}.network"),
    Rule(_TENANT, "Secret", "$", "toolhive:defaultRedisPassword"),
    Rule(_TENANT, "MCPGroup", "$", "{tenant}.groups[{group}]"),
    Rule(_TENANT, None, "$", "{tenant}"),
    Rule(_TEAM_RBAC, "RoleBinding", "$", "{tenant}.access.viewers", name="toolhive-viewers"),
    Rule(_TEAM_RBAC, "RoleBinding", "$", "{tenant}.access.editors", name="toolhive-editors"),
    Rule(_TEAM_RBAC, "RoleBinding", "$", "{tenant}.access.admins", name="toolhive-admins"),
    Rule(_TEAM_RBAC, "ClusterRole", "$", "toolhive:teamRbac.aggregateToBuiltinRoles"),
    Rule(_TEAM_RBAC, None, "$", "{tenant}.access"),
    Rule("toolhive:platform:Crds", None, "$", "toolhive:images.release"),
    Rule(_STORE, "StatefulSet", f"{_POD}.containers[0].resources", f"{_STORE_KEY}.resources", verbatim=True),
    Rule(_STORE, "StatefulSet", f"{_POD}.containers[0].image", f"{_STORE_KEY}.image"),
    Rule(_STORE, "StatefulSet", f"{_CLAIM}.resources.requests.storage", f"{_STORE_KEY}.size"),
    Rule(_STORE, "StatefulSet", f"{_CLAIM}.storageClassName", f"{_STORE_KEY}.storageClass"),
    Rule(_STORE, None, "$", _STORE_KEY),
    Rule(_REGISTRY, "Deployment", f"{_POD}.containers[0].resources", "toolhive:registry.resources", verbatim=True),
    Rule(_REGISTRY, "Deployment", f"{_POD}.initContainers[0].image", "toolhive:registry.setupImage"),
    Rule(_REGISTRY, "Deployment", "$.spec.replicas", "toolhive:registry.replicas"),
    Rule(_REGISTRY, "MCPRegistry", "$.spec.podTemplateSpec.spec.containers[0].resources", "toolhive:registry.resources",
         verbatim=True),
    Rule(_REGISTRY, "Ingress", "$", "toolhive:registry.ingress"),
    Rule(_REGISTRY, "NetworkPolicy", "$", "toolhive:registry.network"),
    Rule(_REGISTRY, None, "$", "toolhive:registry"),
    Rule(_POSTGRES, "StatefulSet", f"{_POD}.containers[0].resources", f"{_POSTGRES_KEY}.resources", verbatim=True),
    Rule(_POSTGRES, "StatefulSet", f"{_CLAIM}.resources.requests.storage", f"{_POSTGRES_KEY}.storage"),
    Rule(_POSTGRES, "StatefulSet", f"{_CLAIM}.storageClassName", f"{_POSTGRES_KEY}.storageClassName"),
    Rule(_POSTGRES, None, "$", _POSTGRES_KEY),
)

_INDEX = re.compile(r"^\[(\d+)\]")


def component_type(urn: str) -> str:
    """The type of the resource a URN names (the last of its type chain)."""
    parts = urn.split("::")
    return parts[2].split("$")[-1] if len(parts) >= 4 else ""


def config_key(parent_urn: str, obj: dict, path: str, config: dict[str, Any] | None) -> str | None:
    """The `toolhive:` key behind the field at ``path`` of ``obj`` (registered under ``parent_urn``), or None."""
    component = component_type(parent_urn)
    kind = obj.get("kind")
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    for rule in RULES:
        if rule.component != component or (rule.kind and rule.kind != kind):
            continue
        if rule.name and rule.name != metadata.get("name"):
            continue
        rest = _after(path, rule.prefix)
        if rest is None:
            continue
        index = _INDEX.match(rest)
        key = rule.key
        if "{tenant}" in key:
            namespace = metadata.get("name") if kind == "Namespace" else metadata.get("namespace")
            key = key.replace("{tenant}", _tenant_key(namespace, config))
        if "{group}" in key:
            key = key.replace("{group}", str(_group_index(metadata, config)))
        if "{i}" in key:
            key = key.replace("[{i}]", f"[{index.group(1)}]" if index else "")
        return key + (rest if rule.verbatim else "")
    return None


def _after(path: str, prefix: str) -> str | None:
    """The rest of ``path`` (a JSON path: ``$`` first) after ``prefix``, or None when it is not under it."""
    if path == prefix or (path.startswith(prefix) and path[len(prefix)] in ".["):
        return path[len(prefix):]
    return None


def _tenants(config: dict[str, Any] | None) -> list:
    tenants = (config or {}).get("toolhive:namespaces")
    return tenants if isinstance(tenants, list) else []


def _tenant_key(namespace: Any, config: dict[str, Any] | None) -> str:
    for index, tenant in enumerate(_tenants(config)):
        if isinstance(tenant, dict) and tenant.get("name") == namespace:
            return f"toolhive:namespaces[{index}]"
    return f"toolhive:namespaces[name={namespace}]"


def _group_index(metadata: dict, config: dict[str, Any] | None) -> str:
    for tenant in _tenants(config):
        if isinstance(tenant, dict) and tenant.get("name") == metadata.get("namespace"):
            for index, group in enumerate(tenant.get("groups") or []):
                if isinstance(group, dict) and group.get("name") == metadata.get("name"):
                    return str(index)
    return f"name={metadata.get('name')}"


# --------------------------------------------------------------------------------------------------
# The objects of one MCP server: named by the server file (or inline entry) and the field in it.

#: The components of one server; each registers its source (``servers/dev/fetch.yaml`` or
#: ``toolhive:servers.mcpServers[0]``) as the input ``source``.
SERVER_COMPONENTS = ("toolhive:servers:McpServer", "toolhive:servers:RemoteProxy", "toolhive:servers:VirtualServer")


class Field(NamedTuple):
    kinds: tuple[str, ...] | None  # None: any kind
    prefix: str
    field: str  # relative to the server entry ("" = the entry itself)
    name_suffix: str | None = None
    verbatim: bool = False


_CRS = ("MCPServer", "MCPRemoteProxy", "VirtualMCPServer")
_TEMPLATE = "$.spec.podTemplateSpec.spec"
#: CR fields written from the server field of the same name.
_SAME_NAME = ("image", "transport", "proxyMode", "proxyPort", "mcpPort", "args", "replicas", "backendReplicas",
              "sessionStorage", "sessionAffinity", "rateLimiting", "serviceAccount", "oidcConfigRef", "authzConfigRef",
              "externalAuthConfigRef", "remoteUrl", "incomingAuth")

SERVER_FIELDS: tuple[Field, ...] = (
    Field(("PersistentVolumeClaim",), "$.spec.resources.requests.storage", "spec.storage.size"),
    Field(("PersistentVolumeClaim",), "$.spec.storageClassName", "spec.storage.storageClass"),
    Field(("PersistentVolumeClaim",), "$.spec.accessModes", "spec.storage.accessMode"),
    Field(("PersistentVolumeClaim",), "$", "spec.storage"),
    Field(("HorizontalPodAutoscaler",), "$", "spec.autoscaling.proxy", name_suffix="-proxy"),
    Field(("HorizontalPodAutoscaler",), "$", "spec.autoscaling.backend", name_suffix="-backend"),
    Field(("PodDisruptionBudget",), "$", "spec.podDisruptionBudget"),
    Field(("NetworkPolicy",), "$", "spec.network"),
    Field(("MCPToolConfig",), "$.spec.toolsFilter", "spec.tools.allow", verbatim=True),
    Field(("MCPToolConfig",), "$.spec.toolsOverride", "spec.tools.rename", verbatim=True),
    Field(("MCPToolConfig",), "$", "spec.tools"),
    Field(("MCPServer",), f"{_TEMPLATE}.containers[0].resources", "spec.resources", verbatim=True),
    Field(("VirtualMCPServer",), f"{_TEMPLATE}.containers[0].resources", "spec.proxyResources", verbatim=True),
    Field(("MCPServer",), f"{_TEMPLATE}.volumes", "spec.storage"),
    Field(("MCPServer",), f"{_TEMPLATE}.containers[0].volumeMounts", "spec.storage"),
    Field(("MCPServer",), f"{_TEMPLATE}.affinity", "spec.gpu"),
    Field(("MCPServer",), f"{_TEMPLATE}.tolerations", "spec.gpu"),
    Field(("MCPServer", "MCPRemoteProxy"), "$.spec.resources", "spec.proxyResources", verbatim=True),
    *(Field(_CRS, f"$.spec.{name}", f"spec.{name}", verbatim=True) for name in _SAME_NAME),
    Field(_CRS, "$.spec.env", "spec.env"),
    Field(_CRS, "$.spec.secrets", "spec.secrets[{i}]"),
    Field(_CRS, "$.spec.groupRef", "spec.group"),
    Field(_CRS, "$.spec.toolConfigRef", "spec.tools"),
    Field(_CRS, "$.spec.headerForward", "spec.headers"),
    Field(_CRS, "$.metadata.name", "name"),
    Field(_CRS, "$.metadata.namespace", "namespace"),
)


def server_field(obj: dict, path: str, props: dict[str, Any]) -> str:
    """The field of a server entry behind ``path`` of ``obj`` (one of the server's objects), or "" for the
    entry as a whole. ``props`` are the server component's inputs (``mcpResources: size`` when the mcp
    container is sized by the ``size`` preset)."""
    kind = obj.get("kind")
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    for rule in SERVER_FIELDS:
        if rule.kinds is not None and kind not in rule.kinds:
            continue
        if rule.name_suffix and not str(metadata.get("name")).endswith(rule.name_suffix):
            continue
        rest = _after(path, rule.prefix)
        if rest is None:
            continue
        if rule.field == "spec.resources" and props.get("mcpResources") == "size":
            return "spec.size"
        index = _INDEX.match(rest)
        field = rule.field.replace("[{i}]", f"[{index.group(1)}]" if index else "")
        return field + (rest if rule.verbatim else "")
    return ""


def where(source: str, field: str) -> str:
    """``servers/dev/fetch.yaml: spec.env`` for a file, ``toolhive:servers.mcpServers[0].spec.env`` inline."""
    if not field:
        return source
    return f"{source}.{field}" if source.startswith("toolhive:") else f"{source}: {field}"
