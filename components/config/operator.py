"""Stack config: the operator install (`toolhive:operator`), what the upstream toolhive-operator chart creates."""
from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import AfterValidator, Field, model_validator

from components.config.base import (_HOST_PORT, Annotations, EnvName, GoMemLimit, KeyedError, Labels, Model, Name,
                                     NamespaceName, ObjectName, Quantity, SecretKey, _matches, unique)
from components.k8s import validation
from components.k8s.quantity import parse_go_memlimit, parse_quantity
from components.platform.operator_env import RESERVED_ENV_NAMES


class ResourceAmounts(Model):
    cpu: Optional[Quantity] = Field(None, description="CPU, e.g. 10m or 1.")
    memory: Optional[Quantity] = Field(None, description="Memory, e.g. 64Mi.")


class ContainerResources(Model):
    requests: ResourceAmounts = Field(default_factory=lambda: ResourceAmounts(cpu="10m", memory="64Mi"))
    limits: ResourceAmounts = Field(default_factory=lambda: ResourceAmounts(cpu="500m", memory="128Mi"))

    @model_validator(mode="after")
    def _memory_is_bounded(self) -> "ContainerResources":
        if not self.requests.memory or not self.requests.cpu:
            raise KeyedError(("requests",), "must set both cpu and memory")
        if not self.limits.memory:
            raise KeyedError(("limits", "memory"), "must be set (the operator's GOMEMLIMIT sits below it)")
        for resource in ("cpu", "memory"):
            request, limit = getattr(self.requests, resource), getattr(self.limits, resource)
            if request and limit and parse_quantity(request) > parse_quantity(limit):
                raise KeyedError(("requests", resource), f"{request} is above the limit {limit} "
                                 f"(toolhive:operator.resources.limits.{resource}); the API server refuses requests above limits")
        return self


class GarbageCollection(Model):
    """Go runtime memory settings of the operator (GOMEMLIMIT sits a little below the memory limit)."""

    gomemlimit: GoMemLimit = Field(
        "110MiB", description="GOMEMLIMIT of the operator: below resources.limits.memory, so Go collects before the kernel kills."
    )
    gogc: int = Field(75, ge=1, le=1000, description="GOGC of the operator (percent heap growth before GC).")


class Features(Model):
    experimental: bool = Field(False, description="ENABLE_EXPERIMENTAL_FEATURES of the operator.")
    storage_version_migrator: bool = Field(
        True,
        description="Run the storage-version migrator (cleans status.storedVersions of ToolHive CRDs). "
        "Needs cluster-scoped RBAC.",
    )


class OperatorRbac(Model):
    scope: Literal["cluster", "namespace"] = Field(
        "cluster",
        description="cluster: one ClusterRoleBinding. namespace: one RoleBinding per allowed namespace, "
        "WATCH_NAMESPACE set, no ClusterRoleBinding.",
    )
    allowed_namespaces: Annotated[list[NamespaceName], unique()] = Field(
        default_factory=list,
        description="With scope namespace: the namespaces the operator manages. Empty: every tenant namespace. "
        "Each must be a tenant namespace of this stack, or be listed in externalNamespaces.",
    )
    external_namespaces: Annotated[list[NamespaceName], unique()] = Field(
        default_factory=list,
        description="With scope namespace: those of allowedNamespaces that exist outside this stack (created by "
        "someone else, before this stack). The program binds the operator there but never creates them.",
    )


class DefaultRedis(Model):
    """Redis/Valkey the operator gives workloads that configure no session storage of their own."""

    addr: Annotated[str, AfterValidator(_matches(_HOST_PORT, "host:port"))] = Field(description="host:port of Redis.")
    existing_secret: Optional[Name] = Field(
        None, description="A Secret (in each workload namespace) holding the Redis password."
    )
    existing_secret_key: SecretKey = Field("redis-password", description="The key of the password in that Secret.")


class EnvVar(Model):
    name: EnvName
    value: Optional[str] = None
    value_from: Optional[dict] = Field(None, description="A Kubernetes EnvVarSource, e.g. {secretKeyRef: {name, key}}.")

    @model_validator(mode="after")
    def _one_source(self) -> "EnvVar":
        if (self.value is None) == (self.value_from is None):
            raise KeyedError(("value",), "set exactly one of value or valueFrom")
        return self


class PodDisruptionBudget(Model):
    enabled: bool = Field(False, description="Create a PodDisruptionBudget for the operator.")
    min_available: int = Field(1, ge=1, description="Operator pods that must stay up during voluntary disruptions.")


class MetricsService(Model):
    enabled: bool = Field(True, description="Create a ClusterIP Service in front of the metrics port.")


class ServiceAccount(Model):
    annotations: Annotations = Field(default_factory=dict, description="e.g. eks.amazonaws.com/role-arn for IRSA.")


class Toleration(Model):
    """A Kubernetes toleration, typed so the API server's rules hold before anything is applied."""

    key: Optional[str] = Field(None, description="Taint key; empty with operator Exists tolerates every taint.")
    operator: Literal["Exists", "Equal"] = Field("Equal", description="Exists: any value. Equal: the value must match.")
    value: Optional[str] = Field(None, description="Taint value (Equal only; must be empty with Exists).")
    effect: Optional[Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]] = Field(
        None, description="Taint effect; empty matches every effect.")
    toleration_seconds: Optional[int] = Field(
        None, description="How long the pod stays bound after a NoExecute taint appears (NoExecute only).")

    @model_validator(mode="after")
    def _api_server_rules(self) -> "Toleration":
        if self.key:
            if problems := validation.qualified_name(self.key):
                raise KeyedError(("key",), f"{self.key!r} {problems[0]}")
        elif self.operator != "Exists":
            raise KeyedError(("operator",), "must be Exists when no key is given (a toleration of every taint)")
        if self.operator == "Exists" and self.value:
            raise KeyedError(("value",), "must be empty when operator is Exists")
        if self.value and (problems := validation.label_value(self.value)):
            raise KeyedError(("value",), f"{self.value!r} {problems[0]}")
        if self.toleration_seconds is not None and self.effect != "NoExecute":
            raise KeyedError(("tolerationSeconds",), "is only allowed with effect NoExecute")
        return self

    def manifest(self) -> dict:
        """The toleration as the pod spec holds it."""
        return self.model_dump(by_alias=True, exclude_none=True)


class OperatorConfig(Model):
    """The ToolHive operator install: what the upstream toolhive-operator chart creates."""

    namespace: NamespaceName = Field("toolhive-system", description="Namespace of the operator (never default or kube-*).")
    replicas: int = Field(1, ge=1, le=10, description="Operator replicas; leader election makes more than one safe.")
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = Field("IfNotPresent")
    image_pull_secrets: Annotated[list[ObjectName], unique()] = Field(default_factory=list, description="Pull secrets of the operator pod.")
    default_image_pull_secrets: Annotated[list[ObjectName], unique()] = Field(
        default_factory=list,
        description="Pull secrets the operator adds to every workload it creates "
        "(TOOLHIVE_DEFAULT_IMAGE_PULL_SECRETS); they must exist in each workload namespace.",
    )
    default_redis: Optional[DefaultRedis] = Field(None, description="Default Redis for session storage.")
    proxy_host: str = Field("0.0.0.0", min_length=1, description="TOOLHIVE_PROXY_HOST given to proxy runners.")
    features: Features = Field(default_factory=Features)
    rbac: OperatorRbac = Field(default_factory=OperatorRbac)
    resources: ContainerResources = Field(default_factory=ContainerResources)
    gc: GarbageCollection = Field(default_factory=GarbageCollection)
    env: Annotated[list[EnvVar], unique("name", lambda var: var.name)] = Field(
        default_factory=list,
        description="Extra operator environment, e.g. TOOLHIVE_SKIP_UPDATE_CHECK. Names the program sets itself are reserved.",
    )
    pod_disruption_budget: PodDisruptionBudget = Field(default_factory=PodDisruptionBudget)
    metrics_service: MetricsService = Field(default_factory=MetricsService)
    service_account: ServiceAccount = Field(default_factory=ServiceAccount)
    pod_annotations: Annotations = Field(default_factory=dict, description="Annotations of the operator pod.")
    pod_labels: Labels = Field(default_factory=dict, description="Extra labels of the operator pod (app.kubernetes.io labels win).")
    node_selector: Labels = Field(default_factory=dict, description="Node labels the operator pod must land on.")
    tolerations: list[Toleration] = Field(default_factory=list, description="Kubernetes tolerations of the operator pod.")
    priority_class_name: Optional[ObjectName] = None

    @model_validator(mode="after")
    def _operator_rules(self) -> "OperatorConfig":
        for index, var in enumerate(self.env):
            if var.name in RESERVED_ENV_NAMES:
                raise KeyedError(
                    ("env", index, "name"),
                    f"{var.name} is set by the program and cannot be overridden; reserved: {', '.join(sorted(RESERVED_ENV_NAMES))}",
                )
        if self.rbac.scope == "namespace" and self.features.storage_version_migrator:
            raise KeyedError(
                ("features", "storageVersionMigrator"),
                "must be false when toolhive:operator.rbac.scope is namespace (the migrator needs cluster scope)",
            )
        memory_limit = parse_quantity(self.resources.limits.memory)
        if parse_go_memlimit(self.gc.gomemlimit) >= memory_limit:
            raise KeyedError(("gc", "gomemlimit"), f"{self.gc.gomemlimit} must stay below toolhive:operator.resources.limits.memory "
                             f"({self.resources.limits.memory}), or the kernel kills the operator before Go collects garbage")
        rbac = self.rbac
        if rbac.scope == "cluster":
            for key, names in (("allowedNamespaces", rbac.allowed_namespaces), ("externalNamespaces", rbac.external_namespaces)):
                if names:
                    raise KeyedError(("rbac", key), "only applies when toolhive:operator.rbac.scope is namespace "
                                     "(a cluster-scoped operator watches every namespace)")
        for index, name in enumerate(rbac.allowed_namespaces):
            if name == self.namespace:
                raise KeyedError(("rbac", "allowedNamespaces", index), f"{name!r} is the operator namespace; "
                                 "the operator manages MCP servers in tenant namespaces")
        for index, name in enumerate(rbac.external_namespaces):
            if name not in rbac.allowed_namespaces:
                raise KeyedError(("rbac", "externalNamespaces", index),
                                 f"{name!r} is not in toolhive:operator.rbac.allowedNamespaces; list only watched namespaces here")
        pdb = self.pod_disruption_budget
        if pdb.enabled and pdb.min_available >= self.replicas:
            raise KeyedError(
                ("podDisruptionBudget", "minAvailable"),
                f"must be less than toolhive:operator.replicas ({self.replicas}), or no node could ever be drained",
            )
        return self

