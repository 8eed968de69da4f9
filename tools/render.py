"""Offline renderer: the whole program under Pulumi's mock runtime — no CLI, no cluster, no network.

    python -m tools.render STACK [--config-file FILE] [--out DIR] [--preview]
    python -m tools.render --schema

Runs the same program as `pulumi up` with the configuration of Pulumi.STACK.yaml (or FILE, same
format) and writes DIR/manifests.yaml (every Kubernetes object, in an order that applies cleanly),
DIR/resources.json (every registered resource with its options), DIR/outputs.json (stack outputs),
DIR/warnings.json (what `pulumi preview` would print as warnings, with the resource's URN) and
DIR/policy-report.json (the policy pack over what was rendered, with the stack's policy config).
`secure:` values are never decrypted: they render as a fixed placeholder. Digest lookups (ECR) are
replaced by a stable offline stand-in; secret references (AWS Secrets Manager) by
placeholders, so AWS is never called.

Exit 0 on success, 1 on a mandatory policy violation, 2 on a configuration error or a required network
flow the NetworkPolicies block (tools/validate/reachability.py; message on stderr).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from components.errors import ConfigError  # noqa: E402
from tools.mock_runtime import SECRET_PLACEHOLDER, ProgramRun, RegisteredResource, run_program  # noqa: E402

PROJECT = "toolhive"

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
            document = yaml.safe_load(handle) or {}
    except OSError as error:
        raise StackFileError(f"{path}: cannot read: {error.strerror}") from None
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


def write_outputs(run_result: ProgramRun, out_dir: Path) -> list[dict[str, Any]]:
    out_dir.mkdir(parents=True, exist_ok=True)
    objects = kubernetes_objects(run_result.resources)
    with open(out_dir / "manifests.yaml", "w", encoding="utf-8") as handle:
        yaml.safe_dump_all(objects, handle, sort_keys=False, default_flow_style=False, width=120)
    with open(out_dir / "resources.json", "w", encoding="utf-8") as handle:
        json.dump([r.as_json() for r in sorted(run_result.resources, key=lambda r: r.urn)], handle, indent=2)
    with open(out_dir / "outputs.json", "w", encoding="utf-8") as handle:
        json.dump(run_result.outputs, handle, indent=2, sort_keys=True)
    with open(out_dir / "warnings.json", "w", encoding="utf-8") as handle:
        json.dump(sorted((w.as_json() for w in run_result.warnings), key=lambda w: (w["urn"], w["message"])),
                  handle, indent=2)
    return objects


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
    try:
        config, secret_keys = read_stack_file(stack_file)
        result = render(config, secret_keys, stack=args.stack, preview=args.preview)
    except StackFileError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except ConfigError as error:
        print(f"error: {stack_file.name}: {error}", file=sys.stderr)
        return 2

    # Hook for the offline dry run (tools/validate): the NetworkPolicies must let the platform's flows through.
    from tools.validate import reachability
    problems = reachability.check(kubernetes_objects(result.resources))
    if problems:
        print("\n".join(f"error: {stack_file.name}: {problem}" for problem in problems), file=sys.stderr)
        return 2

    objects = write_outputs(result, out_dir)
    for warning in sorted(result.warnings, key=lambda w: w.message):
        print(f"warning: {warning.message}", file=sys.stderr)
    print(f"rendered stack {args.stack}: {len(objects)} Kubernetes objects, {len(result.resources)} resources -> {out_dir}")
    return _check_policies(args, result, out_dir)


def _check_policies(args, result: ProgramRun, out_dir: Path) -> int:
    """Run the policy pack over the render; write policy-report.json; 1 on a mandatory violation."""
    from policies import check as policy_check

    config_path = args.policy_config or PROJECT_ROOT / "policies" / "config" / f"{args.stack}.json"
    return policy_check.report_for_render(
        [r.as_json() for r in result.resources], config_path if config_path.exists() else None,
        out_dir / "policy-report.json",
    )


if __name__ == "__main__":
    sys.exit(main())
