"""A server that lives elsewhere, fronted in the cluster: its Secret, MCPToolConfig, MCPRemoteProxy,
PodDisruptionBudget and HPA. `remoteUrl` hosts the operator refuses were refused by the config model."""
from __future__ import annotations

import pulumi

from components.config.servers import DEFAULT_PROXY_RESOURCES, RemoteProxyEntry
from components.platform.crds import ToolHiveCrds
from components.registry.publish import registry_annotations
from components.servers import common, isolation, operator_objects
from components.servers.default_redis import DefaultRedis
from components.servers.scaling import apply_replica_rules, scaling_objects


def remote_proxy_spec(entry: RemoteProxyEntry, *, keys: common.SecretKeys, tool_config_name: str | None,
                      default_redis: DefaultRedis | None = None) -> dict:
    spec = entry.spec
    out: dict = {
        "remoteUrl": spec.remote_url,
        "transport": spec.transport,
        "proxyPort": spec.proxy_port,
        "resources": spec.proxy_resources.as_spec() if spec.proxy_resources else DEFAULT_PROXY_RESOURCES,
    }
    headers = {}
    if spec.headers is not None and spec.headers.plaintext:
        headers["addPlaintextHeaders"] = dict(spec.headers.plaintext)
    if spec.headers is not None and spec.headers.from_secrets:
        headers["addHeadersFromSecret"] = [
            {"headerName": h.header_name, "valueSecretRef": {"name": keys.keys[h.ref][0], "key": keys.keys[h.ref][1]}}
            for h in spec.headers.from_secrets
        ]
    optional = {
        "headerForward": headers or None,
        "groupRef": {"name": spec.group} if spec.group else None,
        "toolConfigRef": {"name": tool_config_name} if tool_config_name else None,
        "serviceAccount": spec.service_account,
        "replicas": spec.replicas,
        "sessionStorage": common.session_storage_spec(spec.session_storage, keys, kind=entry.kind, default=default_redis),
        "sessionAffinity": spec.session_affinity,
        **common.auth_refs(spec),
    }
    out.update({key: value for key, value in optional.items() if value is not None})
    return out


class RemoteProxy(pulumi.ComponentResource):
    def __init__(self, name: str, entry: RemoteProxyEntry, *, source, crds: ToolHiveCrds,
                 secret_values: dict[str, pulumi.Output], depends_on: list[pulumi.Resource],
                 surroundings: isolation.Surroundings = isolation.Surroundings(),
                 default_redis: DefaultRedis | None = None, opts: pulumi.ResourceOptions | None = None):
        super().__init__("toolhive:servers:RemoteProxy", name, common.source_props(source), opts)
        ns, proxy = entry.namespace, entry.name
        labels = common.server_labels(proxy, entry.kind)

        wanted = [(key, ref) for key, ref, _ in common.secret_fields(entry.spec)]
        keys = common.server_secrets(proxy, ns, wanted, secret_values, labels=labels, parent=self, depends_on=depends_on)
        self.secrets = keys.secrets
        self.tool_config = common.tool_config(proxy, ns, entry.spec.tools, crds, labels=labels, parent=self,
                                              depends_on=depends_on)

        self.network_policies = isolation.network_policies(entry.kind, proxy, ns, entry.spec, surroundings,
                                                           labels=labels, parent=self, depends_on=depends_on)

        spec = remote_proxy_spec(entry, keys=keys,
                                 tool_config_name=common.tool_config_name(proxy) if self.tool_config else None,
                                 default_redis=default_redis)
        spec, self.warnings = apply_replica_rules(entry.kind, proxy, ns, spec,
                                                 autoscaling=entry.spec.autoscaling)
        self.proxy = crds.custom_resource(
            "MCPRemoteProxy", proxy, ns, spec, labels=labels, parent=self, annotations=registry_annotations(entry),
            depends_on=[*depends_on, *self.secrets, *([self.tool_config] if self.tool_config is not None else []),
                        *self.network_policies],
        )
        for warning in self.warnings:
            pulumi.log.warn(warning, resource=self.proxy)
        self.scaling = scaling_objects(entry.kind, proxy, ns, spec, entry.spec, labels=labels, parent=self,
                                       workload=self.proxy)

        self.summary = {
            "kind": entry.kind, "name": proxy, "namespace": ns, "group": entry.spec.group,
            "url": operator_objects.url(entry.kind, proxy, ns, entry.spec.proxy_port),
            "remoteUrl": entry.spec.remote_url, "transport": entry.spec.transport,
            "replicas": spec.get("replicas"),
            "autoscaled": ["proxy"] if entry.spec.autoscaling and entry.spec.autoscaling.proxy else [],
            "sessionStorage": spec.get("sessionStorage", {}).get("provider"),
        }
        self.register_outputs(self.summary)
