"""A real Kubernetes control plane on loopback: etcd, kube-apiserver and kube-controller-manager.

As controller-runtime's envtest runs it, plus the controller manager: Deployments get ReplicaSets, the
ReplicaSets' pod creations go through admission (Pod Security included), namespaces are finalized and owner
references are garbage-collected. There is no kubelet and no scheduler: pods stay Pending.

The admin is a static token in group `system:masters`; the API server makes its own self-signed serving
certificate. Readiness is polled (`/health` of etcd, `/readyz` of the API server), never slept for.
"""
from __future__ import annotations

import json
import secrets
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

SERVICE_CIDR = "10.0.0.0/24"


class ControlPlaneError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(what: str, check, timeout: float, interval: float = 0.25, proc: subprocess.Popen | None = None,
               log: Path | None = None) -> Any:
    """Poll `check()` until it returns a truthy value; fail naming `what` (and the log's tail) on timeout."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise ControlPlaneError(f"{what}: the process exited with {proc.returncode}{tail(log)}")
        try:
            result = check()
            if result:
                return result
        except Exception as exc:  # noqa: BLE001 - any failure means "not yet"
            last = exc
        time.sleep(interval)
    raise ControlPlaneError(f"{what}: not ready after {timeout:.0f} s ({last}){tail(log)}")


def stop_process(proc: subprocess.Popen | None, grace: float = 20) -> None:
    """SIGTERM, then SIGKILL after `grace` seconds; nothing if it already exited."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def tail(log: Path | None, lines: int = 15) -> str:
    if log is None or not log.exists():
        return ""
    text = log.read_text(errors="replace").strip().splitlines()[-lines:]
    return "\n  " + "\n  ".join(text)


@dataclass
class Kube:
    """A minimal client of the API server: JSON over HTTPS with the admin token."""

    server: str
    token: str
    ca_file: Path

    def _context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.ca_file))
        ctx.check_hostname = False  # the serving cert names 127.0.0.1 and localhost; the CA is the server's own
        return ctx

    def request(self, method: str, path: str, body: Any = None, content_type: str = "application/json",
                query: dict | None = None) -> tuple[int, Any]:
        url = self.server + path + ("?" + urllib.parse.urlencode(query) if query else "")
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        req = urllib.request.Request(url, data=data, method=method,
                                     headers={"Authorization": f"Bearer {self.token}", "Content-Type": content_type,
                                              "Accept": "application/json"})
        try:
            with urllib.request.urlopen(req, context=self._context(), timeout=30) as resp:
                raw = resp.read()
                return resp.status, json.loads(raw) if raw[:1] in (b"{", b"[") else raw.decode()
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                return exc.code, json.loads(raw)
            except ValueError:
                return exc.code, raw.decode(errors="replace")

    def get(self, path: str, **query) -> Any:
        status, body = self.request("GET", path, query=query or None)
        if status != 200:
            raise ControlPlaneError(f"GET {path}: {status} {body}")
        return body

    def exists(self, path: str) -> bool:
        return self.request("GET", path)[0] == 200

    # Discovery: every listable resource, with its group/version path and whether it is namespaced.
    def resources(self) -> list[dict]:
        found: list[dict] = []
        groups = [("/api/v1", "v1")]
        for group in self.get("/apis")["groups"]:
            version = group["preferredVersion"]["groupVersion"]
            groups.append((f"/apis/{version}", version))
        for base, api_version in groups:
            status, body = self.request("GET", base)
            if status != 200:
                continue
            for res in body.get("resources", []):
                if "/" in res["name"] or "list" not in res.get("verbs", []):
                    continue
                found.append({"base": base, "apiVersion": api_version, "kind": res["kind"], "name": res["name"],
                              "namespaced": res["namespaced"]})
        return found


@dataclass
class ControlPlane:
    """Started with `start()`, stopped with `stop()`; `kubeconfig` is the admin's."""

    binaries: dict[str, Path]
    workdir: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.token = secrets.token_hex(16)
        self.etcd_port, self.peer_port = free_port(), free_port()
        self.api_port = free_port()
        self.kcm_port = free_port()
        self.server = f"https://127.0.0.1:{self.api_port}"
        self.cert_dir = self.workdir / "pki"
        self.kubeconfig = self.workdir / "kubeconfig"

    @property
    def ca_file(self) -> Path:
        return self.cert_dir / "apiserver.crt"

    def client(self) -> Kube:
        return Kube(self.server, self.token, self.ca_file)

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "wb")  # noqa: SIM115 - kept open for the process's life
        proc = subprocess.Popen([str(self.binaries[name]), *args], stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        self.processes[name] = proc
        return proc

    def start(self) -> None:
        started = time.monotonic()
        self._start_etcd()
        self._write_keys()
        self._start_apiserver()
        self._write_kubeconfig()
        self._start_controller_manager()
        self.timings["control_plane_start"] = round(time.monotonic() - started, 1)

    def _start_etcd(self) -> None:
        data = self.workdir / "etcd"
        client_url, peer_url = f"http://127.0.0.1:{self.etcd_port}", f"http://127.0.0.1:{self.peer_port}"
        proc = self._spawn("etcd", [
            "--data-dir", str(data), "--listen-client-urls", client_url, "--advertise-client-urls", client_url,
            "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
            "--initial-cluster", f"default={peer_url}", "--unsafe-no-fsync", "--log-level", "warn",
        ])
        wait_until("etcd", lambda: json.loads(urllib.request.urlopen(client_url + "/health", timeout=2).read())
                   .get("health") == "true", 60, proc=proc, log=self.workdir / "etcd.log")

    def _write_keys(self) -> None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        (self.workdir / "sa.key").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))
        (self.workdir / "sa.pub").write_bytes(key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        tokens = self.workdir / "tokens.csv"
        tokens.write_text(f'{self.token},admin,admin,"system:masters"\n')
        tokens.chmod(0o600)

    def _start_apiserver(self) -> None:
        proc = self._spawn("kube-apiserver", [
            f"--etcd-servers=http://127.0.0.1:{self.etcd_port}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={self.api_port}",
            f"--cert-dir={self.cert_dir}", f"--service-cluster-ip-range={SERVICE_CIDR}",
            f"--service-account-issuer=https://127.0.0.1:{self.api_port}/",
            f"--service-account-key-file={self.workdir / 'sa.pub'}",
            f"--service-account-signing-key-file={self.workdir / 'sa.key'}",
            "--authorization-mode=RBAC", f"--token-auth-file={self.workdir / 'tokens.csv'}",
            "--allow-privileged=true", "--v=1",
        ])
        log = self.workdir / "kube-apiserver.log"
        wait_until("kube-apiserver serving certificate", self.ca_file.exists, 120, proc=proc, log=log)
        client = self.client()
        wait_until("kube-apiserver /readyz", lambda: client.request("GET", "/readyz")[0] == 200, 180,
                   interval=0.5, proc=proc, log=log)
        # The default namespaces and the bootstrap RBAC exist once /readyz passes (poststarthooks are part of it).
        wait_until("namespace default", lambda: client.exists("/api/v1/namespaces/default"), 60, proc=proc, log=log)

    def _write_kubeconfig(self) -> None:
        config = {
            "apiVersion": "v1", "kind": "Config", "current-context": "e2e",
            "clusters": [{"name": "e2e", "cluster": {"server": self.server,
                                                     "certificate-authority": str(self.ca_file)}}],
            "users": [{"name": "admin", "user": {"token": self.token}}],
            "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": "admin"}}],
        }
        self.kubeconfig.write_text(json.dumps(config, indent=2))
        self.kubeconfig.chmod(0o600)

    def _start_controller_manager(self) -> None:
        proc = self._spawn("kube-controller-manager", [
            f"--kubeconfig={self.kubeconfig}", "--leader-elect=false",
            "--bind-address=127.0.0.1", f"--secure-port={self.kcm_port}",
            f"--service-account-private-key-file={self.workdir / 'sa.key'}",
            f"--root-ca-file={self.ca_file}", f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--use-service-account-credentials=false", "--v=1",
        ])
        log = self.workdir / "kube-controller-manager.log"
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        wait_until("kube-controller-manager /healthz",
                   lambda: urllib.request.urlopen(f"https://127.0.0.1:{self.kcm_port}/healthz", context=ctx,
                                                  timeout=2).status == 200, 120, proc=proc, log=log)

    def stop(self) -> None:
        for name in reversed(list(self.processes)):
            stop_process(self.processes[name])
