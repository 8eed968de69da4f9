"""Pinned URNs: the identity of every resource of the shipped stacks, committed under tests/data/urns/.

    python -m tools.urns [STACK ...]           # compare with the pins; exit 1 on a URN lost without an alias
    python -m tools.urns --write [STACK ...]   # regenerate the pins (a deliberate, reviewed change)

A URN is what the engine matches state by. Renaming a resource, or any component above it, changes
its URN; without `aliases` the engine then creates a new object and deletes the old one — for an
object with a fixed metadata.name that deletes the live object. The pin test makes such a change
fail until it carries aliases for the old URNs or the pins are regenerated on purpose.

Only a lost URN fails. New URNs never do (adding a server needs no re-pin), and the URNs of a server
whose file was removed or renamed (its `name:`) are gone on purpose: each pin of a server's resources
records the server component it belongs to (`URN<TAB>server=<component>`), and such a URN is lost only
while that server is still rendered.
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


#: The components that stand for one server file (components/servers/stacks.py COMPONENTS).
SERVER_COMPONENTS = ("toolhive:servers:McpServer", "toolhive:servers:RemoteProxy", "toolhive:servers:VirtualServer")


def pinned(stack: str) -> list[str]:
    return list(pins_with_owners(stack))


def pins_with_owners(stack: str) -> dict[str, str | None]:
    """Pinned URN -> the server component it belongs to (None for the platform's own resources)."""
    pins: dict[str, str | None] = {}
    for line in pin_path(stack).read_text(encoding="utf-8").splitlines():
        if line.strip():
            urn, _, owner = line.partition("\tserver=")
            pins[urn.strip()] = owner.strip() or None
    return pins


def server_owner(resource: RegisteredResource, by_urn: dict[str, RegisteredResource]) -> str | None:
    """The name of the server component `resource` is (or is inside of), or None."""
    current: RegisteredResource | None = resource
    while current is not None:
        if current.type in SERVER_COMPONENTS:
            return current.name
        current = by_urn.get(current.parent)
    return None


def pin_lines(resources: list[RegisteredResource]) -> list[str]:
    by_urn = {r.urn: r for r in resources}
    lines = []
    for resource in sorted(resources, key=lambda r: r.urn):
        owner = server_owner(resource, by_urn)
        lines.append(resource.urn if owner is None else f"{resource.urn}\tserver={owner}")
    return lines


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


def lost_urns(pins: list[str] | dict[str, str | None], resources: list[RegisteredResource], stack: str) -> list[str]:
    """Pinned URNs no resource claims any more: each would be deleted (and its object with it). With the
    owners of the pins (`pins_with_owners`), the URNs of a server no longer rendered are not lost: that
    server was removed (or renamed) on purpose."""
    owners = pins if isinstance(pins, dict) else dict.fromkeys(pins)
    claimed = claimed_urns(resources, stack)
    rendered_servers = {r.name for r in resources if r.type in SERVER_COMPONENTS}
    return [urn for urn, owner in owners.items()
            if urn not in claimed and (owner is None or owner in rendered_servers)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.urns", description=__doc__.split("\n\n")[0])
    parser.add_argument("stacks", nargs="*", default=list(STACKS))
    parser.add_argument("--write", action="store_true", help="regenerate the pin files")
    args = parser.parse_args(argv)
    status = 0
    for stack in args.stacks:
        resources = stack_resources(stack)
        if args.write:
            PIN_DIR.mkdir(parents=True, exist_ok=True)
            lines = pin_lines(resources)
            pin_path(stack).write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
            print(f"{stack}: pinned {len(lines)} URNs -> {pin_path(stack)}")
            continue
        pins = pins_with_owners(stack)
        lost = lost_urns(pins, resources, stack)
        gone = sorted(set(pins) - set(lost) - claimed_urns(resources, stack))
        added = sorted({r.urn for r in resources} - set(pins))
        for urn in lost:
            print(f"{stack}: - {urn} (lost without an alias: the engine would delete it)")
        for urn in gone:
            print(f"{stack}: - {urn} (its server was removed or renamed)")
        for urn in added:
            print(f"{stack}: + {urn}")
        status = status or int(bool(lost))
    return status


if __name__ == "__main__":
    sys.exit(main())
