"""`python -m tools.render STACK --diff BASE`: what a change does to the stack, for a pull request review.

BASE is a previous render (a directory holding resources.json) or a git ref (`origin/main`, `HEAD~1`):
the stack is then rendered at that ref in a temporary worktree, by that ref's own renderer. Resources
are matched by URN (aliases included, as the engine does) and sorted into

- create: a URN the base does not have;
- delete: a URN only the base has;
- replace: the engine deletes and recreates the object: a changed `metadata.name` or namespace, a
  field Kubernetes does not let change in place (a Deployment's selector, a binding's roleRef...), or
  an object whose URN changed without an alias (same kind and name, new URN);
- update: anything else that changed, with the changed fields.

Each change names the stack key or server file behind it. Values of Secrets and anything the render
marks secret show as [secret]; the base's render is read, never trusted to have masked them.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.mock_runtime import SECRET_PLACEHOLDER

SECRET = "[secret]"

#: Fields Kubernetes refuses to change in place: the provider replaces the object (delete, then create).
IMMUTABLE = {
    "Deployment": ("spec.selector",),
    "DaemonSet": ("spec.selector",),
    "ReplicaSet": ("spec.selector",),
    "StatefulSet": ("spec.selector", "spec.serviceName", "spec.volumeClaimTemplates", "spec.podManagementPolicy"),
    "Job": ("spec.selector", "spec.template", "spec.completionMode"),
    "Service": ("spec.clusterIP", "spec.clusterIPs", "spec.ipFamilies"),
    "PersistentVolumeClaim": ("spec.storageClassName", "spec.accessModes", "spec.volumeName", "spec.selector",
                              "spec.volumeMode", "spec.dataSource"),
    "RoleBinding": ("roleRef",),
    "ClusterRoleBinding": ("roleRef",),
    "CustomResourceDefinition": ("spec.scope",),
}

#: The component a resource sits in -> the stack key that configures it (the deepest component wins).
COMPONENT_KEYS = {
    "toolhive:platform:Crds": "toolhive:crds",
    "toolhive:platform:Operator": "toolhive:operator",
    "toolhive:platform:TenantNamespace": "toolhive:namespaces",
    "toolhive:platform:TeamRbac": "toolhive:namespaces[].access",
    "toolhive:registry:RegistryServer": "toolhive:registry",
    "toolhive:registry:Postgres": "toolhive:registry.database",
    "toolhive:servers:SessionStore": "toolhive:servers.sessionStore",
    "toolhive:servers:Servers": "toolhive:servers",
    "toolhive:platform:Platform": "toolhive:operator",
}
SERVER_COMPONENTS = {"toolhive:servers:McpServer": "MCPServer", "toolhive:servers:RemoteProxy": "MCPRemoteProxy",
                     "toolhive:servers:VirtualServer": "VirtualMCPServer"}

ACTIONS = ("create", "update", "replace", "delete")


class DiffError(Exception):
    """BASE cannot be read or rendered; the message says why."""


@dataclass
class Change:
    action: str
    urn: str
    what: str  # Kind namespace/name, or the resource type and name
    source: str  # the stack key or server file behind it
    fields: list[str] = field(default_factory=list)  # changed fields (update, replace), values masked
    why: str = ""  # for a replace


@dataclass
class Diff:
    stack: str
    base: str
    changes: list[Change]

    def of(self, action: str) -> list[Change]:
        return [c for c in self.changes if c.action == action]

    def summary(self) -> str:
        counts = [f"{len(self.of(a))} to {a}" for a in ACTIONS]
        return f"stack {self.stack} against {self.base}: " + ", ".join(counts)

    def markdown(self) -> str:
        lines = [f"### Render diff: stack `{self.stack}` against `{self.base}`", "", self.summary() + "."]
        if not self.changes:
            lines += ["", "No resource changes."]
        for action in ACTIONS:
            changes = self.of(action)
            if not changes:
                continue
            lines += ["", f"#### {action.capitalize()} ({len(changes)})", ""]
            for change in changes:
                line = f"- **{change.what}** — from `{change.source}`"
                if change.why:
                    line += f"; {change.why}"
                lines.append(line)
                lines += [f"  - `{item}`" for item in change.fields]
        return "\n".join(lines) + "\n"

    def text(self) -> str:
        lines = [self.summary()]
        for action in ACTIONS:
            for change in self.of(action):
                why = f" ({change.why})" if change.why else ""
                lines.append(f"  {action:<7} {change.what}  [{change.source}]{why}")
                lines += [f"            {item}" for item in change.fields]
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------------
# The base


def base_entries(base: str, stack: str, project_root: Path, config_file: Path | None = None) -> list[dict]:
    """resources.json of BASE: read from a render directory, or rendered at a git ref."""
    path = Path(base)
    if path.is_dir():
        found = path / "resources.json"
        if not found.is_file():
            raise DiffError(f"--diff {base}: a directory without resources.json (not a render)")
        return _read_entries(found)
    commit = _git(project_root, "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}")
    if commit is None:
        raise DiffError(f"--diff {base}: neither a render directory nor a git ref of {project_root}")
    with tempfile.TemporaryDirectory(prefix="toolhive-diff-") as tmp:
        tree = Path(tmp) / "base"
        if _git(project_root, "worktree", "add", "--detach", "--quiet", str(tree), commit) is None:
            raise DiffError(f"--diff {base}: cannot check out {commit[:12]} into a temporary worktree")
        try:
            args = [sys.executable, "-m", "tools.render", stack, "--out", str(Path(tmp) / "out")]
            if config_file is not None:
                relative = _inside(config_file, project_root)
                args += ["--config-file", str(tree / relative if relative else config_file)]
            result = subprocess.run(args, cwd=tree, capture_output=True, text=True)
            if result.returncode not in (0, 1) or not (Path(tmp) / "out" / "resources.json").is_file():
                last = (result.stderr.strip().splitlines() or ["no output"])[-1]
                raise DiffError(f"--diff {base}: the stack does not render at {commit[:12]} (exit "
                                f"{result.returncode}): {last}")
            return _read_entries(Path(tmp) / "out" / "resources.json")
        finally:
            _git(project_root, "worktree", "remove", "--force", str(tree))


def _inside(path: Path, root: Path) -> Path | None:
    try:
        return path.resolve().relative_to(root.resolve())
    except ValueError:
        return None


def _git(root: Path, *args: str) -> str | None:
    result = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else None


def _read_entries(path: Path) -> list[dict]:
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DiffError(f"{path}: not a render's resources.json ({error})") from None
    if not isinstance(entries, list) or not all(isinstance(e, dict) and "urn" in e for e in entries):
        raise DiffError(f"{path}: not a render's resources.json (a list of resources with urn)")
    return entries


# --------------------------------------------------------------------------------------------------
# The comparison


def compare(old: list[dict], new: list[dict], *, stack: str, base: str,
            server_files: dict[str, str] | None = None) -> Diff:
    """The changes from `old` to `new` (resources.json entries). `server_files` maps a server component's
    name (`<namespace>-<kind>-<name>`) to the file that declares it."""
    server_files = server_files or {}
    old_by_urn = {e["urn"]: e for e in old}
    new_by_urn = {e["urn"]: e for e in new}
    matched: dict[str, str] = {}  # new urn -> old urn
    for urn, entry in new_by_urn.items():
        if urn in old_by_urn:
            matched[urn] = urn
        else:
            alias = next((a for a in entry.get("aliases") or [] if a in old_by_urn), None)
            if alias is not None:
                matched[urn] = alias
    changes: list[Change] = []
    gone = {urn: entry for urn, entry in old_by_urn.items() if urn not in set(matched.values())}
    gone_by_identity = {_identity(e): urn for urn, e in gone.items() if _identity(e)}
    for urn, entry in sorted(new_by_urn.items()):
        where = _source(entry, new_by_urn, server_files)
        if urn not in matched:
            twin = gone_by_identity.get(_identity(entry)) if _identity(entry) else None
            if twin is not None:  # same object, new URN: the engine deletes the old one, then creates
                gone.pop(twin)
                changes.append(Change("replace", urn, _what(entry), where, why=f"its URN changed without an alias "
                                      f"(was {twin}): add `aliases` to keep it"))
            elif _listed(entry):
                changes.append(Change("create", urn, _what(entry), where))
            continue
        before = old_by_urn[matched[urn]]
        paths = _changed(_masked(before), _masked(entry))
        if not paths:
            continue
        why = _replace_reason(before, entry, paths)
        changes.append(Change("replace" if why else "update", urn, _what(entry), where, paths, why))
    for urn, entry in sorted(gone.items()):
        if _listed(entry):
            changes.append(Change("delete", urn, _what(entry), _source(entry, old_by_urn, server_files)))
    return Diff(stack, base, changes)


def _listed(entry: dict) -> bool:
    """A resource of its own (a Kubernetes object, a generated password, the provider), not a component."""
    return not entry.get("type", "").startswith(("toolhive:", "pulumi:pulumi:"))


def _identity(entry: dict) -> tuple | None:
    inputs = entry.get("inputs") or {}
    metadata = inputs.get("metadata") if isinstance(inputs, dict) else None
    if not isinstance(metadata, dict) or "name" not in metadata:
        return None
    return entry.get("type"), metadata.get("namespace"), metadata.get("name")


def _what(entry: dict) -> str:
    inputs = entry.get("inputs") or {}
    metadata = inputs.get("metadata") if isinstance(inputs, dict) else None
    if isinstance(metadata, dict) and "kind" in inputs:
        namespace = metadata.get("namespace")
        return f"{inputs['kind']} {namespace + '/' if namespace else ''}{metadata.get('name')}"
    return f"{entry.get('type')} {entry.get('name')}"


def _source(entry: dict, by_urn: dict[str, dict], server_files: dict[str, str]) -> str:
    """The server file or stack key behind a resource: its nearest component that names one."""
    current: dict | None = entry
    while current is not None:
        kind = SERVER_COMPONENTS.get(current.get("type", ""))
        if kind is not None:
            name = current.get("name", "")
            return server_files.get(name, f"{kind} {name} (a server file no longer declared)")
        key = COMPONENT_KEYS.get(current.get("type", ""))
        if key is not None:
            namespace = ((entry.get("inputs") or {}).get("metadata") or {}).get("namespace")
            return f"{key} ({namespace})" if key.startswith("toolhive:namespaces") and namespace else key
        current = by_urn.get(current.get("parent") or "")
    if entry.get("type", "").startswith("pulumi:providers:"):
        return "toolhive:cluster"
    return "toolhive:"


def _masked(entry: dict) -> dict:
    """What is compared: inputs and options, with Secret values and secret placeholders as [secret]."""
    inputs = json.loads(json.dumps(entry.get("inputs") or {}))
    if isinstance(inputs, dict) and inputs.get("kind") == "Secret":
        for key in ("data", "stringData"):
            if isinstance(inputs.get(key), dict):
                inputs[key] = {name: SECRET for name in inputs[key]}
    options = {key: entry.get(key) for key in ("protect", "retain_on_delete", "ignore_changes", "provider", "parent")
               if key in entry}
    return {"inputs": _mask_values(inputs), **options}


def _mask_values(value: Any) -> Any:
    """The render writes secrets as the placeholder already; a base render is not trusted to have."""
    if isinstance(value, dict):
        return {key: _mask_values(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_mask_values(item) for item in value]
    if value == SECRET_PLACEHOLDER:
        return SECRET
    return value


def _changed(before: Any, after: Any, path: str = "") -> list[str]:
    """Dotted paths where `before` and `after` differ, with the values (masked) for leaves."""
    if before == after:
        return []
    if isinstance(before, dict) and isinstance(after, dict):
        found = []
        for key in sorted(set(before) | set(after), key=str):
            child = f"{path}.{key}" if path else str(key)
            if key not in before:
                found.append(f"{_shown_path(child)}: added {_short(after[key])}")
            elif key not in after:
                found.append(f"{_shown_path(child)}: removed")
            else:
                found += _changed(before[key], after[key], child)
        return found
    if isinstance(before, list) and isinstance(after, list):
        if len(before) == len(after):
            return [line for index, (old, new) in enumerate(zip(before, after))
                    for line in _changed(old, new, f"{path}[{index}]")]
        added = [item for item in after if item not in before]
        removed = [item for item in before if item not in after]
        return ([f"{_shown_path(path)}: added {_short(item)}" for item in added]
                + [f"{_shown_path(path)}: removed {_short(item)}" for item in removed])
    return [f"{_shown_path(path)}: {_short(before)} -> {_short(after)}"]


def _shown_path(path: str) -> str:
    return path.removeprefix("inputs.")


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 160 else text[:157] + "..."


def _replace_reason(before: dict, after: dict, paths: list[str]) -> str:
    old_inputs, new_inputs = before.get("inputs") or {}, after.get("inputs") or {}
    old_meta, new_meta = old_inputs.get("metadata") or {}, new_inputs.get("metadata") or {}
    if isinstance(old_meta, dict) and isinstance(new_meta, dict):
        for key in ("name", "namespace"):
            if old_meta.get(key) != new_meta.get(key):
                return f"new {key}: {old_meta.get(key)} -> {new_meta.get(key)}"
    for immutable in IMMUTABLE.get(new_inputs.get("kind", ""), ()):
        if any(p == immutable or p.startswith((immutable + ".", immutable + ":")) for p in paths):
            return f"{immutable} cannot change in place (immutable field)"
    return ""


def server_files_of(catalog) -> dict[str, str]:
    """Server component name -> the file (or inline key) that declares it (components/servers/stacks.py
    names each component `<namespace>-<kind>-<name>`)."""
    return {f"{d.entry.namespace}-{d.entry.kind.lower()}-{d.entry.name}": d.source for d in catalog.declared}
