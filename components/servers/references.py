"""References from servers to objects of their namespace: created by the stack, or declared existing.

What a server can name: an MCPOIDCConfig (`oidcConfigRef`, a VirtualMCPServer's `incomingAuth.oidcConfigRef`),
an MCPExternalAuthConfig (`externalAuthConfigRef`), and Secrets (`k8s-secret://` references, an explicit
`sessionStorage.passwordRef`, and the default Redis Secret the program names for proxies that would fall
back to it, components/servers/default_redis.py). The auth objects the stack creates may name Secrets too.
Each must be created by the stack or declared in `toolhive:servers.existing` (components/config/auth.py):
the v0.44.0 operator fails the reconcile on a missing MCPOIDCConfig / MCPExternalAuthConfig, and a pod
whose secretKeyRef names a missing Secret never starts.
"""
from __future__ import annotations

from components.k8s.naming import DEFAULT_REDIS_SECRET
from components.secret_sources import existing_secret_name
from components.servers import default_redis, session_store

OIDC, EXTERNAL_AUTH, SECRET = "MCPOIDCConfig", "MCPExternalAuthConfig", "Secret"
#: kind -> (the toolhive:servers list that creates it, the toolhive:servers.existing list that declares it)
WHERE = {OIDC: ("oidcConfigs", "existing.oidcConfigs"), EXTERNAL_AUTH: ("externalAuthConfigs", "existing.externalAuthConfigs"),
         SECRET: (None, "existing.secrets")}


def auth_references(entry) -> list[tuple[str, str, str]]:
    """(kind, object name, field) of the auth objects a server entry references."""
    spec, found = entry.spec, []
    incoming = getattr(spec, "incoming_auth", None)
    oidc = incoming.oidc_config_ref if incoming is not None else spec.oidc_config_ref
    if oidc is not None:
        found.append((OIDC, oidc.name, "spec.incomingAuth.oidcConfigRef.name" if incoming is not None
                      else "spec.oidcConfigRef.name"))
    external = getattr(spec, "external_auth_config_ref", None)
    if external is not None:
        found.append((EXTERNAL_AUTH, external.name, "spec.externalAuthConfigRef.name"))
    return found


def secret_references(entry, default: default_redis.DefaultRedis | None) -> list[tuple[str, str]]:
    """(Secret name, field) of the existing Secrets a server entry makes its pods read."""
    spec, found = entry.spec, []
    for index, secret in enumerate(getattr(spec, "secrets", ())):  # (a VirtualMCPServer has none)
        name = existing_secret_name(secret.ref)
        if name:
            found.append((name, f"spec.secrets[{index}].ref"))
    headers = getattr(spec, "headers", None)
    for index, header in enumerate(headers.from_secrets if headers else []):
        name = existing_secret_name(header.ref)
        if name:
            found.append((name, f"spec.headers.fromSecrets[{index}].ref"))
    storage = spec.session_storage
    if storage is not None and storage.password_ref is not None:
        found.append((storage.password_ref.name, "spec.sessionStorage.passwordRef.name"))
    implied = default_redis.explicit_storage(entry.kind, storage.provider if storage else None, default)
    if implied is not None:
        found.append((implied["passwordRef"]["name"], "spec.sessionStorage (unset: the operator's default Redis, "
                      "toolhive:operator.defaultRedis.existingSecret)"))
    return found


def auth_config_secret_references(entry) -> list[tuple[str, str]]:
    """(Secret name, field) of the existing Secrets an MCPOIDCConfig / MCPExternalAuthConfig entry reads."""
    refs = []
    inline = getattr(entry, "inline", None)
    if inline is not None and inline.client_secret:
        refs.append((inline.client_secret, "inline.clientSecret"))
    for field, sub in (("token_exchange", "client_secret"), ("header_injection", "value"), ("bearer_token", "token")):
        part = getattr(entry, field, None)
        value = getattr(part, sub, None)
        if value:
            refs.append((value, f"{type(entry).model_fields[field].alias}.{type(part).model_fields[sub].alias}"))
    return [(name, where) for name, where in ((existing_secret_name(ref), where) for ref, where in refs) if name]


def written_secrets(config) -> set[tuple[str, str]]:
    """(namespace, name) of the Secrets the stack writes in tenant namespaces that users may reference by name
    (servers and auth objects live only there; the session store's own copy outside them is read by Valkey)."""
    tenants = [ns.name for ns in config.namespaces]
    written = {(ns, session_store.SECRET) for ns in tenants} if config.servers.session_store is not None else set()
    if config.default_redis_password is not None:
        written |= {(ns, DEFAULT_REDIS_SECRET) for ns in tenants}
    return written


def reference_problems(declared: list, config) -> list[str]:
    """Every reference to an object the stack neither creates nor declares existing, naming the file or key."""
    servers = config.servers
    created = {OIDC: {(e.namespace, e.name) for e in servers.oidc_configs},
               EXTERNAL_AUTH: {(e.namespace, e.name) for e in servers.external_auth_configs},
               SECRET: written_secrets(config)}
    existing = {OIDC: {(r.namespace, r.name) for r in servers.existing.oidc_configs},
                EXTERNAL_AUTH: {(r.namespace, r.name) for r in servers.existing.external_auth_configs},
                SECRET: {(r.namespace, r.name) for r in servers.existing.secrets}}
    default = default_redis.of_stack(config)
    problems = []

    def check(where: str, who: str, kind: str, namespace: str, name: str) -> None:
        if (namespace, name) in created[kind] or (namespace, name) in existing[kind]:
            return
        creates, declares = WHERE[kind]
        made = f"created by this stack (toolhive:servers.{creates}) nor " if creates else "written by this stack nor "
        problems.append(f"{where}: {who} references {kind} {namespace}/{name}, which is neither {made}declared "
                        f"existing (toolhive:servers.{declares}: {{namespace: {namespace}, name: {name}}}); "
                        + ("the operator fails the reconcile without it" if kind != SECRET
                           else "its pods would never start without it"))

    for item in declared:
        entry = item.entry
        who = f"{entry.kind} {entry.namespace}/{entry.name}"
        for kind, name, field in auth_references(entry):
            check(item.where(field), who, kind, entry.namespace, name)
        for name, field in secret_references(entry, default):
            check(item.where(field), who, SECRET, entry.namespace, name)
    for key, kind, entries in (("oidcConfigs", OIDC, servers.oidc_configs),
                               ("externalAuthConfigs", EXTERNAL_AUTH, servers.external_auth_configs)):
        for index, entry in enumerate(entries):
            for name, field in auth_config_secret_references(entry):
                check(f"toolhive:servers.{key}[{index}].{field}", f"{kind} {entry.namespace}/{entry.name}", SECRET,
                      entry.namespace, name)
    return problems


def declaration_problems(config) -> list[str]:
    """Auth objects live in tenant namespaces, once each, and are never both created and declared existing."""
    servers, tenants = config.servers, {ns.name for ns in config.namespaces}
    problems = []
    for key, kind, entries, declared in (("oidcConfigs", OIDC, servers.oidc_configs, servers.existing.oidc_configs),
                                         ("externalAuthConfigs", EXTERNAL_AUTH, servers.external_auth_configs,
                                          servers.existing.external_auth_configs)):
        seen = set()
        existing = {(r.namespace, r.name) for r in declared}
        for index, entry in enumerate(entries):
            where = f"toolhive:servers.{key}[{index}]"
            if entry.namespace not in tenants:
                problems.append(f"{where}.namespace: {entry.namespace!r} is not a tenant namespace of this stack")
            if (entry.namespace, entry.name) in seen:
                problems.append(f"{where}.name: {kind} {entry.namespace}/{entry.name} is declared twice")
            if (entry.namespace, entry.name) in existing:
                problems.append(f"{where}.name: {kind} {entry.namespace}/{entry.name} is also declared existing "
                                f"(toolhive:servers.existing.{key}); the stack would fight its owner over it")
            seen.add((entry.namespace, entry.name))
    return problems
