"""Offline renderer: the whole program under Pulumi's mock runtime — no CLI, no cluster, no network.

    python -m tools.render STACK [--config-file FILE] [--out DIR] [--preview]
    python -m tools.render --schema

Runs the same program as `pulumi up` with the configuration of Pulumi.STACK.yaml (or FILE, same
format) and writes DIR/manifests.yaml (every Kubernetes object, in an order that applies cleanly),
DIR/resources.json (every registered resource with its options), DIR/outputs.json (stack outputs),
DIR/warnings.json (what `pulumi preview` would print as warnings, with the resource's URN) and
DIR/policy-report.json (the policy pack over what was rendered, with the stack's policy config); each
warning and finding names its `source`, the server file or `toolhive:` key behind the object
(`tools.validate.sources`), as the dry run's problems do.
`secure:` values are never decrypted: they render as a fixed placeholder. Digest lookups (ECR) are
replaced by a stable offline stand-in; secret references (AWS Secrets Manager) by
placeholders, so AWS is never called.

Before anything is written, the render goes through the offline server-side dry run
(`tools.validate.dry_run`: Kubernetes 1.33 and CRD schemas, CEL rules, API-server rules, duplicate
URNs, NetworkPolicy reachability of the platform's flows); a problem fails the render naming the
`toolhive:` key behind the object where it is known.
DIR is replaced as a whole (written beside it, then swapped in); a failed render removes the previous
render from DIR rather than leave files that look current. `resources.json` is byte-for-byte
reproducible.

Exit 0 on success, 1 on a mandatory policy violation, 2 on a configuration error or a dry-run problem
(messages on stderr).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from components.errors import ConfigError  # noqa: E402
from tools.mock_runtime import SECRET_PLACEHOLDER, ProgramRun, RegisteredResource, run_program  # noqa: E402
from tools.validate import Sources, dry_run  # noqa: E402

PROJECT = "toolhive"
#: libyaml's C loader and dumper when PyYAML has them: same documents and bytes, ~10x faster at scale.
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

# Kinds that others need to exist first, in the order they are applied (like Helm's install order).
APPLY_ORDER = [
    "CustomResourceDefinition", "Namespace", "ResourceQuota", "LimitRange", "NetworkPolicy",
    "PodSecurityPolicy", "ServiceAccount", "Secret", "ConfigMap", "ClusterRole", "ClusterRoleBinding",
    "Role", "RoleBinding", "Service", "PodDisruptionBudget", "DaemonSet", "Deployment", "StatefulSet",
    "Job", "CronJob", "HorizontalPodAutoscaler",
]


class StackFileError(Exception):
    """An unreadable or malformed stack file."""


def read_stack_file(path: Path) -> tuple[dict[str, Any], list[str]]:
    """The config map of a Pulumi.<stack>.yaml, secure values replaced by the placeholder, and the secret keys."""
    try:
        with open(path, encoding="utf-8") as handle:
            document = yaml.load(handle, Loader=LOADER) or {}
    except OSError as error:
        raise StackFileError(f"{path}: cannot read: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise StackFileError(f"{path}: not UTF-8 text (byte {error.start}: {error.reason})") from None
    except yaml.YAMLError as error:
        raise StackFileError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("config", {}), dict):
        raise StackFileError(f"{path}: expected a mapping with a 'config' mapping")
    config, secret_keys = {}, []
    for key, value in (document.get("config") or {}).items():
        full_key = key if ":" in key else f"{PROJECT}:{key}"
        masked, had_secret = _mask_secure(value)
        config[full_key] = masked
        if had_secret:
            secret_keys.append(full_key)
    return config, secret_keys


def _mask_secure(value: Any) -> tuple[Any, bool]:
    """Replace every `{secure: ...}` with the placeholder; the ciphertext is never decrypted."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return SECRET_PLACEHOLDER, True
        found = False
        masked = {}
        for key, item in value.items():
            masked[key], had = _mask_secure(item)
            found = found or had
        return masked, found
    if isinstance(value, list):
        pairs = [_mask_secure(item) for item in value]
        return [item for item, _ in pairs], any(had for _, had in pairs)
    return value, False


def render(config: dict[str, Any], secret_keys: list[str] | None = None, *, stack: str = "dev",
           preview: bool = False, result: ProgramRun | None = None) -> ProgramRun:
    """Run the program offline. Raises ConfigError on bad configuration."""
    from components.images import offline_digest_resolver
    from components.program import run
    from components.secret_sources import offline_secret_reader

    return run_program(lambda: run(digest_resolver=offline_digest_resolver, secret_reader=offline_secret_reader),
                       config=config,
                       secret_keys=secret_keys, project=PROJECT, stack=stack, preview=preview, result=result)


def kubernetes_objects(resources: list[RegisteredResource]) -> list[dict[str, Any]]:
    """The Kubernetes objects among the registered resources, in apply order."""
    objects = [r.inputs for r in resources if r.custom and r.type.startswith("kubernetes:") and "kind" in r.inputs]

    def order(obj: dict) -> tuple:
        kind = obj["kind"]
        rank = APPLY_ORDER.index(kind) if kind in APPLY_ORDER else len(APPLY_ORDER) + _is_custom(obj)
        metadata = obj.get("metadata", {})
        return rank, kind, metadata.get("namespace", ""), metadata.get("name", "")

    # Registration order varies between runs (the runtime is async); this order never does.
    return [_manifest_order(obj) for obj in sorted(objects, key=order)]


def _is_custom(obj: dict) -> int:
    """Objects of API groups with a dot (custom resources) go after the built-in kinds."""
    group = obj.get("apiVersion", "").rpartition("/")[0]
    return 1 if "." in group and not group.endswith(".k8s.io") else 0


def _manifest_order(obj: dict) -> dict:
    """apiVersion, kind and metadata first, as people write manifests."""
    head = {key: obj[key] for key in ("apiVersion", "kind", "metadata") if key in obj}
    return {**head, **{key: value for key, value in obj.items() if key not in head}}


#: What a render writes into --out; a directory holding anything else is never replaced.
RENDER_FILES = ("manifests.yaml", "resources.json", "outputs.json", "warnings.json", "policy-report.json")


def write_outputs(run_result: ProgramRun, out_dir: Path, entries: list[dict[str, Any]] | None = None,
                  sources: Sources | None = None) -> list[dict[str, Any]]:
    """manifests.yaml, resources.json (`entries`, when the caller has them already), outputs.json and
    warnings.json (each warning with the `source` of its resource: the server file or `toolhive:` key) in
    out_dir; the same run gives the same bytes. Returns the Kubernetes objects."""
    sources = sources if sources is not None else Sources(run_result.resources)
    out_dir.mkdir(parents=True, exist_ok=True)
    objects = kubernetes_objects(run_result.resources)
    with open(out_dir / "manifests.yaml", "w", encoding="utf-8") as handle:
        dump_manifests(objects, handle)
    with open(out_dir / "resources.json", "w", encoding="utf-8") as handle:
        json.dump(resources_json(run_result.resources) if entries is None else entries, handle, indent=2, sort_keys=True)
        handle.write("\n")
    with open(out_dir / "outputs.json", "w", encoding="utf-8") as handle:
        json.dump(run_result.outputs, handle, indent=2, sort_keys=True)
        handle.write("\n")
    with open(out_dir / "warnings.json", "w", encoding="utf-8") as handle:
        json.dump(sorted(({**w.as_json(), "source": sources.of(w.urn) or ""} for w in run_result.warnings),
                         key=lambda w: (w["urn"], w["message"])),
                  handle, indent=2, sort_keys=True)
        handle.write("\n")
    return objects


#: Long strings stay on one line: no folding, so libyaml's C emitter and PyYAML's emitter write the same
#: bytes and a manifest line is a value, greppable and diffable.
MANIFEST_WIDTH = 2**31 - 1


def dump_manifests(objects: list[dict[str, Any]], handle) -> None:
    """yaml.safe_dump_all(objects) without line folding, by libyaml's C emitter where it is available."""
    yaml.dump_all(objects, handle, Dumper=DUMPER, sort_keys=False, default_flow_style=False, width=MANIFEST_WIDTH)


def resources_json(resources: list[RegisteredResource]) -> list[dict[str, Any]]:
    """Every resource as resources.json records it, in URN order; dependencies (a set) sorted."""
    entries = []
    for resource in resources:
        entry = resource.as_json()
        entry["dependencies"] = sorted(entry["dependencies"])
        entries.append(entry)
    return sorted(entries, key=lambda entry: (entry["urn"], json.dumps(entry, sort_keys=True)))


def out_dir_error(out_dir: Path) -> str | None:
    """Why --out cannot take a render (it is a file), or None."""
    if out_dir.exists() and not out_dir.is_dir():
        return f"--out {out_dir}: is a file, not a directory"
    return None


def discard_render(out_dir: Path) -> None:
    """Remove a previous render from out_dir (only the files a render writes), so nothing stale remains."""
    if out_dir.is_dir():
        for name in RENDER_FILES:
            (out_dir / name).unlink(missing_ok=True)
        if not any(out_dir.iterdir()):
            out_dir.rmdir()


def replace_dir(staged: Path, out_dir: Path) -> None:
    """Swap a fully written staging directory in for out_dir (a rename each; the old one is then removed).
    A directory that also holds files of its own keeps them: only the render's files are replaced."""
    if out_dir.is_dir() and any(p.name not in RENDER_FILES for p in out_dir.iterdir()):
        for name in RENDER_FILES:
            if (staged / name).exists():
                os.replace(staged / name, out_dir / name)
            else:
                (out_dir / name).unlink(missing_ok=True)
        shutil.rmtree(staged)
    elif out_dir.is_dir():
        old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
        os.replace(out_dir, old / out_dir.name)
        os.replace(staged, out_dir)
        shutil.rmtree(old)
    else:
        os.replace(staged, out_dir)


def config_schema() -> dict[str, Any]:
    """JSON Schema of a Pulumi.<stack>.yaml: the `toolhive:` keys typed, other namespaces free."""
    from components.config import StackConfig, is_secret_setting

    schema = StackConfig.model_json_schema(by_alias=True)
    defs = schema.pop("$defs", {})
    properties = {f"{PROJECT}:{key}": value for key, value in schema["properties"].items()}
    for name, field in StackConfig.model_fields.items():
        if is_secret_setting(field.annotation):  # only ever written encrypted: {secure: <ciphertext>}
            key = f"{PROJECT}:{field.alias or name}"
            properties[key] = {"description": properties[key].get("description", ""), "type": "object",
                               "properties": {"secure": {"type": "string"}}, "required": ["secure"],
                               "additionalProperties": False}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Pulumi stack configuration of the ToolHive platform",
        "type": "object",
        "properties": {
            "config": {
                "type": "object",
                "properties": properties,
                "patternProperties": {f"^(?!{PROJECT}:)": {}},
                "additionalProperties": False,
            },
            "secretsprovider": {"type": "string"},
            "encryptedkey": {"type": "string"},
            "encryptionsalt": {"type": "string"},
        },
        "$defs": defs,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.render", description=__doc__.split("\n\n")[0])
    parser.add_argument("stack", nargs="?", help="stack name: reads Pulumi.STACK.yaml from the project root")
    parser.add_argument("--config-file", type=Path, help="a stack file in the Pulumi.<stack>.yaml format")
    parser.add_argument("--out", type=Path, default=None, help="output directory (default: render-out/STACK)")
    parser.add_argument("--preview", action="store_true", help="run as `pulumi preview` instead of `pulumi up`")
    parser.add_argument("--policy-config", type=Path, help="policy pack config (default: policies/config/STACK.json)")
    parser.add_argument("--schema", action="store_true", help="print the JSON Schema of the stack configuration")
    args = parser.parse_args(argv)

    if args.schema:
        json.dump(config_schema(), sys.stdout, indent=2)
        print()
        return 0
    if not args.stack:
        parser.error("a STACK is required (or --schema)")

    stack_file = args.config_file or PROJECT_ROOT / f"Pulumi.{args.stack}.yaml"
    out_dir = args.out or PROJECT_ROOT / "render-out" / args.stack
    problem = out_dir_error(out_dir)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        config, secret_keys = read_stack_file(stack_file)
        result = render(config, secret_keys, stack=args.stack, preview=args.preview)
    except StackFileError as error:
        discard_render(out_dir)
        print(f"error: {error}", file=sys.stderr)
        return 2
    except ConfigError as error:
        discard_render(out_dir)
        print(f"error: {stack_file.name}: {error}", file=sys.stderr)
        return 2

    problems = dry_run(result.resources, config)
    if problems:
        discard_render(out_dir)
        print(f"error: {stack_file.name}: the dry run rejects {len(problems)} thing(s) a real `pulumi up` "
              "would fail on:", file=sys.stderr)
        for found in problems:
            print(f"  {found}", file=sys.stderr)
        return 2

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.new-", dir=out_dir.parent))
    try:
        entries = resources_json(result.resources)  # written, and checked by the policy pack
        sources = Sources(result.resources, config)  # what warnings and policy findings name
        objects = write_outputs(result, staged, entries, sources)
        status = _check_policies(args, entries, staged, out_dir, sources)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    if status == 2:  # a bad policy config: nothing is written
        shutil.rmtree(staged, ignore_errors=True)
        discard_render(out_dir)
        return 2
    replace_dir(staged, out_dir)
    for warning in sorted(result.warnings, key=lambda w: w.message):
        source = sources.of(warning.urn)
        print(f"warning: {source + ': ' if source else ''}{warning.message}", file=sys.stderr)
    print(f"rendered stack {args.stack}: {len(objects)} Kubernetes objects, {len(result.resources)} resources, "
          f"dry run clean -> {out_dir}")
    return status


def _check_policies(args, entries: list[dict[str, Any]], staged: Path, out_dir: Path, sources: Sources) -> int:
    """Run the policy pack over the render's resources.json entries; write policy-report.json (each finding
    with the `source` of its resource); 1 on a mandatory violation, 2 on a bad config."""
    from policies import check as policy_check

    config_path = args.policy_config or PROJECT_ROOT / "policies" / "config" / f"{args.stack}.json"
    return policy_check.report_for_render(entries, config_path if config_path.exists() else None,
                                          staged / "policy-report.json", render_dir=out_dir, sources=sources.of)

if __name__ == "__main__":
    sys.exit(main())
