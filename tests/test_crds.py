"""The CRD install: the release's 14 CRDs, protected, and every custom resource after them."""
from __future__ import annotations

import hashlib

import pytest

from components import bundle
from tests.conftest import STACKS, load_yaml, render_config, render_stack

RELEASE = "v0.44.0"


def upstream_crd_files() -> list:
    return sorted(bundle.crd_dir(RELEASE).glob("*.yaml"))


def test_bundled_crd_files_are_the_upstream_release_files(data_dir):
    """components/bundle/crds/v0.44.0 holds the upstream chart's files byte for byte (digests in tests/data)."""
    recorded = dict(line.split()[::-1] for line in (data_dir / "toolhive/crds.sha256").read_text().splitlines())
    assert len(recorded) == 14
    assert {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in upstream_crd_files()} == recorded


def test_installs_the_fourteen_toolhive_crds_of_the_release(preview):
    rendered = render_config({}, preview=preview)
    crds = rendered.objects("CustomResourceDefinition")
    upstream = {load_yaml(path.read_text())["metadata"]["name"] for path in upstream_crd_files()}
    assert {crd["metadata"]["name"] for crd in crds} == upstream
    assert len(crds) == 14
    assert all(crd["spec"]["group"] == "toolhive.stacklok.dev" for crd in crds)


def test_installed_crds_match_upstream_specs():
    rendered = render_config({})
    for path in upstream_crd_files():
        upstream = load_yaml(path.read_text())
        installed = rendered.object("CustomResourceDefinition", upstream["metadata"]["name"])
        assert installed["spec"] == upstream["spec"]


def test_v1beta1_is_the_stored_version():
    rendered = render_config({})
    crd = rendered.object("CustomResourceDefinition", "mcpservers.toolhive.stacklok.dev")
    assert [v["name"] for v in crd["spec"]["versions"] if v.get("storage")] == ["v1beta1"]


def test_crds_are_protected_and_retained_on_delete(preview):
    for crd in render_config({}, preview=preview).k8s_resources("CustomResourceDefinition"):
        assert crd.protect is True and crd.retain_on_delete is True, crd.urn


def test_unprotected_crds_are_still_never_deleted(preview):
    for crd in render_config({"crds": {"protect": False}}, preview=preview).k8s_resources("CustomResourceDefinition"):
        assert crd.protect is False and crd.retain_on_delete is True


@pytest.mark.parametrize("stack", STACKS)
def test_every_toolhive_custom_resource_depends_on_its_crd(stack, preview):
    rendered = render_stack(stack, preview=preview)
    crd_urns = {r.inputs["spec"]["names"]["kind"]: r.urn for r in rendered.k8s_resources("CustomResourceDefinition")}
    custom = [r for r in rendered.k8s_resources() if r.inputs["apiVersion"].startswith("toolhive.stacklok.dev/")]
    assert custom, "every shipped stack creates at least one ToolHive resource"
    for resource in custom:
        assert crd_urns[resource.inputs["kind"]] in resource.dependencies, resource.urn


def test_installed_crds_keep_the_upstream_labels_the_storage_version_migrator_selects():
    rendered = render_config({})
    for path in upstream_crd_files():
        upstream = load_yaml(path.read_text())["metadata"]
        installed = rendered.object("CustomResourceDefinition", upstream["name"])["metadata"]
        assert installed["labels"].items() >= upstream.get("labels", {}).items(), upstream["name"]
        assert installed.get("annotations", {}) == upstream.get("annotations", {}), upstream["name"]
