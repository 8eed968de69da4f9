"""Session storage against a managed Redis that demands TLS once a password is set.

At v0.44.0 ToolHive session storage has no TLS option: the run config carries only address, db and key
prefix (pkg/runner/config.go `SessionRedisConfig`), the vMCP's likewise, and the client dials plain TCP.
Managed services that accept a password only over TLS then refuse every proxy's start-up ping:
- Amazon ElastiCache: an AUTH token (or RBAC user) needs in-transit encryption (ElastiCache user guide,
  "Authenticating with the Valkey and Redis OSS AUTH command"); serverless caches are TLS-only;
- Azure Cache for Redis / Azure Managed Redis: the non-TLS port is disabled by default and access keys
  are always on.
Such a combination is refused before anything is registered, naming the key and what to do at v0.44.0.
"""
from __future__ import annotations

from typing import Optional

#: Host suffix -> the service, for endpoints whose password only works over TLS.
TLS_ONLY_WITH_PASSWORD = {
    ".cache.amazonaws.com": "Amazon ElastiCache",
    ".cache.amazonaws.com.cn": "Amazon ElastiCache",
    ".redis.cache.windows.net": "Azure Cache for Redis",
    ".redis.azure.net": "Azure Managed Redis",
}

WHAT_TO_DO = ("v0.44.0 session storage has no TLS option, so every proxy would fail its start-up ping. At v0.44.0 "
              "run the session store in the cluster (toolhive:servers.sessionStore, and point sessionStorage and "
              "toolhive:operator.defaultRedis at valkey.<namespace>.svc.cluster.local:6379 with Secret valkey-auth), "
              "or use a managed Redis without in-transit encryption and without a password, fenced by its "
              "security groups and the tenants' egress")


def managed_tls_service(address: str) -> Optional[str]:
    """The managed service whose endpoint this host:port is, when it needs TLS with a password."""
    host = address.rsplit(":", 1)[0].lower().rstrip(".")
    for suffix, service in TLS_ONLY_WITH_PASSWORD.items():
        if host.endswith(suffix):
            return service
    return None


def refusal(address: str) -> Optional[str]:
    """Why a password-protected session Redis at this address cannot work at v0.44.0, or None."""
    service = managed_tls_service(address)
    if service is None:
        return None
    return f"{address} is {service}, which accepts a password only over TLS; {WHAT_TO_DO}"
