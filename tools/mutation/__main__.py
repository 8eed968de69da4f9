"""Mutation testing of the server, registry, secret-source, dry-run and replica-rule code (mutmut 3).

    python -m tools.mutation [PATH ...] [--max-children N] [--fresh]

PATH is a file or folder among the configured paths (tools/mutation/targets.toml); none means all of them.
Each PATH runs in its own work folder, .mutation/<path>/ (kept: a second run re-tests the functions that
changed and every mutant that survived or had no test, since a test added since may kill it), where mutmut
copies the project into mutants/ and plants one bug at a time. A mutant runs only the test files mapped to its
module in targets.toml, and of those only the tests that call the mutated function. The report lists, per module, killed / surviving mutants and the score; each survivor with its
diff, so it gets a test that bites or a line in tools/mutation/equivalents.toml (mutant, the mutated line,
and why no test can tell it apart). Listed equivalents are not counted; a listed mutant whose line no longer
matches is reported as stale. Exit 0 when every module scores at least the target (95%), else 1.

Not part of the test suite or CI: it is for whoever changes that code. CPU is scarce: --max-children
defaults to 1.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
WORK_ROOT = PROJECT_ROOT / ".mutation"
TARGET_SCORE = 0.95
#: Folders mutmut copies (and mutates, where only_mutate says so).
SOURCE_PATHS = ("components", "tools", "policies")
#: Top-level entries never copied into a work folder (pytest.ini: its `-n auto` would start xdist).
NOT_COPIED = {".git", ".mutation", "mutants", "render-out", ".venv", "venv", ".pytest_cache", ".cache", "pytest.ini",
              "setup.cfg", "__pycache__"}
KILLED = {"killed", "timeout"}


def load_targets() -> tuple[list[str], dict[str, list[str]]]:
    document = tomllib.loads((HERE / "targets.toml").read_text())
    return document["paths"], document["tests"]


def load_equivalents() -> dict[str, dict[str, str]]:
    document = tomllib.loads((HERE / "equivalents.toml").read_text())
    return {entry["mutant"]: entry for entry in document.get("equivalent", [])}


def modules_under(path: str, tests: dict[str, list[str]]) -> list[str]:
    """The configured modules a PATH names (a file, or every module of a folder)."""
    path = path.rstrip("/")
    found = [module for module in tests if module == path or module.startswith(path + "/")]
    if not found:
        raise SystemExit(f"error: {path}: not a configured module or folder (see tools/mutation/targets.toml)")
    return sorted(found)


def slug(path: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", path.strip("/")).strip("-")


def retest_survivors(work: Path) -> int:
    """Forget the result of every mutant that survived or had no test, so this run tests it again: mutmut only
    re-tests functions whose code changed, and a test written for a survivor changes no code. Returns how many.

    Which tests call which function is forgotten too: mutmut collects it again only for tests it has not seen,
    so a test written before a function was added or renamed would never be run for that function's mutants
    (seen: 54 survivors of a split-out helper whose tests all existed before it)."""
    from mutmut.stats import status_by_exit_code  # the same reading of exit codes as score()

    (work / "mutants" / "mutmut-stats.json").unlink(missing_ok=True)
    forgotten = 0
    for meta in (work / "mutants").rglob("*.py.meta"):
        data = json.loads(meta.read_text())
        codes = data.get("exit_code_by_key", {})
        for key, code in codes.items():
            if code is not None and status_by_exit_code[code] in ("survived", "no tests"):
                codes[key] = None
                forgotten += 1
        meta.write_text(json.dumps(data, indent=4))
    return forgotten


def prepare(work: Path, modules: list[str], test_files: list[str], fresh: bool) -> None:
    """A work folder that looks like the project to mutmut: links to each top-level entry, and setup.cfg."""
    if fresh and work.exists():
        subprocess.run(["rm", "-rf", str(work)], check=True)
    elif work.exists():
        retest_survivors(work)
    work.mkdir(parents=True, exist_ok=True)
    entries = [p.name for p in PROJECT_ROOT.iterdir() if p.name not in NOT_COPIED]
    for name in entries:
        link = work / name
        if not link.exists():
            link.symlink_to(PROJECT_ROOT / name)
    also_copy = [name for name in entries if name not in SOURCE_PATHS]

    def lines(values) -> str:
        return "".join(f"\n    {value}" for value in values)

    # The project's pytest.ini starts xdist (`-n auto`); mutmut runs pytest in-process, in mutants/.
    (work / "mutants").mkdir(exist_ok=True)
    (work / "mutants" / "pytest.ini").write_text("[pytest]\nempty_parameter_set_mark = fail_at_collect\n")
    (work / "setup.cfg").write_text(
        "# Written by python -m tools.mutation; see tools/mutation/targets.toml.\n"
        "[mutmut]\n"
        f"source_paths ={lines(SOURCE_PATHS)}\n"
        f"only_mutate ={lines(modules)}\n"
        f"also_copy ={lines(also_copy)}\n"
        f"pytest_add_cli_args ={lines(['-p', 'no:xdist', '-p', 'no:cacheprovider', '-p', 'tools.mutation.fresh'])}\n"
        f"pytest_add_cli_args_test_selection ={lines(test_files)}\n"
        # A test that reads a cached render in the stats run renders itself in a mutant's run: allow for it.
        "timeout_constant = 30\n"
        # A mutant that never ends (a loop index no longer advancing) is a kill; mutmut's default multiplier (15)
        # let one take over 16 CPU minutes before counting it. Six times the estimate plus 30 s still covers a render.
        "timeout_multiplier = 3.0\n"
        # Forking a process that has run the program (Pulumi's event loop and thread pool) deadlocks the child:
        # every mutant forks from a server that has only imported the heavy third-party modules.
        "process_isolation = forkserver\n"
        "forkserver_warmup = import\n"
        f"preload_modules_file = {HERE / 'preload.txt'}\n"
        "use_git_change_detection = false\n"
    )


@dataclass
class ModuleScore:
    module: str
    counts: dict[str, int] = field(default_factory=dict)
    survivors: list[tuple[str, str]] = field(default_factory=list)  # (mutant, diff)
    equivalent: int = 0
    stale: list[str] = field(default_factory=list)

    @property
    def tested(self) -> int:
        return sum(self.counts.values()) - self.equivalent

    @property
    def killed(self) -> int:
        return sum(n for status, n in self.counts.items() if status in KILLED)

    @property
    def score(self) -> float:
        return self.killed / self.tested if self.tested else 1.0


def mutated_lines(diff: str) -> list[str]:
    return [line[1:].strip() for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]


def score(work: Path, modules: list[str], equivalents: dict[str, dict[str, str]]) -> list[ModuleScore]:
    """Read mutmut's results in the work folder (its own API, from inside the folder)."""
    previous = Path.cwd()
    os.chdir(work)
    try:
        from mutmut.configuration import reset_config
        from mutmut.mutation.data import SourceFileMutationData
        from mutmut.mutation.diff_apply import get_diff_for_mutant
        from mutmut.stats import status_by_exit_code

        reset_config()
        scores = []
        for module in modules:
            data = SourceFileMutationData(path=Path(module))
            data.load()
            result = ModuleScore(module)
            for mutant, exit_code in sorted(data.exit_code_by_key.items()):
                status = status_by_exit_code[exit_code]
                result.counts[status] = result.counts.get(status, 0) + 1
                if status in KILLED:
                    continue
                diff = get_diff_for_mutant(mutant, path=Path(module))
                listed = equivalents.get(mutant)
                if listed and listed["line"].strip() in mutated_lines(diff):
                    result.equivalent += 1
                    continue
                if listed:
                    result.stale.append(mutant)
                result.survivors.append((f"{mutant} ({status})", diff))
            scores.append(result)
        return scores
    finally:
        os.chdir(previous)


def run(path: str, tests: dict[str, list[str]], max_children: int, fresh: bool) -> list[ModuleScore]:
    modules = modules_under(path, tests)
    test_files = sorted({test for module in modules for test in tests[module]})
    work = WORK_ROOT / slug(path)
    prepare(work, modules, test_files, fresh)
    print(f"== {path}: {len(modules)} module(s), tests: {' '.join(test_files)}", flush=True)
    log = work / "mutmut.log"
    with open(log, "w") as handle:
        completed = subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", str(max_children)],
                                   cwd=work, stdout=handle, stderr=subprocess.STDOUT,
                                   env={**os.environ, "TOOLHIVE_MUTATION_MODULES": ",".join(modules)})
    if completed.returncode != 0:
        print(log.read_text()[-4000:], file=sys.stderr)
        raise SystemExit(f"error: mutmut failed for {path} (exit {completed.returncode}); full log: {log}")
    return score(work, modules, load_equivalents())


def report(scores: list[ModuleScore]) -> None:
    for result in scores:
        for mutant, diff in result.survivors:
            print(f"\n-- survived: {mutant}\n{diff.rstrip()}")
        for mutant in result.stale:
            print(f"\n-- stale equivalents.toml entry (its line no longer matches): {mutant}")
    print(f"\n{'module':45} {'killed':>7} {'tested':>7} {'equiv':>6} {'score':>7}")
    for result in scores:
        print(f"{result.module:45} {result.killed:7} {result.tested:7} {result.equivalent:6} {result.score:7.1%}")
    killed, tested = sum(r.killed for r in scores), sum(r.tested for r in scores)
    print(f"{'total':45} {killed:7} {tested:7} {sum(r.equivalent for r in scores):6} "
          f"{(killed / tested if tested else 1.0):7.1%}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.mutation", description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", metavar="PATH", help="configured file or folder (default: all)")
    parser.add_argument("--max-children", type=int, default=1, help="mutants tested at once (default 1)")
    parser.add_argument("--fresh", action="store_true", help="forget earlier results of these paths")
    parser.add_argument("--json", type=Path, help="also write the scores as JSON to this file")
    args = parser.parse_args(argv)
    paths, tests = load_targets()
    scores = []
    for path in args.paths or paths:
        scores += run(path, tests, args.max_children, args.fresh)
    report(scores)
    if args.json:
        args.json.write_text(json.dumps({r.module: {"killed": r.killed, "tested": r.tested, "equivalent": r.equivalent,
                                                    "score": round(r.score, 4), "counts": r.counts} for r in scores},
                                        indent=2) + "\n")
    return 0 if all(r.score >= TARGET_SCORE for r in scores) else 1


if __name__ == "__main__":
    sys.exit(main())
