"""The real run's corpus (tools/e2e/corpus.py), offline half: each case is judged as its family says, so a real
`pulumi up` that disagrees points at the dry run, never at a mislabelled case."""
from __future__ import annotations

import pytest

from tools.e2e import corpus

VERDICTS = corpus.offline_verdicts()


@pytest.mark.parametrize("case", corpus.CASES, ids=lambda case: case.name)
def test_the_dry_run_accepts_the_valid_cases_and_refuses_every_other(case):
    if case.family == "valid":
        assert VERDICTS[case.name] == []
    else:
        assert VERDICTS[case.name], f"{case.name} ({case.family}) should be refused offline"


def test_the_corpus_spans_the_rule_families_with_at_least_twenty_refusals():
    refused = [case for case in corpus.CASES if case.family != "valid"]
    assert len(refused) >= 20
    assert {"labels", "resources", "names", "admission", "crd-schema", "crd-cel", "rbac", "networkpolicy"} <= \
        {case.family for case in refused}


def test_an_admission_case_is_judged_with_its_namespace_fences_and_not_blamed_for_theirs():
    assert VERDICTS["ok-claim"] == [] and "exceeded quota" in VERDICTS["claim-over-quota"][0]
    assert all(not problem.startswith("LimitRange/") for problem in VERDICTS["pod-over-max"])


def test_agreement_counts_and_lists_the_disagreements():
    offline = {case.name: [] for case in corpus.CASES}
    real = dict(offline, **{"ok-pod": ["forbidden"]})
    table = corpus.agreement(offline, real)
    assert table["cases"] == len(corpus.CASES) and table["agree"] == len(corpus.CASES) - 1
    assert [row["case"] for row in table["disagreements"]] == ["ok-pod"]
