"""How the program, the renderer and the policy check scale with the number of MCP servers.

    python -m bench --servers 10,100,1000 [--rounds 3] [--json FILE] [--plot FILE.png] [--no-checkov]

For each N it generates a stack (bench/stack.py) and measures, interleaved over the rounds so that a
change of machine load hits every N and both sides alike (min and median reported):
  program   the program under the mock runtime (bench/worker.py): wall time, CPU time, peak RSS;
  floor     the same Kubernetes objects registered bare through pulumi_kubernetes (bench/floor.py);
  render    `python -m tools.render` end to end, process start to exit (validation, policy report);
  policy    `python -m policies.check` over the render's manifests.yaml, process start to exit;
  checkov   checkov's kubernetes framework over the same manifests (largest N only; its own venv,
            bench/.venv-checkov, created on first use).
Every measurement runs in a fresh process, so its peak RSS is its own; the project's bytecode is
compiled once beforehand, as a developer's checkout (and checkov's venv) has it. Prints a table; the targets
(issue 9) are checked at the largest N.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import yaml

from bench.stack import stack_file

ROOT = Path(__file__).resolve().parent.parent
CHECKOV_VENV = ROOT / "bench" / ".venv-checkov"
CHECKOV_REQUIREMENT = "checkov==3.3.30"
COMPILED = ("components", "tools", "policies", "bench")
TARGETS = {"ratio": 1.0, "render_s": 30.0, "peak_mib": 1024.0, "growth": 1.1, "checkov_speedup": 30.0}


@dataclass
class Run:
    wall: float
    cpu: float
    peak_mib: float
    returncode: int
    stdout: str


def run_process(command: list[str], cwd: Path, log: Path, env: dict | None = None) -> Run:
    """Run a process to its exit; wall time from start to exit, its own CPU time and peak RSS (wait4)."""
    with open(log, "w") as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, process.returncode, log.read_text())


def _json_line(run: Run, what: str) -> dict:
    if run.returncode != 0:
        raise SystemExit(f"bench: {what} failed (exit {run.returncode}):\n{run.stdout[-3000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


class Bench:
    def __init__(self, args: argparse.Namespace, work: Path):
        self.args, self.work, self.project = args, work, args.project.resolve()
        self.samples: dict[tuple[int, str], list[dict]] = {}
        self.facts: dict[int, dict] = {}

    def python(self, *argv: str) -> list[str]:
        return [sys.executable, *argv]

    def add(self, n: int, what: str, sample: dict) -> None:
        self.samples.setdefault((n, what), []).append(sample)

    def prepare(self, n: int) -> None:
        """The stack file, and one unmeasured program run that records what the floor registers."""
        path = self.work / f"stack-{n}.yaml"
        path.write_text(yaml.safe_dump(stack_file(n), sort_keys=False))
        recorded = self.work / f"resources-{n}.json"
        first = _json_line(run_process(self.python("-m", "bench.worker", "program", str(path), "--record", str(recorded),
                                                   "--project", str(self.project)), ROOT, self.work / "log.txt"),
                           f"program N={n}")
        self.facts[n] = {"resources": first["resources"], "objects": first["objects"]}

    def program(self, n: int) -> None:
        run = run_process(self.python("-m", "bench.worker", "program", str(self.work / f"stack-{n}.yaml"),
                                      "--project", str(self.project)), ROOT, self.work / "log.txt")
        result = _json_line(run, f"program N={n}")
        self.add(n, "program", {"wall": result["seconds"], "cpu": result["cpu_s"], "peak_mib": result["peak_mib"]})

    def floor(self, n: int) -> None:
        run = run_process(self.python("-m", "bench.worker", "floor", str(self.work / f"resources-{n}.json"),
                                      "--project", str(self.project)), ROOT, self.work / "log.txt")
        result = _json_line(run, f"floor N={n}")
        if result["objects"] != self.facts[n]["objects"]:
            raise SystemExit(f"bench: the floor registered {result['objects']} objects, the program {self.facts[n]['objects']}")
        self.add(n, "floor", {"wall": result["seconds"], "cpu": result["cpu_s"], "peak_mib": result["peak_mib"]})

    def render(self, n: int) -> None:
        out = self.work / f"render-{n}"
        run = run_process(self.python("-m", "tools.render", "bench", "--config-file", str(self.work / f"stack-{n}.yaml"),
                                      "--out", str(out)), self.project, self.work / "log.txt")
        if run.returncode not in (0, 1):  # 1: a mandatory policy violation, still a complete render
            raise SystemExit(f"bench: render N={n} failed (exit {run.returncode}):\n{run.stdout[-3000:]}")
        self.add(n, "render", {"wall": run.wall, "cpu": run.cpu, "peak_mib": run.peak_mib})
        manifests = self.work / f"manifests-{n}"
        manifests.mkdir(exist_ok=True)
        shutil.copy(out / "manifests.yaml", manifests / "manifests.yaml")

    def policy(self, n: int) -> None:
        run = run_process(self.python("-m", "policies.check", str(self.work / f"manifests-{n}")), self.project,
                          self.work / "log.txt")
        if run.returncode not in (0, 1):
            raise SystemExit(f"bench: policies.check N={n} failed (exit {run.returncode}):\n{run.stdout[-3000:]}")
        self.add(n, "policy", {"wall": run.wall, "cpu": run.cpu, "peak_mib": run.peak_mib})

    def checkov(self, n: int, checkov: Path) -> None:
        # Offline, as the renderer is: no policy download, no guideline mapping (BC_SKIP_MAPPING).
        run = run_process([str(checkov), "-d", str(self.work / f"manifests-{n}"), "--framework", "kubernetes",
                           "--quiet", "--compact", "--skip-download"], self.work, self.work / "checkov.txt",
                          env={**os.environ, "BC_SKIP_MAPPING": "TRUE"})
        if run.returncode not in (0, 1):  # 1: failed checks
            raise SystemExit(f"bench: checkov failed (exit {run.returncode}):\n{run.stdout[-3000:]}")
        self.add(n, "checkov", {"wall": run.wall, "cpu": run.cpu, "peak_mib": run.peak_mib})


def checkov_executable(given: Path | None) -> Path:
    """checkov from --checkov, else from bench/.venv-checkov (created with pip on first use)."""
    if given is not None:
        return given
    executable = CHECKOV_VENV / "bin" / "checkov"
    if not executable.exists():
        print(f"bench: installing {CHECKOV_REQUIREMENT} into {CHECKOV_VENV} (once)", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(CHECKOV_VENV)], check=True)
        subprocess.run([str(CHECKOV_VENV / "bin" / "pip"), "install", "--quiet", CHECKOV_REQUIREMENT], check=True)
    return executable


def summarize(bench: Bench, sizes: list[int], load: tuple[list[float], list[float]]) -> list[dict]:
    """One object per N: medians as the headline figures, mins beside them."""
    rows = []
    for n in sizes:
        def stat(what: str, key: str = "wall", how=statistics.median):
            values = [s[key] for s in bench.samples.get((n, what), [])]
            return round(how(values), 3) if values else None

        objects = bench.facts[n]["objects"]
        row = {
            "n": n, "resources": bench.facts[n]["resources"], "objects": objects,
            "program_s": stat("program"), "floor_s": stat("floor"),
            "ratio": round(stat("program") / stat("floor"), 3),
            "render_s": stat("render"), "peak_mib": stat("render", "peak_mib", max),
            "policy_check_s": stat("policy"), "checkov_s": stat("checkov"),
            "program_min_s": stat("program", how=min), "floor_min_s": stat("floor", how=min),
            "render_min_s": stat("render", how=min), "policy_check_min_s": stat("policy", how=min),
            "checkov_min_s": stat("checkov", how=min),
            "program_cpu_s": stat("program", "cpu"), "floor_cpu_s": stat("floor", "cpu"),
            "cpu_ratio": round(stat("program", "cpu") / stat("floor", "cpu"), 3),
            "render_cpu_s": stat("render", "cpu"), "policy_check_cpu_s": stat("policy", "cpu"),
            "checkov_cpu_s": stat("checkov", "cpu"),
            "program_peak_mib": stat("program", "peak_mib", max), "floor_peak_mib": stat("floor", "peak_mib", max),
            "program_ms_per_object": round(1000 * stat("program") / objects, 3),
            "floor_ms_per_object": round(1000 * stat("floor") / objects, 3),
            "rounds": len(bench.samples[(n, "program")]), "checkov_rounds": len(bench.samples.get((n, "checkov"), [])),
            "load_start": load[0], "load_end": load[1],
        }
        row["checkov_speedup"] = (round(row["checkov_s"] / row["policy_check_s"], 1)
                                  if row["checkov_s"] and row["policy_check_s"] else None)
        rows.append(row)
    for previous, row in zip(rows, rows[1:]):  # per-object cost at N over the previous N (1.0 = linear)
        for side in ("program", "floor", "render"):
            before, now = previous[f"{side}_s"] / previous["objects"], row[f"{side}_s"] / row["objects"]
            row[f"{side}_growth"] = round(now / before, 3)
    return rows


def _fmt(value, digits=2) -> str:
    return "-" if value is None else (f"{value:.{digits}f}" if isinstance(value, float) else str(value))


#: The headline table: medians of the rounds.
MEDIANS = [("N", "n", 0), ("resources", "resources", 0), ("k8s objects", "objects", 0),
           ("program s", "program_s", 2), ("floor s", "floor_s", 2), ("ratio", "ratio", 2),
           ("cpu ratio", "cpu_ratio", 2), ("growth", "program_growth", 2), ("render s", "render_s", 2),
           ("render cpu s", "render_cpu_s", 2), ("peak MiB", "peak_mib", 0), ("policy s", "policy_check_s", 2),
           ("checkov s", "checkov_s", 1), ("checkov/policy", "checkov_speedup", 1)]
#: The fastest round of each measurement.
MINIMA = [("N", "n", 0), ("program min s", "program_min_s", 2), ("floor min s", "floor_min_s", 2),
          ("render min s", "render_min_s", 2), ("policy min s", "policy_check_min_s", 2),
          ("checkov min s", "checkov_min_s", 1)]


def table(rows: list[dict], columns: list[tuple[str, str, int]] = MEDIANS) -> str:
    lines = [[title for title, _, _ in columns]]
    lines += [[_fmt(row.get(key), digits) for _, key, digits in columns] for row in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(columns))]
    out = [" | ".join(cell.rjust(width) for cell, width in zip(line, widths)) for line in lines]
    out.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(out)


def targets(rows: list[dict]) -> list[str]:
    """The issue's targets at the largest N: one line each, met or missed."""
    last = rows[-1]
    checks = [
        ("program/floor per resource <= 1.0", last["ratio"], last["ratio"] <= TARGETS["ratio"]),
        ("render end to end < 30 s", last["render_s"], last["render_s"] < TARGETS["render_s"]),
        ("render peak < 1 GiB", last["peak_mib"], last["peak_mib"] < TARGETS["peak_mib"]),
    ]
    if "program_growth" in last:
        checks.append((f"per-resource growth N={rows[-2]['n']}->{last['n']} <= 1.1x", last["program_growth"],
                       last["program_growth"] <= TARGETS["growth"]))
    if last["checkov_speedup"] is not None:
        checks.append(("offline check >= 30x faster than checkov", last["checkov_speedup"],
                       last["checkov_speedup"] >= TARGETS["checkov_speedup"]))
    return [f"{'met   ' if ok else 'MISSED'} {name} (N={last['n']}: {value})" for name, value, ok in checks]


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [row["n"] for row in rows]
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for key, label in (("program_s", "program (mock runtime)"), ("floor_s", "floor (bare pulumi_kubernetes)"),
                       ("render_s", "renderer end to end")):
        axes.plot(sizes, [row[key] for row in rows], marker="o", label=label)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("MCP servers (N)")
    axes.set_ylabel("seconds (median)")
    axes.set_title("ToolHive platform program: time against N")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", default="10,100,1000", help="comma-separated N (default 10,100,1000)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--checkov-rounds", type=int, default=1, help="checkov runs at the largest N (default 1: it is slow)")
    parser.add_argument("--no-checkov", action="store_true", help="skip checkov (the smoke test does)")
    parser.add_argument("--checkov", type=Path, help="a checkov executable to use instead of bench/.venv-checkov")
    parser.add_argument("--json", type=Path, help="write one object per N to FILE")
    parser.add_argument("--plot", type=Path, help="plot time against N to FILE.png (matplotlib)")
    parser.add_argument("--work", type=Path, help="keep stacks, renders and logs here (default: a temporary directory)")
    parser.add_argument("--project", type=Path, default=ROOT, help="the checkout to measure (before/after comparisons)")
    args = parser.parse_args(argv)
    sizes = sorted({int(part) for part in args.servers.split(",") if part.strip()})
    if not sizes or sizes[0] < 1 or args.rounds < 1:
        parser.error("--servers takes positive integers, --rounds at least 1")

    checkov = None if args.no_checkov else checkov_executable(args.checkov)
    # Measure the steady state a developer's machine is in, as checkov's installed venv is: bytecode
    # compiled once, here, not by every timed process (PYTHONDONTWRITEBYTECODE would make it so).
    subprocess.run([sys.executable, "-m", "compileall", "-q",
                    *(str(args.project / d) for d in COMPILED if (args.project / d).is_dir())], check=True)
    load_start = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="bench-") as temporary:
        work = args.work or Path(temporary)
        work.mkdir(parents=True, exist_ok=True)
        bench = Bench(args, work)
        for n in sizes:
            bench.prepare(n)
        for round_ in range(args.rounds):
            for n in sizes:
                sides = [bench.program, bench.floor] if round_ % 2 == 0 else [bench.floor, bench.program]
                for measure in sides:
                    measure(n)
                bench.render(n)
                bench.policy(n)
                if checkov is not None and n == sizes[-1] and round_ < args.checkov_rounds:
                    bench.checkov(n, checkov)
            print(f"bench: round {round_ + 1}/{args.rounds} done", file=sys.stderr)
        rows = summarize(bench, sizes, (load_start, [round(x, 2) for x in os.getloadavg()]))

    print(f"python -m bench --servers {','.join(map(str, sizes))} --rounds {args.rounds} "
          f"({datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, "
          f"load {load_start[0]} -> {rows[-1]['load_end'][0]}; medians of {args.rounds} interleaved rounds)")
    print(table(rows))
    print(f"\nfastest of the rounds:\n{table(rows, MINIMA)}")
    print("\n".join(targets(rows)))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    if args.plot:
        plot(rows, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
