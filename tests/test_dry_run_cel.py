"""The dry run evaluates the CEL rules (x-kubernetes-validations) of the ToolHive CRDs as the API server does."""
from __future__ import annotations

import copy

import pytest
import yaml

from components import bundle
from tools.validate import cel, check_objects

RELEASE_CRDS = list(bundle.crd_documents(bundle.default_release()))
STORAGE_VERSION = {crd["spec"]["names"]["kind"]: next(v["name"] for v in crd["spec"]["versions"] if v["storage"])
                   for crd in RELEASE_CRDS}


def custom(kind: str, spec: dict, name: str = "x") -> dict:
    return {"apiVersion": f"toolhive.stacklok.dev/{STORAGE_VERSION[kind]}", "kind": kind,
            "metadata": {"name": name, "namespace": "team-a"}, "spec": spec}


def cel_messages(obj: dict, crds: list[dict] | None = None) -> list[str]:
    """'<path>: <message>' of every CEL failure of obj (CRDs: the bundled release's, as a stack applies them)."""
    return [f"{p.path}: {p.message}" for p in cel.check([*(RELEASE_CRDS if crds is None else crds), obj])]


def _all_rules() -> list[tuple[str, dict]]:
    found = []

    def walk(node):
        if isinstance(node, dict):
            found.extend(rule for rule in node.get("x-kubernetes-validations") or ())
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for crd in RELEASE_CRDS:
        walk(crd)
    return found


def test_every_cel_rule_of_the_bundled_crds_compiles_with_the_kubernetes_functions():
    rules = _all_rules()
    assert len(rules) == 135  # v0.44.0; a new release with more rules still has to compile below
    for rule in {r["rule"] for r in rules}:
        cel.program(rule)  # raises on a rule celpy cannot parse


MCP = {"image": "ghcr.io/stackloklabs/gofetch/server:1.0", "transport": "streamable-http"}
REDIS = {"provider": "redis", "address": "valkey.team-a:6379"}
SHARED_LIMIT = {"maxTokens": 10, "refillPeriod": "1m"}

# (kind, spec that passes, spec that fails, path, message fragment): one row per distinct rule shape.
CASES = {
    "ternary-has (MCPServer rateLimiting needs redis sessionStorage)": (
        "MCPServer", {**MCP, "rateLimiting": {"shared": SHARED_LIMIT}, "sessionStorage": REDIS},
        {**MCP, "rateLimiting": {"shared": SHARED_LIMIT}},
        "$.spec", "rateLimiting requires sessionStorage with provider 'redis'"),
    "discriminated union (type names the one config that is set)": (
        "MCPExternalAuthConfig", {"type": "bearerToken", "bearerToken": {"tokenSecretRef": {"name": "s", "key": "k"}}},
        {"type": "bearerToken", "headerInjection": {"headerName": "X", "valueSecretRef": {"name": "s", "key": "k"}}},
        "$.spec", "bearerToken configuration must be set if and only if type is 'bearerToken'"),
    "boolean conjunction": (
        "MCPExternalAuthConfig", {"type": "embeddedAuthServer", "embeddedAuthServer": {
            "issuer": "https://auth.example.com", "allowConfidentialClientRegistration": True}},
        {"type": "embeddedAuthServer", "embeddedAuthServer": {
            "issuer": "https://auth.example.com", "allowConfidentialClientRegistration": True, "insecureAllowHTTP": True}},
        "$.spec.embeddedAuthServer", "allowConfidentialClientRegistration cannot be combined with insecureAllowHTTP"),
    "size() and startsWith()": (
        "MCPExternalAuthConfig", {"type": "embeddedAuthServer", "embeddedAuthServer": {
            "issuer": "https://auth.example.com",
            "delegateClients": [{"clientId": "a", "clientSecretRef": {"name": "s", "key": "k"}}]}},
        {"type": "embeddedAuthServer", "embeddedAuthServer": {
            "issuer": "http://auth.example.com",
            "delegateClients": [{"clientId": "a", "clientSecretRef": {"name": "s", "key": "k"}}]}},
        "$.spec.embeddedAuthServer", "delegateClients require an https:// issuer"),
    "rule on list items, size of a nested field": (
        "MCPExternalAuthConfig", {"type": "embeddedAuthServer", "embeddedAuthServer": {
            "issuer": "https://a.example.com", "delegateClients": [{"clientId": "a", "clientSecretRef": {"name": "s", "key": "k"}}]}},
        {"type": "embeddedAuthServer", "embeddedAuthServer": {
            "issuer": "https://a.example.com", "delegateClients": [{"clientId": "a", "clientSecretRef": {"name": "s", "key": ""}}]}},
        "$.spec.embeddedAuthServer.delegateClients[0]", "clientSecretRef.name and clientSecretRef.key are required"),
    "has() != has() with a size() method call": (
        "MCPExternalAuthConfig", {"type": "embeddedAuthServer", "embeddedAuthServer": {
            "issuer": "https://a.example.com", "storage": {"type": "redis", "redis": {"addr": "r:6379"}}}},
        {"type": "embeddedAuthServer", "embeddedAuthServer": {
            "issuer": "https://a.example.com", "storage": {"type": "redis", "redis": {"addr": ""}}}},
        "$.spec.embeddedAuthServer.storage.redis", "exactly one of addr or sentinelConfig must be set"),
    "'x' in a list field": (
        "MCPExternalAuthConfig", {"type": "embeddedAuthServer", "embeddedAuthServer": {
            "issuer": "https://a.example.com", "trustedIssuers": [{"issuer": "https://i", "allowedDelegateClients": ["*"]}]}},
        {"type": "embeddedAuthServer", "embeddedAuthServer": {
            "issuer": "https://a.example.com", "trustedIssuers": [{"issuer": "https://i", "allowedDelegateClients": ["*", "b"]}]}},
        "$.spec.embeddedAuthServer.trustedIssuers[0]", "must not combine the wildcard"),
    "value in a list literal": (
        "MCPExternalAuthConfig", {"type": "embeddedAuthServer", "embeddedAuthServer": {
            "issuer": "https://a.example.com", "trustedIssuers": [{"issuer": "https://i", "allowedDelegateClients": ["a"], "actorClaim": "azp"}]}},
        {"type": "embeddedAuthServer", "embeddedAuthServer": {
            "issuer": "https://a.example.com", "trustedIssuers": [{"issuer": "https://i", "allowedDelegateClients": ["a"], "actorClaim": "sub"}]}},
        "$.spec.embeddedAuthServer.trustedIssuers[0]", "actorClaim must name a readable claim"),
    "nested ternary": (
        "MCPExternalAuthConfig", {"type": "embeddedAuthServer", "embeddedAuthServer": {
            "issuer": "https://a.example.com", "upstreamProviders": [{"name": "u", "type": "oidc", "oidcConfig": {"issuerUrl": "https://o"}}]}},
        {"type": "embeddedAuthServer", "embeddedAuthServer": {
            "issuer": "https://a.example.com", "upstreamProviders": [{"name": "u", "type": "oidc", "oauth2Config": {"clientId": "c"}}]}},
        "$.spec.embeddedAuthServer.upstreamProviders[0]", "type must be 'oidc' or 'oauth2'"),
    "all() over a list with has()": (
        "MCPServer", {**MCP, "sessionStorage": REDIS, "rateLimiting": {"tools": [{"name": "t", "shared": SHARED_LIMIT}]}},
        {**MCP, "sessionStorage": REDIS, "rateLimiting": {"tools": [{"name": "t", "perUser": SHARED_LIMIT}]}},
        "$.spec", "per-tool perUser rate limiting requires authentication"),
    "all() with map-key membership": (
        "MCPTelemetryConfig", {"openTelemetry": {"endpoint": "otel:4317", "headers": {"a": "1"}, "sensitiveHeaders": [
            {"name": "b", "secretKeyRef": {"name": "s", "key": "k"}}]}},
        {"openTelemetry": {"endpoint": "otel:4317", "headers": {"a": "1"}, "sensitiveHeaders": [
            {"name": "a", "secretKeyRef": {"name": "s", "key": "k"}}]}},
        "$.spec.openTelemetry", "a header name cannot appear in both headers and sensitiveHeaders"),
    "sum of conditional sizes": (
        "MCPWebhookConfig", {"validating": [{"name": "v", "url": "https://v.example.com"}]}, {},
        "$.spec", "at least one validating or mutating webhook must be defined"),
    "duration()": (
        "VirtualMCPServer", {"groupRef": {"name": "g"}, "config": {"operational": {"failureHandling": {"circuitBreaker": {"timeout": "1m30s"}}}}},
        {"groupRef": {"name": "g"}, "config": {"operational": {"failureHandling": {"circuitBreaker": {"timeout": "500ms"}}}}},
        "$.spec.config.operational.failureHandling.circuitBreaker.timeout", "timeout must be >= 1s"),
    "matches() and lowerAscii()": (
        "VirtualMCPServer", {"groupRef": {"name": "g"}, "config": {"optimizer": {"embeddingProvider": "openai", "embeddingHeaders": {"X-Api-Key": "k"}}}},
        {"groupRef": {"name": "g"}, "config": {"optimizer": {"embeddingProvider": "openai", "embeddingHeaders": {"AUTHORIZATION": "k"}}}},
        "$.spec.config.optimizer", "must not include Authorization or Content-Type"),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_cel_rule_accepts_the_valid_object_and_rejects_the_invalid_one(case):
    kind, good, bad, path, message = CASES[case]
    assert cel_messages(custom(kind, good)) == []
    assert any(found.startswith(f"{path}: ") and message in found for found in cel_messages(custom(kind, bad))), \
        cel_messages(custom(kind, bad))


def test_mcpserver_with_rate_limiting_but_no_redis_session_storage_fails_the_whole_dry_run():
    bad = custom("MCPServer", {**MCP, "rateLimiting": {"shared": SHARED_LIMIT}}, name="fetch")
    problems = check_objects([*RELEASE_CRDS, bad])
    assert [str(p) for p in problems] == [
        "MCPServer/team-a/fetch: $.spec: rateLimiting requires sessionStorage with provider 'redis'"]


def test_matches_uses_the_rules_regex_and_rejects_an_invalid_header_name():
    spec = {"groupRef": {"name": "g"}, "config": {"optimizer": {"embeddingProvider": "openai", "embeddingHeaders": {"bad header": "k"}}}}
    assert any("must be valid HTTP header names" in m for m in cel_messages(custom("VirtualMCPServer", spec)))


def test_a_rule_that_cannot_be_evaluated_rejects_the_object_as_the_api_server_does():
    spec = {"groupRef": {"name": "g"}, "config": {"operational": {"failureHandling": {"circuitBreaker": {"timeout": "soon"}}}}}
    assert cel_messages(custom("VirtualMCPServer", spec)) == [
        "$.spec.config.operational.failureHandling.circuitBreaker.timeout: CEL rule could not be evaluated (return "
        "error for overflow): self == '' || duration(self) >= duration('1s')"]
    assert cel_messages(custom("VirtualMCPServer", {"groupRef": {"name": "g"}, "config": {"operational": {
        "failureHandling": {"circuitBreaker": {"timeout": ""}}}}})) == []


def test_rules_see_the_object_after_schema_defaulting():
    # authzConfig.type defaults to configMap; the rule 'type == configMap ? has(configMap) : ...' then holds.
    defaulted = custom("MCPServer", {**MCP, "authzConfig": {"configMap": {"name": "authz"}}})
    assert cel_messages(defaulted) == []
    inline = custom("MCPServer", {**MCP, "authzConfig": {"inline": {"policies": ["permit(principal, action, resource);"]}}})
    assert sorted(cel_messages(inline)) == [
        "$.spec.authzConfig: configMap must be set when type is 'configMap', and must not be set otherwise",
        "$.spec.authzConfig: inline must be set when type is 'inline', and must not be set otherwise",
    ]


def test_the_stack_s_own_crds_are_the_ones_evaluated():
    changed = copy.deepcopy(RELEASE_CRDS)
    webhook = next(c for c in changed if c["spec"]["names"]["kind"] == "MCPWebhookConfig")
    for version in webhook["spec"]["versions"]:
        version["schema"]["openAPIV3Schema"]["properties"]["spec"].pop("x-kubernetes-validations")
    assert cel_messages(custom("MCPWebhookConfig", {}), crds=changed) == []
    assert cel_messages(custom("MCPWebhookConfig", {})) != []


WIDGET_CRD = yaml.safe_load("""
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {kind: Widget, plural: widgets}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            x-kubernetes-validations:
            - {rule: "self.replicas >= oldSelf.replicas", message: never on create}
            - {rule: "self.replicas <= 5", fieldPath: .replicas}
            - {rule: "self.name.upperAscii() == self.name", message: upper case only}
            - {rule: "self.replicas +", message: broken rule}
            properties:
              replicas: {type: integer}
              name: {type: string}
""")


def test_transition_rules_are_skipped_on_create_and_field_path_and_default_message_are_used():
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "n"},
              "spec": {"replicas": 9, "name": "lower"}}
    found = cel_messages(widget, crds=[WIDGET_CRD])
    assert found[0] == "$.spec.replicas: failed rule: self.replicas <= 5"
    assert found[1] == "$.spec: upper case only"
    assert found[2].startswith("$.spec: CEL rule does not compile")
    assert not any("never on create" in f for f in found)
    assert len(found) == 3


def example_crd(kind: str, spec_schema: str) -> dict:
    """A namespaced example.com/v1 CRD whose `spec` has the given schema (YAML, indented as under `spec:`)."""
    crd = copy.deepcopy(WIDGET_CRD)
    crd["metadata"]["name"] = f"{kind.lower()}s.example.com"
    crd["spec"]["names"] = {"kind": kind, "plural": f"{kind.lower()}s"}
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"] = yaml.safe_load(spec_schema)
    return crd


GADGET_CRD = example_crd("Gadget", """
type: object
properties:
  mode:
    type: string
    default: fast
  limits:
    type: object
    x-kubernetes-validations:
    - {rule: "self.mode == 'fast' || self.burst == 0", message: burst needs fast mode}
    properties:
      mode: {type: string, default: fast}
      burst: {type: integer}
  ports:
    type: array
    items:
      type: object
      x-kubernetes-validations:
      - {rule: "self.number > 1024", message: unprivileged ports only}
      properties:
        number: {type: integer}
  labels:
    type: object
    additionalProperties:
      type: string
      x-kubernetes-validations:
      - {rule: "self.lowerAscii() == self", message: lower case values only}
  names:
    type: array
    items:
      type: string
      x-kubernetes-validations:
      - {rule: "self.upperAscii() != self", message: not all upper case}
""")


def gadget(spec: dict) -> dict:
    return {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g", "namespace": "n"}, "spec": spec}


def test_rules_inside_maps_and_lists_are_evaluated_for_every_entry():
    found = cel_messages(gadget({"ports": [{"number": 8080}, {"number": 80}], "labels": {"a": "ok", "b": "NO"},
                                 "names": ["mixed", "UPPER"]}), crds=[GADGET_CRD])
    assert sorted(found) == ["$.spec.labels.b: lower case values only", "$.spec.names[1]: not all upper case",
                             "$.spec.ports[1]: unprivileged ports only"]


def test_a_defaulted_field_is_seen_by_the_rules_with_its_default_value():
    assert cel_messages(gadget({"limits": {"burst": 5}}), crds=[GADGET_CRD]) == []  # mode defaults to fast
    assert cel_messages(gadget({"limits": {"mode": "slow", "burst": 5}}), crds=[GADGET_CRD]) == [
        "$.spec.limits: burst needs fast mode"]


def test_lower_and_upper_ascii_change_only_ascii_letters_as_kubernetes_does():
    """The Kubernetes strings library: non-ASCII letters are left as they are."""
    # 'straße-é' is its own lowerAscii; 'STRAßE' its own upperAscii (Python's upper() would make it STRASSE).
    assert cel_messages(gadget({"labels": {"a": "straße-é"}, "names": ["ÉCOLE", "STRAßE"]}), crds=[GADGET_CRD]) == [
        "$.spec.names[0]: not all upper case", "$.spec.names[1]: not all upper case"]
    assert str(cel.program("'Straße-É'.lowerAscii()").evaluate({})) == "straße-É"
    assert str(cel.program("'straße-é'.upperAscii()").evaluate({})) == "STRAßE-é"


def test_a_rule_without_text_is_reported_as_not_compiling():
    crd = copy.deepcopy(WIDGET_CRD)
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["x-kubernetes-validations"] = [
        {"message": "no rule"}]
    (found,) = cel_messages({**gadget({"replicas": 1}), "kind": "Widget"}, crds=[crd])
    assert found.startswith("$.spec: CEL rule does not compile (") and found.endswith("): ")


def test_a_rule_that_returns_something_else_than_a_bool_rejects_the_object():
    crd = copy.deepcopy(WIDGET_CRD)
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["x-kubernetes-validations"] = [
        {"rule": "self.replicas"}, {"rule": "self.replicas == 1"}, {"rule": "self.replicas == 2", "message": "two"}]
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "n"},
              "spec": {"replicas": 1}}
    assert cel_messages(widget, crds=[crd]) == ["$.spec: CEL rule did not return a bool (IntType(1)): self.replicas",
                                                "$.spec: two"]


@pytest.mark.parametrize("field_path, where", [(".replicas", "$.spec.replicas"), ("replicas", "$.spec.replicas"),
                                               ("['replicas']", "$.spec['replicas']"), ("", "$.spec"), (5, "$.spec")])
def test_a_rules_field_path_is_appended_to_where_the_rule_sits(field_path, where):
    crd = copy.deepcopy(WIDGET_CRD)
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["x-kubernetes-validations"] = [
        {"rule": "self.replicas <= 5", "fieldPath": field_path, "message": "at most 5"}]
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "n"},
              "spec": {"replicas": 9}}
    assert cel_messages(widget, crds=[crd]) == [f"{where}: at most 5"]


def test_a_map_with_named_and_other_keys_runs_each_entrys_own_rules_once():
    crd = copy.deepcopy(GADGET_CRD)
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["labels"][
        "properties"] = {"team": {"type": "string", "x-kubernetes-validations": [{"rule": "self != ''", "message": "set"}]}}
    found = cel_messages(gadget({"labels": {"team": "OPS", "other": None, "b": "NO"}}), crds=[crd])
    assert found == ["$.spec.labels.b: lower case values only"]  # "team" answers to its own rule only


def test_a_list_field_given_as_something_else_is_left_to_the_schema_check():
    assert cel_messages(gadget({"ports": "8080", "names": {"a": "B"}}), crds=[GADGET_CRD]) == []


def test_the_crd_directory_is_used_for_kinds_the_objects_do_not_define(tmp_path):
    (tmp_path / "widgets.yaml").write_text(yaml.safe_dump(WIDGET_CRD))
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "n"},
              "spec": {"replicas": 9, "name": "W"}}
    found = [f"{p.path}: {p.message}" for p in cel.check([widget], crd_dir=tmp_path)]
    assert found[0] == "$.spec.replicas: failed rule: self.replicas <= 5"


def test_an_object_without_rules_does_not_end_the_check_of_those_after_it():
    plain = example_crd("Plain", "{type: object}")
    objects = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"}},
               {"apiVersion": "example.com/v1", "kind": "Plain", "metadata": {"name": "p", "namespace": "n"}, "spec": {}},
               gadget({"ports": [{"number": 80}]})]
    assert [f"{p.path}: {p.message}" for p in cel.check([plain, GADGET_CRD, *objects])] == [
        "$.spec.ports[0]: unprivileged ports only"]


def test_defaulting_for_the_rules_leaves_the_checked_object_as_it_was():
    obj = gadget({"limits": {"burst": 5}})
    before = copy.deepcopy(obj)
    cel.check([GADGET_CRD, obj])
    assert obj == before
