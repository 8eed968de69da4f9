"""The ToolHive proxy runner (v0.44.0) out of cluster: it makes an MCPServer's backend StatefulSet.

In a cluster the operator's proxy Deployment runs `thv-proxyrunner run [--k8s-pod-patch=...] IMAGE` with the
run configuration mounted from ConfigMap `<name>-runconfig`; the runner then creates the backend StatefulSet
`<name>` (container `mcp`, the pod template this program merges in) and attaches to its pod. Without a kubelet the
Deployment's pod never runs, so the run starts the same binary here, for one MCPServer per transport: the
container's args and env read back from the live Deployment (`secretKeyRef` values from the live Secrets), the
ConfigMap's `runconfig.json` in its working directory (the runner's `./runconfig.json` fallback), and the
Kubernetes runtime pointed at the local API server (`TOOLHIVE_RUNTIME=kubernetes`, `POD_NAMESPACE`,
`KUBECONFIG`). Once the StatefulSet exists the runner is stopped: it would wait for a pod that never runs.
"""
from __future__ import annotations

import base64
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tools.e2e.controlplane import ControlPlaneError, Kube, stop_process, wait_until
from tools.e2e.toolchain import log

RUNNER_CONTAINER = "toolhive"


@dataclass
class Started:
    namespace: str
    name: str
    transport: str
    statefulset: dict | None
    error: str = ""


def one_per_transport(servers: list[dict]) -> list[dict]:
    """The first MCPServer (by namespace, name) of each transport."""
    chosen: dict[str, dict] = {}
    for server in sorted(servers, key=lambda s: (s["metadata"]["namespace"], s["metadata"]["name"])):
        chosen.setdefault(server["spec"].get("transport", "stdio"), server)
    return list(chosen.values())


def runner_env(container: dict, secrets: dict[tuple[str, str], dict], namespace: str) -> dict[str, str]:
    """The runner container's env as the kubelet would give it: values, and `secretKeyRef`s from live Secrets."""
    env = {}
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
            continue
        ref = (var.get("valueFrom") or {}).get("secretKeyRef")
        if ref:
            data = (secrets.get((namespace, ref["name"])) or {}).get("data") or {}
            if ref["key"] in data:
                env[var["name"]] = base64.b64decode(data[ref["key"]]).decode()
    return env


def run_backend(binary: Path, kube: Kube, kubeconfig: Path, server: dict, workdir: Path,
                timeout: float = 60) -> Started:
    """Start the runner for one MCPServer until its backend StatefulSet exists; return what it made."""
    ns, name = server["metadata"]["namespace"], server["metadata"]["name"]
    transport = server["spec"].get("transport", "stdio")
    workdir.mkdir(parents=True, exist_ok=True)
    _, deployment = kube.request("GET", f"/apis/apps/v1/namespaces/{ns}/deployments/{name}")
    _, configmap = kube.request("GET", f"/api/v1/namespaces/{ns}/configmaps/{name}-runconfig")
    containers = (((deployment or {}).get("spec") or {}).get("template") or {}).get("spec", {}).get("containers", [])
    container = next((c for c in containers if c.get("name") == RUNNER_CONTAINER), None)
    if container is None or "runconfig.json" not in ((configmap or {}).get("data") or {}):
        return Started(ns, name, transport, None, "no proxy Deployment or runconfig ConfigMap to start from")
    (workdir / "runconfig.json").write_text(configmap["data"]["runconfig.json"])
    _, secret_list = kube.request("GET", f"/api/v1/namespaces/{ns}/secrets")
    secrets = {(ns, s["metadata"]["name"]): s for s in (secret_list or {}).get("items", [])}
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(workdir), **runner_env(container, secrets, ns),
           "TOOLHIVE_RUNTIME": "kubernetes", "POD_NAMESPACE": ns, "KUBECONFIG": str(kubeconfig),
           "TOOLHIVE_SKIP_UPDATE_CHECK": "true", "XDG_CONFIG_HOME": str(workdir / "config"),
           "XDG_STATE_HOME": str(workdir / "state"), "XDG_DATA_HOME": str(workdir / "data")}
    log_path = workdir / "thv-proxyrunner.log"
    log(f"proxy runner: {ns}/{name} ({transport}) makes its backend StatefulSet")
    with open(log_path, "wb") as out:
        proc = subprocess.Popen([str(binary), *container.get("args", [])], cwd=workdir, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        statefulset = wait_until(f"StatefulSet {ns}/{name} from the proxy runner",
                                 lambda: _get(kube, f"/apis/apps/v1/namespaces/{ns}/statefulsets/{name}"),
                                 timeout, interval=0.5, proc=proc, log=log_path)
        return Started(ns, name, transport, statefulset)
    except ControlPlaneError as exc:
        return Started(ns, name, transport, None, str(exc)[-1500:])
    finally:
        stop_process(proc, grace=5)


def _get(kube: Kube, path: str) -> dict | None:
    status, body = kube.request("GET", path)
    return body if status == 200 else None
