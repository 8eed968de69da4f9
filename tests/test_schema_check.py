"""Tests of tools.schema_check: offline validation against the Kubernetes 1.33 schema and the ToolHive CRDs."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from tests.conftest import DATA_DIR, data_files
from tools.validate import schema as schema_check
from tools.validate.schema import default_crd_dir, has_schema, is_builtin, load_manifests, main, validate_manifests, validate_object

EXAMPLES_DIR = DATA_DIR / "toolhive" / "examples"
EXAMPLE_FILES = data_files("toolhive/examples", "**/*.yaml")
CRD_FILES = sorted(schema_check.BUNDLED_CRD_DIR.glob("*.yaml"))

# Upstream examples (release v0.44.0) that use fields the v0.44.0 CRDs do not have: the composite-tool
# examples still say `failureMode` (no such spec field) and `onError.maxRetries` (the CRD calls it
# `retryCount`). The API server would prune these fields (or reject them under kubectl's default
# --validate=strict), so reporting them is right; the examples are stale, not our strictness.
KNOWN_STALE_EXAMPLES = {
    "virtual-mcps/composite_tool_complex.yaml": [
        "$.spec.steps[0].onError.maxRetries: unknown field",
        "$.spec.steps[1].onError.maxRetries: unknown field",
        "$.spec.steps[5].onError.maxRetries: unknown field",
        "$.spec.failureMode: unknown field",
    ],
    "virtual-mcps/composite_tool_simple.yaml": [
        "$.spec.steps[0].onError.maxRetries: unknown field",
        "$.spec.failureMode: unknown field",
    ],
    "virtual-mcps/composite_tool_with_elicitations.yaml": [
        "$.spec.steps[3].onError.maxRetries: unknown field",
        "$.spec.failureMode: unknown field",
    ],
}


@pytest.fixture(scope="session")
def crd_dir() -> Path:
    """The release's CRDs as the program bundles them (checked against upstream digests in test_crds)."""
    return schema_check.BUNDLED_CRD_DIR


def deployment() -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "toolhive-operator",
            "namespace": "toolhive-system",
            "labels": {"app.kubernetes.io/name": "toolhive-operator"},
            "annotations": {"example.com/owner": "platform"},
        },
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app.kubernetes.io/name": "toolhive-operator"}},
            "template": {
                "metadata": {"labels": {"app.kubernetes.io/name": "toolhive-operator"}},
                "spec": {
                    "serviceAccountName": "toolhive-operator",
                    "terminationGracePeriodSeconds": 10,
                    "securityContext": {"runAsNonRoot": True},
                    "containers": [
                        {
                            "name": "manager",
                            "image": "ghcr.io/stacklok/toolhive/operator:v0.44.0",
                            "args": ["--leader-elect"],
                            "ports": [
                                {"name": "metrics", "containerPort": 8080, "protocol": "TCP"},
                                {"name": "health", "containerPort": 8081, "protocol": "TCP"},
                            ],
                            "livenessProbe": {"httpGet": {"path": "/healthz", "port": "health"}},
                            "readinessProbe": {"httpGet": {"path": "/readyz", "port": "health"}},
                            "resources": {
                                "requests": {"cpu": "10m", "memory": "64Mi"},
                                "limits": {"cpu": "500m", "memory": "128Mi"},
                            },
                            "env": [{"name": "GOMEMLIMIT", "value": "110MiB"}],
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "readOnlyRootFilesystem": True,
                                "runAsUser": 1000,
                                "capabilities": {"drop": ["ALL"]},
                                "seccompProfile": {"type": "RuntimeDefault"},
                            },
                        }
                    ],
                },
            },
        },
    }


def mcpserver(**spec) -> dict:
    return {
        "apiVersion": "toolhive.stacklok.dev/v1beta1",
        "kind": "MCPServer",
        "metadata": {"name": "fetch", "namespace": "toolhive-system"},
        "spec": {"image": "ghcr.io/stackloklabs/gofetch/server", "transport": "streamable-http", "proxyPort": 8080, **spec},
    }


# --------------------------------------------------------------------------------------------------
# Built-in kinds


def test_valid_deployment_passes():
    assert validate_object(deployment()) == []


def test_deployment_unknown_field_fails_naming_the_path():
    obj = deployment()
    obj["spec"]["template"]["spec"]["containers"][0]["imagePullPolcy"] = "Always"
    obj["spec"]["strategyy"] = {}
    errors = validate_object(obj)
    assert sorted(errors) == [
        'Deployment/toolhive-system/toolhive-operator: $.spec.strategyy: unknown field "strategyy"',
        "Deployment/toolhive-system/toolhive-operator: $.spec.template.spec.containers[0].imagePullPolcy: "
        'unknown field "imagePullPolcy"',
    ]


def test_deployment_wrong_type_fails_naming_the_path():
    obj = deployment()
    obj["spec"]["replicas"] = "1"
    obj["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "8080"
    errors = validate_object(obj)
    assert "Deployment/toolhive-system/toolhive-operator: $.spec.replicas: '1' is not of type 'integer'" in errors
    assert any("$.spec.template.spec.containers[0].ports[0].containerPort: '8080' is not of type 'integer'" in e for e in errors)
    assert len(errors) == 2


def test_deployment_missing_required_field():
    obj = deployment()
    del obj["spec"]["selector"]
    del obj["spec"]["template"]["spec"]["containers"][0]["name"]
    assert validate_object(obj) == [
        "Deployment/toolhive-system/toolhive-operator: $.spec: 'selector' is a required property",
        "Deployment/toolhive-system/toolhive-operator: $.spec.template.spec.containers[0]: 'name' is a required property",
    ]
    # Known gap: the built-in OpenAPI schema carries no enums for string fields (they are only in the
    # descriptions), so e.g. imagePullPolicy: Sometimes is not caught here; CRD enums are.


def test_int_or_string_and_quantity():
    obj = deployment()
    probe = obj["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]
    probe["httpGet"]["port"] = 8081  # int-or-string: both fine
    obj["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] = 1  # quantity as number
    assert validate_object(obj) == []
    probe["httpGet"]["port"] = [8081]
    errors = validate_object(obj)
    assert len(errors) == 1 and "livenessProbe.httpGet.port: [8081] is not of type 'string' or 'integer'" in errors[0]


def test_builtin_metadata_checks():
    obj = deployment()
    obj["metadata"]["name"] = "Toolhive_Operator"
    obj["metadata"]["labels"]["bad key!"] = "x"
    obj["metadata"]["labels"]["ok"] = "not ok value"
    obj["metadata"]["unknownMeta"] = 1
    errors = validate_object(obj)
    assert any("$.metadata.name: 'Toolhive_Operator' must be a DNS-1123 subdomain" in e for e in errors), errors
    assert any("$.metadata.labels['bad key!']: invalid label key" in e for e in errors), errors
    assert any("$.metadata.labels.ok: invalid label value" in e for e in errors), errors
    assert any('$.metadata.unknownMeta: unknown field "unknownMeta"' in e for e in errors), errors
    # RBAC names are path segments and may contain ':'
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "toolhive:operator"}, "rules": []}
    assert validate_object(role) == []
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "1svc", "namespace": "ns"},
           "spec": {"ports": [{"port": 80}]}}
    assert any("must be a DNS-1035 label" in e for e in validate_object(svc))
    assert any("metadata.name or metadata.generateName" in e for e in validate_object({"apiVersion": "v1", "kind": "ConfigMap"}))


def test_kind_without_schema_fails(crd_dir):
    obj = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "ns"}}
    assert validate_object(obj, crd_dir=crd_dir) == ["Widget/ns/w: $: no schema for example.com/v1 Widget"]
    # a removed built-in version and an unknown ToolHive kind are no-schema too
    old = {"apiVersion": "extensions/v1beta1", "kind": "Deployment", "metadata": {"name": "d"}}
    assert validate_object(old) == ["Deployment//d: $: no schema for extensions/v1beta1 Deployment"]
    thv = {"apiVersion": "toolhive.stacklok.dev/v1beta1", "kind": "MCPWidget", "metadata": {"name": "w"}}
    assert validate_object(thv, crd_dir=crd_dir) == ["MCPWidget//w: $: no schema for toolhive.stacklok.dev/v1beta1 MCPWidget"]
    assert validate_object({"kind": "Foo"}) == ["Foo//?: $: missing or empty apiVersion"]


def test_v1_list_is_validated_item_by_item():
    bad = deployment()
    bad["spec"]["replicas"] = "x"
    lst = {"apiVersion": "v1", "kind": "List", "items": [deployment(), bad]}
    errors = validate_object(lst)
    assert len(errors) == 1 and "$.items[1].spec.replicas" in errors[0]


def test_unsupported_kubernetes_version():
    with pytest.raises(ValueError):
        validate_object(deployment(), kubernetes_version="9.99.0")
    assert validate_object(deployment(), kubernetes_version="v1.33.2") == []


# --------------------------------------------------------------------------------------------------
# CRDs themselves (apiextensions.k8s.io/v1 against the 1.33 schema)


def test_crd_files_present(crd_dir):
    assert len(list(crd_dir.glob("*.yaml"))) == 14 == len(CRD_FILES)


@pytest.mark.parametrize("path", CRD_FILES, ids=lambda p: p.name)
def test_crd_file_validates_as_customresourcedefinition(path: Path):
    docs = load_manifests(path)
    assert [d["kind"] for d in docs] == ["CustomResourceDefinition"]
    assert docs[0]["apiVersion"] == "apiextensions.k8s.io/v1"
    assert is_builtin(docs[0])
    assert validate_object(docs[0], kubernetes_version="1.33.0") == []


def test_crd_object_errors(crd_dir):
    crd = load_manifests(crd_dir / "toolhive.stacklok.dev_mcpgroups.yaml")[0]
    bad = copy.deepcopy(crd)
    bad["metadata"]["name"] = "groups.toolhive.stacklok.dev"
    bad["spec"]["scope"] = 3
    bad["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["x-kubernetes-unknown"] = True
    errors = validate_object(bad)
    assert any("$.metadata.name: 'groups.toolhive.stacklok.dev' must be spec.names.plural" in e for e in errors), errors
    assert any("$.spec.scope: 3 is not of type 'string'" in e for e in errors), errors
    assert any('openAPIV3Schema.x-kubernetes-unknown: unknown field "x-kubernetes-unknown"' in e for e in errors), errors


# --------------------------------------------------------------------------------------------------
# ToolHive custom resources


def test_valid_mcpserver_passes(crd_dir):
    assert validate_object(mcpserver(), crd_dir=crd_dir) == []
    old = mcpserver()
    old["apiVersion"] = "toolhive.stacklok.dev/v1alpha1"  # deprecated but still served
    assert validate_object(old, crd_dir=crd_dir) == []


def test_mcpserver_unknown_spec_field_fails(crd_dir):
    errors = validate_object(mcpserver(imagePullPolcy="Always"), crd_dir=crd_dir)
    assert errors == [
        'MCPServer/toolhive-system/fetch: $.spec.imagePullPolcy: unknown field "imagePullPolcy" '
        "(the API server would prune it)"
    ]
    top = mcpserver()
    top["extra"] = 1
    assert validate_object(top, crd_dir=crd_dir) == [
        'MCPServer/toolhive-system/fetch: $.extra: unknown field "extra" (the API server would prune it)'
    ]


def test_mcpserver_wrong_enum_fails(crd_dir):
    errors = validate_object(mcpserver(transport="websocket"), crd_dir=crd_dir)
    assert errors == [
        "MCPServer/toolhive-system/fetch: $.spec.transport: 'websocket' is not one of ['stdio', 'streamable-http', 'sse']"
    ]


def test_mcpserver_wrong_type_missing_required_and_bad_name(crd_dir):
    obj = mcpserver(proxyPort="8080")
    del obj["spec"]["image"]
    obj["metadata"]["name"] = "Fetch"
    obj["metadata"]["bogus"] = 1
    errors = validate_object(obj, crd_dir=crd_dir)
    assert any("$.spec.proxyPort: '8080' is not of type 'integer'" in e for e in errors), errors
    assert any("$.spec: 'image' is a required property" in e for e in errors), errors
    assert any("$.metadata.name: 'Fetch' must be a DNS-1123 subdomain" in e for e in errors), errors
    assert any('$.metadata.bogus: unknown field "bogus"' in e for e in errors), errors


def test_mcpserver_preserve_unknown_fields_subtree_allows_anything(crd_dir):
    schema = load_manifests(crd_dir / "toolhive.stacklok.dev_mcpservers.yaml")[0]
    pts = schema["spec"]["versions"][1]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["podTemplateSpec"]
    assert pts.get("x-kubernetes-preserve-unknown-fields") is True
    obj = mcpserver(podTemplateSpec={"spec": {"nodeSelector": {"a": "b"}, "anything": [1, 2]}})
    assert validate_object(obj, crd_dir=crd_dir) == []


def test_default_crd_dir_is_the_bundled_release():
    d = default_crd_dir()
    assert d.is_dir()
    assert d == schema_check.BUNDLED_CRD_DIR
    assert validate_object(mcpserver()) == []


def test_missing_explicit_crd_dir_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        validate_object(mcpserver(), crd_dir=tmp_path / "nope")


# Structural semantics on a synthetic CRD

SYNTHETIC_CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  versions:
  - name: v1old
    served: false
    storage: false
    schema: {openAPIV3Schema: {type: object}}
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            x-kubernetes-validations: [{rule: "self.size > 0", message: never evaluated}]
            properties:
              port: {x-kubernetes-int-or-string: true}
              note: {type: string, nullable: true}
              size: {type: integer, minimum: 1}
              free: {type: object, x-kubernetes-preserve-unknown-fields: true, properties: {known: {type: object, properties: {a: {type: string}}}}}
              labels: {type: object, additionalProperties: {type: string}}
              tags: {type: array, items: {type: string}, x-kubernetes-list-type: set}
              ports:
                type: array
                x-kubernetes-list-type: map
                x-kubernetes-list-map-keys: [name]
                items: {type: object, required: [name], properties: {name: {type: string}, port: {type: integer}}}
              ref:
                type: object
                x-kubernetes-embedded-resource: true
                x-kubernetes-preserve-unknown-fields: true
              when: {type: string, format: date-time}
              every: {type: string, format: duration}
              oneish:
                type: object
                properties: {a: {type: string}, b: {type: string}}
                oneOf: [{required: [a]}, {required: [b]}]
"""


@pytest.fixture()
def widget_dir(tmp_path) -> Path:
    (tmp_path / "widgets.yaml").write_text(SYNTHETIC_CRD)
    (tmp_path / "README.md").write_text("not a CRD")
    return tmp_path


def widget(**spec) -> dict:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "ns"}, "spec": spec}


def test_structural_semantics_accepts(widget_dir):
    schema_check.clear_caches()
    obj = widget(
        port="http", note=None, size=2, free={"x": 1, "known": {"a": "s"}}, labels={"k": "v"}, tags=["a", "b"],
        ports=[{"name": "a", "port": 1}, {"name": "b", "port": 1}],
        ref={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"a": "b"}},
        when="2024-01-01T00:00:00Z", every="1h30m", oneish={"a": "x"},
    )
    assert validate_object(obj, crd_dir=widget_dir) == []
    assert validate_object(widget(port=8080), crd_dir=widget_dir) == []


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"port": 1.5}, "$.spec.port: 1.5 is not of type 'integer' or 'string'"),
        ({"size": None}, "$.spec.size: None is not of type 'integer'"),
        ({"size": 0}, "$.spec.size: 0 is less than the minimum of 1"),
        ({"bogus": 1}, '$.spec.bogus: unknown field "bogus"'),
        ({"free": {"known": {"b": 1}}}, '$.spec.free.known.b: unknown field "b"'),
        ({"labels": {"k": 1}}, "$.spec.labels.k: 1 is not of type 'string'"),
        ({"tags": ["a", "a"]}, "$.spec.tags[1]: duplicate value 'a'"),
        ({"ports": [{"name": "a"}, {"name": "a", "port": 2}]}, "$.spec.ports[1]: duplicate entry with name=\"a\""),
        ({"ref": {"kind": "ConfigMap"}}, "$.spec.ref: embedded resource needs a non-empty 'apiVersion'"),
        ({"ref": {"apiVersion": "v1", "kind": "X", "metadata": {"nam": "x"}}}, '$.spec.ref.metadata.nam: unknown field "nam"'),
        ({"when": "yesterday"}, "$.spec.when: 'yesterday' is not a 'date-time'"),
        ({"every": "soon"}, "$.spec.every: 'soon' is not a 'duration'"),
        ({"oneish": {"a": "x", "b": "y"}}, "$.spec.oneish: {'a': 'x', 'b': 'y'} is valid under each of"),
    ],
)
def test_structural_semantics_rejects(widget_dir, spec, expected):
    errors = validate_object(widget(**spec), crd_dir=widget_dir)
    assert len(errors) == 1 and errors[0].startswith(f"Widget/ns/w: {expected}"), errors


def test_unserved_version_fails(widget_dir):
    obj = widget()
    obj["apiVersion"] = "example.com/v1old"
    assert validate_object(obj, crd_dir=widget_dir) == [
        "Widget/ns/w: $: version v1old of Widget is not served (CRD widgets.example.com)"
    ]


# --------------------------------------------------------------------------------------------------
# Upstream examples


def _checked_objects(path: Path, crd_dir: Path) -> list[dict]:
    return [
        d
        for d in load_manifests(path)
        if str(d.get("apiVersion", "")).startswith("toolhive.stacklok.dev/") or is_builtin(d)
    ]


def test_examples_present_and_filtered(crd_dir):
    assert EXAMPLE_FILES, "no upstream examples found"
    all_objs = [d for p in EXAMPLE_FILES for d in load_manifests(p)]
    checked = [d for p in EXAMPLE_FILES for d in _checked_objects(p, crd_dir)]
    skipped = {(d["apiVersion"], d["kind"]) for d in all_objs if d not in checked}
    assert skipped == {("databases.spotahome.com/v1", "RedisFailover")}
    assert len(checked) >= 100
    assert all(has_schema(d, crd_dir=crd_dir) for d in checked)


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: str(p.relative_to(EXAMPLES_DIR)))
def test_upstream_example(path: Path, crd_dir: Path):
    rel = str(path.relative_to(EXAMPLES_DIR))
    objs = _checked_objects(path, crd_dir)
    errors = validate_manifests(objs, crd_dir=crd_dir)
    expected = KNOWN_STALE_EXAMPLES.get(rel, [])
    # every error must be a known stale field, and every known stale field must still be reported
    unexpected = [e for e in errors if not any(k in e for k in expected)]
    assert unexpected == [], f"{rel}: {unexpected}"
    assert all(any(k in e for e in errors) for k in expected), f"{rel}: expected {expected}, got {errors}"
    assert len(errors) == len(expected)


def test_known_stale_fields_are_really_absent_from_the_crd(crd_dir):
    crd = load_manifests(crd_dir / "toolhive.stacklok.dev_virtualmcpcompositetooldefinitions.yaml")[0]
    for version in crd["spec"]["versions"]:
        spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
        assert "failureMode" not in spec["properties"]
        on_error = spec["properties"]["steps"]["items"]["properties"]["onError"]["properties"]
        assert "retryCount" in on_error and "maxRetries" not in on_error


# --------------------------------------------------------------------------------------------------
# Command line and speed


def test_main_exit_codes(tmp_path, capsys, crd_dir):
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump_all([deployment(), mcpserver()]))
    assert main([str(good), "--crd-dir", str(crd_dir)]) == 0

    bad_obj = deployment()
    bad_obj["spec"]["replicas"] = "one"
    bad = tmp_path / "dir" / "bad.yaml"
    bad.parent.mkdir()
    bad.write_text(yaml.safe_dump(bad_obj))
    capsys.readouterr()
    assert main([str(tmp_path / "dir"), "-q"]) == 1
    out = capsys.readouterr().out
    assert f"{bad}: Deployment/toolhive-system/toolhive-operator: $.spec.replicas: 'one' is not of type 'integer'" in out

    broken = tmp_path / "broken.yaml"
    broken.write_text("a: [unclosed\n")
    assert main([str(broken), str(good)]) == 2
    assert main([str(tmp_path / "missing.yaml")]) == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main([str(empty)]) == 2


def test_yaml_timestamps_stay_strings(tmp_path):
    f = tmp_path / "cm.yaml"
    f.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  when: 2024-01-01T00:00:00Z\n")
    (obj,) = load_manifests(f)
    assert obj["data"]["when"] == "2024-01-01T00:00:00Z"
    assert validate_object(obj) == []


def test_a_batch_of_two_hundred_objects_reports_what_each_reports_alone(crd_dir):
    """A mixed batch of two hundred objects checked in one call says what each says alone (how fast is the
    benchmark's business). Some upstream examples carry fields the CRDs prune: those are reported either way."""
    objs = [d for p in EXAMPLE_FILES for d in _checked_objects(p, crd_dir)]
    objs += [load_manifests(p)[0] for p in CRD_FILES]
    objs += [deployment() for _ in range(200 - len(objs))] if len(objs) < 200 else []
    assert len(objs) >= 200
    assert validate_manifests(objs, crd_dir=crd_dir) == [e for obj in objs for e in validate_object(obj, crd_dir=crd_dir)]
    assert not any(e.startswith("Deployment/") for e in validate_manifests(objs, crd_dir=crd_dir))
