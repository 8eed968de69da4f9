"""pytest plugin for mutation runs (loaded by tools.mutation with `-p tools.mutation.fresh`).

mutmut runs pytest again and again in one process and its forks. Two things would hide a mutant:

- Modules imported by an earlier run keep their state (the render cache of tests/conftest.py, lru_caches,
  constants computed at import). Every run starts by dropping the project's modules, so the mutated code
  is imported and run anew.
- In the stats run (which test calls which function), a test that reuses a cached render calls nothing.
  The render cache then remembers the functions each render called and charges them to every test that
  reads that render, so the mutant runs all of them.
"""
from __future__ import annotations

import os
import sys

import pytest

PROJECT_PACKAGES = ("components", "tools", "policies", "tests", "bench")


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    for name in list(sys.modules):
        if name.split(".")[0] in PROJECT_PACKAGES and not name.startswith("tools.mutation"):
            del sys.modules[name]


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
