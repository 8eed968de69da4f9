"""Stack config: the MCP registry server (`toolhive:registry`).

What a stack says about its registry in Kubernetes terms (Secrets, ConfigMaps, namespaces, files of this
repository); components/registry turns it into the server's own config.yaml, with every path derived.
Nothing here holds a credential: passwords and tokens are referenced (a Kubernetes Secret, or a Pulumi
secret config key), never written.
"""
from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit
from typing import Annotated, Literal, Optional

from pydantic import AfterValidator, Field, model_validator

from components.config.base import (Cidr, IngressClassName, IngressHost, KeyedError, Model, Name, ObjectName, PinnedImage,
                                    Port, Quantity, SecretKey, StorageClassName, _matches)
from components.config.operator import ResourceAmounts
from components.k8s import naming, validation
from components.secret_sources import SecretRef, parse_reference

# Shared with the config.yaml model (components/registry/server_config.py), which imports them from here.
_GO_DURATION = re.compile(r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$")


def _go_duration(value: str) -> str:
    if not _GO_DURATION.match(value):
        raise ValueError(f"{value!r} is not a Go duration such as 30s, 15m or 1h")
    return value


def _absolute(value: str) -> str:
    if not value.startswith("/") or "/../" in f"{value}/":
        raise ValueError(f"{value!r} is not an absolute path")
    return value


# The registry server's start-up checks (internal/config, v1.3.0). Its Go source is not available to this
# project: these rules are taken from its documentation (docs/configuration.md, authentication.md,
# database.md) and examples, and restated here so the stack refuses what the server would refuse at start.
# URLs are absolute with a host (the server dials them); an explicit port must be a number.
_SCP_LIKE = re.compile(r"^[\w.-]+@(?P<host>[\w.-]+):[^\s]+$")


def _host_and_port(value: str, schemes: tuple[str, ...]) -> str:
    """The URL itself when it has one of `schemes`, a host, and (if given) a numeric port."""
    if any(c.isspace() for c in value):
        raise ValueError(f"{value!r} contains whitespace")
    parts = urlsplit(value)
    if parts.scheme not in schemes:
        raise ValueError(f"{value!r} must be an {' or '.join(s + '://' for s in schemes)} URL with a host")
    try:
        parts.port
    except ValueError:
        raise ValueError(f"{value!r} has a port that is not a number from 1 to 65535") from None
    if not parts.hostname:
        raise ValueError(f"{value!r} has no host")
    return value


def _https(value: str) -> str:
    return _host_and_port(value, ("https",))


def _http(value: str) -> str:
    return _host_and_port(value, ("https", "http"))


def _url(value: str) -> str:
    """A git repository: http(s)://, ssh:// or git:// with a host, scp-like user@host:path, or a local file://."""
    if _SCP_LIKE.match(value) or value.startswith("file:///"):
        return value
    return _host_and_port(value, ("https", "http", "ssh", "git"))


_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")


def _database_host(value: str) -> str:
    """A hostname or IP address alone: the port has a field of its own (libpq would read `host:5432` as a name)."""
    try:
        ipaddress.ip_address(value)
        return value
    except ValueError:
        pass
    if "/" in value:  # a path, or a scheme's "://"
        raise ValueError(f"{value!r} is not a host name: give the host alone (no scheme or path)")
    if ":" in value:
        raise ValueError(f"{value!r} carries a port: give the host alone and the port in port")
    if not _HOSTNAME.match(value):
        raise ValueError(f"{value!r} is not a valid host name or IP address")
    return value


def _unique_items(values: list) -> list:
    for index, value in enumerate(values):
        if values.index(value) != index:
            raise ValueError(f"{value!r} is listed twice (item {index})")
    return values


def _class_char(chunk: str, index: int) -> int:
    """Go's getEsc: the index after one (possibly escaped) character of a `[...]` class, or ValueError."""
    if index >= len(chunk) or chunk[index] in "-]":
        raise ValueError("a '[...]' class is empty, has a range without an end, or starts a range with '-' or ']'")
    if chunk[index] == "\\":
        index += 1
        if index >= len(chunk):
            raise ValueError("'[' is not closed")
    index += 1
    if index >= len(chunk):
        raise ValueError("'[' is not closed")
    return index


def _chunk_syntax(chunk: str) -> None:
    """Go's matchChunk, reading only the pattern (a `*` as any other character): ValueError where filepath.Match
    returns ErrBadPattern."""
    index = 0
    while index < len(chunk):
        if chunk[index] == "[":
            index += 1
            if index < len(chunk) and chunk[index] == "^":
                index += 1
            has_range = False  # a "]" closes the class only after its first range
            while not (index < len(chunk) and chunk[index] == "]" and has_range):
                index = _class_char(chunk, index)
                if chunk[index] == "-":
                    index = _class_char(chunk, index + 1)
                has_range = True
            index += 1
        elif chunk[index] == "\\":
            if index + 1 >= len(chunk):
                raise ValueError("it ends in a lone '\\'")
            index += 2
        else:
            index += 1


def _glob(value: str) -> str:
    """A pattern Go's filepath.Match accepts (the registry server filters names and tags with it, v1.3.0).

    Go splits the pattern at each `*` outside a class and reports a bad part only once a name's match gets that
    far, so a pattern that works for some names fails the sync for others: the whole pattern is read as if every
    name got to its end. A `*` is then one more character: Go cuts only where no class is open, so each part
    starts where the whole reading already stands (held to 3,000 patterns Go classified, tests/data)."""
    try:
        _chunk_syntax(value)
    except ValueError as error:
        raise ValueError(f"{value!r} is not a valid glob pattern for Go's filepath.Match: {error}") from None
    return value


def _positive_duration(value: str) -> str:
    if not re.search(r"[1-9]", value):
        raise ValueError(f"{value!r} is zero; a sync interval must be positive")
    return value


def endpoint_port(url: str) -> int | None:
    """The TCP port the server dials for a git/api/OIDC URL: explicit, else its scheme's (https 443, http 80,
    ssh 22, git 9418); None for a local file:// repository."""
    match = _SCP_LIKE.match(url)
    if match:
        return 22
    parts = urlsplit(url)
    if parts.scheme == "file":
        return None
    return parts.port or {"https": 443, "http": 80, "ssh": 22, "git": 9418}[parts.scheme]


GoDuration = Annotated[str, AfterValidator(_go_duration)]
SyncInterval = Annotated[str, AfterValidator(_go_duration), AfterValidator(_positive_duration)]
DatabaseHost = Annotated[str, AfterValidator(_database_host)]
Glob = Annotated[str, Field(min_length=1), AfterValidator(_glob)]
UniqueNames = Annotated[list[Name], AfterValidator(_unique_items)]
PublicPath = Annotated[str, Field(pattern=r"^/[^\s]*$", description="A URL path of the API, starting with /.")]
AbsolutePath = Annotated[str, AfterValidator(_absolute)]
HttpsUrl = Annotated[str, AfterValidator(_https)]
HttpUrl = Annotated[str, AfterValidator(_http)]
Url = Annotated[str, AfterValidator(_url)]


class Patterns(Model):
    include: Optional[list[Glob]] = Field(None, description="Glob patterns to keep.")
    exclude: Optional[list[Glob]] = Field(None, description="Glob patterns to drop (applied after include).")


class Filter(Model):
    names: Optional[Patterns] = None
    tags: Optional[Patterns] = None


Claims = dict[str, str | list[str]]
SOURCE_KINDS = ("git", "api", "file", "managed", "kubernetes")
SYNCED_KINDS = ("git", "api", "file")


def configured_kinds(source) -> list[str]:
    """The source kinds a source (stack entry or config.yaml entry) configures; exactly one is valid."""
    return [kind for kind in SOURCE_KINDS if getattr(source, kind) is not None]

DEFAULT_NAME = "toolhive-registry"
DEFAULT_POSTGRES_IMAGE = "docker.io/library/postgres:17.6-alpine"



def _read_at_deploy(text: str) -> str:
    if not parse_reference(text).read_at_deploy:
        raise ValueError("k8s-secret://: the program writes the pgpass file, so it must read the password: use "
                         "aws-sm://<name>[#key] or pulumi-config://<namespace>:<key>")
    return text


# A password the program reads at deploy time (components/secret_sources.py, shared with the MCP servers).
SecretSource = Annotated[SecretRef, AfterValidator(_read_at_deploy)]
RepoPath = Annotated[str, AfterValidator(_matches(
    re.compile(r"^(?!/)(?!.*\.\.)[A-Za-z0-9_./-]+\.json$"), "a .json file path relative to the project root"))]


class KeyRef(Model):
    name: ObjectName = Field(description="Name of the Secret (or ConfigMap) in the registry namespace.")
    key: SecretKey = Field(description="Key inside it.")


class Resources(Model):
    requests: ResourceAmounts = Field(default_factory=lambda: ResourceAmounts(cpu="100m", memory="128Mi"))
    limits: ResourceAmounts = Field(default_factory=lambda: ResourceAmounts(cpu="500m", memory="512Mi"))


class FileSourceSpec(Model):
    data: RepoPath = Field(description="Registry data in this repository (upstream registry.json format), "
                                       "shipped as a content-hashed ConfigMap, e.g. registry/data/registry.json.")


class GitAuthSpec(Model):
    username: str = Field(min_length=1, description="git for GitHub PATs, oauth2 for GitLab tokens.")
    password_secret: KeyRef = Field(description="Secret holding the token; mounted as the server's passwordFile.")


class GitSourceSpec(Model):
    repository: Url
    branch: Optional[str] = None
    tag: Optional[str] = None
    commit: Optional[Annotated[str, Field(pattern=r"^[0-9a-f]{40}$")]] = None
    path: str = Field(min_length=1, description="Registry JSON file inside the repository.")
    pin: bool = Field(False, description="Deploy the source pinned to the resolved commit (prod) instead of "
                                         "following the branch/tag (dev). The commit is recorded in registry/sources.lock.json.")
    auth: Optional[GitAuthSpec] = None

    @model_validator(mode="after")
    def _one_ref(self) -> "GitSourceSpec":
        if sum(ref is not None for ref in (self.branch, self.tag, self.commit)) != 1:
            raise KeyedError(("branch",), "set exactly one of branch, tag and commit")
        return self

    @property
    def ref(self) -> str:
        """The ref as git names it: refs/heads/<branch>, refs/tags/<tag>, or the commit itself."""
        if self.branch:
            return f"refs/heads/{self.branch}"
        if self.tag:
            return f"refs/tags/{self.tag}"
        return self.commit


class ApiSourceSpec(Model):
    endpoint: HttpUrl = Field(description="Base URL of an MCP registry API (http(s)://host[:port], no path needed).")
    egress_cidr: Optional[Cidr] = Field(None, description="Where the endpoint lives, for the egress NetworkPolicy "
                                                          "(default: anywhere on the endpoint's port).")


class KubernetesSourceSpec(Model):
    namespaces: UniqueNames = Field(default_factory=list,
                                   description="Namespaces to list MCP servers in. Empty: every tenant namespace.")


class ManagedSourceSpec(Model):
    pass


class SourceSpec(Model):
    name: Name
    file: Optional[FileSourceSpec] = None
    git: Optional[GitSourceSpec] = None
    api: Optional[ApiSourceSpec] = None
    managed: Optional[ManagedSourceSpec] = None
    kubernetes: Optional[KubernetesSourceSpec] = None
    sync_interval: Optional[SyncInterval] = Field(None, description="syncPolicy.interval (git, api, file; default 30m).")
    filter: Optional[Filter] = None
    claims: Optional[Claims] = None

    @property
    def kind(self) -> str:
        return configured_kinds(self)[0]

    @model_validator(mode="after")
    def _one_kind(self) -> "SourceSpec":
        kinds = configured_kinds(self)
        if len(kinds) != 1:
            raise KeyedError((), f"set exactly one of {', '.join(SOURCE_KINDS)} (got {', '.join(kinds) or 'none'})")
        if kinds[0] not in SYNCED_KINDS and (self.sync_interval or self.filter):
            raise KeyedError(("syncInterval",), f"a {kinds[0]} source takes neither syncInterval nor filter")
        return self


class RegistrySpec(Model):
    name: Name
    sources: list[Name] = Field(min_length=1)
    claims: Optional[Claims] = None


class InClusterDatabase(Model):
    """A single PostgreSQL StatefulSet next to the server: for dev clusters."""

    image: PinnedImage = Field(DEFAULT_POSTGRES_IMAGE, description="A postgres image that runs as UID 70 (alpine), "
                               "with a tag or digest.")
    storage: Quantity = "1Gi"
    storage_class_name: Optional[StorageClassName] = None
    resources: Resources = Field(default_factory=lambda: Resources(
        requests=ResourceAmounts(cpu="100m", memory="256Mi"), limits=ResourceAmounts(cpu="1", memory="512Mi")))


class ExternalDatabase(Model):
    host: DatabaseHost = Field(description="Host name or IP address alone (the port goes in port).")
    port: Port = 5432
    cidr: Optional[Cidr] = Field(None, description="Network of the database, for the egress NetworkPolicy.")
    password: SecretSource = Field(description="Password of `user`: aws-sm://<name>[#key] or pulumi-config://<namespace>:<key>.")
    migration_user: Optional[str] = None
    migration_password: Optional[SecretSource] = Field(None, description="Password of migrationUser.")

    @model_validator(mode="after")
    def _migration_pair(self) -> "ExternalDatabase":
        if (self.migration_user is None) != (self.migration_password is None):
            raise KeyedError(("migrationPassword",), "migrationUser and migrationPassword go together")
        return self


#: sslMode values where libpq (and pgx, which the server uses) verify the server certificate against a CA.
VERIFYING_SSL_MODES = ("verify-ca", "verify-full")


class DatabaseSpec(Model):
    in_cluster: Optional[InClusterDatabase] = None
    external: Optional[ExternalDatabase] = None
    database: str = "toolhive_registry"
    user: str = "thv_registry"
    ssl_mode: Optional[Literal["disable", "require", "verify-ca", "verify-full"]] = Field(
        None, description="Default: disable in-cluster, verify-full for an external database.")
    max_open_conns: Optional[int] = Field(None, ge=1)
    max_idle_conns: Optional[int] = Field(None, ge=0)
    conn_max_lifetime: Optional[GoDuration] = None
    ca_bundle: Optional[KeyRef] = Field(
        None, description="A ConfigMap (in the registry namespace) with the CA bundle the database certificate is "
        "verified against, e.g. the RDS bundle global-bundle.pem; mounted, and PGSSLROOTCERT points at it. "
        "Required with sslMode verify-ca or verify-full on an external database.")

    @model_validator(mode="before")
    @classmethod
    def _default_in_cluster(cls, data):
        if isinstance(data, dict) and not {"inCluster", "in_cluster", "external"} & set(data):
            data = {**data, "inCluster": {}}
        return data

    @model_validator(mode="after")
    def _one_kind(self) -> "DatabaseSpec":
        if (self.in_cluster is None) == (self.external is None):
            raise KeyedError(("inCluster",), "set exactly one of inCluster and external")
        if self.ssl_mode is None:
            self.ssl_mode = "disable" if self.in_cluster is not None else "verify-full"
        if self.external is not None and self.ssl_mode in VERIFYING_SSL_MODES and self.ca_bundle is None:
            raise KeyedError(("caBundle",), f"is required with sslMode {self.ssl_mode}: the server verifies the "
                             "database certificate against a CA bundle (managed databases such as RDS use their "
                             "own CA, e.g. https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem); "
                             "name the ConfigMap holding it ({name, key})")
        if self.ca_bundle is not None and self.ssl_mode == "disable":
            raise KeyedError(("caBundle",), "does not apply with sslMode disable (no TLS)")
        return self


class OAuthProviderSpec(Model):
    name: Name
    issuer_url: HttpsUrl
    jwks_url: Optional[HttpsUrl] = None
    audience: str = Field(min_length=1)
    client_id: Optional[str] = None
    client_secret: Optional[KeyRef] = Field(None, description="Secret holding the client secret (clientSecretFile).")
    ca_cert: Optional[KeyRef] = Field(None, description="ConfigMap holding the CA certificate (caCertPath).")
    introspection_url: Optional[HttpsUrl] = None
    allow_private_ip: Optional[bool] = Field(None, alias="allowPrivateIP")


class AuthSpec(Model):
    mode: Literal["anonymous", "oauth"] = "anonymous"
    resource_url: Optional[HttpsUrl] = None
    realm: Optional[str] = None
    scopes_supported: Optional[list[str]] = None
    public_paths: Optional[list[PublicPath]] = None
    providers: list[OAuthProviderSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _oauth_needs_providers(self) -> "AuthSpec":
        if self.mode == "oauth" and (not self.providers or not self.resource_url):
            raise KeyedError(("providers",), "mode oauth needs resourceUrl and at least one provider")
        if self.mode == "anonymous" and self.providers:
            raise KeyedError(("providers",), "only apply with mode oauth")
        return self


class IngressSpec(Model):
    host: IngressHost = Field(description="A DNS name (a leading '*.' allowed), never an IP address.")
    class_name: Optional[IngressClassName] = None
    tls_secret: Optional[ObjectName] = None
    annotations: dict[str, str] = Field(default_factory=dict)
    from_namespaces: list[Name] = Field(default_factory=list,
                                        description="Namespaces of the ingress controller (allowed in by NetworkPolicy).")


class EgressRule(Model):
    cidr: str
    ports: list[Port] = Field(min_length=1)


class NetworkSpec(Model):
    allow_from: list[Name] = Field(default_factory=list, description="Client namespaces allowed to call the API.")
    api_server_cidr: Optional[str] = Field(None, description="Kubernetes API server network (kubernetes source); "
                                                             "default: anywhere on 443/6443.")
    egress: list[EgressRule] = Field(default_factory=list, description="Extra egress (OIDC issuers, git hosts).")


class RegistryExisting(Model):
    """Objects in the registry namespace made outside the stack (by the platform team, cert-manager, another
    stack) that the registry mounts or its Ingress names. Declaring them is the promise that they exist before the
    registry starts: a missing Secret or ConfigMap leaves its pod in ContainerCreating, which no render can see."""

    secrets: list[ObjectName] = Field(default_factory=list, description="Secrets: git tokens "
                                      "(sources[].git.auth.passwordSecret), OAuth client secrets, the Ingress TLS secret.")
    config_maps: list[ObjectName] = Field(default_factory=list, description="ConfigMaps: database.caBundle, "
                                          "auth.providers[].caCert.")


class RegistryConfig(Model):
    mode: Literal["standalone", "mcpRegistry"] = Field(
        "standalone", description="standalone: the upstream chart's objects, modelled natively (recommended). "
        "mcpRegistry: an MCPRegistry custom resource the operator reconciles (deprecated in v0.44.0).")
    name: Name = DEFAULT_NAME
    namespace: Optional[Name] = Field(None, description="Default: the operator namespace.")
    replicas: int = Field(1, ge=1, le=10)
    setup_image: PinnedImage = Field(DEFAULT_POSTGRES_IMAGE, description="Image of the setup-pgpass init container "
                                     "(standalone): anything with sh, cp and chmod, with a tag or digest.")
    resources: Resources = Field(default_factory=Resources)
    sources: list[SourceSpec] = Field(min_length=1)
    registries: list[RegistrySpec] = Field(default_factory=list,
                                           description="Default: one registry named default over every source.")
    database: DatabaseSpec = Field(default_factory=DatabaseSpec)
    auth: AuthSpec = Field(default_factory=AuthSpec)
    ingress: Optional[IngressSpec] = None
    network: NetworkSpec = Field(default_factory=NetworkSpec)
    existing: RegistryExisting = Field(default_factory=RegistryExisting,
                                       description="Secrets and ConfigMaps the registry references but the stack "
                                                   "does not create.")

    @model_validator(mode="after")
    def _registry_rules(self) -> "RegistryConfig":
        names = [source.name for source in self.sources]
        for index, name in enumerate(names):
            if names.index(name) != index:
                raise KeyedError(("sources", index, "name"), f"{name!r} is declared twice")
        if not self.registries:
            self.registries = [RegistrySpec(name="default", sources=names)]
        for index, registry in enumerate(self.registries):
            for position, name in enumerate(registry.sources):
                if name not in names:
                    raise KeyedError(("registries", index, "sources", position),
                                     f"{name!r} is not a source; sources: {', '.join(names)}")
        if self.mode == "mcpRegistry" and self.replicas != 1:
            raise KeyedError(("replicas",), "the operator runs an MCPRegistry with exactly 1 replica")
        self._derived_names()
        self._references_declared()
        return self

    def references(self) -> list[tuple[tuple, str, str]]:
        """(config path, kind, name) of every Secret and ConfigMap the registry references by name."""
        found = []
        for index, source in enumerate(self.sources):
            if source.git is not None and source.git.auth is not None:
                found.append((("sources", index, "git", "auth", "passwordSecret", "name"), "Secret",
                              source.git.auth.password_secret.name))
        for index, provider in enumerate(self.auth.providers):
            if provider.client_secret is not None:
                found.append((("auth", "providers", index, "clientSecret", "name"), "Secret", provider.client_secret.name))
            if provider.ca_cert is not None:
                found.append((("auth", "providers", index, "caCert", "name"), "ConfigMap", provider.ca_cert.name))
        if self.database.ca_bundle is not None:
            found.append((("database", "caBundle", "name"), "ConfigMap", self.database.ca_bundle.name))
        if self.ingress is not None and self.ingress.tls_secret is not None:
            found.append((("ingress", "tlsSecret"), "Secret", self.ingress.tls_secret))
        return found

    def _references_declared(self) -> None:
        """Every Secret and ConfigMap the registry names is one the stack was told exists (existing)."""
        declared = {"Secret": set(self.existing.secrets), "ConfigMap": set(self.existing.config_maps)}
        for path, kind, name in self.references():
            if name not in declared[kind]:
                where = "existing.secrets" if kind == "Secret" else "existing.configMaps"
                raise KeyedError(path, f"names the {kind} {name!r}, which this stack does not create: create it in "
                                       f"the registry namespace and declare it in {where}")

    def _derived_names(self) -> None:
        """Objects named after the registry, its sources and providers, each by the API server's rule."""
        # Not listed, as they pass whenever these do: the ServiceAccount (the Service's name, or one with the same
        # start under a looser rule: a DNS subdomain of up to 253) and the database's Service (the StatefulSet's
        # name: a DNS label of up to 63 that starts like the registry's Service, which is checked first).
        named = [(("name",), "Service", naming.registry_service(self.name, self.mode), validation.service_name)]
        if self.database.in_cluster is not None:
            named.append((("name",), "StatefulSet", naming.registry_database(self.name), validation.statefulset_name))
        for index, source in enumerate(self.sources):
            prefix = "data" if source.file else "git" if source.git and source.git.auth else None
            if prefix:
                named.append((("sources", index, "name"), "volume", naming.registry_volume(prefix, source.name),
                              validation.volume_name))
        for index, provider in enumerate(self.auth.providers):
            for prefix, used in (("oauth", provider.client_secret), ("ca", provider.ca_cert)):
                if used is not None:
                    named.append((("auth", "providers", index, "name"), "volume",
                                  naming.registry_volume(prefix, provider.name), validation.volume_name))
        for path, kind, name, rule in named:
            if problems := rule(name):
                raise KeyedError(path, f"names the {kind} {name!r}, which {problems[0]}")
