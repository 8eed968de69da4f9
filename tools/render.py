"""Offline renderer: the whole program under Pulumi's mock runtime — no CLI, no cluster, no network.

    python -m tools.render STACK [--config-file FILE] [--out DIR] [--preview] [--policy-config FILE]
                                 [--diff BASE]
    python -m tools.render --schema

Runs the same program as `pulumi up` with the configuration of Pulumi.STACK.yaml (or FILE, same
format) and writes DIR/manifests.yaml (the stack's own Kubernetes objects, in an order that applies
cleanly), DIR/crds.yaml (the ToolHive CRDs, applied before manifests.yaml),
DIR/resources.json (every registered resource with its options), DIR/outputs.json (stack outputs),
DIR/warnings.json (what `pulumi preview` would print as warnings, with the resource's URN) and
DIR/policy-report.json (the policy pack over what was rendered, with the stack's policy config); each
warning and finding names its `source`, the server file or `toolhive:` key behind the object
(`tools.validate.sources`), as the dry run's problems do.
`secure:` values are never decrypted: they render as a fixed placeholder. Digest lookups (ECR) are
replaced by a stable offline stand-in, marked as such: every object that carries one is annotated
`render.toolhive.dev/placeholder-digests` in manifests.yaml, and the summary counts them; secret
references (AWS Secrets Manager) by placeholders, so AWS is never called.

`--diff BASE` compares with a previous render (a directory holding resources.json) or with the
stack rendered at a git ref (in a temporary worktree), prints the resources to create, update,
replace or delete, each with the stack key or server file behind it, and writes DIR/diff.md
(the pull request comment; secrets show as [secret]).

Before anything is written, the render goes through the offline server-side dry run
(`tools.validate.dry_run`: Kubernetes 1.33 and CRD schemas, CEL rules, API-server rules, duplicate
URNs, NetworkPolicy reachability of the platform's flows); a problem fails the render naming the
`toolhive:` key behind the object where it is known.
DIR is replaced as a whole (written beside it, then swapped in). A failed render leaves the previous
render in DIR as it was and says so; what it did render (a dry-run failure) goes to DIR.failed.
`resources.json` is byte-for-byte reproducible. The last line says what happened: clean, N warnings,
or N mandatory policy violations.

Exit 0 on success, 1 on a mandatory policy violation, 2 on a configuration error, a dry-run problem,
a missing --policy-config file or a --diff BASE that cannot be rendered (messages on stderr).
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

from components import yaml_input  # noqa: E402
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
            document = yaml_input.load(handle) or {}
    except OSError as error:
        raise StackFileError(f"{path}: cannot read: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise StackFileError(f"{path}: not UTF-8 text (byte {error.start}: {error.reason})") from None
    except yaml_input.DuplicateKeyError as error:
        raise StackFileError(f"{path}: not valid YAML: {yaml_input.describe(error)}") from None
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
    """Run the program offline. Raises ConfigError on bad configuration. The run's `placeholder_digests`
    maps each made-up digest to the image reference it stands in for."""
    from components.images import offline_digest_resolver
    from components.program import run
    from components.secret_sources import offline_secret_reader

    made_up: dict[str, str] = {}

    def placeholder_digest(ref):
        digest = offline_digest_resolver(ref)
        made_up[digest] = str(ref)
        return digest

    run_result = run_program(lambda: run(digest_resolver=placeholder_digest, secret_reader=offline_secret_reader),
                             config=config, secret_keys=secret_keys, project=PROJECT, stack=stack, preview=preview,
                             result=result)
    run_result.placeholder_digests = made_up
    return run_result


#: The annotation that marks an object whose images carry made-up (offline) digests.
PLACEHOLDER_ANNOTATION = "render.toolhive.dev/placeholder-digests"


def mark_placeholder_digests(objects: list[dict[str, Any]], digests: dict[str, str]) -> int:
    """Annotate every object that carries an offline stand-in digest, naming the images concerned
    (objects are replaced in the list, never changed in place); returns how many distinct images do."""
    found: set[str] = set()
    for index, obj in enumerate(objects):
        text = json.dumps(obj) if digests else ""
        images = sorted({image for digest, image in digests.items() if digest in text})
        if not images:
            continue
        found.update(images)
        metadata = dict(obj.get("metadata") or {})
        metadata["annotations"] = {**(metadata.get("annotations") or {}),
                                   PLACEHOLDER_ANNOTATION: "offline stand-ins, not the registry's digests: " + ", ".join(images)}
        objects[index] = {**obj, "metadata": metadata}
    return len(found)


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
RENDER_FILES = ("crds.yaml", "manifests.yaml", "resources.json", "outputs.json", "warnings.json", "policy-report.json")
#: Written by --diff only.
DIFF_FILE = "diff.md"
OWN_FILES = (*RENDER_FILES, DIFF_FILE)


def write_outputs(run_result: ProgramRun, out_dir: Path, entries: list[dict[str, Any]] | None = None,
                  sources: Sources | None = None) -> list[dict[str, Any]]:
    """crds.yaml, manifests.yaml, resources.json (`entries`, when the caller has them already),
    outputs.json and warnings.json (each warning with the `source` of its resource: the server file or
    `toolhive:` key) in out_dir; the same run gives the same bytes. Returns the Kubernetes objects (CRDs
    first, in apply order)."""
    sources = sources if sources is not None else Sources(run_result.resources)
    out_dir.mkdir(parents=True, exist_ok=True)
    objects = kubernetes_objects(run_result.resources)
    mark_placeholder_digests(objects, getattr(run_result, "placeholder_digests", {}))
    crds = [obj for obj in objects if obj["kind"] == "CustomResourceDefinition"]
    with open(out_dir / "crds.yaml", "w", encoding="utf-8") as handle:
        dump_manifests(crds, handle)
    with open(out_dir / "manifests.yaml", "w", encoding="utf-8") as handle:
        dump_manifests([obj for obj in objects if obj["kind"] != "CustomResourceDefinition"], handle)
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


def replace_dir(staged: Path, out_dir: Path) -> None:
    """Swap a fully written staging directory in for out_dir (a rename each; the old one is then removed).
    A directory that also holds files of its own keeps them: only the render's files are replaced."""
    if out_dir.is_dir() and any(p.name not in OWN_FILES for p in out_dir.iterdir()):
        for name in OWN_FILES:
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
    parser.add_argument("--diff", metavar="BASE", help="compare with a previous render directory or a git ref "
                        "(rendered in a temporary worktree); prints the changes and writes DIR/diff.md")
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
    if problem is None and args.policy_config is not None and not args.policy_config.is_file():
        # A mistyped path must not render with no policy at all and report 0 violations.
        problem = f"--policy-config {args.policy_config}: no such file"
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        config, secret_keys = read_stack_file(stack_file)
        result = render(config, secret_keys, stack=args.stack, preview=args.preview)
    except StackFileError as error:
        print(f"error: {error}", file=sys.stderr)
        return _failed(out_dir, None)
    except ConfigError as error:
        print(f"error: {stack_file.name}: {error}", file=sys.stderr)
        return _failed(out_dir, None)

    problems = dry_run(result.resources, config)
    if problems:
        print(f"error: {stack_file.name}: the dry run rejects {len(problems)} thing(s) a real `pulumi up` "
              "would fail on:", file=sys.stderr)
        for found in problems:
            print(f"  {found}", file=sys.stderr)
        return _failed(out_dir, result)

    base = None
    if args.diff:
        from tools import render_diff
        try:
            base = render_diff.base_entries(args.diff, args.stack, PROJECT_ROOT, args.config_file)
        except render_diff.DiffError as error:
            print(f"error: {error}", file=sys.stderr)
            return _failed(out_dir, result)

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.new-", dir=out_dir.parent))
    try:
        entries = resources_json(result.resources)  # written, and checked by the policy pack
        sources = Sources(result.resources, config)  # what warnings and policy findings name
        objects = write_outputs(result, staged, entries, sources)
        status, mandatory = _check_policies(args, entries, staged, out_dir, sources)
        diff = _write_diff(args, base, entries, config, staged) if base is not None else None
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    if status == 2:  # a bad policy config: nothing is written
        shutil.rmtree(staged, ignore_errors=True)
        return _failed(out_dir, None)
    replace_dir(staged, out_dir)
    shutil.rmtree(failed_dir(out_dir), ignore_errors=True)  # an earlier failure is not current any more
    for warning in sorted(result.warnings, key=lambda w: w.message):
        source = sources.of(warning.urn)
        print(f"warning: {source + ': ' if source else ''}{warning.message}", file=sys.stderr)
    if diff is not None:
        print(diff.text())
    print(summary_line(args.stack, objects, result, out_dir, mandatory, diff is not None))
    return status


def summary_line(stack: str, objects: list[dict], result: ProgramRun, out_dir: Path, mandatory: int,
                 diffed: bool = False) -> str:
    """The last line: what was written, and what happened (clean, warnings, mandatory violations)."""
    crds = sum(1 for obj in objects if obj["kind"] == "CustomResourceDefinition")
    verdict = []
    if mandatory:
        verdict.append(f"{mandatory} mandatory policy violation{'s' if mandatory != 1 else ''} (exit 1)")
    if result.warnings:
        verdict.append(f"{len(result.warnings)} warning{'s' if len(result.warnings) != 1 else ''}")
    status = "; ".join(verdict) if verdict else "clean"
    placeholders = len(set(getattr(result, "placeholder_digests", {}).values()))
    if placeholders:
        status += (f"; {placeholders} image digest{'s' if placeholders != 1 else ''} are offline placeholders "
                   f"(annotated {PLACEHOLDER_ANNOTATION})")
    diff = f", {DIFF_FILE}" if diffed else ""
    return (f"rendered stack {stack}: {len(objects) - crds} Kubernetes objects (+{crds} CRDs in crds.yaml), "
            f"{len(result.resources)} resources{diff} -> {out_dir}: {status}")


def failed_dir(out_dir: Path) -> Path:
    """Where a render that failed its checks is written, beside the last good one."""
    return out_dir.with_name(out_dir.name + ".failed")


def _failed(out_dir: Path, result: ProgramRun | None) -> int:
    """A failed render leaves the previous render in place and says so; what it did render (objects the
    dry run refused) goes to DIR.failed for a look. Exit 2."""
    failed = failed_dir(out_dir)
    shutil.rmtree(failed, ignore_errors=True)
    if result is not None:
        try:
            write_outputs(result, failed)
        except Exception:  # noqa: BLE001 - the failure itself is what gets reported
            shutil.rmtree(failed, ignore_errors=True)
    kept = (f"the previous render in {out_dir} is left as it was (it is not of this configuration)"
            if out_dir.is_dir() and any((out_dir / name).exists() for name in RENDER_FILES)
            else f"nothing was written to {out_dir}")
    where = f"; the failed render is in {failed}" if failed.is_dir() else ""
    print(f"render failed: {kept}{where}", file=sys.stderr)
    return 2


def _write_diff(args, base: list[dict], entries: list[dict], config: dict, staged: Path):
    """Compare with the base, name each change's server file or stack key, write diff.md."""
    from components.config.loader import parse_stack_config
    from components.servers.catalog import load_servers
    from tools import render_diff

    toolhive = {key.split(":", 1)[1]: value for key, value in config.items() if key.startswith(f"{PROJECT}:")}
    try:
        files = render_diff.server_files_of(load_servers(parse_stack_config(toolhive), stack=args.stack))
    except ConfigError:  # it rendered, so it parses; never fail the diff on naming alone
        files = {}
    diff = render_diff.compare(base, entries, stack=args.stack, base=args.diff, server_files=files)
    (staged / DIFF_FILE).write_text(diff.markdown(), encoding="utf-8")
    return diff


def _check_policies(args, entries: list[dict[str, Any]], staged: Path, out_dir: Path,
                    sources: Sources) -> tuple[int, int]:
    """Run the policy pack over the render's resources.json entries; write policy-report.json (each finding
    with the `source` of its resource). Returns (status: 1 on a mandatory violation, 2 on a bad config; the
    number of mandatory violations)."""
    from policies import check as policy_check

    config_path = args.policy_config or PROJECT_ROOT / "policies" / "config" / f"{args.stack}.json"
    status = policy_check.report_for_render(entries, config_path if config_path.exists() else None,
                                            staged / "policy-report.json", render_dir=out_dir,
                                            sources=sources.of)
    report = staged / "policy-report.json"
    mandatory = (sum(1 for v in json.loads(report.read_text(encoding="utf-8")) if v.get("enforcement") == "mandatory")
                 if report.exists() else 0)
    return status, mandatory


if __name__ == "__main__":
    sys.exit(main())
