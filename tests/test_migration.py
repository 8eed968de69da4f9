"""Moving a cluster from the upstream Helm charts: adoption mode and the generated `pulumi import` file.

The chart facts are vendored in components/bundle/charts/<release>.yaml (source and license noted
there). What a real cluster does with them (upsert, field-manager takeover) is only verifiable there.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from components.config.loader import parse_stack_config
from components.k8s import naming
from components.platform.helm_adoption import PATCH_FORCE, adoptable_objects, chart_facts, chart_objects, not_adoptable
from tests.conftest import PROJECT_ROOT, STACKS, TEST_CLUSTER, render_config, render_stack
from tools.helm_import import import_document
from tools.render import read_stack_file


def _stack_config(stack: str):
    raw, _ = read_stack_file(PROJECT_ROOT / f"Pulumi.{stack}.yaml")
    return parse_stack_config({k.split(":", 1)[1]: v for k, v in raw.items() if k.startswith("toolhive:")})


def _identity(resource):
    metadata = resource.inputs["metadata"]
    return resource.type, metadata.get("namespace"), metadata["name"]


@pytest.mark.parametrize("stack", STACKS)
def test_every_import_entry_is_a_resource_the_program_registers(stack, preview):
    rendered = render_stack(stack, preview=preview)
    document = import_document(rendered.run, _stack_config(stack))
    by_name = {(r.type, r.name): r for r in rendered.resources}
    provider = next(r for r in rendered.resources if r.type == "pulumi:providers:kubernetes")
    assert document["resources"]
    for entry in document["resources"]:
        resource = by_name[(entry["type"], entry["name"])]
        assert document["nameTable"][entry["parent"]] == resource.parent
        assert document["nameTable"][entry["provider"]] == provider.urn
        _, namespace, name = _identity(resource)
        assert entry["id"] == (f"{namespace}/{name}" if namespace else name)


@pytest.mark.parametrize("stack", STACKS)
def test_the_import_file_covers_every_chart_object_but_the_ones_that_cannot_be_adopted(stack):
    config = _stack_config(stack)
    document = import_document(render_stack(stack).run, config)
    imported = {(e["type"], e["id"]) for e in document["resources"]}
    assert imported == {(o.type_token, o.import_id) for o in chart_objects(config) if o not in not_adoptable(config)}
    assert len(imported) == len(document["resources"])


def test_chart_objects_cover_both_charts_and_the_namespace_helm_created():
    config = parse_stack_config({})
    kinds = sorted({o.kind for o in chart_objects(config)})
    assert kinds == ["ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "Deployment", "Namespace",
                     "Role", "RoleBinding", "ServiceAccount"]
    assert len([o for o in chart_objects(config) if o.kind == "CustomResourceDefinition"]) == 14


def test_namespace_scoped_operator_adopts_one_manager_rolebinding_per_watched_namespace():
    config = parse_stack_config({"namespaces": [{"name": "a"}, {"name": "b"}],
                                "operator": {"rbac": {"scope": "namespace", "allowedNamespaces": ["a", "b"]},
                                              "features": {"storageVersionMigrator": False}}})
    bindings = [o for o in chart_objects(config) if o.name == naming.OPERATOR_MANAGER_BINDING]
    assert [(o.kind, o.namespace) for o in bindings] == [("RoleBinding", "a"), ("RoleBinding", "b")]


def test_our_names_are_the_charts_names():
    facts = chart_facts("v0.44.0")["operatorChart"]
    names = {fact["name"] for fact in facts["objects"]}
    assert names == {naming.OPERATOR_SERVICE_ACCOUNT, naming.OPERATOR_MANAGER_ROLE, naming.OPERATOR_LEADER_ELECTION_ROLE,
                     naming.OPERATOR_LEADER_ELECTION_BINDING, naming.OPERATOR}
    assert facts["clusterScopeBinding"]["name"] == naming.OPERATOR_MANAGER_BINDING


def test_the_operator_deployment_is_not_adopted_because_its_immutable_selector_differs():
    skipped = not_adoptable(parse_stack_config({}))
    assert [(o.kind, o.import_id) for o in skipped] == [("Deployment", f"toolhive-system/{naming.OPERATOR}")]
    assert "spec.selector is immutable" in next(iter(skipped.values()))


def test_adoption_mode_upserts_and_patch_forces_exactly_the_chart_objects(preview):
    rendered = render_config({"cluster": {**TEST_CLUSTER, "adoptExisting": True}, "namespaces": [{"name": "team-a"}]},
                             preview=preview)
    provider = next(r for r in rendered.resources if r.type == "pulumi:providers:kubernetes")
    assert provider.inputs["upsertExistingObjects"] == "true"
    forced = {_identity(r) for r in rendered.k8s_resources()
              if (r.inputs["metadata"].get("annotations") or {}).get(PATCH_FORCE) == "true"}
    expected = {(o.type_token, o.namespace, o.name) for o in adoptable_objects(parse_stack_config({}))}
    assert forced == expected


def test_without_adoption_nothing_is_patch_forced_and_creates_fail_on_existing_objects(preview):
    rendered = render_config({"namespaces": [{"name": "team-a"}]}, preview=preview)
    provider = next(r for r in rendered.resources if r.type == "pulumi:providers:kubernetes")
    assert provider.inputs["upsertExistingObjects"] == "false"
    assert not [r.urn for r in rendered.k8s_resources() if PATCH_FORCE in (r.inputs["metadata"].get("annotations") or {})]


@pytest.mark.process
def test_helm_import_cli_prints_the_import_file_and_names_what_it_leaves_out():
    result = subprocess.run([sys.executable, "-m", "tools.helm_import", "dev"], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert {e["type"] for e in document["resources"]} >= {"kubernetes:core/v1:ServiceAccount",
                                                          "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"}
    assert "not imported: Deployment toolhive-system/toolhive-operator" in result.stderr
    assert "pulumi up --target" in result.stderr


def test_helm_import_cli_exits_2_on_a_bad_stack_file(tmp_path):
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text("config:\n  toolhive:operator:\n    rbac:\n      scope: everywhere\n")
    result = subprocess.run([sys.executable, "-m", "tools.helm_import", "bad", "--config-file", str(bad)],
                            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "toolhive:operator.rbac.scope" in result.stderr and "Traceback" not in result.stderr
