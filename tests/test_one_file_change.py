"""Adding, removing or renaming one server file is a one-file pull request: a copy of each shipped stack
with its server directory changed that way passes every stack check of the suite, with no pin to move."""
from __future__ import annotations

import shutil

import pytest
import yaml

from tests.conftest import PROJECT_ROOT, STACKS, render_config, shipped_servers, stack_file
from tests.stack_checks import assert_servers_render_as_declared, stack_problems


def added_server(stack: str) -> dict:
    """A new stdio server in the stack's first tenant namespace, joining that namespace's first group."""
    tenant = stack_file(stack)["toolhive:namespaces"][0]
    spec = {"image": "ghcr.io/stackloklabs/gofetch/server:1.0.1", "transport": "stdio"}
    if tenant.get("groups"):
        spec["group"] = tenant["groups"][0]["name"]
    return {"kind": "MCPServer", "name": "added-by-a-pr", "namespace": tenant["name"], "spec": spec}


def render_with_directory(stack: str, directory, preview: bool):
    config = stack_file(stack)
    toolhive = {key.split(":", 1)[1]: value for key, value in config.items() if key.startswith("toolhive:")}
    toolhive["servers"] = {**toolhive["servers"], "directory": str(directory)}
    others = {key: value for key, value in config.items() if not key.startswith("toolhive:")}
    secret_keys = [key for key, value in config.items() if value == "[secret]"]
    return render_config(toolhive, extra=others, secret_keys=secret_keys, stack=stack, preview=preview)


def copy_of_servers(stack: str, tmp_path):
    source = PROJECT_ROOT / stack_file(stack)["toolhive:servers"]["directory"]
    return shutil.copytree(source, tmp_path / "servers" / stack)


@pytest.mark.parametrize("stack", STACKS)
def test_a_new_server_file_passes_every_stack_check(stack, tmp_path, preview):
    directory = copy_of_servers(stack, tmp_path)
    new = added_server(stack)
    (directory / "added-by-a-pr.yaml").write_text(yaml.safe_dump({k: v for k, v in new.items()}))
    rendered = render_with_directory(stack, directory, preview)
    assert stack_problems(stack, rendered) == []
    assert_servers_render_as_declared(rendered, [*shipped_servers(stack), {**new, "file": "added-by-a-pr.yaml"}])


def test_a_removed_and_a_renamed_server_file_pass_every_stack_check(tmp_path, preview):
    directory = copy_of_servers("dev", tmp_path)
    declared = shipped_servers("dev")
    removed, renamed = [e for e in declared if e["kind"] == "MCPServer"][:2]
    (directory / removed["file"].rsplit("/", 1)[1]).unlink()
    old_file = directory / renamed["file"].rsplit("/", 1)[1]
    document = yaml.safe_load(old_file.read_text())
    old_file.unlink()
    (directory / "renamed.yaml").write_text(yaml.safe_dump({**document, "name": "renamed"}))
    rendered = render_with_directory("dev", directory, preview)
    assert stack_problems("dev", rendered) == []
    kept = [e for e in declared if e not in (removed, renamed)]
    assert_servers_render_as_declared(rendered, [*kept, {**renamed, "name": "renamed", "file": "renamed.yaml"}])
