"""The policy model's helpers: where an unknown value sits, and which kinds a view is."""
from policies.core import UNKNOWN, ResourceView, find_unknown


def test_find_unknown_spells_the_path_to_the_first_unknown_value():
    spec = {"replicas": 1, "template": {"spec": {"containers": [{"name": "a"}, {"image": UNKNOWN}]}}}
    assert find_unknown(spec, "spec") == "spec.template.spec.containers[1].image"


def test_find_unknown_without_a_prefix_starts_at_the_first_key():
    assert find_unknown({"a": [0, {"b": UNKNOWN}]}) == "a[1].b"


def test_find_unknown_of_an_unknown_value_itself():
    assert find_unknown(UNKNOWN) == "."
    assert find_unknown(UNKNOWN, "spec") == "spec"


def test_find_unknown_finds_nothing_in_known_values():
    assert find_unknown({"a": [1, "x", None, True, 2.5, {"b": []}]}, "spec") is None


def test_is_kind_takes_one_kind_or_several_and_one_group_or_several():
    view = ResourceView.from_manifest({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}})
    assert view.is_kind("Deployment")
    assert view.is_kind(("StatefulSet", "Deployment"), "apps")
    assert view.is_kind("Deployment", ("extensions", "apps"))
    assert not view.is_kind("Deploy")
    assert not view.is_kind("DeploymentList")  # a kind, not a substring
    assert not view.is_kind(("StatefulSet",))
    assert not view.is_kind("Deployment", "")
