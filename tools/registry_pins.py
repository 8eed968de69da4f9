"""Record (or check) the commits the MCP registry's git sources are pinned to.

    python -m tools.registry_pins update [STACK...]   resolve online, validate, write registry/sources.lock.json
    python -m tools.registry_pins check  [STACK...]   offline: every git source of the stacks has a pin

`pulumi preview`/`up` resolve and record the same way; this is for moving pins on purpose (a branch moved,
a new tag) in a pull request, and for CI to check that the offline renderer will find every pin.
Exit 0 when all is well, 1 naming each source that failed.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from components.config.loader import parse_stack_config  # noqa: E402
from components.errors import ConfigError  # noqa: E402
from components.registry.git_sources import GitSourceError, LockedResolver, OnlineResolver  # noqa: E402
from tools.render import read_stack_file  # noqa: E402

STACKS = ("dev", "staging", "prod")


def git_sources(stack: str, project_root: Path = PROJECT_ROOT):
    """(source name, GitSourceSpec) of every git source of a stack file."""
    config, _ = read_stack_file(project_root / f"Pulumi.{stack}.yaml")
    toolhive = {key.split(":", 1)[1]: value for key, value in config.items() if key.startswith("toolhive:")}
    parsed = parse_stack_config(toolhive).registry
    if parsed is None:
        return []
    return [(source.name, source.git) for source in parsed.sources if source.git is not None]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.registry_pins", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["update", "check"])
    parser.add_argument("stacks", nargs="*", default=list(STACKS))
    args = parser.parse_args(argv)
    resolver = OnlineResolver() if args.action == "update" else LockedResolver()
    failed = 0
    for stack in args.stacks:
        try:
            sources = git_sources(stack)
        except ConfigError as error:
            print(f"{stack}: {error}", file=sys.stderr)
            failed += 1
            continue
        for name, spec in sources:
            try:
                pin = resolver.resolve(name, spec)
            except GitSourceError as error:
                print(f"{stack}: {error}", file=sys.stderr)
                failed += 1
                continue
            print(f"{stack}: {name}: {spec.repository} {spec.ref} -> {pin.commit}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
