"""Names the registry derives from toolhive:registry are valid where they land (components/k8s/validation.py).

The registry's name names its Service, ServiceAccount and the in-cluster PostgreSQL StatefulSet and
Service; a source or OAuth provider names a volume of the registry-api pod; the Ingress takes a host and
a class; every Secret reference takes a key. Each is refused naming its toolhive:registry key when the API
server would refuse what it lands in, and renders at its boundary.
"""
from __future__ import annotations

import copy

import pytest

from components.errors import ConfigError
from tests.conftest import render_config
from tests.registry.test_registry_server import NS, TENANTS

DATA = "registry/data/registry.json"


def registry(**changes) -> dict:
    base = {"sources": [{"name": "platform", "file": {"data": DATA}}], "network": {"allowFrom": ["mcp-dev"]}}
    return {**copy.deepcopy(base), **changes}


def refused(preview: bool, config: dict) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        render_config({"namespaces": TENANTS, "registry": config}, preview=preview)
    return raised.value.problems


def test_names_at_their_boundary_render(preview):
    rendered = render_config({"namespaces": TENANTS, "registry": registry(
        name="r" * 43, sources=[{"name": "s" * 58, "file": {"data": DATA}}],
        ingress={"host": "*.registry.example.com", "className": "nginx.internal", "fromNamespaces": ["ingress"]},
        database={"inCluster": {"storageClassName": "gp3.csi"}})}, preview=preview)
    assert rendered.object("StatefulSet", "r" * 43 + "-postgres", NS)
    volumes = rendered.object("Deployment", "r" * 43, NS)["spec"]["template"]["spec"]["volumes"]
    assert "data-" + "s" * 58 in [volume["name"] for volume in volumes]
    assert rendered.object("Ingress", "r" * 43, NS)["spec"]["rules"][0]["host"] == "*.registry.example.com"


@pytest.mark.parametrize("changes, key, fragment", [
    ({"name": "r" * 44}, "name", "names the StatefulSet '" + "r" * 44 + "-postgres', which must be at most 52 characters"),
    ({"name": "1registry"}, "name", "names the Service '1registry', which must be a DNS-1035 label"),
    ({"mode": "mcpRegistry", "name": "r" * 60}, "name", "names the Service '" + "r" * 60 + "-api', which must be a DNS-1035"),
    ({"sources": [{"name": "s" * 59, "file": {"data": DATA}}]}, "sources[0].name",
     "names the volume 'data-" + "s" * 59 + "', which volume name must be a DNS label"),
])
def test_a_name_that_makes_a_derived_object_invalid_is_refused(preview, changes, key, fragment):
    problems = refused(preview, registry(**changes))
    assert len(problems) == 1 and problems[0].startswith(f"toolhive:registry.{key}: ") and fragment in problems[0]


def test_an_oauth_provider_name_too_long_for_its_volume_is_refused(preview):
    auth = {"mode": "oauth", "resourceUrl": "https://registry.example.com", "providers": [
        {"name": "p" * 58, "issuerUrl": "https://auth.example.com", "audience": "registry",
         "clientSecret": {"name": "sso", "key": "secret"}}]}
    problems = refused(preview, registry(auth=auth))
    assert len(problems) == 1 and problems[0].startswith("toolhive:registry.auth.providers[0].name: names the volume "
                                                         "'oauth-" + "p" * 58 + "'")


@pytest.mark.parametrize("changes, key", [
    ({"ingress": {"host": "10.0.0.1"}}, "ingress.host"),
    ({"ingress": {"host": "Registry.example.com"}}, "ingress.host"),
    ({"ingress": {"host": "registry.example.com", "className": "Nginx"}}, "ingress.className"),
    ({"database": {"inCluster": {"storageClassName": "Fast_SSD"}}}, "database.inCluster.storageClassName"),
    ({"sources": [{"name": "g", "git": {"repository": "https://example.com/r.git", "branch": "main", "path": "r.json",
                                         "auth": {"username": "git", "passwordSecret": {"name": "t", "key": "a b"}}}}]},
     "sources[0].git.auth.passwordSecret.key"),
])
def test_an_ingress_storage_class_or_secret_key_outside_the_api_servers_rule_is_refused(preview, changes, key):
    problems = refused(preview, registry(**changes))
    assert len(problems) == 1 and problems[0].startswith(f"toolhive:registry.{key}: "), problems


def test_an_ingress_host_is_never_an_ip_address(preview):
    assert refused(preview, registry(ingress={"host": "10.0.0.1"})) == [
        "toolhive:registry.ingress.host: '10.0.0.1' is not a valid Ingress host: must be a DNS name, not an IP address"]


def test_only_sources_the_pod_mounts_name_a_volume(preview):
    """A file source is mounted as data-<name>, a git source with credentials as git-<name>; an API source and a
    git source without credentials are never mounted, so their names may be as long as a source name may be."""
    git = {"repository": "https://github.com/stacklok/toolhive-registry-server.git", "tag": "v1.3.0",
           "path": "examples/upstream-registry.json"}  # pinned in registry/sources.lock.json
    render_config({"namespaces": TENANTS, "registry": registry(sources=[
        {"name": "platform", "file": {"data": DATA}},
        {"name": "a" * 60, "api": {"endpoint": "https://registry.example.com"}, "syncInterval": "1h"},
        {"name": "g" * 60, "git": git}])}, preview=preview)
    long = "s" * 60  # git-<60> is 64 characters
    problems = refused(preview, registry(sources=[{"name": "platform", "file": {"data": DATA}}, {"name": long, "git": {
        **git, "auth": {"username": "git", "passwordSecret": {"name": "t", "key": "token"}}}}],
        existing={"secrets": ["t"]}))
    assert len(problems) == 1 and problems[0].startswith(
        f"toolhive:registry.sources[1].name: names the volume 'git-{long}', which volume name must be a DNS label")
