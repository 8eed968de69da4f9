"""The API server's per-kind rules (tools/validate/apiserver.py), one row per rule: the object, and every problem
it gets, path and message exactly, as `tools.render` prints them. A loosened comparison, a dropped rule or a
reworded message fails its row. tests/test_dry_run.py holds the realistic Deployment and the rules' use in the dry
run; the rows here reach every branch with the smallest object that shows it."""
from __future__ import annotations

import pytest

from components.k8s import validation
from tools.validate import apiserver

RBAC = "rbac.authorization.k8s.io"
DNS_SUBDOMAIN = validation.storage_class_name("Bad_")[0]  # "must be a DNS subdomain: ..."
NAME_PART = "name part must be 1-63 alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric"
LABEL_VALUE = "must be at most 63 alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric"
SECRET_KEY = validation.secret_key("a/b")[0]
IANA = "must be an IANA service name (at most 15 lowercase alphanumerics and '-', with a letter)"
PORT_OR_NAME = "must be a port number or an IANA service name (at most 15 lowercase alphanumerics and '-', with a letter)"


def messages(obj) -> list[str]:
    return [f"{p.path}: {p.message}" for p in apiserver.check([obj])]


def obj(kind: str, api_version: str = "v1", **body) -> dict:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": "x", "namespace": "n"}, **body}


def pod(**spec) -> dict:
    return obj("Pod", spec={"containers": [{"name": "c", "image": "i"}], **spec})


def container(**fields) -> dict:
    return pod(containers=[{"name": "c", "image": "i", **fields}], volumes=[{"name": "v", "emptyDir": {}}])


C = "$.spec.containers[0]"


# ---------------------------------------------------------------------------------------------------------------
# Names, labels, annotations


@pytest.mark.parametrize(("key", "expected"), [
    ("a", None), ("example.com/a", None), ("a" * 63, None), ("a.b_c-d", None), ("a/" + "b" * 63, None),
    (1, "must be a string"),
    ("Bad_/a", "prefix 'Bad_' must be a DNS-1123 subdomain"),
    ("/a", "prefix '' must be a DNS-1123 subdomain"),
    ("a" * 64, NAME_PART), ("-a", NAME_PART), ("a-", NAME_PART), ("example.com/", NAME_PART), ("", NAME_PART),
    ("a b", NAME_PART), ("a/b/c", "prefix 'a/b' must be a DNS-1123 subdomain"),
])
def test_a_qualified_name_is_an_optional_subdomain_prefix_and_a_name_of_at_most_63(key, expected):
    assert apiserver.qualified_name_error(key) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("", None), ("a", None), ("a" * 63, None), ("a.b_c-d", None),
    ("a" * 64, LABEL_VALUE), ("-a", LABEL_VALUE), ("a_", LABEL_VALUE), ("a b", LABEL_VALUE), (1, "must be a string"),
])
def test_a_label_value_is_empty_or_at_most_63_starting_and_ending_alphanumeric(value, expected):
    assert apiserver.label_value_error(value) == expected


@pytest.mark.parametrize(("value", "label", "subdomain"), [
    ("a", True, True), ("a-b", True, True), ("a.b", False, True), ("A", False, False), (None, False, False),
    ("a" * 63, True, True), ("a" * 64, False, True), ("-a", False, False),
])
def test_dns_names_are_strings_of_the_rule(value, label, subdomain):
    assert (apiserver.is_dns1123_label(value), apiserver.is_dns1123_subdomain(value)) == (label, subdomain)


def test_a_label_with_a_bad_key_and_a_bad_value_gets_both_problems():
    template = {"metadata": {"labels": {"-k": "-v", "ok": "fine"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}
    job = obj("Job", "batch/v1", spec={"template": template})
    assert messages(job) == [
        f"$.spec.template.metadata.labels['-k']: invalid label key '-k': {NAME_PART}",
        f"$.spec.template.metadata.labels['-k']: invalid label value '-v': {LABEL_VALUE}",
    ]


def annotated(annotations: dict) -> dict:
    return obj("Job", "batch/v1", spec={"template": {"metadata": {"annotations": annotations},
                                                     "spec": {"containers": [{"name": "c", "image": "i"}]}}})


def test_annotation_keys_are_checked_lower_cased_and_their_total_size_counts_keys_and_values():
    assert messages(annotated({"Example.COM/A": "b"})) == []
    assert messages(annotated({"-a": "b"})) == [f"$.spec.template.metadata.annotations['-a']: invalid annotation key '-a': {NAME_PART}"]
    assert messages(annotated({"k": "x" * (256 * 1024 - 1)})) == []  # key and value: exactly the limit
    assert messages(annotated({"k": "x" * (256 * 1024)})) == [
        "$.spec.template.metadata.annotations: annotations total 262145 bytes, must be at most 262144"]
    assert messages(annotated({"k": "x" * (128 * 1024), "l": "y" * (128 * 1024)})) == [
        "$.spec.template.metadata.annotations: annotations total 262146 bytes, must be at most 262144"]
    assert messages(annotated({"k" * 10: None})) == []  # a value that is not a string counts nothing
    assert messages(annotated({1: "x"})) == ["$.spec.template.metadata.annotations[1]: invalid annotation key 1: must be a string"]


# ---------------------------------------------------------------------------------------------------------------
# Selectors


def budget(selector: dict) -> dict:
    return obj("PodDisruptionBudget", "policy/v1", spec={"selector": selector, "minAvailable": 1})


@pytest.mark.parametrize(("expression", "expected"), [
    ({"key": "a", "operator": "In", "values": ["x"]}, []),
    ({"key": "a", "operator": "NotIn", "values": ["x"]}, []),
    ({"key": "a", "operator": "Exists"}, []),
    ({"key": "a", "operator": "DoesNotExist"}, []),
    ({"key": "a", "operator": "In"}, ["$.spec.selector.matchExpressions[0].values: must be specified when operator is In"]),
    ({"key": "a", "operator": "NotIn", "values": []},
     ["$.spec.selector.matchExpressions[0].values: must be specified when operator is NotIn"]),
    ({"key": "a", "operator": "Exists", "values": ["x"]},
     ["$.spec.selector.matchExpressions[0].values: may not be specified when operator is Exists"]),
    ({"key": "a", "operator": "DoesNotExist", "values": ["x"]},
     ["$.spec.selector.matchExpressions[0].values: may not be specified when operator is DoesNotExist"]),
    ({"key": "a", "operator": "in", "values": ["x"]},
     ["$.spec.selector.matchExpressions[0].operator: 'in' is not one of In, NotIn, Exists, DoesNotExist"]),
    ({"key": "-a", "operator": "Exists"}, [f"$.spec.selector.matchExpressions[0].key: invalid label key '-a': {NAME_PART}"]),
    ({"key": "a", "operator": "In", "values": ["x", "-y"]},
     [f"$.spec.selector.matchExpressions[0].values[1]: invalid label value '-y': {LABEL_VALUE}"]),
])
def test_selector_expressions(expression, expected):
    assert messages(budget({"matchExpressions": [expression]})) == expected


def test_selector_match_labels_are_label_syntax():
    assert messages(budget({"matchLabels": {"a": "b c"}})) == [
        f"$.spec.selector.matchLabels.a: invalid label value 'b c': {LABEL_VALUE}"]


LABELS = {"app": "x", "tier": "web"}


@pytest.mark.parametrize(("selector", "matches"), [
    ({"matchLabels": {"app": "x"}}, True),
    ({"matchLabels": {"app": "y"}}, False),
    ({"matchLabels": {"app": "x", "zone": "a"}}, False),
    ({"matchExpressions": [{"key": "app", "operator": "In", "values": ["x", "z"]}]}, True),
    ({"matchExpressions": [{"key": "app", "operator": "In", "values": ["z"]}]}, False),
    ({"matchExpressions": [{"key": "zone", "operator": "In", "values": ["z"]}]}, False),
    ({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["z"]}]}, True),
    ({"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["z"]}]}, True),
    ({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["x"]}]}, False),
    ({"matchExpressions": [{"key": "app", "operator": "Exists"}]}, True),
    ({"matchExpressions": [{"key": "zone", "operator": "Exists"}]}, False),
    ({"matchExpressions": [{"key": "zone", "operator": "DoesNotExist"}]}, True),
    ({"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}, False),
    ({"matchLabels": {"app": "x"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["db"]}]}, False),
    ({"matchExpressions": [{"key": "app", "operator": "Exists"}, {"key": "tier", "operator": "NotIn", "values": ["web"]}]}, False),
])
def test_a_workload_selector_must_select_its_template(selector, matches):
    deployment = obj("Deployment", "apps/v1", spec={"selector": selector, "template": {
        "metadata": {"labels": LABELS}, "spec": {"containers": [{"name": "c", "image": "i"}]}}})
    expected = [] if matches else ["$.spec.template.metadata.labels: `selector` does not match template `labels`"]
    assert messages(deployment) == expected


# ---------------------------------------------------------------------------------------------------------------
# Workloads


def template(**spec) -> dict:
    return {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": "i"}], **spec}}


@pytest.mark.parametrize(("workload", "expected"), [
    (obj("Deployment", "apps/v1", spec={"selector": {"matchLabels": {"app": "x"}}, "template": template(), "replicas": 0}), []),
    (obj("Deployment", "apps/v1", spec={"selector": {}, "template": template()}),
     ["$.spec.selector: empty selector is invalid for a workload"]),
    (obj("Deployment", "apps/v1", spec={"template": template()}), ["$.spec.selector: empty selector is invalid for a workload"]),
    (obj("DaemonSet", "apps/v1", spec={"selector": {"matchExpressions": [{"key": "app", "operator": "Exists"}]},
                                       "template": template()}), []),
    (obj("ReplicaSet", "apps/v1", spec={"selector": {"matchLabels": {"app": "y"}}, "template": template()}),
     ["$.spec.template.metadata.labels: `selector` does not match template `labels`"]),
    (obj("ReplicationController", spec={"template": template()}), []),  # its selector defaults to the template's labels
    (obj("ReplicationController", spec={"selector": {}, "template": template()}),
     ["$.spec.selector: empty selector is invalid for a workload"]),
    (obj("Job", "batch/v1", spec={"template": template()}), []),  # the Job controller writes its selector
    (obj("Deployment", "apps/v1", spec={"selector": {"matchLabels": {"app": "x"}}, "template": template(), "replicas": -1}),
     ["$.spec.replicas: must be greater than or equal to 0"]),
])
def test_workload_selectors_and_replicas(workload, expected):
    assert messages(workload) == expected


def stateful_set(name: str = "db", **spec) -> dict:
    body = obj("StatefulSet", "apps/v1", spec={"selector": {"matchLabels": {"app": "x"}}, **spec})
    body["metadata"]["name"] = name
    return body


def test_a_stateful_sets_claim_templates_are_volumes_of_its_pods_and_their_storage_class_is_checked():
    claim = {"metadata": {"name": "data"}, "spec": {"storageClassName": "fast"}}
    mounted = template(containers=[{"name": "c", "image": "i", "volumeMounts": [{"name": "data", "mountPath": "/d"}]}])
    assert messages(stateful_set(template=mounted, volumeClaimTemplates=[claim])) == []
    assert messages(stateful_set(template=mounted)) == [
        "$.spec.template.spec.containers[0].volumeMounts[0].name: 'data' is not a volume of the pod"]
    bad = {"metadata": {"name": "data"}, "spec": {"storageClassName": "Bad_"}}
    assert messages(stateful_set(template=mounted, volumeClaimTemplates=[bad])) == [
        f"$.spec.volumeClaimTemplates[0].spec.storageClassName: 'Bad_' {DNS_SUBDOMAIN}"]


def test_a_stateful_sets_name_leaves_room_for_its_pods_revision_label():
    assert messages(stateful_set("a" * 52, template=template())) == []
    assert messages(stateful_set("a" * 53, template=template())) == [
        f"$.metadata.name: {'a' * 53!r} {validation.statefulset_name('a' * 53)[0]}"]
    nameless = stateful_set(template=template())
    del nameless["metadata"]["name"]
    assert messages(nameless) == ["$.metadata.name: must be a string"]


def test_a_cron_jobs_pod_template_gets_the_pod_rules():
    cron = obj("CronJob", "batch/v1", spec={"jobTemplate": {"spec": {"template": {
        "metadata": {"labels": {"a": "-"}}, "spec": {"containers": [{"name": "c"}]}}}}})
    assert messages(cron) == [
        f"$.spec.jobTemplate.spec.template.metadata.labels.a: invalid label value '-': {LABEL_VALUE}",
        "$.spec.jobTemplate.spec.template.spec.containers[0].image: required: a container image"]


# ---------------------------------------------------------------------------------------------------------------
# Pods and containers


@pytest.mark.parametrize(("resources", "expected"), [
    ({"requests": {"cpu": "1"}, "limits": {"cpu": "1"}}, []),
    ({"requests": {"cpu": "2"}}, []),  # no limit to exceed
    ({"requests": {"cpu": "0"}}, []),
    ({"requests": {"cpu": "-1"}}, [f"{C}.resources.requests.cpu: '-1' must be greater than or equal to 0"]),
    ({"limits": {"memory": "-1Mi"}}, [f"{C}.resources.limits.memory: '-1Mi' must be greater than or equal to 0"]),
    ({"requests": {"cpu": "1"}, "limits": {"cpu": "x"}}, [f"{C}.resources.limits.cpu: 'x' is not a valid quantity"]),
    ({"requests": {"cpu": "x"}, "limits": {"cpu": "1"}}, [f"{C}.resources.requests.cpu: 'x' is not a valid quantity"]),
    ({"requests": {"memory": "2Gi", "cpu": "2"}, "limits": {"memory": "1Gi", "cpu": "1"}},
     [f"{C}.resources.requests.memory: '2Gi' must be less than or equal to the memory limit '1Gi'",
      f"{C}.resources.requests.cpu: '2' must be less than or equal to the cpu limit '1'"]),
])
def test_container_resources(resources, expected):
    assert messages(container(resources=resources)) == expected


def test_a_container_needs_an_image():
    assert messages(container(image="")) == [f"{C}.image: required: a container image"]


@pytest.mark.parametrize(("env", "expected"), [
    ([{"name": "A b-c.d", "value": "1"}, {"name": "E", "value": "", "valueFrom": {"fieldRef": {"fieldPath": "x"}}}], []),
    ([{"value": "1"}], [f"{C}.env[0].name: None must be printable ASCII characters other than '='"]),
    ([{"name": "é", "value": "1"}], [f"{C}.env[0].name: 'é' must be printable ASCII characters other than '='"]),
    ([{"name": "", "value": "1"}], [f"{C}.env[0].name: '' must be printable ASCII characters other than '='"]),
    ([{"name": "A", "value": "1"}, {"name": "B"}, {"name": "A"}],
     [f"{C}.env[2].name: duplicate env name 'A' (same as [0])"]),
    ([{"name": "A", "value": "1", "valueFrom": {"fieldRef": {"fieldPath": "x"}}}],
     [f"{C}.env[0].valueFrom: may not be set when value is not empty"]),
    ([{"name": "A", "valueFrom": {}}],
     [f"{C}.env[0].valueFrom: must set exactly one source (configMapKeyRef, secretKeyRef, fieldRef, resourceFieldRef, fileKeyRef)"]),
    ([{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "x"}, "secretKeyRef": {"name": "s", "key": "k"}}}],
     [f"{C}.env[0].valueFrom: must set exactly one source (configMapKeyRef, secretKeyRef, fieldRef, resourceFieldRef, fileKeyRef)"]),
    ([{"name": "A", "valueFrom": {"secretKeyRef": {"name": "s", "key": "a/b"}}}],
     [f"{C}.env[0].valueFrom.secretKeyRef.key: 'a/b' {SECRET_KEY}"]),
    ([{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "s", "key": "a/b"}}}],
     [f"{C}.env[0].valueFrom.configMapKeyRef.key: 'a/b' {SECRET_KEY}"]),
    ([{"name": "A", "valueFrom": {"secretKeyRef": {"name": "s", "key": 1}}}],
     [f"{C}.env[0].valueFrom.secretKeyRef.key: must be a string"]),
    ([{"name": "A", "valueFrom": {"secretKeyRef": {"name": "s"}}}], []),  # the schema requires the key
])
def test_container_env(env, expected):
    assert messages(container(env=env)) == expected


@pytest.mark.parametrize(("ports", "expected"), [
    ([{"containerPort": 1}, {"containerPort": 65535, "protocol": "SCTP"}, {"containerPort": 80, "hostPort": 0}], []),
    ([{"containerPort": 80, "hostPort": 65535, "name": "a-1"}], []),
    ([{"containerPort": 80, "name": "a" * 15}], []),  # an IANA name: at most 15
    ([{"containerPort": 0}], [f"{C}.ports[0].containerPort: 0 must be a port number between 1 and 65535"]),
    ([{"containerPort": 65536}], [f"{C}.ports[0].containerPort: 65536 must be a port number between 1 and 65535"]),
    ([{"containerPort": True}], [f"{C}.ports[0].containerPort: True must be a port number between 1 and 65535"]),
    ([{"containerPort": "80"}], [f"{C}.ports[0].containerPort: '80' must be a port number between 1 and 65535"]),
    ([{}], [f"{C}.ports[0].containerPort: None must be a port number between 1 and 65535"]),
    ([{"containerPort": 80, "hostPort": -1}], [f"{C}.ports[0].hostPort: -1 must be a port number between 0 and 65535"]),
    ([{"containerPort": 80, "hostPort": 65536}], [f"{C}.ports[0].hostPort: 65536 must be a port number between 0 and 65535"]),
    ([{"containerPort": 80, "protocol": "tcp"}], [f"{C}.ports[0].protocol: 'tcp' is not one of TCP, UDP, SCTP"]),
    ([{"containerPort": 80, "name": "Http"}], [f"{C}.ports[0].name: 'Http' {IANA}"]),
    ([{"containerPort": 80, "name": "a" * 16}], [f"{C}.ports[0].name: {'a' * 16!r} {IANA}"]),
    ([{"containerPort": 80, "name": "8080"}], [f"{C}.ports[0].name: '8080' {IANA}"]),
    ([{"containerPort": 80, "name": "a--b"}], [f"{C}.ports[0].name: 'a--b' {IANA}"]),
    ([{"containerPort": 80, "name": ""}], [f"{C}.ports[0].name: '' {IANA}"]),
    ([{"containerPort": 80, "name": "a"}, {"containerPort": 81, "name": "a"}],
     [f"{C}.ports[1].name: duplicate port name 'a' (same as [0])"]),
    ([{"containerPort": 80}, {"containerPort": 80, "protocol": "TCP"}],
     [f"{C}.ports[1].containerPort: duplicate containerPort/protocol 80/TCP (same as [0])"]),
    ([{"containerPort": 80}, {"containerPort": 80, "protocol": "UDP"}], []),
    ([{"containerPort": 80}, {"containerPort": 81, "name": "a"}, {"containerPort": 82, "name": "a"}],  # unnamed: skipped
     [f"{C}.ports[2].name: duplicate port name 'a' (same as [1])"]),
])
def test_container_ports(ports, expected):
    assert messages(container(ports=ports)) == expected


@pytest.mark.parametrize(("mounts", "expected"), [
    ([{"name": "v", "mountPath": "/a"}, {"name": "v", "mountPath": "/b"}], []),
    ([{"name": "w", "mountPath": "/a"}], [f"{C}.volumeMounts[0].name: 'w' is not a volume of the pod"]),
    ([{"name": "v"}], [f"{C}.volumeMounts[0].mountPath: required: a mount path"]),
    ([{"name": "v", "mountPath": "/a"}, {"name": "v", "mountPath": "/a"}],
     [f"{C}.volumeMounts[1].mountPath: duplicate mountPath '/a' (same as [0])"]),
])
def test_container_volume_mounts(mounts, expected):
    assert messages(container(volumeMounts=mounts)) == expected


@pytest.mark.parametrize(("toleration", "expected"), [
    ({"key": "k", "value": "v"}, []),  # operator Equal by default
    ({"key": "k", "operator": "Equal", "value": "", "effect": "PreferNoSchedule"}, []),
    ({"operator": "Exists"}, []),
    ({"key": "k", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 5}, []),
    ({}, ["$.spec.tolerations[0].operator: must be Exists when key is empty (to tolerate every taint)"]),
    ({"key": "k", "operator": "Exists", "value": "v"}, ["$.spec.tolerations[0].value: must be empty when operator is Exists"]),
    ({"key": "k", "value": "-v"}, [f"$.spec.tolerations[0].value: invalid toleration value '-v': {LABEL_VALUE}"]),
    ({"key": "-k"}, [f"$.spec.tolerations[0].key: invalid toleration key '-k': {NAME_PART}"]),
    ({"key": "k", "operator": "Gt"}, ["$.spec.tolerations[0].operator: 'Gt' is not one of Equal, Exists"]),
    ({"key": "k", "effect": "NoRun"},
     ["$.spec.tolerations[0].effect: 'NoRun' is not one of NoSchedule, PreferNoSchedule, NoExecute (or empty)"]),
    ({"key": "k", "effect": "NoSchedule", "tolerationSeconds": 5},
     ["$.spec.tolerations[0].tolerationSeconds: may only be set when effect is NoExecute"]),
])
def test_tolerations(toleration, expected):
    assert messages(pod(tolerations=[toleration])) == expected


@pytest.mark.parametrize(("spec", "expected"), [
    ({"volumes": [{"name": "Bad"}]}, [f"$.spec.volumes[0].name: 'Bad' {validation.volume_name('Bad')[0]}"]),
    ({"volumes": [{}]}, ["$.spec.volumes[0].name: must be a string"]),
    ({"volumes": [{"name": "a"}, {"name": "a"}]}, ["$.spec.volumes[1].name: duplicate volume name 'a' (same as [0])"]),
    ({"volumes": [{"name": "a", "secret": {"items": [{"key": "ok", "path": "p"}, {"key": "a/b", "path": "q"}]}}]},
     [f"$.spec.volumes[0].secret.items[1].key: 'a/b' {SECRET_KEY}"]),
    ({"volumes": [{"name": "a", "configMap": {"items": [{"key": "a/b", "path": "q"}]}}]},
     [f"$.spec.volumes[0].configMap.items[0].key: 'a/b' {SECRET_KEY}"]),
    ({"imagePullSecrets": [{"name": "a"}, {}]}, ["$.spec.imagePullSecrets[1].name: required: a Secret name"]),
    ({"imagePullSecrets": [{"name": "a"}, {"name": "a"}]}, ["$.spec.imagePullSecrets[1].name: duplicate imagePullSecret 'a' (same as [0])"]),
    ({"nodeSelector": {"-k": "v"}}, [f"$.spec.nodeSelector['-k']: invalid nodeSelector key '-k': {NAME_PART}"]),
    ({"serviceAccountName": "sa.team"}, []),
    ({"serviceAccountName": "Bad_"}, ["$.spec.serviceAccountName: 'Bad_' must be a DNS-1123 subdomain"]),
    ({"priorityClassName": "Bad_"}, ["$.spec.priorityClassName: 'Bad_' must be a DNS-1123 subdomain"]),
    ({"initContainers": [{"name": "c", "image": "i"}]},
     ["$.spec.containers[0].name: duplicate container name 'c' (same as initContainers[0])"]),
    ({"ephemeralContainers": [{"name": "c", "image": "i"}]},
     ["$.spec.ephemeralContainers[0].name: duplicate container name 'c' (same as containers[0])"]),
    ({"ephemeralContainers": [{"image": "i"}]}, ["$.spec.ephemeralContainers[0].name: None must be a DNS-1123 label"]),
    ({"initContainers": [{"name": "i"}]}, ["$.spec.initContainers[0].image: required: a container image"]),
])
def test_pod_spec(spec, expected):
    assert messages(pod(**spec)) == expected


SPREAD = {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}


@pytest.mark.parametrize(("constraint", "expected"), [
    ({}, []),
    ({"whenUnsatisfiable": "ScheduleAnyway"}, []),
    ({"maxSkew": 0}, ["$.spec.topologySpreadConstraints[0].maxSkew: must be greater than zero"]),
    ({"maxSkew": "1"}, ["$.spec.topologySpreadConstraints[0].maxSkew: must be greater than zero"]),
    ({"maxSkew": None}, ["$.spec.topologySpreadConstraints[0].maxSkew: must be greater than zero"]),
    ({"whenUnsatisfiable": "Never"},
     ["$.spec.topologySpreadConstraints[0].whenUnsatisfiable: must be DoNotSchedule or ScheduleAnyway"]),
    ({"topologyKey": "-zone"}, ["$.spec.topologySpreadConstraints[0].topologyKey: must be a label key"]),
    ({"labelSelector": {"matchExpressions": [{"key": "a", "operator": "In"}]}},
     ["$.spec.topologySpreadConstraints[0].labelSelector.matchExpressions[0].values: must be specified when operator is In"]),
])
def test_topology_spread_constraints(constraint, expected):
    assert messages(pod(topologySpreadConstraints=[{**SPREAD, **constraint}])) == expected


def test_a_missing_max_skew_is_not_greater_than_zero():
    spread = {key: value for key, value in SPREAD.items() if key != "maxSkew"}
    assert messages(pod(topologySpreadConstraints=[spread])) == [
        "$.spec.topologySpreadConstraints[0].maxSkew: must be greater than zero"]


# ---------------------------------------------------------------------------------------------------------------
# Namespace fences


def limits(**item) -> dict:
    return obj("LimitRange", spec={"limits": [item]})


@pytest.mark.parametrize(("item", "expected"), [
    ({"type": "Pod", "max": {"cpu": "2"}}, []),
    ({"type": "PersistentVolumeClaim", "min": {"storage": "1Gi"}}, []),
    ({"type": "Node"}, ["$.spec.limits[0].type: 'Node' is not one of Container, Pod, PersistentVolumeClaim"]),
    ({"type": "Pod", "default": {"cpu": "1"}}, ["$.spec.limits[0]: default and defaultRequest may not be set for type Pod"]),
    ({"type": "Pod", "defaultRequest": {"cpu": "1"}}, ["$.spec.limits[0]: default and defaultRequest may not be set for type Pod"]),
    ({"type": "Container", "min": {"cpu": "-1"}}, ["$.spec.limits[0].min.cpu: '-1' is not a valid non-negative quantity"]),
    ({"type": "Container", "default": {"cpu": "1"}, "max": {"cpu": "1"}, "min": {"cpu": "1"}, "defaultRequest": {"cpu": "1"}}, []),
    ({"type": "Container", "min": {"cpu": "2"}, "default": {"cpu": "1"}},
     ["$.spec.limits[0].default.cpu: default '1' must be greater than or equal to min '2'"]),
    ({"type": "Container", "defaultRequest": {"cpu": "2"}, "max": {"cpu": "1"}},
     ["$.spec.limits[0].max.cpu: max '1' must be greater than or equal to defaultRequest '2'"]),
    ({"type": "Container", "min": {"cpu": "3"}, "defaultRequest": {"cpu": "2"}, "max": {"cpu": "1"}},
     ["$.spec.limits[0].defaultRequest.cpu: defaultRequest '2' must be greater than or equal to min '3'",
      "$.spec.limits[0].max.cpu: max '1' must be greater than or equal to min '3'",
      "$.spec.limits[0].max.cpu: max '1' must be greater than or equal to defaultRequest '2'"]),
    ({"type": "Container", "maxLimitRequestRatio": {"cpu": "0.5"}},
     ["$.spec.limits[0].maxLimitRequestRatio.cpu: must be greater than or equal to 1"]),
    ({"type": "Container", "maxLimitRequestRatio": {"cpu": "1"}, "default": {"cpu": "1"}, "defaultRequest": {"cpu": "1"}}, []),
    ({"type": "Container", "maxLimitRequestRatio": {"cpu": "2"}, "default": {"cpu": "2"}, "defaultRequest": {"cpu": "1"}}, []),
    ({"type": "Container", "maxLimitRequestRatio": {"cpu": "2"}, "default": {"cpu": "2"}, "defaultRequest": {"cpu": "0"}}, []),
    ({"type": "Container", "maxLimitRequestRatio": {"cpu": "2"}, "default": {"cpu": "3"}}, []),  # no request to divide by
    ({"type": "Container", "maxLimitRequestRatio": {"memory": "2"}, "default": {"memory": "5Gi"}, "defaultRequest": {"memory": "2Gi"}},
     ["$.spec.limits[0].maxLimitRequestRatio.memory: ratio 2.5 of default to defaultRequest is greater than max ratio '2'"]),
])
def test_limit_ranges(item, expected):
    assert messages(limits(**item)) == expected


def test_a_resource_quotas_hard_limits_are_non_negative_quantities():
    quota = obj("ResourceQuota", spec={"hard": {"pods": "0", "requests.cpu": "-1", "limits.cpu": "x"}})
    assert messages(quota) == ["$.spec.hard['requests.cpu']: '-1' is not a valid non-negative quantity",
                               "$.spec.hard['limits.cpu']: 'x' is not a valid non-negative quantity"]


def policy(**spec) -> dict:
    return obj("NetworkPolicy", "networking.k8s.io/v1", spec={"podSelector": {}, **spec})


@pytest.mark.parametrize(("spec", "expected"), [
    ({"policyTypes": ["Ingress", "Egress"]}, []),
    ({"policyTypes": ["Ingress", "egress"]}, ["$.spec.policyTypes[1]: 'egress' is not one of Ingress, Egress"]),
    ({"podSelector": {"matchLabels": {"-a": "b"}}}, [f"$.spec.podSelector.matchLabels['-a']: invalid label key '-a': {NAME_PART}"]),
    ({"ingress": [{"from": [{}]}]}, ["$.spec.ingress[0].from[0]: must specify a peer (podSelector, namespaceSelector or ipBlock)"]),
    ({"ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"a": "-"}}}]}]},
     [f"$.spec.ingress[0].from[0].namespaceSelector.matchLabels.a: invalid label value '-': {LABEL_VALUE}"]),
    ({"ingress": [{"from": [{"podSelector": {}}], "ports": [{"port": "Http"}]}]},
     [f"$.spec.ingress[0].ports[0].port: 'Http' {PORT_OR_NAME}"]),
    ({"egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}, "namespaceSelector": {}}]}]},
     ["$.spec.egress[0].to[0]: may not specify ipBlock together with podSelector or namespaceSelector"]),
    ({"egress": [{"to": [{"ipBlock": {}}]}]},
     ["$.spec.egress[0].to[0].ipBlock.cidr: None is not a valid CIDR (e.g. 10.0.0.0/16 or fd00::/8)"]),
    ({"egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.1/8", "except": ["10.0.0.0/8", "10.1.0.0/16"]}}]}]}, []),
    ({"egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["x"]}}]}]},
     ["$.spec.egress[0].to[0].ipBlock.except[0]: 'x' is not a valid CIDR"]),
    ({"egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.0.0.1"]}}]}]},
     ["$.spec.egress[0].to[0].ipBlock.except[0]: '10.0.0.1' is not a valid CIDR"]),
    ({"egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["fd00::/8"]}}]}]},
     ["$.spec.egress[0].to[0].ipBlock.except[0]: 'fd00::/8' must be within '10.0.0.0/8'"]),
    ({"egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["0.0.0.0/0"]}}]}]},
     ["$.spec.egress[0].to[0].ipBlock.except[0]: '0.0.0.0/0' must be within '10.0.0.0/8'"]),
    ({"egress": [{"to": [{"ipBlock": {"cidr": "bad/8", "except": ["10.0.0.0/8"]}}]}]},
     ["$.spec.egress[0].to[0].ipBlock.cidr: 'bad/8' is not a valid CIDR (e.g. 10.0.0.0/16 or fd00::/8)"]),
    ({"egress": [{"ports": [{"port": 80, "endPort": 80}, {"protocol": "UDP", "port": "dns"}, {"protocol": "SCTP"}]}]}, []),
    ({"egress": [{"ports": [{"endPort": 80}]}]}, ["$.spec.egress[0].ports[0].endPort: may only be set with a numeric port"]),
    ({"egress": [{"ports": [{"port": 80, "endPort": 65536}]}]},
     ["$.spec.egress[0].ports[0].endPort: 65536 must be a port number between 1 and 65535"]),
    ({"egress": [{"ports": [{"port": 80, "endPort": "90"}]}]},
     ["$.spec.egress[0].ports[0].endPort: '90' must be a port number between 1 and 65535"]),
    ({"egress": [{"ports": [{"port": 80, "endPort": 79}]}]}, ["$.spec.egress[0].ports[0].endPort: must be greater than or equal to port"]),
    ({"egress": [{"ports": [{"port": 65536}]}]}, ["$.spec.egress[0].ports[0].port: 65536 must be a port number between 1 and 65535"]),
    ({"egress": [{"ports": [{"protocol": "tcp"}]}]}, ["$.spec.egress[0].ports[0].protocol: 'tcp' is not one of TCP, UDP, SCTP"]),
])
def test_network_policies(spec, expected):
    assert messages(policy(**spec)) == expected


# ---------------------------------------------------------------------------------------------------------------
# Services, claims, ingresses, accounts, budgets, RBAC


def service(name: str = "web", **spec) -> dict:
    body = obj("Service", spec=spec)
    body["metadata"]["name"] = name
    return body


@pytest.mark.parametrize(("name", "spec", "expected"), [
    ("web", {"selector": {"app": "x"}, "ports": [{"port": 80, "targetPort": "http", "protocol": "UDP"}]}, []),
    ("web", {"ports": [{"name": "a", "port": 80}, {"name": "b", "port": 80, "protocol": "UDP"}]}, []),
    ("1web", {}, [f"$.metadata.name: '1web' {validation.service_name('1web')[0]}"]),
    ("web", {"selector": {"app": "-"}}, [f"$.spec.selector.app: invalid selector value '-': {LABEL_VALUE}"]),
    ("web", {"ports": [{"port": 0}]}, ["$.spec.ports[0].port: 0 must be a port number between 1 and 65535"]),
    ("web", {"ports": [{"port": 80, "protocol": "HTTP"}]}, ["$.spec.ports[0].protocol: 'HTTP' is not one of TCP, UDP, SCTP"]),
    ("web", {"ports": [{"port": 80, "targetPort": "A"}]}, [f"$.spec.ports[0].targetPort: 'A' {PORT_OR_NAME}"]),
    ("web", {"ports": [{"port": 80}, {"port": 81, "name": "b"}]},
     ["$.spec.ports[0].name: required when a Service has more than one port"]),
    ("web", {"ports": [{"port": 80, "name": "B"}]}, ["$.spec.ports[0].name: 'B' must be a DNS-1123 label"]),
    ("web", {"ports": [{"port": 80, "name": "a"}, {"port": 80, "name": "b", "protocol": "TCP"}]},
     ["$.spec.ports[1].port: duplicate port/protocol 80/TCP (same as [0])"]),
])
def test_services(name, spec, expected):
    assert messages(service(name, **spec)) == expected


@pytest.mark.parametrize(("workload", "expected"), [
    (obj("PersistentVolumeClaim", spec={"storageClassName": "fast.example"}), []),
    (obj("PersistentVolumeClaim", spec={"storageClassName": ""}), []),  # "": no dynamic provisioning
    (obj("PersistentVolumeClaim", spec={"storageClassName": "Bad_"}), [f"$.spec.storageClassName: 'Bad_' {DNS_SUBDOMAIN}"]),
    (obj("Ingress", "networking.k8s.io/v1", spec={"ingressClassName": "nginx", "rules": [{"host": "a.example"}, {}]}), []),
    (obj("Ingress", "networking.k8s.io/v1", spec={"ingressClassName": "Bad_"}),
     [f"$.spec.ingressClassName: 'Bad_' {DNS_SUBDOMAIN}"]),
    (obj("Ingress", "networking.k8s.io/v1", spec={"ingressClassName": None}), ["$.spec.ingressClassName: must be a string"]),
    (obj("Ingress", "networking.k8s.io/v1", spec={"rules": [{"host": "a.example"}, {"host": "10.0.0.1"}]}),
     ["$.spec.rules[1].host: '10.0.0.1' must be a DNS name, not an IP address"]),
    (obj("PodDisruptionBudget", "policy/v1", spec={"maxUnavailable": 1, "selector": {"matchLabels": {"a": "-"}}}),
     [f"$.spec.selector.matchLabels.a: invalid label value '-': {LABEL_VALUE}"]),
])
def test_claims_ingresses_and_budgets(workload, expected):
    assert messages(workload) == expected


def test_a_service_accounts_name_is_a_dns_subdomain():
    account = obj("ServiceAccount")
    assert messages(account) == []
    account["metadata"]["name"] = "Bad_"
    assert messages(account) == [f"$.metadata.name: 'Bad_' {DNS_SUBDOMAIN}"]


@pytest.mark.parametrize(("kind", "rule", "expected"), [
    ("ClusterRole", {"nonResourceURLs": ["/healthz"], "verbs": ["get"]}, []),
    ("Role", {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}, []),
    ("ClusterRole", {"nonResourceURLs": ["/x"], "resources": ["pods"], "verbs": ["get"]},
     ["$.rules[0].nonResourceURLs: rules cannot apply to both regular resources and non-resource URLs"]),
    ("ClusterRole", {"nonResourceURLs": ["/x"], "apiGroups": [""], "verbs": ["get"]},
     ["$.rules[0].nonResourceURLs: rules cannot apply to both regular resources and non-resource URLs"]),
    ("Role", {"nonResourceURLs": ["/x"], "resources": ["pods"], "verbs": ["get"]},
     ["$.rules[0].nonResourceURLs: namespaced rules cannot apply to non-resource URLs",
      "$.rules[0].nonResourceURLs: rules cannot apply to both regular resources and non-resource URLs"]),
    ("ClusterRole", {"apiGroups": [""], "verbs": ["get"]}, ["$.rules[0].resources: resource rules must supply at least one resource"]),
    ("ClusterRole", {"apiGroups": [""], "resources": ["pods"]}, ["$.rules[0].verbs: verbs must contain at least one value"]),
])
def test_role_rules(kind, rule, expected):
    assert messages(obj(kind, f"{RBAC}/v1", rules=[rule])) == expected


def role_binding(kind: str = "RoleBinding", role_ref: dict | None = None, *subjects: dict) -> dict:
    ref = {"apiGroup": RBAC, "kind": "Role", "name": "r"} if role_ref is None else role_ref
    return obj(kind, f"{RBAC}/v1", roleRef=ref, subjects=list(subjects))


@pytest.mark.parametrize(("binding", "expected"), [
    (role_binding("RoleBinding", None, {"kind": "ServiceAccount", "name": "sa"}), []),
    (role_binding("ClusterRoleBinding", {"apiGroup": RBAC, "kind": "ClusterRole", "name": "r"},
                  {"kind": "User", "apiGroup": RBAC, "name": "me@example.com"}), []),
    (role_binding("RoleBinding", {"apiGroup": "rbac", "kind": "Role", "name": "r"}),
     [f"$.roleRef.apiGroup: must be {RBAC}"]),
    (role_binding("RoleBinding", {"apiGroup": RBAC, "name": "r"}), ["$.roleRef.kind: None is not one of Role, ClusterRole"]),
    (role_binding("ClusterRoleBinding", {"apiGroup": RBAC, "kind": "ClusterRole"}), ["$.roleRef.name: required: the name of the role"]),
    (role_binding("RoleBinding", None, {"kind": "ServiceAccount", "name": "sa", "apiGroup": RBAC}),
     ["$.subjects[0].apiGroup: must be empty for a ServiceAccount"]),
    (role_binding("RoleBinding", None, {"kind": "ServiceAccount", "name": "Bad_"}),
     ["$.subjects[0].name: 'Bad_' must be a DNS-1123 subdomain"]),
    (role_binding("RoleBinding", None, {"kind": "ServiceAccount", "name": ""}),
     ["$.subjects[0].name: required: a non-empty ServiceAccount name"]),
    (role_binding("RoleBinding", None, {"name": 1}),
     ["$.subjects[0].name: required: a non-empty subject name", "$.subjects[0].kind: None is not one of User, Group, ServiceAccount"]),
    (role_binding("RoleBinding", None, {"kind": "Group", "name": "g", "apiGroup": ""}),
     [f"$.subjects[0].apiGroup: must be {RBAC} for a Group"]),
])
def test_role_bindings(binding, expected):
    assert messages(binding) == expected


def test_objects_of_other_kinds_and_values_that_are_no_objects_get_no_api_server_problem():
    assert apiserver.check(["not an object", None, obj("ConfigMap", data={"a": "-"}), obj("Secret")]) == []
    quota = obj("ResourceQuota", spec={"hard": {"pods": "x"}})
    assert [p.message for p in apiserver.check(["not an object", quota])] == ["'x' is not a valid non-negative quantity"]


def test_each_problem_names_its_object():
    [found] = apiserver.check([obj("ResourceQuota", spec={"hard": {"pods": "x"}})])
    assert (found.kind, found.namespace, found.name) == ("ResourceQuota", "n", "x")
