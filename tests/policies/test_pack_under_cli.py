"""The pack under the Pulumi CLI: `pulumi preview --policy-pack policies` runs
`<virtualenv>/bin/python -u -m pulumi.policy <engine> <pack dir>` (virtualenv from PulumiPolicy.yaml)
with the pack directory as working directory, and `pulumi policy publish` ships the directory alone.
So the pack names its virtualenv, the README and the workflows create exactly that one, the pack
imports nothing from outside its directory, and it starts from a fresh virtualenv holding only
policies/requirements.txt, in a checkout and copied alone."""
from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from policies import pack, registry, typetokens
from tests.conftest import imported_top_level_modules
from tests.policies.conftest import (
    POLICIES_DIR, PROJECT_ROOT, pack_ignore_patterns, pack_manifest, pack_virtualenv, running_pack,
    shim_environment, toolhive,
)


def creates_the_pack_virtualenv(script: str) -> bool:
    """`python3 -m venv policies/<virtualenv>` and `policies/<virtualenv>/bin/pip install -r
    policies/requirements.txt`, with the virtualenv PulumiPolicy.yaml names."""
    venv = pack_virtualenv().relative_to(PROJECT_ROOT).as_posix()
    install = f"{venv}/bin/pip install -r {POLICIES_DIR.name}/requirements.txt"
    return bool(re.search(rf"python3? -m venv {re.escape(venv)}(?:\s|$)", script)) and install in script


class TestPackVirtualenv:
    def test_pulumi_policy_yaml_names_a_virtualenv_inside_the_pack(self):
        runtime = pack_manifest()["runtime"]
        assert runtime["name"] == "python" and runtime["options"]["toolchain"] == "pip"
        virtualenv = Path(runtime["options"]["virtualenv"])
        assert not virtualenv.is_absolute() and ".." not in virtualenv.parts
        assert pack_virtualenv() == POLICIES_DIR / virtualenv

    def test_publish_leaves_the_virtualenv_and_bytecode_out(self):
        virtualenv = pack_virtualenv().relative_to(POLICIES_DIR).as_posix()
        assert {virtualenv, "__pycache__", "*.pyc"} <= set(pack_ignore_patterns())

    def test_readme_creates_exactly_that_virtualenv(self):
        assert creates_the_pack_virtualenv((PROJECT_ROOT / "README.md").read_text())

    @pytest.mark.parametrize("workflow", sorted((PROJECT_ROOT / ".github" / "workflows").glob("*.yml")),
                             ids=lambda p: p.name)
    def test_every_workflow_job_running_the_pack_creates_that_virtualenv_first(self, workflow):
        for name, job in yaml.safe_load(workflow.read_text())["jobs"].items():
            steps = job.get("steps", [])
            runs_pack = [i for i, s in enumerate(steps) if "policyPacks" in (s.get("with") or {})]
            for index in runs_pack:
                assert steps[index]["with"]["policyPacks"] == POLICIES_DIR.name, (workflow.name, name)
                before = "\n".join(str(s.get("run", "")) for s in steps[:index])
                assert creates_the_pack_virtualenv(before), (workflow.name, name)


def test_pack_modules_import_only_the_standard_library_and_the_pack_requirements():
    """Inside the pack, modules import each other relatively; everything else must come with
    policies/requirements.txt (the only thing in the pack's virtualenv)."""
    declared = {canonicalize_name(Requirement(line.split("#")[0]).name)
                for line in (POLICIES_DIR / "requirements.txt").read_text().splitlines()
                if line.split("#")[0].strip()}
    providers = importlib.metadata.packages_distributions()
    for path in sorted(POLICIES_DIR.rglob("*.py")):
        for module in imported_top_level_modules(path) - set(sys.stdlib_module_names) - {"__future__"}:
            dists = {canonicalize_name(d) for d in providers.get(module, [])}
            assert dists & declared, f"{path.relative_to(PROJECT_ROOT)} imports {module!r} (from {dists or 'the project'})"


# ---------------------------------------------------------------------------------------------
# Started as the CLI's shim starts it, from a fresh virtualenv (built once per run: slow)
# ---------------------------------------------------------------------------------------------

def _analyzer_info(stub):
    from google.protobuf import empty_pb2
    return stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)


def test_pack_starts_from_its_own_virtualenv_in_the_checkout(published_pack):
    virtualenv = pack_virtualenv(published_pack)
    with running_pack(virtualenv / "bin" / "python", POLICIES_DIR, env=shim_environment(virtualenv)) as stub:
        info = _analyzer_info(stub)
    assert info.name == pack.PACK_NAME
    assert [p.name for p in info.policies] == registry.policy_names()


def test_pack_starts_when_published_alone(published_pack):
    assert published_pack.name != POLICIES_DIR.name and not (published_pack.parent / "components").exists()
    virtualenv = pack_virtualenv(published_pack)
    with running_pack(virtualenv / "bin" / "python", published_pack, env=shim_environment(virtualenv)) as stub:
        info = _analyzer_info(stub)
        from google.protobuf import struct_pb2
        from pulumi.runtime.proto import analyzer_pb2
        server = toolhive("VirtualMCPServer", "gateway", config={"outgoingAuth": {"default": {
            "type": "token_exchange", "tokenExchange": {"clientId": "gw", "clientSecret": "s3cr3t"}}}})
        properties = struct_pb2.Struct()
        properties.update(server)
        response = stub.Analyze(analyzer_pb2.AnalyzeRequest(
            type=typetokens.type_token(server["apiVersion"], server["kind"]), properties=properties,
            urn="urn:pulumi:dev::p::x::gateway", name="gateway"), timeout=30)
    assert [p.name for p in info.policies] == registry.policy_names()
    found = [d for d in response.diagnostics if d.policyName == "no-inline-credentials"]
    assert found and all("s3cr3t" not in d.message for d in response.diagnostics)
