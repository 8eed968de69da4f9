"""Stack config: everything under the `toolhive:` namespace of a stack, and the small sections."""
from __future__ import annotations

from typing import Optional

from pydantic import Field, SecretStr, model_validator

from components.config.base import KeyedError, Model
from components.config.cluster import ClusterConfig
from components.config.images import ImagesConfig
from components.config.operator import OperatorConfig
from components.config.registry import RegistryConfig
from components.config.servers import ServersConfig
from components.config.tenants import TenantNamespace
from components.k8s.naming import DEFAULT_REDIS_SECRET, DEFAULT_REDIS_SECRET_KEY


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
    servers: ServersConfig = Field(
        default_factory=ServersConfig,
        description="MCP servers, remote proxies and virtual MCP servers: inline, or one YAML file per server "
        "in servers.directory.",
    )
    default_redis_password: Optional[SecretStr] = Field(
        None,
        description="Password of the default Redis, set with `pulumi config set --secret "
        "toolhive:defaultRedisPassword`. The program writes it as a Secret into every tenant namespace "
        "(workload pods reference it there) and points the operator at it.",
    )
    cluster: ClusterConfig = Field(default_factory=ClusterConfig, description="The cluster this stack deploys to "
                                   "(its own Kubernetes provider) and Helm-chart adoption.")
    registry: Optional[RegistryConfig] = Field(
        None, description="The MCP registry server (thv-registry-api): sources, registries, database, auth. "
        "Unset: no registry.")

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
        for index, name in enumerate(rbac.allowed_namespaces):
            if name not in names and name not in rbac.external_namespaces:
                raise KeyedError(("operator", "rbac", "allowedNamespaces", index),
                                 f"{name!r} is not a tenant namespace of this stack (toolhive:namespaces); declare it in "
                                 "toolhive:operator.rbac.externalNamespaces if it exists outside the stack")
        for index, name in enumerate(rbac.external_namespaces):
            if name in names:
                raise KeyedError(("operator", "rbac", "externalNamespaces", index),
                                 f"{name!r} is a tenant namespace this stack creates, not an external one")
        if rbac.scope == "namespace" and not self.watched_namespaces:
            raise KeyedError(
                ("operator", "rbac", "allowedNamespaces"),
                "must name at least one namespace when scope is namespace (or declare toolhive:namespaces)",
            )
        if self.registry is not None:
            self._registry_rules(self.registry)
        return self

    def _registry_rules(self, registry: RegistryConfig) -> None:
        if (registry.mode == "mcpRegistry" and self.operator.rbac.scope == "namespace"
                and self.registry_namespace not in self.watched_namespaces):
            raise KeyedError(("registry", "namespace"), f"{self.registry_namespace!r} is not watched by the "
                             "namespace-scoped operator, which would never reconcile the MCPRegistry; add it to "
                             "toolhive:operator.rbac.allowedNamespaces or use mode standalone")
        tenants = {ns.name for ns in self.namespaces}
        if registry.namespace and registry.namespace not in tenants | {self.operator.namespace}:
            raise KeyedError(("registry", "namespace"), f"{registry.namespace!r} is neither the operator namespace "
                             "nor a tenant namespace (toolhive:namespaces); the registry runs in one of those")
        for index, source in enumerate(registry.sources):
            if source.kubernetes is not None and not (source.kubernetes.namespaces or tenants):
                raise KeyedError(("registry", "sources", index, "kubernetes", "namespaces"),
                                 "must name a namespace when the stack declares no toolhive:namespaces")

    @property
    def registry_namespace(self) -> str:
        """Where the registry server runs: its own setting, else the operator namespace."""
        return (self.registry.namespace if self.registry and self.registry.namespace else self.operator.namespace)

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
