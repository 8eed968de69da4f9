"""Every policy of the pack, in reporting order. The CrossGuard pack (``policies.pack``) and the
offline checker (``policies.check``) both take their policies from :func:`all_policies`."""
from __future__ import annotations

from typing import Any, Iterator, Mapping

from . import guardrails, pod_security, replicas
from .core import MANDATORY, Policy, ResourcePolicy, ResourceView, UndecidableError, find_unknown

DEFAULT_PSS_LEVEL = "restricted"


def check_pod_security(view: ResourceView, props: Mapping[str, Any]) -> Iterator[str]:
    level = props.get("level", DEFAULT_PSS_LEVEL)
    manifest = view.manifest
    if not pod_security.pod_templates(manifest) and view.kind != "MCPServer":
        return
    unknown = find_unknown(manifest.get("spec"), "spec")
    if unknown:
        # The check needs the whole pod spec; during preview let the engine report it cannot run yet.
        raise UndecidableError(unknown)
    yield from pod_security.check_object(manifest, level=level)


POD_SECURITY_STANDARDS = ResourcePolicy(
    name=pod_security.POLICY_NAME,
    description="Pods, pod controllers, PodTemplates and ToolHive spec.podTemplateSpec meet the Kubernetes "
                "Pod Security Standards at the configured level.",
    enforcement=MANDATORY,
    config_schema={
        "level": {
            "type": "string", "enum": list(pod_security.LEVELS), "default": DEFAULT_PSS_LEVEL,
            "description": "Pod Security Standards level to enforce.",
        },
    },
    check=check_pod_security,
)


def all_policies() -> list[Policy]:
    return [POD_SECURITY_STANDARDS, *replicas.POLICIES, *guardrails.POLICIES]


def policy_names() -> list[str]:
    return [p.name for p in all_policies()]


def get_policy(name: str) -> Policy:
    for policy in all_policies():
        if policy.name == name:
            return policy
    raise KeyError(name)
