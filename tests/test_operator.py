"""The operator install: RBAC, the env contract, the Deployment and its companions."""
from __future__ import annotations

import itertools

import pytest
import yaml

from components.config.loader import parse_stack_config
from components.platform.operator_env import RESERVED_ENV_NAMES, operator_env
from tests.conftest import deployment_env, render_config

NS = "toolhive-system"
NAMESPACE_SCOPE = {
    "operator": {"rbac": {"scope": "namespace"}, "features": {"storageVersionMigrator": False}},
    "namespaces": [{"name": "team-a"}, {"name": "team-b"}],
}


def grants(rules: list[dict]) -> set[tuple[str, str, str]]:
    return {(group, resource, verb)
            for rule in rules
            for group, resource, verb in itertools.product(rule.get("apiGroups", []), rule.get("resources", []), rule["verbs"])}


@pytest.fixture
def default_install(preview):
    return render_config({}, preview=preview)


def test_manager_role_covers_every_upstream_rule(default_install, data_dir):
    upstream = yaml.safe_load((data_dir / "toolhive/chart/operator-clusterrole.yaml").read_text())
    role = default_install.object("ClusterRole", "toolhive-operator-manager-role")
    assert len(upstream["rules"]) == 17
    missing = grants(upstream["rules"]) - grants(role["rules"])
    assert not missing


def test_cluster_scope_binds_the_manager_role_cluster_wide(default_install):
    binding = default_install.object("ClusterRoleBinding", "toolhive-operator-manager-rolebinding")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                  "name": "toolhive-operator-manager-role"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "toolhive-operator", "namespace": NS}]
    assert default_install.objects("RoleBinding") == [default_install.object(
        "RoleBinding", "toolhive-operator-leader-election-rolebinding", NS)]
    assert "WATCH_NAMESPACE" not in deployment_env(default_install.object("Deployment", "toolhive-operator", NS))


def test_namespace_scope_binds_per_namespace_and_sets_watch_namespace(preview):
    rendered = render_config(NAMESPACE_SCOPE, preview=preview)
    assert rendered.objects("ClusterRoleBinding") == []
    for ns in ("team-a", "team-b"):
        binding = rendered.object("RoleBinding", "toolhive-operator-manager-rolebinding", ns)
        assert binding["roleRef"]["kind"] == "ClusterRole"
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "toolhive-operator", "namespace": NS}]
    env = deployment_env(rendered.object("Deployment", "toolhive-operator", NS))
    assert env["WATCH_NAMESPACE"]["value"] == "team-a,team-b"
    assert env["TOOLHIVE_ENABLE_STORAGE_VERSION_MIGRATOR"]["value"] == "false"


def test_namespace_scope_bindings_wait_for_their_namespaces(preview):
    rendered = render_config(NAMESPACE_SCOPE, preview=preview)
    namespace_urn = rendered.resource("Namespace", "team-a").urn
    binding = rendered.resource("RoleBinding", "toolhive-operator-manager-rolebinding", "team-a")
    assert namespace_urn in binding.dependencies


def test_leader_election_role_matches_the_chart(default_install):
    role = default_install.object("Role", "toolhive-operator-leader-election-role", NS)
    assert grants(role["rules"]) >= {("", "configmaps", "get"), ("coordination.k8s.io", "leases", "update"),
                                    ("events.k8s.io", "events", "create"), ("events.k8s.io", "events", "patch")}


def test_env_contract_is_complete(default_install):
    env = deployment_env(default_install.object("Deployment", "toolhive-operator", NS))
    assert env["POD_NAMESPACE"] == {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}
    values = {name: var.get("value") for name, var in env.items()}
    assert values == {
        "POD_NAMESPACE": None,
        "UNSTRUCTURED_LOGS": "false",
        "TOOLHIVE_USE_CONFIGMAP": "true",
        "ENABLE_EXPERIMENTAL_FEATURES": "false",
        "TOOLHIVE_ENABLE_STORAGE_VERSION_MIGRATOR": "true",
        "TOOLHIVE_RUNNER_IMAGE": "ghcr.io/stacklok/toolhive/proxyrunner:v0.44.0",
        "VMCP_IMAGE": "ghcr.io/stacklok/toolhive/vmcp:v0.44.0",
        "TOOLHIVE_REGISTRY_API_IMAGE": "ghcr.io/stacklok/thv-registry-api:v1.3.0",
        "TOOLHIVE_PROXY_HOST": "0.0.0.0",
        "GOMEMLIMIT": "110MiB",
        "GOGC": "75",
    }


def test_default_pull_secrets_and_redis_reach_the_env(preview):
    rendered = render_config({"operator": {
        "defaultImagePullSecrets": ["regcred", "other"],
        "defaultRedis": {"addr": "redis.cache:6379", "existingSecret": "redis-auth"},
        "imagePullSecrets": ["operator-pull"],
    }}, preview=preview)
    deployment = rendered.object("Deployment", "toolhive-operator", NS)
    env = deployment_env(deployment)
    assert env["TOOLHIVE_DEFAULT_IMAGE_PULL_SECRETS"]["value"] == "regcred,other"
    assert env["TOOLHIVE_DEFAULT_REDIS_ADDR"]["value"] == "redis.cache:6379"
    assert env["TOOLHIVE_DEFAULT_REDIS_SECRET_NAME"]["value"] == "redis-auth"
    assert env["TOOLHIVE_DEFAULT_REDIS_SECRET_KEY"]["value"] == "redis-password"
    assert deployment["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "operator-pull"}]


def test_redis_without_secret_sets_only_the_address(preview):
    env = deployment_env(render_config({"operator": {"defaultRedis": {"addr": "redis:6379"}}}, preview=preview)
                         .object("Deployment", "toolhive-operator", NS))
    assert "TOOLHIVE_DEFAULT_REDIS_ADDR" in env and "TOOLHIVE_DEFAULT_REDIS_SECRET_NAME" not in env


def test_user_env_comes_first_so_the_contract_wins_a_clash():
    config = parse_stack_config({"operator": {"env": [{"name": "TOOLHIVE_SKIP_UPDATE_CHECK", "value": "true"}]}})
    # Bypass validation the way a bug might, to show the order alone keeps the contract in charge.
    config.operator.env.append(config.operator.env[0].model_copy(update={"name": "GOGC", "value": "1"}))
    env = operator_env(config.operator, {"proxyRunner": "r", "vmcp": "v", "registryApi": "a"}, [])
    names = [var["name"] for var in env]
    assert names[0] == "TOOLHIVE_SKIP_UPDATE_CHECK"
    assert names.index("GOGC") == 1 and names.index("GOGC", 2) > 1  # Kubernetes: the last duplicate wins
    assert env[-1] == {"name": "GOGC", "value": "75"}


def test_every_name_the_program_sets_is_reserved(preview):
    env = deployment_env(render_config({"operator": {
        "defaultImagePullSecrets": ["x"], "defaultRedis": {"addr": "r:1", "existingSecret": "s"},
        "rbac": {"scope": "namespace", "allowedNamespaces": ["a"]}, "features": {"storageVersionMigrator": False},
    }, "namespaces": [{"name": "a"}]}, preview=preview).object("Deployment", "toolhive-operator", NS))
    assert set(env) == RESERVED_ENV_NAMES


def test_user_env_is_passed_through(preview):
    env = deployment_env(render_config({"operator": {"env": [{"name": "TOOLHIVE_SKIP_UPDATE_CHECK", "value": "true"}]}},
                                       preview=preview).object("Deployment", "toolhive-operator", NS))
    assert env["TOOLHIVE_SKIP_UPDATE_CHECK"]["value"] == "true"


def test_deployment_is_hardened_like_the_chart(default_install):
    deployment = default_install.object("Deployment", "toolhive-operator", NS)
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["name"] == "manager"
    assert container["image"] == "ghcr.io/stacklok/toolhive/operator:v0.44.0"
    assert container["args"] == ["--leader-elect"]
    assert container["ports"] == [{"name": "metrics", "containerPort": 8080, "protocol": "TCP"},
                                  {"name": "health", "containerPort": 8081, "protocol": "TCP"}]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "health"}
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True, "runAsUser": 1000,
        "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert container["resources"] == {"requests": {"cpu": "10m", "memory": "64Mi"},
                                      "limits": {"cpu": "500m", "memory": "128Mi"}}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["terminationGracePeriodSeconds"] == 10
    assert pod["serviceAccountName"] == "toolhive-operator"
    assert deployment["spec"]["replicas"] == 1


def test_operator_waits_for_the_crds_and_its_rbac(default_install):
    deployment = default_install.resource("Deployment", "toolhive-operator", NS)
    crd_urns = {r.urn for r in default_install.k8s_resources("CustomResourceDefinition")}
    assert crd_urns <= set(deployment.dependencies)
    binding = default_install.resource("ClusterRoleBinding", "toolhive-operator-manager-rolebinding")
    assert binding.urn in deployment.dependencies


def test_ha_operator_gets_spread_pdb_and_keeps_leader_election(preview):
    rendered = render_config({"operator": {"replicas": 3, "podDisruptionBudget": {"enabled": True, "minAvailable": 2}}},
                             preview=preview)
    deployment = rendered.object("Deployment", "toolhive-operator", NS)
    assert deployment["spec"]["replicas"] == 3
    assert "--leader-elect" in deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert deployment["spec"]["template"]["spec"]["topologySpreadConstraints"][0]["topologyKey"] == "kubernetes.io/hostname"
    pdb = rendered.object("PodDisruptionBudget", "toolhive-operator", NS)
    assert pdb["spec"] == {"minAvailable": 2, "selector": {"matchLabels": deployment["spec"]["selector"]["matchLabels"]}}


def test_no_pdb_unless_asked(default_install):
    assert default_install.objects("PodDisruptionBudget") == []


def test_metrics_service_targets_the_metrics_port(default_install):
    service = default_install.object("Service", "toolhive-operator-metrics", NS)
    deployment = default_install.object("Deployment", "toolhive-operator", NS)
    assert service["spec"]["ports"] == [{"name": "metrics", "port": 8080, "targetPort": "metrics", "protocol": "TCP"}]
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]


def test_operator_namespace_is_restricted_and_protected(default_install):
    namespace = default_install.resource("Namespace", NS)
    assert namespace.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert namespace.protect and namespace.retain_on_delete


# ---------------------------------------------------------------------------------------------
# Wiring: what waits for what, and which labels select which pods
# ---------------------------------------------------------------------------------------------

HA = {"operator": {"replicas": 3, "podDisruptionBudget": {"enabled": True, "minAvailable": 2}}}
SELECTOR = {"app.kubernetes.io/name": "toolhive-operator", "app.kubernetes.io/instance": "toolhive-operator"}


def test_everything_in_the_operator_namespace_waits_for_it(preview):
    rendered = render_config(HA, preview=preview)
    namespace_urn = rendered.resource("Namespace", NS).urn
    inside = [r for r in rendered.k8s_resources() if r.inputs["metadata"].get("namespace") == NS]
    assert {r.inputs["kind"] for r in inside} >= {"ServiceAccount", "Role", "RoleBinding", "Deployment",
                                                  "PodDisruptionBudget", "Service"}
    for resource in inside:
        assert namespace_urn in rendered.waits_for(resource), resource.urn


def test_the_cluster_binding_waits_for_the_role_and_the_service_account_it_binds(default_install):
    binding = default_install.resource("ClusterRoleBinding", "toolhive-operator-manager-rolebinding")
    assert default_install.resource("ClusterRole", "toolhive-operator-manager-role").urn in default_install.waits_for(binding)
    assert default_install.resource("ServiceAccount", "toolhive-operator", NS).urn in default_install.waits_for(binding)


def test_each_namespace_binding_waits_for_the_role_and_the_service_account_it_binds(preview):
    rendered = render_config(NAMESPACE_SCOPE, preview=preview)
    role_urn = rendered.resource("ClusterRole", "toolhive-operator-manager-role").urn
    account_urn = rendered.resource("ServiceAccount", "toolhive-operator", NS).urn
    for ns in ("team-a", "team-b"):
        binding = rendered.resource("RoleBinding", "toolhive-operator-manager-rolebinding", ns)
        assert {role_urn, account_urn, rendered.resource("Namespace", ns).urn} <= rendered.waits_for(binding), ns


def test_the_leader_election_binding_waits_for_its_role_and_service_account(default_install):
    binding = default_install.resource("RoleBinding", "toolhive-operator-leader-election-rolebinding", NS)
    assert default_install.resource("Role", "toolhive-operator-leader-election-role", NS).urn in default_install.waits_for(binding)
    assert default_install.resource("ServiceAccount", "toolhive-operator", NS).urn in default_install.waits_for(binding)
    assert binding.inputs["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                         "name": "toolhive-operator-leader-election-role"}


def test_the_leader_election_role_grants_no_more_than_the_chart(default_install):
    role = default_install.object("Role", "toolhive-operator-leader-election-role", NS)
    crud = {"get", "list", "watch", "create", "update", "patch", "delete"}
    assert grants(role["rules"]) == ({("", "configmaps", v) for v in crud}
                                     | {("coordination.k8s.io", "leases", v) for v in crud}
                                     | {("events.k8s.io", "events", "create"), ("events.k8s.io", "events", "patch")})


def test_the_operator_starts_only_after_its_account_and_every_binding_exist(preview):
    for config in ({}, NAMESPACE_SCOPE):
        rendered = render_config(config, preview=preview)
        deployment = rendered.resource("Deployment", "toolhive-operator", NS)
        needed = [rendered.resource("ServiceAccount", "toolhive-operator", NS)]
        needed += [r for r in rendered.k8s_resources("RoleBinding") + rendered.k8s_resources("ClusterRoleBinding")
                   if r.inputs["subjects"][0]["name"] == "toolhive-operator"]
        assert len(needed) == (3 if config == {} else 4)
        for resource in needed:
            assert resource.urn in rendered.waits_for(deployment), resource.urn


def test_the_selector_is_the_stable_name_instance_pair_and_pod_labels_cannot_break_it(preview):
    rendered = render_config({"operator": {**HA["operator"], "podLabels": {
        "app.kubernetes.io/name": "hijack", "team": "platform"}}}, preview=preview)
    deployment = rendered.object("Deployment", "toolhive-operator", NS)
    assert deployment["spec"]["selector"] == {"matchLabels": SELECTOR}
    template_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert template_labels.items() >= SELECTOR.items()
    assert template_labels["team"] == "platform"
    spread = deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
    assert spread == [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway",
                       "labelSelector": {"matchLabels": SELECTOR}}]
    assert rendered.object("PodDisruptionBudget", "toolhive-operator", NS)["spec"]["selector"] == {"matchLabels": SELECTOR}
    assert rendered.object("Service", "toolhive-operator-metrics", NS)["spec"]["selector"] == SELECTOR


def test_a_single_operator_replica_is_not_spread(default_install):
    pod = default_install.object("Deployment", "toolhive-operator", NS)["spec"]["template"]["spec"]
    assert "topologySpreadConstraints" not in pod


def test_pod_scheduling_and_identity_settings_reach_the_pod(preview):
    toleration = {"key": "dedicated", "operator": "Equal", "value": "platform", "effect": "NoSchedule"}
    rendered = render_config({"operator": {
        "imagePullPolicy": "Always", "imagePullSecrets": ["operator-pull"], "nodeSelector": {"pool": "system"},
        "tolerations": [toleration], "priorityClassName": "system-cluster-critical",
        "podAnnotations": {"example.com/scrape": "true"},
        "serviceAccount": {"annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/op"}},
    }}, preview=preview)
    deployment = rendered.object("Deployment", "toolhive-operator", NS)
    template = deployment["spec"]["template"]
    pod = template["spec"]
    assert pod["containers"][0]["imagePullPolicy"] == "Always"
    assert pod["imagePullSecrets"] == [{"name": "operator-pull"}]
    assert pod["nodeSelector"] == {"pool": "system"}
    assert pod["tolerations"] == [toleration]
    assert pod["priorityClassName"] == "system-cluster-critical"
    assert pod["serviceAccountName"] == "toolhive-operator" and pod["automountServiceAccountToken"] is True
    assert template["metadata"]["annotations"] == {"example.com/scrape": "true"}
    account = rendered.object("ServiceAccount", "toolhive-operator", NS)
    assert account["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/op"}
    assert account["automountServiceAccountToken"] is True


def test_the_operator_namespace_can_be_left_unprotected_but_is_always_retained(preview):
    namespace = render_config({"namespaceProtect": False}, preview=preview).resource("Namespace", NS)
    assert namespace.protect is False and namespace.retain_on_delete is True


def test_cluster_scope_sets_no_watch_namespace_and_namespace_scope_no_cluster_binding(preview):
    cluster = render_config({"namespaces": [{"name": "team-a"}]}, preview=preview)
    assert "WATCH_NAMESPACE" not in deployment_env(cluster.object("Deployment", "toolhive-operator", NS))
    assert [b["metadata"]["namespace"] for b in cluster.objects("RoleBinding")
            if b["metadata"]["name"] == "toolhive-operator-manager-rolebinding"] == []
    scoped = render_config(NAMESPACE_SCOPE, preview=preview)
    assert scoped.objects("ClusterRoleBinding") == []
    for ns in ("team-a", "team-b"):
        assert scoped.object("RoleBinding", "toolhive-operator-manager-rolebinding", ns)["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "toolhive-operator-manager-role"}


def test_the_operator_namespace_enforces_audits_and_warns_restricted_at_a_pinned_version(default_install):
    labels = default_install.object("Namespace", NS)["metadata"]["labels"]
    assert {k: v for k, v in labels.items() if k.startswith("pod-security.kubernetes.io/")} == {
        f"pod-security.kubernetes.io/{mode}{suffix}": value
        for mode in ("enforce", "audit", "warn") for suffix, value in (("", "restricted"), ("-version", "v1.33"))}
