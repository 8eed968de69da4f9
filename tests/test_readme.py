"""The README works as written: every fenced shell command that is safe offline runs (in a copy of the
project, in the README's order) and exits 0; every YAML snippet passes the config models; the reference
lists every server-file field and every `toolhive:` key."""
from __future__ import annotations

import re
import shlex
import subprocess
import sys

import pytest
import yaml

from components.config import StackConfig
from components.config.loader import parse_stack_config
from components.config.servers import KINDS, McpServerSpec, Publishable, RemoteProxySpec, VirtualServerSpec
from tests.conftest import PROJECT_ROOT, project_copy

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
BLOCKS = FENCE.findall(README)

#: Modules (and subcommands) that need nothing beyond the project: no network, no cluster, no Pulumi CLI.
SAFE_OFFLINE = ("tools.render", "tools.urns", "policies.check", "tools.registry_pins check")
#: What the README runs with .venv/bin/python that is not safe offline, and why.
NOT_OFFLINE = {"tools.registry_pins update": "fetches the git sources", "bench": "minutes, and installs checkov",
               "pytest": "the suite itself",
               "tools.e2e": "builds and starts the real engine, API server and operator (CI runs it after the suite)"}


def shell_commands() -> list[str]:
    commands = []
    for lang, body in BLOCKS:
        if lang not in ("sh", "bash", "shell"):
            continue
        for line in body.splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            if line and not line.startswith("#"):
                commands.append(line)
    return commands


def offline(command: str) -> bool:
    """A single .venv/bin/python -m command of a safe module (chains with a venv or pip install are not)."""
    if not command.startswith(".venv/bin/python -m ") or "&&" in command or "|" in command:
        return False
    words = command.split()
    return words[2] in SAFE_OFFLINE or " ".join(words[2:4]) in SAFE_OFFLINE


def test_every_python_command_is_either_run_offline_or_known_not_to_be():
    for command in shell_commands():
        for part in (p.strip() for p in command.split("&&")):
            if part.startswith(".venv/bin/python -m ") and not offline(part):
                words = part.split()
                assert words[2] in NOT_OFFLINE or " ".join(words[2:4]) in NOT_OFFLINE, part
    assert sum(map(offline, shell_commands())) >= 5


@pytest.mark.process
def test_every_offline_command_of_the_readme_runs_as_written(tmp_path):
    project = project_copy(tmp_path / "project", skip=("tests/data/pss/", "tests/data/toolhive/"), message="readme")
    (project / ".venv" / "bin").mkdir(parents=True)
    python = project / ".venv" / "bin" / "python"  # what the README's first command made: this interpreter
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    ran = []
    for command in dict.fromkeys(filter(offline, shell_commands())):  # each once, in the README's order
        result = subprocess.run(shlex.split(command), cwd=project, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, f"{command}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        ran.append(command)
    assert any(c.startswith(".venv/bin/python -m tools.render dev") for c in ran)


def _yaml_snippets() -> list[dict]:
    return [yaml.safe_load(body) for lang, body in BLOCKS if lang == "yaml"]


@pytest.mark.parametrize("snippet", _yaml_snippets(),
                         ids=lambda s: f"server {s['name']}" if "spec" in s else "config " + ",".join(s["config"]))
def test_every_config_snippet_passes_the_config_models(snippet):
    if "spec" in snippet:  # a server file
        parse_stack_config({"servers": {KINDS[snippet.get("kind", "MCPServer")][0]: [snippet]}})
    else:
        toolhive = {key.split(":", 1)[1]: value for key, value in snippet["config"].items()}
        parse_stack_config({"cluster": {"context": "c"}, **toolhive})


def test_the_reference_lists_every_server_file_field_and_every_toolhive_key():
    table = README.split("### Server files: every field", 1)[1].split("\n### ", 1)[0]
    for model in (McpServerSpec, RemoteProxySpec, VirtualServerSpec, Publishable):
        for name, field in model.model_fields.items():
            assert f"`{field.alias or name}`" in table, f"{model.__name__}.{field.alias or name} is not in the README"
    for name, field in StackConfig.model_fields.items():
        assert f"`toolhive:{field.alias or name}" in README, f"toolhive:{field.alias or name} is not in the README"
