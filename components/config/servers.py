"""Stack config: MCP servers (`toolhive:servers`), inline or one YAML file per server.

Three kinds, each an entry `{kind, name, namespace, spec}`: MCPServer (runs an image), MCPRemoteProxy
(fronts a server that lives elsewhere) and VirtualMCPServer (aggregates one MCPGroup). The same models
read the inline lists and the files of `toolhive:servers.directory`, so both give the same errors and
the JSON Schema covers both. Rules that need the whole stack (tenant namespace, group declared, names
unique per namespace) are in components/servers/catalog.py.
"""
from __future__ import annotations

import functools

from typing import Annotated, Literal, Optional

from pydantic import AfterValidator, Field, model_validator

from components.config import toolhive_rules
from components.config.auth import ExistingObjects, ExternalAuthConfigEntry, OidcConfigEntry
from components.config.base import EnvName, ImageRef, KeyedError, PinnedImage, Model, Name, ObjectName, Port, Quantity, \
    SecretKey, StorageClassName
from components.config.tenants import EgressRule
from components.secret_sources import SecretRef, existing_secret_name
from components.servers import operator_objects
from policies import replica_rules
from policies.guardrails import is_secret_looking

#: Names that make the operator's selectors ambiguous: backend pods carry `app=<name>`, proxy pods
#: `app=mcpserver` / `app=mcpremoteproxy` / `app=virtualmcpserver` (operator-objects.md).
RESERVED_NAMES = ("mcpserver", "mcpremoteproxy", "virtualmcpserver")

#: The CRDs' replica fields are int32 (format: int32): a larger count cannot be stored.
INT32_MAX = 2**31 - 1

#: Requests -> limits of the `mcp` container per size preset.
SIZES = {
    "small": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}},
    "medium": {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
    "large": {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}},
}


def _check_server_name(kind: str, value: str) -> str:
    if value in RESERVED_NAMES:
        raise ValueError(f"{value!r} is reserved: a server with this name makes the operator's pod "
                         f"selectors ambiguous (never {', '.join(RESERVED_NAMES)})")
    if problem := operator_objects.name_problem(kind, value):
        raise ValueError(f"{value!r} {problem}")
    return value


# The operator names Services, ServiceAccounts and a StatefulSet after the server
# (components/servers/operator_objects.py): each must satisfy the API server's rule for its kind.
ServerName = Annotated[Name, AfterValidator(functools.partial(_check_server_name, "MCPServer"))]
RemoteProxyName = Annotated[Name, AfterValidator(functools.partial(_check_server_name, "MCPRemoteProxy"))]
VirtualServerName = Annotated[Name, AfterValidator(functools.partial(_check_server_name, "VirtualMCPServer"))]


class Amounts(Model):
    cpu: Optional[Quantity] = None
    memory: Optional[Quantity] = None


class Resources(Model):
    requests: Amounts = Field(default_factory=Amounts)
    limits: Amounts = Field(default_factory=Amounts)

    def as_spec(self) -> dict:
        return self.model_dump(exclude_none=True)


#: What the proxy container gets when nothing is configured: it only forwards requests.
DEFAULT_PROXY_RESOURCES = {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "256Mi"}}


class SecretKeyRef(Model):
    """A key of a Kubernetes Secret that already exists in the server's namespace."""

    name: ObjectName
    key: SecretKey


class SessionStorage(Model):
    provider: Literal["memory", "redis"]
    address: Optional[Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9.-]+:[0-9]{1,5}$")]] = Field(
        None, description="host:port of the Redis (required for redis).")
    db: int = Field(0, ge=0)
    key_prefix: Optional[str] = None
    password_ref: Optional[SecretKeyRef] = Field(None, description="The Redis password: an existing Secret key.")
    password: Optional[SecretRef] = Field(
        None, description="The Redis password from a secret reference (aws-sm://..., pulumi-config://...); "
        "written into the server's Secret. Never a literal.")

    @model_validator(mode="after")
    def _redis_needs_address_and_password(self) -> "SessionStorage":
        if self.provider == "redis":
            if not self.address:
                raise KeyedError(("address",), "is required when provider is redis (host:port)")
            if (self.password_ref is None) == (self.password is None):
                raise KeyedError(("passwordRef",), "set exactly one of passwordRef (an existing Secret) or "
                                 "password (a secret reference) when provider is redis; never a literal")
        elif self.password_ref or self.password:
            raise KeyedError(("provider",), "a password only applies to provider redis")
        if self.key_prefix is not None and (problem := toolhive_rules.key_prefix(self.key_prefix)):
            raise KeyedError(("keyPrefix",), problem)
        return self


class Bucket(Model):
    max_tokens: int = Field(ge=1)
    refill_period: Annotated[str, Field(pattern=r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$")] = Field(
        description="A duration such as 1m or 30s.")


class ToolLimit(Model):
    name: Annotated[str, Field(min_length=1)]
    shared: Optional[Bucket] = None
    per_user: Optional[Bucket] = None

    @model_validator(mode="after")
    def _one_bucket(self) -> "ToolLimit":
        if self.shared is None and self.per_user is None:
            raise KeyedError(("shared",), "set shared or perUser (or both)")
        return self


class RateLimiting(Model):
    shared: Optional[Bucket] = None
    per_user: Optional[Bucket] = None
    tools: list[ToolLimit] = Field(default_factory=list)

    @model_validator(mode="after")
    def _something_limited(self) -> "RateLimiting":
        if self.shared is None and self.per_user is None and not self.tools:
            raise KeyedError(("shared",), "set shared, perUser or tools")
        return self


class Autoscaler(Model):
    """A HorizontalPodAutoscaler (autoscaling/v2) on CPU utilisation."""

    min_replicas: int = Field(1, ge=1, le=INT32_MAX)
    max_replicas: int = Field(ge=1, le=INT32_MAX)
    target_cpu_utilization: int = Field(80, ge=1, le=100, description="Average CPU utilisation, percent of requests.")

    @model_validator(mode="after")
    def _range(self) -> "Autoscaler":
        if self.max_replicas < self.min_replicas:
            raise KeyedError(("maxReplicas",), f"must be at least minReplicas ({self.min_replicas})")
        return self


class Autoscaling(Model):
    proxy: Optional[Autoscaler] = Field(None, description="Scales the proxy Deployment <name>; needs replicas unset.")
    backend: Optional[Autoscaler] = Field(
        None, description="Scales the backend StatefulSet <name> (not stdio); needs backendReplicas unset.")


class ProxyAutoscaling(Model):
    proxy: Optional[Autoscaler] = Field(None, description="Scales the Deployment <name>; needs replicas unset.")


class OidcConfigRef(Model):
    name: ObjectName
    audience: Annotated[str, Field(min_length=1)]
    scopes: list[str] = Field(default_factory=list)


class NameRef(Model):
    name: ObjectName


class ToolRename(Model):
    name: Optional[str] = Field(None, description="The name clients see.")
    description: Optional[str] = Field(None, description="The description clients see.")
    title: Optional[str] = Field(None, description="A human-readable title (annotations.title); not passed to "
                                 "the proxy runner at v0.44.0, so it needs a name or a description beside it.")

    @model_validator(mode="after")
    def _name_or_description(self) -> "ToolRename":
        if not self.name and not self.description:
            raise KeyedError(("name",), toolhive_rules.TOOL_OVERRIDE_NEEDS)
        if self.name and (problem := toolhive_rules.tool_name(self.name)):
            raise KeyedError(("name",), problem)
        return self


class Tools(Model):
    """Tool filtering and renaming: an MCPToolConfig `<server>-tools` referenced by toolConfigRef."""

    allow: list[str] = Field(default_factory=list, description="Only these tools are exposed: the names clients "
                             "see, i.e. after rename.")
    rename: dict[str, ToolRename] = Field(default_factory=dict, description="Actual tool name -> what clients see.")

    @model_validator(mode="after")
    def _unique(self) -> "Tools":
        for actual in self.rename:
            if problem := toolhive_rules.tool_name(actual):
                raise KeyedError(("rename", actual), f"key {problem}")
        if "allow" in self.model_fields_set and not self.allow:
            raise KeyedError(("allow",), "is empty, which filters nothing: the operator then exposes every tool. "
                             "List the tools to expose (the operator has no way to expose none: remove the "
                             "server instead), or drop allow to expose them all")
        for index, name in enumerate(self.allow):
            if problem := toolhive_rules.tool_name(name):
                raise KeyedError(("allow", index), problem)
            if self.allow.index(name) != index:
                raise KeyedError(("allow", index), f"{name!r} is listed twice")
        renamed = {actual: r.name for actual, r in self.rename.items() if r.name}
        for index, visible in toolhive_rules.allow_renamed_away(self.allow, renamed).items():
            raise KeyedError(("allow", index), f"{self.allow[index]!r} is renamed to {visible!r} by rename; allow "
                             f"lists the names clients see (the proxy filters after renaming): write {visible!r}")
        return self


class ClientNetwork(Model):
    """Who may call the server, beyond the tenant's own (network.allowFrom of its namespace)."""

    allow_from: list[Name] = Field(
        default_factory=list,
        description="More client namespaces (outside this stack's tenants) whose pods may call this server on "
        "its proxy port; the tenant's network.allowFrom and the group's VirtualMCPServer always may.")

    @model_validator(mode="after")
    def _unique_clients(self) -> "ClientNetwork":
        for index, name in enumerate(self.allow_from):
            if self.allow_from.index(name) != index:
                raise KeyedError(("allowFrom", index), f"{name!r} is listed twice")
        return self


class ServerNetwork(ClientNetwork):
    egress: list[EgressRule] = Field(
        default_factory=list,
        description="Where the MCP server pods (backend) may connect besides DNS, e.g. [{cidr: 0.0.0.0/0, "
        "except: [169.254.169.254/32], ports: [443]}]. Empty: nowhere.")


class Storage(Model):
    """A PersistentVolumeClaim `<server>-data` mounted into the mcp container."""

    size: Quantity = Field(description="Requested storage, e.g. 5Gi.")
    storage_class: Optional[StorageClassName] = Field(None, description="StorageClass; unset: the cluster default.")
    access_mode: Literal["ReadWriteOnce", "ReadWriteOncePod", "ReadWriteMany", "ReadOnlyMany"] = Field(
        "ReadWriteOnce", description="ReadWriteMany when several backend replicas mount it.")
    mount_path: Annotated[str, Field(pattern=r"^/[A-Za-z0-9._/-]*$")] = Field("/data", description="Where it is mounted.")

    @model_validator(mode="after")
    def _not_tmp(self) -> "Storage":
        if self.mount_path.rstrip("/") in ("", "/tmp"):
            raise KeyedError(("mountPath",), f"{self.mount_path!r} is not allowed (/ is the image, /tmp the scratch volume)")
        return self


_LABEL_VALUE = r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$"


class Gpu(Model):
    """NVIDIA GPUs for the mcp container: the limit, node affinity on the product label, the GPU taint tolerated."""

    count: int = Field(1, ge=1, le=16, description="nvidia.com/gpu limit of the mcp container.")
    products: Annotated[list[Annotated[str, Field(pattern=_LABEL_VALUE)]], Field(min_length=1)] = Field(
        description="Accepted values of the node label nvidia.com/gpu.product, e.g. NVIDIA-A100-SXM4-80GB.")


class ServerSecret(Model):
    target_env_name: EnvName = Field(description="The environment variable of the MCP server that gets the value.")
    ref: SecretRef = Field(description="Where the value comes from: aws-sm://<name or arn>#<key>, "
                           "pulumi-config://<namespace>:<key> or k8s-secret://<secret>#<key>.")


class Scaling(Model):
    """The replica fields and the scaling objects around them; rules in policies/replica_rules.py."""

    replicas: Optional[int] = Field(None, ge=0, le=INT32_MAX, description="Proxy replicas; unset leaves them to an HPA/KEDA.")
    session_storage: Optional[SessionStorage] = None
    session_affinity: Optional[Literal["ClientIP", "None"]] = None
    pod_disruption_budget: bool = Field(True, description="A PDB (minAvailable 1) for the proxy pods when replicas > 1.")

    def _check_scaling(self, kind: str, spec: dict, autoscaling) -> None:
        if autoscaling is not None and autoscaling.proxy is not None and self.replicas is not None:
            raise KeyedError(("autoscaling", "proxy"), "conflicts with replicas: an HPA owns the replica count; "
                             "leave replicas unset or remove autoscaling.proxy")
        # Of the entries here only mcpServers have rate limits (spec.rateLimiting, where the CRD has it).
        if replica_rules.rate_limiting_without_redis(kind, spec):
            raise KeyedError(replica_rules.RATE_LIMITING_PATHS[kind],
                             "needs sessionStorage with provider redis (rate limits are counted in Redis)")
        if replica_rules.per_user_limit_without_identity(kind, spec):
            raise KeyedError(replica_rules.RATE_LIMITING_PATHS[kind],
                             "per-user limits need to know the user: set oidcConfigRef or externalAuthConfigRef")


class McpServerSpec(Scaling):
    image: PinnedImage = Field(description="The MCP server image, with a tag or digest (the stack's mirror applies).")
    transport: Literal["stdio", "sse", "streamable-http"] = "stdio"
    proxy_mode: Optional[Literal["sse", "streamable-http"]] = Field(None, description="How a stdio server is exposed.")
    proxy_port: Port = Field(8080, description="Where clients reach the proxy (Service mcp-<name>-proxy).")
    mcp_port: Optional[Port] = Field(None, description="Where the server listens (sse/streamable-http).")
    args: list[str] = Field(default_factory=list)
    env: dict[EnvName, str] = Field(default_factory=dict, description="Non-secret literals only; secrets go in secrets.")
    secrets: list[ServerSecret] = Field(default_factory=list)
    group: Optional[ObjectName] = Field(None, description="The MCPGroup (declared on the namespace) to join.")
    tools: Optional[Tools] = None
    service_account: Optional[Name] = None
    oidc_config_ref: Optional[OidcConfigRef] = None
    authz_config_ref: Optional[NameRef] = None
    external_auth_config_ref: Optional[NameRef] = None
    backend_replicas: Optional[int] = Field(None, ge=0, le=INT32_MAX, description="Backend replicas; unset leaves them to an HPA.")
    rate_limiting: Optional[RateLimiting] = None
    size: Literal["small", "medium", "large"] = Field("small", description="Resources of the mcp container.")
    resources: Optional[Resources] = Field(None, description="Explicit resources of the mcp container (instead of size).")
    proxy_resources: Optional[Resources] = Field(None, description="Resources of the proxy container (spec.resources).")
    read_only_root_filesystem: bool = Field(True, description="The mcp container's root filesystem is read-only "
                                            "(with a writable /tmp); opt out for servers that write elsewhere.")
    autoscaling: Optional[Autoscaling] = None
    network: ServerNetwork = Field(default_factory=ServerNetwork, description="Extra clients, and the backend's egress allowlist.")
    storage: Optional[Storage] = Field(None, description="A PersistentVolumeClaim mounted into the mcp container.")
    gpu: Optional[Gpu] = Field(None, description="NVIDIA GPUs for the mcp container.")

    @model_validator(mode="after")
    def _server_rules(self) -> "McpServerSpec":
        if self.proxy_mode is not None and self.transport != "stdio":
            raise KeyedError(("proxyMode",), "only applies to transport stdio")
        if self.mcp_port is not None and self.transport == "stdio":
            raise KeyedError(("mcpPort",), "does not apply to transport stdio (the proxy attaches to the process)")
        if self.mcp_port is None and self.transport != "stdio":
            raise KeyedError(("mcpPort",), f"is required for transport {self.transport}: the port the server listens "
                             "on, which the proxy calls and the server's NetworkPolicy opens")
        several = (self.backend_replicas or 0) > 1 or (self.autoscaling is not None and self.autoscaling.backend is not None)
        if self.storage is not None and several and self.storage.access_mode in ("ReadWriteOnce", "ReadWriteOncePod"):
            raise KeyedError(("storage", "accessMode"), f"{self.storage.access_mode} cannot be mounted by several "
                             "backend replicas (backendReplicas > 1 or autoscaling.backend); use ReadWriteMany")
        for name, value in self.env.items():
            if problem := toolhive_rules.env_value(value):
                raise KeyedError(("env", name), problem)
            if is_secret_looking(name):
                raise KeyedError(("env", name), "looks like a secret; env holds non-secret literals only, "
                                 "move it to secrets ({targetEnvName, ref})")
        targets = [secret.target_env_name for secret in self.secrets]
        for index, name in enumerate(targets):
            if targets.index(name) != index:
                raise KeyedError(("secrets", index, "targetEnvName"), f"{name!r} is set twice")
            if name in self.env:
                raise KeyedError(("secrets", index, "targetEnvName"), f"{name!r} is also a literal in env")
        existing = [existing_secret_name(secret.ref) for secret in self.secrets]
        for index, name in enumerate(existing):
            if name is not None and existing.index(name) != index:
                raise KeyedError(("secrets", index, "ref"), f"reads Secret {name!r} again; the MCPServer CRD keys "
                                 "spec.secrets by Secret name, so each entry needs a Secret of its own")
        autoscaling = self.autoscaling
        if autoscaling is not None and autoscaling.proxy is not None and self.transport == "stdio":
            raise KeyedError(("autoscaling", "proxy"), "a stdio server runs one proxy (the operator caps it at 1); "
                             "only sse and streamable-http servers scale")
        if autoscaling is not None and autoscaling.backend is not None:
            if self.transport == "stdio":
                raise KeyedError(("autoscaling", "backend"), "a stdio server runs one backend; only sse and "
                                 "streamable-http backends scale")
            if self.backend_replicas is not None:
                raise KeyedError(("autoscaling", "backend"), "conflicts with backendReplicas: an HPA owns the "
                                 "replica count; leave backendReplicas unset or remove autoscaling.backend")
        self._check_scaling("MCPServer", self.model_dump(by_alias=True, exclude_none=True), autoscaling)
        return self

    def mcp_resources(self) -> dict:
        return self.resources.as_spec() if self.resources is not None else SIZES[self.size]


def _refused_remote_host(url: str) -> str:
    """The URLs the v0.44.0 operator refuses for remoteUrl at reconcile, refused here at preview."""
    if problem := toolhive_rules.remote_url(url):
        raise ValueError(problem)
    return url


def _forwarded_header(name: str) -> str:
    if problem := toolhive_rules.forwarded_header(name):
        raise ValueError(f"header {problem}")
    return name


HeaderName = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(_forwarded_header)]


class HeaderFromSecret(Model):
    header_name: HeaderName
    ref: SecretRef


class HeaderForward(Model):
    plaintext: dict[str, str] = Field(default_factory=dict, description="Non-secret headers.")
    from_secrets: list[HeaderFromSecret] = Field(default_factory=list, description="Headers whose values are secrets.")

    @model_validator(mode="after")
    def _no_secret_literals(self) -> "HeaderForward":
        for name, value in self.plaintext.items():
            if problem := toolhive_rules.forwarded_header(name):
                raise KeyedError(("plaintext", name), f"header {problem}")
            if "\n" in value or "\r" in value:
                raise KeyedError(("plaintext", name), "value contains a newline or carriage return, which no HTTP "
                                 "request can carry")
            if is_secret_looking(name) or name.lower() in ("authorization", "cookie", "proxy-authorization"):
                raise KeyedError(("plaintext", name), "carries a credential; use fromSecrets ({headerName, ref})")
        return self


class RemoteProxySpec(Scaling):
    remote_url: Annotated[str, AfterValidator(_refused_remote_host)] = Field(description="The remote MCP server (http(s)://...).")
    transport: Literal["sse", "streamable-http"] = "streamable-http"
    proxy_port: Port = 8080
    group: Optional[ObjectName] = None
    tools: Optional[Tools] = None
    headers: Optional[HeaderForward] = None
    service_account: Optional[Name] = None
    oidc_config_ref: Optional[OidcConfigRef] = None
    authz_config_ref: Optional[NameRef] = None
    external_auth_config_ref: Optional[NameRef] = None
    proxy_resources: Optional[Resources] = Field(None, description="Resources of the proxy container (spec.resources).")
    autoscaling: Optional[ProxyAutoscaling] = None
    network: ClientNetwork = Field(default_factory=ClientNetwork, description="Extra client namespaces.")

    @model_validator(mode="after")
    def _proxy_rules(self) -> "RemoteProxySpec":
        self._check_scaling("MCPRemoteProxy", self.model_dump(by_alias=True, exclude_none=True), self.autoscaling)
        return self


class IncomingAuth(Model):
    type: Literal["anonymous", "oidc"]
    oidc_config_ref: Optional[OidcConfigRef] = None

    @model_validator(mode="after")
    def _oidc_needs_ref(self) -> "IncomingAuth":
        if (self.type == "oidc") != (self.oidc_config_ref is not None):
            raise KeyedError(("oidcConfigRef",), "is required with type oidc, and only then")
        return self


class VirtualServerSpec(Scaling):
    group: ObjectName = Field(description="The MCPGroup whose servers this VirtualMCPServer aggregates.")
    incoming_auth: IncomingAuth = Field(description="anonymous (dev stacks only) or oidc with an MCPOIDCConfig.")
    proxy_resources: Optional[Resources] = Field(None, description="Resources of the vmcp container.")
    autoscaling: Optional[ProxyAutoscaling] = None
    network: ClientNetwork = Field(default_factory=ClientNetwork, description="Extra client namespaces.")

    @model_validator(mode="after")
    def _vmcp_rules(self) -> "VirtualServerSpec":
        self._check_scaling("VirtualMCPServer", self.model_dump(by_alias=True, exclude_none=True), self.autoscaling)
        return self


class Publishable(Model):
    """Listing in the MCP registry (its kubernetes source reads the annotations these become)."""

    publish: bool = Field(False, description="List this server in the MCP registry (toolhive:registry, kubernetes source).")
    description: Optional[str] = Field(None, min_length=1, description="What the server is for (registry-description).")
    title: Optional[str] = Field(None, min_length=1, description="Display name in the registry (registry-title).")
    registry_url: Optional[Annotated[str, Field(pattern=r"^https?://[^\s]+$")]] = Field(
        None, description="The URL the registry lists (e.g. its ingress); default: the in-cluster proxy URL.")

    @model_validator(mode="after")
    def _publish_needs_description(self):
        if self.publish and not self.description:
            raise KeyedError(("description",), "is required with publish: true (the registry refuses servers without one)")
        return self


class McpServerEntry(Publishable):
    kind: Literal["MCPServer"] = "MCPServer"
    name: ServerName
    namespace: Name = Field(description="A tenant namespace of this stack.")
    spec: McpServerSpec


class RemoteProxyEntry(Publishable):
    kind: Literal["MCPRemoteProxy"] = "MCPRemoteProxy"
    name: RemoteProxyName
    namespace: Name
    spec: RemoteProxySpec


class VirtualServerEntry(Publishable):
    kind: Literal["VirtualMCPServer"] = "VirtualMCPServer"
    name: VirtualServerName
    namespace: Name
    spec: VirtualServerSpec


#: kind -> (list key under toolhive:servers, entry model)
KINDS = {"MCPServer": ("mcpServers", McpServerEntry), "MCPRemoteProxy": ("remoteProxies", RemoteProxyEntry),
         "VirtualMCPServer": ("virtualServers", VirtualServerEntry)}


class SessionStoreConfig(Model):
    """A Valkey the stack runs itself (dev): StatefulSet `valkey` with a PVC, Service `valkey`, generated
    password in Secret `valkey-auth` (key `password`) in its namespace and in every tenant namespace."""

    namespace: Optional[Name] = Field(None, description="Where it runs; unset: the operator namespace.")
    image: PinnedImage = Field("docker.io/valkey/valkey:8.1.3-alpine", description="Valkey image (the mirror applies).")
    size: Quantity = Field("1Gi", description="Its PersistentVolumeClaim (append-only file).")
    storage_class: Optional[StorageClassName] = Field(None, description="StorageClass; unset: the cluster default.")
    resources: Resources = Field(default_factory=lambda: Resources(
        requests=Amounts(cpu="50m", memory="64Mi"), limits=Amounts(cpu="500m", memory="256Mi")))


class ServersConfig(Model):
    """MCP servers of the stack: inline here, and/or one YAML file per server in `directory`."""

    directory: Optional[Annotated[str, Field(pattern=r"^[A-Za-z0-9_./-]+$")]] = Field(
        None, description="A directory (relative to the project) with one YAML file per server: "
        "{kind, name, namespace, spec}; kind defaults to MCPServer.")
    mcp_servers: list[McpServerEntry] = Field(default_factory=list)
    remote_proxies: list[RemoteProxyEntry] = Field(default_factory=list)
    virtual_servers: list[VirtualServerEntry] = Field(default_factory=list)
    session_store: Optional[SessionStoreConfig] = Field(
        None, description="Run a Redis-compatible session store (Valkey) in the cluster (v0.44.0 session storage "
        "has no TLS, so a managed Redis that takes a password only over TLS cannot serve it).")
    oidc_configs: list[OidcConfigEntry] = Field(
        default_factory=list, description="MCPOIDCConfig objects the stack creates (for oidcConfigRef).")
    external_auth_configs: list[ExternalAuthConfigEntry] = Field(
        default_factory=list, description="MCPExternalAuthConfig objects the stack creates (for externalAuthConfigRef).")
    existing: ExistingObjects = Field(
        default_factory=ExistingObjects, description="Objects servers reference that exist outside the stack; any "
        "other reference must name an object the stack creates.")
