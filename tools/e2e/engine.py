"""The real Pulumi engine: the CLI built from pulumi/pkg, a `file://` backend, the stack's configuration.

How the program reaches the engine. The CLI normally starts the Python language host
(`pulumi-language-python`), which runs `__main__.py`. That host is not served by the Go module proxy these
machines reach (tools/e2e/pins.toml), so the run uses the Pulumi Python SDK's own inline-program path instead:
the Automation API starts its language server in a Python process and the CLI is pointed at it (`--client`).
The engine, the providers, the policy analyzer and the state are the real ones; the program is the same
`components.program.run` that `__main__.py` calls, with the registry's git sources read from the lock file (the
run has no network).

The policy pack is started by the real CLI: with no Python language host installed, the CLI falls back to the
`pulumi-analyzer-policy-python` plugin (pkg/resource/plugin/analyzer_plugin.go), which this module provides as a
small script that runs `<pack venv>/bin/python -u -m pulumi.policy ENGINE PACK_DIR`, as the upstream shim did.

Each operation runs in its own Python process (`python -m tools.e2e.engine OP ...`), so no program state carries
from one run to the next.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PROJECT = "toolhive"

PLUGIN_SCRIPT = """#!{python}
# Written by tools/e2e/engine.py for one end-to-end run.
import os, sys
sys.path.insert(0, {root!r})
{body}
"""

RANDOM_BODY = "from tools.e2e.random_provider import main\nmain()"

#: The analyzer shim: args are ENGINE_ADDRESS PACK_DIR and `-option=value` for each runtime option.
POLICY_BODY = """engine, pack = sys.argv[1], sys.argv[2]
options = dict(arg[1:].split("=", 1) for arg in sys.argv[3:] if arg.startswith("-") and "=" in arg)
venv = os.path.join(pack, options.get("virtualenv", "venv"))
python = os.path.join(venv, "bin", "python")
os.execv(python, [python, "-u", "-m", "pulumi.policy", engine, pack])"""


class EngineError(RuntimeError):
    pass


def plugin_bin(rundir: Path, binaries: dict[str, Path]) -> Path:
    """One directory on PATH with the CLI, the providers and the analyzer shim, as the CLI looks them up."""
    bindir = rundir / "bin"
    bindir.mkdir(parents=True, exist_ok=True)
    for name, path in binaries.items():
        link = bindir / name
        if link.exists() or link.is_symlink():
            link.unlink()
        link.symlink_to(path)
    scripts = {"pulumi-analyzer-policy-python": POLICY_BODY}
    if not shutil.which("pulumi-resource-random"):
        scripts["pulumi-resource-random"] = RANDOM_BODY
    for name, body in scripts.items():
        script = bindir / name
        script.write_text(PLUGIN_SCRIPT.format(python=sys.executable, root=str(PROJECT_ROOT), body=body))
        script.chmod(0o755)
    return bindir


def pack_copy(rundir: Path) -> Path:
    """The policy pack as `pulumi policy publish` ships it (the directory alone), its venv the project's."""
    target = rundir / "policies"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(PROJECT_ROOT / "policies", target,
                    ignore=shutil.ignore_patterns("venv", "__pycache__", "*.pyc"))
    (target / "venv").symlink_to(Path(sys.prefix))
    return target


#: How long an operation may take before the run stops it and reports it failed (seconds). `up` includes the
#: wait for a new CRD's count in a tenant quota: up to the quota controller's resync period, 5 minutes.
TIMEOUTS = {"preview": 600, "up": 1200, "destroy": 900}


@dataclass
class Engine:
    stack: str
    rundir: Path
    bindir: Path
    kubeconfig: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def workdir(self) -> Path:
        return self.rundir / "project"

    def env(self) -> dict[str, str]:
        env = {key: val for key, val in os.environ.items() if not key.startswith("PULUMI_")}
        env.update({
            "PATH": f"{self.bindir}{os.pathsep}{os.environ.get('PATH', '')}",
            "PULUMI_HOME": str(self.rundir / "pulumi-home"),
            "PULUMI_BACKEND_URL": f"file://{self.rundir / 'state'}",
            "PULUMI_CONFIG_PASSPHRASE": "toolhive-e2e",
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true",
            "KUBECONFIG": str(self.kubeconfig),
            "PYTHONPATH": str(PROJECT_ROOT),
            **self.extra_env,
        })
        return env

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run([str(self.bindir / "pulumi"), *args, "--non-interactive"], cwd=self.workdir,
                              env=self.env(), capture_output=True, text=True)
        if check and proc.returncode != 0:
            raise EngineError(f"pulumi {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-4000:]}"
                              f"{proc.stdout[-4000:]}")
        return proc

    def init(self, config: dict) -> None:
        """A fresh stack in the file backend, its configuration the shipped `Pulumi.<stack>.yaml` plus `config`."""
        (self.rundir / "state").mkdir(parents=True, exist_ok=True)
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "Pulumi.yaml").write_text(yaml.safe_dump({
            "name": PROJECT, "runtime": {"name": "python"},
            "description": "toolhive, run by tools/e2e with an inline program"}))
        self.cli("stack", "init", self.stack, "--secrets-provider", "passphrase")
        stack_file = self.workdir / f"Pulumi.{self.stack}.yaml"
        settings = yaml.safe_load(stack_file.read_text()) or {}
        settings["config"] = config
        stack_file.write_text(yaml.safe_dump(settings, sort_keys=False))

    def set_secret(self, key: str, value: str) -> None:
        proc = subprocess.run([str(self.bindir / "pulumi"), "config", "set", "--secret", key, "--stack", self.stack,
                               "--non-interactive"], input=value, cwd=self.workdir, env=self.env(),
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise EngineError(f"pulumi config set --secret {key} failed: {proc.stderr.strip()}")

    def operation(self, op: str, *, policy_pack: Path | None = None, policy_config: Path | None = None,
                  expect_no_changes: bool = False, label: str | None = None, program: str = "stack",
                  continue_on_error: bool = False) -> dict:
        """`preview`, `up` or `destroy`, run with the inline program in a process of its own."""
        args = [sys.executable, "-m", "tools.e2e.engine", op, "--stack", self.stack, "--workdir", str(self.workdir),
                "--result", str(self.rundir / f"{label or op}.result.json")]
        if policy_pack:
            args += ["--policy-pack", str(policy_pack), "--policy-config", str(policy_config)]
        if expect_no_changes:
            args.append("--expect-no-changes")
        if continue_on_error:
            args.append("--continue-on-error")
        args += ["--program", program]
        started = time.monotonic()
        # Its own session, so a hang (a delete that never ends) stops with the CLI and providers it started.
        child = subprocess.Popen(args, cwd=PROJECT_ROOT, env=self.env(), stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            stdout, stderr = child.communicate(timeout=TIMEOUTS[op])
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            stdout, stderr = child.communicate()
            stderr += f"\n`pulumi {op}` did not finish in {TIMEOUTS[op]} s: stopped"
        proc = subprocess.CompletedProcess(args, child.returncode, stdout, stderr)
        self.timings[label or op] = round(time.monotonic() - started, 1)
        (self.rundir / f"{label or op}.log").write_text(proc.stdout + "\n--- stderr ---\n" + proc.stderr)
        result_file = self.rundir / f"{label or op}.result.json"
        result = json.loads(result_file.read_text()) if result_file.exists() else {}
        result["returncode"] = proc.returncode
        if proc.returncode != 0 and not result.get("error"):
            result["error"] = (proc.stderr or proc.stdout)[-4000:]
        return result

    def unprotect_all(self) -> None:
        """`pulumi state unprotect --all`: what an operator runs before destroying a stack with protected resources."""
        self.cli("state", "unprotect", "--all", "--yes", "--stack", self.stack)

    def export(self) -> dict:
        return json.loads(self.cli("stack", "export", "--stack", self.stack).stdout)


# -- the operation process ----------------------------------------------------------------------------------------
SKIP_AWAIT = "pulumi.com/skipAwait"


def _skip_await(args):
    """Without a kubelet no pod ever becomes ready, and the kubernetes provider waits (up to ten minutes)
    for every Deployment, StatefulSet and Service to be ready. The run annotates every object with the
    provider's own `pulumi.com/skipAwait` so `up` returns once the API server accepted each object."""
    import copy

    import pulumi

    if not args.type_.startswith("kubernetes:") or "metadata" not in args.props:
        return None
    props = dict(args.props)
    meta = props["metadata"]
    # An object that says what to wait for (pulumi.com/waitFor: the tenant quota's status) keeps its await.
    add = lambda found: found if found and "pulumi.com/waitFor" in found else {**(found or {}), SKIP_AWAIT: "true"}  # noqa: E731
    if isinstance(meta, dict):
        meta = dict(meta)
        meta["annotations"] = pulumi.Output.from_input(meta.get("annotations")).apply(add)
    elif meta is not None and hasattr(meta, "annotations"):
        meta = copy.copy(meta)
        pulumi.set(meta, "annotations", pulumi.Output.from_input(pulumi.get(meta, "annotations")).apply(add))
    else:
        return None
    props["metadata"] = meta
    return pulumi.ResourceTransformationResult(props, args.opts)


def _program() -> None:
    import pulumi

    from components.program import run
    from components.registry.git_sources import LockedResolver
    pulumi.runtime.register_stack_transformation(_skip_await)
    run(pins=LockedResolver())


def _corpus_program() -> None:
    from tools.e2e.corpus import program
    program()


PROGRAMS = {"stack": _program, "corpus": _corpus_program}


def _run_operation(ns: argparse.Namespace) -> int:
    from pulumi import automation as auto

    os.chdir(PROJECT_ROOT)  # the program reads servers/, registry/ relative to the project root
    events: list[dict] = []
    opts = auto.LocalWorkspaceOptions(work_dir=ns.workdir,
                                      pulumi_command=auto.PulumiCommand(root=None, skip_version_check=True))
    stack = auto.select_stack(stack_name=ns.stack, project_name=PROJECT, program=PROGRAMS[ns.program], opts=opts)
    kwargs: dict = {"on_output": lambda line: print(line, flush=True),
                    "on_event": lambda event: events.append(_event_summary(event))}
    if ns.policy_pack:
        kwargs.update(policy_packs=[ns.policy_pack], policy_pack_configs=[ns.policy_config])
    if ns.expect_no_changes:
        kwargs["expect_no_changes"] = True
    if ns.continue_on_error:
        kwargs["continue_on_error"] = True
    result: dict = {"op": ns.op}
    try:
        if ns.op == "preview":
            out = stack.preview(diff=True, **kwargs)
            result["changes"] = dict(out.change_summary)
        elif ns.op == "up":
            out = stack.up(**kwargs)
            result["changes"] = dict(out.summary.resource_changes or {})
            result["outputs"] = sorted(out.outputs)
        elif ns.op == "destroy":
            kwargs.pop("expect_no_changes", None)
            out = stack.destroy(on_output=kwargs["on_output"], on_event=kwargs["on_event"])
            result["changes"] = dict(out.summary.resource_changes or {})
        result["ok"] = True
    except auto.errors.CommandError as exc:
        result.update(ok=False, error=str(exc)[-6000:])
    result["policy_violations"] = [e for e in events if e and e.get("type") == "policy"]
    result["diagnostics"] = [e for e in events if e and e.get("type") == "diag"]
    result["steps"] = [e for e in events if e and e.get("type") == "step"]
    Path(ns.result).write_text(json.dumps(result, indent=2, default=str))
    return 0 if result["ok"] else 1


def _event_summary(event) -> dict | None:
    if event.policy_event:
        pe = event.policy_event
        return {"type": "policy", "policy": pe.policy_name, "pack": pe.policy_pack_name,
                "enforcement": pe.enforcement_level, "urn": pe.resource_urn or "", "message": pe.message}
    if event.diagnostic_event and event.diagnostic_event.severity in ("warning", "error"):
        de = event.diagnostic_event
        return {"type": "diag", "severity": de.severity, "urn": de.urn or "", "message": de.message}
    if event.res_pre_event:
        md = event.res_pre_event.metadata
        return {"type": "step", "op": str(md.op.value if hasattr(md.op, "value") else md.op), "urn": md.urn,
                "diffs": list(md.diffs or []), "replace_keys": list(md.keys or [])}
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.e2e.engine")
    parser.add_argument("op", choices=["preview", "up", "destroy"])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--result", required=True)
    parser.add_argument("--policy-pack")
    parser.add_argument("--policy-config")
    parser.add_argument("--expect-no-changes", action="store_true")
    parser.add_argument("--continue-on-error", action="store_true")
    parser.add_argument("--program", choices=sorted(PROGRAMS), default="stack")
    return _run_operation(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
