"""The schema check's own rules (tools/validate/schema.py), row by row with their messages exactly: the metadata
rules the API server applies outside the OpenAPI schema, the formats it checks, the structural-schema keywords of
custom resources, how messages are shaped, and the command line. tests/test_schema_check.py holds the realistic
objects, the bundled CRDs and the upstream examples."""
from __future__ import annotations

import datetime

from pathlib import Path

import pytest

from tools.validate import schema
from tools.validate.schema import has_schema, is_builtin, main, validate_object

SUBDOMAIN = "must be a DNS-1123 subdomain (lowercase alphanumerics, '-' and '.', at most 253 characters)"
DNS1035 = "must be a DNS-1035 label (lowercase alphanumerics and '-', starting with a letter, at most 63 characters)"
NAMESPACE_LABEL = "must be a DNS-1123 label (lowercase alphanumerics and '-', at most 63 characters)"
SEGMENT = "must be a valid path segment (not '.' or '..', no '/' or '%')"
LABEL_VALUE = "at most 63 alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric"
RBAC = "rbac.authorization.k8s.io/v1"

# A CRD whose schema reaches every structural keyword the check implements (and one version without a schema).
GADGETS = """
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata: {name: gadgets.example.com}
    spec:
      group: example.com
      scope: Namespaced
      names: {kind: Gadget, plural: gadgets}
      versions:
      - name: v1
        served: true
        storage: true
        schema:
          openAPIV3Schema:
            type: object
            properties:
              metadata:
                type: object
                properties:
                  name: {type: string, maxLength: 5}
              spec:
                type: object
                properties:
                  byName: {type: object, additionalProperties: {type: object, properties: {a: {type: string}}}}
                  list: {type: array, items: {type: object, properties: {a: {type: string}}}}
                  plain: {type: array, items: {type: string}}
                  embedded: {type: object, x-kubernetes-embedded-resource: true, properties: {data: {type: object, x-kubernetes-preserve-unknown-fields: true}}}
                  ports:
                    type: array
                    x-kubernetes-list-type: map
                    x-kubernetes-list-map-keys: [port, protocol]
                    items: {type: object, properties: {port: {type: integer}, protocol: {type: string, default: TCP}, name: {type: string}}}
                  keyless: {type: array, x-kubernetes-list-type: map, items: {type: object, properties: {a: {type: string}}}}
                  atomic: {type: array, x-kubernetes-list-type: atomic, items: {type: string}}
                  tags: {type: array, x-kubernetes-list-type: set, items: {type: string}}
                  shapes: {type: array, x-kubernetes-list-type: set, items: {type: object, x-kubernetes-preserve-unknown-fields: true}}
                  bare: {type: object}
                  code: {type: string, pattern: "^[a-z]+$"}
                  untyped: {properties: {a: {type: string}}}
                  port: {x-kubernetes-int-or-string: true, nullable: true}
                  strictPort: {x-kubernetes-int-or-string: true}
                  maybe: {type: object, nullable: true, properties: {a: {type: string}}}
                  either: {anyOf: [{type: integer}, {type: string}]}
                  choice: {type: string, enum: [value-number-00-of-a-long-list, value-number-01-of-a-long-list, value-number-02-of-a-long-list, value-number-03-of-a-long-list, value-number-04-of-a-long-list, value-number-05-of-a-long-list, value-number-06-of-a-long-list, value-number-07-of-a-long-list, value-number-08-of-a-long-list, value-number-09-of-a-long-list, value-number-10-of-a-long-list, value-number-11-of-a-long-list]}
                  nested: {type: object, properties: {inner: {type: object, properties: {deep: {type: integer, minimum: 0}}}}}
      - name: v2
        served: true
        storage: false
"""


def errors(obj: dict, **kw) -> list[str]:
    """The problems without the object's name (tested once, below)."""
    return [e.split(": ", 1)[1] for e in validate_object(obj, **kw)]


def named(kind: str, name, api_version: str = "v1", namespace: str | None = "n", **metadata) -> dict:
    meta = {"name": name, **({"namespace": namespace} if namespace else {}), **metadata}
    return {"apiVersion": api_version, "kind": kind, "metadata": meta}


# ---------------------------------------------------------------------------------------------------------------
# Names, namespaces, labels and annotations


@pytest.mark.parametrize(("obj", "expected"), [
    (named("ConfigMap", "a" * 253), []),
    (named("ConfigMap", "a" * 254), [f"$.metadata.name: {'a' * 254!r} {SUBDOMAIN}"]),
    (named("Secret", "a.b-c"), []),
    (named("Secret", "Bad"), [f"$.metadata.name: 'Bad' {SUBDOMAIN}"]),
    (named("Deployment", "a_b", "apps/v1"), [f"$.metadata.name: 'a_b' {SUBDOMAIN}"]),
    (named("Service", "a" * 63), []),
    (named("Service", "a" * 64), [f"$.metadata.name: {'a' * 64!r} {DNS1035}"]),
    (named("Service", "a-"), [f"$.metadata.name: 'a-' {DNS1035}"]),
    (named("Service", "a.b"), [f"$.metadata.name: 'a.b' {DNS1035}"]),
    (named("Namespace", "a" * 63, namespace=None), []),
    (named("Namespace", "a" * 64, namespace=None), [f"$.metadata.name: {'a' * 64!r} {NAMESPACE_LABEL}"]),
    (named("Namespace", "a.b", namespace=None), [f"$.metadata.name: 'a.b' {NAMESPACE_LABEL}"]),
    (named("ClusterRole", "toolhive:operator", RBAC, namespace=None), []),  # a path segment
    (named("ClusterRole", "Any_Name", RBAC, namespace=None), []),
    (named("ClusterRole", ".", RBAC, namespace=None), [f"$.metadata.name: '.' {SEGMENT}"]),
    (named("ClusterRole", "..", RBAC, namespace=None), [f"$.metadata.name: '..' {SEGMENT}"]),
    (named("ClusterRole", "a/b", RBAC, namespace=None), [f"$.metadata.name: 'a/b' {SEGMENT}"]),
    (named("ClusterRole", "a%b", RBAC, namespace=None), [f"$.metadata.name: 'a%b' {SEGMENT}"]),
    (named("ConfigMap", "a", namespace="a" * 63), []),
    (named("ConfigMap", "a", namespace="a" * 64), [f"$.metadata.namespace: {'a' * 64!r} must be a DNS-1123 label"]),
    (named("ConfigMap", "a", namespace="a.b"), ["$.metadata.namespace: 'a.b' must be a DNS-1123 label"]),
    (named("ConfigMap", ""), ["$.metadata.name: required: metadata.name or metadata.generateName"]),
    (named("ConfigMap", 5), ["$.metadata.name: 5 is not of type 'string'"]),
    ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "a-"}}, []),
    ({"apiVersion": "v1", "kind": "ConfigMap"}, ["$.metadata: required: metadata.name or metadata.generateName"]),
    ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": "m"}, ["$.metadata: 'm' is not of type 'object'"]),
])
def test_object_names_by_the_rule_of_their_kind(obj, expected):
    assert errors(obj) == expected


@pytest.mark.parametrize(("labels", "expected"), [
    ({"example.com/a": "b", "a": ""}, []),
    ({"/a": "x"}, ["$.metadata.labels['/a']: invalid label key: prefix part must be non-empty"]),
    ({"a/": "x"}, ["$.metadata.labels['a/']: invalid label key: name part must be non-empty"]),
    ({"a" * 63: "x"}, []),
    ({"a" * 64: "x"}, [f"$.metadata.labels.{'a' * 64}: invalid label key: name part must be no more than 63 characters"]),
    ({"-a": "x"}, ["$.metadata.labels['-a']: invalid label key: name part must consist of alphanumerics, '-', '_' or '.', "
                   "starting and ending with an alphanumeric"]),
    ({"Bad_/a": "x"}, ["$.metadata.labels['Bad_/a']: invalid label key: prefix 'Bad_' must be a DNS-1123 subdomain"]),
    ({"a": "-x"}, [f"$.metadata.labels.a: invalid label value '-x': {LABEL_VALUE}"]),
    ({"a": "x" * 63}, []),
    ({"a": "x" * 64}, [f"$.metadata.labels.a: invalid label value {'x' * 64!r}: {LABEL_VALUE}"]),
    ({"-a": "-x"}, ["$.metadata.labels['-a']: invalid label key: name part must consist of alphanumerics, '-', '_' or '.', "
                    "starting and ending with an alphanumeric", f"$.metadata.labels['-a']: invalid label value '-x': {LABEL_VALUE}"]),
])
def test_label_keys_and_values(labels, expected):
    assert errors(named("ConfigMap", "a", labels=labels)) == expected


@pytest.mark.parametrize(("annotations", "expected"), [
    ({"Example.COM/Owner": "x"}, []),  # keys are checked lower-cased
    ({"/a": "x"}, ["$.metadata.annotations['/a']: invalid annotation key: prefix part must be non-empty"]),
    ({"k": "x" * (256 * 1024 - 1)}, []),
    ({"k": "x" * (256 * 1024)}, ["$.metadata.annotations: annotations total 262145 bytes, must be at most 262144"]),
    ({"a": "x" * (128 * 1024), "b": "y" * (128 * 1024 - 1)}, ["$.metadata.annotations: annotations total 262145 bytes, must be at most 262144"]),
])
def test_annotation_keys_and_total_size(annotations, expected):
    assert errors(named("ConfigMap", "a", annotations=annotations)) == expected


def test_a_crds_name_is_its_plural_and_group():
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "x.example.com"},
           "spec": {"group": "example.com", "names": {"plural": "widgets", "kind": "W"}, "scope": "Namespaced", "versions": []}}
    assert errors(crd) == ["$.metadata.name: 'x.example.com' must be spec.names.plural + '.' + spec.group ('widgets.example.com')"]
    crd["metadata"]["name"] = "widgets.example.com"
    assert errors(crd) == []
    crd["spec"] = {"names": "bad", "group": "g", "scope": "Namespaced", "versions": []}
    assert errors(crd)[0] == "$.metadata.name: 'widgets.example.com' must be spec.names.plural + '.' + spec.group ('None.g')"
    crd["spec"] = "bad"
    assert errors(crd)[0] == "$.metadata.name: 'widgets.example.com' must be spec.names.plural + '.' + spec.group ('None.None')"


@pytest.mark.parametrize(("obj", "expected"), [
    ([1], ["?//?: $: not an object but list"]),
    ({"apiVersion": "v1"}, ["?//?: $: missing or empty kind"]),
    ({"kind": ""}, ["?//?: $: missing or empty apiVersion and kind"]),
    ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "gen-", "namespace": "n"}, "data": {"a": 1}},
     ["ConfigMap/n/gen-: $.data.a: 1 is not of type 'string'"]),
    ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": 3}},
     ["ConfigMap//c: $.metadata.namespace: 3 is not of type 'string'"]),
    ({"apiVersion": "v1", "kind": "List", "items": [{"kind": "X"}, 3, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}]},
     ["List//?: $.items[0]: missing or empty apiVersion", "List//?: $.items[1]: not an object but int"]),
])
def test_each_problem_names_its_object_by_kind_namespace_and_name(obj, expected):
    assert validate_object(obj) == expected


def test_problems_are_in_document_order_numeric_indexes_first_then_by_message():
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "n", "labels": {"-a": "b"}},
                  "spec": {"selector": {}, "template": {"spec": {"containers": [{"name": "c", "image": "i"}] * 2 + [
                      {"name": 1, "image": 2}] + [{"name": "c"}] * 8 + [{"name": 3}]}}, "zzz": 1, "aaa": 1}}
    assert errors(deployment) == [
        "$.metadata.labels['-a']: invalid label key: name part must consist of alphanumerics, '-', '_' or '.', "
        "starting and ending with an alphanumeric",
        '$.spec.aaa: unknown field "aaa"',
        "$.spec.template.spec.containers[2].image: 2 is not of type 'string'",
        "$.spec.template.spec.containers[2].name: 1 is not of type 'string'",
        "$.spec.template.spec.containers[11].name: 3 is not of type 'string'",
        '$.spec.zzz: unknown field "zzz"',
    ]


def test_one_problem_found_twice_is_reported_once(gadget_dir):
    bad = gadget()
    bad["metadata"] = "m"  # not an ObjectMeta, nor the object the CRD narrows it to
    assert errors(bad, crd_dir=gadget_dir) == ["$.metadata: 'm' is not of type 'object'"]


# ---------------------------------------------------------------------------------------------------------------
# Formats (k8s.io/kube-openapi strfmt, leniently)


@pytest.mark.parametrize(("fmt", "value", "valid"), [
    ("date-time", "2024-01-01T00:00:00Z", True), ("date-time", "2024-01-01 00:00", True),
    ("date-time", "2024-01-01T00:00:00.5+01:00", True), ("date-time", "2024-01-01t00:00:00+0100", True),
    ("date-time", "2024-01-01", False), ("date-time", "yesterday", False), ("datetime", "x", False),
    ("datetime", "2024-01-01T00:00:00Z", True),
    ("duration", "1h30m", True), ("duration", "-1.5s", True), ("duration", "0", True), ("duration", ".5s", True),
    ("duration", "1 day", True), ("duration", "2 weeks 3d", True), ("duration", "1x", False), ("duration", "", False),
    ("duration", "1h 1x", False),
    ("uri", "https://a", True), ("uri", "/p", True), ("uri", "mailto:x", True), ("uri", "a b", False), ("uri", "", False),
    ("uri", "rel/path", False), ("uri", "https://a\tb", False),
    ("byte", "aGk=", True), ("byte", "", True), ("byte", "aGk", False), ("byte", "!!", False),
    ("uuid", "123e4567-e89b-12d3-a456-426614174000", True), ("uuid", "123E4567E89B12D3A456426614174000", True),
    ("uuid", "123e4567", False), ("uuid", "x123e4567-e89b-12d3-a456-426614174000", False),
    ("email", "a@b", True), ("email", "a@@b", False), ("email", "a b@c", False), ("email", "@b", False), ("email", "a@", False),
    ("ipv4", "1.2.3.4", True), ("ipv4", "1.2.3", False), ("ipv4", "::1", False),
    ("ipv6", "::1", True), ("ipv6", "1.2.3.4", False),
    ("cidr", "10.0.0.0/8", True), ("cidr", "10.0.0.1/8", True), ("cidr", "fd00::/8", True), ("cidr", "10.0.0.0/33", False),
    ("cidr", "x", False),
    ("hostname", "a.example.com", True), ("hostname", "A.Example.COM.", True), ("hostname", "a_b", False),
    ("hostname", "-a", False), ("hostname", "a" * 254, False),
])
def test_formats_the_api_server_checks(fmt, value, valid):
    assert schema._CR_FORMATS.conforms(value, fmt) is valid


@pytest.mark.parametrize("fmt", ["date-time", "duration", "uri", "byte", "uuid", "email", "ipv4", "ipv6", "cidr", "hostname"])
def test_a_format_says_nothing_about_a_value_that_is_no_string(fmt):
    assert schema._CR_FORMATS.conforms(5, fmt) is True


# ---------------------------------------------------------------------------------------------------------------
# Custom resources: structural schemas


@pytest.fixture()
def gadget_dir(tmp_path) -> Path:
    (tmp_path / "gadgets.yaml").write_text(GADGETS)
    return tmp_path


def gadget(version: str = "v1", **spec) -> dict:
    return {"apiVersion": f"example.com/{version}", "kind": "Gadget", "metadata": {"name": "g", "namespace": "n"}, "spec": spec}


PRUNED = "(the API server would prune it)"


@pytest.mark.parametrize(("spec", "expected"), [
    ({"byName": {"x": {"a": "s"}}, "list": [{"a": "s"}], "plain": ["a"], "port": None, "maybe": None}, []),
    ({"byName": {"x": {"b": 1}}}, [f'$.spec.byName.x.b: unknown field "b" {PRUNED}']),
    ({"list": [{"a": "s"}, {"b": 1}]}, [f'$.spec.list[1].b: unknown field "b" {PRUNED}']),
    ({"plain": ["a", 1]}, ["$.spec.plain[1]: 1 is not of type 'string'"]),
    ({"embedded": {"apiVersion": "v1", "kind": "K", "data": {"z": 1}, "metadata": {"name": "x"}}}, []),
    ({"embedded": {"apiVersion": "v1", "kind": "K", "other": 1}}, [f'$.spec.embedded.other: unknown field "other" {PRUNED}']),
    ({"embedded": {"apiVersion": "", "kind": 1}}, ["$.spec.embedded: embedded resource needs a non-empty 'apiVersion'",
                                                   "$.spec.embedded: embedded resource needs a non-empty 'kind'"]),
    ({"embedded": {"apiVersion": "v1", "kind": "K", "metadata": {"nam": "x"}}}, ['$.spec.embedded.metadata.nam: unknown field "nam"']),
    ({"embedded": "x"}, ["$.spec.embedded: 'x' is not of type 'object'"]),
    ({"ports": [{"port": 80}, {"port": 80, "protocol": "TCP"}]},  # a key's default counts
     ['$.spec.ports[1]: duplicate entry with port=80, protocol="TCP" (same as [0]; list-type map)']),
    ({"ports": [{"port": 80}, {"port": 80, "protocol": "UDP"}]}, []),
    ({"ports": [{"protocol": "TCP"}, {"protocol": "TCP"}]}, []),  # a key without value or default: not keyed
    ({"ports": [{"port": 1}, "x", {"port": 1}]}, ["$.spec.ports[1]: 'x' is not of type 'object'",
                                                  '$.spec.ports[2]: duplicate entry with port=1, protocol="TCP" (same as [0]; list-type map)']),
    ({"ports": [{"protocol": "TCP"}, {"port": 1}, {"port": 1}]},  # an unkeyed item does not end the check
     ['$.spec.ports[2]: duplicate entry with port=1, protocol="TCP" (same as [1]; list-type map)']),
    ({"tags": ["a", "b", "a", "b"]}, ["$.spec.tags[2]: duplicate value 'a' (same as [0]; list-type set)",
                                      "$.spec.tags[3]: duplicate value 'b' (same as [1]; list-type set)"]),
    ({"shapes": [{"a": 1, "b": 2}, {"b": 2, "a": 1}]},  # one value, whatever the order of its keys
     ["$.spec.shapes[1]: duplicate value {'b': 2, 'a': 1} (same as [0]; list-type set)"]),
    ({"shapes": [{"on": datetime.date(2024, 1, 1)}, {"on": datetime.date(2024, 1, 1)}]},  # a value JSON cannot hold: its text
     ["$.spec.shapes[1]: duplicate value {'on': datetime.date(2024, 1, 1)} (same as [0]; list-type set)"]),
    ({"bare": {"x": 1}}, [f'$.spec.bare.x: unknown field "x" {PRUNED}']),
    ({"untyped": {"a": "s", "b": 1}}, [f'$.spec.untyped.b: unknown field "b" {PRUNED}']),
    ({"keyless": [{"a": "x"}, {"a": "x"}]}, []),
    ({"atomic": ["a", "a"]}, []),
    ({"port": "http", "strictPort": 80}, []),
    ({"strictPort": None}, ["$.spec.strictPort: None is not of type 'integer' or 'string'"]),
    ({"port": True}, ["$.spec.port: True is not of type 'integer' or 'string'"]),
    ({"port": 1.5}, ["$.spec.port: 1.5 is not of type 'integer' or 'string'"]),
    ({"maybe": {"b": 1}}, [f'$.spec.maybe.b: unknown field "b" {PRUNED}']),
    ({"either": 1.5}, ["$.spec.either: 1.5 is not of type 'integer' or 'string'"]),
    ({"nested": {"inner": {"deep": -1, "x": 1}}}, ["$.spec.nested.inner.deep: -1 is less than the minimum of 0",
                                                   f'$.spec.nested.inner.x: unknown field "x" {PRUNED}']),
    ({"nested": {"inner": {"deep": "y" * 100}}},
     [f"$.spec.nested.inner.deep: '{'y' * 56}... is not of type 'integer'"]),
    ({"strictPort": {"a": "x" * 100}}, [f"$.spec.strictPort: {{'a': '{'x' * 48}...}} is not of type 'integer' or 'string'"]),
    ({"strictPort": "y" * 57}, []),
])
def test_structural_keywords(gadget_dir, spec, expected):
    assert errors(gadget(**spec), crd_dir=gadget_dir) == expected


def test_a_long_message_is_cut_at_240_characters(gadget_dir):
    [message] = errors(gadget(choice="x"), crd_dir=gadget_dir)
    path, _, text = message.partition(": ")
    assert path == "$.spec.choice" and len(text) == 240 and text.endswith("'value-number-...")
    assert text.startswith("'x' is not one of ['value-number-00-of-a-long-list', ")


def test_a_crd_may_narrow_the_root_metadata(gadget_dir):
    long = gadget()
    long["metadata"]["name"] = "toolong"
    assert errors(long, crd_dir=gadget_dir) == ["$.metadata.name: 'toolong' is too long"]
    unknown = gadget()
    unknown["metadata"]["nam"] = "x"
    assert errors(unknown, crd_dir=gadget_dir) == ['$.metadata.nam: unknown field "nam"']


def test_a_version_without_a_schema_is_reported_not_passed(gadget_dir):
    assert errors(gadget("v2"), crd_dir=gadget_dir) == ["$: CRD gadgets.example.com has no openAPIV3Schema for v2; fields not checked"]


def test_a_stacks_own_crds_come_before_the_directorys_and_the_first_definition_wins(gadget_dir):
    import yaml

    crd = yaml.safe_load(GADGETS)
    narrower = yaml.safe_load(GADGETS)
    narrower["spec"]["versions"][1]["schema"] = {"openAPIV3Schema": {"type": "object", "properties": {"spec": {
        "type": "object", "properties": {"only": {"type": "string"}}}}}}
    obj = gadget("v2", other=1)
    [found] = schema.check([narrower, crd, obj], crd_dir=gadget_dir)
    assert (found.path, found.message) == ("$.spec.other", f'unknown field "other" {PRUNED}')
    assert schema.check([crd, narrower, obj], crd_dir=gadget_dir)[0].message ==         "CRD gadgets.example.com has no openAPIV3Schema for v2; fields not checked"
    assert schema.crds_for([narrower], gadget_dir).versions[("example.com", "v2", "Gadget")].source == "stack:gadgets.example.com"
    assert schema.crds_for([], gadget_dir).versions[("example.com", "v1", "Gadget")].source == "gadgets.yaml"


def test_what_has_a_schema(gadget_dir):
    assert has_schema(gadget(), crd_dir=gadget_dir) and not has_schema(gadget(), crd_dir=None)
    assert has_schema({"apiVersion": "v1", "kind": "Pod"}) and is_builtin({"apiVersion": "v1", "kind": "Pod"})
    assert not has_schema({"apiVersion": "v1"}) and not is_builtin({"kind": "Pod"}) and not is_builtin(gadget())
    assert not has_schema("Pod") and not is_builtin({"apiVersion": "", "kind": "Pod"})


# ---------------------------------------------------------------------------------------------------------------
# Kubernetes versions and the command line


@pytest.mark.parametrize(("requested", "picked"), [("1.33.0", "1.33"), ("v1.33.9", "1.33"), ("1.30", "1.30"), (" 1.25.1", "1.25")])
def test_the_schemas_of_the_requested_minor_version_are_used(requested, picked):
    assert schema._pick_version(requested) == picked


@pytest.mark.parametrize(("requested", "message"), [
    ("x", "not a Kubernetes version: 'x'"),
    ("9.99", "kubernetes-validate has no strict schemas for Kubernetes 9.99 (available: 1.25, "),
    ("1.0", "kubernetes-validate has no strict schemas for Kubernetes 1.0 (available: 1.25, "),
])
def test_a_version_without_schemas_is_refused_naming_those_there_are(requested, message):
    with pytest.raises(ValueError) as raised:
        schema._pick_version(requested)
    assert str(raised.value).startswith(message)


def test_the_command_line_prints_each_problem_and_a_summary(tmp_path, capsys):
    good = tmp_path / "good.yaml"
    good.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: ConfigMap\n"
                    "metadata: {name: b}\ndata: {when: 2024-01-01T00:00:00Z, eq: =}\n")
    bad = tmp_path / "bad.json"
    bad.write_text('{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "B"}}')
    (tmp_path / "notes.txt").write_text("not read")
    assert main([str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert out == f"{bad}: ConfigMap//B: $.metadata.name: 'B' {SUBDOMAIN}\n"
    assert err == "schema_check: 3 objects in 2 files, 1 errors\n"
    assert main([str(good), "--quiet"]) == 0
    assert capsys.readouterr() == ("", "")


def test_the_command_line_refuses_unreadable_input_with_exit_code_2(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main([str(empty), "-q"]) == 2
    assert capsys.readouterr().err == f"schema_check: no manifest files (*.yaml, *.yml, *.json) under {empty}\n"
    (empty / "blank.yaml").write_text("---\n")
    assert main([str(empty)]) == 2
    assert capsys.readouterr().err == "schema_check: no objects found\nschema_check: 0 objects in 1 files, 0 errors\n"
    assert main([str(tmp_path / "missing.yaml"), "-q"]) == 2
    assert capsys.readouterr().err.startswith(f"schema_check: no such file or directory: {tmp_path / 'missing.yaml'}\n")
    broken = tmp_path / "broken.yaml"
    broken.write_text("a: [unclosed\n")
    assert main([str(broken), "-q"]) == 2
    assert capsys.readouterr().err.startswith(f"schema_check: cannot read {broken}: ")
    assert main([str(broken), "--kubernetes-version", "0.1"]) == 2
    assert capsys.readouterr().err.startswith("schema_check: kubernetes-validate has no strict schemas for Kubernetes 0.1")
    assert main([str(broken), "--crd-dir", str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err == f"schema_check: CRD directory not found: {tmp_path / 'nope'}\n"


def test_the_command_line_reads_standard_input(monkeypatch, capsys):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: A}\n"))
    assert main(["-"]) == 1
    out, err = capsys.readouterr()
    assert out == f"-: ConfigMap//A: $.metadata.name: 'A' {SUBDOMAIN}\n"
    assert err == "schema_check: 1 objects in 1 files, 1 errors\n"


def test_the_command_line_says_what_it_takes(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "400")  # wide enough that no checkout's CRD path wraps the help
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"""\
usage: python -m tools.validate.schema [-h] [--kubernetes-version KUBERNETES_VERSION] [--crd-dir CRD_DIR] [-q] FILE_OR_DIR [FILE_OR_DIR ...]

Validate Kubernetes manifests offline against the Kubernetes OpenAPI schema and ToolHive CRDs.

positional arguments:
  FILE_OR_DIR           YAML/JSON manifest files or directories ('-' = stdin)

options:
  -h, --help            show this help message and exit
  --kubernetes-version KUBERNETES_VERSION
                        Kubernetes version of the built-in schemas (default 1.33.0)
  --crd-dir CRD_DIR     directory of CRD files (default {schema.default_crd_dir()})
  -q, --quiet           no summary line on stderr
"""


def test_an_unreadable_crd_directory_is_refused_before_any_file_is_read(tmp_path, capsys):
    crds = tmp_path / "crds"
    crds.mkdir()
    (crds / "broken.yaml").write_bytes(b"kind: \xff\n")
    manifest = tmp_path / "cm.yaml"
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    assert main([str(manifest), "--crd-dir", str(crds)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("schema_check: 'utf-8' codec can't decode byte 0xff")


def test_the_command_line_checks_against_the_version_and_crds_it_is_given(tmp_path, gadget_dir, capsys):
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    old = manifests / "old.yml"  # *.yml is read too
    old.write_text("apiVersion: flowcontrol.apiserver.k8s.io/v1beta2\nkind: PriorityLevelConfiguration\nmetadata: {name: x}\n"
                   "spec: {type: Exempt}\n")
    assert main([str(manifests), "--kubernetes-version", "1.25"]) == 0  # served until 1.28
    assert capsys.readouterr().err == "schema_check: 1 objects in 1 files, 0 errors\n"
    assert main([str(manifests)]) == 1
    capsys.readouterr()
    widget = tmp_path / "gadget.json"
    widget.write_text('{"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g", "namespace": "n"}}')
    assert main([str(widget), "--crd-dir", str(gadget_dir)]) == 0
    assert main([str(widget)]) == 1


def test_the_command_line_reads_every_input_after_one_it_cannot_read(tmp_path, monkeypatch, capsys):
    import io

    good = tmp_path / "good.yaml"
    good.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    broken = tmp_path / "broken.yaml"
    broken.write_text("a: [unclosed\n")
    assert main([str(tmp_path / "missing.yaml"), str(broken), str(good)]) == 2
    assert capsys.readouterr().err.endswith("schema_check: 1 objects in 1 files, 0 errors\n")
    monkeypatch.setattr("sys.stdin", io.StringIO("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n"))
    assert main(["-", str(good)]) == 0
    assert capsys.readouterr().err == "schema_check: 2 objects in 2 files, 0 errors\n"


# ---------------------------------------------------------------------------------------------------------------
# What the caches promise: results per object content, one serialization per object in a dry run, bounded


def test_an_object_checked_again_is_not_validated_again_even_with_its_keys_in_another_order(monkeypatch):
    schema.clear_caches()
    calls = []
    original = schema._object_errors
    monkeypatch.setattr(schema, "_object_errors", lambda obj, *rest: calls.append(obj) or original(obj, *rest))
    first = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "n"}, "data": {"k": 1}}
    again = {"data": {"k": 1}, "metadata": {"namespace": "n", "name": "a"}, "kind": "ConfigMap", "apiVersion": "v1"}
    assert [p.message for p in schema.check([first])] == [p.message for p in schema.check([again])] == ["1 is not of type 'string'"]
    assert calls == [first]


def test_the_results_cache_is_emptied_when_it_holds_4096_results():
    schema.clear_caches()
    schema._RESULTS.update({("filler", i): () for i in range(4095)})
    schema.check([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}])
    assert len(schema._RESULTS) == 4096
    schema.check([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}}])
    assert len(schema._RESULTS) == 1
    schema.clear_caches()


def test_in_one_dry_run_each_object_is_serialized_once(monkeypatch):
    dumped = []
    original = schema.json.dumps
    monkeypatch.setattr(schema.json, "dumps", lambda obj, **kw: dumped.append(obj) or original(obj, **kw))
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}
    with schema.same_objects():
        assert schema._text(obj) == schema._text(obj) == schema._text(dict(obj))
    assert dumped == [obj, obj]  # the equal copy is another object: serialized on its own
    assert schema._text(obj) == '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}'


def test_values_json_cannot_hold_are_checked_as_their_text():
    import datetime

    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"when": datetime.date(2024, 1, 1)}}
    assert [p.message for p in schema.check([obj])] == ["datetime.date(2024, 1, 1) is not of type 'string'"]


def test_a_stacks_crd_catalog_is_kept_per_crds_and_directory(gadget_dir):
    import yaml

    group_crd = yaml.safe_load((schema.BUNDLED_CRD_DIR / "toolhive.stacklok.dev_mcpgroups.yaml").read_text())
    assert schema.crds_for([group_crd], gadget_dir) is schema.crds_for([group_crd], gadget_dir)  # a repeated render: a hash
    with_gadgets = schema.crds_for([group_crd], gadget_dir).versions
    assert ("example.com", "v1", "Gadget") in with_gadgets  # the directory's, beside the stack's
    assert with_gadgets[("toolhive.stacklok.dev", "v1beta1", "MCPGroup")].source == "stack:mcpgroups.toolhive.stacklok.dev"
    bundled = schema.crds_for([group_crd], None).versions
    assert ("example.com", "v1", "Gadget") not in bundled and ("toolhive.stacklok.dev", "v1beta1", "MCPServer") in bundled
    nameless = {key: value for key, value in group_crd.items() if key != "metadata"}
    assert schema.crds_for([nameless], None).versions[("toolhive.stacklok.dev", "v1beta1", "MCPGroup")].source == "stack:?"


def test_check_reads_custom_resources_against_the_directory_it_is_given(gadget_dir):
    assert schema.check([gadget()], crd_dir=gadget_dir) == []
    assert schema.validate_manifests([gadget(), gadget()], crd_dir=gadget_dir) == []
    import yaml

    group_crd = yaml.safe_load((schema.BUNDLED_CRD_DIR / "toolhive.stacklok.dev_mcpgroups.yaml").read_text())
    assert schema.check([group_crd, gadget()], crd_dir=gadget_dir) == []  # the directory's kinds beside the stack's
    assert [p.message for p in schema.check([gadget()])] == ["no schema for example.com/v1 Gadget"]


def test_the_stack_catalogs_kept_are_bounded_to_eight(gadget_dir):
    import copy

    import yaml

    crd = yaml.safe_load(GADGETS)
    schema.clear_caches()
    for index in range(8):
        variant = copy.deepcopy(crd)
        variant["metadata"]["labels"] = {"variant": str(index)}
        schema.crds_for([variant], gadget_dir)
    assert len(schema._STACK_CATALOGS) == 8
    schema.crds_for([crd], gadget_dir)
    assert len(schema._STACK_CATALOGS) == 1
    schema.clear_caches()


THINGS = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: things.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {kind: Thing, plural: things}
  versions:
  - {name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, properties: {spec: {type: object}}}}}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: looses.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {kind: Loose, plural: looses}
  versions:
  - {name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}
"""


def test_the_root_of_a_custom_resource_is_an_object_meta_and_strict_unless_it_preserves_unknown_fields(tmp_path):
    (tmp_path / "things.yaml").write_text(THINGS)

    def of(kind: str, **fields) -> dict:
        return {"apiVersion": "example.com/v1", "kind": kind, "metadata": {"name": "t", "namespace": "n"}, **fields}

    thing = of("Thing", spec={})
    thing["metadata"]["nam"] = "x"
    assert errors(thing, crd_dir=tmp_path) == ['$.metadata.nam: unknown field "nam"']  # no metadata in its schema
    assert errors(of("Thing", extra=1), crd_dir=tmp_path) == [f'$.extra: unknown field "extra" {PRUNED}']
    assert errors(of("Loose", extra=1), crd_dir=tmp_path) == []


@pytest.mark.parametrize(("size", "shown"), [(58, "'" + "y" * 58 + "'"), (59, "'" + "y" * 56 + "...")])
def test_a_value_is_shown_whole_up_to_60_characters(gadget_dir, size, shown):
    assert errors(gadget(nested={"inner": {"deep": "y" * size}}), crd_dir=gadget_dir) == [
        f"$.spec.nested.inner.deep: {shown} is not of type 'integer'"]


@pytest.mark.parametrize(("size", "cut"), [(212, False), (213, True)])
def test_a_message_is_kept_whole_up_to_240_characters(gadget_dir, size, cut):
    [message] = errors(gadget(code="A" * size), crd_dir=gadget_dir)
    text = message.partition(": ")[2]
    whole = f"'{'A' * size}' does not match '^[a-z]+$'"
    assert text == (whole[:237] + "..." if cut else whole) and len(text) <= 240


def test_a_built_in_kinds_validator_is_compiled_once():
    builtins = schema._builtin_catalog("1.33.0")
    gvk = ("apps", "v1", "Deployment")
    assert builtins.validator(gvk) is builtins.validator(gvk)


def test_a_list_is_checked_item_by_item_with_the_same_crds_and_only_a_list_is(gadget_dir):
    listed = {"apiVersion": "v1", "kind": "List", "items": [gadget(), {**gadget(), "spec": {"size": 1}}]}
    assert errors(listed, crd_dir=gadget_dir) == [f'$.items[1].spec.size: unknown field "size" {PRUNED}']
    assert errors({"apiVersion": "v1", "kind": "List", "items": "x"}) == ["$: no schema for v1 List"]  # a list of nothing
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "items": [{"kind": "X"}]}
    assert errors(config_map) == ['$.items: unknown field "items"']


def test_a_map_key_that_is_a_number_comes_before_the_text_keys_and_any_other_key_sorts_as_its_text():
    labels = {"a": "-y", None: "-z", 1: "-x"}  # YAML reads `~:` as a None key
    assert errors(named("ConfigMap", "a", labels=labels)) == [
        f"$.metadata.labels[1]: invalid label value '-x': {LABEL_VALUE}", f"$.metadata.labels.None: invalid label value '-z': {LABEL_VALUE}",
        f"$.metadata.labels.a: invalid label value '-y': {LABEL_VALUE}"]


def test_an_annotation_value_that_is_no_string_counts_nothing_toward_the_total():
    assert errors(named("ConfigMap", "a", annotations={"k": "x" * (256 * 1024 - 2), "l": None})) == []


def test_the_crd_catalog_reads_every_crd_of_a_directory_in_file_order_and_nothing_else(tmp_path):
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n" + THINGS)
    (tmp_path / "b.yaml").write_text(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: other}\nspec:\n"
        "  group: example.com\n  names: {kind: Thing}\n  versions:\n  - {name: v1, served: false}\n  - {name: v2}\n")
    versions = schema.crds_for([], tmp_path).versions
    assert {key: (v.plural, v.served, v.source) for key, v in versions.items()} == {
        ("example.com", "v1", "Thing"): ("things", True, "a.yaml"),  # the first definition wins
        ("example.com", "v1", "Loose"): ("looses", True, "a.yaml"),
        ("example.com", "v2", "Thing"): ("", True, "b.yaml"),  # served unless it says otherwise
    }
    assert errors({"apiVersion": "example.com/v2", "kind": "Thing", "metadata": {"name": "t"}}, crd_dir=tmp_path) == [
        "$: CRD .example.com has no openAPIV3Schema for v2; fields not checked"]  # no plural: the name shows it


def test_a_crd_missing_its_names_is_keyed_by_empty_strings():
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "x"},
           "spec": {"versions": [{"served": True}]}}
    assert ("", "", "") in schema.crds_for([crd]).versions


def test_only_customresourcedefinitions_of_apiextensions_are_crds():
    base = schema.crds_for([])
    for other in ({"apiVersion": "apiextensions.k8s.io/v1", "kind": "Other"}, {"kind": "CustomResourceDefinition"},
                  {"apiVersion": "example.com/v1", "kind": "CustomResourceDefinition"}, "text"):
        assert schema.crds_for([other]) is base


def test_the_newest_kubernetes_version_with_schemas_is_accepted():
    newest = schema._available_versions()[-1]
    assert schema._pick_version(f"{newest}.0") == str(newest)


def test_without_the_bundled_crds_custom_resources_have_no_schema(monkeypatch, tmp_path):
    monkeypatch.setattr(schema, "BUNDLED_CRD_DIR", tmp_path / "missing")
    schema.clear_caches()
    try:
        assert errors({"apiVersion": "toolhive.stacklok.dev/v1beta1", "kind": "MCPGroup", "metadata": {"name": "g"}}) == [
            "$: no schema for toolhive.stacklok.dev/v1beta1 MCPGroup"]
    finally:
        schema.clear_caches()
