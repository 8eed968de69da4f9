"""The CrossGuard pack: adapters to pulumi_policy (invoked with fake args, no server), the pack's
files and environment configs, and one end-to-end run of the analyzer as Pulumi starts it."""
from __future__ import annotations

import json
import sys
from types import SimpleNamespace

import pytest
import yaml
from pulumi_policy import (
    EnforcementLevel, PolicyResourceOptions, PolicyCustomTimeouts, ResourceValidationArgs,
    ResourceValidationPolicy, StackValidationPolicy,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from policies import pack, registry, typetokens
from policies.core import resolve_config
from tests.policies.conftest import (
    DIGEST, POLICIES_DIR, REDIS, container, crd, default_deny, deployment, hpa, mcpserver,
    namespace, running_pack,
)

ENV_CONFIGS = {env: POLICIES_DIR / "config" / f"{env}.json" for env in ("dev", "staging", "prod")}


def pulumi_policies() -> dict:
    return {p.name: p for p in pack.pulumi_policies()}


def fake_args(manifest: dict, token: str = "", config: dict | None = None, protect: bool = False,
              name: str = "res"):
    """Duck-typed ResourceValidationArgs / PolicyResource."""
    if not token:
        token = typetokens.type_token(manifest["apiVersion"], manifest["kind"])
    return SimpleNamespace(
        resource_type=token, props=manifest, name=name,
        urn=f"urn:pulumi:dev::toolhive::{token}::{name}",
        opts=SimpleNamespace(protect=protect, ignore_changes=[], delete_before_replace=None, aliases=[],
                             additional_secret_outputs=[], parent=None),
        provider=None,
        get_config=lambda: dict(config or {}),
    )


def validate(policy_name: str, args) -> list[tuple]:
    """Run one pack policy's validate callback; returns the report_violation calls."""
    reports: list[tuple] = []
    pulumi_policies()[policy_name].validate(args, lambda message, urn=None: reports.append((message, urn)))
    return reports


def validate_stack(policy_name: str, manifests: list[dict], config: dict | None = None) -> list[tuple]:
    resources = [fake_args(m, name=m["metadata"]["name"]) for m in manifests]
    args = SimpleNamespace(resources=resources, get_config=lambda: dict(config or {}))
    reports: list[tuple] = []
    pulumi_policies()[policy_name].validate(args, lambda message, urn=None: reports.append((message, urn)))
    return reports


# ---------------------------------------------------------------------------------------------
# The pack's policies
# ---------------------------------------------------------------------------------------------

class TestPackPolicies:
    def test_every_registered_policy_is_in_the_pack_once(self):
        names = [p.name for p in pack.pulumi_policies()]
        assert names == registry.policy_names()
        assert len(names) == len(set(names)) == 14

    def test_pod_security_standards_is_a_resource_policy_with_a_level_property(self):
        policy = pulumi_policies()["pod-security-standards"]
        assert isinstance(policy, ResourceValidationPolicy)
        assert policy.enforcement_level == EnforcementLevel.MANDATORY
        level = policy.config_schema.properties["level"]
        assert level["enum"] == ["baseline", "restricted"] and level["default"] == "restricted"

    def test_stack_level_policies_are_stack_validation_policies(self):
        policies = pulumi_policies()
        stack = {name for name, p in policies.items() if isinstance(p, StackValidationPolicy)}
        assert stack == {"hpa-replicas-conflict", "mcp-namespace-pod-security-labels", "mcp-namespace-default-deny"}

    def test_every_config_property_declares_a_default(self):
        for policy in pack.pulumi_policies():
            if policy.config_schema:
                for prop, schema in policy.config_schema.properties.items():
                    assert "default" in schema, f"{policy.name}.{prop}"
                    assert "type" in schema and "description" in schema

    def test_default_enforcement_levels(self):
        levels = {p.name: p.enforcement_level.value for p in pack.pulumi_policies()}
        assert levels["mcp-replicas-need-redis-sessions"] == "advisory"
        assert levels["protect-crds-and-namespaces"] == "advisory"
        assert {n for n, level in levels.items() if level == "advisory"} == {
            "mcp-replicas-need-redis-sessions", "protect-crds-and-namespaces"}


# ---------------------------------------------------------------------------------------------
# Resource validation adapters
# ---------------------------------------------------------------------------------------------

class TestResourceValidationAdapters:
    def test_pod_security_reports_violations_of_a_privileged_pod(self):
        web = container("web")
        web["securityContext"]["privileged"] = True
        reports = validate("pod-security-standards", fake_args(deployment(containers=[web])))
        assert reports and all(urn is None for _, urn in reports)
        assert any("privileged" in message for message, _ in reports)

    def test_pod_security_level_comes_from_the_policy_config(self):
        web = container("web")
        del web["securityContext"]["capabilities"]  # restricted requires dropping ALL, baseline does not
        manifest = deployment(containers=[web])
        assert validate("pod-security-standards", fake_args(manifest))
        assert validate("pod-security-standards", fake_args(manifest, config={"level": "baseline"})) == []

    def test_compliant_deployment_passes_every_resource_policy(self):
        for name, policy in pulumi_policies().items():
            if isinstance(policy, ResourceValidationPolicy):
                assert validate(name, fake_args(deployment())) == [], name

    def test_replica_rule_on_an_mcpserver_custom_resource(self):
        reports = validate("mcp-stdio-single-replica", fake_args(mcpserver(transport="stdio", replicas=2)))
        assert len(reports) == 1 and "spec.replicas is 2" in reports[0][0]

    def test_image_policy_properties_come_from_the_config(self):
        args = fake_args(deployment(), config={"requireDigest": True,
                                               "allowedRegistries": ["123456789012.dkr.ecr.eu-west-1.amazonaws.com"]})
        assert len(validate("image-references", args)) == 2
        assert validate("image-references", fake_args(deployment())) == []

    def test_protect_option_comes_from_the_engine_options(self):
        assert len(validate("protect-crds-and-namespaces", fake_args(crd(), protect=False))) == 1
        assert validate("protect-crds-and-namespaces", fake_args(crd(), protect=True)) == []

    def test_real_args_with_engine_proxies_unknowns_and_double_numbers(self):
        # As the engine delivers them: props behind the unknown-checking proxy, numbers as doubles.
        manifest = mcpserver(transport="stdio", replicas=2.0, image=UNKNOWN_STRING_VALUE)
        opts = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
        args = ResourceValidationArgs(typetokens.MCP_SERVER, unknown_checking_proxy(manifest), "urn:x", "fetch",
                                      opts, None, {})
        assert [m for m, _ in validate("mcp-stdio-single-replica", args)] == [
            'spec.replicas is 2 but spec.transport is "stdio": a stdio MCP server is a single process the proxy '
            'attaches to over stdin/stdout and cannot be scaled out; set spec.replicas to 1 (or leave it unset), '
            'or set spec.transport to "streamable-http" if the server supports it']
        assert validate("image-references", args) == []  # unknown image: nothing to judge yet

    def test_pod_security_with_unknown_pod_spec_values_tells_the_engine_it_cannot_run_yet(self):
        manifest = deployment(containers=[container("web", UNKNOWN_STRING_VALUE)])
        opts = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
        args = ResourceValidationArgs(typetokens.DEPLOYMENT, unknown_checking_proxy(manifest), "urn:x", "web",
                                      opts, None, {})
        with pytest.raises(UnknownValueError):
            validate("pod-security-standards", args)


# ---------------------------------------------------------------------------------------------
# Stack validation adapters
# ---------------------------------------------------------------------------------------------

class TestStackValidationAdapters:
    def test_hpa_conflict_is_reported_with_the_custom_resource_urn(self):
        reports = validate_stack("hpa-replicas-conflict", [mcpserver(replicas=2, sessionStorage=REDIS),
                                                            hpa("MCPServer", "fetch")])
        assert len(reports) == 1
        assert reports[0][1] == f"urn:pulumi:dev::toolhive::{typetokens.MCP_SERVER}::fetch"

    def test_namespace_rules_see_every_resource_of_the_stack(self):
        manifests = [namespace("mcp"), mcpserver()]
        assert len(validate_stack("mcp-namespace-pod-security-labels", manifests)) == 1
        assert len(validate_stack("mcp-namespace-default-deny", manifests)) == 1
        compliant = [namespace("mcp", {"pod-security.kubernetes.io/enforce": "baseline"}), mcpserver(),
                     default_deny("mcp")]
        assert validate_stack("mcp-namespace-pod-security-labels", compliant) == []
        assert validate_stack("mcp-namespace-default-deny", compliant) == []


# ---------------------------------------------------------------------------------------------
# Environment configs and pack files
# ---------------------------------------------------------------------------------------------

class TestEnvironmentConfigs:
    @pytest.mark.parametrize("env", sorted(ENV_CONFIGS))
    def test_config_parses_and_is_valid_for_the_pack(self, env):
        config = json.loads(ENV_CONFIGS[env].read_text())
        resolve_config(registry.all_policies(), config)

    def test_dev_is_advisory(self):
        settings = resolve_config(registry.all_policies(), json.loads(ENV_CONFIGS["dev"].read_text()))
        assert {s.enforcement for s in settings.values()} == {"advisory"}

    def test_prod_makes_every_policy_mandatory(self):
        settings = resolve_config(registry.all_policies(), json.loads(ENV_CONFIGS["prod"].read_text()))
        assert {s.enforcement for s in settings.values()} == {"mandatory"}
        assert settings["pod-security-standards"].properties["level"] == "restricted"

    def test_prod_requires_digests_from_the_ecr_mirror(self):
        settings = resolve_config(registry.all_policies(), json.loads(ENV_CONFIGS["prod"].read_text()))
        images = settings["image-references"].properties
        assert images["requireDigest"] is True
        assert images["allowedRegistries"] == ["123456789012.dkr.ecr.eu-west-1.amazonaws.com"]

    def test_staging_mirrors_images_without_requiring_digests(self):
        settings = resolve_config(registry.all_policies(), json.loads(ENV_CONFIGS["staging"].read_text()))
        images = settings["image-references"]
        assert images.enforcement == "mandatory" and images.properties["requireDigest"] is False
        assert images.properties["allowedRegistries"] == ["123456789012.dkr.ecr.eu-west-1.amazonaws.com"]

    def test_prod_config_rejects_an_unpinned_image_through_the_checker(self, tmp_path, capsys):
        from tests.policies.conftest import check_manifests
        mirrored = f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/ghcr/stacklok/toolhive/proxyrunner:v0.44.0@{DIGEST}"
        code, _ = check_manifests(tmp_path, capsys, deployment(containers=[container("web", mirrored)]),
                                  config=json.loads(ENV_CONFIGS["prod"].read_text()))
        assert code == 0
        code, results = check_manifests(tmp_path, capsys, deployment(),
                                        config=json.loads(ENV_CONFIGS["prod"].read_text()))
        assert code == 1 and {r["policy"] for r in results} == {"image-references"}


class TestPackFiles:
    def test_pulumi_policy_yaml_declares_the_python_runtime(self):
        manifest = yaml.safe_load((POLICIES_DIR / "PulumiPolicy.yaml").read_text())
        assert manifest["runtime"]["name"] == "python"
        assert manifest["description"] and manifest["version"]

    def test_requirements_pin_pulumi_policy_and_pyyaml_with_ranges(self):
        lines = [line.split("#")[0].strip() for line in (POLICIES_DIR / "requirements.txt").read_text().splitlines()]
        reqs = {line.split(">")[0].split("=")[0].split("<")[0].strip().lower(): line for line in lines if line}
        assert ">=" in reqs["pulumi-policy"] and "<" in reqs["pulumi-policy"]
        assert ">=" in reqs["pyyaml"] and "<" in reqs["pyyaml"]

    def test_no_pack_module_shadows_a_standard_library_module(self):
        # Pulumi runs the pack with policies/ as the working directory (first on sys.path).
        names = {p.stem for p in POLICIES_DIR.glob("*.py")} | {p.name for p in POLICIES_DIR.iterdir() if p.is_dir()}
        assert not names & set(sys.stdlib_module_names)


# ---------------------------------------------------------------------------------------------
# End to end: the analyzer as `pulumi preview --policy-pack policies` starts it
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def analyzer():
    """The pack started like the CLI starts it, in this test's interpreter (fast; the fresh-virtualenv
    runs are in test_pack_under_cli.py)."""
    with running_pack(sys.executable, POLICIES_DIR) as stub:
        yield stub


def _struct(data: dict):
    from google.protobuf import struct_pb2
    struct = struct_pb2.Struct()
    struct.update(data)
    return struct


class TestPackServedToTheEngine:
    def test_analyzer_info_lists_every_policy_with_its_schema(self, analyzer):
        from google.protobuf import empty_pb2, json_format
        info = analyzer.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
        assert info.name == pack.PACK_NAME and info.supportsConfig
        policies = {p.name: p for p in info.policies}
        assert list(policies) == registry.policy_names()
        level = json_format.MessageToDict(policies["pod-security-standards"].configSchema)["properties"]["level"]
        assert level["default"] == "restricted"

    def test_analyze_reports_violations_under_the_configured_enforcement(self, analyzer):
        from pulumi.runtime.proto import analyzer_pb2
        analyzer.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig={
            "image-references": analyzer_pb2.PolicyConfig(
                enforcementLevel=analyzer_pb2.MANDATORY,
                properties=_struct({"requireDigest": True, "allowedRegistries": []})),
            "mcp-replicas-need-redis-sessions": analyzer_pb2.PolicyConfig(enforcementLevel=analyzer_pb2.MANDATORY),
        }), timeout=30)
        server = mcpserver(transport="stdio", replicas=2)
        response = analyzer.Analyze(analyzer_pb2.AnalyzeRequest(
            type=typetokens.MCP_SERVER, properties=_struct(server), urn="urn:pulumi:dev::p::x::fetch", name="fetch",
            options=analyzer_pb2.AnalyzerResourceOptions(protect=False)), timeout=30)
        found = {(d.policyName, d.enforcementLevel) for d in response.diagnostics}
        assert found == {("mcp-stdio-single-replica", analyzer_pb2.MANDATORY),
                         ("mcp-replicas-need-redis-sessions", analyzer_pb2.MANDATORY),
                         ("image-references", analyzer_pb2.MANDATORY)}

    def test_analyze_stack_runs_the_stack_policies(self, analyzer):
        from pulumi.runtime.proto import analyzer_pb2
        resources = [analyzer_pb2.AnalyzerResource(type=typetokens.type_token(m["apiVersion"], m["kind"]),
                                                   properties=_struct(m), urn=f"urn:{m['metadata']['name']}",
                                                   name=m["metadata"]["name"])
                     for m in (namespace("mcp"), mcpserver())]
        response = analyzer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=resources), timeout=30)
        found = {(d.policyName, d.urn) for d in response.diagnostics}
        assert found == {("mcp-namespace-pod-security-labels", "urn:mcp"), ("mcp-namespace-default-deny", "urn:mcp")}


def test_resources_of_other_providers_and_components_are_ignored():
    component = SimpleNamespace(resource_type="toolhive:platform:Operator", props=mcpserver(),
                                name="op", urn="urn:op", opts=SimpleNamespace(protect=False),
                                get_config=lambda: {})
    assert validate("protect-crds-and-namespaces", component) == []
    args = SimpleNamespace(resources=[component], get_config=lambda: {})
    reports: list = []
    pulumi_policies()["mcp-namespace-default-deny"].validate(args, lambda m, urn=None: reports.append(m))
    assert reports == []
