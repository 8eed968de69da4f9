"""The registry server (v1.3.0) at start-up: what its `internal/config` checks, what it dials, and the
database TLS it verifies. Each rule: a value just outside is refused naming its `toolhive:registry` key,
the value at the boundary renders; the config.yaml model refuses it too (the last line before the server).

The server's Go source is not available here; the rules come from its documentation and examples
(components/config/registry.py says so where they are written)."""
from __future__ import annotations

import copy
import re

import pytest
from pydantic import ValidationError

from components.config.registry import RegistryConfig
from components.errors import ConfigError
from components.registry.network import endpoint_egress
from components.registry.server_config import ServerConfig
from tests.conftest import render_config
from tools.mock_runtime import ProgramRun
from tools.validate import reachability

NS = "toolhive-system"
TENANTS = [{"name": "mcp-dev"}, {"name": "mcp-data"}]
FILE = {"name": "platform", "file": {"data": "registry/data/registry.json"}}
SECRETS = {"registry:dbPassword": "db-pass-SECRET"}
EXTERNAL = {"host": "db.example.com", "cidr": "10.0.0.0/16", "password": "pulumi-config://registry:dbPassword"}


def registry(**changes) -> dict:
    base = {"sources": [FILE], "network": {"allowFrom": ["mcp-dev"]}}
    return {**base, **changes}


def render(reg: dict, preview: bool, **toolhive):
    return render_config({"namespaces": TENANTS, "registry": reg, **toolhive}, preview=preview, extra=dict(SECRETS),
                         secret_keys=list(SECRETS))


def refused(reg: dict, preview: bool) -> list[str]:
    run = ProgramRun()
    with pytest.raises(ConfigError) as raised:
        render_config({"namespaces": TENANTS, "registry": reg}, preview=preview, extra=dict(SECRETS),
                      secret_keys=list(SECRETS), into=run)
    assert [r.type for r in run.resources] == ["pulumi:pulumi:Stack"], "nothing may be registered"
    return raised.value.problems


def api(endpoint: str, **extra) -> dict:
    return {"name": "federated", "api": {"endpoint": endpoint, **extra}, "syncInterval": "1h"}


def git(repository: str) -> dict:
    return {"name": "upstream", "git": {"repository": repository, "commit": "a" * 40, "path": "r.json"}}


def oauth(**provider) -> dict:
    return {"mode": "oauth", "resourceUrl": "https://registry.example.com",
            "providers": [{"name": "sso", "issuerUrl": "https://auth.example.com", "audience": "api://r", **provider}]}


def config_yaml(rendered) -> ServerConfig:
    return ServerConfig.from_yaml(rendered.object("ConfigMap", "toolhive-registry-config", NS)["data"]["config.yaml"])


# -- internal/config: what the server refuses at start ---------------------------------------------------------

OUT_OF_BOUNDS = {
    "api endpoint without host": (registry(sources=[FILE, api("https:///v0.1")]),
                                  "toolhive:registry.sources[1].api.endpoint", "no host"),
    "api endpoint over ssh": (registry(sources=[FILE, api("ssh://registry.example.com")]),
                              "toolhive:registry.sources[1].api.endpoint", "https:// or http:// URL"),
    "api endpoint with a bad port": (registry(sources=[FILE, api("https://registry.example.com:https")]),
                                     "toolhive:registry.sources[1].api.endpoint", "port"),
    "git repository without host": (registry(sources=[FILE, git("https:///org/repo.git")]),
                                    "toolhive:registry.sources[1].git.repository", "no host"),
    "issuer without host": (registry(auth=oauth(issuerUrl="https://")), "toolhive:registry.auth.providers[0].issuerUrl",
                            "no host"),
    "jwks without host": (registry(auth=oauth(jwksUrl="https:///jwks")), "toolhive:registry.auth.providers[0].jwksUrl",
                          "no host"),
    "resource URL without host": (registry(auth={**oauth(), "resourceUrl": "https://"}),
                                  "toolhive:registry.auth.resourceUrl", "no host"),
    "database host with a port": (registry(database={"external": {**EXTERNAL, "host": "db.example.com:5432"},
                                                     "sslMode": "require"}),
                                  "toolhive:registry.database.external.host", "port in port"),
    "database host as a URL": (registry(database={"external": {**EXTERNAL, "host": "postgres://db.example.com"},
                                                  "sslMode": "require"}),
                               "toolhive:registry.database.external.host", "no scheme"),
    "database host with a path": (registry(database={"external": {**EXTERNAL, "host": "db.example.com/registry"},
                                                    "sslMode": "require"}),
                                  "toolhive:registry.database.external.host",
                                  "'db.example.com/registry' is not a host name: give the host alone (no scheme or path)"),
    "database host not a DNS name": (registry(database={"external": {**EXTERNAL, "host": "db_1.example.com"},
                                                       "sslMode": "require"}),
                                     "toolhive:registry.database.external.host",
                                     "'db_1.example.com' is not a valid host name or IP address"),
    "api endpoint with a space": (registry(sources=[FILE, api("https://registry.example.com/v0 .1")]),
                                  "toolhive:registry.sources[1].api.endpoint",
                                  "'https://registry.example.com/v0 .1' contains whitespace"),
    "kubernetes namespace twice": (registry(sources=[FILE, {"name": "cluster", "kubernetes": {
        "namespaces": ["mcp-dev", "mcp-dev"]}}]), "toolhive:registry.sources[1].kubernetes.namespaces", "listed twice"),
    "zero sync interval": (registry(sources=[{**FILE, "syncInterval": "0s"}]), "toolhive:registry.sources[0].syncInterval",
                           "positive"),
    "unclosed glob": (registry(sources=[{**FILE, "filter": {"names": {"include": ["official/[a-z"]}}}]),
                      "toolhive:registry.sources[0].filter.names.include[0]", "glob"),
    "public path without /": (registry(auth={"mode": "anonymous", "publicPaths": ["metrics"]}),
                              "toolhive:registry.auth.publicPaths[0]", ""),
    "api egressCidr not a CIDR": (registry(sources=[FILE, api("https://registry.example.com", egressCidr="10.0.0.0/33")]),
                                  "toolhive:registry.sources[1].api.egressCidr", ""),
}


@pytest.mark.parametrize("case", OUT_OF_BOUNDS.values(), ids=OUT_OF_BOUNDS.keys())
def test_what_the_registry_server_refuses_at_start_is_refused_naming_its_key(case, preview):
    reg, key, words = case
    problems = refused(reg, preview)
    assert any(p.startswith(f"{key}: ") and words in p for p in problems), problems


#: Every boundary value at once, and every kind of endpoint on its own port: one render serves the tests below.
AT_THE_BOUNDARY = registry(
    sources=[{**FILE, "syncInterval": "1s", "filter": {"names": {"include": ["official/[a-z]*"]}}},
             api("http://registry.corp.example.com"), {**api("https://mirror.example.com:8443"), "name": "mirror"},
             {**api("https://internal.example.com:9000", egressCidr="10.9.0.0/16"), "name": "internal"}],
    database={"external": {**EXTERNAL, "host": "10.0.3.4"}, "sslMode": "require"},
    auth={**oauth(jwksUrl="https://keys.example.com:9443/jwks", introspectionUrl="https://auth.example.com/introspect"),
          "publicPaths": ["/metrics"]})


def test_the_values_at_the_boundary_render(preview):
    config = config_yaml(render(AT_THE_BOUNDARY, preview))
    assert config.database.host == "10.0.3.4" and config.auth.public_paths == ["/metrics"]
    assert [s.api.endpoint for s in config.sources if s.api] == [
        "http://registry.corp.example.com", "https://mirror.example.com:8443", "https://internal.example.com:9000"]


def test_the_config_yaml_model_refuses_the_same_as_the_last_line_before_the_server():
    good = {"sources": [{"name": "k", "kubernetes": {"namespaces": ["a"]}}], "registries": [{"name": "d", "sources": ["k"]}],
            "database": {"host": "db", "port": 5432, "user": "u", "database": "d"}, "auth": {"mode": "anonymous"}}
    ServerConfig.model_validate(good)
    for path, value in ((("database", "host"), "db:5432"), (("sources", 0, "kubernetes", "namespaces"), ["a", "b"]),
                        (("auth", "publicPaths"), ["x"])):
        document = copy.deepcopy(good)
        target = document
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value
        with pytest.raises(ValidationError):
            ServerConfig.model_validate(document)


# -- one kubernetes source per namespace (upstream issue #886) -------------------------------------------------

def test_a_kubernetes_source_over_several_namespaces_becomes_one_source_per_namespace(preview):
    reg = registry(sources=[FILE, {"name": "cluster", "kubernetes": {}}],
                   registries=[{"name": "all", "sources": ["platform", "cluster"]}, {"name": "k8s", "sources": ["cluster"]}])
    config = config_yaml(render(reg, preview))
    kubernetes = {s.name: s.kubernetes.namespaces for s in config.sources if s.kubernetes is not None}
    assert kubernetes == {"cluster-mcp-dev": ["mcp-dev"], "cluster-mcp-data": ["mcp-data"]}
    assert {r.name: r.sources for r in config.registries} == {
        "all": ["platform", "cluster-mcp-dev", "cluster-mcp-data"], "k8s": ["cluster-mcp-dev", "cluster-mcp-data"]}


def test_a_kubernetes_source_over_one_namespace_keeps_its_name(preview):
    config = config_yaml(render(registry(sources=[FILE, {"name": "cluster", "kubernetes": {"namespaces": ["mcp-data"]}}]),
                                preview))
    assert [(s.name, s.kubernetes.namespaces) for s in config.sources if s.kubernetes] == [("cluster", ["mcp-data"])]


def test_a_per_namespace_source_that_clashes_with_a_declared_one_is_refused(preview):
    clash = {**FILE, "name": "cluster-mcp-dev"}
    problems = refused(registry(sources=[clash, {"name": "cluster", "kubernetes": {}}]), preview)
    assert problems == ["toolhive:registry.sources[1].name: the per-namespace source 'cluster-mcp-dev' (one kubernetes "
                        "source per namespace, upstream issue #886) clashes with the source of that name; rename one "
                        "of them"]


# -- egress on each endpoint's own port ------------------------------------------------------------------------

def _egress(rendered) -> list[dict]:
    return rendered.object("NetworkPolicy", "toolhive-registry-api", NS)["spec"]["egress"]


def _rule(cidr: str, *ports: int) -> dict:
    return {"to": [{"ipBlock": {"cidr": cidr}}], "ports": [{"protocol": "TCP", "port": p} for p in ports]}


@pytest.mark.parametrize("url, port", [("https://github.com/org/repo.git", 443), ("http://git.internal/org/repo.git", 80),
                                       ("ssh://git@github.com/org/repo.git", 22), ("git@github.com:org/repo.git", 22),
                                       ("https://git.example.com:8443/org/repo.git", 8443),
                                       ("git://git.example.com/org/repo.git", 9418)])
def test_a_git_repository_is_reached_on_the_port_its_url_names(url, port):
    # Unit level: a rendered git source needs a pin in registry/sources.lock.json (tests/registry/test_git_sources.py).
    config = RegistryConfig.model_validate({"sources": [FILE, git(url)]})
    assert endpoint_egress(config) == [_rule("0.0.0.0/0", port)]


def test_api_and_oidc_endpoints_are_reached_on_their_ports_and_an_egress_cidr_is_honoured(preview):
    egress = _egress(render(AT_THE_BOUNDARY, preview))
    anywhere = [r for r in egress if r["to"][0].get("ipBlock", {}).get("cidr") == "0.0.0.0/0"]
    # http 80, explicit 8443, the issuer and introspection on 443, the JWKS on 9443; nothing else anywhere.
    assert anywhere == [_rule("0.0.0.0/0", 80, 443, 8443, 9443)]
    # The API source with an egressCidr is reached there only, on its own port.
    assert _rule("10.9.0.0/16", 9000) in egress


def test_the_reachability_check_reports_an_endpoint_whose_port_is_closed(preview):
    objects = copy.deepcopy(render(AT_THE_BOUNDARY, preview).objects())
    assert reachability.check(objects) == []
    for obj in objects:
        if obj["kind"] == "NetworkPolicy" and obj["metadata"]["name"] == "toolhive-registry-api":
            for rule in obj["spec"]["egress"]:
                rule["ports"] = [p for p in rule.get("ports", []) if p["port"] != 8443]
    assert [p.split(" is blocked")[0] for p in reachability.check(objects)] == [
        "reachability: registry to https://mirror.example.com:8443"]


# -- database TLS: verify-full needs a CA bundle ---------------------------------------------------------------

@pytest.mark.parametrize("mode", ["verify-full", "verify-ca", None])
def test_verifying_an_external_database_needs_a_ca_bundle(mode, preview):
    database = {"external": EXTERNAL, **({"sslMode": mode} if mode else {})}
    [problem] = refused(registry(database=database), preview)
    assert problem.startswith(f"toolhive:registry.database.caBundle: is required with sslMode {mode or 'verify-full'}")


@pytest.mark.parametrize("which", ["standalone", "mcpRegistry"])
def test_the_ca_bundle_is_mounted_and_pgsslrootcert_points_at_it(which, preview):
    reg = registry(mode=which, database={"external": EXTERNAL, "caBundle": {"name": "rds-ca", "key": "global-bundle.pem"}},
                   existing={"configMaps": ["rds-ca"]})
    rendered = render(reg, preview)
    if which == "standalone":
        template = rendered.object("Deployment", "toolhive-registry", NS)["spec"]["template"]["spec"]
        container = next(c for c in template["containers"] if c["name"] == "registry-api")
        volumes, mounts = template["volumes"], container["volumeMounts"]
    else:
        spec = rendered.object("MCPRegistry", "toolhive-registry", NS)["spec"]
        container = next(c for c in spec["podTemplateSpec"]["spec"]["containers"] if c["name"] == "registry-api")
        volumes, mounts = spec["volumes"], spec["volumeMounts"]
    root = next(e["value"] for e in container["env"] if e["name"] == "PGSSLROOTCERT")
    mount = next(m for m in mounts if root.startswith(m["mountPath"] + "/"))
    volume = next(v for v in volumes if v["name"] == mount["name"])
    assert volume["configMap"] == {"name": "rds-ca", "items": [{"key": "global-bundle.pem", "path": root.rsplit("/", 1)[1]}]}


def test_a_ca_bundle_without_tls_is_refused(preview):
    [problem] = refused(registry(database={"external": EXTERNAL, "sslMode": "disable",
                                           "caBundle": {"name": "ca", "key": "ca.crt"}}), preview)
    assert problem.startswith("toolhive:registry.database.caBundle: does not apply with sslMode disable")


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_staging_and_prod_verify_rds_against_its_ca_bundle(stack):
    from tests.conftest import render_stack
    rendered = render_stack(stack)
    container = next(c for c in rendered.object("Deployment", "toolhive-registry", NS)["spec"]["template"]["spec"]["containers"]
                     if c["name"] == "registry-api")
    assert {"name": "PGSSLROOTCERT", "value": "/certs/database/ca.crt"} in container["env"]
    assert config_yaml(rendered).database.ssl_mode == "verify-full"


@pytest.mark.parametrize("changes, key, kind", [
    ({"sources": [FILE, {"name": "upstream", "git": {
        "repository": "https://github.com/stacklok/toolhive-registry-server.git", "tag": "v1.3.0",
        "path": "examples/upstream-registry.json",
        "auth": {"username": "git", "passwordSecret": {"name": "git-token", "key": "token"}}}}]},
     "toolhive:registry.sources[1].git.auth.passwordSecret.name", "Secret 'git-token'"),
    ({"auth": oauth(clientSecret={"name": "sso-client", "key": "secret"})},
     "toolhive:registry.auth.providers[0].clientSecret.name", "Secret 'sso-client'"),
    ({"auth": oauth(caCert={"name": "sso-ca", "key": "ca.crt"})},
     "toolhive:registry.auth.providers[0].caCert.name", "ConfigMap 'sso-ca'"),
    ({"database": {"external": EXTERNAL, "caBundle": {"name": "db-ca", "key": "ca.pem"}}},
     "toolhive:registry.database.caBundle.name", "ConfigMap 'db-ca'"),
    ({"ingress": {"host": "registry.example.com", "tlsSecret": "registry-tls"}},
     "toolhive:registry.ingress.tlsSecret", "Secret 'registry-tls'"),
])
def test_a_secret_or_config_map_the_stack_does_not_create_must_be_declared_existing(changes, key, kind, preview):
    """The registry's pods mount these by name; a missing one leaves them in ContainerCreating, which no render sees.
    Declared in `existing`, the same configuration renders."""
    [problem] = refused(registry(**changes), preview)
    where = "secrets" if kind.startswith("Secret") else "configMaps"
    assert problem == (f"{key}: names the {kind}, which this stack does not create: create it in the registry "
                       f"namespace and declare it in existing.{where}")
    name = kind.split("'")[1]
    render(registry(**changes, existing={where: [name]}), preview)


@pytest.mark.parametrize("host", ["10.0.3.4", "fd00:10::5", "db.example.com"])
def test_a_database_host_is_a_name_or_an_address_of_either_family(host):
    from components.config.registry import _database_host

    assert _database_host(host) == host  # an IPv6 address has colons, yet no port


@pytest.mark.parametrize("path, valid", [("/secrets/pgpass", True), ("/secrets/..pgpass", True),
                                         ("/secrets/../etc/pgpass", False), ("/secrets/..", False),
                                         ("secrets/pgpass", False)])
def test_a_file_the_server_reads_is_named_by_an_absolute_path_that_does_not_climb(path, valid):
    from components.config.registry import _absolute

    if valid:
        assert _absolute(path) == path
    else:
        with pytest.raises(ValueError, match=f"^{re.escape(repr(path))} is not an absolute path$"):
            _absolute(path)


def test_a_local_repository_is_dialled_on_no_port():
    from components.config.registry import endpoint_port

    assert endpoint_port("file:///srv/registry.git") is None
    assert endpoint_port("git@github.com:org/repo.git") == 22
