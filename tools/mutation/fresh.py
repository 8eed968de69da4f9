"""pytest plugin for mutation runs (loaded by tools.mutation with `-p tools.mutation.fresh`).

Every mutant runs in a process forked from mutmut's fork server, which has imported modules but never run a
test, so no render cache or lru_cache carries over from another run (see preload.txt). What is left: in
the stats run (which test calls which function), a test that reuses a render cached by an earlier test
calls nothing, and mutmut would not run it for a mutant of the program. The render cache therefore
remembers the functions each render called and charges them to every test that reads that render. The same
holds for the caches inside a mutated module (the dry run's compiled plans, per-object results and catalogs):
in the stats run they are emptied before each test, so every test that needs them is seen calling the
functions that fill them (seen: rules inside list items, evaluated by six tests, were charged to one).
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest


def _clear_validate_cel() -> None:
    from tools.validate import cel

    cel._PLANS.clear()
    cel._RESULTS.clear()


def _clear_validate_schema() -> None:
    from tools.validate import schema

    schema.clear_caches()


def _clear_validate_reachability() -> None:
    from tools.validate import reachability

    reachability._network.cache_clear()
    reachability._address.cache_clear()


def _clear_registry_data() -> None:
    from components.registry import data

    data._validator.cache_clear()


#: A mutated module's own caches: what they skip calling on a hit would otherwise be charged to the first test only.
MODULE_CACHES = {
    "tools/validate/cel.py": _clear_validate_cel,
    "tools/validate/schema.py": _clear_validate_schema,
    "tools/validate/reachability.py": _clear_validate_reachability,
    "components/registry/data.py": _clear_registry_data,
}


class AttributingCache(dict):
    """A render cache that charges the functions a render called to every later reader of that render."""

    def __init__(self):
        super().__init__()
        self.called: dict[str, set[str]] = {}

    def get(self, key, default=None):
        from mutmut.state import state

        found = super().get(key, default)
        if found is not None:
            state()._stats.update(self.called.get(key, ()))
        return found

    def __setitem__(self, key, value):
        from mutmut.state import state

        self.called[key] = set(state()._stats)
        super().__setitem__(key, value)


def pytest_sessionstart(session):
    if os.environ.get("MUTANT_UNDER_TEST") == "stats":
        import tests.conftest

        tests.conftest._RENDERS = AttributingCache()


def pytest_runtest_setup(item):
    if os.environ.get("MUTANT_UNDER_TEST") == "stats":
        for module in filter(None, os.environ.get("TOOLHIVE_MUTATION_MODULES", "").split(",")):
            clear = MODULE_CACHES.get(module)
            if clear is not None:
                clear()


def stats_durations(folder: Path) -> dict[str, float]:
    """How long each test took in mutmut's stats run (mutmut-stats.json, in the folder the tests run in)."""
    try:
        return json.loads((folder / "mutmut-stats.json").read_text()).get("duration_by_test") or {}
    except (OSError, ValueError):
        return {}


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """A mutant's tests run fastest first. mutmut hands them over in the order of a set and stops at the first
    failure (-x), so a mutant that a row of a table kills in milliseconds waited for whole-stack renders first
    whenever the set put those ahead. The order of tests changes no verdict: the suite already runs them in any
    order (xdist). Tests the stats run did not time go last, in their order."""
    durations = stats_durations(Path(str(config.rootpath)))
    if durations:
        items.sort(key=lambda item: durations.get(item.nodeid.removeprefix("mutants/"), math.inf))
