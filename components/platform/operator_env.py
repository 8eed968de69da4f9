"""The operator's environment contract (shared/README.md): what the manager container is told.

User-supplied env comes first and the contract after it, so the contract wins on a name clash; the
config model also rejects reserved names outright, so a clash never reaches a cluster.
"""
from __future__ import annotations

RESERVED_ENV_NAMES = frozenset({
    "POD_NAMESPACE",
    "UNSTRUCTURED_LOGS",
    "TOOLHIVE_USE_CONFIGMAP",
    "ENABLE_EXPERIMENTAL_FEATURES",
    "TOOLHIVE_ENABLE_STORAGE_VERSION_MIGRATOR",
    "WATCH_NAMESPACE",
    "TOOLHIVE_RUNNER_IMAGE",
    "VMCP_IMAGE",
    "TOOLHIVE_REGISTRY_API_IMAGE",
    "TOOLHIVE_PROXY_HOST",
    "TOOLHIVE_DEFAULT_IMAGE_PULL_SECRETS",
    "TOOLHIVE_DEFAULT_REDIS_ADDR",
    "TOOLHIVE_DEFAULT_REDIS_SECRET_NAME",
    "TOOLHIVE_DEFAULT_REDIS_SECRET_KEY",
    "GOMEMLIMIT",
    "GOGC",
})


def _flag(value: bool) -> str:
    return "true" if value else "false"


def operator_env(operator, images: dict[str, str], watched_namespaces: list[str],
                 redis_secret: tuple[str, str] | None = None) -> list[dict]:
    """The manager container's env: user entries, then the contract (which therefore wins)."""
    user = [var.model_dump(by_alias=True, exclude_none=True) for var in operator.env]
    contract = [
        {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "UNSTRUCTURED_LOGS", "value": "false"},
        {"name": "TOOLHIVE_USE_CONFIGMAP", "value": "true"},
        {"name": "ENABLE_EXPERIMENTAL_FEATURES", "value": _flag(operator.features.experimental)},
        {"name": "TOOLHIVE_ENABLE_STORAGE_VERSION_MIGRATOR", "value": _flag(operator.features.storage_version_migrator)},
    ]
    if operator.rbac.scope == "namespace":
        contract.append({"name": "WATCH_NAMESPACE", "value": ",".join(watched_namespaces)})
    contract += [
        {"name": "TOOLHIVE_RUNNER_IMAGE", "value": images["proxyRunner"]},
        {"name": "VMCP_IMAGE", "value": images["vmcp"]},
        {"name": "TOOLHIVE_REGISTRY_API_IMAGE", "value": images["registryApi"]},
        {"name": "TOOLHIVE_PROXY_HOST", "value": operator.proxy_host},
    ]
    if operator.default_image_pull_secrets:
        contract.append({"name": "TOOLHIVE_DEFAULT_IMAGE_PULL_SECRETS", "value": ",".join(operator.default_image_pull_secrets)})
    redis = operator.default_redis
    if redis is not None:
        contract.append({"name": "TOOLHIVE_DEFAULT_REDIS_ADDR", "value": redis.addr})
        if redis_secret is not None:
            contract.append({"name": "TOOLHIVE_DEFAULT_REDIS_SECRET_NAME", "value": redis_secret[0]})
            contract.append({"name": "TOOLHIVE_DEFAULT_REDIS_SECRET_KEY", "value": redis_secret[1]})
    contract += [
        {"name": "GOMEMLIMIT", "value": operator.gc.gomemlimit},
        {"name": "GOGC", "value": str(operator.gc.gogc)},
    ]
    return user + contract
