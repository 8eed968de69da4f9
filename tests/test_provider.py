"""Every Kubernetes object goes through the stack's own provider, pointed at the cluster the stack names."""
from __future__ import annotations

import pytest

from components.errors import ConfigError
from tests.conftest import STACKS, render_config, render_stack
from tools.mock_runtime import ProgramRun

PROVIDER_TYPE = "pulumi:providers:kubernetes"


def _provider(rendered):
    (provider,) = [r for r in rendered.resources if r.type == PROVIDER_TYPE]
    return provider


@pytest.mark.parametrize("stack", STACKS)
def test_every_kubernetes_resource_uses_the_stacks_provider_never_the_default(stack, preview):
    rendered = render_stack(stack, preview=preview)
    provider = _provider(rendered)
    k8s = rendered.k8s_resources()
    assert k8s
    assert [r.urn for r in k8s if r.provider != provider.urn] == []


@pytest.mark.parametrize("stack", STACKS)
def test_shipped_stacks_name_their_cluster_context(stack, preview):
    inputs = _provider(render_stack(stack, preview=preview)).inputs
    assert inputs["context"] == {"dev": "kind-toolhive", "staging": "staging", "prod": "prod"}[stack]


def test_provider_takes_context_and_kubeconfig_path_from_toolhive_cluster(preview):
    rendered = render_config({"cluster": {"context": "blue", "kubeconfig": "/etc/kube/blue.yaml"}}, preview=preview)
    inputs = _provider(rendered).inputs
    assert inputs["context"] == "blue" and inputs["kubeconfig"] == "/etc/kube/blue.yaml"


def test_server_side_apply_is_on_and_upsert_and_patch_force_are_off_explicitly(preview, monkeypatch):
    # Explicit values: an environment variable on a CI runner must not switch them.
    monkeypatch.setenv("PULUMI_K8S_UPSERT_EXISTING_OBJECTS", "true")
    monkeypatch.setenv("PULUMI_K8S_ENABLE_PATCH_FORCE", "true")
    monkeypatch.setenv("PULUMI_K8S_ENABLE_SERVER_SIDE_APPLY", "false")
    inputs = _provider(render_config({"cluster": {"context": "env-test"}}, preview=preview)).inputs
    assert inputs["enableServerSideApply"] == "true"
    assert inputs["upsertExistingObjects"] == "false"
    assert inputs["enablePatchForce"] == "false"


def test_a_stack_without_a_cluster_fails_before_any_resource_naming_the_key(preview):
    registered = ProgramRun()
    with pytest.raises(ConfigError) as caught:
        render_config({"cluster": {}}, preview=preview, into=registered)
    assert caught.value.problems[0].startswith("toolhive:cluster.context: is required")
    assert [r.type for r in registered.resources] == ["pulumi:pulumi:Stack"]


def test_a_kubeconfig_file_alone_names_the_cluster(preview):
    assert _provider(render_config({"cluster": {"kubeconfig": "/k/config"}}, preview=preview)).inputs["kubeconfig"] == "/k/config"


@pytest.mark.parametrize("contents", ["apiVersion: v1\nkind: Config", '{"apiVersion": "v1"}'])
def test_kubeconfig_contents_are_refused_a_path_is_required(contents):
    with pytest.raises(ConfigError) as caught:
        render_config({"cluster": {"context": "c", "kubeconfig": contents}})
    assert caught.value.problems == ["toolhive:cluster.kubeconfig: must be a path to a kubeconfig file, not its contents"]


def test_unknown_cluster_keys_are_refused():
    with pytest.raises(ConfigError) as caught:
        render_config({"cluster": {"context": "c", "namespace": "x"}})
    assert caught.value.problems[0].startswith("toolhive:cluster.namespace: unknown key")
