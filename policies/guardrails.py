"""Platform guardrails for the ToolHive stack.

- ``container-resources``: containers set CPU and memory requests and a memory limit.
- ``image-references``: no ``:latest`` or untagged images; optionally digests (``requireDigest``) and
  an allow-list of registries (``allowedRegistries``).
- ``no-secret-literals-in-env``: no literal ``value`` for secret-looking env vars (TOKEN, SECRET,
  PASSWORD, ...) in pods or MCPServers (``allowedEnvNames`` exempts names).
- ``no-inline-credentials``: no credential written inline in a ToolHive spec (VirtualMCPServer
  ``outgoingAuth`` client secrets and header values): a spec is readable by everyone who may read
  the resource, and is stored in the manifest and the Pulumi state.
- ``rbac-no-wildcards``: no ``*`` in verbs, resources or apiGroups of Roles/ClusterRoles
  (``allowedRoles`` exempts roles, by default the upstream operator manager role).
- ``mcp-namespace-pod-security-labels`` (stack): namespaces that host MCP servers carry a
  ``pod-security.kubernetes.io/enforce`` label of baseline or restricted.
- ``mcp-namespace-default-deny`` (stack): namespaces that host MCP servers have a default-deny
  ingress NetworkPolicy.
- ``protect-crds-and-namespaces``: CRDs and Namespaces use the ``protect`` or ``retainOnDelete``
  resource option (checked only where resource options are known).

A namespace hosts MCP servers if it is labelled ``toolhive.platform/tenant: "true"`` or if an
MCPServer, MCPRemoteProxy or VirtualMCPServer among the checked resources lives in it.
"""
from __future__ import annotations

import re
from typing import Any, Iterator, Mapping, Optional, Sequence

from . import k8s
from .core import (
    ADVISORY, MANDATORY, ResourcePolicy, ResourceView, StackPolicy, as_dict, as_list, is_unknown,
)
from .replicas import is_operator_deployment
from .typetokens import (
    APIEXTENSIONS_GROUP, MCP_WORKLOAD_KINDS, NETWORKING_GROUP, RBAC_GROUP, TOOLHIVE_GROUP,
)

TENANT_LABEL = "toolhive.platform/tenant"
PSA_ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"
PSA_ACCEPTED_LEVELS = ("baseline", "restricted")
ECR_MIRROR_PLACEHOLDER = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
OPERATOR_MANAGER_ROLE = "toolhive-operator-manager-role"


def _quoted(items: Sequence[str]) -> str:
    return ", ".join(f'"{i}"' for i in items)


# ---------------------------------------------------------------------------------------------
# container-resources
# ---------------------------------------------------------------------------------------------

_REQUIRED_RESOURCES = (("requests", "cpu"), ("requests", "memory"), ("limits", "memory"))

#: The container of a ToolHive resource that spec.resources applies to (podTemplateSpec override).
_TOOLHIVE_RESOURCE_CONTAINER = {"MCPServer": "mcp", "MCPRemoteProxy": "toolhive", "EmbeddingServer": None}


def _missing_resources(*resource_blocks: Any) -> list[str]:
    missing = []
    for section, resource in _REQUIRED_RESOURCES:
        present = False
        for block in resource_blocks:
            value = as_dict(as_dict(block).get(section)).get(resource)
            if is_unknown(value) or (value is not None and value != ""):
                present = True
        if not present:
            missing.append(f"{section}.{resource}")
    return missing


def check_container_resources(view: ResourceView, props: Mapping[str, Any]) -> Iterator[str]:
    if view.group == TOOLHIVE_GROUP:
        if view.kind not in _TOOLHIVE_RESOURCE_CONTAINER:
            return
        container_name = _TOOLHIVE_RESOURCE_CONTAINER[view.kind]
        overrides = [c.body.get("resources") for t in k8s.pod_templates(view) for c in k8s.containers(t)
                     if container_name and c.name == container_name]
        missing = _missing_resources(view.spec.get("resources"), *overrides)
        if missing:
            also = (f" (or on the \"{container_name}\" container in spec.podTemplateSpec)"
                    if container_name else "")
            yield (f"spec.resources: set {', '.join(missing)}{also}: without requests the scheduler "
                   f"cannot place the MCP server reliably and without a memory limit one server can "
                   f"exhaust its node")
        return
    for template in k8s.pod_templates(view):
        # ephemeralContainers cannot declare resources.
        for container in k8s.containers(template, ("initContainers", "containers")):
            missing = _missing_resources(container.body.get("resources"))
            if missing:
                yield (f"{container.label}: set resources.{', resources.'.join(missing)} (CPU and memory "
                       f"requests and a memory limit are required on every container)")


CONTAINER_RESOURCES = ResourcePolicy(
    name="container-resources",
    description="Every container sets CPU and memory requests and a memory limit (for ToolHive "
                "MCPServer/MCPRemoteProxy/EmbeddingServer: spec.resources).",
    enforcement=MANDATORY,
    check=check_container_resources,
)


# ---------------------------------------------------------------------------------------------
# image-references
# ---------------------------------------------------------------------------------------------

#: CRD defaults of image fields (used when the field is left unset).
_DEFAULT_IMAGES = {"EmbeddingServer": "ghcr.io/huggingface/text-embeddings-inference:cpu-latest"}


def _images(view: ResourceView) -> Iterator[tuple[str, str]]:
    """(field path, image reference) of every image the object makes Kubernetes pull."""
    for template in k8s.pod_templates(view):
        for container in k8s.containers(template):
            image = container.body.get("image")
            if isinstance(image, str):
                yield f"{container.label}.image", image
    if view.is_toolhive(("MCPServer", "EmbeddingServer")):
        image = view.spec.get("image")
        if isinstance(image, str):
            yield "spec.image", image
        elif image is None and view.kind in _DEFAULT_IMAGES:
            yield "spec.image (unset; CRD default)", _DEFAULT_IMAGES[view.kind]
    if is_operator_deployment(view):
        # The operator deploys the images named in its environment (TOOLHIVE_RUNNER_IMAGE, ...).
        for template in k8s.pod_templates(view):
            for container in k8s.containers(template, ("containers",)):
                for index, env in k8s.env_entries(container.body):
                    name, value = env.get("name"), env.get("value")
                    if isinstance(name, str) and name.endswith("_IMAGE") and isinstance(value, str) and value:
                        yield f'{container.label}.env[{index}] ("{name}")', value


def check_image_references(view: ResourceView, props: Mapping[str, Any]) -> Iterator[str]:
    require_digest = props.get("requireDigest") is True
    allowed = [str(r) for r in as_list(props.get("allowedRegistries"))]
    for where, raw in _images(view):
        if not raw.strip():
            continue
        image = k8s.parse_image(raw)
        if image.tag == "latest":
            yield (f'{where}: image "{raw}" uses the mutable tag "latest"; pin a release tag '
                   f'(e.g. {image.location}:1.2.3) or a digest ({image.location}@sha256:...)')
        elif image.tag is None and image.digest is None:
            yield (f'{where}: image "{raw}" has no tag, so it resolves to "latest"; pin a release tag '
                   f'(e.g. {image.location}:1.2.3) or a digest ({image.location}@sha256:...)')
        if require_digest and not image.has_valid_digest:
            yield (f'{where}: image "{raw}" is not pinned by digest; append @sha256:<digest> '
                   f"(this environment sets requireDigest)")
        if allowed and not k8s.registry_allowed(image, allowed):
            yield (f'{where}: image "{raw}" comes from {image.location}, which is not under an allowed '
                   f"registry ({', '.join(allowed)}); mirror the image into an allowed registry and "
                   f"reference the mirrored copy")


IMAGE_REFERENCES = ResourcePolicy(
    name="image-references",
    description="Images are pinned (no :latest, no untagged images); where configured, by digest and "
                "from an allowed registry.",
    enforcement=MANDATORY,
    config_schema={
        "requireDigest": {
            "type": "boolean", "default": False,
            "description": "Require every image to be pinned by digest (image@sha256:...).",
        },
        "allowedRegistries": {
            "type": "array", "items": {"type": "string", "minLength": 1}, "default": [],
            "description": "Registries (host, or host/path prefix) images may come from; empty allows any.",
        },
    },
    check=check_image_references,
)


# ---------------------------------------------------------------------------------------------
# no-secret-literals-in-env
# ---------------------------------------------------------------------------------------------

SECRET_NAME_MARKERS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "API_KEY", "APIKEY", "PRIVATE_KEY",
                       "CREDENTIAL")
#: Suffixes of names whose values point at secrets rather than hold them (a file, a Secret's name).
REFERENCE_SUFFIXES = ("_FILE", "_PATH", "_DIR", "_NAME")
#: Operator settings that name Secrets (their values are Secret names and keys, not secrets).
DEFAULT_ALLOWED_ENV_NAMES = [
    "TOOLHIVE_DEFAULT_REDIS_SECRET_NAME",
    "TOOLHIVE_DEFAULT_REDIS_SECRET_KEY",
    "TOOLHIVE_DEFAULT_IMAGE_PULL_SECRETS",
]


def is_secret_looking(name: str, allowed: Sequence[str] = ()) -> bool:
    if name in allowed:
        return False
    normalized = re.sub(r"[^A-Z0-9]", "_", name.upper())
    if normalized.endswith(REFERENCE_SUFFIXES):
        return False
    return any(marker in normalized for marker in SECRET_NAME_MARKERS)


def _literal(env: dict) -> bool:
    value = env.get("value")
    return is_unknown(value) or (value is not None and value != "")


def check_secret_literals(view: ResourceView, props: Mapping[str, Any]) -> Iterator[str]:
    allowed = [str(n) for n in as_list(props.get("allowedEnvNames"))]
    for template in k8s.pod_templates(view):
        for container in k8s.containers(template):
            for index, env in k8s.env_entries(container.body):
                name = env.get("name")
                if isinstance(name, str) and is_secret_looking(name, allowed) and _literal(env):
                    yield (f'{container.label}.env[{index}] ("{name}"): literal value for a secret-looking '
                           f"variable (it is stored in the manifest and the Pulumi state); remove value and "
                           f"set valueFrom.secretKeyRef to a Secret key instead")
    if view.is_toolhive(("MCPServer", "EmbeddingServer")):
        for index, env in enumerate(as_list(view.spec.get("env"))):
            env = as_dict(env)
            name = env.get("name")
            if isinstance(name, str) and is_secret_looking(name, allowed) and _literal(env):
                how = (f'add {{name: <secret>, key: <key>, targetEnvName: "{name}"}} to spec.secrets'
                       if view.kind == "MCPServer" else
                       'set it from a Secret through spec.podTemplateSpec (valueFrom.secretKeyRef)')
                yield (f'spec.env[{index}] ("{name}"): literal value for a secret-looking variable (it is '
                       f"stored in the manifest and the Pulumi state); remove the entry and {how}")


NO_SECRET_LITERALS = ResourcePolicy(
    name="no-secret-literals-in-env",
    description="Secret-looking environment variables (TOKEN, SECRET, PASSWORD, PASSWD, API_KEY, APIKEY, "
                "PRIVATE_KEY, CREDENTIAL) in pods and MCPServers come from Secrets, not literal values.",
    enforcement=MANDATORY,
    config_schema={
        "allowedEnvNames": {
            "type": "array", "items": {"type": "string", "minLength": 1},
            "default": list(DEFAULT_ALLOWED_ENV_NAMES),
            "description": "Variable names exempt from the check (their values are not secrets).",
        },
    },
    check=check_secret_literals,
)


# ---------------------------------------------------------------------------------------------
# no-inline-credentials
# ---------------------------------------------------------------------------------------------

#: Fields of the ToolHive v1beta1 CRDs (v0.44.0) that hold a credential inline, with the sibling that
#: names an environment variable instead (VirtualMCPServer spec.config.outgoingAuth.{default,backends.*}).
INLINE_CREDENTIAL_FIELDS = {
    "clientSecret": "clientSecretEnv",
    "idpClientSecret": "idpClientSecretEnv",
    "targetClientSecret": "targetClientSecretEnv",
    "headerValue": "headerValueEnv",
}


def _inline_credentials(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """(path, field) of every inline credential field set to a value (unknown counts: it is set)."""
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}"
            if key in INLINE_CREDENTIAL_FIELDS and (is_unknown(item) or (isinstance(item, str) and item)):
                yield where, key
            else:
                yield from _inline_credentials(item, where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _inline_credentials(item, f"{path}[{index}]")


def check_inline_credentials(view: ResourceView, props: Mapping[str, Any]) -> Iterator[str]:
    if view.group != TOOLHIVE_GROUP:
        return
    for path, field in _inline_credentials(view.spec, "spec"):
        instead = path[: -len(field)] + INLINE_CREDENTIAL_FIELDS[field]
        yield (f"{path}: credential written inline (readable by everyone who may read this {view.kind}, and "
               f"stored in the manifest and the Pulumi state); remove it and "
               f"set {instead} to the name of an environment variable fed from a Secret, or use spec.outgoingAuth with an "
               f"externalAuthConfigRef to an MCPExternalAuthConfig that references Secrets")


NO_INLINE_CREDENTIALS = ResourcePolicy(
    name="no-inline-credentials",
    description="ToolHive specs hold no inline credentials (VirtualMCPServer outgoingAuth clientSecret, "
                "idpClientSecret, targetClientSecret, headerValue): credentials come from Secrets.",
    enforcement=MANDATORY,
    check=check_inline_credentials,
)


# ---------------------------------------------------------------------------------------------
# rbac-no-wildcards
# ---------------------------------------------------------------------------------------------

_RULE_FIELDS = (("apiGroups", "API groups"), ("resources", "resources"), ("verbs", "verbs"))


def check_rbac_wildcards(view: ResourceView, props: Mapping[str, Any]) -> Iterator[str]:
    if not view.is_kind(("Role", "ClusterRole"), RBAC_GROUP):
        return
    allowed = {str(n) for n in as_list(props.get("allowedRoles"))}
    name = view.object_name
    if name in allowed or (view.namespace and f"{view.namespace}/{name}" in allowed):
        return
    for index, rule in enumerate(as_list(view.props.get("rules"))):
        rule = as_dict(rule)
        for field, what in _RULE_FIELDS:
            wildcards = [v for v in as_list(rule.get(field)) if isinstance(v, str) and "*" in v]
            if wildcards:
                yield (f"rules[{index}].{field} contains {_quoted(wildcards)}: list the {what} explicitly, "
                       f'or add "{name}" to the allowedRoles property of rbac-no-wildcards if the wildcard '
                       f"is intended")


RBAC_NO_WILDCARDS = ResourcePolicy(
    name="rbac-no-wildcards",
    description='Roles and ClusterRoles do not use "*" in verbs, resources or apiGroups (except allowed roles).',
    enforcement=MANDATORY,
    config_schema={
        "allowedRoles": {
            "type": "array", "items": {"type": "string", "minLength": 1},
            "default": [OPERATOR_MANAGER_ROLE],
            "description": "Role/ClusterRole names (or namespace/name for Roles) allowed to use wildcards.",
        },
    },
    check=check_rbac_wildcards,
)


# ---------------------------------------------------------------------------------------------
# Namespaces hosting MCP servers (stack)
# ---------------------------------------------------------------------------------------------

def _is_namespace(view: ResourceView) -> bool:
    return view.is_kind("Namespace", "")


def is_tenant_namespace(view: ResourceView) -> bool:
    value = view.labels.get(TENANT_LABEL)
    return _is_namespace(view) and str(value).lower() == "true"


def reads_mcp_namespaces(view: ResourceView) -> bool:
    """What :func:`mcp_namespaces` looks at: Namespaces and MCP workloads."""
    return _is_namespace(view) or view.is_toolhive(MCP_WORKLOAD_KINDS)


def mcp_namespaces(views: Sequence[ResourceView]) -> dict[str, list[ResourceView]]:
    """Namespaces hosting MCP servers -> the MCP resources in them (empty list for namespaces that
    only carry the tenant label), in first-seen order."""
    hosting: dict[str, list[ResourceView]] = {}
    for view in views:
        if is_tenant_namespace(view):
            hosting.setdefault(view.object_name, [])
        elif view.is_toolhive(MCP_WORKLOAD_KINDS):
            hosting.setdefault(view.effective_namespace, []).append(view)
    return hosting


def _why(namespace: str, residents: list[ResourceView]) -> str:
    if not residents:
        return f'namespace "{namespace}" is labelled {TENANT_LABEL}: "true"'
    names = ", ".join(r.describe() for r in residents[:3]) + (" ..." if len(residents) > 3 else "")
    return f'namespace "{namespace}" hosts MCP servers ({names})'


def check_namespace_psa_labels(views: Sequence[ResourceView], props: Mapping[str, Any]
                               ) -> Iterator[tuple[Optional[ResourceView], str]]:
    hosting = mcp_namespaces(views)
    for view in views:
        if not _is_namespace(view) or view.object_name not in hosting:
            continue
        level = view.labels.get(PSA_ENFORCE_LABEL)
        if is_unknown(level) or level in PSA_ACCEPTED_LEVELS:
            continue
        why = _why(view.object_name, hosting[view.object_name])
        fix = f'set metadata.labels["{PSA_ENFORCE_LABEL}"] to "restricted" (or "baseline")'
        if level is None:
            yield view, f"{why} but has no {PSA_ENFORCE_LABEL} label; {fix}"
        elif level == "privileged":
            yield view, f'{why} but enforces the "privileged" Pod Security level, which allows anything; {fix}'
        else:
            yield view, f'{why} but its {PSA_ENFORCE_LABEL} label is "{level}", not a Pod Security level; {fix}'


NAMESPACE_PSA_LABELS = StackPolicy(
    name="mcp-namespace-pod-security-labels",
    description=f"Namespaces that host MCP servers carry the {PSA_ENFORCE_LABEL} label with baseline or "
                f"restricted.",
    enforcement=MANDATORY,
    check=check_namespace_psa_labels,
    reads=reads_mcp_namespaces,
)


def is_default_deny_ingress(view: ResourceView) -> bool:
    """A NetworkPolicy selecting every pod (empty podSelector), with Ingress in policyTypes and no
    ingress rules."""
    if not view.is_kind("NetworkPolicy", NETWORKING_GROUP):
        return False
    spec = view.spec
    selector = spec.get("podSelector")
    if selector is not None and not isinstance(selector, dict):
        return False
    selector = as_dict(selector)
    if as_dict(selector.get("matchLabels")) or as_list(selector.get("matchExpressions")):
        return False
    if "Ingress" not in as_list(spec.get("policyTypes")):
        return False
    return not as_list(spec.get("ingress"))


def check_namespace_default_deny(views: Sequence[ResourceView], props: Mapping[str, Any]
                                 ) -> Iterator[tuple[Optional[ResourceView], str]]:
    hosting = mcp_namespaces(views)
    protected = {v.effective_namespace for v in views if is_default_deny_ingress(v)}
    namespaces = {v.object_name: v for v in views if _is_namespace(v)}
    for namespace, residents in hosting.items():
        if namespace in protected:
            continue
        anchor = namespaces.get(namespace) or (residents[0] if residents else None)
        yield anchor, (f"{_why(namespace, residents)} but has no default-deny NetworkPolicy; add a "
                       f'NetworkPolicy in namespace "{namespace}" with spec.podSelector: {{}}, '
                       f"spec.policyTypes: [Ingress] and no spec.ingress rules, then allow the traffic MCP "
                       f"clients need with further NetworkPolicies")


NAMESPACE_DEFAULT_DENY = StackPolicy(
    name="mcp-namespace-default-deny",
    description="Every namespace that hosts MCP servers has a default-deny ingress NetworkPolicy "
                "(empty podSelector, policyTypes including Ingress, no ingress rules).",
    enforcement=MANDATORY,
    check=check_namespace_default_deny,
    reads=lambda view: reads_mcp_namespaces(view) or is_default_deny_ingress(view),
)


# ---------------------------------------------------------------------------------------------
# protect-crds-and-namespaces
# ---------------------------------------------------------------------------------------------

def check_protected(view: ResourceView, props: Mapping[str, Any]) -> Iterator[str]:
    if view.opts is None:
        return  # resource options unknown (plain YAML)
    if view.is_kind("CustomResourceDefinition", APIEXTENSIONS_GROUP):
        what = "deleting a CustomResourceDefinition deletes every object of that type"
    elif _is_namespace(view):
        what = "deleting a Namespace deletes everything in it"
    else:
        return
    # Only `protect` counts: the engine never hands retainOnDelete to a policy pack (the real run,
    # tools/e2e, saw the CLI's analyzer report every retained-but-unprotected CRD of dev), so the offline
    # check, which could read it from resources.json, must not count it either.
    if view.opts.protect is True:
        return
    yield (f"{view.describe()} is not protected ({what}); set the protect resource option "
           f"(pulumi.ResourceOptions(protect=True)); retainOnDelete also keeps the object on delete but the "
           f"policy engine cannot see it, so use protect here")


PROTECT_CRDS_AND_NAMESPACES = ResourcePolicy(
    name="protect-crds-and-namespaces",
    description="CustomResourceDefinitions and Namespaces use the protect or retainOnDelete resource option.",
    enforcement=ADVISORY,
    check=check_protected,
)


POLICIES = [
    CONTAINER_RESOURCES,
    IMAGE_REFERENCES,
    NO_SECRET_LITERALS,
    NO_INLINE_CREDENTIALS,
    RBAC_NO_WILDCARDS,
    NAMESPACE_PSA_LABELS,
    NAMESPACE_DEFAULT_DENY,
    PROTECT_CRDS_AND_NAMESPACES,
]
