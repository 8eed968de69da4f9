"""The stack configuration: what a `toolhive:` key in Pulumi.<stack>.yaml may say.

These pydantic models are the single source of truth for configuration: defaults (which serve a local
dev cluster), descriptions (which become the JSON Schema editors validate against) and validation all
live here. Keys are camelCase in YAML (`toolhive:operator.rbac.scope`), snake_case in Python.

A cross-field rule that belongs to one key raises `KeyedError` with that key's path relative to the
model it is raised from, so the error names the key the user has to change.
"""
from __future__ import annotations

import re
from typing import Annotated, Literal, Optional

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic.alias_generators import to_camel

from components import bundle
from components.labels import RESERVED_NAMESPACE_LABEL_PREFIXES
from components.naming import DEFAULT_REDIS_SECRET, DEFAULT_REDIS_SECRET_KEY
from components.operator_env import RESERVED_ENV_NAMES

# --- validated scalar types --------------------------------------------------------------------

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
_GO_MEMLIMIT = re.compile(r"^[0-9]+(B|KiB|MiB|GiB|TiB)?$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_IMAGE_REF = re.compile(r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)+(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$")
_REGISTRY_PREFIX = re.compile(r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*$")
_CIDR = re.compile(r"^([0-9]{1,3}\.){3}[0-9]{1,3}/[0-9]{1,2}$|^[0-9a-fA-F:]+/[0-9]{1,3}$")
_HOST_PORT = re.compile(r"^[A-Za-z0-9.-]+:[0-9]{1,5}$")
_PSA_VERSION = re.compile(r"^(latest|v1\.[0-9]+)$")


class KeyedError(ValueError):
    """A validation error that belongs to a key below the model it is raised from."""

    def __init__(self, path: tuple[str | int, ...], message: str):
        super().__init__(message)
        self.path = path
        self.message = message


def _matches(pattern: re.Pattern, what: str):
    def check(value: str) -> str:
        if not pattern.match(value):
            raise ValueError(f"{value!r} is not {what}")
        return value

    return check


def _dns_label(value: str) -> str:
    if len(value) > 63 or not _DNS_LABEL.match(value):
        raise ValueError(f"{value!r} is not a valid name: lowercase letters, digits and '-', at most 63 characters")
    return value


def _dns_subdomain(value: str) -> str:
    if len(value) > 253 or not _DNS_SUBDOMAIN.match(value):
        raise ValueError(f"{value!r} is not a valid name: a lowercase DNS subdomain (letters, digits, '-', '.')")
    return value


Name = Annotated[str, AfterValidator(_dns_label)]
ObjectName = Annotated[str, AfterValidator(_dns_subdomain)]
Quantity = Annotated[str, AfterValidator(_matches(_QUANTITY, "a Kubernetes quantity such as 500m, 2, 128Mi or 1Gi"))]
ImageRef = Annotated[str, AfterValidator(_matches(_IMAGE_REF, "an image reference such as ghcr.io/org/image:tag"))]
RegistryPrefix = Annotated[str, AfterValidator(_matches(_REGISTRY_PREFIX, "a registry prefix such as registry.example.com/mirror (no scheme, no trailing '/')"))]
Cidr = Annotated[str, AfterValidator(_matches(_CIDR, "a CIDR such as 10.0.0.0/16"))]
EnvName = Annotated[str, AfterValidator(_matches(_ENV_NAME, "an environment variable name (letters, digits, '_')"))]
Port = Annotated[int, Field(ge=1, le=65535)]


class Model(BaseModel):
    """Base for every config model: camelCase keys, unknown keys rejected."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        validate_default=True,
    )


# --- images ------------------------------------------------------------------------------------

class ImageOverrides(Model):
    """Replace single images of the release (full references). The mirror still applies to them."""

    operator: Optional[ImageRef] = Field(None, description="The operator (controller) image.")
    proxy_runner: Optional[ImageRef] = Field(None, description="The proxy runner image the operator gives MCP servers.")
    vmcp: Optional[ImageRef] = Field(None, description="The Virtual MCP server image the operator gives VirtualMCPServers.")
    registry_api: Optional[ImageRef] = Field(None, description="The registry API image the operator gives MCPRegistries.")


class ImagesConfig(Model):
    """Which ToolHive release runs, and where its images are pulled from."""

    release: str = Field(
        default_factory=bundle.default_release,
        description="The ToolHive release to install: one of the releases in components/bundle/releases.yaml.",
    )
    overrides: ImageOverrides = Field(default_factory=ImageOverrides, description="Replace single images of the release.")
    mirror: Optional[RegistryPrefix] = Field(
        None,
        description="Registry prefix that replaces the registry host of every image (private registry, ECR "
        "pull-through cache), e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/ghcr.",
    )
    digest_source: Literal["none", "ecr"] = Field(
        "none",
        description="Resolve every image tag to its digest at deploy time and deploy image@sha256:...; "
        "'ecr' asks Amazon ECR (describe-images) and needs every image in an ECR registry.",
    )

    @model_validator(mode="after")
    def _release_is_bundled(self) -> "ImagesConfig":
        releases = bundle.releases()
        if self.release not in releases:
            raise KeyedError(("release",), f"must be one of {', '.join(sorted(releases))} (the bundled releases)")
        return self


# --- operator ----------------------------------------------------------------------------------

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
        return self


class GarbageCollection(Model):
    """Go runtime memory settings of the operator (GOMEMLIMIT sits a little below the memory limit)."""

    gomemlimit: Annotated[str, AfterValidator(_matches(_GO_MEMLIMIT, "a Go memory limit such as 110MiB"))] = Field(
        "110MiB", description="GOMEMLIMIT of the operator."
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
    allowed_namespaces: list[Name] = Field(
        default_factory=list,
        description="With scope namespace: the namespaces the operator manages. Empty: every tenant namespace.",
    )


class DefaultRedis(Model):
    """Redis/Valkey the operator gives workloads that configure no session storage of their own."""

    addr: Annotated[str, AfterValidator(_matches(_HOST_PORT, "host:port"))] = Field(description="host:port of Redis.")
    existing_secret: Optional[Name] = Field(
        None, description="A Secret (in each workload namespace) holding the Redis password."
    )
    existing_secret_key: str = Field("redis-password", min_length=1, description="The key of the password in that Secret.")


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
    annotations: dict[str, str] = Field(default_factory=dict, description="e.g. eks.amazonaws.com/role-arn for IRSA.")


class OperatorConfig(Model):
    """The ToolHive operator install: what the upstream toolhive-operator chart creates."""

    namespace: Name = Field("toolhive-system", description="Namespace of the operator.")
    replicas: int = Field(1, ge=1, le=10, description="Operator replicas; leader election makes more than one safe.")
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = Field("IfNotPresent")
    image_pull_secrets: list[Name] = Field(default_factory=list, description="Pull secrets of the operator pod.")
    default_image_pull_secrets: list[Name] = Field(
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
    env: list[EnvVar] = Field(
        default_factory=list,
        description="Extra operator environment, e.g. TOOLHIVE_SKIP_UPDATE_CHECK. Names the program sets itself are reserved.",
    )
    pod_disruption_budget: PodDisruptionBudget = Field(default_factory=PodDisruptionBudget)
    metrics_service: MetricsService = Field(default_factory=MetricsService)
    service_account: ServiceAccount = Field(default_factory=ServiceAccount)
    pod_annotations: dict[str, str] = Field(default_factory=dict)
    pod_labels: dict[str, str] = Field(default_factory=dict)
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: list[dict] = Field(default_factory=list, description="Kubernetes tolerations of the operator pod.")
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
        pdb = self.pod_disruption_budget
        if pdb.enabled and pdb.min_available >= self.replicas:
            raise KeyedError(
                ("podDisruptionBudget", "minAvailable"),
                f"must be less than toolhive:operator.replicas ({self.replicas}), or no node could ever be drained",
            )
        return self


# --- tenant namespaces -------------------------------------------------------------------------

class PodSecurity(Model):
    level: Literal["baseline", "restricted"] = Field("restricted", description="Pod Security Admission level (enforce, audit, warn).")
    version: Annotated[str, AfterValidator(_matches(_PSA_VERSION, "a policy version such as v1.33"))] = Field(
        "v1.33", description="Pinned Pod Security Standards version, so a cluster upgrade never tightens it silently."
    )


class Quota(Model):
    requests_cpu: Quantity = Field("4")
    requests_memory: Quantity = Field("8Gi")
    limits_cpu: Quantity = Field("8")
    limits_memory: Quantity = Field("16Gi")
    pods: int = Field(40, ge=1)
    mcp_servers: int = Field(20, ge=0, description="MCPServer objects the namespace may hold.")


class LimitAmounts(Model):
    cpu: Quantity
    memory: Quantity


class Limits(Model):
    """Container defaults and bounds (LimitRange), so a pod without resources still lands under the quota."""

    default_request: LimitAmounts = Field(default_factory=lambda: LimitAmounts(cpu="50m", memory="64Mi"))
    default: LimitAmounts = Field(default_factory=lambda: LimitAmounts(cpu="500m", memory="512Mi"))
    max: LimitAmounts = Field(default_factory=lambda: LimitAmounts(cpu="2", memory="4Gi"))


class EgressRule(Model):
    cidr: Cidr
    ports: list[Port] = Field(default_factory=list, description="TCP ports; empty means every port.")


class Network(Model):
    allow_from: list[Name] = Field(
        default_factory=list, description="Client namespaces whose pods may reach MCP servers here."
    )
    egress: list[EgressRule] = Field(
        default_factory=lambda: [EgressRule(cidr="0.0.0.0/0", ports=[443, 6443])],
        description="Egress beyond DNS and the namespace itself: the Kubernetes API (proxy runners use it) "
        "and the upstream APIs MCP servers call. Narrow it in production.",
    )


class Subjects(Model):
    groups: list[str] = Field(default_factory=list)
    users: list[str] = Field(default_factory=list)


class Access(Model):
    viewers: Subjects = Field(default_factory=Subjects, description="Read ToolHive resources.")
    editors: Subjects = Field(default_factory=Subjects, description="Manage MCP servers and their configs.")
    admins: Subjects = Field(default_factory=Subjects, description="Editors, plus Secrets and RoleBindings.")


class McpGroup(Model):
    name: ObjectName
    description: Optional[str] = None


class TenantNamespace(Model):
    """A namespace where teams run MCP servers."""

    name: Name
    pod_security: PodSecurity = Field(default_factory=PodSecurity)
    quota: Quota = Field(default_factory=Quota)
    limits: Limits = Field(default_factory=Limits)
    network: Network = Field(default_factory=Network)
    access: Access = Field(default_factory=Access)
    groups: list[McpGroup] = Field(default_factory=list, description="MCPGroups to create in the namespace.")
    labels: dict[str, str] = Field(default_factory=dict, description="Extra labels; PSA and app.kubernetes.io labels are reserved.")

    @model_validator(mode="after")
    def _labels_not_reserved(self) -> "TenantNamespace":
        for key in self.labels:
            if key.startswith(RESERVED_NAMESPACE_LABEL_PREFIXES):
                raise KeyedError(("labels", key), f"is reserved (set by the program): {', '.join(RESERVED_NAMESPACE_LABEL_PREFIXES)}*")
        names = [group.name for group in self.groups]
        for index, name in enumerate(names):
            if names.index(name) != index:
                raise KeyedError(("groups", index, "name"), f"{name!r} is declared twice")
        return self


# --- small sections ----------------------------------------------------------------------------

class CrdsConfig(Model):
    protect: bool = Field(
        True,
        description="Protect the CRDs in state (pulumi destroy refuses). They are always retained on delete, "
        "since deleting a CRD deletes every MCP server in the cluster.",
    )


class TeamRbacConfig(Model):
    aggregate_to_builtin_roles: bool = Field(
        True, description="Add ToolHive permissions to the built-in view/edit/admin ClusterRoles by aggregation."
    )


# --- the whole stack ---------------------------------------------------------------------------

class StackConfig(Model):
    """Everything under the `toolhive:` namespace of a stack."""

    images: ImagesConfig = Field(default_factory=ImagesConfig)
    crds: CrdsConfig = Field(default_factory=CrdsConfig)
    operator: OperatorConfig = Field(default_factory=OperatorConfig)
    namespaces: list[TenantNamespace] = Field(default_factory=list, description="Tenant namespaces for MCP servers.")
    namespace_protect: bool = Field(
        True, description="Protect tenant namespaces in state. They are always retained on delete."
    )
    team_rbac: TeamRbacConfig = Field(default_factory=TeamRbacConfig)
    default_redis_password: Optional[SecretStr] = Field(
        None,
        description="Password of the default Redis, set with `pulumi config set --secret "
        "toolhive:defaultRedisPassword`. The program writes it as a Secret into every tenant namespace "
        "(workload pods reference it there) and points the operator at it.",
    )

    @model_validator(mode="after")
    def _stack_rules(self) -> "StackConfig":
        names = [ns.name for ns in self.namespaces]
        for index, name in enumerate(names):
            if names.index(name) != index:
                raise KeyedError(("namespaces", index, "name"), f"{name!r} is declared twice")
            if name == self.operator.namespace:
                raise KeyedError(("namespaces", index, "name"), f"{name!r} is the operator namespace; MCP servers run in tenant namespaces")
        if self.default_redis_password is not None:
            if self.operator.default_redis is None:
                raise KeyedError(("defaultRedisPassword",), "needs toolhive:operator.defaultRedis.addr (the Redis it belongs to)")
            if self.operator.default_redis.existing_secret:
                raise KeyedError(("defaultRedisPassword",), "conflicts with toolhive:operator.defaultRedis.existingSecret; set one of them")
        rbac = self.operator.rbac
        if rbac.scope == "namespace" and not self.watched_namespaces:
            raise KeyedError(
                ("operator", "rbac", "allowedNamespaces"),
                "must name at least one namespace when scope is namespace (or declare toolhive:namespaces)",
            )
        return self

    @property
    def default_redis_secret(self) -> tuple[str, str] | None:
        """(Secret name, key) of the default Redis password: the user's Secret, or the one the program writes."""
        redis = self.operator.default_redis
        if redis is None:
            return None
        if redis.existing_secret:
            return redis.existing_secret, redis.existing_secret_key
        if self.default_redis_password is not None:
            return DEFAULT_REDIS_SECRET, DEFAULT_REDIS_SECRET_KEY
        return None

    @property
    def watched_namespaces(self) -> list[str]:
        """Namespaces a namespace-scoped operator manages: the allowed list, else every tenant namespace."""
        if self.operator.rbac.scope != "namespace":
            return []
        return list(self.operator.rbac.allowed_namespaces) or [ns.name for ns in self.namespaces]


def is_secret_setting(annotation) -> bool:
    """A setting that is nothing but a secret (SecretStr, optional or not). These, and only these, are
    set with `pulumi config set --secret`: a secret anywhere else would end up in plaintext."""
    args = [arg for arg in getattr(annotation, "__args__", ()) or () if arg is not type(None)]
    return annotation is SecretStr or args == [SecretStr]
