"""A `pulumi import --file` document for the objects the upstream Helm charts created.

    python -m tools.helm_import STACK [--config-file FILE] > import.json
    pulumi import --file import.json

One entry per object of the toolhive-operator and toolhive-operator-crds charts (and the namespace
`helm install --create-namespace` made) that this stack registers: its Pulumi type, the logical name
and parent this program gives it, the id pulumi-kubernetes imports by (`<namespace>/<name>`, or
`<name>` for cluster-scoped objects) and the stack's own provider. `nameTable` maps the parent and
provider keys to their URNs; those must be in the stack's state before the import (stderr prints the
targeted `pulumi up` that creates them). Objects that cannot be adopted in place are left out and
named on stderr with the reason. Exit 2 on a configuration error.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from components.config import StackConfig  # noqa: E402
from components.errors import ConfigError  # noqa: E402
from components.platform.helm_adoption import adoptable_objects, not_adoptable  # noqa: E402
from tools.mock_runtime import ProgramRun, RegisteredResource  # noqa: E402
from tools.render import StackFileError, read_stack_file, render  # noqa: E402


def import_document(run: ProgramRun, config: StackConfig) -> dict[str, Any]:
    """The import file for a rendered stack. Raises LookupError if a chart object has no resource here."""
    by_identity = {(r.type, r.inputs.get("metadata", {}).get("namespace"), r.inputs.get("metadata", {}).get("name")): r
                   for r in run.resources if r.custom and r.type.startswith("kubernetes:")}
    by_urn = {r.urn: r for r in run.resources}
    name_table: dict[str, str] = {}

    def key_for(urn: str) -> str:
        for key, known in name_table.items():
            if known == urn:
                return key
        base = by_urn[urn].name
        key, n = base, 2
        while key in name_table:
            key, n = f"{base}-{n}", n + 1
        name_table[key] = urn
        return key

    resources = []
    for obj in adoptable_objects(config):
        resource: RegisteredResource | None = by_identity.get((obj.type_token, obj.namespace, obj.name))
        if resource is None:
            raise LookupError(f"{obj.kind} {obj.import_id} (made by {obj.source}) is not registered by this stack")
        entry = {"type": resource.type, "name": resource.name, "id": obj.import_id, "parent": key_for(resource.parent)}
        if resource.provider:
            entry["provider"] = key_for(resource.provider)
        resources.append(entry)
    return {"nameTable": name_table, "resources": resources}


def _with_ancestors(run: ProgramRun, urns) -> list[str]:
    """The URNs and their ancestor components (a targeted up needs the parents), the Stack left out."""
    by_urn = {r.urn: r for r in run.resources}
    found: list[str] = []
    for urn in urns:
        chain = []
        while urn in by_urn and by_urn[urn].type != "pulumi:pulumi:Stack":
            chain.insert(0, urn)
            urn = by_urn[urn].parent
        found.extend(u for u in chain if u not in found)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.helm_import", description=__doc__.split("\n\n")[0])
    parser.add_argument("stack")
    parser.add_argument("--config-file", type=Path, help="a stack file (default: Pulumi.STACK.yaml)")
    args = parser.parse_args(argv)
    stack_file = args.config_file or PROJECT_ROOT / f"Pulumi.{args.stack}.yaml"
    try:
        raw, secret_keys = read_stack_file(stack_file)
        run = render(raw, secret_keys, stack=args.stack, preview=True)
        from components.config.loader import parse_stack_config
        config = parse_stack_config({k.split(":", 1)[1]: v for k, v in raw.items() if k.startswith("toolhive:")})
        document = import_document(run, config)
    except StackFileError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except ConfigError as error:
        print(f"error: {stack_file.name}: {error}", file=sys.stderr)
        return 2
    json.dump(document, sys.stdout, indent=2)
    print()
    for obj, reason in not_adoptable(config).items():
        print(f"not imported: {obj.kind} {obj.import_id}: {reason}", file=sys.stderr)
    targets = " ".join(f"--target '{urn}'" for urn in _with_ancestors(run, document["nameTable"].values()))
    print(f"before `pulumi import --file`, create the parents and the provider: pulumi up {targets}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
