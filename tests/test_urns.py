"""URNs as the engine computes them, pinned for the shipped stacks so a rename cannot replace live objects.

Regenerate the pins deliberately (after adding `aliases` for every renamed resource, or on purpose):
`python -m tools.urns --write`.
"""
from __future__ import annotations

import pulumi
import pytest

from tests.conftest import STACKS, render_stack
from tools import urns
from tools.mock_runtime import engine_urn, run_program
from tools.render import render

REGENERATE = "regenerate deliberately with `python -m tools.urns --write`"


@pytest.mark.parametrize("stack", STACKS)
def test_no_pinned_resource_is_lost_without_an_alias(stack, preview):
    lost = urns.lost_urns(urns.pins_with_owners(stack), render_stack(stack, preview=preview).resources, stack)
    assert lost == [], f"these resources would be deleted and recreated: {lost}; add `aliases`, or {REGENERATE}"


def _server_file(directory, name: str, namespace: str = "mcp-dev") -> None:
    (directory / f"{name}.yaml").write_text(f"name: {name}\nnamespace: {namespace}\nspec:\n"
                                            "  image: ghcr.io/stackloklabs/gofetch/server:1.0.1\n")


def _dev_with_servers(tmp_path, names: list[str]):
    servers = tmp_path / "servers"
    servers.mkdir(parents=True)
    for name in names:
        _server_file(servers, name)
    config = {"toolhive:cluster": {"context": "c"}, "toolhive:namespaces": [{"name": "mcp-dev"}],
              "toolhive:servers": {"directory": str(servers)}}
    return render(config, stack="dev").resources


def test_a_new_server_needs_no_re_pin_and_a_removed_one_is_not_lost(tmp_path):
    before = _dev_with_servers(tmp_path / "a", ["fetch", "docs"])
    pins = {line.split("\t")[0]: (line.split("\tserver=") + [None])[1] for line in urns.pin_lines(before)}
    assert pins["urn:pulumi:dev::toolhive::toolhive:servers:Servers$toolhive:servers:McpServer::mcp-dev-mcpserver-docs"] \
        == "mcp-dev-mcpserver-docs"
    assert urns.lost_urns(pins, _dev_with_servers(tmp_path / "b", ["fetch", "docs", "web"]), "dev") == []  # added
    assert urns.lost_urns(pins, _dev_with_servers(tmp_path / "c", ["fetch"]), "dev") == []  # docs removed


def test_a_server_that_is_still_rendered_but_lost_a_resource_is_reported(tmp_path):
    before = _dev_with_servers(tmp_path / "a", ["fetch"])
    pins = {line.split("\t")[0]: (line.split("\tserver=") + [None])[1] for line in urns.pin_lines(before)}
    renamed = "urn:pulumi:dev::toolhive::toolhive:servers:Servers$toolhive:servers:McpServer$kubernetes:gone::x"
    pins[renamed] = "mcp-dev-mcpserver-fetch"  # as if a refactor renamed one of fetch's resources
    platform = "urn:pulumi:dev::toolhive::toolhive:platform:Gone::old"
    pins[platform] = None
    assert urns.lost_urns(pins, _dev_with_servers(tmp_path / "b", ["fetch"]), "dev") == [renamed, platform]


class _Leaf(pulumi.CustomResource):
    def __init__(self, name, opts=None):
        super().__init__("test:index:Leaf", name, {}, opts)


def _nested(grandparent_type: str, *, aliases: list | None = None):
    """Stack > grandparent > parent > child component > leaf resource."""
    def program():
        top = pulumi.ComponentResource(grandparent_type, "top", None, pulumi.ResourceOptions(aliases=aliases or []))
        middle = pulumi.ComponentResource("test:index:Middle", "middle", None, pulumi.ResourceOptions(parent=top))
        inner = pulumi.ComponentResource("test:index:Inner", "inner", None, pulumi.ResourceOptions(parent=middle))
        _Leaf("leaf", pulumi.ResourceOptions(parent=inner))
        for component in (inner, middle, top):
            component.register_outputs({})
    return program


def _leaf(run):
    return next(r for r in run.resources if r.type == "test:index:Leaf")


def test_urn_type_part_is_the_full_ancestor_chain_without_the_stack(preview):
    run = run_program(_nested("test:index:Top"), project="proj", stack="dev", preview=preview)
    assert _leaf(run).urn == ("urn:pulumi:dev::proj::test:index:Top$test:index:Middle$test:index:Inner"
                              "$test:index:Leaf::leaf")
    assert run.resources[1].urn == "urn:pulumi:dev::proj::test:index:Top::top"


def test_renaming_a_grandparent_type_changes_the_urn_of_every_descendant(preview):
    before = _leaf(run_program(_nested("test:index:Top"), stack="dev", preview=preview))
    after_run = run_program(_nested("test:index:Renamed"), stack="dev", preview=preview)
    assert _leaf(after_run).urn != before.urn
    # Without an alias the engine would delete the old leaf: the pin check reports it.
    assert urns.lost_urns([before.urn], after_run.resources, "dev") == [before.urn]


def test_an_alias_on_the_renamed_grandparent_keeps_every_descendant(preview):
    before = _leaf(run_program(_nested("test:index:Top"), project="toolhive", stack="dev", preview=preview))
    after_run = run_program(_nested("test:index:Renamed", aliases=[pulumi.Alias(type_="test:index:Top")]),
                            project="toolhive", stack="dev", preview=preview)
    top = next(r for r in after_run.resources if r.name == "top")
    assert top.aliases == ["urn:pulumi:dev::toolhive::test:index:Top::top"]
    assert urns.lost_urns([before.urn, top.aliases[0]], after_run.resources, "dev") == []


def test_engine_urn_leaves_the_root_stack_out_of_the_chain():
    stack_urn = "urn:pulumi:dev::p::pulumi:pulumi:Stack::p-dev"
    assert engine_urn("dev", "p", stack_urn, "a:b:C", "x") == "urn:pulumi:dev::p::a:b:C::x"
    assert engine_urn("dev", "p", "urn:pulumi:dev::p::a:b:C::x", "d:e:F", "y") == "urn:pulumi:dev::p::a:b:C$d:e:F::y"


def test_the_urns_tool_reports_a_lost_urn_with_exit_1_and_a_new_one_with_0(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(urns, "PIN_DIR", tmp_path)
    (tmp_path / "dev.txt").write_text("urn:pulumi:dev::toolhive::toolhive:platform:Gone::old\n")
    assert urns.main(["dev"]) == 1
    out = capsys.readouterr().out
    assert "- urn:pulumi:dev::toolhive::toolhive:platform:Gone::old (lost without an alias" in out
    assert "+ urn:pulumi:dev::toolhive::pulumi:pulumi:Stack::toolhive-dev" in out
    assert urns.main(["--write", "dev"]) == 0
    (tmp_path / "dev.txt").write_text("".join(line + "\n" for line in (tmp_path / "dev.txt").read_text().splitlines()[1:]))
    assert urns.main(["dev"]) == 0  # a URN not pinned yet is no failure
