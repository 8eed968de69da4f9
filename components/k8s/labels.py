"""The one way to build labels: app.kubernetes.io labels, selector labels and the tenant marker."""
from __future__ import annotations

PART_OF = "toolhive-platform"
MANAGED_BY = "pulumi"
# Marks a namespace that hosts MCP servers; the policy pack keys its namespace guardrails on it.
TENANT_LABEL = "toolhive.platform/tenant"
RESERVED_NAMESPACE_LABEL_PREFIXES = ("pod-security.kubernetes.io/", "app.kubernetes.io/", "toolhive.platform/")


def standard_labels(name: str, component: str, *, version: str | None = None) -> dict[str, str]:
    """The recommended app.kubernetes.io label set of every object this program writes."""
    labels = {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/instance": name,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }
    if version:
        labels["app.kubernetes.io/version"] = version
    return labels


def selector_labels(name: str) -> dict[str, str]:
    """The immutable subset used in selectors: it must never change between releases."""
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": name}


def pod_security_labels(level: str, version: str) -> dict[str, str]:
    """Pod Security Admission labels: enforce, audit and warn at one level, each pinned to a version."""
    labels = {}
    for mode in ("enforce", "audit", "warn"):
        labels[f"pod-security.kubernetes.io/{mode}"] = level
        labels[f"pod-security.kubernetes.io/{mode}-version"] = version
    return labels
