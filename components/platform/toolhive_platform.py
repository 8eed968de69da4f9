"""The whole ToolHive platform of one stack: CRDs, tenant namespaces, the operator and team access."""
from __future__ import annotations

import pulumi

from components.config import StackConfig
from components.k8s import netpol
from components.platform.crds import ToolHiveCrds
from components.platform.namespaces import TenantNamespace
from components.platform.operator import ToolHiveOperator
from components.platform.team_rbac import TeamRbac
from components.registry.images import POSTGRES, SETUP
from components.registry.plan import RegistryPlan
from components.registry.server import RegistryServer


class ToolHivePlatform(pulumi.ComponentResource):
    """Composes the capabilities in the order a cluster needs them: CRDs first, then the rest."""

    def __init__(self, name: str, config: StackConfig, images: dict[str, str],
                 opts: pulumi.ResourceOptions | None = None, registry_plan: RegistryPlan | None = None,
                 registry_images: dict[str, str] | None = None):
        super().__init__("toolhive:platform:Platform", name, None, opts)
        release = config.images.release

        self.crds = ToolHiveCrds("crds", release, protect=config.crds.protect,
                                 opts=pulumi.ResourceOptions(parent=self))

        # A secret config value stays a Pulumi secret: encrypted in state, never printed.
        redis_password = (pulumi.Output.secret(config.default_redis_password.get_secret_value())
                          if config.default_redis_password is not None else None)
        # Every proxy keeps its sessions in the default Redis; a tenant reaches the tenants that name it a client.
        session_store = netpol.parse_address(config.operator.default_redis.addr) if config.operator.default_redis else None
        self.tenants = {
            ns.name: TenantNamespace(f"tenant-{ns.name}", ns, crds=self.crds, protect=config.namespace_protect,
                                     redis_password=redis_password, session_store=session_store,
                                     client_of=[other.name for other in config.namespaces
                                                if other.name != ns.name and ns.name in other.network.allow_from],
                                     api_server=[endpoint.text() for endpoint in config.cluster.api_server],
                                     opts=pulumi.ResourceOptions(parent=self))
            for ns in config.namespaces
        }
        namespace_resources = {name: tenant.namespace for name, tenant in self.tenants.items()}

        self.operator = ToolHiveOperator(
            "operator",
            config.operator,
            release=release,
            images=images,
            watched_namespaces=config.watched_namespaces,
            redis_secret=config.default_redis_secret,
            crds=self.crds,
            namespace_resources=namespace_resources,
            protect_namespace=config.namespace_protect,
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.team_rbac = TeamRbac(
            "team-rbac",
            config.namespaces,
            toolhive_plurals=sorted(self.crds.plurals.values()),
            namespace_resources=namespace_resources,
            aggregate_to_builtin_roles=config.team_rbac.aggregate_to_builtin_roles,
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.registry = None
        if registry_plan is not None:
            in_namespace = {**namespace_resources, self.operator.namespace_name: self.operator.namespace}
            extra = registry_images or {}
            self.registry = RegistryServer(
                "registry", registry_plan, images=images, crds=self.crds,
                setup_image=extra[SETUP], postgres_image=extra.get(POSTGRES),
                namespace_resources=namespace_resources,
                depends_on=[in_namespace[config.registry_namespace]], protect_namespace=config.namespace_protect,
                opts=pulumi.ResourceOptions(parent=self))

        self.outputs = {
            "operatorNamespace": self.operator.namespace_name,
            "release": release,
            "images": dict(images),
            "tenantNamespaces": sorted(self.tenants),
        }
        if self.registry is not None:
            self.outputs["registry"] = self.registry.outputs
        self.register_outputs(self.outputs)
