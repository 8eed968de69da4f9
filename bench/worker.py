"""One measurement in its own process, so its peak RSS is its own; prints one JSON object.

    python -m bench.worker program STACK_FILE [--record RESOURCES_JSON] [--project DIR]
    python -m bench.worker floor RESOURCES_JSON [--project DIR]

Both time only the Pulumi run (from the first line of the program to the last registration settled);
the modules each side needs are imported before the clock starts. `--project` measures another checkout
of the project (before/after comparisons); its tools/mock_runtime.py runs both sides.
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _peak_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def measure_program(stack_file: Path, record: Path | None) -> dict:
    import components.program  # noqa: F401  (imported before the clock, like the floor's classes)
    from tools.render import kubernetes_objects, read_stack_file, render

    config, secret_keys = read_stack_file(stack_file)
    started, cpu = time.perf_counter(), time.process_time()
    run = render(config, secret_keys, stack="bench")
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    if record is not None:
        record.write_text(json.dumps([r.as_json() for r in run.resources]))
    return {"seconds": seconds, "cpu_s": cpu, "resources": len(run.resources),
            "objects": len(kubernetes_objects(run.resources)), "peak_mib": _peak_mib()}


def measure_floor(recorded_file: Path) -> dict:
    from bench.floor import floor_program, resource_class
    from tools.mock_runtime import run_program

    recorded = json.loads(recorded_file.read_text())
    for entry in recorded:
        if entry["type"].startswith("kubernetes:"):
            resource_class(entry["type"])
    started, cpu = time.perf_counter(), time.process_time()
    run = run_program(floor_program(recorded), project="toolhive", stack="bench")
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    objects = sum(1 for r in run.resources if r.type.startswith("kubernetes:"))
    return {"seconds": seconds, "cpu_s": cpu, "resources": len(run.resources), "objects": objects, "peak_mib": _peak_mib()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.worker")
    parser.add_argument("what", choices=["program", "floor"])
    parser.add_argument("file", type=Path)
    parser.add_argument("--record", type=Path)
    parser.add_argument("--project", type=Path, default=ROOT)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(args.project.resolve()))
    if args.what == "program":
        result = measure_program(args.file, args.record)
    else:
        result = measure_floor(args.file)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
