"""A destroy never leaves a tenant namespace standing but open: its fences share its delete options."""
from __future__ import annotations

import pytest

from tests.conftest import STACKS, render_config, render_stack

FENCE_KINDS = ("ResourceQuota", "LimitRange", "NetworkPolicy")


@pytest.mark.parametrize("stack", STACKS)
def test_every_fence_is_retained_and_protected_like_its_namespace(stack, preview):
    rendered = render_stack(stack, preview=preview)
    namespaces = {r.inputs["metadata"]["name"]: r for r in rendered.k8s_resources("Namespace")}
    # The tenant's fences; a server's own NetworkPolicies only allow (on top of the retained default-deny)
    # and go with the server, as does the session store's policy with its StatefulSet.
    fences = [r for kind in FENCE_KINDS for r in rendered.k8s_resources(kind) if "TenantNamespace" in r.urn]
    assert {kind for kind in FENCE_KINDS} == {r.inputs["kind"] for r in fences}
    for fence in fences:
        namespace = namespaces[fence.inputs["metadata"]["namespace"]]
        assert namespace.retain_on_delete
        assert fence.retain_on_delete, f"{fence.urn} would be deleted while its namespace stays"
        assert fence.protect == namespace.protect, fence.urn


def test_fences_of_a_protected_namespace_are_protected(preview):
    rendered = render_config({"namespaceProtect": True, "namespaces": [{"name": "team-a"}]}, preview=preview)
    for kind in FENCE_KINDS:
        for fence in rendered.k8s_resources(kind):
            assert fence.protect and fence.retain_on_delete, fence.urn


def test_fences_of_an_unprotected_namespace_are_still_retained(preview):
    rendered = render_config({"namespaceProtect": False, "namespaces": [{"name": "team-a"}]}, preview=preview)
    for kind in FENCE_KINDS:
        for fence in rendered.k8s_resources(kind):
            assert not fence.protect and fence.retain_on_delete, fence.urn
