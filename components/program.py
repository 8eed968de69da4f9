"""The Pulumi program: read and validate config, resolve images and secrets, build the platform and the
MCP servers, export outputs.

`__main__.py` runs it under the engine; tools/render.py runs the very same function under the mock
runtime, with an offline digest resolver instead of Amazon ECR and an offline secret reader instead of
AWS Secrets Manager.
"""
from __future__ import annotations

import gc
from dataclasses import dataclass
from pathlib import Path

import pulumi

from components.config import StackConfig
from components.config.cluster import require_target
from components.config.loader import load_stack_config
from components.errors import all_checked
from components.images import DigestResolver, resolve_images
from components.k8s.naming import DEFAULT_REDIS_SECRET
from components.platform.helm_adoption import adoptable_objects, patch_force_transformation
from components.platform.provider import cluster_provider
from components.platform.toolhive_platform import ToolHivePlatform
from components.registry.git_sources import PinResolver
from components.registry.images import registry_images
from components.registry.plan import RegistryPlan, plan_registry, registry_secret_requests
from components.secret_sources import SecretReader, resolve_secrets
from components.servers.catalog import PROJECT_ROOT, ServerCatalog, load_servers, secret_requests, session_store_namespace
from components.servers.images import SESSION_STORE, server_images
from components.servers import auth_configs, default_redis, session_store
from components.servers.auth_configs import AuthConfigs
from components.servers.session_store import SessionStore
from components.servers.stacks import McpServerStacks, tenant_resources


@dataclass
class Inputs:
    """Everything read and validated before the first resource is registered."""

    config: StackConfig
    catalog: ServerCatalog
    images: dict
    own_images: dict
    secret_values: dict
    registry: RegistryPlan | None
    registry_images: dict


def check_inputs(digest_resolver: DigestResolver | None = None, secret_reader: SecretReader | None = None,
                 pins: PinResolver | None = None, project_root: Path = PROJECT_ROOT) -> Inputs:
    """Config, server files, images, secrets, registry data and pins: a ConfigError naming the key or file,
    or the validated inputs. Registers nothing. `project_root`: where server directories and registry data
    files are read (tests point it elsewhere)."""
    config = load_stack_config()
    require_target(config.cluster)
    catalog = load_servers(config, root=project_root, stack=pulumi.get_stack())
    images, own_images = all_checked(lambda: resolve_images(config.images, digest_resolver),
                                     lambda: server_images(catalog, config, digest_resolver))
    secret_values = resolve_secrets([*secret_requests(catalog), *auth_configs.secret_requests(config.servers),
                                     *registry_secret_requests(config.registry)], secret_reader)
    # The registry's data, pins and passwords are checked before anything is registered.
    registry = (plan_registry(config.registry, namespace=config.registry_namespace,
                              tenant_namespaces=[ns.name for ns in config.namespaces], pins=pins,
                              secret_values=secret_values, project_root=project_root)
                if config.registry is not None else None)
    extra = registry_images(config, digest_resolver) if config.registry is not None else {}
    return Inputs(config, catalog, images, own_images, secret_values, registry, extra)


def run(digest_resolver: DigestResolver | None = None, secret_reader: SecretReader | None = None,
        pins: PinResolver | None = None) -> ToolHivePlatform:
    """Everything is validated (config, server files, images, secrets, registry data and pins) before the
    first resource is registered.

    `pins` resolves the registry's git sources: the engine entry point resolves online and records the
    commits in registry/sources.lock.json; the default (the offline renderer, tests) reads that lock only.
    """
    tune_gc()
    inputs = check_inputs(digest_resolver, secret_reader, pins)
    config, catalog, images, own_images = inputs.config, inputs.catalog, inputs.images, inputs.own_images
    secret_values, registry, extra = inputs.secret_values, inputs.registry, inputs.registry_images
    # One explicit provider for every Kubernetes object: the cluster the stack names, never the ambient one.
    provider = cluster_provider(config.cluster)
    adopt = [patch_force_transformation(adoptable_objects(config))] if config.cluster.adopt_existing else []
    platform = ToolHivePlatform("toolhive", config, images, registry_plan=registry, registry_images=extra,
                                opts=pulumi.ResourceOptions(providers=[provider], transformations=adopt))
    namespaces, groups = tenant_resources(platform, config.namespaces)
    store = None
    if config.servers.session_store is not None:
        store_ns = session_store_namespace(config)
        store = SessionStore("session-store", config.servers.session_store, namespace=store_ns,
                             namespace_resource=namespaces.get(store_ns, platform.operator.namespace),
                             tenants=namespaces, image=own_images[SESSION_STORE],
                             opts=pulumi.ResourceOptions(providers=[provider]))
    auth = (AuthConfigs("auth-configs", config.servers, crds=platform.crds, namespaces=namespaces,
                        secret_values=secret_values, opts=pulumi.ResourceOptions(providers=[provider]))
            if config.servers.oidc_configs or config.servers.external_auth_configs else None)
    servers = McpServerStacks("servers", catalog, crds=platform.crds, namespaces=namespaces, groups=groups,
                              images=own_images, secret_values=secret_values,
                              tenant_clients={ns.name: list(ns.network.allow_from) for ns in config.namespaces},
                              api_server=tuple(config.cluster.api_server),
                              written_secrets=written_secrets(platform, store), default=default_redis.of_stack(config),
                              auth_objects=auth.objects if auth else {},
                              opts=pulumi.ResourceOptions(providers=[provider]))
    # Each tenant's MCPServer count quota comes after its MCPServers (TenantNamespace.count_servers).
    for name, tenant in platform.tenants.items():
        tenant.count_servers(servers.mcp_servers(name))
    for key, value in {**platform.outputs, **servers.outputs}.items():
        pulumi.export(key, value)
    return platform


def written_secrets(platform: ToolHivePlatform, store: SessionStore | None) -> dict[tuple[str, str], pulumi.Resource]:
    """(namespace, name) -> the Secrets the stack writes that servers reference by passwordRef: the session
    store's in its own and every tenant namespace, the default Redis password in every tenant namespace."""
    written = {(ns, DEFAULT_REDIS_SECRET): tenant.redis_secret for ns, tenant in platform.tenants.items()
               if tenant.redis_secret is not None}
    if store is not None:
        written.update({(ns, session_store.SECRET): secret
                        for ns, secret in {**store.tenant_secrets, store.secret_namespace: store.secret}.items()})
    return written


#: Collect young objects every 500k allocations instead of 700: a run allocates millions of short-lived
#: objects (Outputs, futures, protobufs) and keeps most until it ends, so the default thresholds spent
#: half of a 1000-server run in the collector (README, Performance). Cycles still get collected.
GC_THRESHOLDS = (500_000, 100, 1000)


def tune_gc() -> None:
    """Freeze what is loaded so far (modules, schemas: never garbage) and raise the thresholds; once
    per process, as `pulumi up` runs the program once (tests run it many times in one process)."""
    if gc.get_threshold() != GC_THRESHOLDS:
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)
