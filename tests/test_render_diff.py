"""`python -m tools.render STACK --diff BASE`: the review view of a pull request. Resources to create,
update (with the changed fields), replace (saying why) or delete, each naming the server file or stack
key behind it, secrets as [secret]; from a previous render directory or a git ref rendered aside."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from tests.conftest import GIT, PROJECT_ROOT, project_copy
from tools import render_diff

STACK = "urn:pulumi:dev::toolhive::pulumi:pulumi:Stack::toolhive-dev"
SERVERS = "urn:pulumi:dev::toolhive::toolhive:servers:Servers::servers"
FETCH = "urn:pulumi:dev::toolhive::toolhive:servers:Servers$toolhive:servers:McpServer::mcp-dev-mcpserver-fetch"
OPERATOR = "urn:pulumi:dev::toolhive::toolhive:platform:Platform$toolhive:platform:Operator::operator"
PLATFORM = "urn:pulumi:dev::toolhive::toolhive:platform:Platform::platform"


def component(urn: str, parent: str = STACK) -> dict:
    return {"urn": urn, "type": urn.split("::")[2].split("$")[-1], "name": urn.rsplit("::", 1)[1], "parent": parent,
            "inputs": {}, "aliases": []}


def k8s(parent: str, kind: str, name: str, namespace: str | None = "mcp-dev", urn_name: str | None = None,
        aliases: list | None = None, **body) -> dict:
    chain = parent.split("::")[2]
    api = {"Deployment": "apps/v1", "RoleBinding": "rbac.authorization.k8s.io/v1"}.get(kind, "v1")
    urn = f"urn:pulumi:dev::toolhive::{chain}$kubernetes:{api.replace('v1', '') or 'core/'}v1:{kind}::{urn_name or name}"
    metadata = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"urn": urn, "type": urn.split("::")[2].split("$")[-1], "name": urn_name or name, "parent": parent,
            "aliases": aliases or [], "protect": False,
            "inputs": {"apiVersion": api, "kind": kind, "metadata": metadata, **body}}


COMPONENTS = [component(SERVERS), component(FETCH, SERVERS), component(PLATFORM), component(OPERATOR, PLATFORM)]
FILES = {"mcp-dev-mcpserver-fetch": "servers/dev/fetch.yaml"}


def diff(old: list[dict], new: list[dict]) -> render_diff.Diff:
    return render_diff.compare([*COMPONENTS, *old], [*COMPONENTS, *new], stack="dev", base="main", server_files=FILES)


def test_a_new_object_is_a_create_naming_its_server_file_and_a_gone_one_a_delete():
    policy = k8s(FETCH, "ConfigMap", "fetch-extra", data={"a": "1"})
    result = diff([], [policy])
    [change] = result.changes
    assert (change.action, change.what, change.source) == ("create", "ConfigMap mcp-dev/fetch-extra", "servers/dev/fetch.yaml")
    [change] = diff([policy], []).changes
    assert (change.action, change.source) == ("delete", "servers/dev/fetch.yaml")
    assert result.summary() == "stack dev against main: 1 to create, 0 to update, 0 to replace, 0 to delete"


def test_an_update_lists_the_changed_fields_and_the_stack_key_behind_them():
    before = k8s(OPERATOR, "Deployment", "toolhive-operator", "toolhive-system",
                 spec={"replicas": 1, "selector": {"matchLabels": {"app": "op"}}, "template": {"spec": {"x": [1, 2]}}})
    after = json.loads(json.dumps(before))
    after["inputs"]["spec"]["replicas"] = 2
    after["inputs"]["spec"]["template"]["spec"]["x"] = [1, 3]
    [change] = diff([before], [after]).changes
    assert (change.action, change.source, change.why) == ("update", "toolhive:operator", "")
    assert change.fields == ["spec.replicas: 1 -> 2", "spec.template.spec.x[1]: 2 -> 3"]


def test_a_replace_says_why_immutable_field_new_name_or_a_urn_lost_without_alias():
    deployment = k8s(OPERATOR, "Deployment", "op", "toolhive-system", spec={"selector": {"matchLabels": {"app": "op"}}})
    moved = json.loads(json.dumps(deployment))
    moved["inputs"]["spec"]["selector"]["matchLabels"]["app"] = "operator"
    [change] = diff([deployment], [moved]).changes
    assert change.action == "replace" and change.why == "spec.selector cannot change in place (immutable field)"

    binding = k8s(OPERATOR, "RoleBinding", "b", roleRef={"kind": "Role", "name": "a"})
    rebound = json.loads(json.dumps(binding))
    rebound["inputs"]["roleRef"]["name"] = "c"
    assert diff([binding], [rebound]).changes[0].why == "roleRef cannot change in place (immutable field)"

    renamed = json.loads(json.dumps(deployment))
    renamed["inputs"]["metadata"]["name"] = "operator"
    [change] = diff([deployment], [renamed]).changes
    assert change.action == "replace" and change.why == "new name: op -> operator"

    new_urn = k8s(OPERATOR, "Deployment", "op", "toolhive-system", urn_name="operator-deployment",
                  spec={"selector": {"matchLabels": {"app": "op"}}})
    [change] = diff([deployment], [new_urn]).changes
    assert change.action == "replace" and change.why.startswith(f"its URN changed without an alias (was {deployment['urn']})")
    aliased = {**new_urn, "aliases": [deployment["urn"]]}
    assert diff([deployment], [aliased]).changes == []  # the engine matches it by its alias: nothing happens


def test_secret_values_never_show_in_the_diff():
    before = k8s(FETCH, "Secret", "fetch-secret-token", stringData={"TOKEN": "old-plaintext-value"})
    after = k8s(FETCH, "Secret", "fetch-secret-token", stringData={"TOKEN": "new-plaintext-value", "OTHER": "x-value"})
    result = diff([before], [after])
    [change] = result.changes
    assert change.fields == ['stringData.OTHER: added "[secret]"']
    assert "plaintext" not in result.markdown() + result.text() and "x-value" not in result.markdown()


@pytest.mark.process
def test_diff_against_a_git_ref_shows_a_new_server_file_as_creates_from_that_file(tmp_path):
    """The acceptance test: a new server file in servers/dev, committed; --diff HEAD~1 renders the parent
    commit aside and shows exactly that server's resources as creates, named by its file."""
    project = project_copy(tmp_path / "project", skip=("tests/", "bench/", "docs/"))
    (project / "servers" / "dev" / "notes.yaml").write_text(yaml.safe_dump({
        "kind": "MCPServer", "name": "notes", "namespace": "mcp-dev",
        "spec": {"image": "ghcr.io/stackloklabs/gofetch/server:1.0.1", "transport": "stdio"}}))
    subprocess.run([*GIT, "add", "-A"], cwd=project, check=True)
    subprocess.run([*GIT, "commit", "-qm", "a server"], cwd=project, check=True)

    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "tools.render", "dev", "--out", str(out), "--diff", "HEAD~1"],
                            cwd=project, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    markdown = (out / "diff.md").read_text()
    assert "1 to create" not in markdown and "0 to update, 0 to replace, 0 to delete" in markdown
    created = [line for line in markdown.splitlines() if line.startswith("- **")]
    assert created == [f"- **{what}** — from `servers/dev/notes.yaml`" for what in (
        "NetworkPolicy mcp-dev/notes-backend", "NetworkPolicy mcp-dev/notes-proxy", "MCPServer mcp-dev/notes")]
    assert "stack dev against HEAD~1: 3 to create" in result.stdout
    assert subprocess.run(["git", "worktree", "list"], cwd=project, capture_output=True, text=True).stdout.count("\n") == 1



def test_a_render_diffed_against_its_own_render_directory_has_no_changes(tmp_path, capsys):
    from tools import render as render_tool

    assert render_tool.main(["dev", "--out", str(tmp_path / "base")]) == 0
    assert render_tool.main(["dev", "--out", str(tmp_path / "again"), "--diff", str(tmp_path / "base")]) == 0
    assert "No resource changes." in (tmp_path / "again" / "diff.md").read_text()
    assert f"stack dev against {tmp_path / 'base'}: 0 to create, 0 to update, 0 to replace, 0 to delete" in capsys.readouterr().out


def test_a_base_that_is_neither_a_render_nor_a_ref_exits_2(tmp_path, capsys):
    from tools import render as render_tool

    assert render_tool.main(["dev", "--out", str(tmp_path / "out"), "--diff", "no-such-ref-or-dir"]) == 2
    assert f"--diff no-such-ref-or-dir: neither a render directory nor a git ref of {PROJECT_ROOT}" in capsys.readouterr().err
