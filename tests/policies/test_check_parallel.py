"""The offline checker on several processes: large inputs are cut between documents, and the report is
the one a single process writes, violation for violation, warning for warning, error for error."""
from __future__ import annotations

import gc
import io
import json
import os
from pathlib import Path

import pytest

from policies import check
from policies.check import check_paths, split_documents
from policies.core import StackPolicy
from policies.registry import all_policies
from tests.conftest import render_stack
from tests.policies.conftest import (
    container,
    deployment,
    hpa,
    mcpserver,
    namespace,
    run_cli,
    view,
    write_json,
    write_yaml,
)
from tools.render import dump_manifests, kubernetes_objects


@pytest.fixture
def small_parts(monkeypatch):
    """Every input counts as large and is cut into tasks of about 4 KB, so a test input spans many tasks."""
    monkeypatch.setattr(check, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(check, "PART_BYTES", 4096)


def dev_objects() -> list[dict]:
    return kubernetes_objects(render_stack("dev").resources)


def manifests_text(objects: list[dict]) -> str:
    written = io.StringIO()
    dump_manifests(objects, written)
    return written.getvalue()


def write_manifests(directory: Path, filename: str, *objects: dict) -> Path:
    """write_yaml through the renderer's C emitter: these inputs are megabytes."""
    path = directory / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(manifests_text(list(objects)))
    return path


def bare_deployment(name: str) -> dict:
    bare = container("web")
    del bare["resources"]
    return deployment(name=name, containers=[bare])


def violating_fleet() -> list[dict]:
    """The dev render with violations of resource and stack policies far apart in the file: a namespace
    without its Pod Security label at the top, its MCP server in the middle, an HPA fighting the server's
    replicas at the end, and containers without resources in between."""
    objects = dev_objects()
    middle = len(objects) // 2
    return [namespace("loose"), *objects[:middle], bare_deployment("early"), mcpserver("fetch", "loose", replicas=2),
            *objects[middle:], bare_deployment("late"), hpa("MCPServer", "fetch", "loose")]


def report(result: check.CheckResult) -> list[dict]:
    return [violation.to_dict() for violation in result.violations]


# ---------------------------------------------------------------------------------------------
# Cutting a stream between documents
# ---------------------------------------------------------------------------------------------

def test_parts_of_a_render_are_whole_documents_that_parse_to_the_documents_of_the_whole():
    text = manifests_text(dev_objects())
    parts = split_documents(text, 16)
    assert len(parts) == 16
    assert "".join(parts) == text
    assert all(part.startswith("---\n") for part in parts[1:])
    assert [doc for part in parts for doc in check.load_yaml_documents(part)] == check.load_yaml_documents(text)


@pytest.mark.parametrize("text", [
    pytest.param("a: |\n  one\n  ---\n  two\n---\nb: 1\n" * 3, id="marker-inside-an-indented-block-scalar"),
    pytest.param("".join(f"a{i}: 1\n---x{i}: 2\n----{i}: 3\n" for i in range(4)), id="keys-that-start-with-dashes"),
    pytest.param("--- a\n---\tb\n--- \n---\n--- {c: 1}\n", id="markers-with-content-tabs-and-empty-documents"),
    pytest.param("a: 1\r\n---\r\nb: 2\r\n---\r\nc: 3\r\n", id="crlf"),
    pytest.param("a: 1\n...\n---\nb: 2\n...\n", id="document-end-markers"),
    pytest.param("# comment\n---\na: 1\n---\n# only a comment\n---\nb: [1,\n  2]\n", id="comments-and-flow"),
])
def test_cuts_fall_only_before_document_start_lines(text):
    """Parsed with the checker's own loader (libyaml, which also takes a tab after a marker)."""
    whole = check.load_yaml_documents(text)
    for pieces in range(2, 8):
        parts = split_documents(text, pieces)
        assert 1 <= len(parts) <= pieces
        assert "".join(parts) == text
        assert [doc for part in parts for doc in check.load_yaml_documents(part)] == whole


def test_a_line_that_only_starts_with_three_dashes_is_no_cut():
    assert split_documents("a: 1\n---x: 2\n" * 100, 4) == ["a: 1\n---x: 2\n" * 100]


def test_a_stream_with_directives_is_not_cut():
    text = "%YAML 1.1\n---\na: 1\n---\nb: 2\n" * 3
    assert split_documents(text, 4) == [text]


def test_parsing_pauses_the_garbage_collector_and_leaves_it_as_it_was():
    assert gc.isenabled()
    check.load_yaml_documents("a: 1\n")
    assert gc.isenabled()
    gc.disable()
    try:
        check.load_yaml_documents("a: 1\n")
        assert not gc.isenabled()
    finally:
        gc.enable()


# ---------------------------------------------------------------------------------------------
# The same report as one process
# ---------------------------------------------------------------------------------------------

def test_a_large_file_is_checked_on_several_processes_with_the_report_of_one(tmp_path, small_parts):
    path = write_manifests(tmp_path, "fleet.yaml", *violating_fleet())
    alone, together = check_paths([path], jobs=1), check_paths([path], jobs=2)
    assert (alone.processes, together.processes) == (1, 2)
    assert together.resources == alone.resources == len(violating_fleet())
    assert report(together) == report(alone)
    policies = {violation["policy"] for violation in report(alone)}
    assert {"container-resources", "mcp-namespace-pod-security-labels", "mcp-namespace-default-deny",
            "hpa-replicas-conflict"} <= policies


def test_stack_policies_see_resources_from_parts_far_apart(tmp_path, small_parts):
    """The namespace, its server and the HPA land in different tasks; the stack policies still pair them."""
    path = write_manifests(tmp_path, "fleet.yaml", *violating_fleet())
    parts = split_documents(path.read_text(), -(-path.stat().st_size // check.PART_BYTES))
    holding = lambda needle: next(i for i, part in enumerate(parts) if needle in part)
    assert len({holding("name: loose\n"), holding("kind: HorizontalPodAutoscaler")}) == 2
    found = {(v["policy"], v["name"]) for v in report(check_paths([path], jobs=2))}
    assert ("hpa-replicas-conflict", "fetch") in found
    assert ("mcp-namespace-pod-security-labels", "loose") in found


def test_files_of_a_directory_and_a_render_json_keep_their_order(tmp_path, small_parts):
    objects = violating_fleet()
    for index in range(0, len(objects), 7):
        write_manifests(tmp_path / "manifests", f"part-{index:04}.yaml", *objects[index:index + 7])
    entries = [{"urn": "urn:pulumi:dev::p::kubernetes:apps/v1:Deployment::json", "type": "kubernetes:apps/v1:Deployment",
                "name": "json", "inputs": bare_deployment("from-json")}]
    resources = write_json(tmp_path, "resources.json", entries)
    paths = [tmp_path / "manifests", resources]
    alone, together = check_paths(paths, jobs=1), check_paths(paths, jobs=2)
    assert together.processes == 2
    assert report(together) == report(alone)
    assert together.resources == alone.resources == len(objects) + 1


def test_a_yaml_error_in_a_part_names_the_line_of_the_file(tmp_path, small_parts):
    text = manifests_text(dev_objects())
    cut = text.index("\n---\n", len(text) // 2) + 1
    path = tmp_path / "broken.yaml"
    path.write_text(text[:cut] + "---\nkind: [unclosed\n" + text[cut:])
    alone, together = check_paths([path], jobs=1), check_paths([path], jobs=2)
    assert together.errors == alone.errors
    [message] = together.errors
    assert f"line {text[:cut].count(chr(10)) + 3}," in message
    assert together.violations == []


def test_warnings_number_documents_as_the_file_does(tmp_path, small_parts, capsys):
    objects = dev_objects()
    middle = len(objects) // 2  # whatever the number of dev objects (a server more or less)
    objects.insert(middle, {"metadata": {"name": "kindless"}})
    path = write_manifests(tmp_path, "fleet.yaml", *objects)
    check_paths([path], jobs=1)
    alone = capsys.readouterr().err
    check_paths([path], jobs=2)
    assert capsys.readouterr().err == alone
    assert f"document {middle + 1} has no apiVersion/kind" in alone


def test_an_unreadable_file_of_a_directory_is_reported_as_by_one_process(tmp_path, small_parts):
    write_manifests(tmp_path / "manifests", "a.yaml", *dev_objects()[:20])
    (tmp_path / "manifests" / "b.yaml").write_bytes(b"kind: \xff\n")
    alone, together = check_paths([tmp_path / "manifests"], jobs=1), check_paths([tmp_path / "manifests"], jobs=2)
    assert together.errors == alone.errors
    assert "not UTF-8" in together.errors[0]


def test_when_a_checking_process_dies_the_check_finishes_in_one_process(tmp_path, small_parts, monkeypatch, capsys):
    """A worker killed (out of memory, a signal) must neither hang the check nor lose its part."""
    path = write_manifests(tmp_path, "fleet.yaml", *violating_fleet())
    alone = check_paths([path], jobs=1)
    parent, parse = os.getpid(), check._views_from_yaml_text

    def dies_in_a_worker(*args, **kwargs):
        if os.getpid() != parent:
            os._exit(9)
        return parse(*args, **kwargs)

    monkeypatch.setattr(check, "_views_from_yaml_text", dies_in_a_worker)
    result = check_paths([path], jobs=2)
    assert "a checking process died; checking in one process instead" in capsys.readouterr().err
    assert result.processes == 1
    assert report(result) == report(alone) != []


def test_small_inputs_stay_in_one_process(tmp_path):
    path = write_yaml(tmp_path, "small.yaml", *(bare_deployment(f"web-{index}") for index in range(200)))
    assert path.stat().st_size < check.PARALLEL_MIN_BYTES
    assert check_paths([path], jobs=4).processes == 1


def test_the_cli_checks_a_large_file_on_two_processes_with_the_output_of_one(tmp_path):
    fleet = violating_fleet()
    copies = -(-check.PARALLEL_MIN_BYTES // len(manifests_text(fleet))) + 1
    path = write_manifests(tmp_path, "large.yaml", *(fleet * copies))
    assert path.stat().st_size >= check.PARALLEL_MIN_BYTES
    together = run_cli("--json", "--jobs", "2", str(path))
    assert together.returncode == 1
    assert json.loads(together.stdout) == report(check_paths([path], jobs=1)) != []
    assert "on 2 processes" in together.stderr


@pytest.mark.parametrize("jobs", ["0", "-1", "two"])
def test_jobs_must_be_a_whole_number_of_processes(tmp_path, jobs):
    result = run_cli("--jobs", jobs, str(write_yaml(tmp_path, "ok.yaml", deployment())))
    assert result.returncode == 2
    assert "--jobs" in result.stderr and "1 or more" in result.stderr


# ---------------------------------------------------------------------------------------------
# What the stack policies read
# ---------------------------------------------------------------------------------------------

def test_each_stack_policy_judges_what_it_reads_as_it_judges_everything():
    """`reads` only spares the checker work: over a fleet with violations of every stack policy, a
    policy handed only what it reads finds exactly what it finds over all resources."""
    views = [view(manifest) for manifest in violating_fleet()]
    stack_policies = [policy for policy in all_policies() if isinstance(policy, StackPolicy)]
    assert len(stack_policies) == 3
    for policy in stack_policies:
        properties = policy.properties()
        found = [(v.urn, v.describe(), m) for v, m in policy.check(views, properties)]
        assert found, policy.name
        assert [(v.urn, v.describe(), m) for v, m in policy.evaluate(views, properties)] == found
        assert sum(map(policy.reads, views)) < len(views) / 2, policy.name
