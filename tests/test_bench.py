"""The scale benchmark keeps running (a smoke run at N=10; timings are never asserted), and the fast
paths it motivated produce exactly what the slow paths produce."""
from __future__ import annotations

import gc
import io
import json
import subprocess
import sys

import pulumi
import pulumi_kubernetes as k8s
import pytest
import yaml
from pulumi.runtime import resource as pulumi_resource

from bench.floor import floor_program
from bench.stack import PER_TENANT, stack_file
from components.program import GC_THRESHOLDS
from policies.check import load_yaml_documents
from tools import mock_runtime
from tools.render import MANIFEST_WIDTH, dump_manifests, kubernetes_objects, read_stack_file, render
from tests.conftest import PROJECT_ROOT, render_stack

JSON_KEYS = {"n", "resources", "program_s", "floor_s", "ratio", "render_s", "peak_mib", "policy_check_s", "checkov_s"}


def bench_render(n: int, tmp_path, preview: bool = False) -> mock_runtime.ProgramRun:
    path = tmp_path / f"stack-{n}.yaml"
    path.write_text(yaml.safe_dump(stack_file(n)))
    config, secret_keys = read_stack_file(path)
    return render(config, secret_keys, stack="bench", preview=preview)


def comparable(run: mock_runtime.ProgramRun) -> list[dict]:
    """resources.json entries; dependency order follows the SDK's sets, so it is not compared."""
    return sorted(({**r.as_json(), "dependencies": sorted(r.dependencies)} for r in run.resources),
                  key=lambda entry: entry["urn"])


@pytest.mark.process
def test_smoke_run_prints_the_table_and_writes_json_and_plot(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--servers", "2", "--rounds", "1", "--no-checkov",
         "--json", str(tmp_path / "bench.json"), "--plot", str(tmp_path / "bench.png"), "--work", str(tmp_path / "work")],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "program s" in result.stdout and "floor s" in result.stdout
    assert "fastest of the rounds" in result.stdout and "render min s" in result.stdout  # min beside median
    rows = json.loads((tmp_path / "bench.json").read_text())
    assert [row["n"] for row in rows] == [2]
    assert JSON_KEYS <= set(rows[0])
    assert rows[0]["resources"] > rows[0]["objects"] > 0
    assert rows[0]["checkov_s"] is None  # --no-checkov
    for key in ("program_s", "floor_s", "ratio", "render_s", "peak_mib", "policy_check_s",
                "program_min_s", "floor_min_s", "render_min_s", "policy_check_min_s"):
        assert rows[0][key] > 0, key
    assert (tmp_path / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_generated_stack_mixes_kinds_transports_replicas_and_secret_sources():
    config = stack_file(2 * PER_TENANT)["config"]
    servers = config["toolhive:servers"]
    assert len(config["toolhive:namespaces"]) == 2
    assert sum(len(servers[kind]) for kind in ("mcpServers", "remoteProxies", "virtualServers")) == 2 * PER_TENANT
    assert len(servers["virtualServers"]) == 2 and servers["remoteProxies"]
    specs = [entry["spec"] for entry in servers["mcpServers"]]
    assert {spec["transport"] for spec in specs} == {"stdio", "sse", "streamable-http"}
    assert {spec.get("replicas") for spec in specs} == {None, 1, 2}
    assert any("autoscaling" in spec for spec in specs)
    refs = json.dumps(servers)
    assert all(scheme in refs for scheme in ("aws-sm://", "pulumi-config://", "k8s-secret://"))


def test_floor_registers_the_programs_kubernetes_objects_with_the_same_inputs_and_options(tmp_path, preview):
    program = bench_render(10, tmp_path, preview)
    recorded = [r.as_json() for r in program.resources]
    floor = mock_runtime.run_program(floor_program(recorded), project="toolhive", stack="bench", preview=preview)

    def objects(run):
        return {(r.type, r.name): (r.inputs, r.protect, r.retain_on_delete, bool(r.provider))
                for r in run.resources if r.type.startswith("kubernetes:")}

    assert objects(floor) == objects(program)
    assert not any(r.type.startswith("toolhive:") for r in floor.resources)  # no components


def test_monitor_fast_path_records_what_the_mock_monitor_round_trip_records(tmp_path, preview, monkeypatch):
    fast = bench_render(10, tmp_path, preview)
    monkeypatch.setattr(mock_runtime._RecordingMonitor, "echo_fast_path", False)
    slow = bench_render(10, tmp_path, preview)
    assert comparable(fast) == comparable(slow)
    assert fast.outputs == slow.outputs
    assert [w.as_json() for w in fast.warnings] == [w.as_json() for w in slow.warnings]


def test_memoized_plain_inputs_reach_the_engine_as_the_sdk_serializes_them(tmp_path, preview, monkeypatch):
    first, again = bench_render(2, tmp_path, preview), bench_render(2, tmp_path, preview)  # the second one hits
    monkeypatch.setattr(mock_runtime, "MEMOIZE_PLAIN_INPUTS", False)
    sdk = bench_render(2, tmp_path, preview)
    assert comparable(again) == comparable(first) == comparable(sdk)
    assert {r.urn: r.wire_inputs for r in again.resources} == {r.urn: r.wire_inputs for r in sdk.resources}
    crd = next(r for r in again.resources if r.type.endswith("CustomResourceDefinition"))
    assert crd.inputs["spec"]["versions"] and len(json.dumps(crd.inputs)) > mock_runtime._MEMO_FLOOR  # memoized
    assert crd.inputs is not next(r for r in first.resources if r.urn == crd.urn).inputs  # no object shared


def test_memoized_outputs_resolve_as_the_sdk_resolves_them(preview, monkeypatch):
    """A CRD's echoed schema, translated into typed outputs once per process, reads as the SDK's own translation."""
    from components import bundle
    document = bundle.crd_documents("v0.44.0")[0]

    def program(seen):
        def read():
            crd = k8s.apiextensions.v1.CustomResourceDefinition("crd", metadata=document["metadata"],
                                                                spec=document["spec"])
            pulumi.Output.all(crd.spec, crd.metadata).apply(lambda values: seen.append(repr(values)))
        return read

    memoized, again, sdk = [], [], []
    mock_runtime.run_program(program(memoized), preview=preview)
    mock_runtime.run_program(program(again), preview=preview)
    monkeypatch.setattr(mock_runtime, "MEMOIZE_PLAIN_INPUTS", False)
    mock_runtime.run_program(program(sdk), preview=preview)
    assert memoized == again == sdk
    assert len(sdk) == 1 and document["spec"]["names"]["kind"] in sdk[0] and document["metadata"]["name"] in sdk[0]


def test_no_stack_trace_is_captured_under_mocks_and_the_sdk_is_restored_after():
    seen = []
    original = pulumi_resource._get_stack_trace
    mock_runtime.run_program(lambda: seen.append(len(pulumi_resource._get_stack_trace().frames)))
    assert seen == [0]
    assert pulumi_resource._get_stack_trace is original


def test_manifests_are_byte_identical_to_the_pure_python_dumper(tmp_path):
    dev = kubernetes_objects(render_stack("dev").resources)
    fleet = [obj for obj in kubernetes_objects(bench_render(10, tmp_path).resources)
             if obj["kind"] != "CustomResourceDefinition"]  # the same CRDs as dev's: compared once
    for objects in (dev, fleet):
        written = io.StringIO()
        dump_manifests(objects, written)
        assert written.getvalue() == yaml.safe_dump_all(objects, sort_keys=False, default_flow_style=False,
                                                        width=MANIFEST_WIDTH)
        assert list(yaml.load_all(written.getvalue(), Loader=yaml.CSafeLoader)) == objects


def test_policy_checker_yaml_loading_equals_safe_load_all(tmp_path):
    unusual = """\
base: &base {a: 1, b: [x, y]}
merged: {<<: *base, c: 2}
alias: *base
when: 2024-01-02
numbers: [1, 0x1F, 1.5, .inf, ~, yes, "no", '3']
bin: !!binary aGVsbG8=
---
- plain
- {k: v}
---
recursive: &r [1, *r]
"""
    expected = list(yaml.safe_load_all(unusual))
    loaded = load_yaml_documents(unusual)
    assert loaded[:2] == expected[:2]
    assert loaded[2]["recursive"][1] is loaded[2]["recursive"]  # left to SafeConstructor, cycle intact
    manifests = io.StringIO()
    dump_manifests(kubernetes_objects(bench_render(10, tmp_path).resources), manifests)
    assert load_yaml_documents(manifests.getvalue()) == list(yaml.safe_load_all(manifests.getvalue()))


def test_program_run_raises_the_garbage_collector_thresholds():
    render_stack("dev")
    assert gc.get_threshold() == GC_THRESHOLDS
