"""Record (or check) the commits the MCP registry's git sources are pinned to.

    python -m tools.registry_pins update [STACK...] [--source NAME]   resolve online, validate, write the lock
    python -m tools.registry_pins check  [STACK...] [--source NAME]   offline: every git source has a pin

`pulumi preview`/`up` resolve and record the same way; this is for moving pins on purpose (a branch moved,
a new tag) in a pull request, and for CI to check that the offline renderer will find every pin.
`update` prints each pin as `old -> new` (or `unchanged`), and writes registry/sources.lock.json once,
atomically, only when every source resolved: a failure (offline, a missing ref, invalid data) names the
source and leaves the lock as it was. `--source NAME` moves only that source (of every stack given).
Exit 0 when all is well, 1 naming each source that failed.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

import git  # noqa: E402

from components.config.loader import parse_stack_config  # noqa: E402
from components.errors import ConfigError  # noqa: E402
from components.registry import git_sources as sources  # noqa: E402
from components.registry.git_sources import GitSourceError, LockedResolver, OnlineResolver  # noqa: E402
from tools.render import StackFileError, read_stack_file  # noqa: E402

STACKS = ("dev", "staging", "prod")


def git_sources(stack: str, project_root: Path = PROJECT_ROOT):
    """(source name, GitSourceSpec) of every git source of a stack file."""
    config, _ = read_stack_file(project_root / f"Pulumi.{stack}.yaml")
    toolhive = {key.split(":", 1)[1]: value for key, value in config.items() if key.startswith("toolhive:")}
    parsed = parse_stack_config(toolhive).registry
    if parsed is None:
        return []
    return [(source.name, source.git) for source in parsed.sources if source.git is not None]


def main(argv: list[str] | None = None, *, project_root: Path = PROJECT_ROOT, lock_path: Path | None = None,
         cache_dir: Path | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.registry_pins", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["update", "check"])
    parser.add_argument("stacks", nargs="*", default=list(STACKS))
    parser.add_argument("--source", help="only this source (its name under toolhive:registry.sources)")
    args = parser.parse_args(argv)
    lock_path = lock_path or sources.LOCK_FILE
    old = sources.read_lock(lock_path)
    resolver = (OnlineResolver(cache_dir or sources.DEFAULT_CACHE, lock_path=None) if args.action == "update"
                else LockedResolver(lock_path))
    failed, found, pins = 0, False, dict(old)
    for stack in args.stacks:
        try:
            stack_sources = git_sources(stack, project_root)
        except (ConfigError, StackFileError) as error:
            print(f"{stack}: {error}", file=sys.stderr)
            failed += 1
            continue
        for name, spec in stack_sources:
            if args.source is not None and name != args.source:
                continue
            found = True
            try:
                pin = resolver.resolve(name, spec)
            except GitSourceError as error:
                print(f"{stack}: {error}", file=sys.stderr)
                failed += 1
                continue
            except (git.GitError, OSError) as error:  # no git binary, an unwritable cache...
                print(f"{stack}: registry source {name!r}: cannot resolve {spec.repository} {spec.ref}: "
                      f"{' '.join(str(error).split())[:200]}", file=sys.stderr)
                failed += 1
                continue
            before = (old.get(pin.key) or {}).get("commit")
            change = "unchanged" if before == pin.commit else f"{before[:12] if before else '(none)'} -> {pin.commit[:12]}"
            print(f"{stack}: {name}: {spec.repository} {spec.ref}: {change}" if args.action == "update"
                  else f"{stack}: {name}: {spec.repository} {spec.ref} -> {pin.commit}")
            pins[pin.key] = {"repository": pin.repository, "ref": pin.ref, "path": pin.path, "commit": pin.commit}
    if args.source is not None and not found:
        print(f"no git source named {args.source!r} in stack(s) {', '.join(args.stacks)}", file=sys.stderr)
        return 1
    if failed:
        if args.action == "update":
            print(f"{lock_path.name} left as it was: {failed} source(s) failed", file=sys.stderr)
        return 1
    if args.action == "update" and pins != old:
        sources.write_lock(pins, lock_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
