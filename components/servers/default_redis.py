"""The operator's default Redis (`toolhive:operator.defaultRedis`), as the v0.44.0 operator hands it out.

Read in the operator's source at v0.44.0 (cmd/thv-operator/controllers):
- MCPServer (`populateScalingConfig`, mcpserver_runconfig.go): when `spec.sessionStorage` is unset or its
  provider is not `redis`, the run config gets `TOOLHIVE_DEFAULT_REDIS_ADDR` as its session Redis address;
- MCPRemoteProxy (`populateScalingConfigForRemoteProxy`): the same when `spec.sessionStorage` is unset;
- but the password env var `THV_SESSION_REDIS_PASSWORD` comes only from `spec.sessionStorage.passwordRef`
  (`buildRedisPasswordEnvVar`, `buildRedisPasswordEnvVarForRemoteProxy`): the default Secret
  (`TOOLHIVE_DEFAULT_REDIS_SECRET_NAME/_KEY`) is read for VirtualMCPServers only
  (virtualmcpserver_deployment.go). A proxy that falls back to a password-protected default Redis fails
  its start-up ping and crash-loops.

So whenever the stack relies on a default Redis with a password, every MCPServer and MCPRemoteProxy that
would fall back to it is rendered with an explicit `sessionStorage` (provider redis, the default address,
`passwordRef` to the default Secret): the operator then injects the password like for any other server.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

#: Kinds whose proxies the v0.44.0 operator points at the default Redis without its password.
PASSWORDLESS_FALLBACK_KINDS = ("MCPServer", "MCPRemoteProxy")


@dataclass(frozen=True)
class DefaultRedis:
    address: str
    secret: Optional[tuple[str, str]]  # (Secret name, key) in each tenant namespace; None: no password


def of_stack(config) -> Optional[DefaultRedis]:
    """The stack's default Redis (StackConfig), or None when the operator has none."""
    redis = config.operator.default_redis
    if redis is None:
        return None
    return DefaultRedis(redis.addr, config.default_redis_secret)


def falls_back(kind: str, provider: Optional[str]) -> bool:
    """Whether the v0.44.0 operator gives this server the default Redis address (`provider`: its own
    sessionStorage provider, None when unset)."""
    if kind == "MCPServer":
        return provider != "redis"
    if kind == "MCPRemoteProxy":
        return provider is None
    return False  # VirtualMCPServer: the operator reads the default Secret itself


def explicit_storage(kind: str, provider: Optional[str], default: Optional[DefaultRedis]) -> Optional[dict]:
    """The `sessionStorage` to render instead of relying on the operator's fallback, or None when the
    fallback is safe (no default Redis, no password, or the server brings its own Redis)."""
    if default is None or default.secret is None or not falls_back(kind, provider):
        return None
    name, key = default.secret
    return {"provider": "redis", "address": default.address, "passwordRef": {"name": name, "key": key}}


def memory_overridden(kind: str, provider: Optional[str], default: Optional[DefaultRedis]) -> bool:
    """An MCPServer that asks for memory sessions gets the default Redis anyway at v0.44.0."""
    return default is not None and kind == "MCPServer" and provider == "memory"
