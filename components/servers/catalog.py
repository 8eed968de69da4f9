"""Every server of the stack, from `toolhive:servers` and from the files of its directory, checked together.

A file holds one entry, `{kind, name, namespace, spec}` (kind defaults to MCPServer). It is validated
by the very models of the inline lists, so errors read `servers/dev/fetch.yaml: spec.transport: must be
one of ...`. Then the rules that need the whole stack: the namespace is a tenant namespace of this
stack, the group is declared on it, and names are unique per namespace across kinds (each kind's
operator-created Deployment is called `<name>`). All problems are raised at once as ConfigError,
before any resource is registered.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

import yaml

from components import yaml_input
from components.config import StackConfig
from components.config.loader import parse_stack_config
from components.config.servers import KINDS, McpServerEntry, RemoteProxyEntry, VirtualServerEntry
from components.errors import ConfigError
from components.k8s.netpol import parse_address
from components.k8s import validation
from components.secret_sources import parse_reference
from components.servers import operator_objects, redis_tls, references, session_store
from components.servers.common import secret_fields, secret_name
from components.servers.common import secret_requests as of_server

PROJECT_ROOT = Path(__file__).resolve().parents[2]

Entry = Union[McpServerEntry, RemoteProxyEntry, VirtualServerEntry]


@dataclass
class Declared:
    entry: Entry
    source: str  # "toolhive:servers.mcpServers[0]" or "servers/dev/fetch.yaml"

    def where(self, key: str) -> str:
        """Where a key of this entry was written, for error messages."""
        return f"{self.source}.{key}" if self.source.startswith("toolhive:") else f"{self.source}: {key}"


@dataclass
class ServerCatalog:
    declared: list[Declared] = field(default_factory=list)
    #: files of the server directory that are not read (named, so nothing is ignored silently)
    warnings: list[str] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[Declared]:
        return [d for d in self.declared if d.entry.kind == kind]


def load_servers(config: StackConfig, root: Path = PROJECT_ROOT, *, stack: str) -> ServerCatalog:
    problems: list[str] = []
    warnings: list[str] = []
    declared = [Declared(entry, f"toolhive:servers.{key}[{index}]")
                for kind, (key, _) in KINDS.items()
                for index, entry in enumerate(getattr(config.servers, _attribute(key)))]
    if config.servers.directory:
        declared += _read_directory(config.servers.directory, root, problems)
        problems += _stray_entries(config.servers.directory, root, warnings)
    problems += _stack_rules(declared, config, stack)
    problems += _object_names(declared)
    problems += _session_store_rules(declared, config)
    problems += _session_tls_rules(declared, config)
    problems += references.declaration_problems(config)
    problems += references.reference_problems(declared, config)
    problems += _known_store_rules(declared, config)
    if problems:
        raise ConfigError(problems)
    return ServerCatalog(declared, warnings)


def _attribute(key: str) -> str:
    return {"mcpServers": "mcp_servers", "remoteProxies": "remote_proxies", "virtualServers": "virtual_servers"}[key]


def _read_directory(directory: str, root: Path, problems: list[str]) -> list[Declared]:
    path = root / directory
    if not path.is_dir():
        problems.append(f"toolhive:servers.directory: {directory} is not a directory (relative to the project)")
        return []
    found = []
    for file in sorted([*path.glob("*.yaml"), *path.glob("*.yml")]):
        shown = file.relative_to(root).as_posix() if file.is_relative_to(root) else str(file)
        try:
            document = yaml_input.load(file.read_text(encoding="utf-8"))
        except OSError as error:
            problems.append(f"{shown}: cannot read: {error.strerror or error}")
            continue
        except UnicodeDecodeError as error:
            problems.append(f"{shown}: not UTF-8 text (byte {error.start}: {error.reason}); save it as UTF-8")
            continue
        except yaml_input.DuplicateKeyError as error:
            problems.append(f"{shown}: not valid YAML: {yaml_input.describe(error)}")
            continue
        except yaml.YAMLError as error:
            problems.append(f"{shown}: not valid YAML: {error}")
            continue
        if not isinstance(document, dict):
            problems.append(f"{shown}: expected a mapping {{kind, name, namespace, spec}}")
            continue
        kind = document.get("kind", "MCPServer")
        if not isinstance(kind, str) or kind not in KINDS:
            problems.append(f"{shown}: kind: must be one of {', '.join(KINDS)} (got {kind!r})")
            continue
        key = KINDS[kind][0]
        try:
            parsed = parse_stack_config({"servers": {key: [document]}})
        except ConfigError as error:
            prefix = f"toolhive:servers.{key}[0]."
            problems += [f"{shown}: {p.removeprefix(prefix)}" for p in error.problems]
            continue
        found.append(Declared(getattr(parsed.servers, _attribute(key))[0], shown))
    return found


SERVER_FILES = (".yaml", ".yml")


def _stray_entries(directory: str, root: Path, warnings: list[str]) -> list[str]:
    """What the server directory holds besides server files: a subdirectory with YAML in it is an error
    (its servers would silently not deploy), any other file a warning. Hidden files (.gitkeep) are fine."""
    path = root / directory
    if not path.is_dir():
        return []
    problems = []
    for entry in sorted(path.iterdir()):
        shown = entry.relative_to(root).as_posix() if entry.is_relative_to(root) else str(entry)
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            nested = sorted(p.relative_to(entry).as_posix() for p in entry.rglob("*") if p.suffix in SERVER_FILES)
            if nested:
                problems.append(f"{shown}/: server files are read from the top level of toolhive:servers.directory "
                                f"only; these would not deploy: {', '.join(nested)} (move them up)")
            else:
                warnings.append(f"{shown}/: a subdirectory of toolhive:servers.directory; it is not read")
        elif entry.suffix not in SERVER_FILES:
            warnings.append(f"{shown}: not a server file (only *.yaml and *.yml are read); it is ignored")
    return problems


def is_dev_stack(stack: str) -> bool:
    return stack == "dev" or stack.startswith("dev-")


def _stack_rules(declared: list[Declared], config: StackConfig, stack: str) -> list[str]:
    tenants = {ns.name: {group.name for group in ns.groups} for ns in config.namespaces}
    problems, seen = [], {}
    for item in declared:
        entry = item.entry
        if entry.namespace not in tenants:
            allowed = ", ".join(sorted(tenants)) or "none declared in toolhive:namespaces"
            problems.append(f"{item.where('namespace')}: {entry.namespace!r} is not a tenant namespace of this "
                            f"stack ({allowed})")
            continue
        group = entry.spec.group
        if group is not None and group not in tenants[entry.namespace]:
            problems.append(f"{item.where('spec.group')}: {group!r} is not a group of namespace {entry.namespace} "
                            f"(declare it in toolhive:namespaces[].groups)")
        for index, client in enumerate(entry.spec.network.allow_from):
            if client in tenants:  # its egress comes from the tenant-level list only (allow-egress-to-tenants)
                problems.append(f"{item.where(f'spec.network.allowFrom[{index}]')}: {client!r} is a tenant namespace "
                                f"of this stack: list it in toolhive:namespaces[].network.allowFrom of "
                                f"{entry.namespace} (which also opens its egress)")
        if entry.kind == "VirtualMCPServer" and entry.spec.incoming_auth.type == "anonymous" and not is_dev_stack(stack):
            problems.append(f"{item.where('spec.incomingAuth.type')}: anonymous is for dev stacks only (this is "
                            f"stack {stack!r}); use oidc with an oidcConfigRef")
        other = seen.get((entry.namespace, entry.name))
        if other is not None:
            problems.append(f"{item.where('name')}: {entry.name!r} is already declared in namespace "
                            f"{entry.namespace} by {other.source} (the operator names its Deployment after it)")
        else:
            seen[(entry.namespace, entry.name)] = item
    return problems


def _object_names(declared: list[Declared]) -> list[str]:
    """The objects the operator and this program create for each server, named after it: each Secret the
    program writes has a valid name, and no object is wanted by two servers (or two fields) of a namespace.
    Servers sharing a name are refused by _stack_rules already."""
    problems, owners, clashes = [], {}, {}
    for item in declared:
        entry = item.entry
        # Its own ServiceAccount <name>-sa is counted either way: no other server's object can bear that name.
        wanted = [(kind, name, "name") for kind, name in operator_objects.created_objects(
            entry.kind, entry.name, transport=getattr(entry.spec, "transport", None))]
        for key, ref, field in secret_fields(entry.spec):
            if parse_reference(ref).read_at_deploy:
                secret = secret_name(entry.name, key)
                if found := validation.dns1123_subdomain(secret):
                    problems.append(f"{item.where(field)}: its value goes into Secret <name>-secret-<key>, which "
                                    f"{found[0]}; use a shorter environment variable or header name")
                    continue
                wanted.append(("Secret", secret, field))
        for kind, name, field in wanted:
            other = owners.setdefault((entry.namespace, kind, name), (item, field))
            if other == (item, field) or (other[0] is not item and other[0].entry.name == entry.name):
                continue
            if other[0] is item:
                problems.append(f"{item.where(field)}: its value would go into Secret {name!r}, like {other[1]} (the "
                                "program names a server's Secrets after the key, with '_' as '-'); rename one")
            else:
                clashes.setdefault((id(item), id(other[0])), (item, other[0], []))[2].append(f"{kind} {name!r}")
    for item, other, objects in clashes.values():
        entry, theirs = item.entry, other.entry
        more = f" (and {len(objects) - 1} more)" if len(objects) > 1 else ""
        problems.append(f"{item.where('name')}: the operator's {objects[0]}{more} for this {entry.kind} would also be "
                        f"created for {theirs.kind} {theirs.name} ({other.source}) in namespace {entry.namespace}; "
                        "rename one of them")
    return problems


def session_store_namespace(config: StackConfig) -> str:
    return config.servers.session_store.namespace or config.operator.namespace


def _points_at_store(addr: str, namespace: str) -> bool:
    address = parse_address(addr)
    return address.namespace == namespace and address.host.split(".")[0] == session_store.NAME \
        and address.port == session_store.PORT


def _session_store_rules(declared: list[Declared], config: StackConfig) -> list[str]:
    """The stack's own session store: in the operator's or a tenant namespace, and whoever points at it
    reads its generated password from its Secret."""
    if config.servers.session_store is None:
        return []
    namespace = session_store_namespace(config)
    tenants = [ns.name for ns in config.namespaces]
    if namespace != config.operator.namespace and namespace not in tenants:
        return [f"toolhive:servers.sessionStore.namespace: {namespace!r} is neither the operator namespace "
                f"({config.operator.namespace}) nor a tenant namespace of this stack"]
    wanted = f"{{name: {session_store.SECRET}, key: {session_store.SECRET_KEY}}}"
    problems = []
    for item in declared:
        storage = item.entry.spec.session_storage
        if storage is None or storage.provider != "redis" or not _points_at_store(storage.address, namespace):
            continue
        ref = storage.password_ref
        if ref is None or (ref.name, ref.key) != (session_store.SECRET, session_store.SECRET_KEY):
            problems.append(f"{item.where('spec.sessionStorage.passwordRef')}: the stack's session store at "
                            f"{storage.address} has a generated password: set passwordRef {wanted}")
    redis = config.operator.default_redis
    if redis is not None and _points_at_store(redis.addr, namespace) and \
            (redis.existing_secret, redis.existing_secret_key) != (session_store.SECRET, session_store.SECRET_KEY):
        problems.append(f"toolhive:operator.defaultRedis: points at the stack's session store ({redis.addr}), whose "
                        f"password is generated: set existingSecret: {session_store.SECRET} and existingSecretKey: "
                        f"{session_store.SECRET_KEY}")
    return problems


def _session_tls_rules(declared: list[Declared], config: StackConfig) -> list[str]:
    """A password against a managed Redis that takes one only over TLS (components/servers/redis_tls.py)."""
    problems = []
    redis = config.operator.default_redis
    if redis is not None and config.default_redis_secret is not None and redis_tls.refusal(redis.addr):
        problems.append(f"toolhive:operator.defaultRedis.addr: {redis_tls.refusal(redis.addr)}")
    for item in declared:
        storage = item.entry.spec.session_storage
        if storage is None or storage.provider != "redis" or not redis_tls.refusal(storage.address):
            continue
        problems.append(f"{item.where('spec.sessionStorage.address')}: {redis_tls.refusal(storage.address)}")
    return problems


def known_stores(config: StackConfig) -> dict[str, str]:
    """The session stores this stack knows (operator.defaultRedis) or declares (servers.sessionStore):
    `host:port` -> the key that names it."""
    stores = {}
    if config.servers.session_store is not None:
        stores[f"{session_store.NAME}.{session_store_namespace(config)}.svc.cluster.local:{session_store.PORT}"] = \
            "toolhive:servers.sessionStore"
    if config.operator.default_redis is not None:
        stores.setdefault(config.operator.default_redis.addr, "toolhive:operator.defaultRedis.addr")
    return stores


def _same_store(a: str, b: str) -> bool:
    """Two addresses of one Service (valkey.ns, valkey.ns.svc, valkey.ns.svc.cluster.local) or one host."""
    first, second = parse_address(a), parse_address(b)
    if first.port != second.port:
        return False
    if first.namespace is not None or second.namespace is not None:
        return (first.namespace, first.host.split(".")[0]) == (second.namespace, second.host.split(".")[0])
    return first.host.rstrip(".").lower() == second.host.rstrip(".").lower()


def _near_store(a: str, b: str) -> bool:
    """`a` reads like a typo of the store `b`: the same Service and namespace on another port, or a Service
    and namespace within a few letters of it (a server's own Redis elsewhere is its own business)."""
    first, second = parse_address(a), parse_address(b)
    name = lambda addr: f"{addr.host.split('.')[0]}.{addr.namespace or ''}".lower()  # noqa: E731
    return name(first) == name(second) or difflib.SequenceMatcher(None, name(first), name(second)).ratio() >= 0.85


def _known_store_rules(declared: list[Declared], config: StackConfig) -> list[str]:
    """A Redis address must be a store the stack knows or declares (when it knows any): a typo in a host
    name otherwise deploys servers whose sessions go nowhere, found only when the first client connects."""
    stores = known_stores(config)
    if not stores:
        return []
    allowed = ", ".join(f"{addr} ({key})" for addr, key in stores.items())
    problems = []
    for item in declared:
        storage = item.entry.spec.session_storage
        if storage is None or storage.provider != "redis" or not storage.address:
            continue
        if not any(_same_store(storage.address, known) for known in stores) and \
                any(_near_store(storage.address, known) for known in stores):
            problems.append(f"{item.where('spec.sessionStorage.address')}: {storage.address} is not a session store "
                            f"this stack knows; use {allowed}, or declare it in toolhive:operator.defaultRedis")
    redis = config.operator.default_redis
    if redis is not None and config.servers.session_store is not None:
        store, address = next(iter(stores)), parse_address(redis.addr)
        near = address.namespace == session_store_namespace(config) or address.host.split(".")[0] == session_store.NAME
        if near and not _same_store(redis.addr, store):
            problems.append(f"toolhive:operator.defaultRedis.addr: {redis.addr} looks like the stack's session store "
                            f"but is not it; use {store} (toolhive:servers.sessionStore)")
    return problems


def secret_requests(catalog: ServerCatalog) -> list[tuple[str, str]]:
    """(who asked, reference) for every secret reference of every server, for resolve_secrets."""
    return [(who, ref) for d in catalog.declared
            for _, ref, who in of_server(d.entry.kind, d.entry.namespace, d.entry.name, d, d.entry.spec)]
