"""Platform guardrails: through the policy functions and the offline checker."""
from __future__ import annotations

import copy

import pytest

from policies import guardrails, k8s
from policies.core import UNKNOWN, ResourceOptions
from tests.policies.conftest import (
    DIGEST, PINNED_IMAGE, check_manifests, container, crd, default_deny, deployment, inline_credential_fields,
    mcpserver, namespace, of_policy, operator_deployment, pod, role, run_checker, stack_violations_of, toolhive,
    violations_of, write_json,
)

RESOURCES = guardrails.CONTAINER_RESOURCES
IMAGES = guardrails.IMAGE_REFERENCES
SECRETS = guardrails.NO_SECRET_LITERALS
RBAC = guardrails.RBAC_NO_WILDCARDS
PSA = guardrails.NAMESPACE_PSA_LABELS
DENY = guardrails.NAMESPACE_DEFAULT_DENY
PROTECT = guardrails.PROTECT_CRDS_AND_NAMESPACES
CREDENTIALS = guardrails.NO_INLINE_CREDENTIALS

MIRROR = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
TENANT = {"toolhive.platform/tenant": "true"}
RESTRICTED = {"pod-security.kubernetes.io/enforce": "restricted"}


def test_guardrail_policies_have_the_documented_names_and_default_enforcement():
    assert {p.name: p.enforcement for p in guardrails.POLICIES} == {
        "container-resources": "mandatory",
        "image-references": "mandatory",
        "no-secret-literals-in-env": "mandatory",
        "no-inline-credentials": "mandatory",
        "rbac-no-wildcards": "mandatory",
        "mcp-namespace-pod-security-labels": "mandatory",
        "mcp-namespace-default-deny": "mandatory",
        "protect-crds-and-namespaces": "advisory",
    }


# ---------------------------------------------------------------------------------------------
# container-resources
# ---------------------------------------------------------------------------------------------

class TestContainersDeclareResources:
    def test_container_without_resources_is_a_violation_listing_what_to_set(self):
        bare = container("web")
        del bare["resources"]
        messages = violations_of(RESOURCES, deployment(containers=[bare]))
        assert messages == [
            'spec.template.spec.containers[0] ("web"): set resources.requests.cpu, resources.requests.memory, '
            "resources.limits.memory (CPU and memory requests and a memory limit are required on every container)"]

    def test_missing_memory_limit_alone_is_a_violation(self):
        web = container("web", resources={"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "2"}})
        messages = violations_of(RESOURCES, pod("p", "apps", web))
        assert len(messages) == 1 and "resources.limits.memory" in messages[0]
        assert "requests.cpu" not in messages[0]

    def test_init_containers_are_checked_too(self):
        manifest = deployment()
        manifest["spec"]["template"]["spec"]["initContainers"] = [{"name": "init", "image": PINNED_IMAGE}]
        messages = violations_of(RESOURCES, manifest)
        assert len(messages) == 1 and 'initContainers[0] ("init")' in messages[0]

    def test_cronjob_containers_are_checked(self):
        bare = container("job")
        del bare["resources"]
        cron = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c", "namespace": "apps"},
                "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": {
                    "containers": [bare]}}}}}}
        messages = violations_of(RESOURCES, cron)
        assert len(messages) == 1 and messages[0].startswith("spec.jobTemplate.spec.template.spec.containers[0]")

    def test_mcpserver_without_spec_resources_is_a_violation(self):
        server = mcpserver()
        del server["spec"]["resources"]
        messages = violations_of(RESOURCES, server)
        assert len(messages) == 1 and messages[0].startswith("spec.resources: set requests.cpu")

    def test_mcpserver_resources_may_come_from_the_mcp_container_of_the_pod_template(self):
        server = mcpserver(podTemplateSpec={"spec": {"containers": [{"name": "mcp", "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}}}]}})
        del server["spec"]["resources"]
        assert violations_of(RESOURCES, server) == []

    @pytest.mark.parametrize("manifest", [
        deployment(),
        pod("p", "apps", container("a"), container("b")),
        mcpserver(),
        toolhive("MCPRemoteProxy", "gh", remoteUrl="https://x", resources={
            "requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"memory": "1Gi"}}),
        toolhive("VirtualMCPServer"),
    ], ids=["deployment", "pod", "mcpserver", "remote-proxy", "vmcp-has-no-resources-field"])
    def test_declared_requests_and_memory_limit_comply(self, manifest):
        assert violations_of(RESOURCES, manifest) == []

    def test_offline_checker_reports_missing_resources(self, tmp_path, capsys):
        bare = container("web")
        del bare["resources"]
        code, results = check_manifests(tmp_path, capsys, deployment(containers=[bare]))
        assert [(r["kind"], r["name"], r["enforcement"]) for r in of_policy(results, "container-resources")] == [
            ("Deployment", "web", "mandatory")]
        assert code == 1

    def test_offline_checker_accepts_declared_resources(self, tmp_path, capsys):
        code, results = check_manifests(tmp_path, capsys, deployment())
        assert (code, results) == (0, [])


# ---------------------------------------------------------------------------------------------
# image-references
# ---------------------------------------------------------------------------------------------

class TestImagesArePinned:
    @pytest.mark.parametrize("image, expected", [
        ("nginx", ("docker.io", "nginx", None, None)),
        ("nginx:1.27", ("docker.io", "nginx", "1.27", None)),
        ("localhost:5000/team/app:v1", ("localhost:5000", "team/app", "v1", None)),
        ("ghcr.io/stacklok/toolhive/operator:v0.44.0", ("ghcr.io", "stacklok/toolhive/operator", "v0.44.0", None)),
        (f"{MIRROR}/ghcr/stacklok/toolhive/operator@{DIGEST}", (MIRROR, "ghcr/stacklok/toolhive/operator", None, DIGEST)),
    ])
    def test_image_references_are_parsed_like_the_runtime_does(self, image, expected):
        ref = k8s.parse_image(image)
        assert (ref.registry, ref.repository, ref.tag, ref.digest) == expected

    def test_latest_tag_is_a_violation(self):
        messages = violations_of(IMAGES, deployment(containers=[container("web", "nginx:latest")]))
        assert len(messages) == 1
        assert messages[0].startswith('spec.template.spec.containers[0] ("web").image: image "nginx:latest"')
        assert "pin a release tag" in messages[0]

    def test_untagged_image_is_a_violation(self):
        messages = violations_of(IMAGES, deployment(containers=[container("web", "ghcr.io/org/app")]))
        assert len(messages) == 1 and "has no tag" in messages[0]

    def test_untagged_mcpserver_image_is_a_violation(self):
        messages = violations_of(IMAGES, mcpserver(image="ghcr.io/github/github-mcp-server"))
        assert len(messages) == 1 and messages[0].startswith("spec.image:")

    def test_embedding_server_without_image_uses_the_crd_default_which_is_judged(self):
        messages = violations_of(IMAGES, toolhive("EmbeddingServer", "emb"), allowedRegistries=[MIRROR])
        assert len(messages) == 1 and "CRD default" in messages[0]

    def test_required_digest_is_a_violation_for_a_tag_only_image(self):
        messages = violations_of(IMAGES, deployment(), requireDigest=True)
        assert len(messages) == 1 and "not pinned by digest" in messages[0]

    def test_image_outside_the_allowed_registries_is_a_violation(self):
        messages = violations_of(IMAGES, deployment(), allowedRegistries=[MIRROR])
        assert len(messages) == 1
        assert "ghcr.io/stacklok/toolhive/proxyrunner" in messages[0] and MIRROR in messages[0]

    def test_allowed_registry_may_be_a_path_prefix(self):
        mirrored = f"{MIRROR}/ghcr/stacklok/toolhive/proxyrunner:v0.44.0"
        manifest = deployment(containers=[container("web", mirrored)])
        assert violations_of(IMAGES, manifest, allowedRegistries=[f"{MIRROR}/ghcr"]) == []
        assert violations_of(IMAGES, manifest, allowedRegistries=[f"{MIRROR}/docker"])

    def test_images_the_operator_deploys_are_judged_too(self):
        manifest = operator_deployment(env=[{"name": "TOOLHIVE_RUNNER_IMAGE",
                                             "value": "ghcr.io/stacklok/toolhive/proxyrunner:latest"}])
        messages = violations_of(IMAGES, manifest)
        assert len(messages) == 1 and '("TOOLHIVE_RUNNER_IMAGE")' in messages[0]

    @pytest.mark.parametrize("manifest, properties", [
        (deployment(), {}),
        (deployment(containers=[container("web", f"ghcr.io/org/app@{DIGEST}")]), {"requireDigest": True}),
        (deployment(containers=[container("web", f"{MIRROR}/ghcr/org/app:1.0@{DIGEST}")]),
         {"requireDigest": True, "allowedRegistries": [MIRROR]}),
        (mcpserver(image=f"{MIRROR}/ghcr/github/github-mcp-server:v0.20.0"), {"allowedRegistries": [MIRROR]}),
    ], ids=["tagged", "digest", "digest-from-mirror", "mcpserver-from-mirror"])
    def test_pinned_images_from_allowed_registries_comply(self, manifest, properties):
        assert violations_of(IMAGES, manifest, **properties) == []

    def test_offline_checker_reports_latest_images(self, tmp_path, capsys):
        code, results = check_manifests(tmp_path, capsys, mcpserver(image="ghcr.io/org/server:latest"))
        assert [r["enforcement"] for r in of_policy(results, "image-references")] == ["mandatory"]
        assert code == 1

    def test_offline_checker_applies_prod_style_digest_and_registry_config(self, tmp_path, capsys):
        config = {"image-references": {"requireDigest": True, "allowedRegistries": [MIRROR]}}
        code, results = check_manifests(tmp_path, capsys, deployment(), config=config)
        assert len(of_policy(results, "image-references")) == 2
        mirrored = deployment(containers=[container("web", f"{MIRROR}/ghcr/org/app:1.0@{DIGEST}")])
        code, results = check_manifests(tmp_path, capsys, mirrored, config=config)
        assert (code, results) == (0, [])


# ---------------------------------------------------------------------------------------------
# no-secret-literals-in-env
# ---------------------------------------------------------------------------------------------

class TestSecretsComeFromSecrets:
    @pytest.mark.parametrize("name", ["GITHUB_TOKEN", "client_secret", "DB_PASSWORD", "PASSWD", "OPENAI_API_KEY",
                                      "APIKEY", "SSH_PRIVATE_KEY", "AWS_CREDENTIALS", "api-key"])
    def test_secret_looking_names_are_recognised(self, name):
        assert guardrails.is_secret_looking(name)

    @pytest.mark.parametrize("name", ["LOG_LEVEL", "GITHUB_API_URL", "TOKEN_FILE", "SECRET_NAME",
                                      "TOOLHIVE_DEFAULT_REDIS_SECRET_KEY"])
    def test_ordinary_and_reference_names_are_not(self, name):
        assert not guardrails.is_secret_looking(name, guardrails.DEFAULT_ALLOWED_ENV_NAMES)

    def test_literal_token_in_a_pod_container_is_a_violation_without_echoing_the_value(self):
        web = container("web", env=[{"name": "LOG_LEVEL", "value": "info"},
                                    {"name": "API_TOKEN", "value": "s3cr3t-value"}])
        messages = violations_of(SECRETS, deployment(containers=[web]))
        assert len(messages) == 1
        assert messages[0].startswith('spec.template.spec.containers[0] ("web").env[1] ("API_TOKEN")')
        assert "valueFrom.secretKeyRef" in messages[0]
        assert "s3cr3t-value" not in messages[0]

    def test_literal_password_in_an_mcpserver_env_is_a_violation_pointing_at_spec_secrets(self):
        messages = violations_of(SECRETS, mcpserver(env=[{"name": "GITHUB_PERSONAL_ACCESS_TOKEN", "value": "ghp_x"}]))
        assert len(messages) == 1
        assert messages[0].startswith('spec.env[0] ("GITHUB_PERSONAL_ACCESS_TOKEN")')
        assert "spec.secrets" in messages[0]

    def test_literal_secret_in_an_mcpserver_pod_template_is_a_violation(self):
        server = mcpserver(podTemplateSpec={"spec": {"containers": [
            {"name": "mcp", "env": [{"name": "DB_PASSWORD", "value": "x"}]}]}})
        messages = violations_of(SECRETS, server)
        assert len(messages) == 1 and messages[0].startswith("spec.podTemplateSpec.spec.containers[0]")

    @pytest.mark.parametrize("manifest", [
        deployment(containers=[container("web", env=[
            {"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "api", "key": "token"}}},
            {"name": "LOG_LEVEL", "value": "debug"},
            {"name": "EMPTY_PASSWORD", "value": ""}])]),
        mcpserver(env=[{"name": "GITHUB_API_URL", "value": "https://api.github.com"}],
                  secrets=[{"name": "github-token", "key": "token", "targetEnvName": "GITHUB_PERSONAL_ACCESS_TOKEN"}]),
        operator_deployment(env=[{"name": "TOOLHIVE_DEFAULT_REDIS_SECRET_NAME", "value": "redis"},
                                 {"name": "TOOLHIVE_DEFAULT_REDIS_SECRET_KEY", "value": "redis-password"},
                                 {"name": "TOOLHIVE_DEFAULT_IMAGE_PULL_SECRETS", "value": "ghcr,ecr"}]),
    ], ids=["valueFrom", "mcpserver-secrets", "operator-secret-references"])
    def test_secret_references_and_ordinary_values_comply(self, manifest):
        assert violations_of(SECRETS, manifest) == []

    def test_allowed_env_names_property_exempts_names(self):
        manifest = deployment(containers=[container("web", env=[{"name": "PUBLIC_TOKEN", "value": "x"}])])
        assert violations_of(SECRETS, manifest)
        assert violations_of(SECRETS, manifest, allowedEnvNames=["PUBLIC_TOKEN"]) == []

    def test_offline_checker_reports_literal_secrets(self, tmp_path, capsys):
        code, results = check_manifests(tmp_path, capsys, mcpserver(env=[{"name": "API_KEY", "value": "k"}]))
        assert [r["enforcement"] for r in of_policy(results, "no-secret-literals-in-env")] == ["mandatory"]
        assert code == 1

    def test_offline_checker_accepts_secret_key_refs(self, tmp_path, capsys):
        web = container("web", env=[{"name": "API_KEY", "valueFrom": {"secretKeyRef": {"name": "a", "key": "k"}}}])
        _, results = check_manifests(tmp_path, capsys, deployment(containers=[web]))
        assert of_policy(results, "no-secret-literals-in-env") == []


# ---------------------------------------------------------------------------------------------
# no-inline-credentials
# ---------------------------------------------------------------------------------------------

def vmcp(outgoing_auth: dict, **spec) -> dict:
    return toolhive("VirtualMCPServer", "gateway", config={"groupRef": "tools", "outgoingAuth": outgoing_auth},
                    **spec)


def token_exchange(**fields) -> dict:
    return {"type": "token_exchange", "tokenExchange": {"clientId": "gateway", "tokenUrl": "https://idp/token",
                                                        **fields}}


class TestNoInlineCredentials:
    def test_the_policy_knows_every_inline_credential_field_of_the_vendored_crds(self):
        assert set(guardrails.INLINE_CREDENTIAL_FIELDS) == set(inline_credential_fields())
        assert all(ref == f"{field}Env" for field, ref in guardrails.INLINE_CREDENTIAL_FIELDS.items())

    @pytest.mark.parametrize("where, auth", [
        ("default.tokenExchange.clientSecret", {"default": token_exchange(clientSecret="s3cr3t")}),
        ("backends.github.obo.clientSecret", {"backends": {"github": {"type": "obo", "obo": {"clientSecret": "s3cr3t"}}}}),
        ("default.xaa.idpClientSecret", {"default": {"type": "xaa", "xaa": {"idpClientSecret": "s3cr3t"}}}),
        ("default.xaa.targetClientSecret", {"default": {"type": "xaa", "xaa": {"targetClientSecret": "s3cr3t"}}}),
        ("backends.jira.headerInjection.headerValue", {"backends": {"jira": {
            "type": "header_injection", "headerInjection": {"headerName": "Authorization", "headerValue": "s3cr3t"}}}}),
    ], ids=lambda v: v if isinstance(v, str) else "")
    def test_an_inline_credential_in_vmcp_outgoing_auth_is_a_violation_without_echoing_it(self, where, auth):
        messages = violations_of(CREDENTIALS, vmcp(auth))
        assert len(messages) == 1
        assert messages[0].startswith(f"spec.config.outgoingAuth.{where}: credential written inline")
        assert f"{where}Env" in messages[0] and "externalAuthConfigRef" in messages[0]
        assert "s3cr3t" not in messages[0]

    def test_a_value_unknown_during_preview_is_still_written_inline(self):
        assert violations_of(CREDENTIALS, vmcp({"default": token_exchange(clientSecret=UNKNOWN)}))

    @pytest.mark.parametrize("manifest", [
        vmcp({"default": token_exchange(clientSecretEnv="GATEWAY_CLIENT_SECRET")}),
        vmcp({"default": token_exchange(clientSecret="")}),
        vmcp({"default": {"type": "header_injection",
                          "headerInjection": {"headerName": "Authorization", "headerValueEnv": "JIRA_TOKEN"}}}),
        toolhive("VirtualMCPServer", "gateway", config={"groupRef": "tools"}, outgoingAuth={
            "source": "inline", "default": {"type": "externalAuthConfigRef",
                                            "externalAuthConfigRef": {"name": "gateway-auth"}}}),
        toolhive("MCPExternalAuthConfig", "gateway-auth", type="tokenExchange", tokenExchange={
            "tokenUrl": "https://idp/token", "clientId": "gateway",
            "clientSecretRef": {"name": "gateway-oauth", "key": "client-secret"}}),
    ], ids=["clientSecretEnv", "empty", "headerValueEnv", "externalAuthConfigRef", "secret-refs"])
    def test_references_to_secrets_comply(self, manifest):
        assert violations_of(CREDENTIALS, manifest) == []

    def test_only_toolhive_resources_are_checked(self):
        config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "mcp"},
                      "spec": {"clientSecret": "not a ToolHive spec"}}
        assert violations_of(CREDENTIALS, config_map) == []

    def test_offline_checker_reports_an_inline_client_secret_as_mandatory(self, tmp_path, capsys):
        code, results = check_manifests(tmp_path, capsys, vmcp({"default": token_exchange(clientSecret="s3cr3t")}))
        found = of_policy(results, "no-inline-credentials")
        assert [(r["kind"], r["name"], r["enforcement"]) for r in found] == [("VirtualMCPServer", "gateway", "mandatory")]
        assert code == 1 and "s3cr3t" not in str(results)

    def test_offline_checker_accepts_secret_references(self, tmp_path, capsys):
        _, results = check_manifests(tmp_path, capsys,
                                     vmcp({"default": token_exchange(clientSecretEnv="GATEWAY_CLIENT_SECRET")}))
        assert of_policy(results, "no-inline-credentials") == []


# ---------------------------------------------------------------------------------------------
# rbac-no-wildcards
# ---------------------------------------------------------------------------------------------

class TestRolesListTheirPermissions:
    @pytest.mark.parametrize("field", ["verbs", "resources", "apiGroups"])
    def test_wildcard_in_a_rule_field_is_a_violation(self, field):
        rule = {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"]}
        rule[field] = ["*"]
        messages = violations_of(RBAC, role(rules=[{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}, rule]))
        assert messages == [
            f'rules[1].{field} contains "*": list the {dict(guardrails._RULE_FIELDS)[field]} explicitly, or add '
            f'"reader" to the allowedRoles property of rbac-no-wildcards if the wildcard is intended']

    def test_namespaced_role_with_wildcards_is_a_violation(self):
        assert violations_of(RBAC, role("Role", "editor", [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}],
                                        "apps"))

    def test_upstream_operator_manager_role_is_allowed_by_default(self, data_dir):
        from tests.policies.conftest import view
        import yaml
        manifest = yaml.safe_load((data_dir / "toolhive/chart/operator-clusterrole.yaml").read_text())
        assert any("*" in r.get("resources", []) for r in manifest["rules"])
        assert list(RBAC.check(view(manifest), RBAC.properties())) == []
        assert list(RBAC.check(view(manifest), RBAC.properties({"allowedRoles": []})))

    def test_allowed_roles_property_accepts_namespace_slash_name_for_roles(self):
        manifest = role("Role", "editor", [{"apiGroups": [""], "resources": ["*"], "verbs": ["get"]}], "apps")
        assert violations_of(RBAC, manifest, allowedRoles=["apps/editor"]) == []

    def test_explicit_rules_comply(self):
        assert violations_of(RBAC, role()) == []

    def test_offline_checker_reports_wildcard_roles(self, tmp_path, capsys):
        code, results = check_manifests(tmp_path, capsys, role(rules=[{"apiGroups": ["*"], "resources": ["pods"],
                                                                       "verbs": ["get"]}]))
        assert [(r["kind"], r["name"]) for r in of_policy(results, "rbac-no-wildcards")] == [("ClusterRole", "reader")]
        assert code == 1

    def test_offline_checker_accepts_the_upstream_operator_role(self, tmp_path, capsys, data_dir):
        code, results = run_checker(capsys, str(data_dir / "toolhive/chart/operator-clusterrole.yaml"))
        assert (code, results) == (0, [])


# ---------------------------------------------------------------------------------------------
# mcp-namespace-pod-security-labels (stack)
# ---------------------------------------------------------------------------------------------

class TestMcpNamespacesEnforcePodSecurity:
    def test_namespace_hosting_an_mcpserver_without_the_enforce_label_is_a_violation(self):
        results = stack_violations_of(PSA, [namespace("mcp"), mcpserver(namespace="mcp")])
        assert len(results) == 1
        anchor, message = results[0]
        assert (anchor.kind, anchor.object_name) == ("Namespace", "mcp")
        assert "MCPServer mcp/fetch" in message
        assert 'metadata.labels["pod-security.kubernetes.io/enforce"]' in message

    def test_tenant_labelled_namespace_without_mcp_resources_still_needs_the_label(self):
        results = stack_violations_of(PSA, [namespace("team-a", TENANT)])
        assert len(results) == 1 and "toolhive.platform/tenant" in results[0][1]

    def test_privileged_level_is_a_violation(self):
        labels = {**TENANT, "pod-security.kubernetes.io/enforce": "privileged"}
        results = stack_violations_of(PSA, [namespace("team-a", labels)])
        assert len(results) == 1 and '"privileged"' in results[0][1]

    @pytest.mark.parametrize("level", ["baseline", "restricted"])
    def test_baseline_or_restricted_comply(self, level):
        labels = {"pod-security.kubernetes.io/enforce": level}
        assert stack_violations_of(PSA, [namespace("mcp", labels), mcpserver(namespace="mcp")]) == []

    def test_namespaces_without_mcp_servers_are_not_judged(self):
        assert stack_violations_of(PSA, [namespace("apps"), deployment(namespace="apps")]) == []

    def test_offline_checker_reports_unlabelled_mcp_namespace(self, tmp_path, capsys):
        code, results = check_manifests(tmp_path, capsys, namespace("mcp"), mcpserver(), default_deny("mcp"))
        found = of_policy(results, "mcp-namespace-pod-security-labels")
        assert [(r["kind"], r["namespace"], r["name"]) for r in found] == [("Namespace", "", "mcp")]
        assert code == 1

    def test_offline_checker_accepts_labelled_mcp_namespace(self, tmp_path, capsys):
        code, results = check_manifests(tmp_path, capsys, namespace("mcp", RESTRICTED), mcpserver(),
                                        default_deny("mcp"))
        assert (code, results) == (0, [])


# ---------------------------------------------------------------------------------------------
# mcp-namespace-default-deny (stack)
# ---------------------------------------------------------------------------------------------

class TestMcpNamespacesDenyIngressByDefault:
    def test_mcp_namespace_without_network_policy_is_a_violation(self):
        results = stack_violations_of(DENY, [namespace("mcp", RESTRICTED), mcpserver()])
        assert len(results) == 1
        anchor, message = results[0]
        assert (anchor.kind, anchor.object_name) == ("Namespace", "mcp")
        assert "spec.podSelector: {}" in message and "spec.policyTypes: [Ingress]" in message

    def test_violation_is_reported_on_the_mcp_resource_when_the_namespace_is_not_in_the_stack(self):
        results = stack_violations_of(DENY, [mcpserver(namespace="existing")])
        assert len(results) == 1 and results[0][0].kind == "MCPServer"

    @pytest.mark.parametrize("policy", [
        default_deny("mcp", podSelector={"matchLabels": {"app": "fetch"}}),
        default_deny("mcp", policyTypes=["Egress"]),
        default_deny("mcp", ingress=[{"from": [{"podSelector": {}}]}]),
        default_deny("other"),
    ], ids=["selects-some-pods", "egress-only", "allows-ingress", "other-namespace"])
    def test_network_policies_that_are_not_default_deny_in_that_namespace_do_not_count(self, policy):
        assert len(stack_violations_of(DENY, [mcpserver(), policy])) == 1

    @pytest.mark.parametrize("policy", [
        default_deny("mcp"),
        default_deny("mcp", policyTypes=["Ingress", "Egress"]),
        default_deny("mcp", ingress=[]),
    ], ids=["ingress", "ingress-and-egress", "empty-ingress-list"])
    def test_default_deny_policy_complies(self, policy):
        assert stack_violations_of(DENY, [namespace("mcp", RESTRICTED), mcpserver(), policy]) == []

    def test_tenant_namespace_needs_default_deny_too(self):
        assert len(stack_violations_of(DENY, [namespace("team-a", {**TENANT, **RESTRICTED})])) == 1

    def test_offline_checker_reports_missing_default_deny(self, tmp_path, capsys):
        code, results = check_manifests(tmp_path, capsys, namespace("mcp", RESTRICTED), mcpserver())
        assert [(r["kind"], r["name"]) for r in of_policy(results, "mcp-namespace-default-deny")] == [
            ("Namespace", "mcp")]
        assert code == 1

    def test_offline_checker_accepts_default_deny(self, tmp_path, capsys):
        _, results = check_manifests(tmp_path, capsys, namespace("mcp", RESTRICTED), mcpserver(), default_deny("mcp"))
        assert of_policy(results, "mcp-namespace-default-deny") == []


# ---------------------------------------------------------------------------------------------
# protect-crds-and-namespaces
# ---------------------------------------------------------------------------------------------

UNPROTECTED = ResourceOptions(protect=False, retain_on_delete=False)


class TestCrdsAndNamespacesAreProtected:
    @pytest.mark.parametrize("manifest", [crd(), namespace("mcp")], ids=["crd", "namespace"])
    def test_unprotected_crd_or_namespace_is_a_violation(self, manifest):
        messages = violations_of(PROTECT, manifest, UNPROTECTED)
        assert len(messages) == 1 and "protect=True" in messages[0]

    def test_protect_complies(self):
        assert violations_of(PROTECT, crd(), ResourceOptions(protect=True, retain_on_delete=False)) == []

    def test_retain_on_delete_alone_does_not_comply_as_the_engine_never_shows_it_to_the_pack(self):
        """The real run (tools/e2e): under `pulumi preview --policy-pack` the pack sees no retainOnDelete, so
        dev's retained-but-unprotected CRDs were findings there; the offline check must say the same."""
        messages = violations_of(PROTECT, crd(), ResourceOptions(protect=False, retain_on_delete=True))
        assert len(messages) == 1 and "policy engine cannot see it" in messages[0]

    def test_without_known_options_the_check_does_not_apply(self):
        assert violations_of(PROTECT, crd(), None) == []

    def test_when_retain_on_delete_is_invisible_the_message_asks_for_protect(self):
        messages = violations_of(PROTECT, namespace("mcp"), ResourceOptions(protect=False, retain_on_delete=None))
        assert len(messages) == 1 and "policy engine cannot see it" in messages[0]

    def test_other_kinds_are_not_judged(self):
        assert violations_of(PROTECT, deployment(), UNPROTECTED) == []

    def test_offline_checker_does_not_apply_it_to_plain_yaml(self, tmp_path, capsys):
        _, results = check_manifests(tmp_path, capsys, crd())
        assert of_policy(results, "protect-crds-and-namespaces") == []

    def test_offline_checker_applies_it_to_resources_json(self, tmp_path, capsys):
        def entry(manifest, name, protect):
            return {"urn": f"urn:pulumi:dev::proj::kubernetes:x::{name}", "type":
                    f"kubernetes:{'core' if manifest['apiVersion'] == 'v1' else manifest['apiVersion'].split('/')[0]}"
                    f"/{manifest['apiVersion'].split('/')[-1]}:{manifest['kind']}",
                    "name": name, "parent": None, "dependencies": [], "protect": protect,
                    "retain_on_delete": False, "ignore_changes": [], "inputs": copy.deepcopy(manifest)}
        path = write_json(tmp_path, "resources.json", [
            entry(crd(), "crd", False), entry(namespace("kept"), "kept", True)])
        code, results = run_checker(capsys, str(path))
        found = of_policy(results, "protect-crds-and-namespaces")
        assert [(r["kind"], r["name"], r["enforcement"]) for r in found] == [
            ("CustomResourceDefinition", "mcpservers.toolhive.stacklok.dev", "advisory")]
        assert code == 0
        code, results = run_checker(capsys, "--config", str(write_json(tmp_path, "c.json", {"all": "mandatory"})),
                                    str(path))
        assert code == 1 and [r["enforcement"] for r in of_policy(results, "protect-crds-and-namespaces")] == [
            "mandatory"]
