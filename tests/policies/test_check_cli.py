"""The offline checker: `python -m policies.check`, its input formats, output, exit codes and the
in-process API the renderer uses."""
from __future__ import annotations

import json

import pytest

from policies import check, typetokens
from policies.core import ConfigError, ResourceView, Violation, check_objects, has_mandatory
from policies.registry import policy_names
from tests.policies.conftest import (
    POLICIES_DIR, container, crd, default_deny, deployment, mcpserver, namespace, run_checker, run_cli,
    write_json, write_yaml,
)

REPORT_KEYS = {"file", "kind", "namespace", "name", "policy", "enforcement", "message"}
RESTRICTED = {"pod-security.kubernetes.io/enforce": "restricted"}


def bare_deployment():
    bare = container("web")
    del bare["resources"]
    return deployment(containers=[bare])


# ---------------------------------------------------------------------------------------------
# Type tokens
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("api_version, kind, token", [
    ("v1", "Pod", "kubernetes:core/v1:Pod"),
    ("apps/v1", "Deployment", "kubernetes:apps/v1:Deployment"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole", "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition",
     "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"),
    ("toolhive.stacklok.dev/v1beta1", "MCPServer", "kubernetes:toolhive.stacklok.dev/v1beta1:MCPServer"),
])
def test_objects_map_to_the_type_token_the_engine_passes(api_version, kind, token):
    assert typetokens.type_token(api_version, kind) == token
    parsed = typetokens.parse_type_token(token)
    assert (parsed.api_version, parsed.kind) == (api_version, kind)


def test_views_built_from_yaml_carry_the_type_token():
    assert ResourceView.from_manifest(mcpserver()).type == "kubernetes:toolhive.stacklok.dev/v1beta1:MCPServer"


# ---------------------------------------------------------------------------------------------
# Exit codes and output
# ---------------------------------------------------------------------------------------------

class TestCliExitCodesAndOutput:
    def test_compliant_input_exits_zero_with_no_output(self, tmp_path):
        path = write_yaml(tmp_path, "ok.yaml", deployment())
        result = run_cli(str(path))
        assert result.returncode == 0, result.stderr
        assert result.stdout == ""

    def test_mandatory_violation_exits_one_with_one_line_per_violation(self, tmp_path):
        path = write_yaml(tmp_path, "bad.yaml", bare_deployment())
        result = run_cli(str(path))
        assert result.returncode == 1
        lines = result.stdout.splitlines()
        assert lines == [f'{path}: Deployment apps/web: [container-resources] mandatory: '
                         f'spec.template.spec.containers[0] ("web"): set resources.requests.cpu, '
                         f'resources.requests.memory, resources.limits.memory (CPU and memory requests and a '
                         f'memory limit are required on every container)']

    def test_advisory_violations_only_exit_zero(self, tmp_path):
        path = write_yaml(tmp_path, "bad.yaml", bare_deployment())
        config = write_json(tmp_path, "dev.json", {"all": "advisory"})
        result = run_cli("--config", str(config), str(path))
        assert result.returncode == 0
        assert "[container-resources] advisory:" in result.stdout

    def test_json_output_is_a_list_of_objects_with_exactly_the_report_keys(self, tmp_path):
        path = write_yaml(tmp_path, "bad.yaml", bare_deployment(), mcpserver(env=[{"name": "API_TOKEN", "value": "x"}]))
        result = run_cli("--json", str(path))
        assert result.returncode == 1
        report = json.loads(result.stdout)
        assert isinstance(report, list) and len(report) >= 2
        assert all(set(item) == REPORT_KEYS for item in report)
        assert all(item["enforcement"] in ("advisory", "mandatory") for item in report)
        first = report[0]
        assert (first["file"], first["kind"], first["namespace"], first["name"], first["policy"]) == (
            str(path), "Deployment", "apps", "web", "container-resources")

    def test_json_output_of_compliant_input_is_an_empty_list(self, tmp_path):
        result = run_cli("--json", str(write_yaml(tmp_path, "ok.yaml", deployment())))
        assert (result.returncode, json.loads(result.stdout)) == (0, [])

    def test_disabled_policy_is_not_run(self, tmp_path, capsys):
        path = write_yaml(tmp_path, "bad.yaml", bare_deployment())
        config = write_json(tmp_path, "c.json", {"container-resources": "disabled"})
        assert run_checker(capsys, "--config", str(config), str(path)) == (0, [])

    def test_per_policy_level_overrides_all(self, tmp_path, capsys):
        path = write_yaml(tmp_path, "bad.yaml", bare_deployment())
        config = write_json(tmp_path, "c.json", {"all": "advisory", "container-resources": "mandatory"})
        code, results = run_checker(capsys, "--config", str(config), str(path))
        assert code == 1 and [r["enforcement"] for r in results] == ["mandatory"]


# ---------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------

class TestCliInputs:
    def test_directories_are_searched_recursively_for_yaml_and_yml(self, tmp_path, capsys):
        write_yaml(tmp_path / "manifests", "a.yaml", bare_deployment())
        write_yaml(tmp_path / "manifests" / "nested", "b.yml", bare_deployment())
        (tmp_path / "manifests" / "notes.txt").write_text("not yaml: [")
        write_yaml(tmp_path / "manifests" / ".hidden", "c.yaml", bare_deployment())
        code, results = run_checker(capsys, str(tmp_path / "manifests"))
        assert code == 1
        assert sorted(r["file"].rsplit("/", 1)[-1] for r in results) == ["a.yaml", "b.yml"]

    def test_multi_document_files_with_empty_documents_are_read(self, tmp_path, capsys):
        path = tmp_path / "multi.yaml"
        path.write_text("---\n---\n" + json.dumps(bare_deployment()) + "\n---\n# only a comment\n---\n"
                        + json.dumps(namespace("apps")) + "\n")
        code, results = run_checker(capsys, str(path))
        assert code == 1 and [r["kind"] for r in results] == ["Deployment"]

    def test_kubernetes_lists_are_expanded(self, tmp_path, capsys):
        path = write_yaml(tmp_path, "list.yaml", {"apiVersion": "v1", "kind": "List", "items": [bare_deployment()]})
        code, results = run_checker(capsys, str(path))
        assert code == 1 and results[0]["kind"] == "Deployment"

    def test_resources_json_skips_non_kubernetes_entries_and_knows_resource_options(self, tmp_path, capsys):
        entries = [
            {"urn": "urn:pulumi:dev::p::pulumi:pulumi:Stack::p-dev", "type": "pulumi:pulumi:Stack", "name": "p-dev",
             "parent": None, "dependencies": [], "protect": False, "retain_on_delete": False,
             "ignore_changes": [], "inputs": {}},
            {"urn": "urn:pulumi:dev::p::pulumi:providers:kubernetes::k8s", "type": "pulumi:providers:kubernetes",
             "name": "k8s", "parent": None, "dependencies": [], "protect": False, "retain_on_delete": False,
             "ignore_changes": [], "inputs": {"kubeconfig": "x"}},
            {"urn": "urn:pulumi:dev::p::toolhive:index:Operator::op", "type": "toolhive:index:Operator",
             "name": "op", "parent": None, "dependencies": [], "protect": False, "retain_on_delete": False,
             "ignore_changes": [], "inputs": {}},
            {"urn": "urn:pulumi:dev::p::kubernetes:apps/v1:Deployment::web", "type": "kubernetes:apps/v1:Deployment",
             "name": "web", "parent": None, "dependencies": [], "protect": False, "retain_on_delete": False,
             "ignore_changes": [], "inputs": bare_deployment()},
            {"urn": "urn:pulumi:dev::p::kubernetes:core/v1:Namespace::mcp", "type": "kubernetes:core/v1:Namespace",
             "name": "mcp", "parent": None, "dependencies": [], "protect": False, "retain_on_delete": True,
             "ignore_changes": [], "inputs": namespace("mcp")},
        ]
        code, results = run_checker(capsys, str(write_json(tmp_path, "resources.json", entries)))
        assert code == 1
        assert sorted((r["kind"], r["policy"]) for r in results) == [
            ("Deployment", "container-resources"), ("Namespace", "protect-crds-and-namespaces")]
        assert all(r["file"].endswith("resources.json") for r in results)

    def test_resources_json_inputs_without_apiversion_use_the_type_token(self, tmp_path, capsys):
        inputs = bare_deployment()
        del inputs["apiVersion"], inputs["kind"]
        entries = [{"urn": "u", "type": "kubernetes:apps/v1:Deployment", "name": "web", "protect": False,
                    "retain_on_delete": False, "inputs": inputs}]
        code, results = run_checker(capsys, str(write_json(tmp_path, "resources.json", entries)))
        assert code == 1 and results[0]["kind"] == "Deployment"


# ---------------------------------------------------------------------------------------------
# Unreadable input and bad config: exit 2, no traceback
# ---------------------------------------------------------------------------------------------

class TestCliErrors:
    @pytest.mark.parametrize("content, reason", [
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: [unclosed\n", "invalid YAML"),
        ("- just\n- a list\n", "not a Kubernetes object"),
        (b"\xff\xfe\x00binary", "not UTF-8"),
        ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  name: b\n", "line 5, column 3: key 'name' is set twice"),
    ], ids=["broken-yaml", "not-an-object", "binary", "duplicate-key"])
    def test_unreadable_input_exits_two_naming_file_and_reason(self, tmp_path, content, reason):
        path = tmp_path / "broken.yaml"
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        result = run_cli(str(path))
        assert result.returncode == 2
        assert str(path) in result.stderr and reason in result.stderr
        assert "Traceback" not in result.stderr
        assert result.stdout == ""

    def test_missing_path_exits_two(self, tmp_path):
        result = run_cli(str(tmp_path / "nope.yaml"))
        assert result.returncode == 2
        assert "nope.yaml" in result.stderr and "no such file" in result.stderr
        assert "Traceback" not in result.stderr

    def test_invalid_resources_json_exits_two(self, tmp_path):
        path = tmp_path / "resources.json"
        path.write_text("[{")
        result = run_cli(str(path))
        assert result.returncode == 2 and "invalid JSON" in result.stderr and "Traceback" not in result.stderr

    @pytest.mark.parametrize("config, names", [
        ({"no-such-policy": "mandatory"}, ['"no-such-policy"']),
        ({"image-references": {"requireDigest": "yes"}}, ['"image-references"', '"requireDigest"']),
        ({"image-references": {"allowedRegistry": ["x"]}}, ['"image-references"', '"allowedRegistry"']),
        ({"pod-security-standards": {"level": "privileged"}}, ['"pod-security-standards"', '"level"']),
        ({"container-resources": "strict"}, ['"container-resources"', '"strict"']),
        ({"all": {"enforcementLevel": "advisory", "level": "baseline"}}, ['"all"']),
    ], ids=["unknown-policy", "wrong-type", "unknown-property", "bad-enum", "bad-level", "properties-on-all"])
    def test_bad_config_exits_two_naming_policy_and_property(self, tmp_path, config, names):
        path = write_yaml(tmp_path, "ok.yaml", deployment())
        result = run_cli("--config", str(write_json(tmp_path, "bad.json", config)), str(path))
        assert result.returncode == 2
        assert "bad --config" in result.stderr
        for name in names:
            assert name in result.stderr
        assert "Traceback" not in result.stderr

    def test_unparsable_config_file_exits_two(self, tmp_path):
        config = tmp_path / "bad.json"
        config.write_text("{not json")
        result = run_cli("--config", str(config), str(write_yaml(tmp_path, "ok.yaml", deployment())))
        assert result.returncode == 2 and "bad.json" in result.stderr and "Traceback" not in result.stderr


# ---------------------------------------------------------------------------------------------
# In-process API for the renderer
# ---------------------------------------------------------------------------------------------

class TestInProcessApi:
    def entries(self):
        def entry(name, manifest, token, protect=False):
            return {"urn": f"urn:pulumi:dev::p::{token}::{name}", "type": token, "name": name, "parent": None,
                    "dependencies": [], "protect": protect, "retain_on_delete": False, "ignore_changes": [],
                    "inputs": manifest}
        return [
            entry("stack", {}, "pulumi:pulumi:Stack"),
            entry("mcp-ns", namespace("mcp", RESTRICTED), typetokens.NAMESPACE, protect=True),
            entry("crd", crd(), typetokens.CRD),
            entry("deny", default_deny("mcp"), typetokens.NETWORK_POLICY),
            entry("fetch", mcpserver(transport="stdio", replicas=2), typetokens.MCP_SERVER),
        ]

    def test_views_from_resources_builds_views_with_known_options(self):
        views = check.views_from_resources(self.entries(), source="out/resources.json")
        assert [v.kind for v in views] == ["Namespace", "CustomResourceDefinition", "NetworkPolicy", "MCPServer"]
        assert views[0].opts.protect is True and views[1].opts.protect is False
        assert all(v.source == "out/resources.json" and v.urn.startswith("urn:pulumi:") for v in views)

    def test_check_objects_returns_violations_with_report_dicts_and_urns(self):
        views = check.views_from_resources(self.entries(), source="out/resources.json")
        violations = check_objects(views, {"all": "mandatory"})
        assert all(isinstance(v, Violation) for v in violations)
        by_policy = {v.policy: v for v in violations}
        assert set(by_policy) == {"protect-crds-and-namespaces", "mcp-stdio-single-replica",
                                  "mcp-replicas-need-redis-sessions"}
        assert by_policy["mcp-stdio-single-replica"].urn.endswith("::fetch")
        assert set(by_policy["mcp-stdio-single-replica"].to_dict()) == REPORT_KEYS
        assert has_mandatory(violations)

    def test_check_objects_with_default_config_uses_the_policy_defaults(self):
        violations = check_objects(check.views_from_resources(self.entries()))
        levels = {v.policy: v.enforcement for v in violations}
        assert levels["protect-crds-and-namespaces"] == "advisory"
        assert levels["mcp-stdio-single-replica"] == "mandatory"

    def test_check_objects_raises_config_error_for_bad_config(self):
        with pytest.raises(ConfigError, match='"image-references".*"requireDigest"'):
            check_objects([], {"image-references": {"requireDigest": 1}})

    def test_load_config_reads_the_environment_files(self):
        for env in ("dev", "staging", "prod"):
            assert isinstance(check.load_config(POLICIES_DIR / "config" / f"{env}.json"), dict)

    def test_every_policy_name_is_unique(self):
        assert len(policy_names()) == len(set(policy_names()))


class TestRendererReport:
    def entries(self, manifest):
        return [{"urn": "urn:pulumi:dev::p::pulumi:pulumi:Stack::p-dev", "type": "pulumi:pulumi:Stack",
                 "name": "p-dev", "parent": "", "dependencies": [], "protect": False, "retain_on_delete": False,
                 "ignore_changes": [], "inputs": {}},
                {"urn": "urn:pulumi:dev::p::kubernetes:apps/v1:Deployment::web", "type": typetokens.DEPLOYMENT,
                 "name": "web", "parent": "", "dependencies": [], "protect": False, "retain_on_delete": False,
                 "ignore_changes": [], "inputs": manifest}]

    def test_report_for_render_writes_the_json_report_and_returns_the_exit_status(self, tmp_path):
        report = tmp_path / "out" / "policy-report.json"
        assert check.report_for_render(self.entries(bare_deployment()), None, report) == 1
        written = json.loads(report.read_text())
        assert [(r["policy"], r["enforcement"]) for r in written] == [("container-resources", "mandatory")]
        assert all(set(r) == REPORT_KEYS for r in written)
        assert written[0]["file"] == str(tmp_path / "out" / "resources.json")

    def test_report_for_render_with_an_advisory_config_returns_zero(self, tmp_path):
        report = tmp_path / "policy-report.json"
        assert check.report_for_render(self.entries(bare_deployment()), POLICIES_DIR / "config" / "dev.json",
                                       report) == 0
        assert [r["enforcement"] for r in json.loads(report.read_text())] == ["advisory"]

    def test_report_for_render_of_a_compliant_render_is_an_empty_list(self, tmp_path):
        report = tmp_path / "policy-report.json"
        assert check.report_for_render(self.entries(deployment()), None, report) == 0
        assert json.loads(report.read_text()) == []

    def test_report_for_render_with_a_bad_config_returns_two_and_writes_nothing(self, tmp_path, capsys):
        report = tmp_path / "policy-report.json"
        config = write_json(tmp_path, "bad.json", {"rbac-no-wildcards": {"allowedRoles": "x"}})
        assert check.report_for_render(self.entries(deployment()), config, report) == 2
        assert not report.exists()
        assert '"rbac-no-wildcards"' in capsys.readouterr().err


def test_upstream_examples_are_checked_without_errors(data_dir, capsys):
    code, results = run_checker(capsys, str(data_dir / "toolhive" / "examples"))
    assert code in (0, 1)
    assert results and all(set(r) == REPORT_KEYS for r in results)
    assert {r["policy"] for r in results} <= set(policy_names())
