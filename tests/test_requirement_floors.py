"""Requirement floors tell the truth: each requirements file admits the versions the tests run with, and
its lowest admitted version of a package satisfies what the other packages of the same file (as
installed) require of it. So pulumi's floor is never below what pulumi-kubernetes or pulumi-policy need."""
from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.conftest import imported_top_level_modules

PROJECT_ROOT = Path(__file__).resolve().parents[1]
REQUIREMENT_FILES = ["requirements.txt", "policies/requirements.txt", "requirements-dev.txt"]


def read_requirements(path: Path) -> dict[str, Requirement]:
    """Requirements of one file and the files it includes with -r, by canonical name; a package named
    twice gets both specifiers, as pip applies them."""
    found: dict[str, Requirement] = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r"):
            requirements = list(read_requirements(path.parent / line[2:].strip()).values())
        else:
            requirements = [Requirement(line)] if line else []
        for requirement in requirements:
            name = canonicalize_name(requirement.name)
            if name in found:
                requirement = Requirement(f"{requirement.name}{found[name].specifier & requirement.specifier}")
            found[name] = requirement
    return found


def floor(requirement: Requirement) -> Version:
    lows = [Version(s.version) for s in requirement.specifier if s.operator in (">=", "==", "~=")]
    assert lows, f"{requirement}: no floor (>=, == or ~=)"
    return max(lows)


def needs(dependent: str) -> list[Requirement]:
    """What the installed distribution `dependent` requires (markers of this interpreter; no extras)."""
    requirements = [Requirement(r) for r in importlib.metadata.requires(dependent) or []]
    return [r for r in requirements if r.marker is None or r.marker.evaluate({"extra": ""})]


@pytest.mark.parametrize("filename", REQUIREMENT_FILES)
def test_every_requirement_admits_the_installed_version_the_tests_run_with(filename):
    for name, requirement in read_requirements(PROJECT_ROOT / filename).items():
        installed = importlib.metadata.version(name)
        assert requirement.specifier.contains(installed, prereleases=True), f"{filename}: {requirement} vs {installed}"


@pytest.mark.parametrize("filename", REQUIREMENT_FILES)
def test_every_floor_satisfies_what_the_other_requirements_need(filename):
    declared = read_requirements(PROJECT_ROOT / filename)
    for dependent in declared:
        for need in needs(dependent):
            ours = declared.get(canonicalize_name(need.name))
            if ours is not None:
                assert need.specifier.contains(floor(ours), prereleases=True), (
                    f"{filename}: {ours} admits {floor(ours)}, but {dependent} "
                    f"{importlib.metadata.version(dependent)} needs {need}")


@pytest.mark.process
def test_the_program_imports_only_what_requirements_txt_installs():
    """`pulumi up` runs in a virtualenv made from requirements.txt alone (Pulumi.yaml): every third-party
    module the program imports — components/, __main__.py and the policy modules it shares — must come
    from a distribution requirements.txt names, and the program never imports the test tools."""
    declared = set(read_requirements(PROJECT_ROOT / "requirements.txt"))
    providers = importlib.metadata.packages_distributions()
    shared = subprocess.run(  # the policy modules the program really loads (not the pack's pulumi_policy glue)
        [sys.executable, "-c", "import components.program, sys; print('\\n'.join(sorted(m.__file__ for n, m in "
         "sys.modules.items() if n.startswith('policies.'))))"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, check=True).stdout.split()
    assert shared, "the program shares the replica rules with the pack"
    files = [PROJECT_ROOT / "__main__.py", *sorted((PROJECT_ROOT / "components").rglob("*.py")), *map(Path, shared)]
    for path in files:
        for module in imported_top_level_modules(path) - set(sys.stdlib_module_names) - {"__future__"}:
            if module in ("components", "policies"):
                continue
            dists = {canonicalize_name(d) for d in providers.get(module, [])}
            assert dists & declared, f"{path.relative_to(PROJECT_ROOT)} imports {module!r} ({dists or 'not installed'})"
