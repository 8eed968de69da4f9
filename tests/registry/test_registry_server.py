"""The registry server as the program deploys it: standalone and as MCPRegistry, with its database,
RBAC, NetworkPolicies and outputs."""
from __future__ import annotations

import copy
import hashlib
import json

import pytest

from components.errors import ConfigError
from components.k8s.netpol import ALLOW_FROM_ANNOTATION
from components.registry.server_config import ServerConfig
from policies.pod_security import check_object
from tests.conftest import PROJECT_ROOT, render_config, render_stack
from tools.render import write_outputs
from tools.schema_check import validate_object

NS = "toolhive-system"
DB_PASSWORD, MIGRATION_PASSWORD = "db-pass:SECRET\\1", "mig-SECRET-2"
SECRETS = {"registry:dbPassword": DB_PASSWORD, "registry:dbMigrationPassword": MIGRATION_PASSWORD}
V130 = "7cd7faf109d89cea0eab392e6f54e5fa913ca0b9"  # tag v1.3.0, as registry/sources.lock.json records it
FULL = {
    "sources": [
        {"name": "platform", "file": {"data": "registry/data/registry.json"}},
        {"name": "upstream", "git": {"repository": "https://github.com/stacklok/toolhive-registry-server.git",
                                     "tag": "v1.3.0", "path": "examples/upstream-registry.json", "pin": True,
                                     "auth": {"username": "git", "passwordSecret": {"name": "git-token", "key": "token"}}}},
        {"name": "federated", "api": {"endpoint": "https://registry.modelcontextprotocol.io"}, "syncInterval": "1h"},
        {"name": "custom", "managed": {}},
        {"name": "cluster", "kubernetes": {}},
    ],
    "database": {"external": {"host": "db.example.com", "cidr": "10.0.0.0/16", "password": "pulumi-config://registry:dbPassword",
                              "migrationUser": "migrator", "migrationPassword": "pulumi-config://registry:dbMigrationPassword"},
                 "caBundle": {"name": "db-ca", "key": "bundle.pem"}},
    "auth": {"mode": "oauth", "resourceUrl": "https://registry.example.com", "providers": [
        {"name": "sso", "issuerUrl": "https://auth.example.com", "audience": "api://registry", "clientId": "registry",
         "clientSecret": {"name": "sso-client", "key": "secret"}, "caCert": {"name": "sso-ca", "key": "ca.crt"}}]},
    "network": {"allowFrom": ["agents"]},
    "existing": {"secrets": ["git-token", "sso-client"], "configMaps": ["db-ca", "sso-ca"]},
}
DEV = {"sources": [{"name": "platform", "file": {"data": "registry/data/registry.json"}}, {"name": "cluster", "kubernetes": {}}],
       "network": {"allowFrom": ["mcp-dev"]}}
TENANTS = [{"name": "mcp-dev"}, {"name": "mcp-data"}]


def render(registry: dict, *, preview: bool = False, secrets: dict | None = None, **toolhive):
    return render_config({"namespaces": TENANTS, "registry": registry, **toolhive}, preview=preview,
                         extra=dict(SECRETS if secrets is None else secrets), secret_keys=list(SECRETS if secrets is None else secrets))


def mode(registry: dict, which: str) -> dict:
    return {**copy.deepcopy(registry), "mode": which}


def server_config(rendered, which: str) -> ServerConfig:
    if which == "mcpRegistry":
        return ServerConfig.from_yaml(rendered.object("MCPRegistry", "toolhive-registry", NS)["spec"]["configYAML"])
    return ServerConfig.from_yaml(rendered.object("ConfigMap", "toolhive-registry-config", NS)["data"]["config.yaml"])


def pod(rendered, which: str) -> tuple[dict, list[dict], list[dict]]:
    """(registry-api container, its volumeMounts, the pod's volumes) in either mode."""
    if which == "mcpRegistry":
        spec = rendered.object("MCPRegistry", "toolhive-registry", NS)["spec"]
        container = next(c for c in spec["podTemplateSpec"]["spec"]["containers"] if c["name"] == "registry-api")
        return container, spec.get("volumeMounts", []), spec.get("volumes", [])
    template = rendered.object("Deployment", "toolhive-registry", NS)["spec"]["template"]["spec"]
    container = next(c for c in template["containers"] if c["name"] == "registry-api")
    return container, container["volumeMounts"], template["volumes"]


# -- config.yaml ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("which", ["standalone", "mcpRegistry"])
def test_generated_config_yaml_parses_back_to_every_source_kind_with_derived_paths(which, preview):
    config = server_config(render(mode(FULL, which), preview=preview), which)
    by_name = {source.name: source for source in config.sources}
    # The kubernetes source over both tenants is one source per namespace (upstream issue #886).
    assert {name: s.kind for name, s in by_name.items()} == {
        "platform": "file", "upstream": "git", "federated": "api", "custom": "managed",
        "cluster-mcp-dev": "kubernetes", "cluster-mcp-data": "kubernetes"}
    assert by_name["platform"].file.path == "/data/sources/platform/registry.json"
    assert by_name["upstream"].git.commit == V130 and by_name["upstream"].git.tag is None
    assert by_name["upstream"].git.auth.password_file == "/secrets/git/upstream/password"
    assert by_name["federated"].sync_policy.interval == "1h" and by_name["platform"].sync_policy.interval == "30m"
    assert by_name["cluster-mcp-dev"].kubernetes.namespaces == ["mcp-dev"]
    assert by_name["cluster-mcp-data"].kubernetes.namespaces == ["mcp-data"]
    assert [r.sources for r in config.registries] == [
        ["platform", "upstream", "federated", "custom", "cluster-mcp-dev", "cluster-mcp-data"]]
    assert config.database.host == "db.example.com" and config.database.migration_user == "migrator"
    assert config.database.ssl_mode == "verify-full"
    provider = config.auth.oauth.providers[0]
    assert (provider.client_secret_file, provider.ca_cert_path) == ("/secrets/oauth/sso/client-secret", "/certs/oauth/sso/ca.crt")


@pytest.mark.parametrize("which", ["standalone", "mcpRegistry"])
def test_every_path_config_yaml_references_is_a_file_of_a_mounted_volume(which):
    rendered = render(mode(FULL, which))
    container, mounts, volumes = pod(rendered, which)
    volumes = {volume["name"]: volume for volume in volumes}
    paths = server_config(rendered, which).referenced_paths()
    assert len(paths) == 4
    for path in paths:
        mount = next((m for m in mounts if path.startswith(m["mountPath"].rstrip("/") + "/")), None)
        assert mount is not None, f"{path} is under no volumeMount"
        volume = volumes[mount["name"]]
        source = volume.get("secret") or volume.get("configMap")
        assert path[len(mount["mountPath"]) + 1:] in [item["path"] for item in source["items"]], path
    made = {cm["metadata"]["name"]: cm for cm in rendered.objects("ConfigMap")}
    for volume in volumes.values():  # a ConfigMap the stack makes holds every key its volume mounts
        if volume.get("configMap", {}).get("name") in made:
            data = made[volume["configMap"]["name"]]["data"]
            assert {item["key"] for item in volume["configMap"].get("items", [])} <= set(data), volume["name"]


def test_the_data_configmap_holds_the_file_as_written_and_names_it():
    rendered = render(DEV)
    [data] = [cm for cm in rendered.objects("ConfigMap") if cm["metadata"]["name"].startswith("toolhive-registry-data-")]
    assert data["data"] == {"registry.json": (PROJECT_ROOT / "registry/data/registry.json").read_text(encoding="utf-8")}
    assert data["metadata"]["annotations"]["toolhive.platform/source-file"] == "registry/data/registry.json"


def test_standalone_config_file_and_pgpass_file_lie_under_their_mounts():
    rendered = render(mode(FULL, "standalone"))
    container, mounts, _ = pod(rendered, "standalone")
    mount_paths = {m["mountPath"] for m in mounts}
    assert container["args"] == ["serve", "--config", "/etc/registry-server/config.yaml"]
    assert "/etc/registry-server" in mount_paths
    pgpass = next(e["value"] for e in container["env"] if e["name"] == "PGPASSFILE")
    assert pgpass.rsplit("/", 1)[0] in mount_paths


@pytest.mark.parametrize("which", ["standalone", "mcpRegistry"])
def test_no_credential_appears_in_any_configmap_custom_resource_output_or_resources_json(which, tmp_path, preview):
    rendered = render(mode(FULL, which), preview=preview)
    write_outputs(rendered.run, tmp_path)
    produced = "".join(path.read_text() for path in tmp_path.iterdir())
    recorded = json.dumps([r.inputs for r in rendered.resources]) + json.dumps(rendered.outputs)
    for secret in (DB_PASSWORD, MIGRATION_PASSWORD, json.dumps(DB_PASSWORD)[1:-1]):
        assert secret not in produced and secret not in recorded
    assert rendered.object("Secret", "toolhive-registry-pgpass", NS)["stringData"] == {".pgpass": "[secret]"}
    text = server_config(rendered, which).to_yaml()
    assert "password:" not in text.replace("passwordFile:", "")


# -- standalone --------------------------------------------------------------------------------------------

def test_standalone_is_the_upstream_chart_modelled_natively(preview):
    rendered = render(mode(DEV, "standalone"), preview=preview)
    config_yaml = rendered.object("ConfigMap", "toolhive-registry-config", NS)["data"]["config.yaml"]
    assert rendered.object("ServiceAccount", "toolhive-registry", NS)["automountServiceAccountToken"] is True  # as the chart's
    role = rendered.object("Role", "toolhive-registry-leader-election-role", NS)
    assert {r["resources"][0] for r in role["rules"]} == {"configmaps", "leases", "events"}
    binding = rendered.object("RoleBinding", "toolhive-registry-leader-election-rolebinding", NS)
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "toolhive-registry", "namespace": NS}]
    deployment = rendered.object("Deployment", "toolhive-registry", NS)
    template = deployment["spec"]["template"]
    assert template["metadata"]["annotations"]["toolhive.stacklok.dev/config-hash"] == hashlib.sha256(config_yaml.encode()).hexdigest()[:63]
    container = template["spec"]["containers"][0]
    assert container["image"] == "ghcr.io/stacklok/thv-registry-api:v1.3.0"
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "internal-http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readiness", "port": "internal-http"}
    assert {"name": "internal-http", "containerPort": 8081, "protocol": "TCP"} in container["ports"]
    assert container["resources"] == {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}}
    assert {"name": "config", "mountPath": "/etc/registry-server", "readOnly": True} in container["volumeMounts"]
    service = rendered.object("Service", "toolhive-registry", NS)
    assert service["spec"] == {"type": "ClusterIP", "selector": deployment["spec"]["selector"]["matchLabels"],
                               "ports": [{"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"}]}
    assert service["spec"]["selector"]["app.kubernetes.io/instance"] == "toolhive-registry"
    assert service["spec"]["selector"].items() <= template["metadata"]["labels"].items()


@pytest.mark.parametrize("which", ["standalone", "mcpRegistry"])
def test_an_external_databases_ca_bundle_is_what_libpq_verifies_against(which):
    container, _, _ = pod(render(mode(FULL, which)), which)
    assert {"name": "PGSSLROOTCERT", "value": "/certs/database/ca.crt"} in container["env"]


def test_a_registry_no_namespace_is_allowed_into_carries_no_allow_from_intent():
    rendered = render({**DEV, "network": {}})
    assert rendered.object("Service", "toolhive-registry", NS)["metadata"]["annotations"] == {}


def test_a_watched_namespace_the_stack_does_not_make_is_bound_without_waiting_for_it():
    rendered = render({**DEV, "sources": [DEV["sources"][0], {"name": "cluster", "kubernetes": {"namespaces": ["elsewhere",
                                                                                                              "mcp-dev"]}}]})
    role = rendered.resource("ClusterRole", "toolhive-system-toolhive-registry-kubernetes-source")
    outside = rendered.resource("RoleBinding", "toolhive-system-toolhive-registry-kubernetes-source", "elsewhere")
    tenant = rendered.resource("RoleBinding", "toolhive-system-toolhive-registry-kubernetes-source", "mcp-dev")
    assert outside.dependencies == [role.urn]
    assert sorted(tenant.dependencies) == sorted([role.urn, rendered.resource("Namespace", "mcp-dev").urn])


def test_the_standalone_pod_is_exactly_the_charts_with_the_pgpass_copied_into_memory():
    rendered = render(mode(DEV, "standalone"))
    deployment = rendered.object("Deployment", "toolhive-registry", NS)
    labels = {"app.kubernetes.io/name": "toolhive-registry", "app.kubernetes.io/instance": "toolhive-registry",
              "app.kubernetes.io/component": "registry-api", "app.kubernetes.io/version": "v1.3.0",
              "app.kubernetes.io/part-of": "toolhive-platform", "app.kubernetes.io/managed-by": "pulumi"}
    assert deployment["metadata"]["labels"] == labels and deployment["spec"]["template"]["metadata"]["labels"] == labels
    assert deployment["spec"]["revisionHistoryLimit"] == 5
    spec = deployment["spec"]["template"]["spec"]
    restricted = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True,
                  "runAsUser": 65532, "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}
    assert spec["serviceAccountName"] == "toolhive-registry" and spec["automountServiceAccountToken"] is True
    assert spec["initContainers"] == [{
        "name": "setup-pgpass", "image": "docker.io/library/postgres:17.6-alpine",
        "command": ["sh", "-c", "cp /pgpass-secret/.pgpass /pgpass/.pgpass && chmod 0600 /pgpass/.pgpass"],
        "volumeMounts": [{"name": "pgpass-secret", "mountPath": "/pgpass-secret", "readOnly": True},
                         {"name": "pgpass", "mountPath": "/pgpass"}],
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "100m", "memory": "32Mi"}},
        "securityContext": restricted}]
    container = spec["containers"][0]
    assert container["securityContext"] == restricted
    assert container["env"] == [{"name": "THV_REGISTRY_LEADER_ELECTION_ID", "value": "toolhive-registry-leader-election"},
                                {"name": "PGPASSFILE", "value": "/pgpass/.pgpass"},
                                {"name": "THV_REGISTRY_WATCH_NAMESPACE", "value": "mcp-dev,mcp-data"}]
    assert container["volumeMounts"][-1] == {"name": "pgpass", "mountPath": "/pgpass", "readOnly": True}
    assert container["livenessProbe"] == {"httpGet": {"path": "/health", "port": "internal-http"},
                                          "initialDelaySeconds": 30, "periodSeconds": 10}
    assert container["readinessProbe"] == {"httpGet": {"path": "/readiness", "port": "internal-http"},
                                           "initialDelaySeconds": 5, "periodSeconds": 5}
    assert spec["volumes"][-2:] == [
        {"name": "pgpass-secret", "secret": {"secretName": "toolhive-registry-pgpass", "defaultMode": 0o440}},
        {"name": "pgpass", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}}]
    pgpass = rendered.object("Secret", "toolhive-registry-pgpass", NS)
    assert pgpass["type"] == "Opaque" and pgpass["metadata"]["labels"] == labels
    policy = rendered.object("NetworkPolicy", "toolhive-registry-api", NS)
    assert policy["spec"]["podSelector"] == {"matchLabels": deployment["spec"]["selector"]["matchLabels"]}


def test_new_registry_data_is_a_new_configmap_made_before_the_old_one_goes():
    data = next(r for r in render(DEV).k8s_resources("ConfigMap")
                if r.inputs["metadata"]["name"].startswith("toolhive-registry-data-"))
    assert data.delete_before_replace is False  # given, so the provider cannot make it delete-first


def test_a_config_change_changes_the_config_hash_and_so_rolls_the_pods():
    def annotation(registry):
        return render(registry).object("Deployment", "toolhive-registry", NS)["spec"]["template"]["metadata"]["annotations"]
    changed = copy.deepcopy(DEV)
    changed["sources"][0]["syncInterval"] = "10m"
    assert annotation(DEV) != annotation(changed)


def test_the_data_configmap_keeps_its_logical_name_and_the_deployment_waits_for_it():
    rendered = render(DEV)
    data = next(r for r in rendered.k8s_resources("ConfigMap") if r.inputs["metadata"]["name"].startswith("toolhive-registry-data-"))
    assert data.name == "toolhive-system-configmap-toolhive-registry-data-platform"  # no hash: a change is a replace
    assert data.inputs["metadata"]["name"] != "toolhive-registry-data-platform"
    assert data.urn in rendered.resource("Deployment", "toolhive-registry", NS).dependencies


# -- MCPRegistry -----------------------------------------------------------------------------------------------

def test_mcpregistry_gives_registry_api_and_setup_pgpass_restricted_security_contexts(preview):
    rendered = render(mode(DEV, "mcpRegistry"), preview=preview)
    registry = rendered.object("MCPRegistry", "toolhive-registry", NS)
    assert registry["apiVersion"] == "toolhive.stacklok.dev/v1beta1"
    template = registry["spec"]["podTemplateSpec"]["spec"]
    containers = {c["name"]: c for c in template["containers"] + template["initContainers"]}
    assert set(containers) == {"registry-api", "setup-pgpass"}
    for container in containers.values():
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False and context["runAsNonRoot"] is True
        assert context["capabilities"] == {"drop": ["ALL"]} and context["seccompProfile"] == {"type": "RuntimeDefault"}
    assert check_object(registry, "restricted") == []
    assert registry["spec"]["pgpassSecretRef"] == {"name": "toolhive-registry-pgpass", "key": ".pgpass"}
    assert rendered.objects("Deployment") and not [d for d in rendered.objects("Deployment") if d["metadata"]["name"] == "toolhive-registry"]


def test_mcpregistry_pins_the_images_user_and_the_configured_resources_in_its_pod_template():
    """The operator merges podTemplateSpec into its own pod: the user, group and resources given here win."""
    rendered = render({**mode(DEV, "mcpRegistry"), "resources": {"limits": {"memory": "1Gi"}}})
    template = rendered.object("MCPRegistry", "toolhive-registry", NS)["spec"]["podTemplateSpec"]["spec"]
    restricted = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True,
                  "runAsUser": 65532, "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}
    assert template["securityContext"] == {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"},
                                           "runAsUser": 65532, "runAsGroup": 65532, "fsGroup": 65532}
    assert template["containers"] == [{"name": "registry-api", "securityContext": restricted, "resources": {
        "requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "1Gi"}},
        "env": [{"name": "THV_REGISTRY_WATCH_NAMESPACE", "value": "mcp-dev,mcp-data"}]}]
    assert [c["securityContext"] for c in template["initContainers"]] == [restricted]


def test_mcpregistry_without_the_template_security_contexts_would_be_rejected():
    """The check above is not vacuous: the operator's pod without our podTemplateSpec fails restricted."""
    registry = copy.deepcopy(render(mode(DEV, "mcpRegistry")).object("MCPRegistry", "toolhive-registry", NS))
    for container in registry["spec"]["podTemplateSpec"]["spec"]["containers"]:
        del container["securityContext"]
    assert check_object(registry, "restricted")


@pytest.mark.parametrize("which", ["standalone", "mcpRegistry"])
@pytest.mark.parametrize("registry", [FULL, DEV], ids=["external-db", "in-cluster-db"])
def test_every_object_passes_the_schemas_and_every_pod_pss_restricted(which, registry, preview):
    rendered = render(mode(registry, which), preview=preview)
    assert [e for obj in rendered.objects() for e in validate_object(obj)] == []
    for obj in rendered.objects():
        assert check_object(obj, "restricted") == [], obj["metadata"]["name"]


# -- database ------------------------------------------------------------------------------------------------

def test_dev_runs_postgresql_in_the_cluster_as_a_restricted_statefulset_with_a_pvc(preview):
    rendered = render(DEV, preview=preview)
    sts = rendered.object("StatefulSet", "toolhive-registry-postgres", NS)
    spec = sts["spec"]["template"]["spec"]
    assert spec["securityContext"]["runAsUser"] == 70 and spec["securityContext"]["fsGroup"] == 70
    container = spec["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["readinessProbe"]["exec"]["command"][0] == "pg_isready" and container["livenessProbe"]
    assert container["resources"]["limits"]["memory"] == "512Mi"
    assert sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "1Gi"
    assert rendered.object("Secret", "toolhive-registry-postgres-credentials", NS)["stringData"] == {"password": "[secret]"}
    rendered.object("Service", "toolhive-registry-postgres", NS)
    assert server_config(rendered, "standalone").database.host == "toolhive-registry-postgres.toolhive-system.svc.cluster.local"
    # A component in depends_on waits for all its children: the Deployment waits for the database.
    assert rendered.resource("StatefulSet", "toolhive-registry-postgres", NS).urn in \
        rendered.resource("Deployment", "toolhive-registry", NS).dependencies


@pytest.mark.parametrize("secrets, message", [
    ({}, "toolhive:registry.database.external.password: pulumi-config://registry:dbPassword: config key "
         "registry:dbPassword is not set"),
    ({"registry:dbPassword": "x", "registry:dbMigrationPassword": "y"},
     "toolhive:registry.database.external.password: .* is set in plaintext"),
])
def test_external_database_passwords_must_be_pulumi_secrets(secrets, message):
    with pytest.raises(ConfigError, match=message):
        render_config({"namespaces": TENANTS, "registry": FULL}, extra=secrets, secret_keys=[])


# -- RBAC and isolation --------------------------------------------------------------------------------------

@pytest.mark.parametrize("which, account", [("standalone", "toolhive-registry"), ("mcpRegistry", "toolhive-registry-registry-api")])
def test_the_kubernetes_source_reads_exactly_the_watched_namespaces(which, account):
    rendered = render(mode(DEV, which))
    role = rendered.object("ClusterRole", "toolhive-system-toolhive-registry-kubernetes-source")
    assert role["rules"][0]["resources"] == ["mcpservers", "mcpremoteproxies", "virtualmcpservers"]
    assert all(rule["verbs"] == ["get", "list", "watch"] for rule in role["rules"])
    bindings = [b for b in rendered.objects("RoleBinding") if b["roleRef"]["name"] == role["metadata"]["name"]]
    assert sorted(b["metadata"]["namespace"] for b in bindings) == ["mcp-data", "mcp-dev"]
    assert all(b["subjects"] == [{"kind": "ServiceAccount", "name": account, "namespace": NS}] for b in bindings)
    assert not [b for b in rendered.objects("ClusterRoleBinding") if "registry" in b["metadata"]["name"]]
    env = {e["name"]: e.get("value") for e in pod(rendered, which)[0]["env"]}
    assert env["THV_REGISTRY_WATCH_NAMESPACE"] == "mcp-dev,mcp-data"


def test_without_a_kubernetes_source_there_is_no_cluster_access():
    rendered = render({"sources": [DEV["sources"][0]]})
    assert not [r for r in rendered.objects("ClusterRole") if "registry" in r["metadata"]["name"]]
    assert "THV_REGISTRY_WATCH_NAMESPACE" not in {e["name"] for e in pod(rendered, "standalone")[0]["env"]}


def test_network_policies_let_only_client_namespaces_in_and_only_what_the_server_needs_out():
    rendered = render(FULL)
    policy = rendered.object("NetworkPolicy", "toolhive-registry-api", NS)["spec"]
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    assert policy["ingress"] == [{"from": [{"namespaceSelector": {"matchExpressions": [
        {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["agents"]}]}}],
        "ports": [{"protocol": "TCP", "port": 8080}]}]
    egress = policy["egress"]
    assert egress[0]["ports"] == [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]
    assert {"to": [{"ipBlock": {"cidr": "10.0.0.0/16"}}], "ports": [{"protocol": "TCP", "port": 5432}]} in egress
    assert {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 6443}]} in egress
    assert {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"protocol": "TCP", "port": 443}]} in egress
    assert len(egress) == 4


def test_a_client_namespaces_way_out_reaches_only_the_registry_pods_on_8080():
    rendered = render(DEV)
    spec = rendered.object("NetworkPolicy", "allow-egress-to-toolhive-registry", "mcp-dev")["spec"]
    api_pods = rendered.object("Deployment", "toolhive-registry", NS)["spec"]["template"]["metadata"]["labels"]
    assert spec["policyTypes"] == ["Egress"]
    [rule] = spec["egress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8080}]
    [peer] = rule["to"]
    assert peer["namespaceSelector"] == {"matchExpressions": [
        {"key": "kubernetes.io/metadata.name", "operator": "In", "values": [NS]}]}
    assert peer["podSelector"]["matchLabels"] and peer["podSelector"]["matchLabels"].items() <= api_pods.items()
    assert "matchExpressions" in spec["podSelector"]  # the team's workloads, not its MCP server pods


def test_the_in_cluster_database_accepts_only_the_registry_pods():
    rendered = render(DEV)
    policy = rendered.object("NetworkPolicy", "toolhive-registry-postgres", NS)["spec"]
    api_pods = rendered.object("Deployment", "toolhive-registry", NS)["spec"]["template"]["metadata"]["labels"]
    assert policy["egress"] == [] and policy["policyTypes"] == ["Ingress", "Egress"]
    selector = policy["ingress"][0]["from"][0]["podSelector"]["matchLabels"]
    assert selector.items() <= api_pods.items()
    db_pods = rendered.object("StatefulSet", "toolhive-registry-postgres", NS)["spec"]["template"]["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"].items() <= db_pods.items()
    egress = rendered.object("NetworkPolicy", "toolhive-registry-api", NS)["spec"]["egress"]
    assert {"to": [{"podSelector": {"matchLabels": policy["podSelector"]["matchLabels"]}}],
            "ports": [{"protocol": "TCP", "port": 5432}]} in egress


def test_mcpregistry_network_policy_selects_the_operator_created_pods():
    rendered = render(mode(DEV, "mcpRegistry"))
    selector = rendered.object("NetworkPolicy", "toolhive-registry-api", NS)["spec"]["podSelector"]["matchLabels"]
    assert selector == {"app.kubernetes.io/name": "toolhive-registry-api", "toolhive.stacklok.io/registry-name": "toolhive-registry"}


def test_an_optional_ingress_routes_to_the_service_and_its_controller_namespace_is_let_in():
    registry = {**DEV, "ingress": {"host": "registry.example.com", "className": "nginx", "tlsSecret": "tls",
                                   "fromNamespaces": ["ingress-nginx"]}, "existing": {"secrets": ["tls"]}}
    rendered = render(registry)
    assert rendered.object("Ingress", "toolhive-registry", NS)["spec"] == {
        "rules": [{"host": "registry.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
            "service": {"name": "toolhive-registry", "port": {"name": "http"}}}}]}}],
        "ingressClassName": "nginx", "tls": [{"hosts": ["registry.example.com"], "secretName": "tls"}]}
    plain = render({**DEV, "ingress": {"host": "registry.example.com"}}).object("Ingress", "toolhive-registry", NS)["spec"]
    assert "ingressClassName" not in plain and "tls" not in plain  # the cluster's default class, plain HTTP
    allowed = rendered.object("NetworkPolicy", "toolhive-registry-api", NS)["spec"]["ingress"][0]["from"][0]
    assert allowed["namespaceSelector"]["matchExpressions"][0]["values"] == ["ingress-nginx", "mcp-dev"]


# -- outputs and stack rules ---------------------------------------------------------------------------------

@pytest.mark.parametrize("which, service", [("standalone", "toolhive-registry"), ("mcpRegistry", "toolhive-registry-api")])
def test_outputs_name_the_registry_its_urls_and_every_source_with_its_pin(which, service):
    outputs = render(mode(FULL, which)).outputs["registry"]
    assert outputs["name"] == "toolhive-registry"
    assert outputs["urls"] == {"default": f"http://{service}.{NS}.svc.cluster.local:8080/registry/default/v0.1/servers"}
    data = next(cm["metadata"]["name"] for cm in render(mode(FULL, which)).objects("ConfigMap")
                if cm["metadata"]["name"].startswith("toolhive-registry-data-platform-"))
    assert outputs["sources"] == {
        "platform": {"kind": "file", "file": "registry/data/registry.json", "configMap": data},
        "upstream": {"kind": "git", "repository": "https://github.com/stacklok/toolhive-registry-server.git",
                     "ref": "refs/tags/v1.3.0", "commit": V130, "deployed": "commit"},
        "federated": {"kind": "api"}, "custom": {"kind": "managed"},
        "cluster-mcp-dev": {"kind": "kubernetes", "namespaces": ["mcp-dev"]},
        "cluster-mcp-data": {"kind": "kubernetes", "namespaces": ["mcp-data"]}}


REGISTRY_LABELS = {"app.kubernetes.io/name": "toolhive-registry", "app.kubernetes.io/instance": "toolhive-registry",
                   "app.kubernetes.io/component": "registry-api", "app.kubernetes.io/version": "v1.3.0",
                   "app.kubernetes.io/part-of": "toolhive-platform", "app.kubernetes.io/managed-by": "pulumi"}


@pytest.mark.parametrize("which", ["standalone", "mcpRegistry"])
def test_every_object_of_the_registry_is_its_child_labelled_as_the_registry_api(which):
    rendered = render({**mode(DEV, which), "ingress": {"host": "registry.example.com"}})
    owned = [r for r in rendered.k8s_resources() if r.parent.endswith("toolhive:registry:RegistryServer::registry")]
    kinds = {r.inputs["kind"] for r in owned}
    assert {"ConfigMap", "Secret", "NetworkPolicy", "Ingress", "ClusterRole", "RoleBinding"} <= kinds
    assert ("MCPRegistry" in kinds) == (which == "mcpRegistry") and ("Deployment" in kinds) == (which == "standalone")
    for resource in owned:
        assert resource.inputs["metadata"]["labels"] == REGISTRY_LABELS, resource.urn
        if resource.inputs["kind"] == "NetworkPolicy":  # the client namespaces' egress policy too
            assert resource.protect and resource.retain_on_delete, resource.urn
    front = rendered.object(*(("MCPRegistry", "toolhive-registry", NS) if which == "mcpRegistry"
                              else ("Service", "toolhive-registry", NS)))
    assert front["metadata"]["annotations"] == {ALLOW_FROM_ANNOTATION: "mcp-dev"}  # what reachability reads


@pytest.mark.parametrize("which", ["standalone", "mcpRegistry"])
def test_the_registry_component_registers_its_outputs(which, component_outputs):
    outputs = render(mode(DEV, which)).outputs["registry"]
    assert set(outputs) == {"name", "namespace", "mode", "urls", "sources"}
    assert (outputs["name"], outputs["namespace"], outputs["mode"]) == ("toolhive-registry", NS, which)
    assert component_outputs["RegistryServer"] == [outputs]


@pytest.mark.parametrize("toolhive, message", [
    ({"registry": {**DEV, "mode": "mcpRegistry", "replicas": 2}},
     "toolhive:registry.replicas: the operator runs an MCPRegistry with exactly 1 replica"),
    ({"registry": {**DEV, "mode": "mcpRegistry"}, "operator": {"rbac": {"scope": "namespace"}, "features": {"storageVersionMigrator": False}}},
     "toolhive:registry.namespace: 'toolhive-system' is not watched by the namespace-scoped operator"),
    ({"registry": {**DEV, "namespace": "elsewhere"}}, "toolhive:registry.namespace: 'elsewhere' is neither"),
    ({"registry": {**DEV, "registries": [{"name": "d", "sources": ["nope"]}]}},
     r"toolhive:registry.registries\[0\].sources\[0\]: 'nope' is not a source"),
    ({"registry": {**DEV, "auth": {"mode": "oauth"}}}, "toolhive:registry.auth.providers: mode oauth needs"),
    ({"registry": {"sources": [{"name": "x", "managed": {}, "syncInterval": "1m"}]}},
     r"toolhive:registry.sources\[0\].syncInterval: a managed source takes neither"),
    ({"registry": {"sources": [{"name": "x", "git": {"repository": "https://a/b.git", "path": "r.json"}}]}},
     r"toolhive:registry.sources\[0\].git.branch: set exactly one of branch, tag and commit"),
    ({"registry": {**DEV, "database": {"external": {"host": "db", "password": "hunter2"}}}},
     "toolhive:registry.database.external.password: is not a secret reference"),
    ({"registry": {**DEV, "database": {"external": {"host": "db", "password": "k8s-secret://db#password"}}}},
     r"toolhive:registry.database.external.password: k8s-secret://: the program writes the pgpass file, so it must "
     r"read the password: use aws-sm://<name>\[#key\] or pulumi-config://<namespace>:<key>"),
])
def test_bad_registry_config_names_the_key(toolhive, message):
    with pytest.raises(ConfigError, match=message):
        render_config({"namespaces": TENANTS, **toolhive})


def test_a_registry_config_error_is_raised_before_any_resource_is_registered(tmp_path):
    from tools.mock_runtime import ProgramRun
    run = ProgramRun()
    with pytest.raises(ConfigError):
        render_config({"namespaces": TENANTS, "registry": FULL}, extra={}, secret_keys=[], into=run)
    assert [r.type for r in run.resources] == ["pulumi:pulumi:Stack"]


# -- shipped stacks ------------------------------------------------------------------------------------------

def test_dev_has_a_file_source_a_git_source_following_its_branch_and_the_kubernetes_source():
    rendered = render_stack("dev")
    sources = {s.name: s for s in server_config(rendered, "standalone").sources}
    assert {name: s.kind for name, s in sources.items()} == {"platform": "file", "upstream-examples": "git", "cluster": "kubernetes"}
    assert sources["upstream-examples"].git.branch == "main" and sources["upstream-examples"].git.commit is None
    shown = rendered.outputs["registry"]["sources"]["upstream-examples"]
    assert shown["commit"] == "534eb233032d36fc7b51b828325ad601b623d5d0" and shown["deployed"] == "follows refs/heads/main"
    assert rendered.objects("StatefulSet")


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_staging_and_prod_use_an_external_database_oauth_and_git_pinned_to_a_commit(stack):
    rendered = render_stack(stack)
    config = server_config(rendered, "standalone")
    git = next(s.git for s in config.sources if s.git)
    assert git.commit == V130 and git.tag is None and git.branch is None
    assert config.auth.mode == "oauth" and config.database.ssl_mode == "verify-full"
    assert config.database.migration_user
    assert not [s for s in rendered.objects("StatefulSet") if s["metadata"]["name"] == "toolhive-registry-postgres"]


@pytest.mark.parametrize("protect", [True, False])
def test_registry_network_policies_are_retained_and_protected_like_their_namespace(protect):
    rendered = render_config({"namespaces": TENANTS, "registry": DEV, "namespaceProtect": protect})
    policies = [r for r in rendered.k8s_resources("NetworkPolicy") if r.inputs["metadata"]["namespace"] == NS]
    assert len(policies) == 2
    assert all(p.retain_on_delete and p.protect == protect for p in policies)


# -- the in-cluster PostgreSQL as it is made (killed mutants of components/registry/database.py) ----------------

def test_the_in_cluster_database_password_is_generated_long_with_specials_pgpass_can_carry(preview):
    """32 characters from letters, digits and '-_:.': the pgpass writer escapes ':' (tests/registry/test_pgpass.py)."""
    rendered = render(DEV, preview=preview)
    (password,) = [r for r in rendered.run.resources
                   if r.type == "random:index/randomPassword:RandomPassword" and r.name == "postgres-password"]
    assert password.inputs == {"length": 32, "special": True, "overrideSpecial": "-_:."}


def test_the_database_objects_are_labelled_as_its_component_and_its_secret_is_opaque(preview):
    rendered = render(DEV, preview=preview)
    name = "toolhive-registry-postgres"
    for kind, object_name in (("StatefulSet", name), ("Service", name), ("Secret", f"{name}-credentials"),
                              ("ConfigMap", f"{name}-init")):
        labels = rendered.object(kind, object_name, NS)["metadata"]["labels"]
        assert (labels["app.kubernetes.io/component"], labels["app.kubernetes.io/name"]) == ("database", name), kind
    assert rendered.object("Secret", f"{name}-credentials", NS)["type"] == "Opaque"


def test_the_init_script_that_makes_the_registry_role_is_what_postgres_runs_first(preview):
    from components.registry.database import INIT_SQL

    rendered = render(DEV, preview=preview)
    init = rendered.object("ConfigMap", "toolhive-registry-postgres-init", NS)
    assert init["data"] == {"10-registry-role.sql": INIT_SQL}
    assert "CREATE ROLE" in INIT_SQL.upper()
    pod = rendered.object("StatefulSet", "toolhive-registry-postgres", NS)["spec"]["template"]["spec"]
    (volume,) = [v for v in pod["volumes"] if v.get("configMap", {}).get("name") == "toolhive-registry-postgres-init"]
    mounts = {m["name"]: m["mountPath"] for c in pod["containers"] for m in c.get("volumeMounts", [])}
    assert mounts[volume["name"]] == "/docker-entrypoint-initdb.d"


def test_the_in_cluster_postgres_runs_as_the_official_image_expects(preview):
    """One replica on a ReadWriteOnce claim of the configured class; the image's env contract (user, database,
    the password as a file from the credentials Secret); probes that ask the server itself for that database."""
    rendered = render({**DEV, "database": {"inCluster": {"storageClassName": "gp3.csi", "storage": "5Gi"}}},
                      preview=preview)
    spec = rendered.object("StatefulSet", "toolhive-registry-postgres", NS)["spec"]
    assert spec["replicas"] == 1
    assert spec["volumeClaimTemplates"][0]["spec"] == {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}}, "storageClassName": "gp3.csi"}
    pod = spec["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    (container,) = pod["containers"]
    assert container["ports"] == [{"name": "postgres", "containerPort": 5432, "protocol": "TCP"}]
    env = {e["name"]: e["value"] for e in container["env"]}
    user, database = env["POSTGRES_USER"], env["POSTGRES_DB"]
    assert (user, database) == ("thv_registry", "toolhive_registry")
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    credentials = next(v for v in pod["volumes"] if v.get("secret", {}).get("secretName") ==
                       "toolhive-registry-postgres-credentials")
    assert env["POSTGRES_PASSWORD_FILE"] == f"{mounts[credentials['name']]}/password"
    assert "password" in rendered.object("Secret", "toolhive-registry-postgres-credentials", NS)["stringData"]
    ask = ["pg_isready", "-h", "127.0.0.1", "-U", user, "-d", database]
    assert container["readinessProbe"]["exec"]["command"] == ask == container["livenessProbe"]["exec"]["command"]
    without_class = render({**DEV, "database": {"inCluster": {}}}, preview=preview)
    claim = without_class.object("StatefulSet", "toolhive-registry-postgres", NS)["spec"]["volumeClaimTemplates"][0]
    assert "storageClassName" not in claim["spec"]  # the cluster's default class


def secret_text(rendered, kind: str, name: str, key: str) -> str:
    """The value of stringData[key] as the engine receives it: inside Pulumi's secret wrapper (checked), unwrapped."""
    from pulumi.runtime import rpc

    wrapped = rendered.resource(kind, name, NS).wire_inputs["stringData"]
    assert isinstance(wrapped, dict) and wrapped.get(rpc._special_sig_key) == rpc._special_secret_sig, wrapped
    return wrapped["value"][key]


@pytest.mark.parametrize("which", ["standalone", "mcpRegistry"])
def test_the_pgpass_file_names_the_host_port_and_database_the_server_connects_to(which):
    """libpq matches a pgpass line on hostname, port and database: a line for any other endpoint is never used."""
    from components.registry.database import pgpass_file

    rendered = render(mode(FULL, which))
    database = server_config(rendered, which).database
    assert (database.host, database.port, database.database) == ("db.example.com", 5432, "toolhive_registry")
    expected = pgpass_file(database.host, database.port, database.database,
                           {database.user: DB_PASSWORD, database.migration_user: MIGRATION_PASSWORD})
    assert secret_text(rendered, "Secret", "toolhive-registry-pgpass", ".pgpass") == expected


def test_the_in_cluster_pgpass_carries_the_generated_password_for_the_service_address():
    from components.registry.database import pgpass_file
    from tools import mock_runtime

    rendered = render(DEV)
    database = server_config(rendered, "standalone").database
    (password,) = [r for r in rendered.run.resources if r.type == "random:index/randomPassword:RandomPassword"
                   and r.name == "postgres-password"]
    args = type("Args", (), {"inputs": password.inputs, "name": password.name})
    generated = mock_runtime.PROVIDER_OUTPUTS[password.type](args)["result"]
    assert secret_text(rendered, "Secret", "toolhive-registry-postgres-credentials", "password") == generated
    assert secret_text(rendered, "Secret", "toolhive-registry-pgpass", ".pgpass") == pgpass_file(
        "toolhive-registry-postgres.toolhive-system.svc.cluster.local", 5432, database.database, {database.user: generated})


def test_the_in_cluster_postgres_service_is_cluster_internal_on_the_port_the_server_dials(preview):
    rendered = render(DEV, preview=preview)
    name = "toolhive-registry-postgres"
    service = rendered.object("Service", name, NS)["spec"]
    pod = rendered.object("StatefulSet", name, NS)["spec"]["template"]
    assert service["type"] == "ClusterIP"
    assert service["ports"] == [{"name": "postgres", "port": 5432, "targetPort": "postgres", "protocol": "TCP"}]
    assert server_config(rendered, "standalone").database.port == service["ports"][0]["port"]
    assert [p["name"] for p in pod["spec"]["containers"][0]["ports"]] == [service["ports"][0]["targetPort"]]
    assert service["selector"].items() <= pod["metadata"]["labels"].items() and service["selector"]


def test_the_in_cluster_postgres_starts_after_its_secret_init_script_and_service(preview):
    """The pod mounts the credentials Secret and the init ConfigMap (a missing one stalls it in ContainerCreating),
    and a StatefulSet's pods are named through its governing Service."""
    rendered = render(DEV, preview=preview)
    name = "toolhive-registry-postgres"
    waits = set(rendered.resource("StatefulSet", name, NS).dependencies)
    for kind, object_name in (("Secret", f"{name}-credentials"), ("ConfigMap", f"{name}-init"), ("Service", name)):
        assert rendered.resource(kind, object_name, NS).urn in waits, kind


def test_the_in_cluster_postgres_writes_only_to_its_volumes_and_reads_its_credentials_read_only(preview):
    """The root filesystem is read-only: the data directory (PGDATA a subdirectory of the claim, so initdb makes it
    with the mode PostgreSQL demands), the socket directory and /tmp are volumes; the password file and the init
    scripts are mounted read-only. The container runs as the image's postgres UID itself, not only by the pod's."""
    rendered = render(DEV, preview=preview)
    pod = rendered.object("StatefulSet", "toolhive-registry-postgres", NS)["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["volumeMounts"] == [
        {"name": "data", "mountPath": "/var/lib/postgresql/data"},
        {"name": "credentials", "mountPath": "/credentials", "readOnly": True},
        {"name": "init", "mountPath": "/docker-entrypoint-initdb.d", "readOnly": True},
        {"name": "run", "mountPath": "/var/run/postgresql"},
        {"name": "tmp", "mountPath": "/tmp"},
    ]
    assert {v["name"]: v.get("emptyDir") for v in pod["volumes"] if "emptyDir" in v} == {"run": {}, "tmp": {}}
    assert {e["name"]: e["value"] for e in container["env"]}["PGDATA"] == "/var/lib/postgresql/data/pgdata"
    assert container["securityContext"]["runAsUser"] == 70 and container["securityContext"]["readOnlyRootFilesystem"]


def test_the_in_cluster_postgres_probes_give_initdb_time_before_a_restart(preview):
    """Ready after 5 s, asked every 10 s; alive is first asked after 30 s and fails only after 6 misses 20 s apart,
    so a first start (initdb, the init scripts) is never killed half-way."""
    rendered = render(DEV, preview=preview)
    (container,) = rendered.object("StatefulSet", "toolhive-registry-postgres", NS)["spec"]["template"]["spec"]["containers"]
    timing = ("initialDelaySeconds", "periodSeconds", "failureThreshold")
    assert {k: container["readinessProbe"][k] for k in timing if k in container["readinessProbe"]} == {
        "initialDelaySeconds": 5, "periodSeconds": 10}
    assert {k: container["livenessProbe"][k] for k in timing} == {
        "initialDelaySeconds": 30, "periodSeconds": 20, "failureThreshold": 6}


def test_the_in_cluster_postgres_resources_are_exactly_what_is_configured(preview):
    rendered = render({**DEV, "database": {"inCluster": {"resources": {"limits": {"memory": "1Gi"}}}}}, preview=preview)
    (container,) = rendered.object("StatefulSet", "toolhive-registry-postgres", NS)["spec"]["template"]["spec"]["containers"]
    assert container["resources"] == {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "1Gi"}}


def test_the_in_cluster_postgres_component_outputs_its_service_name(component_outputs):
    from components.config.registry import InClusterDatabase
    from components.registry.database import InClusterPostgres
    from tools import mock_runtime

    made = []
    mock_runtime.run_program(lambda: made.append(InClusterPostgres(
        "db", InClusterDatabase(), service_name="reg-postgres", namespace=NS, database="d", user="u", image="postgres")),
        project="toolhive", stack="test")
    assert made[0].service_name == "reg-postgres"
    assert component_outputs["InClusterPostgres"] == [{"service": "reg-postgres"}]
