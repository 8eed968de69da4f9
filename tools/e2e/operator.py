"""The real ToolHive operator (v0.44.0), run out of cluster against the local API server.

It gets the environment the stack gives its Deployment (read back from the live Deployment, so what is tested is
what `pulumi up` applied), with `fieldRef` values resolved as the kubelet would, plus what running outside a pod
needs: KUBECONFIG, `--leader-elect=false`, no metrics listener, the health probe on a loopback port, and
`TOOLHIVE_SKIP_UPDATE_CHECK=true` (else it calls an update server).
"""
from __future__ import annotations

import base64
import os
import subprocess
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tools.e2e.controlplane import ControlPlaneError, Kube, free_port, stop_process, wait_until

OPERATOR_CONTAINER = "manager"
MCP_RESOURCES = {"MCPServer": "mcpservers", "MCPRemoteProxy": "mcpremoteproxies",
                 "VirtualMCPServer": "virtualmcpservers", "MCPGroup": "mcpgroups"}
GROUP = "/apis/toolhive.stacklok.dev/v1beta1"


def stack_namespaces(resources: list[dict]) -> list[str]:
    """Every namespace the stack creates or puts objects in."""
    found = set()
    for res in resources:
        inputs = res.get("inputs") or {}
        if inputs.get("kind") == "Namespace":
            found.add(inputs["metadata"]["name"])
        elif (inputs.get("metadata") or {}).get("namespace"):
            found.add(inputs["metadata"]["namespace"])
    return sorted(found)


def operator_deployment(kube: Kube) -> dict:
    for dep in kube.get("/apis/apps/v1/deployments").get("items", []):
        containers = dep["spec"]["template"]["spec"]["containers"]
        if any(c["name"] == OPERATOR_CONTAINER and "toolhive/operator" in c.get("image", "") for c in containers):
            return dep
    raise ControlPlaneError("no operator Deployment (container `manager`, image .../toolhive/operator) is live")


def resolve_env(deployment: dict, kube: Kube) -> dict[str, str]:
    """The container's env as the kubelet would resolve it: literals, fieldRefs, Secret and ConfigMap keys."""
    meta = deployment["metadata"]
    container = next(c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == OPERATOR_CONTAINER)
    env: dict[str, str] = {}
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
            continue
        source = item.get("valueFrom") or {}
        if "fieldRef" in source:
            path = source["fieldRef"]["fieldPath"]
            env[item["name"]] = {"metadata.namespace": meta["namespace"],
                                 "metadata.name": meta["name"] + "-e2e",
                                 "spec.serviceAccountName": deployment["spec"]["template"]["spec"].get(
                                     "serviceAccountName", "default")}.get(path, "")
        elif "secretKeyRef" in source or "configMapKeyRef" in source:
            ref = source.get("secretKeyRef") or source.get("configMapKeyRef")
            kind = "secrets" if "secretKeyRef" in source else "configmaps"
            status, obj = kube.request("GET", f"/api/v1/namespaces/{meta['namespace']}/{kind}/{ref['name']}")
            if status == 200:
                raw = (obj.get("data") or {}).get(ref["key"], "")
                env[item["name"]] = base64.b64decode(raw).decode() if kind == "secrets" else raw
    return env


def reconciled(kube: Kube, namespaces: list[str]) -> list[str]:
    """The MCP resources the operator has not reconciled yet: no status, or (servers) no proxy Deployment."""
    waiting = []
    for kind, plural in MCP_RESOURCES.items():
        for ns in namespaces:
            status, body = kube.request("GET", f"{GROUP}/namespaces/{ns}/{plural}")
            if status != 200:
                continue
            for obj in body.get("items", []):
                name = obj["metadata"]["name"]
                if not obj.get("status"):
                    waiting.append(f"{kind}/{ns}/{name}: no status")
                elif kind != "MCPGroup" and not kube.exists(f"/apis/apps/v1/namespaces/{ns}/deployments/{name}"):
                    conditions = [f"{c.get('type')}={c.get('status')}: {c.get('message', '')}"
                                  for c in obj["status"].get("conditions", [])]
                    waiting.append(f"{kind}/{ns}/{name}: no Deployment yet; phase={obj['status'].get('phase')} "
                                   f"{conditions}")
    return waiting


@dataclass
class OperatorProcess:
    binary: Path
    kube: Kube
    kubeconfig: Path
    workdir: Path
    proc: subprocess.Popen | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def log(self) -> Path:
        return self.workdir / "thv-operator.log"

    def start_from_live_deployment(self) -> dict:
        deployment = operator_deployment(self.kube)
        contract = resolve_env(deployment, self.kube)
        self.workdir.mkdir(parents=True, exist_ok=True)
        probe = free_port()
        self.env = {"PATH": os.environ.get("PATH", ""), "HOME": str(self.workdir), **contract,
                    "KUBECONFIG": str(self.kubeconfig), "TOOLHIVE_SKIP_UPDATE_CHECK": "true"}
        out = open(self.log, "wb")  # noqa: SIM115 - kept open for the process's life
        self.proc = subprocess.Popen(
            [str(self.binary), "--leader-elect=false", "--metrics-bind-address=0",
             f"--health-probe-bind-address=127.0.0.1:{probe}"],
            env=self.env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        wait_until("thv-operator /readyz", lambda: urllib.request.urlopen(f"http://127.0.0.1:{probe}/readyz",
                                                                           timeout=2).status == 200,
                   120, proc=self.proc, log=self.log)
        shown = {k: ("[secret]" if "PASSWORD" in k or "TOKEN" in k else v) for k, v in contract.items()}
        return {"deployment": f"{deployment['metadata']['namespace']}/{deployment['metadata']['name']}", "env": shown}

    def stop(self) -> None:
        stop_process(self.proc)
