"""The configurations the cross-cutting tests sweep: the shipped stacks and the test suite's own configurations.

`test_dependencies.py` (every resource waits for what it names) and `test_secrets_everywhere.py` (every secret
input stays inside Pulumi's secret wrapper) run over each of these. The test configurations are imported from
the test modules that own them, so they stay the ones those tests use; add a configuration here when a test
module grows a new shape (a new kind of object, a new secret path). Each one costs two renders in a worker
that has not rendered it yet: keep the list to the shapes the stacks do not already have (the dev stack has
team access, the in-cluster database and the session store; staging and prod the HPAs, PDBs and AWS secrets).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from tests.conftest import STACKS, Rendered, render_config, render_stack


@dataclass(frozen=True)
class Configuration:
    """One render: `toolhive:` keys (without the prefix), other config keys, the keys the engine marks secret."""

    toolhive: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    secret_keys: tuple[str, ...] = ()
    stack: str = "test"

    def render(self, preview: bool) -> Rendered:
        return render_config(self.toolhive, preview=preview, extra=dict(self.extra),
                             secret_keys=list(self.secret_keys) or None, stack=self.stack)


def _test_configurations() -> dict[str, Configuration]:
    from tests.registry import test_registry_server as registry
    from tests.servers import test_server_secrets as server_secrets
    from tests.servers.conftest import NS, REDIS, config_with, server
    from tests import test_operator as operator
    from tests import test_secrets as secrets

    registry_secrets = dict(registry.SECRETS)
    http = {"transport": "streamable-http", "mcpPort": 8080}
    return {
        "redis password": Configuration(secrets.REDIS_WITH_PASSWORD, secret_keys=("toolhive:defaultRedisPassword",)),
        "namespace-scoped operator": Configuration(operator.NAMESPACE_SCOPE),
        "server secrets": Configuration(
            server_secrets.github_config(),
            extra={"aws:region": server_secrets.REGION, "mcp-secrets:extra": server_secrets.CONFIG_TOKEN},
            secret_keys=("mcp-secrets:extra",), stack="dev"),
        "scaled servers": Configuration(config_with(
            servers=[server("web", replicas=2, sessionStorage=REDIS, **http),
                     server("auto", sessionStorage=REDIS, autoscaling={
                         "proxy": {"minReplicas": 2, "maxReplicas": 6}, "backend": {"maxReplicas": 3}}, **http),
                     server("fetch", group="tools", tools={"allow": ["get_page"], "rename": {"fetch": {"name": "get_page"}}},
                            storage={"size": "1Gi"})],
            remote=[{"name": "remote", "namespace": NS, "spec": {"remoteUrl": "https://mcp.example.com", "replicas": 2}}],
            virtual=[{"name": "all", "namespace": NS, "spec": {"group": "tools", "incomingAuth": {"type": "anonymous"},
                                                               "replicas": 2, "sessionStorage": REDIS}}]), stack="dev"),
        "registry, standalone": Configuration(
            {"namespaces": registry.TENANTS, "registry": registry.mode(registry.FULL, "standalone")},
            extra=registry_secrets, secret_keys=tuple(registry_secrets)),
        "registry, MCPRegistry": Configuration(
            {"namespaces": registry.TENANTS, "registry": registry.mode(registry.FULL, "mcpRegistry")},
            extra=registry_secrets, secret_keys=tuple(registry_secrets)),
    }


#: name -> how to render it; the shipped stacks first.
RENDERS: dict[str, Callable[[bool], Rendered]] = {
    **{stack: (lambda preview, stack=stack: render_stack(stack, preview=preview)) for stack in STACKS},
    **{name: configuration.render for name, configuration in _test_configurations().items()},
}


def configuration(name: str) -> Configuration | None:
    """The test configuration behind a name (None for a shipped stack)."""
    return _test_configurations().get(name)
