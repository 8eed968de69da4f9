"""The checks every shipped stack passes, as functions, so they also run on a changed copy of a stack
(tests/test_one_file_change.py): what the suite asserts of a stack must hold for any server list."""
from __future__ import annotations

from pathlib import Path

from components.servers.common import secret_name
from policies import check as policy_check
from policies.core import check_objects
from tests.conftest import PROJECT_ROOT
from tools import urns
from tools.render import resources_json
from tools.validate import reachability
from tools.validate.schema import validate_object

SERVER_KINDS = ("MCPServer", "MCPRemoteProxy", "VirtualMCPServer")


def _replicas(entry: dict) -> int | None:
    replicas = entry["spec"].get("replicas")
    # The operator runs one proxy for a stdio server whatever is asked (rendered with 1 and a warning).
    stdio = entry["kind"] == "MCPServer" and entry["spec"].get("transport", "stdio") == "stdio"
    return min(replicas, 1) if replicas is not None and stdio else replicas


def assert_servers_render_as_declared(rendered, declared: list[dict]) -> None:
    """Each declared server (`shipped_servers` entries) is one custom resource with its file's settings,
    a PDB exactly when several proxies run, an HPA exactly when asked, its secrets wired."""
    servers = {f"{o['kind']}/{o['metadata']['namespace']}/{o['metadata']['name']}": o["spec"]
               for o in rendered.objects() if o["kind"] in SERVER_KINDS}
    assert sorted(servers) == sorted(f"{e['kind']}/{e['namespace']}/{e['name']}" for e in declared)
    for entry in declared:
        where, namespace, wanted = entry["file"], entry["namespace"], entry["spec"]
        spec = servers[f"{entry['kind']}/{namespace}/{entry['name']}"]
        assert spec.get("replicas") == _replicas(entry), where
        storage = wanted.get("sessionStorage")
        rendered_storage = spec.get("sessionStorage", {})
        if not (storage or {}).get("provider") in (None, "memory") or "passwordRef" not in rendered_storage:
            assert rendered_storage.get("provider") == (storage or {}).get("provider"), where
        # else: the default-Redis fallback (redis with the default Secret's password; tests/servers/test_default_redis.py)
        if entry["kind"] == "VirtualMCPServer":
            assert spec["groupRef"] == {"name": wanted["group"]}, where
            assert spec["incomingAuth"]["type"] == wanted["incomingAuth"]["type"], where
        else:
            default = "stdio" if entry["kind"] == "MCPServer" else "streamable-http"
            assert spec["transport"] == wanted.get("transport", default), where
        if entry["kind"] == "MCPRemoteProxy":
            assert spec["remoteUrl"] == wanted["remoteUrl"], where
        named = {"name": f"{entry['name']}-proxy", "namespace": namespace}
        pdbs = [o for o in rendered.objects("PodDisruptionBudget") if o["metadata"] == {**o["metadata"], **named}]
        several = (spec.get("replicas") or 0) > 1 and wanted.get("podDisruptionBudget", True)
        assert len(pdbs) == int(bool(several)), f"{where}: a PDB exactly when several proxies run"
        hpas = [o for o in rendered.objects("HorizontalPodAutoscaler") if o["metadata"] == {**o["metadata"], **named}]
        assert len(hpas) == int("proxy" in (wanted.get("autoscaling") or {})), f"{where}: an HPA exactly when asked"
        for secret in wanted.get("secrets", []):
            target = secret["targetEnvName"]
            if secret["ref"].startswith("k8s-secret://"):
                name, key = secret["ref"].removeprefix("k8s-secret://").split("#")
                assert {"name": name, "key": key, "targetEnvName": target} in spec["secrets"], where
                continue
            # Read at deploy time (AWS Secrets Manager, Pulumi config): written into the server's Secret.
            written = rendered.object("Secret", secret_name(entry["name"], target), namespace)
            assert written["stringData"] == {target: "[secret]"}, where


def stack_problems(stack: str, rendered) -> list[str]:
    """What the suite's stack checks find in a render of `stack` (a shipped one, or a changed copy of it):
    objects that do not validate, required flows blocked, pinned URNs lost without an alias, mandatory
    violations of the stack's policy config. The dry run already ran in `render_config`."""
    objects = rendered.objects()
    problems = [f"schema: {error}" for obj in objects for error in validate_object(obj)]
    problems += reachability.check(objects)
    problems += [f"URN lost: {urn}" for urn in urns.lost_urns(urns.pins_with_owners(stack), rendered.resources, stack)]
    config = policy_check.load_config(Path(PROJECT_ROOT / "policies" / "config" / f"{stack}.json"))
    violations = check_objects(policy_check.views_from_resources(resources_json(rendered.resources)), config)
    problems += [f"policy: {v.format()}" for v in violations if v.mandatory]
    return problems
