"""Helpers for the policy tests: manifest builders, running one policy, running the offline checker."""
from __future__ import annotations

import contextlib
import copy
import fcntl
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional

import pytest
import yaml

from policies import check
from policies.core import ResourceOptions, ResourcePolicy, ResourceView, StackPolicy
from tests.conftest import load_yaml_all

PROJECT_ROOT = Path(__file__).resolve().parents[2]
POLICIES_DIR = PROJECT_ROOT / "policies"
CRD_DIR = PROJECT_ROOT / "components" / "bundle" / "crds"

PINNED_IMAGE = "ghcr.io/stacklok/toolhive/proxyrunner:v0.44.0"
OPERATOR_IMAGE = "ghcr.io/stacklok/toolhive/operator:v0.44.0"
DIGEST = "sha256:" + "a" * 64


# ---------------------------------------------------------------------------------------------
# Manifest builders
# ---------------------------------------------------------------------------------------------

def container(name: str = "app", image: str = PINNED_IMAGE, **extra: Any) -> dict:
    """A container that passes PSS restricted and the resource/image guardrails."""
    body = {
        "name": name,
        "image": image,
        "resources": {"requests": {"cpu": "10m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }
    body.update(extra)
    return body


def pod_spec(*containers: dict) -> dict:
    return {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": list(containers) or [container()],
    }


def deployment(name: str = "web", namespace: str = "apps", replicas: Optional[int] = 1,
               containers: Optional[list] = None, labels: Optional[dict] = None) -> dict:
    spec: dict = {
        "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec(*(containers or [container()]))},
    }
    if replicas is not None:
        spec["replicas"] = replicas
    metadata: dict = {"name": name, "namespace": namespace}
    if labels:
        metadata["labels"] = labels
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata, "spec": spec}


def pod(name: str = "p", namespace: str = "apps", *containers: dict) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace},
            "spec": pod_spec(*containers)}


def operator_deployment(replicas: int = 1, args: Optional[list] = None, image: str = OPERATOR_IMAGE,
                        labels: Optional[dict] = None, env: Optional[list] = None) -> dict:
    manager = container("manager", image)
    if args is not None:
        manager["args"] = args
    if env is not None:
        manager["env"] = env
    return deployment("toolhive-operator", "toolhive-system", replicas, [manager], labels)


REDIS = {"provider": "redis", "address": "redis.toolhive-system.svc:6379"}


def toolhive(kind: str, name: str = "fetch", namespace: str = "mcp", **spec: Any) -> dict:
    return {"apiVersion": "toolhive.stacklok.dev/v1beta1", "kind": kind,
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}


MCP_RESOURCES = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "200m", "memory": "256Mi"}}


def mcpserver(name: str = "fetch", namespace: str = "mcp", **spec: Any) -> dict:
    """An MCPServer that passes every resource-level guardrail unless overridden."""
    base = {"image": PINNED_IMAGE, "transport": "streamable-http", "proxyPort": 8080,
            "resources": copy.deepcopy(MCP_RESOURCES)}
    base.update(spec)
    return toolhive("MCPServer", name, namespace, **base)


def namespace(name: str, labels: Optional[dict] = None) -> dict:
    manifest: dict = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    if labels is not None:
        manifest["metadata"]["labels"] = labels
    return manifest


def default_deny(namespace_name: str, name: str = "default-deny", **spec_overrides: Any) -> dict:
    spec = {"podSelector": {}, "policyTypes": ["Ingress"]}
    spec.update(spec_overrides)
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace_name}, "spec": spec}


def hpa(target_kind: str, target_name: str, namespace_name: str = "mcp",
        api_version: str = "toolhive.stacklok.dev/v1beta1") -> dict:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": f"{target_name}-hpa", "namespace": namespace_name},
            "spec": {"scaleTargetRef": {"apiVersion": api_version, "kind": target_kind, "name": target_name},
                     "minReplicas": 1, "maxReplicas": 5}}


def role(kind: str = "ClusterRole", name: str = "reader", rules: Optional[list] = None,
         namespace_name: Optional[str] = None) -> dict:
    metadata: dict = {"name": name}
    if namespace_name:
        metadata["namespace"] = namespace_name
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": metadata,
            "rules": rules if rules is not None else [
                {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]}


def crd(name: str = "mcpservers.toolhive.stacklok.dev") -> dict:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": name},
            "spec": {"group": "toolhive.stacklok.dev", "names": {"kind": "MCPServer", "plural": "mcpservers"},
                     "scope": "Namespaced", "versions": []}}


def inline_credential_fields() -> dict[str, set[str]]:
    """{field: plurals} over the vendored ToolHive CRDs: string properties with an `<field>Env` sibling,
    the CRDs' own marker of a credential written inline ("use ClientSecretEnv for security")."""
    found: dict[str, set[str]] = {}

    def walk(schema: dict, plural: str) -> None:
        properties = schema.get("properties") or {}
        for key, sub in properties.items():
            if sub.get("type") == "string" and f"{key}Env" in properties:
                found.setdefault(key, set()).add(plural)
            walk(sub, plural)
        for nested in (schema.get("additionalProperties"), schema.get("items")):
            if isinstance(nested, dict):
                walk(nested, plural)

    for path in sorted(CRD_DIR.glob("*/*.yaml")):
        for document in load_yaml_all(path.read_text()):
            for version in document["spec"]["versions"]:
                walk(version["schema"]["openAPIV3Schema"], document["spec"]["names"]["plural"])
    return found


# ---------------------------------------------------------------------------------------------
# Running policies
# ---------------------------------------------------------------------------------------------

def view(manifest: dict, opts: Optional[ResourceOptions] = None, name: str = "", urn: str = "") -> ResourceView:
    return ResourceView.from_manifest(manifest, opts=opts, name=name, urn=urn, source="test.yaml")


def violations_of(policy: ResourcePolicy, manifest: dict, opts: Optional[ResourceOptions] = None,
                  **properties: Any) -> list[str]:
    """Messages of one resource policy for one manifest, with properties over the defaults."""
    return list(policy.check(view(manifest, opts), policy.properties(properties)))


def stack_violations_of(policy: StackPolicy, manifests: Iterable[dict], **properties: Any
                        ) -> list[tuple[Optional[ResourceView], str]]:
    """(view, message) pairs of one stack policy, handed only what it `reads`, as the engine and checker do."""
    return list(policy.evaluate([view(m) for m in manifests], policy.properties(properties)))


def write_yaml(directory: Path, filename: str, *documents: dict) -> Path:
    path = directory / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump_all(list(documents), sort_keys=False))
    return path


def write_json(directory: Path, filename: str, data: Any) -> Path:
    path = directory / filename
    path.write_text(json.dumps(data))
    return path


def run_checker(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, list[dict]]:
    """main(["--json", *argv]) in-process: (exit code, violations)."""
    code = check.main(["--json", *argv])
    out = capsys.readouterr().out
    return code, (json.loads(out) if out.strip() else [])


def check_manifests(tmp_path: Path, capsys: pytest.CaptureFixture, *documents: dict,
                    config: Optional[dict] = None) -> tuple[int, list[dict]]:
    """Write the documents to a YAML file and run the offline checker over it."""
    path = write_yaml(tmp_path, "input.yaml", *documents)
    argv = [str(path)]
    if config is not None:
        argv = ["--config", str(write_json(tmp_path, "config.json", config)), *argv]
    return run_checker(capsys, *argv)


def of_policy(results: list[dict], policy: str) -> list[dict]:
    return [r for r in results if r["policy"] == policy]


def run_cli(*args: str, cwd: Path = PROJECT_ROOT) -> subprocess.CompletedProcess:
    """`python -m policies.check ARGS` as a subprocess from the project root."""
    return subprocess.run([sys.executable, "-m", "policies.check", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


# ---------------------------------------------------------------------------------------------
# The pack as the Pulumi CLI starts it
# ---------------------------------------------------------------------------------------------

#: pulumi_policy only serves the analyzer; it never dials the engine while starting or answering, so
#: an address where nothing listens stands in for the engine's (a dial would fail the test loudly).
ENGINE_ADDRESS = "127.0.0.1:1"


def pack_manifest(pack_dir: Path = POLICIES_DIR) -> dict:
    return yaml.safe_load((pack_dir / "PulumiPolicy.yaml").read_text())


def pack_virtualenv(pack_dir: Path = POLICIES_DIR) -> Path:
    """The virtualenv the CLI's Python analyzer shim runs the pack in: PulumiPolicy.yaml
    runtime.options.virtualenv, relative to the pack directory (pulumi-analyzer-policy-python)."""
    runtime = pack_manifest(pack_dir)["runtime"]
    virtualenv = runtime["options"]["virtualenv"] if isinstance(runtime, dict) else None
    assert virtualenv, "PulumiPolicy.yaml names no runtime.options.virtualenv: the CLI would run bare python3"
    return pack_dir / virtualenv


def shim_environment(virtualenv: Path) -> dict:
    """The shim's environment: the virtualenv's bin first on PATH, no PYTHONHOME; nothing of this
    test process (PYTHONPATH, VIRTUAL_ENV, PULUMI_*) leaks in."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV") and not k.startswith("PULUMI_")}
    env["PATH"] = f"{virtualenv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


@contextlib.contextmanager
def running_pack(python: Path | str, pack_dir: Path, env: Optional[dict] = None) -> Iterator[Any]:
    """Start a pack like the CLI: `<python> -u -m pulumi.policy <engine> <pack dir>` with the pack
    directory as working directory; read the port it prints; yield an AnalyzerStub connected to it."""
    import grpc
    from pulumi.runtime.proto import analyzer_pb2_grpc

    if env is None:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.Popen([str(python), "-u", "-m", "pulumi.policy", ENGINE_ADDRESS, str(pack_dir)],
                            cwd=pack_dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: lines.put(proc.stdout.readline()), daemon=True).start()
    try:
        port = lines.get(timeout=60).strip()
    except queue.Empty:
        port = ""
    channel = None
    try:
        if not port.isdigit():
            proc.kill()
            pytest.fail(f"policy pack in {pack_dir} did not start: stdout={port!r} stderr={proc.stderr.read()}")
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        if channel is not None:
            channel.close()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def pack_ignore_patterns(pack_dir: Path = POLICIES_DIR) -> list[str]:
    """What `pulumi policy publish` leaves out of the pack archive: the pack's own .gitignore."""
    ignore = pack_dir / ".gitignore"
    lines = ignore.read_text().splitlines() if ignore.exists() else []
    return [line.strip().rstrip("/") for line in lines if line.strip() and not line.startswith("#")]


def copy_pack_alone(destination: Path, pack_dir: Path = POLICIES_DIR) -> Path:
    """The pack directory as `pulumi policy publish` ships it and the CLI unpacks it: alone, under
    another name, nothing of the project around it."""
    shutil.copytree(pack_dir, destination, ignore=shutil.ignore_patterns(*pack_ignore_patterns(pack_dir)))
    return destination


def create_pack_virtualenv(pack_dir: Path) -> Path:
    """The pack's virtualenv holding policies/requirements.txt, as the README, the workflows and the CLI's policy
    install make it (`python -m venv <virtualenv> && <virtualenv>/bin/pip install -r requirements.txt`), but
    without pip inside and installed by uv (`uv pip install --python`): the same resolution from the same index
    (the newest versions the requirements allow), from uv's cache in a second instead of pip's ten. What the pack
    can import is the same, less pip."""
    from uv import find_uv_bin

    virtualenv = pack_virtualenv(pack_dir)
    env = shim_environment(virtualenv)
    for command in ([sys.executable, "-m", "venv", "--without-pip", str(virtualenv)],
                    [find_uv_bin(), "pip", "install", "--quiet", "--python", str(virtualenv / "bin" / "python"),
                     "-r", str(pack_dir / "requirements.txt")]):
        result = subprocess.run(command, cwd=pack_dir, env=env, capture_output=True, text=True, timeout=900)
        if result.returncode != 0:
            pytest.fail(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return virtualenv


@pytest.fixture(scope="session")
def published_pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pack copied alone (as published) with its own fresh virtualenv, built once per test run:
    under pytest-xdist the workers share one copy, built by whichever comes first."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    root = tmp_path_factory.getbasetemp() if worker is None else tmp_path_factory.getbasetemp().parent
    pack_dir, ready = root / "toolhive-platform-pack", root / "toolhive-platform-pack.ready"
    with open(root / "toolhive-platform-pack.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not ready.exists():
            shutil.rmtree(pack_dir, ignore_errors=True)
            copy_pack_alone(pack_dir)
            create_pack_virtualenv(pack_dir)
            ready.touch()
    return pack_dir
