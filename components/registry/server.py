"""The MCP registry server (thv-registry-api v1.3.0), standalone or as an MCPRegistry custom resource.

Standalone (default) is what the upstream toolhive-registry-server chart installs, modelled natively:
ServiceAccount, config.yaml ConfigMap (with a config-hash pod annotation so a change rolls the pods),
leader-election Role, the Role/ClusterRole the kubernetes source needs, the Deployment, the Service.
mcpRegistry hands the same config.yaml to the operator; its podTemplateSpec supplies the restricted
security contexts the operator leaves out (../shared/toolhive/operator-objects.md, MCPRegistry).

Both share the data ConfigMaps (content-hashed names), the pgpass Secret, the database and the
NetworkPolicies. Reads top to bottom like the objects it creates.
"""
from __future__ import annotations

import hashlib

import pulumi
import pulumi_kubernetes as k8s

from components.images import ImageRef
from components.k8s import naming
from components.k8s.labels import selector_labels, standard_labels
from components.k8s.security import container_security_context, pod_security_context
from components.registry import plan as paths
from components.registry.database import InClusterPostgres, pgpass_output, pgpass_secret_name
from components.k8s.netpol import ALLOW_FROM_ANNOTATION
from components.registry.network import client_egress_policies, registry_clients, registry_network_policies
from components.registry.plan import RegistryPlan

APP_UID = 65532  # the registry-api image's user (operator-objects.md)
HTTP_PORT = 8080
HEALTH_PORT = 8081
CONFIG_HASH_ANNOTATION = "toolhive.stacklok.dev/config-hash"
LEADER_ELECTION_RULES = (
    {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]},
    {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]},
    {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
)
KUBERNETES_SOURCE_RULES = (
    {"apiGroups": ["toolhive.stacklok.dev"], "resources": ["mcpservers", "mcpremoteproxies", "virtualmcpservers"],
     "verbs": ["get", "list", "watch"]},
    {"apiGroups": [""], "resources": ["services"], "verbs": ["get", "list", "watch"]},
)


def registry_pod_labels(plan: RegistryPlan) -> dict[str, str]:
    """Labels that select the registry-api pods, in either mode (operator-objects.md for MCPRegistry)."""
    if plan.config.mode == "mcpRegistry":
        return {"app.kubernetes.io/name": f"{plan.name}-api", "toolhive.stacklok.io/registry-name": plan.name}
    return selector_labels(plan.name)


def service_name(plan: RegistryPlan) -> str:
    return naming.registry_service(plan.name, plan.config.mode)


def service_account_name(plan: RegistryPlan) -> str:
    return naming.registry_service_account(plan.name, plan.config.mode)


def registry_urls(plan: RegistryPlan) -> dict[str, str]:
    base = f"http://{service_name(plan)}.{plan.namespace}.svc.cluster.local:{HTTP_PORT}"
    return {r.name: f"{base}/registry/{r.name}/v0.1/servers" for r in plan.config.registries}


class RegistryServer(pulumi.ComponentResource):
    def __init__(self, name: str, plan: RegistryPlan, *, images: dict[str, str], setup_image: str,
                 postgres_image: str, crds, namespace_resources: dict[str, pulumi.Resource],
                 depends_on: list[pulumi.Resource], protect_namespace: bool,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("toolhive:registry:RegistryServer", name, None, opts)
        ns, registry = plan.namespace, plan.name
        labels = standard_labels(registry, "registry-api", version=ImageRef.parse(images["registryApi"]).tag)
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=depends_on)

        # Registry data from this repository: the name carries the content hash, so new data is a new
        # ConfigMap. The logical name stays, so Pulumi replaces it create-before-delete: the new ConfigMap
        # exists, the Deployment is updated to it, and the old one goes only at the end of the update.
        self.data_configmaps = [k8s.core.v1.ConfigMap(
            naming.resource_name(ns, "configmap", f"{registry}-data-{data.source}"),
            metadata={"name": data.configmap_name, "namespace": ns, "labels": labels,
                      "annotations": {"toolhive.platform/source-file": data.repo_path}},
            data={"registry.json": data.text},
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on, delete_before_replace=False),
        ) for data in plan.file_data]

        self.database = None
        if plan.config.database.in_cluster is not None:
            self.database = InClusterPostgres(
                "postgres", plan.config.database.in_cluster, service_name=paths.database_service_name(registry),
                namespace=ns, database=plan.config.database.database, user=plan.config.database.user,
                image=postgres_image, opts=in_ns)
            passwords = {plan.config.database.user: self.database.password}
        else:
            passwords = plan.db_passwords
        database = plan.server_config.database
        self.pgpass = k8s.core.v1.Secret(
            naming.resource_name(ns, "secret", pgpass_secret_name(registry)),
            metadata={"name": pgpass_secret_name(registry), "namespace": ns, "labels": labels},
            type="Opaque",
            string_data={paths.PGPASS_KEY: pgpass_output(database.host, database.port, database.database, passwords)},
            opts=in_ns,
        )

        self.kubernetes_source_bindings = self._kubernetes_source_rbac(plan, labels, namespace_resources)
        prerequisites = [*self.data_configmaps, self.pgpass, *self.kubernetes_source_bindings, *depends_on]
        if self.database is not None:
            prerequisites.append(self.database)
        if plan.config.mode == "mcpRegistry":
            self.custom_resource = crds.custom_resource(
                "MCPRegistry", registry, ns, self._mcpregistry_spec(plan), labels=labels, parent=self,
                depends_on=prerequisites, annotations=client_intent(plan))
        else:
            self._standalone(plan, labels, images, setup_image, prerequisites)

        self.network_policies = registry_network_policies(self, plan, labels, registry_pod_labels(plan), depends_on,
                                                          protect=protect_namespace)
        self.client_policies = client_egress_policies(self, plan, labels, registry_pod_labels(plan),
                                                      namespace_resources, protect=protect_namespace)
        self.ingress = self._ingress(plan, labels, depends_on) if plan.config.ingress else None

        self.urls = registry_urls(plan)
        self.outputs = {
            "name": registry,
            "namespace": ns,
            "mode": plan.config.mode,
            "urls": self.urls,
            "sources": {s.name: _source_output(plan, s.name) for s in plan.server_config.sources},
        }
        self.register_outputs(self.outputs)

    # -- standalone ------------------------------------------------------------------------------------------
    def _standalone(self, plan: RegistryPlan, labels: dict, images: dict, setup_image: str, prerequisites: list):
        ns, registry = plan.namespace, plan.name
        config_yaml = plan.config_yaml()
        self.service_account = k8s.core.v1.ServiceAccount(
            naming.resource_name(ns, "serviceaccount", registry),
            metadata={"name": registry, "namespace": ns, "labels": labels},
            automount_service_account_token=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=prerequisites),
        )
        self.config_map = k8s.core.v1.ConfigMap(
            naming.resource_name(ns, "configmap", f"{registry}-config"),
            metadata={"name": f"{registry}-config", "namespace": ns, "labels": labels},
            data={"config.yaml": config_yaml},
            opts=pulumi.ResourceOptions(parent=self, depends_on=prerequisites),
        )
        role = f"{registry}-leader-election-role"
        self.leader_election_role = k8s.rbac.v1.Role(
            naming.resource_name(ns, "role", role),
            metadata={"name": role, "namespace": ns, "labels": labels},
            rules=[dict(rule) for rule in LEADER_ELECTION_RULES],
            opts=pulumi.ResourceOptions(parent=self, depends_on=prerequisites),
        )
        self.leader_election_binding = k8s.rbac.v1.RoleBinding(
            naming.resource_name(ns, "rolebinding", f"{registry}-leader-election-rolebinding"),
            metadata={"name": f"{registry}-leader-election-rolebinding", "namespace": ns, "labels": labels},
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role},
            subjects=[{"kind": "ServiceAccount", "name": registry, "namespace": ns}],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.leader_election_role, self.service_account]),
        )
        self.deployment = k8s.apps.v1.Deployment(
            naming.resource_name(ns, "deployment", registry),
            metadata={"name": registry, "namespace": ns, "labels": labels},
            spec=self._deployment_spec(plan, labels, images["registryApi"], setup_image, config_yaml),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[
                self.config_map, self.service_account, self.leader_election_binding, *prerequisites]),
        )
        self.service = k8s.core.v1.Service(
            naming.resource_name(ns, "service", registry),
            metadata={"name": registry, "namespace": ns, "labels": labels, "annotations": client_intent(plan)},
            spec={"type": "ClusterIP", "selector": selector_labels(registry),
                  "ports": [{"name": "http", "port": HTTP_PORT, "targetPort": "http", "protocol": "TCP"}]},
            opts=pulumi.ResourceOptions(parent=self, depends_on=prerequisites),
        )

    def _deployment_spec(self, plan: RegistryPlan, labels: dict, image: str, setup_image: str, config_yaml: str) -> dict:
        mounts = [{"name": "config", "mountPath": paths.STANDALONE_CONFIG_DIR, "readOnly": True},
                  *registry_volume_mounts(plan)]
        volumes = [{"name": "config", "configMap": {"name": f"{plan.name}-config"}}, *registry_volumes(plan)]
        env = [{"name": "THV_REGISTRY_LEADER_ELECTION_ID", "value": f"{plan.name}-leader-election"}, *registry_env(plan)]
        return {
            "replicas": plan.config.replicas,
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": selector_labels(plan.name)},
            "template": {
                "metadata": {"labels": labels, "annotations": {
                    CONFIG_HASH_ANNOTATION: hashlib.sha256(config_yaml.encode()).hexdigest()[:63]}},
                "spec": {
                    "serviceAccountName": plan.name,
                    "automountServiceAccountToken": True,
                    "securityContext": registry_pod_security_context(),
                    "initContainers": [{
                        "name": "setup-pgpass",
                        "image": setup_image,
                        "command": ["sh", "-c", f"cp /pgpass-secret/{paths.PGPASS_KEY} {paths.PGPASS_FILE} && "
                                                f"chmod 0600 {paths.PGPASS_FILE}"],
                        "volumeMounts": [{"name": "pgpass-secret", "mountPath": "/pgpass-secret", "readOnly": True},
                                         {"name": "pgpass", "mountPath": paths.PGPASS_DIR}],
                        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"},
                                      "limits": {"cpu": "100m", "memory": "32Mi"}},
                        "securityContext": container_security_context(APP_UID),
                    }],
                    "containers": [{
                        "name": "registry-api",
                        "image": image,
                        "args": ["serve", "--config", f"{paths.STANDALONE_CONFIG_DIR}/config.yaml"],
                        "ports": [{"name": "http", "containerPort": HTTP_PORT, "protocol": "TCP"},
                                  {"name": "internal-http", "containerPort": HEALTH_PORT, "protocol": "TCP"}],
                        "env": env,
                        "livenessProbe": {"httpGet": {"path": "/health", "port": "internal-http"},
                                          "initialDelaySeconds": 30, "periodSeconds": 10},
                        "readinessProbe": {"httpGet": {"path": "/readiness", "port": "internal-http"},
                                           "initialDelaySeconds": 5, "periodSeconds": 5},
                        "resources": plan.config.resources.model_dump(exclude_none=True),
                        "securityContext": container_security_context(APP_UID),
                        "volumeMounts": [*mounts, {"name": "pgpass", "mountPath": paths.PGPASS_DIR, "readOnly": True}],
                    }],
                    "volumes": [*volumes, *pgpass_volumes(plan)],
                },
            },
        }

    # -- MCPRegistry -------------------------------------------------------------------------------------------
    @staticmethod
    def _mcpregistry_spec(plan: RegistryPlan) -> dict:
        """configYAML plus the pod parts the operator omits; the operator adds the pgpass plumbing itself."""
        container = {"name": "registry-api", "securityContext": container_security_context(APP_UID),
                     "resources": plan.config.resources.model_dump(exclude_none=True)}
        if registry_env(plan):
            container["env"] = registry_env(plan)
        spec = {
            "displayName": f"{plan.name} (managed by Pulumi)",
            "configYAML": plan.config_yaml(),
            "pgpassSecretRef": {"name": pgpass_secret_name(plan.name), "key": paths.PGPASS_KEY},
            "podTemplateSpec": {"spec": {
                "securityContext": registry_pod_security_context(),
                "initContainers": [{"name": "setup-pgpass", "securityContext": container_security_context(APP_UID)}],
                "containers": [container],
            }},
        }
        if plan.mounts:
            spec["volumes"] = registry_volumes(plan)
            spec["volumeMounts"] = registry_volume_mounts(plan)
        return spec

    # -- shared ------------------------------------------------------------------------------------------------
    def _kubernetes_source_rbac(self, plan: RegistryPlan, labels: dict, namespace_resources: dict) -> list:
        """Read access to MCP servers and Services in exactly the watched namespaces."""
        if not plan.watch_namespaces:
            return []
        role = f"{plan.namespace}-{plan.name}-kubernetes-source"
        self.kubernetes_source_role = k8s.rbac.v1.ClusterRole(
            naming.resource_name("clusterrole", role),
            metadata={"name": role, "labels": labels},
            rules=[dict(rule) for rule in KUBERNETES_SOURCE_RULES],
            opts=pulumi.ResourceOptions(parent=self),
        )
        bindings = []
        for watched in plan.watch_namespaces:
            depends = [self.kubernetes_source_role, *([namespace_resources[watched]] if watched in namespace_resources else [])]
            bindings.append(k8s.rbac.v1.RoleBinding(
                naming.resource_name(watched, "rolebinding", role),
                metadata={"name": role, "namespace": watched, "labels": labels},
                role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
                subjects=[{"kind": "ServiceAccount", "name": service_account_name(plan), "namespace": plan.namespace}],
                opts=pulumi.ResourceOptions(parent=self, depends_on=depends),
            ))
        return bindings

    def _ingress(self, plan: RegistryPlan, labels: dict, depends_on: list) -> k8s.networking.v1.Ingress:
        spec = plan.config.ingress
        ingress_spec = {"rules": [{"host": spec.host, "http": {"paths": [{
            "path": "/", "pathType": "Prefix",
            "backend": {"service": {"name": service_name(plan), "port": {"name": "http"}}}}]}}]}
        if spec.class_name:
            ingress_spec["ingressClassName"] = spec.class_name
        if spec.tls_secret:
            ingress_spec["tls"] = [{"hosts": [spec.host], "secretName": spec.tls_secret}]
        return k8s.networking.v1.Ingress(
            naming.resource_name(plan.namespace, "ingress", plan.name),
            metadata={"name": plan.name, "namespace": plan.namespace, "labels": labels, "annotations": spec.annotations},
            spec=ingress_spec,
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on),
        )


def client_intent(plan: RegistryPlan) -> dict[str, str]:
    """The namespaces allowed in, as an annotation the reachability check reads (like tenant namespaces')."""
    clients = registry_clients(plan)
    return {ALLOW_FROM_ANNOTATION: ",".join(clients)} if clients else {}


def registry_pod_security_context() -> dict:
    return {**pod_security_context(), "runAsUser": APP_UID, "runAsGroup": APP_UID, "fsGroup": APP_UID}


def registry_volumes(plan: RegistryPlan) -> list[dict]:
    return [mount.volume for mount in plan.mounts]


def registry_volume_mounts(plan: RegistryPlan) -> list[dict]:
    return [mount.volume_mount for mount in plan.mounts]


def pgpass_volumes(plan: RegistryPlan) -> list[dict]:
    return [{"name": "pgpass-secret", "secret": {"secretName": pgpass_secret_name(plan.name), "defaultMode": 0o440}},
            {"name": "pgpass", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}}]


def registry_env(plan: RegistryPlan) -> list[dict]:
    env = []
    if plan.config.mode == "standalone":
        env.append({"name": "PGPASSFILE", "value": paths.PGPASS_FILE})
    if plan.watch_namespaces:
        env.append({"name": "THV_REGISTRY_WATCH_NAMESPACE", "value": ",".join(plan.watch_namespaces)})
    if plan.ssl_root_cert:
        # libpq's variable, which pgx reads too: sslMode verify-ca/verify-full check the database against it.
        env.append({"name": "PGSSLROOTCERT", "value": plan.ssl_root_cert})
    return env


def _source_output(plan: RegistryPlan, source: str) -> dict:
    entry = next(s for s in plan.server_config.sources if s.name == source)
    result: dict = {"kind": entry.kind}
    if source in plan.pins:
        pin = plan.pins[source]
        result.update(repository=pin.repository, ref=pin.ref, commit=pin.commit,
                      deployed="commit" if entry.git.commit else "follows " + pin.ref)
    data = next((d for d in plan.file_data if d.source == source), None)
    if data is not None:
        result.update(file=data.repo_path, configMap=data.configmap_name)
    if entry.kubernetes is not None:
        result["namespaces"] = entry.kubernetes.namespaces
    return result
