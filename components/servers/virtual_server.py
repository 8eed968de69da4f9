"""A VirtualMCPServer: one endpoint aggregating an MCPGroup, backends discovered from the group.

`outgoingAuth.source: discovered` (the vMCP reads each backend's auth from the cluster), `incomingAuth`
from config: anonymous is for dev stacks only (the stack check refuses it elsewhere), OIDC through an
MCPOIDCConfig reference. The `vmcp` container gets its resources and restricted context through
podTemplateSpec. Same replica rules, PDB and HPA as the other kinds.
"""
from __future__ import annotations

import pulumi

from components.config.servers import DEFAULT_PROXY_RESOURCES, VirtualServerEntry
from components.k8s.security import container_security_context, pod_security_context
from components.platform.crds import ToolHiveCrds
from components.registry.publish import registry_annotations
from components.servers import common, isolation, operator_objects
from components.servers.scaling import apply_replica_rules, scaling_objects


def virtual_server_spec(entry: VirtualServerEntry, keys: common.SecretKeys) -> dict:
    spec = entry.spec
    resources = spec.proxy_resources.as_spec() if spec.proxy_resources else DEFAULT_PROXY_RESOURCES
    out: dict = {
        "groupRef": {"name": spec.group},
        "incomingAuth": spec.incoming_auth.model_dump(by_alias=True, exclude_none=True),
        "outgoingAuth": {"source": "discovered"},
        "podTemplateSpec": {"spec": {
            "securityContext": pod_security_context(),
            "containers": [{"name": "vmcp", "resources": resources, "securityContext": container_security_context()}],
        }},
    }
    optional = {
        "replicas": spec.replicas,
        "sessionStorage": common.session_storage_spec(spec.session_storage, keys),
        "sessionAffinity": spec.session_affinity,
    }
    out.update({key: value for key, value in optional.items() if value is not None})
    return out


class VirtualServer(pulumi.ComponentResource):
    def __init__(self, name: str, entry: VirtualServerEntry, *, source, crds: ToolHiveCrds,
                 secret_values: dict[str, pulumi.Output], depends_on: list[pulumi.Resource],
                 surroundings: isolation.Surroundings = isolation.Surroundings(),
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("toolhive:servers:VirtualServer", name, common.source_props(source), opts)
        ns, vmcp = entry.namespace, entry.name
        labels = common.server_labels(vmcp, entry.kind)

        wanted = [(key, ref) for key, ref, _ in common.secret_fields(entry.spec)]
        keys = common.server_secrets(vmcp, ns, wanted, secret_values, labels=labels, parent=self, depends_on=depends_on)
        self.secrets = keys.secrets

        self.network_policies = isolation.network_policies(entry.kind, vmcp, ns, entry.spec, surroundings,
                                                           labels=labels, parent=self, depends_on=depends_on)

        spec, self.warnings = apply_replica_rules(entry.kind, vmcp, ns, virtual_server_spec(entry, keys),
                                                 autoscaling=entry.spec.autoscaling)
        self.server = crds.custom_resource(
            "VirtualMCPServer", vmcp, ns, spec, labels=labels, parent=self, annotations=registry_annotations(entry),
            depends_on=[*depends_on, *self.secrets, *self.network_policies],
        )
        for warning in self.warnings:
            pulumi.log.warn(warning, resource=self.server)
        self.scaling = scaling_objects(entry.kind, vmcp, ns, spec, entry.spec, labels=labels, parent=self,
                                       workload=self.server)

        self.summary = {
            "kind": entry.kind, "name": vmcp, "namespace": ns,
            "url": operator_objects.url(entry.kind, vmcp, ns, operator_objects.VMCP_PORT),
            "group": entry.spec.group, "incomingAuth": entry.spec.incoming_auth.type,
            "replicas": spec.get("replicas"),
            "autoscaled": ["proxy"] if entry.spec.autoscaling and entry.spec.autoscaling.proxy else [],
            "sessionStorage": entry.spec.session_storage.provider if entry.spec.session_storage else None,
        }
        self.register_outputs(self.summary)
