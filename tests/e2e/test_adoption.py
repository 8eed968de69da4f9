"""The real run's Helm migration path (tools/e2e/adoption.py): the charts' objects as Helm made them."""
from __future__ import annotations

from pathlib import Path

import pytest

from components.config.loader import parse_stack_config
from tests.conftest import render_stack
from tools.e2e import adoption
from tools.render import read_stack_file, write_outputs

ROOT = Path(__file__).resolve().parents[2]


def chart_objects_of(stack: str, out: Path):
    """The stack's configuration and the charts' objects as the real run makes them: from the render directory the
    renderer writes (its `up` render, shared with the other tests of this process; the files by its own writer)."""
    write_outputs(render_stack(stack).run, out)
    raw, _ = read_stack_file(ROOT / f"Pulumi.{stack}.yaml")
    config = parse_stack_config({key.split(":", 1)[1]: value for key, value in raw.items() if key.startswith("toolhive:")})
    return config, adoption.helm_objects(config, out)


@pytest.fixture(scope="module")
def dev(tmp_path_factory):
    _, objects = chart_objects_of("dev", tmp_path_factory.mktemp("render") / "dev")
    return {(obj["kind"], obj["metadata"]["name"]): obj for obj in objects}


def test_every_chart_object_is_made_with_helms_release_marks_but_the_namespace(dev):
    assert ("Deployment", "toolhive-operator") in dev and ("CustomResourceDefinition", "mcpservers.toolhive.stacklok.dev") in dev
    for (kind, name), obj in dev.items():
        annotations = obj["metadata"].get("annotations", {})
        if kind == "Namespace":
            assert "meta.helm.sh/release-name" not in annotations, "helm install --create-namespace makes it bare"
            continue
        assert annotations["meta.helm.sh/release-name"] == "toolhive-operator", (kind, name)
        assert obj["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"
        assert set(obj["metadata"]) <= {"name", "namespace", "labels", "annotations"}


def test_the_charts_deployment_has_the_charts_selector_which_the_program_cannot_adopt(dev):
    spec = dev[("Deployment", "toolhive-operator")]["spec"]
    assert spec["selector"]["matchLabels"]["app.kubernetes.io/instance"] == "toolhive-operator"
    assert spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()


def test_an_objects_rest_path_comes_from_discovery():
    resources = [{"base": "/apis/apps/v1", "apiVersion": "apps/v1", "kind": "Deployment", "name": "deployments",
                  "namespaced": True},
                 {"base": "/apis/rbac.authorization.k8s.io/v1", "apiVersion": "rbac.authorization.k8s.io/v1",
                  "kind": "ClusterRole", "name": "clusterroles", "namespaced": False}]
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "op", "namespace": "ts"}}
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "r"}}
    assert adoption.object_path(deployment, resources) == "/apis/apps/v1/namespaces/ts/deployments/op"
    assert adoption.object_path(role, resources) == "/apis/rbac.authorization.k8s.io/v1/clusterroles/r"


def test_managers_are_read_from_managed_fields():
    live = {"metadata": {"managedFields": [{"manager": "helm"}, {"manager": "pulumi-kubernetes-abc"}]}}
    assert adoption.managers(live) == {"helm", "pulumi-kubernetes-abc"}


def test_a_namespace_scoped_operators_allowed_namespaces_exist_before_helm_installs_into_them(tmp_path):
    """prod's operator is namespace-scoped: the chart puts RoleBindings into mcp-platform and mcp-data, which helm
    install does not create (the real run's adoption was refused with `namespaces "mcp-platform" not found`)."""
    config, objects = chart_objects_of("prod", tmp_path / "prod")
    needed = adoption.namespaces_helm_needs(objects)
    assert [ns["metadata"]["name"] for ns in needed] == sorted(config.watched_namespaces)
    assert needed[0] == {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": needed[0]["metadata"]["name"]}}
    assert config.operator.namespace not in {ns["metadata"]["name"] for ns in needed}, "the chart's own namespace is made"


def test_a_cluster_scoped_operator_needs_no_namespace_before_helm(dev):
    assert adoption.namespaces_helm_needs(list(dev.values())) == []
