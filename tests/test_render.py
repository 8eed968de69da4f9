"""The offline renderer and what every shipped stack renders."""
from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys

import pytest
import yaml

from policies.pod_security import check_object
from tests.conftest import PROJECT_ROOT, STACKS, TEST_CLUSTER, load_yaml_all, render_stack
from tools import render as render_tool
from tools.mock_runtime import SECRET_PLACEHOLDER, UNKNOWN_PLACEHOLDER
from tools.validate.schema import validate_object

WORKLOAD_KINDS = {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"}


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """`python -m tools.render ARGS` in its own process (what a user and CI run)."""
    return subprocess.run([sys.executable, "-m", "tools.render", *args], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=300)


def run_main(*args: str) -> subprocess.CompletedProcess:
    """The same command line through tools.render.main in this process (its exit code, stdout and stderr):
    no interpreter start-up and warm caches. The module's `__main__` is only `sys.exit(main())`, which
    run_cli's tests cover."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = render_tool.main(list(args))
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 2
    return subprocess.CompletedProcess(["python", "-m", "tools.render", *args], code, out.getvalue(), err.getvalue())


@pytest.mark.process
def test_cli_renders_the_dev_stack(tmp_path):
    result = run_cli("dev", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    crds = [doc for doc in load_yaml_all((tmp_path / "crds.yaml").read_text()) if doc]
    manifests = [doc for doc in load_yaml_all((tmp_path / "manifests.yaml").read_text()) if doc]
    resources = json.loads((tmp_path / "resources.json").read_text())
    kinds = [doc["kind"] for doc in manifests]
    # The CRDs in their own file (applied first), so manifests.yaml reads as the stack's own objects;
    # then namespaces, and the workloads after their RBAC.
    assert [doc["kind"] for doc in crds] == ["CustomResourceDefinition"] * 14
    assert "CustomResourceDefinition" not in kinds and set(kinds[:2]) == {"Namespace"}
    assert [doc["kind"] for doc in crds] + kinds == [
        doc["kind"] for doc in render_tool.kubernetes_objects(render_stack("dev").resources)]
    assert kinds.index("Deployment") > kinds.index("ClusterRoleBinding")
    # Custom resources last: their CRDs and namespaces exist by then.
    assert kinds[-1] == "VirtualMCPServer" and kinds.index("MCPGroup") > kinds.index("Deployment")
    assert list(manifests[0])[:3] == ["apiVersion", "kind", "metadata"]
    entry = next(r for r in resources if r["type"] == "kubernetes:apps/v1:Deployment")
    assert set(entry) == {"urn", "type", "name", "parent", "dependencies", "protect", "retain_on_delete",
                          "ignore_changes", "aliases", "provider", "inputs"}
    assert entry["parent"].endswith("toolhive:platform:Operator::operator")
    assert len([r for r in resources if r["type"].startswith("kubernetes:")]) == len(crds) + len(manifests)
    assert result.stdout.strip().splitlines()[-1] == (
        f"rendered stack dev: {len(manifests)} Kubernetes objects (+14 CRDs in crds.yaml), {len(resources)} resources "
        f"-> {tmp_path}: clean")
    outputs = json.loads((tmp_path / "outputs.json").read_text())
    assert outputs["operatorNamespace"] == "toolhive-system"


def test_cli_config_error_exits_2_naming_the_key(tmp_path):
    stack_file = tmp_path / "Pulumi.bad.yaml"
    stack_file.write_text("config:\n  toolhive:operator:\n    rbac:\n      scope: everywhere\n")
    result = run_main("bad", "--config-file", str(stack_file), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "toolhive:operator.rbac.scope: must be one of cluster, namespace" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_key_set_twice_in_a_stack_file_is_refused_as_pulumi_refuses_it(tmp_path):
    stack_file = tmp_path / "Pulumi.dup.yaml"
    stack_file.write_text("config:\n  toolhive:operator:\n    replicas: 1\n    replicas: 3\n")
    result = run_main("dup", "--config-file", str(stack_file), "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert (f"{stack_file}: not valid YAML: line 4, column 5: key 'replicas' is set twice (first on line 3); "
            "YAML keeps only the last, so remove one") in result.stderr


def test_cli_unreadable_stack_file_exits_2(tmp_path):
    result = run_main("nope", "--config-file", str(tmp_path / "missing.yaml"), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "missing.yaml: cannot read" in result.stderr and "Traceback" not in result.stderr


def test_secure_values_render_as_a_placeholder_and_are_never_decrypted(tmp_path):
    ciphertext = "v1:c2VjcmV0LWNpcGhlcnRleHQ="
    config, secret_keys = render_tool.read_stack_file(_write(tmp_path / "Pulumi.s.yaml", {
        "kubernetes:kubeconfig": {"secure": ciphertext},
        "toolhive:operator": {"replicas": 2},
    }))
    assert config["kubernetes:kubeconfig"] == SECRET_PLACEHOLDER
    assert secret_keys == ["kubernetes:kubeconfig"]
    result = run_main("s", "--config-file", str(tmp_path / "Pulumi.s.yaml"), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    for produced in (tmp_path / "out").iterdir():
        assert ciphertext not in produced.read_text()


def test_secure_value_inside_a_toolhive_key_is_rejected_not_decrypted(tmp_path):
    path = _write(tmp_path / "Pulumi.s.yaml", {"toolhive:operator": {"env": [{"name": "API_TOKEN", "value": {"secure": "v1:xyz"}}]}})
    result = run_main("s", "--config-file", str(path), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "toolhive:operator: holds a secret value" in result.stderr


def _by_identity(objects):
    return {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in objects}


def _write(path, config):
    config = {"toolhive:cluster": TEST_CLUSTER, **config}
    path.write_text(yaml.safe_dump({"config": config}))
    return path


@pytest.mark.parametrize("stack", STACKS)
def test_every_object_validates_against_kubernetes_1_33_and_the_toolhive_crds(stack, preview):
    errors = [error for obj in render_stack(stack, preview=preview).objects() for error in validate_object(obj)]
    assert errors == []


@pytest.mark.parametrize("stack", STACKS)
def test_every_workload_meets_pod_security_restricted(stack, preview):
    workloads = [obj for obj in render_stack(stack, preview=preview).objects() if obj["kind"] in WORKLOAD_KINDS]
    assert workloads
    for workload in workloads:
        assert check_object(workload, "restricted") == [], workload["metadata"]["name"]


@pytest.mark.parametrize("stack", STACKS)
def test_nothing_rendered_depends_on_a_value_only_a_provider_computes(stack):
    """In preview, ids and provider outputs are unknown: a name built from one would show up here."""
    rendered = render_stack(stack, preview=True)
    text = json.dumps([r.inputs for r in rendered.resources])
    assert UNKNOWN_PLACEHOLDER not in text
    assert _by_identity(rendered.objects()) == _by_identity(render_stack(stack, preview=False).objects())
    for obj in rendered.objects():
        assert obj["metadata"]["name"], obj


@pytest.mark.parametrize("stack", STACKS)
def test_every_component_registers_its_children_under_itself(stack):
    rendered = render_stack(stack)
    stack_urn = rendered.resources[0].urn
    for resource in rendered.resources[1:]:
        assert resource.parent, resource.urn
        if resource.custom and not resource.type.startswith("pulumi:providers:"):
            assert resource.parent != stack_urn, f"{resource.urn} is not inside a component"


@pytest.mark.parametrize("stack", STACKS)
def test_every_component_registers_its_outputs(stack):
    rendered = render_stack(stack)
    components = [r.urn for r in rendered.resources if not r.custom and r.type != "pulumi:pulumi:Stack"]
    assert components
    assert set(components) <= rendered.run.outputs_registered


def test_stack_outputs_name_the_namespace_release_and_deployed_images():
    outputs = render_stack("prod").outputs
    assert outputs["operatorNamespace"] == "toolhive-system"
    assert outputs["release"] == "v0.44.0"
    assert set(outputs["images"]) == {"operator", "proxyRunner", "vmcp", "registryApi"}
    assert outputs["tenantNamespaces"] == ["mcp-data", "mcp-platform"]


def test_prod_is_ha_namespace_scoped_and_digest_pinned():
    rendered = render_stack("prod")
    deployment = rendered.object("Deployment", "toolhive-operator", "toolhive-system")
    assert deployment["spec"]["replicas"] == 3
    assert "@sha256:" in deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    assert rendered.objects("ClusterRoleBinding") == []
    assert rendered.objects("PodDisruptionBudget")


def test_schema_flag_prints_json_schema():
    result = run_main("--schema")
    assert result.returncode == 0
    assert "toolhive:operator" in json.loads(result.stdout)["properties"]["config"]["properties"]


@pytest.mark.parametrize("stack", STACKS)
def test_every_shipped_stack_renders_with_no_mandatory_violation_under_its_policy_config(stack, tmp_path):
    result = run_main(stack, "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "policy-report.json").read_text())
    assert [v for v in report if v["enforcement"] == "mandatory"] == []


def test_render_exits_1_when_the_policy_config_makes_a_violation_mandatory(tmp_path):
    # The dev stack pulls from ghcr.io by tag; prod's policy config demands the ECR mirror and digests.
    result = run_main("dev", "--out", str(tmp_path), "--policy-config", str(PROJECT_ROOT / "policies/config/prod.json"))
    assert result.returncode == 1
    report = json.loads((tmp_path / "policy-report.json").read_text())
    assert {v["policy"] for v in report if v["enforcement"] == "mandatory"} >= {"image-references"}
    assert (tmp_path / "manifests.yaml").exists()
    mandatory = sum(1 for v in report if v["enforcement"] == "mandatory")
    last = result.stdout.strip().splitlines()[-1]  # never "clean" on an exit-1 run
    assert last.endswith(f": {mandatory} mandatory policy violations (exit 1)"), last


def test_secure_redis_password_renders_as_placeholder_secret_that_still_validates(tmp_path):
    ciphertext = "v1:AAAAAAAAAAAAAAAAAAAAAA==:c2VjcmV0"
    path = _write(tmp_path / "Pulumi.s.yaml", {
        "toolhive:operator": {"defaultRedis": {"addr": "valkey.cache:6379"}},
        "toolhive:defaultRedisPassword": {"secure": ciphertext},
        "toolhive:namespaces": [{"name": "team-a"}],
    })
    result = run_main("s", "--config-file", str(path), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    manifests = list(load_yaml_all((tmp_path / "out/manifests.yaml").read_text()))
    (secret,) = [m for m in manifests if m["kind"] == "Secret"]
    assert secret["stringData"] == {"redis-password": SECRET_PLACEHOLDER}
    assert validate_object(secret) == []
    for produced in (tmp_path / "out").iterdir():
        assert ciphertext not in produced.read_text()


# --------------------------------------------------------------------------------------------------
# Renderer hygiene: the dry run first, --out replaced whole, reproducible bytes, clean errors


@pytest.mark.process
def test_render_is_byte_for_byte_reproducible_across_processes(tmp_path):
    result = run_cli("prod", "--out", str(tmp_path / "a"))
    assert result.returncode == 0, result.stderr
    assert render_tool.main(["prod", "--out", str(tmp_path / "b")]) == 0
    for name in ("resources.json", "manifests.yaml", "outputs.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    entries = json.loads((tmp_path / "a" / "resources.json").read_text())
    assert [e["urn"] for e in entries] == sorted(e["urn"] for e in entries)
    assert all(e["dependencies"] == sorted(e["dependencies"]) for e in entries)


def test_out_is_replaced_whole_and_a_failed_render_keeps_the_previous_one(tmp_path, capsys):
    out = tmp_path / "out"
    assert render_tool.main(["dev", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(render_tool.RENDER_FILES)
    first = (out / "resources.json").read_bytes()
    assert render_tool.main(["prod", "--out", str(out)]) == 0  # an existing render is swapped out, not merged
    assert (out / "resources.json").read_bytes() != first
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no staging or old directories left beside it
    good = (out / "resources.json").read_bytes()
    capsys.readouterr()
    bad = _write(tmp_path / "Pulumi.bad.yaml", {"toolhive:operator": {"replicas": 0}})
    assert render_tool.main(["bad", "--config-file", str(bad), "--out", str(out)]) == 2
    assert (out / "resources.json").read_bytes() == good  # the last good render stays for comparison
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"render failed: the previous render in {out} is left as it was (it is not of this configuration)")


def test_the_last_line_says_what_happened(tmp_path, capsys):
    path = _write(tmp_path / "Pulumi.w.yaml", {"toolhive:namespaces": [{"name": "mcp-dev"}], "toolhive:servers": {
        "mcpServers": [{"name": "fetch", "namespace": "mcp-dev", "spec": {
            "image": "ghcr.io/stackloklabs/gofetch/server:1.0.1", "replicas": 2}}]}})
    assert render_tool.main(["dev", "--config-file", str(path), "--out", str(tmp_path / "w")]) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith(f"-> {tmp_path / 'w'}: 1 warning")
    # (with mandatory violations: test_render_exits_1_when_the_policy_config_makes_a_violation_mandatory)


def test_a_mistyped_policy_config_exits_2_before_rendering(tmp_path, capsys):
    missing = PROJECT_ROOT / "policies" / "config" / "prd.json"
    assert render_tool.main(["dev", "--out", str(tmp_path / "out"), "--policy-config", str(missing)]) == 2
    assert f"--policy-config {missing}: no such file" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_offline_placeholder_digests_are_marked_in_the_manifests_and_the_summary(tmp_path, capsys):
    assert render_tool.main(["prod", "--out", str(tmp_path)]) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    objects = [doc for doc in load_yaml_all((tmp_path / "manifests.yaml").read_text()) if doc]
    with_digest = [o for o in objects if "@sha256:" in json.dumps(o)]
    assert with_digest, "prod pins images to digests"
    for obj in with_digest:  # every digest offline is a stand-in, and says so
        note = obj["metadata"]["annotations"][render_tool.PLACEHOLDER_ANNOTATION]
        assert note.startswith("offline stand-ins, not the registry's digests: ")
    images = {image for o in with_digest
              for image in o["metadata"]["annotations"][render_tool.PLACEHOLDER_ANNOTATION].split(": ", 1)[1].split(", ")}
    assert f"{len(images)} image digests are offline placeholders" in last
    # resources.json stays what the program registered: the mark is the renderer's, for readers.
    assert render_tool.PLACEHOLDER_ANNOTATION not in (tmp_path / "resources.json").read_text()


def test_a_config_the_api_server_would_reject_exits_2_naming_the_key_and_writes_nothing(tmp_path, capsys):
    # Whichever layer catches it (config validation or the dry run), the message names the key.
    path = _write(tmp_path / "Pulumi.s.yaml", {"toolhive:operator": {"resources": {
        "requests": {"cpu": "2", "memory": "64Mi"}, "limits": {"cpu": "1", "memory": "128Mi"}}}})
    assert render_tool.main(["s", "--config-file", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "toolhive:operator.resources" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_dry_run_problems_fail_the_render_which_is_written_beside_the_out_dir(tmp_path, capsys, monkeypatch):
    def block_namespaces(objects):
        return [f"Namespace//{o['metadata']['name']}: $.metadata: planted" for o in objects if o["kind"] == "Namespace"]

    import tools.validate as validate
    monkeypatch.setattr(validate, "CHECKS", (*validate.CHECKS, block_namespaces))
    out, failed = tmp_path / "out", tmp_path / "out.failed"
    assert render_tool.main(["dev", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "the dry run rejects 2" in err
    assert "toolhive:operator.namespace: Namespace//toolhive-system: $.metadata: planted" in err
    assert "toolhive:namespaces[0].name: Namespace//mcp-dev: $.metadata: planted" in err
    assert not out.exists()
    assert (failed / "manifests.yaml").exists() and (failed / "crds.yaml").exists()  # to look at what was refused
    assert err.splitlines()[-1] == f"render failed: nothing was written to {out}; the failed render is in {failed}"
    monkeypatch.undo()
    assert render_tool.main(["dev", "--out", str(out)]) == 0
    assert not failed.exists()  # a later good render clears it: nothing stale looks current


def test_unreadable_inputs_and_a_bad_out_give_clean_errors(tmp_path, capsys):
    latin1 = tmp_path / "Pulumi.latin1.yaml"
    latin1.write_bytes("config:\n  toolhive:operator:\n    podLabels: {team: caf\xe9}\n".encode("latin-1"))
    assert render_tool.main(["x", "--config-file", str(latin1), "--out", str(tmp_path / "o")]) == 2
    assert "Pulumi.latin1.yaml: not UTF-8 text" in capsys.readouterr().err
    assert render_tool.main(["x", "--config-file", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "cannot read" in capsys.readouterr().err
    a_file = tmp_path / "out.txt"
    a_file.write_text("keep me")
    assert render_tool.main(["dev", "--out", str(a_file)]) == 2
    assert "is a file, not a directory" in capsys.readouterr().err
    assert a_file.read_text() == "keep me"


def test_a_render_into_a_directory_of_other_files_replaces_only_its_own(tmp_path):
    """e.g. `out=$(mktemp -d); render --out $out > $out/log`: the log stays, stale render files do not."""
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "log").write_text("keep me")
    (mine / "warnings.json").write_text("stale")
    assert render_tool.main(["dev", "--out", str(mine)]) == 0
    assert sorted(p.name for p in mine.iterdir()) == sorted(["log", *render_tool.RENDER_FILES])
    assert (mine / "log").read_text() == "keep me" and (mine / "warnings.json").read_text() != "stale"
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text("config:\n  toolhive:operator:\n    replicas: 0\n")
    assert render_tool.main(["bad", "--config-file", str(bad), "--out", str(mine)]) == 2
    assert sorted(p.name for p in mine.iterdir()) == sorted(["log", *render_tool.RENDER_FILES])  # kept, and the log
