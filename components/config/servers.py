"""Stack config: MCP servers (`toolhive:servers`), inline or one YAML file per server.

Three kinds, each an entry `{kind, name, namespace, spec}`: MCPServer (runs an image), MCPRemoteProxy
(fronts a server that lives elsewhere) and VirtualMCPServer (aggregates one MCPGroup). The same models
read the inline lists and the files of `toolhive:servers.directory`, so both give the same errors and
the JSON Schema covers both. Rules that need the whole stack (tenant namespace, group declared, names
unique per namespace) are in components/servers/catalog.py.
"""
from __future__ import annotations

import ipaddress
from typing import Annotated, Literal, Optional
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, model_validator

from components.config.base import EnvName, ImageRef, KeyedError, Model, Name, ObjectName, Port, Quantity
from components.config.tenants import EgressRule
from components.secret_sources import SecretRef, existing_secret_name
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


def _image_pinned(value: str) -> str:
    last = value.rsplit("/", 1)[-1]
    tag = last.split("@", 1)[0].partition(":")[2]
    if "@sha256:" not in value and not tag:
        raise ValueError(f"{value!r} has no tag or digest; pin a release tag (image:1.2.3) or a digest (image@sha256:...)")
    if tag == "latest" and "@sha256:" not in value:
        raise ValueError(f"{value!r} uses the moving tag 'latest'; pin a release tag or a digest")
    return value


def _max_length(limit: int, why: str):
    def check(value: str) -> str:
        if len(value) > limit:
            raise ValueError(f"{value!r} is longer than {limit} characters ({why})")
        if value in RESERVED_NAMES:
            raise ValueError(f"{value!r} is reserved: a server with this name makes the operator's pod "
                             f"selectors ambiguous (never {', '.join(RESERVED_NAMES)})")
        return value

    return check


PinnedImage = Annotated[ImageRef, AfterValidator(_image_pinned)]
# The operator names Services after the server: mcp-<name>-headless, mcp-<name>-remote-proxy, vmcp-<name>.
ServerName = Annotated[Name, AfterValidator(_max_length(50, "the operator's Service mcp-<name>-headless must fit 63"))]
RemoteProxyName = Annotated[Name, AfterValidator(_max_length(46, "the operator's Service mcp-<name>-remote-proxy must fit 63"))]
VirtualServerName = Annotated[Name, AfterValidator(_max_length(58, "the operator's Service vmcp-<name> must fit 63"))]


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
    key: Annotated[str, Field(min_length=1)]


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
    title: Optional[str] = Field(None, description="A human-readable title (annotations.title).")


class Tools(Model):
    """Tool filtering and renaming: an MCPToolConfig `<server>-tools` referenced by toolConfigRef."""

    allow: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list, description="Only these tools are exposed.")
    rename: dict[str, ToolRename] = Field(default_factory=dict, description="Actual tool name -> what clients see.")

    @model_validator(mode="after")
    def _unique(self) -> "Tools":
        if "allow" in self.model_fields_set and not self.allow:
            raise KeyedError(("allow",), "is empty, which filters nothing: the operator then exposes every tool. "
                             "List the tools to expose (the operator has no way to expose none: remove the "
                             "server instead), or drop allow to expose them all")
        for index, name in enumerate(self.allow):
            if self.allow.index(name) != index:
                raise KeyedError(("allow", index), f"{name!r} is listed twice")
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
    storage_class: Optional[ObjectName] = Field(None, description="StorageClass; unset: the cluster default.")
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
        if replica_rules.rate_limiting_without_redis(kind, spec):
            raise KeyedError(tuple(replica_rules.rate_limiting_field(kind).split(".")),
                             "needs sessionStorage with provider redis (rate limits are counted in Redis)")
        if replica_rules.per_user_limit_without_identity(kind, spec):
            who = "incomingAuth type oidc" if kind == "VirtualMCPServer" else "oidcConfigRef or externalAuthConfigRef"
            raise KeyedError(tuple(replica_rules.rate_limiting_field(kind).split(".")),
                             f"per-user limits need to know the user: set {who}")


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
        for name in self.env:
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


#: Go's net.IP.IsPrivate, which the operator uses: RFC 1918 and RFC 4193 (ULA), nothing more.
_PRIVATE_NETWORKS = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")]


def _refused_remote_host(url: str) -> str:
    """The hosts the v0.44.0 operator refuses for remoteUrl at reconcile, refused here at preview."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http(s) URL with a host")
    host = parts.hostname.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost") or host.endswith(".cluster.local") \
            or host == "cluster.local" or host.startswith("kubernetes.default"):
        raise ValueError(f"host {host!r} is inside the cluster or the machine; the operator refuses it "
                         "(remote proxies reach servers outside the cluster)")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return url
    if address.is_loopback or address.is_link_local or address.is_unspecified or any(
            address in network for network in _PRIVATE_NETWORKS if network.version == address.version):
        raise ValueError(f"address {host} is loopback, link-local or private (RFC 1918/ULA); the operator refuses it")
    return url


class HeaderFromSecret(Model):
    header_name: Annotated[str, Field(min_length=1, max_length=255)]
    ref: SecretRef


class HeaderForward(Model):
    plaintext: dict[str, str] = Field(default_factory=dict, description="Non-secret headers.")
    from_secrets: list[HeaderFromSecret] = Field(default_factory=list, description="Headers whose values are secrets.")

    @model_validator(mode="after")
    def _no_secret_literals(self) -> "HeaderForward":
        for name in self.plaintext:
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
    storage_class: Optional[ObjectName] = Field(None, description="StorageClass; unset: the cluster default.")
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
        None, description="Run a Redis-compatible session store (Valkey) in the cluster: for dev stacks; "
        "staging and prod point sessionStorage and operator.defaultRedis at a managed endpoint.")
