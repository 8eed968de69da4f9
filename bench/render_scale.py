"""How render time and memory grow with tenant namespaces (the program's unit of scale).

    python -m bench.render_scale [--namespaces 10 50 200] [--preview]

Each size runs in a fresh process so peak RSS is its own. Targets (2 cores, 24 GiB): 200 tenant
namespaces render in under 60 s and under 1 GiB peak RSS; the script exits 1 if a target is missed.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = {200: 60.0}
TARGET_RSS_MIB = 1024


def tenant_config(count: int) -> dict:
    return {
        "toolhive:cluster": {"context": "bench"},
        "toolhive:operator": {"replicas": 2, "podDisruptionBudget": {"enabled": True}},
        "toolhive:namespaces": [
            {"name": f"team-{i:03d}", "network": {"allowFrom": ["agents"]}, "groups": [{"name": "default"}],
             "access": {"editors": {"groups": [f"team-{i:03d}"]}}}
            for i in range(count)
        ],
    }


def measure_one(count: int, preview: bool) -> dict:
    sys.path.insert(0, str(ROOT))
    from tools.render import kubernetes_objects, render

    started = time.perf_counter()
    run = render(tenant_config(count), stack="bench", preview=preview)
    seconds = time.perf_counter() - started
    return {"namespaces": count, "seconds": round(seconds, 2), "resources": len(run.resources),
            "objects": len(kubernetes_objects(run.resources)),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--namespaces", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument("--preview", action="store_true")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(measure_one(args.one, args.preview)))
        return 0
    failed = False
    for count in args.namespaces:
        command = [sys.executable, "-m", "bench.render_scale", "--one", str(count)] + (["--preview"] if args.preview else [])
        result = json.loads(subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True).stdout)
        limit = TARGET_SECONDS.get(count)
        slow = limit is not None and result["seconds"] > limit
        heavy = result["peak_rss_mib"] > TARGET_RSS_MIB
        failed = failed or slow or heavy
        print(json.dumps({**result, "ok": not (slow or heavy)}))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
