"""The ToolHive operator, modelled natively: what the upstream toolhive-operator chart installs.

Reads top to bottom like the objects it creates: namespace, service account, manager RBAC (cluster- or
namespace-scoped), leader-election RBAC, the Deployment, then the optional PodDisruptionBudget and
metrics Service. Every object is a Pulumi resource, so previews and policies see each one.
"""
from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components import bundle
from components.k8s import naming
from components.config import OperatorConfig
from components.k8s.labels import pod_security_labels, selector_labels, standard_labels
from components.platform.operator_env import operator_env
from components.k8s.security import container_security_context, pod_security_context

METRICS_PORT = 8080
HEALTH_PORT = 8081

LEADER_ELECTION_RULES = (
    {"apiGroups": [""], "resources": ["configmaps"],
     "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]},
    {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
     "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]},
    {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]},
)


class ToolHiveOperator(pulumi.ComponentResource):
    """The operator's namespace, identity, permissions and Deployment."""

    def __init__(
        self,
        name: str,
        config: OperatorConfig,
        *,
        release: str,
        images: dict[str, str],
        watched_namespaces: list[str],
        redis_secret: tuple[str, str] | None = None,
        crds: pulumi.Resource,
        namespace_resources: dict[str, pulumi.Resource],
        protect_namespace: bool = True,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("toolhive:platform:Operator", name, None, opts)
        ns = config.namespace
        labels = standard_labels(naming.OPERATOR, "operator", version=release)
        child = pulumi.ResourceOptions(parent=self)

        self.namespace = k8s.core.v1.Namespace(
            naming.resource_name("namespace", ns),
            metadata={"name": ns, "labels": {**labels, **pod_security_labels("restricted", "v1.33")}},
            opts=pulumi.ResourceOptions(parent=self, protect=protect_namespace, retain_on_delete=True),
        )
        in_namespace = pulumi.ResourceOptions(parent=self, depends_on=[self.namespace])

        self.service_account = k8s.core.v1.ServiceAccount(
            naming.resource_name(ns, "serviceaccount", naming.OPERATOR_SERVICE_ACCOUNT),
            metadata={"name": naming.OPERATOR_SERVICE_ACCOUNT, "namespace": ns, "labels": labels,
                      "annotations": config.service_account.annotations},
            automount_service_account_token=True,
            opts=in_namespace,
        )
        subject = {"kind": "ServiceAccount", "name": naming.OPERATOR_SERVICE_ACCOUNT, "namespace": ns}

        # The manager role: every rule the release's operator needs, bound cluster-wide or per namespace.
        self.manager_role = k8s.rbac.v1.ClusterRole(
            naming.resource_name("clusterrole", naming.OPERATOR_MANAGER_ROLE),
            metadata={"name": naming.OPERATOR_MANAGER_ROLE, "labels": labels},
            rules=[dict(rule) for rule in bundle.manager_role_rules(release)],
            opts=child,
        )
        role_ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": naming.OPERATOR_MANAGER_ROLE}
        self.manager_bindings: list[pulumi.Resource] = []
        if config.rbac.scope == "cluster":
            self.manager_bindings.append(k8s.rbac.v1.ClusterRoleBinding(
                naming.resource_name("clusterrolebinding", naming.OPERATOR_MANAGER_BINDING),
                metadata={"name": naming.OPERATOR_MANAGER_BINDING, "labels": labels},
                role_ref=role_ref,
                subjects=[subject],
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.manager_role, self.service_account]),
            ))
        else:
            for watched in watched_namespaces:
                depends = [self.manager_role, self.service_account]
                if watched in namespace_resources:
                    depends.append(namespace_resources[watched])
                self.manager_bindings.append(k8s.rbac.v1.RoleBinding(
                    naming.resource_name(watched, "rolebinding", naming.OPERATOR_MANAGER_BINDING),
                    metadata={"name": naming.OPERATOR_MANAGER_BINDING, "namespace": watched, "labels": labels},
                    role_ref=role_ref,
                    subjects=[subject],
                    opts=pulumi.ResourceOptions(parent=self, depends_on=depends),
                ))

        self.leader_election_role = k8s.rbac.v1.Role(
            naming.resource_name(ns, "role", naming.OPERATOR_LEADER_ELECTION_ROLE),
            metadata={"name": naming.OPERATOR_LEADER_ELECTION_ROLE, "namespace": ns, "labels": labels},
            rules=[dict(rule) for rule in LEADER_ELECTION_RULES],
            opts=in_namespace,
        )
        self.leader_election_binding = k8s.rbac.v1.RoleBinding(
            naming.resource_name(ns, "rolebinding", naming.OPERATOR_LEADER_ELECTION_BINDING),
            metadata={"name": naming.OPERATOR_LEADER_ELECTION_BINDING, "namespace": ns, "labels": labels},
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": naming.OPERATOR_LEADER_ELECTION_ROLE},
            subjects=[subject],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.leader_election_role, self.service_account]),
        )

        self.deployment = k8s.apps.v1.Deployment(
            naming.resource_name(ns, "deployment", naming.OPERATOR),
            metadata={"name": naming.OPERATOR, "namespace": ns, "labels": labels},
            spec=self._deployment_spec(config, labels, images, watched_namespaces, redis_secret),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[crds, self.service_account, self.leader_election_binding, *self.manager_bindings],
            ),
        )

        self.pod_disruption_budget = None
        if config.pod_disruption_budget.enabled:
            self.pod_disruption_budget = k8s.policy.v1.PodDisruptionBudget(
                naming.resource_name(ns, "pdb", naming.OPERATOR_PDB),
                metadata={"name": naming.OPERATOR_PDB, "namespace": ns, "labels": labels},
                spec={"minAvailable": config.pod_disruption_budget.min_available,
                      "selector": {"matchLabels": selector_labels(naming.OPERATOR)}},
                opts=in_namespace,
            )

        self.metrics_service = None
        if config.metrics_service.enabled:
            self.metrics_service = k8s.core.v1.Service(
                naming.resource_name(ns, "service", naming.OPERATOR_METRICS_SERVICE),
                metadata={"name": naming.OPERATOR_METRICS_SERVICE, "namespace": ns, "labels": labels},
                spec={"type": "ClusterIP", "selector": selector_labels(naming.OPERATOR),
                      "ports": [{"name": "metrics", "port": METRICS_PORT, "targetPort": "metrics", "protocol": "TCP"}]},
                opts=in_namespace,
            )

        self.namespace_name = ns
        self.image = images["operator"]
        self.register_outputs({"namespace": ns, "image": self.image})

    @staticmethod
    def _deployment_spec(config: OperatorConfig, labels: dict, images: dict[str, str], watched: list[str],
                         redis_secret: tuple[str, str] | None) -> dict:
        selector = selector_labels(naming.OPERATOR)
        pod_spec = {
            "serviceAccountName": naming.OPERATOR_SERVICE_ACCOUNT,
            "automountServiceAccountToken": True,
            "securityContext": pod_security_context(),
            "terminationGracePeriodSeconds": 10,
            "containers": [{
                "name": "manager",
                "image": images["operator"],
                "imagePullPolicy": config.image_pull_policy,
                "args": ["--leader-elect"],
                "ports": [
                    {"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"},
                    {"name": "health", "containerPort": HEALTH_PORT, "protocol": "TCP"},
                ],
                "env": operator_env(config, images, watched, redis_secret),
                "livenessProbe": {"httpGet": {"path": "/healthz", "port": "health"},
                                  "initialDelaySeconds": 15, "periodSeconds": 20},
                "readinessProbe": {"httpGet": {"path": "/readyz", "port": "health"},
                                   "initialDelaySeconds": 5, "periodSeconds": 10},
                "resources": config.resources.model_dump(exclude_none=True),
                "securityContext": container_security_context(),
            }],
        }
        if config.image_pull_secrets:
            pod_spec["imagePullSecrets"] = [{"name": secret} for secret in config.image_pull_secrets]
        if config.node_selector:
            pod_spec["nodeSelector"] = config.node_selector
        if config.tolerations:
            pod_spec["tolerations"] = [toleration.manifest() for toleration in config.tolerations]
        if config.priority_class_name:
            pod_spec["priorityClassName"] = config.priority_class_name
        if config.replicas > 1:
            # Replicas on one node fail together; spread them (best effort, so small clusters still schedule).
            pod_spec["topologySpreadConstraints"] = [{
                "maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": selector},
            }]
        template_metadata = {"labels": {**config.pod_labels, **labels}}
        if config.pod_annotations:
            template_metadata["annotations"] = config.pod_annotations
        return {
            "replicas": config.replicas,
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": selector},
            "template": {"metadata": template_metadata, "spec": pod_spec},
        }
