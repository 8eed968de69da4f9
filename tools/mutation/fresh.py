"""pytest plugin for mutation runs (loaded by tools.mutation with `-p tools.mutation.fresh`).

Every mutant runs in a process forked from mutmut's fork server, which has imported modules but never run a
test, so no render cache or lru_cache carries over from another run (see preload.txt). What is left: in
the stats run (which test calls which function), a test that reuses a render cached by an earlier test
calls nothing, and mutmut would not run it for a mutant of the program. The render cache therefore
remembers the functions each render called and charges them to every test that reads that render.
"""
from __future__ import annotations

import os


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
