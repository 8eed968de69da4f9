"""The admission check's small rules (tools/validate/admission.py), row by row: how quantities compare and print,
how replicas are counted, what each object counts against a quota. tests/test_admission.py holds the LimitRanger and
ResourceQuota decisions on realistic objects and rendered stacks."""
from __future__ import annotations

from decimal import Decimal

import pytest

from tools.validate import admission

THV = "toolhive.stacklok.dev/v1beta1"


@pytest.mark.parametrize(("value", "text"), [
    ("0", "0"), ("1", "1"), ("1.5", "1.5"), ("0.25", "250m"), ("0.001", "1m"), ("0.0005", "0.0005"), ("1023", "1023"),
    ("1024", "1Ki"), ("1536", "1536"), ("1048576", "1Mi"), ("1610612736", "1536Mi"), ("3221225472", "3Gi"),
    ("2048.5", "2048.5"), ("1.25", "1.25"), ("0.1234", "0.1234"), ("1E+3", "1000"), ("2.50", "2.5"), ("0.0000001", "0.0000001"),
])
def test_a_total_prints_as_a_short_quantity(value, text):
    assert admission._quantity_text(Decimal(value)) == text


@pytest.mark.parametrize(("observed", "enforced", "order"), [
    ("1", "1000m", 0), ("1001m", "1", 1), ("999m", "1", -1), ("0.0001", "1m", 0),  # milli-units, rounded up
    ("0.0011", "2m", 0), ("x", "1", 0), ("1", None, 0),  # not a quantity: the schema check reports it
    ("9E", "10E", -1), ("10E", "9E", 1), ("9223372036854775807m", "9223372036854775807m", 0),
    ("9300000000000000.1", "9300000000000000.2", 0),  # above the milli range: whole units, rounded up
    ("9300000000000000.1", "9300000000000001.2", -1),
    ("9223372036854775807m", "9223372036854775806m", 1), ("9223372036854775806m", "9223372036854775807m", -1),  # the top
    ("9223372036854775.5", "9223372036854775.9", 0),  # one beyond it: both in whole units
])
def test_quantities_compare_as_the_limit_ranger_enforces_them(observed, enforced, order):
    assert admission._compare(observed, enforced) == order


@pytest.mark.parametrize(("replicas", "bounds", "count"), [
    (3, None, 3), (0, None, 0), (True, None, 1), (-1, None, 1), ("2", None, 1), (None, None, 1),
    (0, (2, 5), 2), (9, (2, 5), 5), (3, (2, 5), 3), (2, (2, 5), 2), (5, (2, 5), 5),
])
def test_the_pods_counted_are_the_replicas_within_an_autoscalers_bounds(replicas, bounds, count):
    assert admission._replicas(replicas, bounds) == count


@pytest.mark.parametrize(("kind", "plural"), [("Policy", "policies"), ("Ingress", "ingresses"), ("Box", "boxes"),
                                              ("Service", "services"), ("MCPServer", "mcpservers")])
def test_resource_names_are_the_kinds_plural(kind, plural):
    assert admission._plural(kind) == plural


def counts(obj: dict) -> dict[str, int]:
    return {name: int(value) for name, value in admission._object_counts(obj).items()}


@pytest.mark.parametrize(("obj", "expected"), [
    ({"apiVersion": "v1", "kind": "Secret"}, {"count/secrets": 1, "secrets": 1}),
    ({"apiVersion": "v1", "kind": "Secret", "spec": {"type": "NodePort", "ports": [{}]}}, {"count/secrets": 1, "secrets": 1}),
    ({"kind": "Secret"}, {"count/secrets": 1, "secrets": 1}),
    ({"apiVersion": "v1", "kind": "ConfigMap"}, {"count/configmaps": 1, "configmaps": 1}),
    ({"apiVersion": "v1", "kind": "ResourceQuota"}, {"count/resourcequotas": 1, "resourcequotas": 1}),
    ({"apiVersion": "v1", "kind": "ReplicationController"}, {"count/replicationcontrollers": 1, "replicationcontrollers": 1}),
    ({"apiVersion": "v1", "kind": "PersistentVolumeClaim"}, {}),  # counted as a claim, with its storage
    ({"apiVersion": "v1", "kind": "Pod"}, {}),  # counted as a pod, with its requests
    ({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy"}, {"count/networkpolicies.networking.k8s.io": 1}),
    ({"apiVersion": "example.com/v1", "kind": "Secret"}, {"count/secrets.example.com": 1}),  # not the core kind
    ({"apiVersion": "v1", "kind": "Service", "spec": {"ports": [{}, {}]}}, {"count/services": 1, "services": 1}),
    ({"apiVersion": "v1", "kind": "Service", "spec": {"type": "NodePort", "ports": [{}, {}]}},
     {"count/services": 1, "services": 1, "services.nodeports": 2}),
    ({"apiVersion": "v1", "kind": "Service", "spec": {"type": "LoadBalancer", "ports": [{}, {}]}},
     {"count/services": 1, "services": 1, "services.loadbalancers": 1, "services.nodeports": 2}),
    ({"apiVersion": "v1", "kind": "Service", "spec": {"type": "LoadBalancer", "allocateLoadBalancerNodePorts": False,
                                                       "ports": [{"nodePort": 30001}, {}]}},
     {"count/services": 1, "services": 1, "services.loadbalancers": 1, "services.nodeports": 1}),
    ({"apiVersion": THV, "kind": "MCPServer", "spec": {}},  # stdio: the proxy's Service only
     {"count/mcpservers.toolhive.stacklok.dev": 1, "count/deployments.apps": 1, "count/statefulsets.apps": 1,
      "count/services": 1, "services": 1}),
    ({"apiVersion": THV, "kind": "MCPServer", "spec": {"transport": "sse"}},  # and the backend's and its headless one
     {"count/mcpservers.toolhive.stacklok.dev": 1, "count/deployments.apps": 1, "count/statefulsets.apps": 1,
      "count/services": 3, "services": 3}),
    ({"apiVersion": THV, "kind": "MCPRemoteProxy", "spec": {}},
     {"count/mcpremoteproxies.toolhive.stacklok.dev": 1, "count/deployments.apps": 1, "count/services": 1, "services": 1}),
    ({"apiVersion": THV, "kind": "VirtualMCPServer", "spec": {"serviceType": "NodePort"}},
     {"count/virtualmcpservers.toolhive.stacklok.dev": 1, "count/deployments.apps": 1, "count/services": 1, "services": 1,
      "services.nodeports": 1}),
    ({"apiVersion": THV, "kind": "VirtualMCPServer", "spec": {"serviceType": "LoadBalancer"}},
     {"count/virtualmcpservers.toolhive.stacklok.dev": 1, "count/deployments.apps": 1, "count/services": 1, "services": 1,
      "services.loadbalancers": 1, "services.nodeports": 1}),
    ({"apiVersion": THV, "kind": "MCPRegistry", "spec": {}},
     {"count/mcpregistries.toolhive.stacklok.dev": 1, "count/deployments.apps": 1, "count/services": 1, "services": 1}),
    ({"apiVersion": THV, "kind": "MCPGroup", "spec": {}}, {"count/mcpgroups.toolhive.stacklok.dev": 1}),
])
def test_what_one_object_and_what_the_operator_makes_from_it_count_against_a_quota(obj, expected):
    assert counts(obj) == expected


NS = "team"


def claim(name: str, storage: str | None = None) -> dict:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name, "namespace": NS},
            "spec": {"resources": {"requests": {"storage": storage} if storage else {}}}}


def limit_range(*items: dict) -> dict:
    return {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "limits", "namespace": NS}, "spec": {"limits": list(items)}}


REQUIRED = "a storage request is required (the API server refuses the claim: spec.resources.requests[storage]: Required value)"


def test_every_claim_needs_a_storage_request_above_zero_claim_templates_too():
    stateful_set = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": NS}, "spec": {
        "replicas": 2, "template": {"spec": {"containers": [{"name": "c"}]}},
        "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"resources": {"requests": {}}}},
                                 {"spec": {"resources": {"requests": {"storage": "0"}}}}]}}
    assert [str(p) for p in admission.check([claim("a"), stateful_set])] == [
        f"PersistentVolumeClaim/team/a: $.spec.resources.requests.storage: PersistentVolumeClaim a: {REQUIRED}",
        f"StatefulSet/team/db: $.spec.volumeClaimTemplates[0].spec.resources.requests.storage: the PersistentVolumeClaims "
        f"data-db-<n> of StatefulSet db: {REQUIRED}",
        "StatefulSet/team/db: $.spec.volumeClaimTemplates[1].spec.resources.requests.storage: the PersistentVolumeClaims "
        "1-db-<n> of StatefulSet db: the storage request 0 must be greater than zero (the API server refuses the claim)",
    ]


def test_each_claim_is_held_to_every_min_and_max_of_the_limit_ranges_claim_items():
    fence = limit_range({"type": "Container", "max": {"cpu": "1"}},
                        {"type": "PersistentVolumeClaim", "min": {"storage": "2Gi", "other": "1"}, "max": {"storage": "5Gi", "more": "1"}})

    def refused(name: str, resource: str, message: str) -> str:
        return (f"PersistentVolumeClaim/team/{name}: $.spec.resources.requests.{resource}: PersistentVolumeClaim {name}: "
                f"refused by LimitRange team/limits (LimitRanger): {message}")

    no_other = "minimum other usage per PersistentVolumeClaim is 1.  No request is specified"
    no_more = "maximum more usage per PersistentVolumeClaim is 1.  No request is specified"
    assert [str(p) for p in admission.check([fence, claim("a", "1Gi"), claim("b", "6Gi"), claim("c", "2Gi")])] == [
        refused("a", "storage", "minimum storage usage per PersistentVolumeClaim is 2Gi, but request is 1Gi"),
        refused("a", "other", no_other), refused("a", "more", no_more),
        refused("b", "other", no_other),
        refused("b", "storage", "maximum storage usage per PersistentVolumeClaim is 5Gi, but request is 6Gi"),
        refused("b", "more", no_more),
        refused("c", "other", no_other), refused("c", "more", no_more),
    ]


def mcp_server(name: str, replicas: int, backend: int, proxy_cpu: str, mcp_cpu: str) -> dict:
    return {"apiVersion": THV, "kind": "MCPServer", "metadata": {"name": name, "namespace": NS}, "spec": {
        "replicas": replicas, "backendReplicas": backend,
        "resources": {"requests": {"cpu": proxy_cpu}, "limits": {"cpu": "2"}},
        "podTemplateSpec": {"spec": {"containers": [{"name": "mcp", "resources": {"requests": {"cpu": mcp_cpu}, "limits": {"cpu": "2"}}}]}}}}


def test_a_quota_overrun_names_the_three_largest_users_and_blames_the_field_that_sizes_each():
    quota = {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "quota", "namespace": NS},
             "spec": {"hard": {"pods": "2", "requests.cpu": "1", "count/mcpservers.toolhive.stacklok.dev": "5"}}}
    servers = [mcp_server("a", 1, 3, "100m", "200m"), mcp_server("b", 2, 1, "300m", "50m"), mcp_server("c", 1, 1, "10m", "10m"),
               mcp_server("d", 1, 1, "10m", "10m")]
    pods, cpu = admission.check([quota, *servers])
    assert str(pods) == ("ResourceQuota/team/quota: $.spec.hard.pods: the stack's objects in namespace team need pods 11 in total, "
                         "above this quota's 2: the ResourceQuota admission refuses what does not fit (exceeded quota); the most: "
                         "MCPServer a 4, MCPServer b 3, MCPServer c 2 and 1 more")
    # pods: the replica field of the part that starts the most; a tie goes to the proxy, named first
    assert pods.blame == (("MCPServer", NS, "a", "$.spec.backendReplicas"), ("MCPServer", NS, "b", "$.spec.replicas"),
                          ("MCPServer", NS, "c", "$.spec.replicas"))
    assert str(cpu).startswith("ResourceQuota/team/quota: $.spec.hard['requests.cpu']: the stack's objects in namespace team need "
                               "requests.cpu 1.39 in total, above this quota's 1: ")
    assert str(cpu).endswith("the most: MCPServer a 700m, MCPServer b 650m, MCPServer c 20m and 1 more")
    assert cpu.blame == (("MCPServer", NS, "a", "$.spec.podTemplateSpec.spec.containers[0].resources"),
                         ("MCPServer", NS, "b", "$.spec.resources"), ("MCPServer", NS, "c", "$.spec.resources"))


def admitted(*containers: tuple[str, dict, dict], init: tuple = (), sidecars: tuple = ()) -> list[dict]:
    entries = []
    for group, flags in ((containers, {}), (init, {"init": True}), (sidecars, {"init": True, "sidecar": True})):
        for name, requests, limits in group:
            entries.append({"container": admission.Container(name, {}, [], **flags), "requests": requests, "limits": limits})
    return entries


def test_a_pods_totals_sum_its_containers_and_sidecars_or_take_a_larger_init_container():
    pod = admitted(("a", {"cpu": "1", "memory": "0"}, {}), ("b", {"cpu": "2"}, {}), init=[("i", {"cpu": "2.5", "memory": "1Gi"}, {})])
    assert admission._pod_totals(pod, "requests") == {"cpu": "3", "memory": "1Gi"}
    with_sidecar = pod + admitted(sidecars=[("s", {"cpu": "1"}, {})])
    assert admission._pod_totals(with_sidecar, "requests") == {"cpu": "4", "memory": "1Gi"}
    larger_init = admitted(("a", {"cpu": "1"}, {}), init=[("i", {"cpu": "1500m"}, {})])
    assert admission._pod_totals(larger_init, "requests") == {"cpu": "1.5"}
    only_init = admitted(("a", {"cpu": "1"}, {}), init=[("i", {"memory": "0"}, {})])
    assert admission._pod_totals(only_init, "requests") == {"cpu": "1", "memory": "0"}


def test_what_a_pod_counts_against_a_quota():
    pod = admitted(("a", {"cpu": "250m", "memory": "1Gi", "ephemeral-storage": "0", "hugepages-2Mi": "4Mi", "nvidia.com/gpu": "1",
                          "kubernetes.io/other": "1", "plain": "1"},
                    {"cpu": "1", "memory": "2Gi", "ephemeral-storage": "0", "nvidia.com/gpu": "1"}))
    assert {name: str(value) for name, value in admission._pod_usage(pod).items()} == {
        "pods": "1", "count/pods": "1",
        "cpu": "0.250", "requests.cpu": "0.250", "memory": "1073741824", "requests.memory": "1073741824",
        "ephemeral-storage": "0", "requests.ephemeral-storage": "0",
        "hugepages-2Mi": "4194304", "requests.hugepages-2Mi": "4194304", "requests.nvidia.com/gpu": "1",
        "limits.cpu": "1", "limits.memory": "2147483648", "limits.ephemeral-storage": "0",
    }


RATIO = "cpu max limit to request ratio per Container is 4, but"


@pytest.mark.parametrize(("kind", "item", "requests", "limits", "expected"), [
    ("Container", {"min": {"cpu": "1"}}, {}, {}, [("requests", "cpu", "minimum cpu usage per Container is 1.  No request is specified")]),
    ("Container", {"min": {"cpu": "1"}}, {"cpu": "500m"}, {}, [("requests", "cpu", "minimum cpu usage per Container is 1, but request is 500m")]),
    ("Container", {"min": {"cpu": "1"}}, {"cpu": "2"}, {"cpu": "500m"}, [("limits", "cpu", "minimum cpu usage per Container is 1, but limit is 500m")]),
    ("Container", {"min": {"cpu": "1"}}, {"cpu": "1"}, {"cpu": "1"}, []),
    ("Pod", {"max": {"memory": "1Gi"}}, {"memory": "1Gi"}, {}, [("limits", "memory", "maximum memory usage per Pod is 1Gi.  No limit is specified")]),
    ("Pod", {"max": {"memory": "1Gi"}}, {}, {"memory": "2Gi"}, [("limits", "memory", "maximum memory usage per Pod is 1Gi, but limit is 2Gi")]),
    ("Pod", {"max": {"memory": "1Gi"}}, {"memory": "2Gi"}, {"memory": "1Gi"},
     [("requests", "memory", "maximum memory usage per Pod is 1Gi, but request is 2Gi")]),
    ("Pod", {"max": {"memory": "1Gi"}}, {"memory": "1Gi"}, {"memory": "1Gi"}, []),
    ("Container", {"maxLimitRequestRatio": {"cpu": "4"}}, {}, {"cpu": "1"}, [("requests", "cpu", f"{RATIO} no request is specified or request is 0")]),
    ("Container", {"maxLimitRequestRatio": {"cpu": "4"}}, {"cpu": "0"}, {"cpu": "1"}, [("requests", "cpu", f"{RATIO} no request is specified or request is 0")]),
    ("Container", {"maxLimitRequestRatio": {"cpu": "4"}}, {"cpu": "1"}, {}, [("limits", "cpu", f"{RATIO} no limit is specified or limit is 0")]),
    ("Container", {"maxLimitRequestRatio": {"cpu": "4"}}, {"cpu": "1"}, {"cpu": "0"}, [("limits", "cpu", f"{RATIO} no limit is specified or limit is 0")]),
    ("Container", {"maxLimitRequestRatio": {"cpu": "4"}}, {"cpu": "100m"}, {"cpu": "401m"}, [("limits", "cpu", f"{RATIO} provided ratio is 4.010000")]),
    ("Container", {"maxLimitRequestRatio": {"cpu": "4"}}, {"cpu": "100m"}, {"cpu": "400m"}, []),
    # a ratio bound within the milli range compares exactly, one beyond it in whole units, rounded up
    ("Container", {"maxLimitRequestRatio": {"cpu": "9223372036854775807m"}}, {"cpu": "1"}, {"cpu": "9223372036854775.9"},
     [("limits", "cpu", "cpu max limit to request ratio per Container is 9223372036854775807m, but provided ratio is 9223372036854776.000000")]),
    ("Container", {"maxLimitRequestRatio": {"cpu": "9223372036854775807m"}}, {"cpu": "1"}, {"cpu": "9223372036854775807m"}, []),
    ("Container", {"maxLimitRequestRatio": {"cpu": "9300000000000000.5"}}, {"cpu": "1"}, {"cpu": "9300000000000000.7"}, []),
    ("Container", {"maxLimitRequestRatio": {"cpu": "9300000000000000.5"}}, {"cpu": "1"}, {"cpu": "9300000000000001.1"},
     [("limits", "cpu", "cpu max limit to request ratio per Container is 9300000000000000.5, but provided ratio is 9300000000000002.000000")]),
])
def test_the_limit_rangers_constraints_name_the_side_that_fails(kind, item, requests, limits, expected):
    assert list(admission._constraints(kind, item, requests, limits)) == expected


def test_a_quota_with_scopes_or_a_scope_selector_is_not_evaluated():
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": NS},
                  "spec": {"template": {"spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "1"}}}]}}}}
    for scope in ({"scopes": ["BestEffort"]}, {"scopeSelector": {"matchExpressions": [{"scopeName": "PriorityClass", "operator": "Exists"}]}}):
        quota = {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q", "namespace": NS}, "spec": {"hard": {"pods": "0"}, **scope}}
        assert admission.check([quota, deployment]) == []


def test_the_limit_range_defaults_are_applied_to_a_copy_never_to_the_stacks_object():
    import copy

    fence = limit_range({"type": "Container", "max": {"cpu": "2"}, "min": {"memory": "64Mi"}, "default": {"memory": "128Mi"}})
    before = copy.deepcopy(fence)
    assert admission._defaulted_items(fence) == [{"type": "Container", "max": {"cpu": "2"}, "min": {"memory": "64Mi"},
                                                  "default": {"memory": "128Mi", "cpu": "2"},
                                                  "defaultRequest": {"memory": "128Mi", "cpu": "2"}}]
    assert fence == before


# -- The pods the stack makes: its own workloads' and those the operator creates ---------------------

def obj(kind: str, spec: dict, name: str = "w", api_version: str = "apps/v1") -> dict:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": NS}, "spec": spec}


def hpa(kind: str, name: str, low: int, high: int = 10) -> dict:
    return obj("HorizontalPodAutoscaler", {"scaleTargetRef": {"kind": kind, "name": name}, "minReplicas": low,
                                           "maxReplicas": high}, name=f"{name}-hpa", api_version="autoscaling/v2")


POD = {"containers": [{"name": "c"}]}
TEMPLATE = ["spec", "template", "spec"]


def one(path: list) -> list:
    return [admission.Container("c", {}, [*path, "containers", 0, "resources"])]


NAME = ["metadata", "name"]
REPLICAS = ["spec", "replicas"]
CRON_JOB = ["spec", "jobTemplate", "spec", "template", "spec"]


@pytest.mark.parametrize(("kind", "spec", "what", "path", "replicas", "count_path"), [
    ("Pod", POD, "Pod w", ["spec"], 1, NAME),
    ("Deployment", {"template": {"spec": POD}}, "the pods of Deployment w", TEMPLATE, 1, REPLICAS),
    ("Deployment", {"replicas": 3, "template": {"spec": POD}}, "the pods of Deployment w", TEMPLATE, 3, REPLICAS),
    ("StatefulSet", {"replicas": 2, "template": {"spec": POD}}, "the pods of StatefulSet w", TEMPLATE, 2, REPLICAS),
    ("ReplicaSet", {"replicas": 4, "template": {"spec": POD}}, "the pods of ReplicaSet w", TEMPLATE, 4, REPLICAS),
    ("Job", {"template": {"spec": POD}}, "the pods of Job w", TEMPLATE, 1, ["spec", "parallelism"]),
    ("Job", {"parallelism": 5, "replicas": 2, "template": {"spec": POD}}, "the pods of Job w", TEMPLATE, 5, ["spec", "parallelism"]),
    ("CronJob", {"jobTemplate": {"spec": {"template": {"spec": POD}}}}, "the pods of CronJob w", CRON_JOB, 1,
     ["spec", "jobTemplate", "spec", "parallelism"]),
    ("CronJob", {"parallelism": 3, "jobTemplate": {"spec": {"parallelism": 2, "template": {"spec": POD}}}},
     "the pods of CronJob w", CRON_JOB, 2, ["spec", "jobTemplate", "spec", "parallelism"]),
    ("DaemonSet", {"replicas": 2, "template": {"spec": POD}}, "the pods of DaemonSet w", TEMPLATE, 0, NAME),  # one per node: none counted
])
def test_each_workload_kind_makes_its_pod_templates_pods_as_many_as_it_starts_set_by_its_own_field(
        kind, spec, what, path, replicas, count_path):
    """The count's field is where a quota overrun points: a Job's parallelism, never a replicas field it lacks."""
    workload = obj(kind, spec)
    assert admission.pods_of([workload]) == [admission.PodSet(workload, what, one(path), replicas, (kind, "w"), path, count_path)]


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet", "ReplicaSet"])
def test_an_autoscaler_on_a_workload_raises_its_pods_to_the_minimum(kind):
    [pod_set] = admission.pods_of([obj(kind, {"template": {"spec": POD}}), hpa(kind, "w", 3), hpa(kind, "other", 7)])
    assert (pod_set.target, pod_set.replicas) == ((kind, "w"), 3)


@pytest.mark.parametrize(("kind", "spec", "replicas"), [
    ("Pod", POD, 1), ("Job", {"template": {"spec": POD}}, 1), ("CronJob", {"jobTemplate": {"spec": {"template": {"spec": POD}}}}, 1),
    ("DaemonSet", {"template": {"spec": POD}}, 0),
])
def test_an_autoscaler_cannot_scale_a_kind_without_a_scale_subresource(kind, spec, replicas):
    [pod_set] = admission.pods_of([obj(kind, spec), hpa(kind, "w", 3)])
    assert pod_set.replicas == replicas


def test_other_kinds_make_no_pods():
    assert admission.pods_of([obj("ConfigMap", {"template": {"spec": POD}}, api_version="v1"), "not an object"]) == []


def test_a_pods_containers_are_its_init_containers_then_its_containers_an_unnamed_one_named_by_its_index():
    pod = {"initContainers": [{"name": "proxy", "restartPolicy": "Always", "resources": {"limits": {"cpu": "1"}}},
                              {"restartPolicy": "OnFailure"}, "not a container"],
           "containers": [{"resources": {"requests": {"cpu": "2"}}, "restartPolicy": "Always"}, {"name": "mcp"}]}
    assert admission._containers(pod, ["spec"], required="mcp") == [
        admission.Container("proxy", {"limits": {"cpu": "1"}}, ["spec", "initContainers", 0, "resources"], init=True, sidecar=True),
        admission.Container("1", {}, ["spec", "initContainers", 1, "resources"], init=True),
        admission.Container("2", {}, ["spec", "initContainers", 2, "resources"], init=True),
        admission.Container("0", {"requests": {"cpu": "2"}}, ["spec", "containers", 0, "resources"]),
        admission.Container("mcp", {}, ["spec", "containers", 1, "resources"]),
    ]


@pytest.mark.parametrize(("pod", "expected"), [
    ({}, [admission.Container("mcp", {}, ["spec", "containers"])]),
    ({"initContainers": [{"name": "mcp"}], "containers": [{"name": "other"}]},  # an init container does not serve
     [admission.Container("mcp", {}, ["spec", "initContainers", 0, "resources"], init=True),
      admission.Container("other", {}, ["spec", "containers", 0, "resources"]),
      admission.Container("mcp", {}, ["spec", "containers"])]),
])
def test_a_required_container_the_template_lacks_is_added_unsized_where_the_containers_go(pod, expected):
    assert admission._containers(pod, ["spec"], required="mcp") == expected


PODS_FROM = ["spec", "podTemplateSpec", "spec"]
SIZED = {"requests": {"cpu": "100m"}, "limits": {"cpu": "1"}}


def custom(kind: str, spec: dict, name: str = "s") -> dict:
    return obj(kind, spec, name=name, api_version=THV)


def proxy_pods(server: dict, replicas: int = 1, resources: dict | None = None) -> admission.PodSet:
    return admission.PodSet(server, "the proxy runner pods (Deployment s, container toolhive) the operator creates",
                            [admission.Container("toolhive", resources or {}, ["spec", "resources"])], replicas, ("Deployment", "s"))


def test_an_mcp_server_makes_the_proxy_runner_pods_and_the_mcp_server_pods_each_from_its_own_fields():
    bare = custom("MCPServer", {})
    assert admission.pods_of([bare]) == [
        proxy_pods(bare),
        admission.PodSet(bare, "the MCP server pods (StatefulSet s) the proxy runner creates",
                         [admission.Container("mcp", {}, [*PODS_FROM, "containers"])], 1, ("StatefulSet", "s"), PODS_FROM,
                         ["spec", "backendReplicas"])]
    sized = custom("MCPServer", {"replicas": 2, "backendReplicas": 3, "resources": SIZED,
                                 "podTemplateSpec": {"spec": {"containers": [{"name": "mcp", "resources": SIZED}]}}})
    assert admission.pods_of([sized]) == [
        proxy_pods(sized, 2, SIZED),
        admission.PodSet(sized, "the MCP server pods (StatefulSet s) the proxy runner creates",
                         [admission.Container("mcp", SIZED, [*PODS_FROM, "containers", 0, "resources"])], 3, ("StatefulSet", "s"),
                         PODS_FROM, ["spec", "backendReplicas"])]


def test_autoscalers_on_the_servers_deployment_and_stateful_set_raise_each_part_on_its_own():
    server = custom("MCPServer", {"replicas": 2, "backendReplicas": 1})
    scaled = [hpa("Deployment", "s", 4), hpa("StatefulSet", "s", 5), hpa("MCPServer", "s", 9)]
    assert [pod_set.replicas for pod_set in admission.pods_of([server, *scaled])] == [4, 5]
    vmcp, proxy = custom("VirtualMCPServer", {"replicas": 2}), custom("MCPRemoteProxy", {"replicas": 2})
    assert [pod_set.replicas for pod_set in admission.pods_of([vmcp, hpa("Deployment", "s", 3)])] == [3]
    assert [pod_set.replicas for pod_set in admission.pods_of([proxy, hpa("Deployment", "s", 3)])] == [3]
    assert [pod_set.replicas for pod_set in admission.pods_of([vmcp, proxy, hpa("StatefulSet", "s", 3)])] == [2, 2]


def test_a_remote_proxy_makes_only_the_proxy_runner_pods():
    remote = custom("MCPRemoteProxy", {"replicas": 2, "resources": SIZED, "podTemplateSpec": {"spec": POD}})
    assert admission.pods_of([remote]) == [proxy_pods(remote, 2, SIZED)]
    bare = custom("MCPRemoteProxy", {})
    assert admission.pods_of([bare]) == [proxy_pods(bare)]


@pytest.mark.parametrize(("spec", "containers", "replicas"), [
    ({}, [admission.Container("vmcp", {}, [*PODS_FROM, "containers"])], 1),
    ({"replicas": 2, "resources": SIZED, "podTemplateSpec": {"spec": {"containers": [{"name": "vmcp", "resources": SIZED}]}}},
     [admission.Container("vmcp", SIZED, [*PODS_FROM, "containers", 0, "resources"])], 2),
])
def test_a_virtual_mcp_server_makes_the_vmcp_pods_from_its_pod_template(spec, containers, replicas):
    vmcp = custom("VirtualMCPServer", spec)
    assert admission.pods_of([vmcp]) == [
        admission.PodSet(vmcp, "the vMCP pods (Deployment s) the operator creates", containers, replicas, ("Deployment", "s"), PODS_FROM)]


DEFAULTS = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}}
PGPASS = admission.Container("setup-pgpass", {}, [*PODS_FROM, "initContainers"], init=True)


@pytest.mark.parametrize(("spec", "containers"), [
    ({}, [admission.Container("registry-api", DEFAULTS, [*PODS_FROM, "containers"])]),
    ({"pgpassSecretRef": {"name": "pg"}}, [admission.Container("registry-api", DEFAULTS, [*PODS_FROM, "containers"]), PGPASS]),
    ({"replicas": 3, "podTemplateSpec": {"spec": {"containers": [{"name": "registry-api", "resources": SIZED}, {"name": "extra"}]}}},
     [admission.Container("registry-api", SIZED, [*PODS_FROM, "containers", 0, "resources"]),
      admission.Container("extra", {}, [*PODS_FROM, "containers", 1, "resources"])]),  # only the API container is defaulted
    ({"pgpassSecretRef": {"name": "pg"},
      "podTemplateSpec": {"spec": {"initContainers": [{"name": "setup-pgpass", "resources": SIZED}]}}},  # sized in the template
     [admission.Container("setup-pgpass", SIZED, [*PODS_FROM, "initContainers", 0, "resources"], init=True),
      admission.Container("registry-api", DEFAULTS, [*PODS_FROM, "containers"])]),
    ({"pgpassSecretRef": {"name": "pg"}, "podTemplateSpec": {"spec": {"containers": [{"name": "setup-pgpass"}]}}},  # not the init one
     [admission.Container("setup-pgpass", {}, [*PODS_FROM, "containers", 0, "resources"]),
      admission.Container("registry-api", DEFAULTS, [*PODS_FROM, "containers"]), PGPASS]),
])
def test_a_registry_makes_one_api_pod_with_the_operators_default_sizes_and_the_pgpass_init_container(spec, containers):
    registry = custom("MCPRegistry", spec, name="r")
    assert admission.pods_of([registry]) == [
        admission.PodSet(registry, "the registry API pods (Deployment r-api) the operator creates", containers, 1,
                         ("Deployment", "r-api"), PODS_FROM, ["metadata", "name"])]


def test_other_toolhive_kinds_make_no_pods():
    assert admission.pods_of([custom("MCPGroup", {"podTemplateSpec": {"spec": POD}, "replicas": 2})]) == []


# -- LimitRanger and the quota's "must specify", per container and per pod ---------------------------

def web(*containers: dict) -> dict:
    return obj("Deployment", {"template": {"spec": {"containers": list(containers)}}}, name="web")


def refusal(path: str, message: str, owner: str = "Deployment/team/web") -> str:
    return f"{owner}: $.spec.template.spec{path}: {message}"


def test_a_value_the_limit_range_filled_in_is_named_as_its_default_request_or_default():
    fence = limit_range({"type": "Pod", "max": {"cpu": "10"}},  # no Container item is skipped after another type
                        {"type": "Container", "min": {"cpu": "500m"}, "defaultRequest": {"cpu": "100m"},
                         "max": {"memory": "1Gi"}, "default": {"memory": "2Gi"}})
    container = "the pods of Deployment web: container {0} is refused by LimitRange team/limits (LimitRanger): {1}"
    assert [str(p) for p in admission.check([fence, web({"name": "a"}, {"name": "b", "resources": {"limits": {"memory": "3Gi"}}})])] == [
        refusal("", "the pods of Deployment web are refused by LimitRange team/limits (LimitRanger): maximum cpu usage per Pod "
                    "is 10.  No limit is specified"),
        refusal(".containers[0].resources.requests.cpu",
                container.format("a", "minimum cpu usage per Container is 500m, but request is 100m (the LimitRange's defaultRequest)")),
        refusal(".containers[0].resources.limits.memory",
                container.format("a", "maximum memory usage per Container is 1Gi, but limit is 2Gi (the LimitRange's default)")),
        refusal(".containers[1].resources.requests.cpu",
                container.format("b", "minimum cpu usage per Container is 500m, but request is 100m (the LimitRange's defaultRequest)")),
        refusal(".containers[1].resources.limits.memory",  # its own limit, not the default
                container.format("b", "maximum memory usage per Container is 1Gi, but limit is 3Gi")),
    ]


def test_a_container_that_leaves_a_quota_tracked_amount_unset_is_refused_naming_every_missing_one():
    quota = {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q", "namespace": NS},
             "spec": {"hard": {"requests.cpu": "10", "limits.memory": "10Gi", "memory": "10Gi", "pods": "10"}}}
    assert [str(p) for p in admission.check([quota, web({"name": "a", "resources": {"requests": {"memory": "1Gi"}}}, {"name": "b"})])] == [
        refusal(".containers[0].resources", "the pods of Deployment web: container a is refused by the ResourceQuota admission: must "
                "specify limits.memory,requests.cpu (the namespace's quota tracks them and no LimitRange default fills them in)"),
        refusal(".containers[1].resources", "the pods of Deployment web: container b is refused by the ResourceQuota admission: must "
                "specify limits.memory,memory,requests.cpu (the namespace's quota tracks them and no LimitRange default fills them in)"),
    ]


def test_a_stateful_set_makes_each_template_claim_per_replica_as_many_as_its_autoscaler_starts():
    data = {"resources": {"requests": {"storage": "1Gi"}}}
    stateful_set = obj("StatefulSet", {"replicas": 1, "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": data}, {}]}, name="db")
    pvc = claim("a", "2Gi")
    assert list(admission._claims([pvc, stateful_set, hpa("StatefulSet", "db", 3), hpa("Deployment", "db", 5)])) == [
        admission.Claim(pvc, "PersistentVolumeClaim a", ["spec"], {"resources": {"requests": {"storage": "2Gi"}}}),
        admission.Claim(stateful_set, "the PersistentVolumeClaims data-db-<n> of StatefulSet db", ["spec", "volumeClaimTemplates", 0, "spec"],
                        data, 3),
        admission.Claim(stateful_set, "the PersistentVolumeClaims 1-db-<n> of StatefulSet db", ["spec", "volumeClaimTemplates", 1, "spec"],
                        {}, 3),
    ]


# -- What counts against a quota, and whom an overrun names ------------------------------------------

def quota(**hard: str) -> dict:
    return {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q", "namespace": NS}, "spec": {"hard": hard}}


def exceeded(name: str, total: str, hard: str, most: str) -> str:
    key = f"['{name}']" if "/" in name or "." in name else f".{name}"
    return (f"ResourceQuota/team/q: $.spec.hard{key}: the stack's objects in namespace team need {name} {total} in total, above this "
            f"quota's {hard}: the ResourceQuota admission refuses what does not fit (exceeded quota); the most: {most}")


def test_claims_count_once_per_replica_with_their_storage_and_class_and_an_overrun_blames_their_storage_requests():
    no_class = claim("a", "1Gi")
    no_class["spec"]["storageClassName"] = ""  # no class: counted under none
    db = obj("StatefulSet", {"replicas": 2, "template": {"spec": POD}, "volumeClaimTemplates": [
        {"metadata": {"name": "data"}, "spec": {"storageClassName": "fast", "resources": {"requests": {"storage": "1Gi"}}}}]}, name="db")
    fences = quota(**{"persistentvolumeclaims": "2", "count/persistentvolumeclaims": "3", "requests.storage": "2Gi",  # b's is none
                      ".storageclass.storage.k8s.io/persistentvolumeclaims": "0", "fast.storageclass.storage.k8s.io/requests.storage": "1Gi",
                      "fast.storageclass.storage.k8s.io/persistentvolumeclaims": "1"})
    found = admission.check([fences, no_class, db, claim("b")])
    claims = "StatefulSet db 2, PersistentVolumeClaim a 1, PersistentVolumeClaim b 1"
    assert [str(p) for p in found] == [
        f"PersistentVolumeClaim/team/b: $.spec.resources.requests.storage: PersistentVolumeClaim b: {REQUIRED}",
        exceeded("persistentvolumeclaims", "4", "2", claims),
        exceeded("count/persistentvolumeclaims", "4", "3", claims),
        exceeded("requests.storage", "3Gi", "2Gi", "StatefulSet db 2Gi, PersistentVolumeClaim a 1Gi"),
        exceeded("fast.storageclass.storage.k8s.io/requests.storage", "2Gi", "1Gi", "StatefulSet db 2Gi"),
        exceeded("fast.storageclass.storage.k8s.io/persistentvolumeclaims", "2", "1", "StatefulSet db 2"),
    ]
    storage = ".resources.requests.storage"
    assert found[1].blame == (("StatefulSet", NS, "db", f"$.spec.volumeClaimTemplates[0].spec{storage}"),
                              ("PersistentVolumeClaim", NS, "a", f"$.spec{storage}"), ("PersistentVolumeClaim", NS, "b", f"$.spec{storage}"))


def test_every_pod_set_counts_its_pods_and_every_object_its_kind_naming_at_most_three_users():
    fences = quota(**{"pods": "1", "count/pods": "2", "count/configmaps": "0", "services": "lots"})  # not a quantity: the schema check reports it
    found = admission.check([fences, obj("DaemonSet", {"template": {"spec": POD}}, name="ds"),  # none counted, the rest still
                             obj("Pod", {}, name="bare", api_version="v1"), web({"name": "c"}), obj("Deployment", {"template": {"spec": POD}}, name="api"),
                             obj("ConfigMap", {}, name="settings", api_version="v1"), obj("Service", {}, name="web", api_version="v1")])
    pods = "Deployment api 1, Deployment web 1, Pod bare 1"
    assert [str(p) for p in found] == [exceeded("pods", "3", "1", pods), exceeded("count/pods", "3", "2", pods),
                                       exceeded("count/configmaps", "1", "0", "ConfigMap settings 1")]
    for counted in found[:2]:  # pods are blamed on what sets how many
        assert counted.blame[:2] == (("Deployment", NS, "api", "$.spec.replicas"), ("Deployment", NS, "web", "$.spec.replicas"))
    assert found[2].blame == (("ConfigMap", NS, "settings", "$.metadata.name"),)


@pytest.mark.parametrize(("item", "stored"), [
    ({"type": "Container", "min": {"cpu": "100m"}}, {"type": "Container", "min": {"cpu": "100m"}, "default": {}, "defaultRequest": {"cpu": "100m"}}),
    ({"type": "Container", "min": {"cpu": "100m"}, "default": {"cpu": "200m"}},
     {"type": "Container", "min": {"cpu": "100m"}, "default": {"cpu": "200m"}, "defaultRequest": {"cpu": "200m"}}),
    ({"type": "Pod", "min": {"cpu": "100m"}}, {"type": "Pod", "min": {"cpu": "100m"}}),  # only a Container item is defaulted
])
def test_a_missing_default_request_is_the_default_else_the_min(item, stored):
    assert admission._defaulted_items(limit_range(item)) == [stored]


def test_an_autoscaler_bounds_its_target_from_one_unless_its_minimum_says_otherwise():
    def scaler(name: str, **spec) -> dict:
        return obj("HorizontalPodAutoscaler", {"scaleTargetRef": {"kind": "Deployment", "name": name}, **spec}, name=name,
                   api_version="autoscaling/v2")

    assert admission._autoscaled([scaler("a", maxReplicas=3), scaler("b", minReplicas=2, maxReplicas=4),
                                  scaler("c", minReplicas="2", maxReplicas=3), scaler("d", minReplicas=2),  # not counts: ignored
                                  obj("Deployment", {"minReplicas": 1, "maxReplicas": 2})]) == {
        ("Deployment", "a"): (1, 3), ("Deployment", "b"): (2, 4)}


def test_only_objects_with_a_namespace_name_are_held_to_that_namespaces_fences():
    fence = limit_range({"type": "Container", "max": {"cpu": "1"}})
    big = web({"name": "c", "resources": {"limits": {"cpu": "2"}}})
    for namespace in (7, ["team"], ""):
        fence["metadata"]["namespace"] = big["metadata"]["namespace"] = namespace
        assert admission.check([fence, big]) == []
