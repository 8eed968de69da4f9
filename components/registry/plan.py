"""Everything about a registry that can be decided before any resource exists: the plan.

From the stack's `toolhive:registry` it loads and validates the file sources' data, pins the git sources,
reads the database passwords from Pulumi secret config, derives every mount path and builds the typed
config.yaml. Any problem is a ConfigError naming the key, file or source — raised before the first
resource is registered. The components only turn the plan into objects.

Paths are derived, never typed: each credential or data file gets a volume mounted at a directory of its
own below one of the roots here, and config.yaml points at the file inside it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pulumi

from components.config.registry import RegistryConfig, SourceSpec
from components.errors import ConfigError
from components.k8s import naming
from components.registry import server_config as sc
from components.registry.data import content_hash, validate_registry_data
from components.registry.git_sources import GitSourceError, LockedResolver, Pin, PinResolver

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
STANDALONE_CONFIG_DIR = "/etc/registry-server"
DATA_ROOT = "/data/sources"
GIT_SECRET_ROOT = "/secrets/git"
OAUTH_SECRET_ROOT = "/secrets/oauth"
OAUTH_CA_ROOT = "/certs/oauth"
DATABASE_CA_DIR = "/certs/database"
DATABASE_CA_FILE = f"{DATABASE_CA_DIR}/ca.crt"
PGPASS_DIR = "/pgpass"
PGPASS_FILE = f"{PGPASS_DIR}/.pgpass"
PGPASS_KEY = ".pgpass"
POSTGRES_PORT = 5432


@dataclass
class Mount:
    """One volume and where the registry-api container sees it."""

    volume: dict
    mount_path: str

    @property
    def volume_mount(self) -> dict:
        return {"name": self.volume["name"], "mountPath": self.mount_path, "readOnly": True}


@dataclass
class FileData:
    source: str
    repo_path: str
    text: str
    configmap_name: str


@dataclass
class RegistryPlan:
    config: RegistryConfig
    namespace: str
    server_config: sc.ServerConfig
    mounts: list[Mount]
    file_data: list[FileData]
    pins: dict[str, Pin]
    watch_namespaces: list[str]
    database_host: str
    db_passwords: dict[str, pulumi.Output] = field(default_factory=dict)
    #: PGSSLROOTCERT: the mounted CA bundle the database certificate is verified against, if any
    ssl_root_cert: Optional[str] = None

    @property
    def name(self) -> str:
        return self.config.name

    def config_yaml(self) -> str:
        return self.server_config.to_yaml()


def data_configmap_name(registry: str, source: str, text: str) -> str:
    """Both names are DNS labels (63 at most): the name stays far below a ConfigMap's 253."""
    return f"{registry}-data-{source}-{content_hash(text)}"


def database_service_name(registry: str) -> str:
    return naming.registry_database(registry)


def registry_secret_requests(config: Optional[RegistryConfig]) -> list[tuple[str, str]]:
    """(owner, reference) of every password the registry reads at deploy time (components/secret_sources)."""
    external = config.database.external if config is not None else None
    if external is None:
        return []
    key = "toolhive:registry.database.external"
    requests = [(f"{key}.password", external.password)]
    if external.migration_password:
        requests.append((f"{key}.migrationPassword", external.migration_password))
    return requests


def plan_registry(config: RegistryConfig, *, namespace: str, tenant_namespaces: list[str],
                  pins: Optional[PinResolver] = None, secret_values: Optional[dict[str, pulumi.Output]] = None,
                  project_root: Path = PROJECT_ROOT) -> RegistryPlan:
    """The validated plan, or a ConfigError listing every problem. `secret_values` holds the resolved
    passwords (resolve_secrets over registry_secret_requests)."""
    pins = pins or LockedResolver()
    problems: list[str] = []
    mounts: list[Mount] = []
    file_data: list[FileData] = []
    resolved: dict[str, Pin] = {}
    sources: list[dict] = []
    watch: list[str] = []
    expanded: dict[str, list[str]] = {}  # a kubernetes source -> the per-namespace sources it became

    for index, spec in enumerate(config.sources):
        key = f"toolhive:registry.sources[{index}]"
        entry: dict = {"name": spec.name}
        if spec.file is not None:
            data_file = project_root / spec.file.data
            if not data_file.is_file():
                problems.append(f"{key}.file.data: {spec.file.data} does not exist in this repository")
                continue
            try:
                text = data_file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as error:
                why = f"not UTF-8 text (byte {error.start})" if isinstance(error, UnicodeDecodeError) \
                    else f"cannot read: {error.strerror or error}"
                problems.append(f"{key}.file.data: {spec.file.data}: {why}; save it as UTF-8 JSON")
                continue
            problems += validate_registry_data(text, spec.file.data)
            name = data_configmap_name(config.name, spec.name, text)
            mount = Mount({"name": naming.registry_volume("data", spec.name), "configMap": {"name": name, "items": [
                {"key": "registry.json", "path": "registry.json"}]}}, f"{DATA_ROOT}/{spec.name}")
            mounts.append(mount)
            file_data.append(FileData(spec.name, spec.file.data, text, name))
            entry["file"] = {"path": f"{mount.mount_path}/registry.json"}
        elif spec.git is not None:
            git_entry = {"repository": spec.git.repository, "path": spec.git.path}
            try:
                pin = pins.resolve(spec.name, spec.git)
            except GitSourceError as error:
                problems.append(f"{key}.git: {error}")
                continue
            resolved[spec.name] = pin
            if spec.git.pin or spec.git.commit:
                git_entry["commit"] = pin.commit
            elif spec.git.branch:
                git_entry["branch"] = spec.git.branch
            else:
                git_entry["tag"] = spec.git.tag
            if spec.git.auth is not None:
                secret = spec.git.auth.password_secret
                mount = Mount({"name": naming.registry_volume("git", spec.name), "secret": {"secretName": secret.name, "defaultMode": 0o440,
                                                                      "items": [{"key": secret.key, "path": "password"}]}},
                              f"{GIT_SECRET_ROOT}/{spec.name}")
                mounts.append(mount)
                git_entry["auth"] = {"username": spec.git.auth.username, "passwordFile": f"{mount.mount_path}/password"}
            entry["git"] = git_entry
        elif spec.api is not None:
            entry["api"] = {"endpoint": spec.api.endpoint}
        elif spec.managed is not None:
            entry["managed"] = {}
        else:
            namespaces = spec.kubernetes.namespaces or list(tenant_namespaces)
            watch += [ns for ns in namespaces if ns not in watch]
            split = kubernetes_source_names(spec.name, namespaces)
            expanded[spec.name] = list(split)
            for split_name, watched in split.items():
                sources.append({**entry, "name": split_name, "kubernetes": {"namespaces": [watched]},
                                "claims": spec.claims})  # None when unset: config.yaml leaves it out
            continue
        _sync_and_filter(spec, entry)
        sources.append(entry)
    problems += _split_name_problems(config, expanded)

    auth = _auth(config, mounts)
    ssl_root_cert = None
    if config.database.ca_bundle is not None:
        bundle = config.database.ca_bundle
        mounts.append(Mount({"name": "database-ca", "configMap": {"name": bundle.name, "items": [
            {"key": bundle.key, "path": "ca.crt"}]}}, DATABASE_CA_DIR))
        ssl_root_cert = DATABASE_CA_FILE
    database, host, passwords = _database(config, namespace, secret_values or {}, problems)
    if problems:
        raise ConfigError(problems)
    document = {
        "sources": sources,
        "registries": [{**r.model_dump(),  # by field name, as the providers
                        "sources": [name for source in r.sources for name in expanded.get(source, [source])]}
                       for r in config.registries],
        "database": database,
        "auth": auth,
    }
    try:
        server_config = sc.ServerConfig.model_validate(document)
    except Exception as error:  # a rule of the server the stack model let through: still the user's input
        raise ConfigError([f"toolhive:registry: the generated config.yaml breaks a registry server rule: {error}"])
    return RegistryPlan(config, namespace, server_config, mounts, file_data, resolved, watch, host, passwords,
                        ssl_root_cert)


def kubernetes_source_names(name: str, namespaces: list[str]) -> dict[str, str]:
    """One kubernetes source per namespace (source name -> namespace): over several namespaces, v1.3.0 keeps
    one entry set per source and each namespace's event deletes the others' entries as orphans (upstream
    toolhive-registry-server issue #886). A source over one namespace keeps its name; over several, each
    becomes `<name>-<namespace>`, and every registry that lists the source lists them all."""
    if len(namespaces) == 1:
        return {name: namespaces[0]}
    return {f"{name}-{namespace}": namespace for namespace in namespaces}


def _split_name_problems(config: RegistryConfig, expanded: dict[str, list[str]]) -> list[str]:
    declared = [source.name for source in config.sources]
    problems = []
    for index, source in enumerate(config.sources):
        for name in [name for name in expanded.get(source.name, []) if name != source.name]:  # the split ones
            if len(name) > 63:
                problems.append(f"toolhive:registry.sources[{index}].name: the per-namespace source {name!r} "
                                "(one kubernetes source per namespace, upstream issue #886) is longer than 63 "
                                "characters; shorten the source name or declare one source per namespace")
            elif name in declared:
                problems.append(f"toolhive:registry.sources[{index}].name: the per-namespace source {name!r} "
                                "(one kubernetes source per namespace, upstream issue #886) clashes with the "
                                "source of that name; rename one of them")
    return problems


def _sync_and_filter(spec: SourceSpec, entry: dict) -> None:
    if spec.kind in sc.SYNCED_KINDS:
        entry["syncPolicy"] = {"interval": spec.sync_interval or "30m"}
        if spec.filter is not None:  # names and tags as config.yaml spells them; unset ones dropped by to_yaml
            entry["filter"] = spec.filter.model_dump()
    if spec.claims:
        entry["claims"] = spec.claims


def _auth(config: RegistryConfig, mounts: list[Mount]) -> dict:
    auth = config.auth
    result: dict = {"mode": auth.mode}
    if auth.public_paths:
        result["publicPaths"] = auth.public_paths
    if auth.mode == "anonymous":
        return result
    providers = []
    for provider in auth.providers:
        # By field name: config.yaml's model takes them (populate_by_name), writes camelCase, drops the unset ones.
        entry = provider.model_dump(exclude={"client_secret", "ca_cert"})
        if provider.client_secret is not None:
            mount = Mount({"name": naming.registry_volume("oauth", provider.name), "secret": {
                "secretName": provider.client_secret.name, "defaultMode": 0o440,
                "items": [{"key": provider.client_secret.key, "path": "client-secret"}]}},
                f"{OAUTH_SECRET_ROOT}/{provider.name}")
            mounts.append(mount)
            entry["clientSecretFile"] = f"{mount.mount_path}/client-secret"
        if provider.ca_cert is not None:
            mount = Mount({"name": naming.registry_volume("ca", provider.name), "configMap": {
                "name": provider.ca_cert.name, "items": [{"key": provider.ca_cert.key, "path": "ca.crt"}]}},
                f"{OAUTH_CA_ROOT}/{provider.name}")
            mounts.append(mount)
            entry["caCertPath"] = f"{mount.mount_path}/ca.crt"
        providers.append(entry)
    oauth = {"resourceUrl": auth.resource_url, "providers": providers}
    if auth.realm:
        oauth["realm"] = auth.realm
    if auth.scopes_supported:
        oauth["scopesSupported"] = auth.scopes_supported
    result["oauth"] = oauth
    return result


def _database(config: RegistryConfig, namespace: str, secret_values: dict, problems: list[str]) -> tuple[dict, str, dict]:
    db = config.database
    passwords: dict[str, pulumi.Output] = {}
    if db.external is not None:
        host, port = db.external.host, db.external.port
        secrets = [("password", db.user, db.external.password)]
        if db.external.migration_password is not None:
            secrets.append(("migrationPassword", db.external.migration_user, db.external.migration_password))
        for field_name, user, source in secrets:
            if source in secret_values:
                passwords[user] = secret_values[source]
            else:
                problems.append(f"toolhive:registry.database.external.{field_name}: {source} was not resolved")
    else:
        host, port = f"{database_service_name(config.name)}.{namespace}.svc.cluster.local", POSTGRES_PORT
    document = {"host": host, "port": port, "user": db.user, "database": db.database, "sslMode": db.ssl_mode}
    if db.external is not None and db.external.migration_user:
        document["migrationUser"] = db.external.migration_user
    for key in ("max_open_conns", "max_idle_conns", "conn_max_lifetime"):
        if getattr(db, key) is not None:
            document[sc.to_camel(key)] = getattr(db, key)
    return document, host, passwords
