"""Team access to ToolHive resources: viewer, editor and admin Roles per tenant namespace.

Viewers read ToolHive resources (and the pods, services and logs behind them) except those whose spec
can carry credentials; editors also manage MCP servers and their configs; admins also manage Secrets and
RoleBindings. Every rule names its verbs and resources: no `*`. Optionally, ClusterRoles aggregate the
same ToolHive rules into the built-in view/edit/admin roles, so existing bindings of those roles cover
ToolHive too (`view` is bound widely, so it must not read credentials, like it never reads Secrets).
"""
from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.k8s import naming
from components.config import TenantNamespace as TenantNamespaceConfig
from components.k8s.labels import standard_labels

READ = ["get", "list", "watch"]
WRITE = ["create", "update", "patch", "delete"]
TOOLHIVE_GROUP = "toolhive.stacklok.dev"
RBAC_GROUP = "rbac.authorization.k8s.io"

#: ToolHive resources whose spec can carry credentials, hidden from viewers (and `view`), as Secrets are:
#: - virtualmcpservers: spec.config.outgoingAuth holds clientSecret, idpClientSecret, targetClientSecret
#:   and headerValue inline (v0.44.0 CRD; the `no-inline-credentials` policy refuses them, but a
#:   VirtualMCPServer created outside this program is not checked);
#: - mcpexternalauthconfigs: the credential wiring of MCP servers (which Secret and key holds each client
#:   secret, token and signing key; the DCR software-statement JWT inline).
#: The `/status` subresource is withheld too: a GET on it returns the whole object, spec included.
CREDENTIAL_BEARING_PLURALS = frozenset({"virtualmcpservers", "mcpexternalauthconfigs"})


def toolhive_rules(plurals: list[str], tier: str) -> list[dict]:
    """The rules over toolhive.stacklok.dev resources a tier gets (editors and admins manage them all)."""
    readable = sorted(plurals) if tier in ("editor", "admin") else sorted(set(plurals) - CREDENTIAL_BEARING_PLURALS)
    rules = [{"apiGroups": [TOOLHIVE_GROUP], "resources": readable, "verbs": READ},
             {"apiGroups": [TOOLHIVE_GROUP], "resources": [f"{p}/status" for p in readable], "verbs": ["get"]}]
    if tier in ("editor", "admin"):
        rules.append({"apiGroups": [TOOLHIVE_GROUP], "resources": sorted(plurals), "verbs": WRITE})
    return rules


def team_rules(plurals: list[str], tier: str) -> list[dict]:
    """Everything a tier may do in a tenant namespace."""
    rules = toolhive_rules(plurals, tier) + [
        {"apiGroups": [""], "resources": ["pods", "services", "events", "configmaps"], "verbs": READ},
        {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
    ]
    if tier == "admin":
        rules += [
            {"apiGroups": [""], "resources": ["secrets"], "verbs": READ + WRITE},
            {"apiGroups": [RBAC_GROUP], "resources": ["rolebindings"], "verbs": READ + WRITE},
            {"apiGroups": [RBAC_GROUP], "resources": ["roles"], "verbs": READ},
        ]
    return rules


def subjects(groups: list[str], users: list[str]) -> list[dict]:
    return ([{"kind": "Group", "apiGroup": RBAC_GROUP, "name": g} for g in groups]
            + [{"kind": "User", "apiGroup": RBAC_GROUP, "name": u} for u in users])


class TeamRbac(pulumi.ComponentResource):
    """Roles and bindings for the teams of every tenant namespace, plus the aggregated ClusterRoles."""

    def __init__(self, name: str, namespaces: list[TenantNamespaceConfig], *, toolhive_plurals: list[str],
                 namespace_resources: dict[str, pulumi.Resource], aggregate_to_builtin_roles: bool = True,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("toolhive:platform:TeamRbac", name, None, opts)
        labels = standard_labels("toolhive-team-rbac", "rbac")
        self.roles: list[k8s.rbac.v1.Role] = []
        self.bindings: list[k8s.rbac.v1.RoleBinding] = []

        for config in namespaces:
            ns = config.name
            inside = pulumi.ResourceOptions(parent=self, depends_on=[namespace_resources[ns]])
            for tier in naming.TEAM_ROLES:
                role = k8s.rbac.v1.Role(
                    naming.resource_name(ns, "role", naming.team_role(tier)),
                    metadata={"name": naming.team_role(tier), "namespace": ns, "labels": labels},
                    rules=team_rules(toolhive_plurals, tier),
                    opts=inside,
                )
                self.roles.append(role)
                who = getattr(config.access, f"{tier}s")
                if who.groups or who.users:
                    self.bindings.append(k8s.rbac.v1.RoleBinding(
                        naming.resource_name(ns, "rolebinding", naming.team_binding(tier)),
                        metadata={"name": naming.team_binding(tier), "namespace": ns, "labels": labels},
                        role_ref={"apiGroup": RBAC_GROUP, "kind": "Role", "name": naming.team_role(tier)},
                        subjects=subjects(who.groups, who.users),
                        opts=pulumi.ResourceOptions(parent=self, depends_on=[role]),
                    ))

        self.aggregated_roles: list[k8s.rbac.v1.ClusterRole] = []
        if aggregate_to_builtin_roles:
            for builtin, tier in (("view", "viewer"), ("edit", "editor"), ("admin", "admin")):
                self.aggregated_roles.append(k8s.rbac.v1.ClusterRole(
                    naming.resource_name("clusterrole", naming.aggregate_role(builtin)),
                    metadata={"name": naming.aggregate_role(builtin),
                              "labels": {**labels, f"rbac.authorization.k8s.io/aggregate-to-{builtin}": "true"}},
                    rules=toolhive_rules(toolhive_plurals, tier),
                    opts=pulumi.ResourceOptions(parent=self),
                ))

        self.register_outputs({"roles": len(self.roles), "bindings": len(self.bindings)})
