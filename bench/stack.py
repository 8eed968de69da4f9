"""Stacks of N MCP servers, the shape a platform team grows into: tenants of ~20 servers each.

Every tenant namespace holds one VirtualMCPServer over its group, remote proxies and MCPServers of every
transport, with replica settings from "left to an HPA" to HA behind Redis, and secrets by reference
(`aws-sm://`, `pulumi-config://`, `k8s-secret://`). The offline renderer never calls AWS: the references
resolve to placeholders. `stack_file(n)` is a Pulumi.<stack>.yaml document for `python -m tools.render`.

Extensions (`EXTENSIONS`) add the parts that only some versions of the program have (the registry): each
looks at the StackConfig model and adds its key only when the program knows it, so the bench keeps
running on older and newer mains alike.
"""
from __future__ import annotations

from typing import Any, Callable

PER_TENANT = 20
REDIS = "valkey.toolhive-system.svc.cluster.local:6379"
#: A `secure:` value: the renderer masks it without decrypting (any ciphertext does).
SECURE = {"secure": "AAABAJ0bench0ciphertext0never0decrypted"}
TOKEN_KEY = "bench:githubToken"
#: Room for PER_TENANT servers' pods (the dry run holds them to the tenant's quota, as the API server does).
QUOTA = {"requestsCpu": "16", "requestsMemory": "32Gi", "limitsCpu": "48", "limitsMemory": "96Gi", "pods": 120}


def _redis(i: int) -> dict:
    password = ({"password": f"aws-sm://bench/valkey#password"} if i % 2 else
                {"passwordRef": {"name": "valkey-auth", "key": "password"}})
    return {"provider": "redis", "address": REDIS, **password}


def mcp_server(i: int, namespace: str) -> dict:
    """Mixed transports and replica settings; every pattern the README documents appears."""
    pattern = i % 6
    spec: dict[str, Any] = {"image": f"ghcr.io/stackloklabs/gofetch/server:1.0.{i % 3}", "group": "default"}
    if pattern == 0:  # stdio, one proxy, a token from AWS Secrets Manager, filtered tools
        spec.update(transport="stdio", secrets=[{"targetEnvName": "GITHUB_TOKEN", "ref": f"aws-sm://bench/{namespace}/github#token"}],
                    tools={"allow": ["get"], "rename": {"fetch": {"name": "get"}}})
    elif pattern == 1:  # streamable-http, HA behind Redis (PDB)
        spec.update(transport="streamable-http", mcpPort=8080, replicas=2, backendReplicas=2, sessionStorage=_redis(i))
    elif pattern == 2:  # HPA-owned proxy and backend
        spec.update(transport="streamable-http", mcpPort=8080, sessionStorage=_redis(i),
                    autoscaling={"proxy": {"minReplicas": 2, "maxReplicas": 5}, "backend": {"minReplicas": 1, "maxReplicas": 4}})
    elif pattern == 3:  # sse, a secret from stack config, size medium
        spec.update(transport="sse", mcpPort=8080, replicas=1, size="medium",
                    secrets=[{"targetEnvName": "API_TOKEN", "ref": f"pulumi-config://{TOKEN_KEY}"}])
    elif pattern == 4:  # stdio exposed as streamable-http, an existing Secret
        spec.update(transport="stdio", proxyMode="streamable-http", env={"LOG_LEVEL": "info"},
                    secrets=[{"targetEnvName": "UPSTREAM_KEY", "ref": "k8s-secret://upstream#key"}])
    else:  # replicas unset, explicit resources
        spec.update(transport="streamable-http", mcpPort=9090,
                    resources={"requests": {"cpu": "200m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}})
    return {"name": f"srv-{i:05d}", "namespace": namespace, "spec": spec}


def remote_proxy(i: int, namespace: str) -> dict:
    spec: dict[str, Any] = {"remoteUrl": f"https://mcp{i % 7}.example.com/mcp", "group": "default",
                            "headers": {"plaintext": {"X-Tenant": namespace},
                                        "fromSecrets": [{"headerName": "X-Api-Key", "ref": f"aws-sm://bench/remote{i % 7}#key"}]}}
    if i % 2:
        spec.update(replicas=2, sessionStorage=_redis(i))
    return {"name": f"rp-{i:05d}", "namespace": namespace, "spec": spec}


def virtual_server(namespace: str) -> dict:
    return {"name": "gateway", "namespace": namespace,
            "spec": {"group": "default", "replicas": 2, "sessionStorage": _redis(1),
                     "incomingAuth": {"type": "oidc", "oidcConfigRef": {"name": "corp-sso", "audience": namespace}}}}


def tenant(index: int) -> dict:
    name = f"team-{index:04d}"
    return {"name": name, "groups": [{"name": "default"}], "network": {"allowFrom": ["agents"]},
            "access": {"editors": {"groups": [name]}, "viewers": {"groups": ["engineering"]}},
            "quota": QUOTA}


def stack_config(n: int) -> dict[str, Any]:
    """The `config:` of a stack with n servers (MCPServers, remote proxies, one vMCP per tenant)."""
    tenants = max(1, -(-n // PER_TENANT))
    namespaces = [tenant(t) for t in range(tenants)]
    servers: dict[str, list] = {"mcpServers": [], "remoteProxies": [], "virtualServers": []}
    for i in range(n):
        t, slot = divmod(i, PER_TENANT)
        namespace = namespaces[t]["name"]
        if slot == 0:
            servers["virtualServers"].append(virtual_server(namespace))
        elif slot % 5 == 0:
            servers["remoteProxies"].append(remote_proxy(i, namespace))
        else:
            servers["mcpServers"].append(mcp_server(i, namespace))
    config: dict[str, Any] = {
        "toolhive:cluster": {"context": "bench"},
        "toolhive:operator": {"replicas": 2, "podDisruptionBudget": {"enabled": True},
                              "defaultRedis": {"addr": REDIS, "existingSecret": "valkey-auth"}},
        "toolhive:namespaces": namespaces,
        "toolhive:servers": servers,
        TOKEN_KEY: SECURE,
    }
    for extend in EXTENSIONS:
        extend(config, n)
    return config


def _config_keys() -> set[str]:
    from components.config import StackConfig

    return {field.alias or name for name, field in StackConfig.model_fields.items()}


#: What `toolhive:registry` gets: staging's shape (this repository's data and the cluster's published
#: servers, an external PostgreSQL whose passwords are Pulumi secrets).
REGISTRY_CONFIG: dict[str, Any] = {
    "replicas": 2,
    "sources": [{"name": "platform", "file": {"data": "registry/data/registry.json"}, "syncInterval": "15m"},
                {"name": "cluster", "kubernetes": {}}],
    "database": {"external": {"host": "registry-db.bench.example.com", "cidr": "10.0.0.0/16",
                              "password": "pulumi-config://registry:dbPassword", "migrationUser": "thv_registry_migrator",
                              "migrationPassword": "pulumi-config://registry:dbMigrationPassword"}},
    "network": {"allowFrom": ["agents"]},
}
REGISTRY_SECRETS = ("registry:dbPassword", "registry:dbMigrationPassword")


def _registry(config: dict[str, Any], n: int) -> None:
    """One registry server (toolhive:registry) and some published servers, once the program has them."""
    if "registry" not in _config_keys():
        return
    config["toolhive:registry"] = REGISTRY_CONFIG
    from components.config.registry import DatabaseSpec

    if "ca_bundle" in DatabaseSpec.model_fields:  # verify-full against the CA bundle, once the program mounts one
        config["toolhive:registry"] = {**REGISTRY_CONFIG, "database": {
            **REGISTRY_CONFIG["database"], "caBundle": {"name": "db-ca-bundle", "key": "ca.crt"}}}
    from components.config.registry import RegistryConfig

    if "existing" in RegistryConfig.model_fields and "caBundle" in config["toolhive:registry"].get("database", {}):
        config["toolhive:registry"]["existing"] = {"configMaps": ["db-ca-bundle"]}  # declared, once the program asks
    config.update({key: SECURE for key in REGISTRY_SECRETS})
    for index, entry in enumerate(config["toolhive:servers"]["mcpServers"]):
        if index % 4 == 0:
            entry.update(publish=True, description=f"Bench server {entry['name']}")


def _existing(config: dict[str, Any], n: int) -> None:
    """The objects the servers reference and a platform team keeps outside the stack (the Redis password,
    the upstream key, the company MCPOIDCConfig), declared once the program checks references."""
    from components.config.servers import ServersConfig

    if "existing" not in {field.alias or name for name, field in ServersConfig.model_fields.items()}:
        return
    tenants = [ns["name"] for ns in config["toolhive:namespaces"]]
    config["toolhive:servers"]["existing"] = {
        "secrets": [{"namespace": ns, "name": name} for ns in tenants for name in ("valkey-auth", "upstream")],
        "oidcConfigs": [{"namespace": ns, "name": "corp-sso"} for ns in tenants],
    }


EXTENSIONS: list[Callable[[dict[str, Any], int], None]] = [_registry, _existing]


def stack_file(n: int) -> dict[str, Any]:
    return {"config": stack_config(n)}
