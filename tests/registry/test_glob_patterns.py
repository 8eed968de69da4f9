r"""Registry filter patterns are refused exactly when Go's filepath.Match refuses them (the server's name and tag
filters, v1.3.0): no more (`a]b`, `[[]` and `[\]]` are fine) and no less (a bad part after a `*` fails only the
names that get that far, so it is refused too)."""
from __future__ import annotations

import json

import pytest

from components.config.registry import _glob
from tests.conftest import DATA_DIR

TABLE = json.loads((DATA_DIR / "go-filepath-match" / "patterns.json").read_text())


def accepted(pattern: str) -> bool:
    try:
        return _glob(pattern) == pattern
    except ValueError:
        return False


def test_the_table_covers_both_verdicts():
    assert len(TABLE) == 3000
    assert 1000 < sum(row["valid"] for row in TABLE) < 2000


def test_every_pattern_is_accepted_exactly_when_go_accepts_it():
    disagree = [row for row in TABLE if accepted(row["pattern"]) != row["valid"]]
    assert disagree == []


EMPTY_OR_OPEN_RANGE = "a '[...]' class is empty, has a range without an end, or starts a range with '-' or ']'"


@pytest.mark.parametrize("pattern, reason", [
    ("official/[a-z", "'[' is not closed"),
    ("official/[a\\", "'[' is not closed"),  # the escape has nothing to escape
    ("[]", EMPTY_OR_OPEN_RANGE),
    ("[a-]", EMPTY_OR_OPEN_RANGE),
    ("[-a]", EMPTY_OR_OPEN_RANGE),
    ("io.github.*/x\\", "it ends in a lone '\\'"),
    ("team-*[", EMPTY_OR_OPEN_RANGE),
])
def test_a_refused_pattern_says_why_in_gos_terms(pattern, reason):
    with pytest.raises(ValueError) as raised:
        _glob(pattern)
    assert str(raised.value) == f"{pattern!r} is not a valid glob pattern for Go's filepath.Match: {reason}"


@pytest.mark.parametrize("pattern", ["[X]", "[A-Z]*", "[^X]-v1", "X[Y]", "[\\X]"])
def test_letters_the_generated_table_lacks_are_ordinary_class_members(pattern):
    assert accepted(pattern)


# Verdicts of Go 1.26's filepath.Match for patterns with a `*` between or inside classes (checked with `go run`
# over names that reach every part): a `*` cuts the pattern only where no class is open, and every part counts.
@pytest.mark.parametrize("pattern, valid", [
    ("[*]", True), ("a*[", False), ("[a*", False), ("\\*", True), ("*[]", False), ("[*-]", False),
    ("a*b*[^]]", False), ("[a]*]", True), ("x*\\", False), ("[\\]*]*[", False), ("**", True), ("[a-*]", True),
])
def test_a_star_between_or_inside_classes_reads_as_go_reads_it(pattern, valid):
    assert accepted(pattern) is valid
