"""One MCP server the operator runs: its Secret, MCPToolConfig, PersistentVolumeClaim, NetworkPolicies,
MCPServer, PodDisruptionBudget and HPAs.

`spec.resources` sizes the operator's proxy container; the MCP server container (`mcp`) gets its
resources and a Pod Security `restricted` context through `podTemplateSpec` (read-only root filesystem
with a writable /tmp emptyDir unless the server opts out), plus its volume and GPU placement
(components/servers/placement.py). Isolation: components/servers/isolation.py; replica rules:
components/servers/scaling.py. The MCPServer waits for its NetworkPolicies, so its pods start with
their flows open, and for its claim.
"""
from __future__ import annotations

import pulumi

from components.config.servers import DEFAULT_PROXY_RESOURCES, McpServerEntry
from components.k8s.security import container_security_context, pod_security_context
from components.platform.crds import ToolHiveCrds
from components.registry.publish import registry_annotations
from components.servers import common, isolation, operator_objects, placement
from components.servers.default_redis import DefaultRedis
from components.servers.scaling import apply_replica_rules, scaling_objects

TMP_VOLUME = "tmp"


def mcp_pod_template(entry: McpServerEntry) -> dict:
    """The `mcp` container's resources and security context, merged by the operator into its StatefulSet."""
    spec = entry.spec
    security = container_security_context()
    security["readOnlyRootFilesystem"] = spec.read_only_root_filesystem
    container: dict = {"name": "mcp", "resources": spec.mcp_resources(), "securityContext": security}
    pod: dict = {"securityContext": pod_security_context(), "containers": [container]}
    if spec.read_only_root_filesystem:
        container["volumeMounts"] = [{"name": TMP_VOLUME, "mountPath": "/tmp"}]
        pod["volumes"] = [{"name": TMP_VOLUME, "emptyDir": {}}]
    if spec.storage is not None:
        placement.mount_storage(pod, container, entry.name, spec.storage)
    if spec.gpu is not None:
        placement.place_on_gpu(pod, container, spec.gpu)
    return {"spec": pod}


def mcp_server_spec(entry: McpServerEntry, *, image: str, keys: common.SecretKeys,
                    tool_config_name: str | None, default_redis: DefaultRedis | None = None) -> dict:
    """The MCPServer spec as the config says it; replica rules are applied afterwards."""
    spec = entry.spec
    out: dict = {
        "image": image,
        "transport": spec.transport,
        "proxyPort": spec.proxy_port,
        "resources": spec.proxy_resources.as_spec() if spec.proxy_resources else DEFAULT_PROXY_RESOURCES,
        "podTemplateSpec": mcp_pod_template(entry),
    }
    optional = {
        "proxyMode": spec.proxy_mode,
        "mcpPort": spec.mcp_port,
        "args": list(spec.args) or None,
        "env": [{"name": k, "value": v} for k, v in spec.env.items()] or None,
        "secrets": [{"name": keys.keys[s.ref][0], "key": keys.keys[s.ref][1], "targetEnvName": s.target_env_name}
                    for s in spec.secrets] or None,
        "groupRef": {"name": spec.group} if spec.group else None,
        "toolConfigRef": {"name": tool_config_name} if tool_config_name else None,
        "serviceAccount": spec.service_account,
        "replicas": spec.replicas,
        "backendReplicas": spec.backend_replicas,
        "sessionStorage": common.session_storage_spec(spec.session_storage, keys, kind=entry.kind, default=default_redis),
        "sessionAffinity": spec.session_affinity,
        "rateLimiting": spec.rate_limiting.model_dump(by_alias=True, exclude_defaults=True)
        if spec.rate_limiting else None,
        **common.auth_refs(spec),
    }
    out.update({key: value for key, value in optional.items() if value is not None})
    return out


class McpServer(pulumi.ComponentResource):
    """An MCPServer and the objects around it."""

    def __init__(self, name: str, entry: McpServerEntry, *, source, crds: ToolHiveCrds, image: str,
                 secret_values: dict[str, pulumi.Output], depends_on: list[pulumi.Resource],
                 surroundings: isolation.Surroundings = isolation.Surroundings(),
                 default_redis: DefaultRedis | None = None, opts: pulumi.ResourceOptions | None = None):
        super().__init__("toolhive:servers:McpServer", name,
                         common.source_props(source, sized_by_preset=entry.spec.resources is None), opts)
        ns, server = entry.namespace, entry.name
        labels = common.server_labels(server, entry.kind)

        wanted = [(key, ref) for key, ref, _ in common.secret_fields(entry.spec)]
        keys = common.server_secrets(server, ns, wanted, secret_values, labels=labels, parent=self, depends_on=depends_on)
        self.secrets = keys.secrets

        self.tool_config = common.tool_config(server, ns, entry.spec.tools, crds, labels=labels, parent=self,
                                              depends_on=depends_on)

        self.claim = (placement.persistent_volume_claim(server, ns, entry.spec.storage, labels=labels, parent=self,
                                                        depends_on=depends_on)
                      if entry.spec.storage is not None else None)
        self.network_policies = isolation.network_policies(entry.kind, server, ns, entry.spec, surroundings,
                                                           labels=labels, parent=self, depends_on=depends_on)

        spec = mcp_server_spec(entry, image=image, keys=keys,
                               tool_config_name=common.tool_config_name(server) if self.tool_config else None,
                               default_redis=default_redis)
        spec, self.warnings = apply_replica_rules(entry.kind, server, ns, spec,
                                                 autoscaling=entry.spec.autoscaling)
        self.warnings += common.default_redis_warnings(entry.kind, ns, server, entry.spec.session_storage, default_redis)
        self.server = crds.custom_resource(
            "MCPServer", server, ns, spec, labels=labels, parent=self, annotations=registry_annotations(entry),
            depends_on=[*depends_on, *self.secrets, *(r for r in (self.tool_config, self.claim) if r is not None),
                        *self.network_policies],
        )
        for warning in self.warnings:
            pulumi.log.warn(warning, resource=self.server)

        self.scaling = scaling_objects(entry.kind, server, ns, spec, entry.spec, labels=labels, parent=self,
                                       workload=self.server)

        self.summary = {
            "kind": entry.kind,
            "name": server,
            "namespace": ns, "group": entry.spec.group,
            "url": operator_objects.url(entry.kind, server, ns, entry.spec.proxy_port),
            "transport": entry.spec.transport,
            "replicas": spec.get("replicas"),
            "backendReplicas": spec.get("backendReplicas"),
            "autoscaled": [obj_role for obj_role in ("proxy", "backend")
                           if getattr(entry.spec.autoscaling, obj_role, None) is not None],
            "sessionStorage": spec.get("sessionStorage", {}).get("provider"),
        }
        self.register_outputs(self.summary)
