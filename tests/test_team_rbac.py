"""Team RBAC: viewer, editor and admin Roles per tenant namespace, bound to groups and users."""
from __future__ import annotations

import itertools

import pytest

from tests.conftest import STACKS, render_config, render_stack
from tests.policies.conftest import inline_credential_fields

ACCESS = {"namespaces": [{"name": "team-a", "access": {
    "viewers": {"groups": ["everyone"]},
    "editors": {"groups": ["team-a-devs"], "users": ["lead@example.com"]},
    "admins": {"users": ["owner@example.com"]},
}}]}


@pytest.fixture
def team(preview):
    return render_config(ACCESS, preview=preview)


def grants(rules):
    return {(g, r, v) for rule in rules
            for g, r, v in itertools.product(rule.get("apiGroups", []), rule.get("resources", []), rule["verbs"])}


def test_viewers_read_but_do_not_write_toolhive_resources(team):
    rules = grants(team.object("Role", "toolhive-viewer", "team-a")["rules"])
    assert ("toolhive.stacklok.dev", "mcpservers", "list") in rules
    assert ("toolhive.stacklok.dev", "mcpservers", "create") not in rules
    assert not any(resource == "secrets" for _, resource, _ in rules)


#: ToolHive resources whose spec can carry credentials: VirtualMCPServer (spec.config.outgoingAuth client
#: secrets and header values inline) and MCPExternalAuthConfig (the credential wiring of MCP servers).
CREDENTIAL_BEARING = {"virtualmcpservers", "mcpexternalauthconfigs"}


def toolhive_reads(rules) -> set[str]:
    """The toolhive.stacklok.dev resources (and subresources) the rules let one get, list or watch."""
    return {resource for group, resource, verb in grants(rules)
            if group == "toolhive.stacklok.dev" and verb in ("get", "list", "watch")}


def credential_bearing_reads(rules) -> set[str]:
    return {r for r in toolhive_reads(rules) if r.split("/")[0] in CREDENTIAL_BEARING}


def test_every_kind_whose_crd_holds_inline_credentials_counts_as_credential_bearing():
    holders = set().union(*inline_credential_fields().values())
    assert holders and holders <= CREDENTIAL_BEARING


def test_viewers_cannot_read_resources_whose_spec_can_hold_credentials(team):
    rules = team.object("Role", "toolhive-viewer", "team-a")["rules"]
    assert credential_bearing_reads(rules) == set()
    assert {"mcpservers", "mcpservers/status", "mcpremoteproxies", "mcptoolconfigs"} <= toolhive_reads(rules)


def test_the_view_aggregation_cannot_read_them_either(team):
    """`view` is bound widely (often to every authenticated user of a namespace): like Secrets, specs
    that can carry credentials stay out of it, the /status subresource too (a GET returns the spec)."""
    view = team.object("ClusterRole", "toolhive-platform-aggregate-to-view")["rules"]
    assert credential_bearing_reads(view) == set()
    plurals = {r for r in toolhive_reads(view) if "/" not in r}
    assert plurals and {f"{p}/status" for p in plurals} <= toolhive_reads(view)


def test_editors_and_admins_still_read_and_manage_credential_bearing_resources(team):
    for role in (team.object("Role", "toolhive-editor", "team-a"), team.object("Role", "toolhive-admin", "team-a"),
                 team.object("ClusterRole", "toolhive-platform-aggregate-to-edit"),
                 team.object("ClusterRole", "toolhive-platform-aggregate-to-admin")):
        rules = grants(role["rules"])
        for plural in CREDENTIAL_BEARING:
            assert {("toolhive.stacklok.dev", plural, verb) for verb in ("get", "list", "update")} <= rules


def test_editors_manage_mcp_servers_and_their_configs(team):
    rules = grants(team.object("Role", "toolhive-editor", "team-a")["rules"])
    for resource in ("mcpservers", "mcptoolconfigs", "mcpexternalauthconfigs", "virtualmcpservers", "mcpremoteproxies"):
        assert ("toolhive.stacklok.dev", resource, "create") in rules
        assert ("toolhive.stacklok.dev", resource, "delete") in rules
    assert not any(resource in ("secrets", "rolebindings") for _, resource, _ in rules)


def test_admins_also_manage_secrets_and_rolebindings(team):
    rules = grants(team.object("Role", "toolhive-admin", "team-a")["rules"])
    assert ("", "secrets", "create") in rules
    assert ("rbac.authorization.k8s.io", "rolebindings", "create") in rules
    assert ("toolhive.stacklok.dev", "mcpservers", "update") in rules


def test_roles_are_bound_to_the_configured_groups_and_users(team):
    editors = team.object("RoleBinding", "toolhive-editors", "team-a")
    assert editors["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "toolhive-editor"}
    assert editors["subjects"] == [
        {"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "team-a-devs"},
        {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "lead@example.com"},
    ]
    assert team.object("RoleBinding", "toolhive-admins", "team-a")["subjects"][0]["name"] == "owner@example.com"


def test_a_tier_nobody_holds_gets_no_binding(preview):
    rendered = render_config({"namespaces": [{"name": "team-a"}]}, preview=preview)
    assert [b["metadata"]["name"] for b in rendered.objects("RoleBinding") if b["metadata"]["namespace"] == "team-a"] == []
    assert len([r for r in rendered.objects("Role") if r["metadata"]["namespace"] == "team-a"]) == 3


def test_toolhive_rules_aggregate_into_the_builtin_roles(team):
    for builtin in ("view", "edit", "admin"):
        role = team.object("ClusterRole", f"toolhive-platform-aggregate-to-{builtin}")
        assert role["metadata"]["labels"][f"rbac.authorization.k8s.io/aggregate-to-{builtin}"] == "true"
    view = grants(team.object("ClusterRole", "toolhive-platform-aggregate-to-view")["rules"])
    assert ("toolhive.stacklok.dev", "mcpservers", "delete") not in view
    edit = grants(team.object("ClusterRole", "toolhive-platform-aggregate-to-edit")["rules"])
    assert ("toolhive.stacklok.dev", "mcpservers", "delete") in edit


def test_aggregation_can_be_turned_off(preview):
    rendered = render_config({"teamRbac": {"aggregateToBuiltinRoles": False}}, preview=preview)
    assert not [r for r in rendered.objects("ClusterRole") if r["metadata"]["name"].startswith("toolhive-platform-aggregate")]


@pytest.mark.parametrize("stack", STACKS)
def test_no_wildcard_in_anything_team_rbac_writes(stack):
    rendered = render_stack(stack)
    team_roles = [r for r in rendered.k8s_resources() if r.inputs["kind"] in ("Role", "ClusterRole")
                  and "toolhive:platform:TeamRbac$" in r.urn]
    assert team_roles
    for role in team_roles:
        for rule in role.inputs["rules"]:
            for field in ("apiGroups", "resources", "verbs"):
                assert "*" not in rule.get(field, []), (role.urn, rule)


def test_every_team_role_waits_for_its_namespace_and_every_binding_for_its_role(team):
    namespace_urn = team.resource("Namespace", "team-a").urn
    for tier in ("viewer", "editor", "admin"):
        role = team.resource("Role", f"toolhive-{tier}", "team-a")
        binding = team.resource("RoleBinding", f"toolhive-{tier}s", "team-a")
        assert namespace_urn in team.waits_for(role), tier
        assert role.urn in team.waits_for(binding), tier
        assert binding.inputs["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": f"toolhive-{tier}"}


def test_editors_and_admins_cover_every_toolhive_kind_of_the_release(team):
    plurals = {crd["spec"]["names"]["plural"] for crd in team.objects("CustomResourceDefinition")}
    assert len(plurals) == 14
    for tier in ("editor", "admin"):
        rules = grants(team.object("Role", f"toolhive-{tier}", "team-a")["rules"])
        assert {r for g, r, v in rules if g == "toolhive.stacklok.dev" and v == "list"} == plurals, tier


def test_no_tier_writes_status_execs_into_pods_or_writes_roles(team):
    for tier in ("viewer", "editor", "admin"):
        rules = grants(team.object("Role", f"toolhive-{tier}", "team-a")["rules"])
        assert not [r for r in rules if r[1].endswith("/status") and r[2] != "get"], tier
        assert not [r for r in rules if r[1] in ("pods/exec", "pods/attach", "pods/portforward")], tier
        assert not [r for r in rules if r[1] in ("roles", "clusterroles") and r[2] not in ("get", "list", "watch")], tier
        assert not [r for r in rules if r[0] == "" and r[1] != "secrets" and r[2] not in ("get", "list", "watch")], tier


def test_viewers_write_nothing_and_editors_touch_no_secrets(team):
    viewer = grants(team.object("Role", "toolhive-viewer", "team-a")["rules"])
    assert {verb for _, _, verb in viewer} == {"get", "list", "watch"}
    editor = grants(team.object("Role", "toolhive-editor", "team-a")["rules"])
    assert not [r for r in editor if r[1] in ("secrets", "rolebindings", "roles")]


def test_every_configured_user_and_group_is_bound_and_no_one_else(team):
    viewers = team.object("RoleBinding", "toolhive-viewers", "team-a")["subjects"]
    assert viewers == [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "everyone"}]
    admins = team.object("RoleBinding", "toolhive-admins", "team-a")["subjects"]
    assert admins == [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "owner@example.com"}]


def test_each_builtin_role_aggregates_the_toolhive_rules_of_its_tier_and_nothing_else(team):
    for builtin, tier in (("view", "viewer"), ("edit", "editor"), ("admin", "admin")):
        aggregated = team.object("ClusterRole", f"toolhive-platform-aggregate-to-{builtin}")
        assert {k: v for k, v in aggregated["metadata"]["labels"].items() if k.startswith("rbac.")} == {
            f"rbac.authorization.k8s.io/aggregate-to-{builtin}": "true"}
        team_role = {r for r in grants(team.object("Role", f"toolhive-{tier}", "team-a")["rules"])
                     if r[0] == "toolhive.stacklok.dev"}
        if builtin == "view":  # may be narrower than the viewer Role, never wider
            assert grants(aggregated["rules"]) <= team_role
            assert {verb for _, _, verb in grants(aggregated["rules"])} <= {"get", "list", "watch"}
        else:
            assert grants(aggregated["rules"]) == team_role, builtin
