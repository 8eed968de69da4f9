"""`python -m tools.e2e STACK [--out DIR] [--keep]`: one shipped stack, run for real on this machine.

The real Pulumi CLI and engine, the real kubernetes provider, a real etcd + kube-apiserver +
kube-controller-manager on loopback, and the real ToolHive operator (v0.44.0). The steps, each a check in
`DIR/report.json`:

1. the offline render of the same stack (`DIR/render/`), for comparison;
2. `pulumi preview` with the policy pack started by the CLI: its findings equal the offline report;
3. `pulumi up --yes`; 4. `pulumi preview --expect-no-changes`; 5. `pulumi stack export` (`DIR/state.json`): its
   URNs equal the offline `resources.json` URNs;
6. the operator reconciles every MCP resource; the live objects (`DIR/live.yaml`) are checked: operator-created
   Deployments/Services as predicted, NetworkPolicies and reachability, PDB/HPA targets, Redis passwords, Pod
   Security admission of the pods the ReplicaSets create (no kubelet: pods stay Pending); the proxy runner, out of
   cluster, makes the backend StatefulSet of one MCPServer per transport, whose pods meet admission too;
7. `pulumi destroy --yes` (`DIR/after-destroy.yaml`): only what is retained on delete remains.

Staging and prod read AWS (ECR digests, `aws-sm://` secrets) from moto_server on loopback (tools/e2e/aws.py).
Binaries come from PATH, else from the cache, else are built (tools/e2e/toolchain.py, pins.toml).
Exit 0 when every check passes, 1 when a check fails, 2 when the run could not be set up.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from tools.e2e import adoption, aws, checks, corpus, proxyrunner
from tools.e2e.controlplane import ControlPlane, ControlPlaneError, wait_until
from tools.e2e.engine import PROJECT_ROOT, Engine, EngineError, pack_copy, plugin_bin
from tools.e2e.operator import OperatorProcess, reconciled, stack_namespaces
from tools.e2e.readback import read_live
from tools.e2e.toolchain import Toolchain, ToolchainError, log

BINARIES = ["pulumi", "pulumi-resource-kubernetes", "etcd", "kube-apiserver", "kube-controller-manager",
            "thv-operator", "thv-proxyrunner"]
STACKS = ("dev", "staging", "prod")


class Report:
    def __init__(self, out: Path):
        self.out = out
        self.checks: list[checks.Check] = []
        self.timings: dict[str, float] = {}
        self.notes: list = []

    def add(self, section: str, check: checks.Check) -> checks.Check:
        check.section = section
        self.checks.append(check)
        log(f"{'ok  ' if check.ok else 'FAIL'} [{section}] {check.name}")
        if not check.ok:
            log(f"     {json.dumps(check.detail, default=str)[:1500]}")
        return check

    def write(self) -> None:
        data = {"ok": all(c.ok for c in self.checks) and bool(self.checks),
                "checks": [c.as_dict() for c in self.checks], "timings": self.timings, "notes": self.notes}
        (self.out / "report.json").write_text(json.dumps(data, indent=2, default=str))


def stack_config(stack: str, kubeconfig: Path) -> tuple[dict, list[str]]:
    """The shipped `Pulumi.<stack>.yaml` configuration, with `toolhive:cluster` pointed at the local API server;
    and the keys of its `secure:` values. Those are placeholders no passphrase decrypts: the run sets each
    with `pulumi config set --secret` to a generated value instead (`secure_keys`)."""
    settings = yaml.safe_load((PROJECT_ROOT / f"Pulumi.{stack}.yaml").read_text()) or {}
    config = dict(settings.get("config") or {})
    secure = secure_keys(config)
    for key in secure:
        del config[key]
    cluster = dict(config.get("toolhive:cluster") or {})
    cluster.update({"kubeconfig": str(kubeconfig), "context": "e2e"})
    config["toolhive:cluster"] = cluster
    return config, secure


def secure_keys(config: dict) -> list[str]:
    """The top-level keys whose value is `{secure: ...}`; a secure value nested deeper is refused (the run
    could not replace it)."""
    keys = []
    for key, value in config.items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            keys.append(key)
        elif "secure:" in json.dumps(value) and '"secure"' in json.dumps(value):
            raise EngineError(f"{key}: a secure value inside an object; the real run sets only top-level secrets")
    return keys


def start_aws(stack: str, rundir: Path, report: Report) -> tuple["aws.MotoServer | None", dict[str, str], dict]:
    """moto's standalone server on loopback, seeded with what the stack reads from AWS (staging, prod): the
    server (None when the stack reads nothing from AWS, like dev), the environment that points boto3 at it,
    and {image reference: the digest ECR gives}."""
    needs = aws.stack_needs(stack, PROJECT_ROOT)
    if not needs.images and not needs.secrets:
        return None, {}, {}
    log(f"starting moto_server for {len(needs.images)} ECR image tags and {len(needs.secrets)} secrets")
    server = aws.MotoServer(rundir / "aws")
    server.start()
    digests = server.seed(needs)
    report.notes.append({"aws": {"endpoint": server.endpoint, "images": digests,
                                 "secrets": [ref.text for ref in needs.secrets]}})
    return server, server.env(needs.region), digests


def render_offline(stack: str, out: Path, report: Report) -> list[dict]:
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "tools.render", stack, "--out", str(out)], cwd=PROJECT_ROOT,
                          capture_output=True, text=True)
    report.timings["offline_render"] = round(time.monotonic() - started, 1)
    report.add("render", checks.Check("the offline render of the stack succeeds", proc.returncode == 0,
                                      proc.stderr.strip().splitlines()[-3:]))
    return json.loads((out / "resources.json").read_text()) if proc.returncode == 0 else []


def run_corpus(rundir: Path, bindir: Path, kubeconfig: Path, out: Path, report: Report) -> None:
    """The offline dry run and the real API server judge the same objects (tools/e2e/corpus.py)."""
    log(f"corpus: {len(corpus.CASES)} objects through the offline dry run and a real `pulumi up`")
    engine = Engine("corpus", rundir / "corpus", bindir, kubeconfig)
    engine.init({})
    result = engine.operation("up", program="corpus", continue_on_error=True, label="corpus-up")
    failed = {d["urn"]: d["message"] for d in result.get("diagnostics", []) if d.get("severity") == "error"
              and d.get("urn")}
    table = corpus.agreement(corpus.offline_verdicts(), corpus.real_verdicts(failed))
    (out / "corpus.json").write_text(json.dumps(table, indent=2))
    log(f"corpus: offline and real verdicts agree on {table['agree']} of {table['cases']} cases "
        f"({table['refused_offline']} refused offline)")
    report.add("corpus", checks.Check(f"the offline dry run and the API server agree on every corpus case "
                                      f"({table['agree']}/{table['cases']})",
                                      table["agree"] == table["cases"], table["disagreements"]))
    report.timings["corpus_up"] = engine.timings.get("corpus-up")
    engine.operation("destroy", program="corpus", label="corpus-destroy")


def run_proxy_runners(binary: Path, kube, kubeconfig: Path, servers: list[dict], rundir: Path
                      ) -> tuple[list, dict[tuple[str, str], list[str]]]:
    """The proxy runner out of cluster for one MCPServer per transport (tools/e2e/proxyrunner.py); then wait until
    the StatefulSet controller has made each backend's pod or been refused (FailedCreate events, returned)."""
    started = [proxyrunner.run_backend(binary, kube, kubeconfig, server,
                                       rundir / "proxyrunner" / server["metadata"]["name"])
               for server in proxyrunner.one_per_transport(servers)]
    refusals: dict[tuple[str, str], list[str]] = {}

    def settled() -> bool:
        for run in (r for r in started if r.statefulset is not None):
            ns, name = run.namespace, run.name
            _, events = kube.request("GET", f"/api/v1/namespaces/{ns}/events", query={
                "fieldSelector": f"involvedObject.kind=StatefulSet,involvedObject.name={name},reason=FailedCreate"})
            refusals[(ns, name)] = [e.get("message", "") for e in (events or {}).get("items", [])]
            _, pods = kube.request("GET", f"/api/v1/namespaces/{ns}/pods")
            owned = [p for p in (pods or {}).get("items", []) if any(
                ref.get("name") == name and ref.get("kind") == "StatefulSet"
                for ref in p["metadata"].get("ownerReferences", []))]
            if not owned and not refusals[(ns, name)]:
                return False
        return True

    try:
        wait_until("the backend StatefulSets' pods created or refused", settled, 60, interval=1)
    except ControlPlaneError:
        pass  # the check reports which backend has neither
    return started, refusals


def run_adoption(stack: str, binaries: dict, bindir: Path, rundir: Path, out: Path, aws_env: dict,
                 report: Report) -> None:
    """The Helm migration path on a fresh control plane of its own (tools/e2e/adoption.py): the charts' objects
    created by the `helm` field manager, the chart's operator Deployment deleted (README step 4), then `pulumi up`
    with `toolhive:cluster.adoptExisting: true`."""
    from components.config.loader import parse_stack_config
    from components.platform.helm_adoption import adoptable_objects, not_adoptable
    from tools.render import read_stack_file

    raw, _ = read_stack_file(PROJECT_ROOT / f"Pulumi.{stack}.yaml")
    config = parse_stack_config({key.split(":", 1)[1]: value for key, value in raw.items() if key.startswith("toolhive:")})
    plane = ControlPlane({k: binaries[k] for k in ("etcd", "kube-apiserver", "kube-controller-manager")},
                         rundir / "adopt-cluster")
    log("adoption: a fresh cluster with the upstream charts' objects, made by the helm field manager")
    try:
        plane.start()
        kube = plane.client()
        objects = adoption.helm_objects(config, out / "render")
        order = {"CustomResourceDefinition": 0, "Namespace": 1}
        refused = []
        resources = kube.resources()
        for obj in adoption.namespaces_helm_needs(objects):
            status, body = adoption.create_as_kubectl(kube, obj, resources)
            if status >= 300:
                refused.append(f"Namespace/{obj['metadata']['name']} (before helm install): {status} {str(body)[:300]}")
        for obj in sorted(objects, key=lambda o: order.get(o["kind"], 2)):  # built-in kinds only: one discovery
            status, body = adoption.apply_as_helm(kube, obj, resources)
            if status >= 300:
                refused.append(f"{obj['kind']}/{obj['metadata']['name']}: {status} {str(body)[:300]}")
        report.add("adoption", checks.Check("the charts' objects exist, made by the helm field manager",
                                            not refused, {"objects": len(objects), "refused": refused}))
        for chart_object in not_adoptable(config):
            kube.request("DELETE", adoption.object_path({"apiVersion": chart_object.api_version, "kind": chart_object.kind,
                                                         "metadata": {"name": chart_object.name,
                                                                      "namespace": chart_object.namespace}}, resources))
        engine = Engine(stack, rundir / "adopt", bindir, plane.kubeconfig, extra_env=aws_env)  # dev-only rules read the name
        settings, secure = stack_config(stack, plane.kubeconfig)
        settings["toolhive:cluster"] = {**settings["toolhive:cluster"], "adoptExisting": True}
        engine.init(settings)
        for key in secure:
            engine.set_secret(key, secrets.token_urlsafe(24))
        log("adoption: pulumi up with toolhive:cluster.adoptExisting: true")
        up = engine.operation("up", label="adopt-up")
        replaced = {op: count for op, count in (up.get("changes") or {}).items() if "replace" in op}
        report.add("adoption", checks.Check("pulumi up adopts the charts' objects without a conflict or a replacement",
                                            up.get("ok", False) and not replaced,
                                            {"errors": [d["message"][:600] for d in up.get("diagnostics", [])
                                                        if d.get("severity") == "error"],
                                             "changes": up.get("changes")}))
        taken = []
        for chart_object in adoptable_objects(config):
            path = adoption.object_path({"apiVersion": chart_object.api_version, "kind": chart_object.kind,
                                         "metadata": {"name": chart_object.name, "namespace": chart_object.namespace}},
                                        resources)
            status, live = kube.request("GET", path)
            if status != 200 or not any(m.startswith("pulumi") for m in adoption.managers(live)):
                taken.append(f"{chart_object.kind}/{chart_object.name}: managers {sorted(adoption.managers(live or {}))}")
        report.add("adoption", checks.Check("pulumi's field manager owns every adopted object", not taken, taken))
        report.timings["adoption_up"] = engine.timings.get("adopt-up")
    except (ControlPlaneError, EngineError, KeyError) as exc:
        report.add("adoption", checks.Check("the adoption run completes", False, str(exc)[-1500:]))
    finally:
        plane.stop()


def run(stack: str, out: Path, keep: bool) -> int:
    out.mkdir(parents=True, exist_ok=True)
    report = Report(out)
    rundir = Path(tempfile.mkdtemp(prefix=f"toolhive-e2e-{stack}-"))
    chain = Toolchain()
    started = time.monotonic()
    try:
        binaries = chain.resolve_all(BINARIES)
    except ToolchainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report.timings["builds"] = chain.timings
    report.timings["toolchain"] = round(time.monotonic() - started, 1)
    report.notes.append({"binaries": {name: f"{chain.sources[name]}: {binaries[name]}" for name in BINARIES}})

    resources = render_offline(stack, out / "render", report)
    plane = ControlPlane({k: binaries[k] for k in ("etcd", "kube-apiserver", "kube-controller-manager")},
                         rundir / "cluster")
    operator = moto = None
    try:
        log("starting etcd, kube-apiserver and kube-controller-manager on loopback")
        plane.start()
        report.timings.update(plane.timings)
        report.add("control-plane", checks.Check("etcd, kube-apiserver and kube-controller-manager are ready", True,
                                                 plane.server))
        kube = plane.client()
        bindir = plugin_bin(rundir, {"pulumi": binaries["pulumi"],
                                     "pulumi-resource-kubernetes": binaries["pulumi-resource-kubernetes"]})
        moto, aws_env, digests = start_aws(stack, rundir, report)
        engine = Engine(stack, rundir, bindir, plane.kubeconfig, extra_env=aws_env)
        config, secure = stack_config(stack, plane.kubeconfig)
        engine.init(config)
        for key in secure:
            engine.set_secret(key, secrets.token_urlsafe(24))
        pack = pack_copy(rundir)

        log("pulumi preview --policy-pack (the pack started by the CLI)")
        preview = engine.operation("preview", policy_pack=pack, policy_config=PROJECT_ROOT / "policies" / "config"
                                   / f"{stack}.json")
        report.add("engine", checks.Check("pulumi preview with the policy pack succeeds", preview.get("ok", False),
                                          preview.get("error", preview.get("changes"))))
        offline_report = json.loads((out / "render" / "policy-report.json").read_text()) \
            if (out / "render" / "policy-report.json").exists() else []
        report.add("engine", checks.policy_findings_equal(preview.get("policy_violations", []), offline_report,
                                                            resources))

        log("pulumi up --yes")
        up = engine.operation("up")
        report.add("engine", checks.Check("pulumi up succeeds", up.get("ok", False),
                                          {"errors": [d["message"][:1000] for d in up.get("diagnostics", [])
                                                      if d.get("severity") == "error"],
                                           "changes": up.get("changes")}))
        log("pulumi preview --expect-no-changes")
        again = engine.operation("preview", expect_no_changes=True, label="preview-no-changes")
        changed = [s for s in again.get("steps", []) if s.get("op") not in ("same", "read")]
        report.add("engine", checks.Check("pulumi preview --expect-no-changes after up (no perpetual diff)",
                                          again.get("ok", False) and not changed,
                                          {"error": again.get("error", ""), "steps": changed}))
        state = engine.export()
        (out / "state.json").write_text(json.dumps(state, indent=2))
        report.add("engine", checks.urns_equal(state, resources))
        if digests:
            report.add("engine", checks.images_pinned(state, digests))

        if up.get("ok"):
            log("starting the ToolHive operator (v0.44.0) out of cluster")
            operator = OperatorProcess(binaries["thv-operator"], kube, plane.kubeconfig, rundir / "operator")
            env_source = operator.start_from_live_deployment()
            report.add("operator", checks.Check("the operator starts with the env contract of the stack's Deployment",
                                                True, env_source))
            namespaces = stack_namespaces(resources)
            started = time.monotonic()
            try:
                wait_until("every MCP resource reconciled", lambda: reconciled(kube, namespaces) == [], 180,
                           interval=1, proc=operator.proc, log=operator.log)
                report.add("operator", checks.Check("every MCPServer, MCPRemoteProxy, VirtualMCPServer and MCPGroup "
                                                    "is reconciled", True))
            except ControlPlaneError as exc:
                report.add("operator", checks.Check("every MCPServer, MCPRemoteProxy, VirtualMCPServer and MCPGroup "
                                                    "is reconciled", False,
                                                    {"waiting_for": reconciled(kube, namespaces), "error": str(exc)}))
            report.timings["operator_reconcile"] = round(time.monotonic() - started, 1)
            backends, refusals = run_proxy_runners(binaries["thv-proxyrunner"], kube, plane.kubeconfig,
                                                   read_live(kube, resources).of_kind("MCPServer"), rundir)
            live = read_live(kube, resources)
            (out / "live.yaml").write_text(yaml.safe_dump_all(live.objects, sort_keys=False))
            report.add("live", checks.operator_objects_predicted(live))
            report.add("live", checks.network_policies_select_proxies(live))
            report.add("live", checks.reachability_on_live(live))
            report.add("live", checks.scaling_targets_exist(live))
            report.add("live", checks.quotas_counted(live))
            default_redis = bool((yaml.safe_load((PROJECT_ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
                                  .get("toolhive:operator") or {}).get("defaultRedis"))
            report.add("live", checks.redis_password_reaches_proxies(live, default_redis))
            report.add("live", checks.pods_admitted(live, namespaces))
            for check in checks.backends_made(backends, live, refusals):
                report.add("proxy-runner", check)
            # The operator keeps running through destroy: it removes the finalizers it put on the MCP resources.

        if keep:
            report.notes.append("--keep: destroy skipped")
        else:
            protected = [r["urn"] for r in state.get("deployment", {}).get("resources", []) if r.get("protect")]
            if protected:
                # Staging and prod protect their CRDs and namespaces: destroy refuses them until unprotected. What
                # is also retained on delete stays live (the destroy check below).
                log(f"pulumi state unprotect --all ({len(protected)} protected resources)")
                engine.unprotect_all()
                report.notes.append({"unprotected_before_destroy": len(protected)})
            log("pulumi destroy --yes")
            destroyed = engine.operation("destroy")
            report.add("destroy", checks.Check("pulumi destroy succeeds", destroyed.get("ok", False),
                                               destroyed.get("error", destroyed.get("changes"))))
            # The namespace and garbage collectors finish asynchronously: wait for what must go, then read.
            if destroyed.get("ok"):
                try:
                    wait_until("garbage collection after destroy",
                               lambda: checks.destroy_leaves_only_retained(state, read_live(kube, resources)).ok,
                               90, interval=1)
                except ControlPlaneError:
                    pass  # the check below reports what is left
            after = read_live(kube, resources)
            (out / "after-destroy.yaml").write_text(yaml.safe_dump_all(after.objects, sort_keys=False))
            report.add("destroy", checks.destroy_leaves_only_retained(state, after))
            if operator is not None:
                operator.stop()
            run_corpus(rundir, bindir, plane.kubeconfig, out, report)
            run_adoption(stack, binaries, bindir, rundir, out, aws_env, report)
        report.timings["engine"] = engine.timings
    except (ControlPlaneError, EngineError) as exc:
        report.add("setup", checks.Check("the run completes", False, str(exc)))
    finally:
        if operator is not None:
            operator.stop()
        if moto is not None:
            moto.stop()
        report.write()
        if keep:
            print(f"the cluster is still running: export KUBECONFIG={plane.kubeconfig}\n"
                  f"pulumi: PATH={rundir / 'bin'}:$PATH PULUMI_HOME={rundir / 'pulumi-home'} "
                  f"PULUMI_BACKEND_URL=file://{rundir / 'state'} PULUMI_CONFIG_PASSPHRASE=toolhive-e2e "
                  f"pulumi -C {rundir / 'project'} stack -s {stack}\n"
                  f"stop it with: kill {' '.join(str(p.pid) for p in plane.processes.values())}")
        else:
            plane.stop()
            # The engine's and the control plane's logs stay with the artifacts; the run directory goes.
            logs = out / "logs"
            logs.mkdir(exist_ok=True)
            for found in [*rundir.glob("*.log"), *rundir.glob("*.result.json"), *(rundir / "cluster").glob("*.log"),
                          *(rundir / "operator").glob("*.log")]:
                shutil.copy2(found, logs / found.name)
            shutil.rmtree(rundir, ignore_errors=True)
    ok = all(c.ok for c in report.checks)
    failed = [c for c in report.checks if not c.ok]
    print(f"e2e {stack}: {len(report.checks) - len(failed)} of {len(report.checks)} checks passed -> "
          f"{out / 'report.json'}")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.e2e", description=__doc__.split("\n")[0])
    parser.add_argument("stack", choices=STACKS)
    parser.add_argument("--out", type=Path, help="artifacts directory (default e2e-out/STACK)")
    parser.add_argument("--keep", action="store_true", help="leave the cluster running and print how to reach it")
    args = parser.parse_args(argv)
    os.chdir(PROJECT_ROOT)
    return run(args.stack, args.out or PROJECT_ROOT / "e2e-out" / args.stack, args.keep)


if __name__ == "__main__":
    raise SystemExit(main())
