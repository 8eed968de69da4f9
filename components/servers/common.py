"""Pieces every server kind shares: its Secret, its MCPToolConfig, session storage and auth references."""
from __future__ import annotations

import re

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.config.servers import SessionStorage, Tools
from components.k8s.labels import standard_labels
from components.k8s.naming import resource_name
from components.platform.crds import ToolHiveCrds
from components.secret_sources import parse_reference
from components.servers import default_redis

REDIS_PASSWORD_KEY = "redis-password"


def source_props(source, *, sized_by_preset: bool = False) -> dict[str, str]:
    """The inputs of a server's component: the file (or inline entry) it was declared in, so every finding
    about its objects names it (tools/validate/sources.py); `mcpResources: size` when the size preset, not
    spec.resources, sizes the mcp container."""
    props = {"source": source.source}
    if sized_by_preset:
        props["mcpResources"] = "size"
    return props


def server_labels(name: str, kind: str) -> dict[str, str]:
    return standard_labels(name, f"mcp-{kind.lower()}")


def secret_name(name: str, key: str) -> str:
    """One Secret per value: the MCPServer CRD keys `spec.secrets` by Secret name alone, so two values of
    one server can never share a Secret there."""
    return f"{name}-secret-{re.sub(r'[^a-z0-9]+', '-', key.lower()).strip('-')}"


def tool_config_name(name: str) -> str:
    return f"{name}-tools"


@dataclass
class SecretKeys:
    """Where each secret reference of a server ends up: (Secret name, key)."""

    secrets: list[k8s.core.v1.Secret]
    keys: dict[str, tuple[str, str]]  # reference text -> (secret name, key)


def server_secrets(name: str, namespace: str, wanted: list[tuple[str, str]], values: dict[str, pulumi.Output], *,
                   labels: dict, parent: pulumi.Resource, depends_on: list[pulumi.Resource]) -> SecretKeys:
    """A Secret `<name>-secret-<key>` per value read at deploy time (its data a Pulumi secret);
    `k8s-secret://` references point at their existing Secret instead. `wanted` is (key, reference)."""
    secrets, keys = [], {}
    for key, text in wanted:
        ref = parse_reference(text)
        if not ref.read_at_deploy:
            keys[text] = (ref.name, ref.key)
            continue
        secret = secret_name(name, key)
        keys[text] = (secret, key)
        secrets.append(k8s.core.v1.Secret(
            resource_name(namespace, "secret", secret),
            metadata={"name": secret, "namespace": namespace, "labels": labels},
            type="Opaque",
            string_data={key: values[text]},
            opts=pulumi.ResourceOptions(parent=parent, depends_on=depends_on),
        ))
    return SecretKeys(secrets, keys)


def tool_config(name: str, namespace: str, tools: Tools | None, crds: ToolHiveCrds, *, labels: dict,
                parent: pulumi.Resource, depends_on: list[pulumi.Resource]):
    """An MCPToolConfig when the server filters or renames tools."""
    if tools is None or not (tools.allow or tools.rename):
        return None
    spec: dict = {}
    if tools.allow:
        spec["toolsFilter"] = list(tools.allow)
    if tools.rename:
        spec["toolsOverride"] = {
            actual: {**({"name": r.name} if r.name else {}), **({"description": r.description} if r.description else {}),
                     **({"annotations": {"title": r.title}} if r.title else {})}
            for actual, r in tools.rename.items()
        }
    return crds.custom_resource("MCPToolConfig", tool_config_name(name), namespace, spec, labels=labels,
                                parent=parent, depends_on=depends_on)


def session_storage_spec(storage: SessionStorage | None, keys: SecretKeys, *, kind: str | None = None,
                         default: default_redis.DefaultRedis | None = None) -> dict | None:
    """The CRD's sessionStorage; explicit (the default Redis with its password) where the v0.44.0 operator
    would hand the default Redis out without its password (components/servers/default_redis.py). Without a
    default (a VirtualMCPServer's call) it is the server's own."""
    explicit = default_redis.explicit_storage(kind, storage.provider if storage else None, default)
    if explicit is not None:
        return explicit
    if storage is None:
        return None
    spec = storage.model_dump(by_alias=True, exclude_none=True, exclude={"password"})  # passwordRef as given
    if storage.password is not None:  # written into the server's Secret
        secret, key = keys.keys[storage.password]
        spec["passwordRef"] = {"name": secret, "key": key}
    return spec


def auth_refs(spec) -> dict:
    """oidcConfigRef / authzConfigRef / externalAuthConfigRef as the CRDs spell them."""
    refs = {}
    for field in ("oidc_config_ref", "authz_config_ref", "external_auth_config_ref"):
        value = getattr(spec, field)
        if value is not None:  # (their fields are one-word names, none optional; empty scopes are left out)
            refs[type(spec).model_fields[field].alias] = {k: v for k, v in value.model_dump().items() if v != []}
    return refs


def header_key(header_name: str) -> str:
    """The key of a forwarded header's value in the server's Secret: a valid Secret key for any header name."""
    return "header-" + re.sub(r"[^-._a-z0-9]+", "-", header_name.lower())


def secret_fields(spec) -> list[tuple[str, str, str]]:
    """(key in the server Secret, reference, field of the spec) for every secret a server spec references."""
    found = []
    for index, secret in enumerate(getattr(spec, "secrets", ())):  # (a VirtualMCPServer has none)
        found.append((secret.target_env_name, secret.ref, f"spec.secrets[{index}].ref"))
    headers = getattr(spec, "headers", None)
    for index, header in enumerate(headers.from_secrets if headers else []):
        found.append((header_key(header.header_name), header.ref, f"spec.headers.fromSecrets[{index}].ref"))
    storage = spec.session_storage
    if storage is not None and storage.password is not None:
        found.append((REDIS_PASSWORD_KEY, storage.password, "spec.sessionStorage.password"))
    return found


def secret_requests(kind: str, namespace: str, name: str, source, spec) -> list[tuple[str, str, str]]:
    """(key in the server Secret, reference, who asked) for every secret a server spec references."""
    who = f"{kind} {namespace}/{name}"
    return [(key, ref, f"{who} ({source.where(field)})") for key, ref, field in secret_fields(spec)]


def default_redis_warnings(kind: str, namespace: str, name: str, storage: SessionStorage | None,
                           default: default_redis.DefaultRedis | None) -> list[str]:
    if not default_redis.memory_overridden(kind, storage.provider if storage else None, default):
        return []
    return [f"{kind} {namespace}/{name}: sessionStorage provider memory is ignored by the v0.44.0 operator, which "
            f"gives the server the default Redis ({default.address}) instead; rendered with that Redis"
            + (" and its password" if default.secret else "")]
