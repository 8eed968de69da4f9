"""The dry run refuses a `pulumi.com/waitFor` annotation the kubernetes provider cannot parse.

The provider (v4.25.0, pkg/metadata/overrides.go and pkg/jsonpath) fails the resource at `up` on such an
annotation; the offline render said nothing about `{.status.used.count/mcpservers...}` until the real run
refused it ("jsonpath: unexpected '/' at position 20"). Verdicts below were taken from the provider's parser,
github.com/theory/jsonpath v0.9.0 (RFC 9535), on 2026-12-03.
"""
from __future__ import annotations

import pytest

from tools.validate import check_objects
from tools.validate.provider import wait_for_errors

ACCEPTED = [
    "jsonpath={.status.used}",
    "jsonpath={.status.used['count/mcpservers.toolhive.stacklok.dev']}",
    'jsonpath={.a["x"]}',
    "jsonpath={.a[0].b}",
    "jsonpath={.a[*]}",
    "jsonpath={.a.*}",
    "jsonpath={..a}",
    "jsonpath={.a._b1}",
    "jsonpath={$['a']['b']}",
    "jsonpath={.status.phase}=Running",
    "jsonpath={.a[1:2]}",
    "condition=Ready",
    "condition=Ready=False",
    '["jsonpath={.status.used}", "condition=Ready"]',
]

REFUSED = {
    "jsonpath={.status.used.count/mcpservers.toolhive.stacklok.dev}": "unexpected '/'",
    "jsonpath={.a.b-c}": "unexpected '-'",
    "jsonpath={.a.1b}": "starts with a letter or '_'",
    "jsonpath={.a}=x=y": "format should be {.path}=value or {.path}",
    "jsonpath={.a}=": "requires a value",
    "jsonpath=.a": "should be wrapped in brackets",
    "jsonpath='{.a}'": "should omit shell quotes",
    "jsonpath={.a[}": "expected a quoted name, an index, a slice or '*'",
    "jsonpath={.a['x' 'y']}": "expected ',' or ']'",
    ".status.used": 'expected a "jsonpath=" or "condition=" prefix',
    "[]": "at least one condition must be specified",
    '["jsonpath={.a}", "ready"]': 'expected a "jsonpath=" or "condition=" prefix',
}


@pytest.mark.parametrize("value", ACCEPTED)
def test_the_provider_parses_these_wait_for_values(value):
    assert wait_for_errors(value) == []


@pytest.mark.parametrize("value, reason", REFUSED.items())
def test_the_provider_refuses_these_wait_for_values(value, reason):
    errors = wait_for_errors(value)
    assert len(errors) == 1 and reason in errors[0], errors


def test_a_filter_is_never_passed_as_good_unchecked():
    assert "not checked offline" in wait_for_errors("jsonpath={.status.conditions[?@.type=='Ready'].status}")[0]


def test_the_dry_run_names_the_object_and_the_annotation():
    quota = {"apiVersion": "v1", "kind": "ResourceQuota",
             "metadata": {"name": "mcp-server-count", "namespace": "team-a", "annotations": {
                 "pulumi.com/waitFor": "jsonpath={.status.used.count/mcpservers.toolhive.stacklok.dev}"}},
             "spec": {"hard": {"count/mcpservers.toolhive.stacklok.dev": "3"}}}
    [problem] = check_objects([quota])
    assert (problem.kind, problem.namespace, problem.name) == ("ResourceQuota", "team-a", "mcp-server-count")
    assert "pulumi.com/waitFor" in problem.path
    assert problem.message.startswith("the kubernetes provider refuses this: parsing ")


def test_every_wait_for_the_program_writes_parses():
    from components.platform import namespaces

    assert wait_for_errors(namespaces.QUOTA_COUNTED) == []
    assert wait_for_errors(namespaces.SERVERS_COUNTED) == []


@pytest.mark.parametrize("value, message", [
    ("jsonpath={.a.}", "parsing '{.a.}': unexpected end of path at position 4: a member name after '.' starts with "
                       "a letter or '_'; quote others in brackets, ['name']"),
    ("jsonpath={.a.-}", "parsing '{.a.-}': unexpected '-' at position 4: a member name after '.' starts with a letter "
                        "or '_'; quote others in brackets, ['name']"),
    ("jsonpath={.a[}", "parsing '{.a[}': unexpected end of path at position 4: expected a quoted name, an index, a "
                       "slice or '*'"),
    ("jsonpath={.a[#]}", "parsing '{.a[#]}': unexpected '#' at position 4: expected a quoted name, an index, a slice "
                         "or '*'"),
    ("jsonpath={.a[0}", "parsing '{.a[0}': unexpected end of path at position 5: expected ',' or ']'"),
    ("jsonpath={.a[0 x]}", "parsing '{.a[0 x]}': unexpected 'x' at position 6: expected ',' or ']'"),
    ("jsonpath={.a[ ?@.b==1]}", "parsing '{.a[ ?@.b==1]}': a filter selector at position 4 is not checked offline "
                                "(RFC 9535 filters are not modelled)"),
])
def test_a_refusal_says_what_was_found_where(value, message):
    assert wait_for_errors(value) == [message]


@pytest.mark.parametrize("value", ["jsonpath={.a.*.b}", "jsonpath={.a['x','y']}", "jsonpath={.a['x', 0, *]}",
                                   "jsonpath={..[0]}", "jsonpath={.a..b}", "jsonpath={.*}"])
def test_wildcards_descendants_and_selector_lists_parse(value):
    assert wait_for_errors(value) == []


def test_every_object_is_checked_and_the_problem_points_at_the_annotation():
    def config_map(name, **annotations):
        return {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": "n", **({"annotations": annotations} if annotations else {})}}

    problems = check_objects([config_map("plain"), config_map("other", team="a"),
                              config_map("bad", **{"pulumi.com/waitFor": "ready"})])
    assert [(p.name, p.path) for p in problems] == [("bad", "$.metadata.annotations['pulumi.com/waitFor']")]


@pytest.mark.parametrize("value", ["jsonpath={.a .b}", "jsonpath={.a[0] [1]}", "jsonpath={.z}", "jsonpath={.a.\u0080}",
                                   "jsonpath='{.a}"])
def test_blanks_between_segments_every_letter_and_non_ascii_names_parse(value):
    """Verdicts of theory/jsonpath v0.9.0; a lone leading quote is no pair of shell quotes."""
    assert wait_for_errors(value) == []


@pytest.mark.parametrize("value, errors", [
    ("jsonpath={.a.\x7f}", ["parsing '{.a.\\x7f}': unexpected '\\x7f' at position 4: a member name after '.' starts "
                           "with a letter or '_'; quote others in brackets, ['name']"]),
    ("jsonpath={.ab-c}", ["parsing '{.ab-c}': unexpected '-' at position 4: quote member names with it in brackets, "
                          "['name']"]),
    ("jsonpath=.a==b", [".a==b should be wrapped in brackets { ... }"]),
    ("jsonpath={.a..}", ["parsing '{.a..}': unexpected end of path at position 5: a member name after '.' starts with "
                         "a letter or '_'; quote others in brackets, ['name']"]),
    ("[]", ["at least one condition must be specified"]),
    ('["ready", "jsonpath={.a.}"]', ['expected a "jsonpath=" or "condition=" prefix, got \'ready\'',
                                     "parsing '{.a.}': unexpected end of path at position 4: a member name after '.' "
                                     "starts with a letter or '_'; quote others in brackets, ['name']"]),
])
def test_each_refusal_exactly(value, errors):
    assert wait_for_errors(value) == errors


def test_a_value_that_is_not_text_is_refused_by_its_type():
    assert wait_for_errors(5) == ["must be a string, not int"]
