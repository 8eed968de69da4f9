"""Helpers for the policy tests: manifest builders, running one policy, running the offline checker."""
from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterable, Optional

import pytest
import yaml

from policies import check
from policies.core import ResourceOptions, ResourcePolicy, ResourceView, StackPolicy

PROJECT_ROOT = Path(__file__).resolve().parents[2]
POLICIES_DIR = PROJECT_ROOT / "policies"

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
    return list(policy.check([view(m) for m in manifests], policy.properties(properties)))


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
