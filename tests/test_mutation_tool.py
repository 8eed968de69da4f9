"""The mutation tool's configuration stays whole: every module it covers has its tests, every entry is real."""
from __future__ import annotations

import json
import tomllib

import pytest

from tests.conftest import PROJECT_ROOT
from tools.mutation.__main__ import HERE, load_equivalents, load_targets, modules_under


def test_every_module_under_the_configured_paths_is_mapped_to_test_files_that_exist():
    paths, tests = load_targets()
    for path in paths:
        folder = PROJECT_ROOT / path
        on_disk = sorted(str(p.relative_to(PROJECT_ROOT)) for p in folder.rglob("*.py")) if folder.is_dir() else [path]
        assert modules_under(path, tests) == on_disk, f"{path}: map each module in tools/mutation/targets.toml"
    for module, files in tests.items():
        assert files, module
        for file in files:
            assert (PROJECT_ROOT / file).is_file(), f"{module}: {file} does not exist"


def test_every_equivalent_mutant_says_which_line_and_why():
    document = tomllib.loads((HERE / "equivalents.toml").read_text())
    for entry in document.get("equivalent", []):
        assert set(entry) == {"mutant", "line", "why"}, entry
        assert entry["why"].strip() and entry["line"].strip(), entry
        base = entry["mutant"].split(".x")[0].replace(".", "/")
        assert any((PROJECT_ROOT / module).is_file() for module in (f"{base}.py", f"{base}/__init__.py")), entry["mutant"]
    assert len(load_equivalents()) == len(document.get("equivalent", [])), "a mutant listed twice"


def test_a_rerun_tests_again_every_mutant_no_test_killed(tmp_path):
    """mutmut re-tests only changed functions; a test written for a survivor changes no code, so the tool forgets
    the survivors' (and untested mutants') results and keeps the kills."""
    import json

    from tools.mutation.__main__ import retest_survivors

    meta = tmp_path / "mutants" / "components" / "m.py.meta"
    meta.parent.mkdir(parents=True)
    meta.write_text(json.dumps({"exit_code_by_key": {"killed": 1, "pytest-error": 3, "survived": 0, "no-tests": 33,
                                                     "no-tests-collected": 5, "timeout": 36, "not-run": None},
                                "durations_by_key": {"killed": 1.5}}))
    assert retest_survivors(tmp_path) == 3
    data = json.loads(meta.read_text())
    assert data["exit_code_by_key"] == {"killed": 1, "pytest-error": 3, "survived": None, "no-tests": None,
                                        "no-tests-collected": None, "timeout": 36, "not-run": None}
    assert data["durations_by_key"] == {"killed": 1.5}


def test_a_rerun_collects_which_tests_call_which_function_anew(tmp_path):
    """mutmut collects stats only for tests it has not seen: kept, they would miss every function added since."""
    from tools.mutation.__main__ import retest_survivors

    stats = tmp_path / "mutants" / "mutmut-stats.json"
    stats.parent.mkdir(parents=True)
    stats.write_text('{"tests_by_mangled_function_name": {}}')
    retest_survivors(tmp_path)
    assert not stats.exists()


@pytest.mark.process
def test_the_fork_server_warms_no_cache_of_a_module_being_mutated():
    """A cache the fork server fills with the original code would hide a mutant of the function that fills it."""
    import subprocess
    import sys

    probe = ("import sys, tools.mutation.warm; from tools.validate import schema; from components import bundle; "
             "print(schema._builtin_catalog_for.cache_info().currsize, schema._crd_catalog.cache_info().currsize, "
             "bundle.crd_documents.cache_info().currsize, 'pulumi_kubernetes.core.v1' in sys.modules)")
    sizes = {}
    for mutated in ("tools/validate/schema.py", "components/servers/server.py"):
        result = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True,
                                env={"PATH": "/usr/bin:/bin", "TOOLHIVE_MUTATION_MODULES": mutated}, timeout=120)
        assert result.returncode == 0, result.stderr
        sizes[mutated] = result.stdout.split()
    assert sizes["tools/validate/schema.py"] == ["0", "0", "1", "True"]
    assert sizes["components/servers/server.py"] == ["1", "1", "1", "True"]


def test_every_module_cache_of_a_configured_module_is_emptied_before_each_stats_test(monkeypatch):
    """A cache hit skips the function that fills it: mutmut would charge that function to the first test only."""
    from tools.mutation import fresh
    from tools.validate import cel, schema

    cel._PLANS[0] = ("x", None)
    schema._RESULTS[("x",)] = ()
    monkeypatch.setenv("MUTANT_UNDER_TEST", "stats")
    monkeypatch.setenv("TOOLHIVE_MUTATION_MODULES", "tools/validate/cel.py")
    fresh.pytest_runtest_setup(None)
    assert cel._PLANS == {} and schema._RESULTS  # only the mutated module's caches
    monkeypatch.setenv("TOOLHIVE_MUTATION_MODULES", "tools/validate/schema.py")
    fresh.pytest_runtest_setup(None)
    assert schema._RESULTS == {}
    _, tests = load_targets()
    assert set(fresh.MODULE_CACHES) <= set(tests)


def test_a_mutants_tests_run_fastest_first_by_the_stats_runs_timings(tmp_path):
    """mutmut passes a mutant's tests in set order and stops at the first failure: the quick rows come first."""
    from types import SimpleNamespace

    from tools.mutation import fresh

    (tmp_path / "mutmut-stats.json").write_text(json.dumps({"duration_by_test": {
        "tests/a.py::render": 3.0, "tests/a.py::row": 0.001, "tests/b.py::check": 0.2}}))
    items = [SimpleNamespace(nodeid=name) for name in ("tests/a.py::render", "tests/new.py::untimed",
                                                       "mutants/tests/b.py::check", "tests/a.py::row")]
    fresh.pytest_collection_modifyitems(SimpleNamespace(rootpath=tmp_path), items)
    assert [item.nodeid for item in items] == ["tests/a.py::row", "mutants/tests/b.py::check", "tests/a.py::render",
                                               "tests/new.py::untimed"]
    unordered = list(reversed(items))
    fresh.pytest_collection_modifyitems(SimpleNamespace(rootpath=tmp_path / "no-stats"), unordered)
    assert unordered == list(reversed(items))  # no stats run yet: left as collected
