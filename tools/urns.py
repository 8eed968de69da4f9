"""Pinned URNs: the identity of every resource of the shipped stacks, committed under tests/data/urns/.

    python -m tools.urns [STACK ...]           # compare with the pins; exit 1 on a difference
    python -m tools.urns --write [STACK ...]   # regenerate the pins (a deliberate, reviewed change)

A URN is what the engine matches state by. Renaming a resource, or any component above it, changes
its URN; without `aliases` the engine then creates a new object and deletes the old one — for an
object with a fixed metadata.name that deletes the live object. The pin test makes such a change
fail until it carries aliases for the old URNs or the pins are regenerated on purpose.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from tools.mock_runtime import RegisteredResource, engine_urn  # noqa: E402
from tools.render import PROJECT, read_stack_file, render  # noqa: E402

STACKS = ("dev", "staging", "prod")
PIN_DIR = PROJECT_ROOT / "tests" / "data" / "urns"


def pin_path(stack: str) -> Path:
    return PIN_DIR / f"{stack}.txt"


def stack_resources(stack: str) -> list[RegisteredResource]:
    config, secret_keys = read_stack_file(PROJECT_ROOT / f"Pulumi.{stack}.yaml")
    return render(config, secret_keys, stack=stack).resources


def pinned(stack: str) -> list[str]:
    return [line for line in pin_path(stack).read_text(encoding="utf-8").splitlines() if line.strip()]


def claimed_urns(resources: list[RegisteredResource], stack: str, project: str = PROJECT) -> set[str]:
    """Every URN the engine would match to a resource of this run: its own, its aliases, and the URNs
    it had under each former URN of its parent (the engine applies a parent's aliases to children)."""
    by_urn = {r.urn: r for r in resources}
    memo: dict[str, set[str]] = {}

    def claims(urn: str) -> set[str]:
        if urn not in memo:
            resource = by_urn.get(urn)
            found = {urn}
            if resource is not None:
                found.update(resource.aliases)
                if resource.parent in by_urn:
                    for parent in claims(resource.parent) - {resource.parent}:
                        found.add(engine_urn(stack, project, parent, resource.type, resource.name))
            memo[urn] = found
        return memo[urn]

    return set().union(*(claims(r.urn) for r in resources)) if resources else set()


def lost_urns(pins: list[str], resources: list[RegisteredResource], stack: str) -> list[str]:
    """Pinned URNs no resource claims any more: each would be deleted (and its object with it)."""
    claimed = claimed_urns(resources, stack)
    return [urn for urn in pins if urn not in claimed]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.urns", description=__doc__.split("\n\n")[0])
    parser.add_argument("stacks", nargs="*", default=list(STACKS))
    parser.add_argument("--write", action="store_true", help="regenerate the pin files")
    args = parser.parse_args(argv)
    status = 0
    for stack in args.stacks:
        urns = sorted(r.urn for r in stack_resources(stack))
        if args.write:
            PIN_DIR.mkdir(parents=True, exist_ok=True)
            pin_path(stack).write_text("".join(f"{urn}\n" for urn in urns), encoding="utf-8")
            print(f"{stack}: pinned {len(urns)} URNs -> {pin_path(stack)}")
            continue
        pins = pinned(stack)
        removed, added = sorted(set(pins) - set(urns)), sorted(set(urns) - set(pins))
        for urn in removed:
            print(f"{stack}: - {urn}")
        for urn in added:
            print(f"{stack}: + {urn}")
        status = status or int(bool(removed or added))
    return status


if __name__ == "__main__":
    sys.exit(main())
