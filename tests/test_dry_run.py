"""The offline server-side dry run (tools.validate): API-server rules, duplicates, plug-in checks, config keys."""
from __future__ import annotations

import copy
from decimal import Decimal

import pytest

import tools.validate as validate
from tests.conftest import STACKS, render_config, render_stack
from tools.mock_runtime import RegisteredResource
from tools.validate import Problem, apiserver, check_objects, dry_run, quantity
from tools.validate.problem import from_text


def deployment() -> dict:
    labels = {"app.kubernetes.io/name": "op"}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "op", "namespace": "toolhive-system", "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": {**labels, "extra": "yes"}, "annotations": {"example.com/a": "b"}},
                "spec": {
                    "volumes": [{"name": "tmp", "emptyDir": {}}],
                    "imagePullSecrets": [{"name": "pull"}],
                    "nodeSelector": {"kubernetes.io/os": "linux"},
                    "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "mcp", "effect": "NoSchedule"},
                                    {"operator": "Exists"},
                                    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
                                     "tolerationSeconds": 30}],
                    "initContainers": [{"name": "init", "image": "busybox:1"}],
                    "containers": [{
                        "name": "manager", "image": "ghcr.io/stacklok/toolhive/operator:v0.44.0",
                        "ports": [{"name": "metrics", "containerPort": 8080, "protocol": "TCP"},
                                  {"name": "health", "containerPort": 8081},
                                  {"name": "dns", "containerPort": 8080, "protocol": "UDP"}],
                        "env": [{"name": "A", "value": "1"}, {"name": "B", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                        "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "0.5", "memory": "1024Mi"}},
                    }],
                },
            },
        },
    }


POD = ("spec", "template", "spec")


def at(obj: dict, *path):
    for part in path:
        obj = obj[part]
    return obj


def messages(obj: dict) -> list[str]:
    return [f"{p.path}: {p.message}" for p in apiserver.check([obj])]


def test_a_valid_deployment_passes_the_api_server_rules():
    assert messages(deployment()) == []


def _container(obj):
    return at(obj, *POD, "containers", 0)


# (mutation, expected "<path>: <message fragment>"): each row is one API-server rule.
DEPLOYMENT_CASES = {
    "cpu request above limit": (lambda d: _container(d)["resources"]["requests"].update(cpu="501m"),
                                "$.spec.template.spec.containers[0].resources.requests.cpu: '501m' must be less than or equal to the cpu limit '0.5'"),
    "memory request above limit (binary vs decimal)": (lambda d: _container(d)["resources"]["limits"].update(memory="1G"),
                                                       "resources.requests.memory: '1Gi' must be less than or equal to the memory limit '1G'"),
    "unparseable quantity": (lambda d: _container(d)["resources"]["limits"].update(cpu="1 core"),
                             "resources.limits.cpu: '1 core' is not a valid quantity"),
    "duplicate container name across initContainers": (lambda d: at(d, *POD, "initContainers", 0).update(name="manager"),
                                                       "containers[0].name: duplicate container name 'manager' (same as initContainers[0])"),
    "container name not a DNS label": (lambda d: _container(d).update(name="Manager"), "containers[0].name: 'Manager' must be a DNS-1123 label"),
    "container without image": (lambda d: _container(d).pop("image"), "containers[0].image: required"),
    "duplicate env name": (lambda d: _container(d)["env"].append({"name": "A", "value": "2"}), "env[2].name: duplicate env name 'A'"),
    "env name with '='": (lambda d: _container(d)["env"].append({"name": "A=B", "value": "2"}), "env[2].name: 'A=B' must be printable ASCII"),
    "env value and valueFrom": (lambda d: _container(d)["env"][1].update(value="x"), "env[1].valueFrom: may not be set when value is not empty"),
    "duplicate containerPort/protocol (TCP by default)": (lambda d: _container(d)["ports"][1].update(containerPort=8080),
                                                          "ports[1].containerPort: duplicate containerPort/protocol 8080/TCP"),
    "duplicate port name": (lambda d: _container(d)["ports"][2].update(name="metrics"), "ports[2].name: duplicate port name 'metrics'"),
    "port name too long": (lambda d: _container(d)["ports"][0].update(name="metrics-endpoint"), "ports[0].name: 'metrics-endpoint' must be an IANA service name"),
    "port out of range": (lambda d: _container(d)["ports"][0].update(containerPort=70000), "ports[0].containerPort: 70000 must be a port number"),
    "port protocol": (lambda d: _container(d)["ports"][0].update(protocol="HTTP"), "ports[0].protocol: 'HTTP' is not one of TCP, UDP, SCTP"),
    "duplicate volume": (lambda d: at(d, *POD, "volumes").append({"name": "tmp", "emptyDir": {}}), "volumes[1].name: duplicate volume name 'tmp'"),
    "mount of a missing volume": (lambda d: _container(d)["volumeMounts"].append({"name": "data", "mountPath": "/data"}),
                                  "volumeMounts[1].name: 'data' is not a volume of the pod"),
    "duplicate mountPath": (lambda d: _container(d)["volumeMounts"].append({"name": "tmp", "mountPath": "/tmp"}),
                            "volumeMounts[1].mountPath: duplicate mountPath '/tmp'"),
    "duplicate imagePullSecret": (lambda d: at(d, *POD, "imagePullSecrets").append({"name": "pull"}),
                                  "imagePullSecrets[1].name: duplicate imagePullSecret 'pull'"),
    "empty imagePullSecret": (lambda d: at(d, *POD, "imagePullSecrets").append({"name": ""}), "imagePullSecrets[1].name: required"),
    "toleration Exists with a value": (lambda d: at(d, *POD, "tolerations", 1).update(key="k", value="v"),
                                       "tolerations[1].value: must be empty when operator is Exists"),
    "toleration without key needs Exists": (lambda d: at(d, *POD, "tolerations", 0).pop("key"),
                                            "tolerations[0].operator: must be Exists when key is empty"),
    "toleration effect": (lambda d: at(d, *POD, "tolerations", 0).update(effect="NoRun"), "tolerations[0].effect: 'NoRun' is not one of"),
    "toleration operator": (lambda d: at(d, *POD, "tolerations", 0).update(operator="In"), "tolerations[0].operator: 'In' is not one of Equal, Exists"),
    "tolerationSeconds without NoExecute": (lambda d: at(d, *POD, "tolerations", 0).update(tolerationSeconds=5),
                                            "tolerations[0].tolerationSeconds: may only be set when effect is NoExecute"),
    "toleration key syntax": (lambda d: at(d, *POD, "tolerations", 0).update(key="bad key"), "tolerations[0].key: invalid toleration key"),
    "nodeSelector key": (lambda d: at(d, *POD, "nodeSelector").update({"bad/key/x": "a"}), "nodeSelector['bad/key/x']: invalid nodeSelector key"),
    "nodeSelector value": (lambda d: at(d, *POD, "nodeSelector").update(zone="a b"), "nodeSelector.zone: invalid nodeSelector value 'a b'"),
    "template label value of 64 characters": (lambda d: at(d, "spec", "template", "metadata", "labels").update(extra="x" * 64),
                                              "$.spec.template.metadata.labels.extra: invalid label value"),
    "template annotation key": (lambda d: at(d, "spec", "template", "metadata", "annotations").update({"-bad": "x"}),
                                "$.spec.template.metadata.annotations['-bad']: invalid annotation key"),
    "template annotations above 256 KiB": (lambda d: at(d, "spec", "template", "metadata", "annotations").update(big="x" * 262144),
                                           "$.spec.template.metadata.annotations: annotations total"),
    "selector that does not match the template": (lambda d: d["spec"]["selector"]["matchLabels"].update(extra="no"),
                                                  "$.spec.template.metadata.labels: `selector` does not match template `labels`"),
    "selector expression with values for Exists": (
        lambda d: d["spec"]["selector"].update(matchExpressions=[{"key": "extra", "operator": "Exists", "values": ["x"]}]),
        "$.spec.selector.matchExpressions[0].values: may not be specified when operator is Exists"),
    "negative replicas": (lambda d: d["spec"].update(replicas=-1), "$.spec.replicas: must be greater than or equal to 0"),
    "topology spread selector": (lambda d: at(d, *POD).update(topologySpreadConstraints=[{
        "maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway",
        "labelSelector": {"matchLabels": {"a": "-"}}}]), "topologySpreadConstraints[0].labelSelector.matchLabels.a: invalid label value"),
}


@pytest.mark.parametrize("case", DEPLOYMENT_CASES, ids=list(DEPLOYMENT_CASES))
def test_api_server_rule_rejects(case):
    mutate, expected = DEPLOYMENT_CASES[case]
    obj = deployment()
    mutate(obj)
    found = messages(obj)
    path, _, fragment = expected.rpartition(": ") if expected.count(": ") == 1 else expected.partition(": ")
    assert any(path in f and fragment in f for f in found), found
    assert len(found) == 1, found


def test_the_same_rules_apply_to_pods_and_cron_jobs():
    template = deployment()["spec"]["template"]
    template["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "2"
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "n"}, "spec": template["spec"]}
    cron = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c", "namespace": "n"},
            "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template}}}}
    assert messages(pod) == ["$.spec.containers[0].resources.requests.cpu: '2' must be less than or equal to the cpu limit '0.5'"]
    assert messages(cron)[0].startswith("$.spec.jobTemplate.spec.template.spec.containers[0].resources.requests.cpu")


@pytest.mark.parametrize(("text", "value"), [
    ("500m", Decimal("0.5")), ("1Gi", Decimal(2**30)), ("1.5", Decimal("1.5")), ("1e3", Decimal(1000)), ("1E3", Decimal(1000)),
    ("2k", Decimal(2000)), ("1M", Decimal(10**6)), ("100u", Decimal("0.0001")), (".5", Decimal("0.5")), (2, Decimal(2)),
    ("1.5Gi", Decimal(3 * 2**29)), ("-1", Decimal(-1)), ("1E", Decimal(10**18)),
])
def test_quantities_parse_exactly(text, value):
    assert quantity.parse(text) == value


@pytest.mark.parametrize("text", ["", "1 ", "1.2.3", "1Kb", "one", "1ki", "0x10", True, None, "1e"])
def test_invalid_quantities_do_not_parse(text):
    assert quantity.parse(text) is None


def limit_range(**item) -> dict:
    return {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "l", "namespace": "n"},
            "spec": {"limits": [{"type": "Container", **item}]}}


def test_limit_range_in_order_passes():
    assert messages(limit_range(min={"cpu": "10m"}, defaultRequest={"cpu": "50m", "memory": "64Mi"},
                                default={"cpu": "0.5", "memory": "512Mi"}, max={"cpu": "2", "memory": "4Gi"},
                                maxLimitRequestRatio={"cpu": "10"})) == []


@pytest.mark.parametrize(("item", "expected"), [
    ({"default": {"cpu": "3"}, "max": {"cpu": "2"}}, "$.spec.limits[0].max.cpu: max '2' must be greater than or equal to default '3'"),
    ({"defaultRequest": {"memory": "1Gi"}, "default": {"memory": "512Mi"}},
     "$.spec.limits[0].default.memory: default '512Mi' must be greater than or equal to defaultRequest '1Gi'"),
    ({"min": {"cpu": "100m"}, "defaultRequest": {"cpu": "50m"}},
     "$.spec.limits[0].defaultRequest.cpu: defaultRequest '50m' must be greater than or equal to min '100m'"),
    ({"min": {"cpu": "3"}, "max": {"cpu": "2"}}, "$.spec.limits[0].max.cpu: max '2' must be greater than or equal to min '3'"),
    ({"max": {"cpu": "lots"}}, "$.spec.limits[0].max.cpu: 'lots' is not a valid non-negative quantity"),
    ({"defaultRequest": {"cpu": "100m"}, "default": {"cpu": "401m"}, "maxLimitRequestRatio": {"cpu": "4"}},
     "$.spec.limits[0].maxLimitRequestRatio.cpu: ratio 4.01 of default to defaultRequest is greater than max ratio '4'"),
])
def test_limit_range_out_of_order_is_rejected(item, expected):
    assert messages(limit_range(**item)) == [expected]


def test_resource_quota_needs_valid_quantities():
    quota = {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q", "namespace": "n"},
             "spec": {"hard": {"requests.cpu": "4", "pods": "40", "limits.memory": "16 Gi"}}}
    assert messages(quota) == ["$.spec.hard['limits.memory']: '16 Gi' is not a valid non-negative quantity"]


def network_policy(peer: dict, ports: list | None = None) -> dict:
    rule = {"to": [peer], **({"ports": ports} if ports else {})}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "p", "namespace": "n"},
            "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [rule]}}


@pytest.mark.parametrize("cidr", ["10.0.0.0/8", "10.1.2.3/16", "0.0.0.0/0", "fd00::/8", "::/0"])
def test_network_policy_accepts_ipv4_and_ipv6_cidrs(cidr):
    assert messages(network_policy({"ipBlock": {"cidr": cidr}}, [{"protocol": "TCP", "port": 443, "endPort": 444}])) == []


@pytest.mark.parametrize(("peer", "ports", "expected"), [
    ({"ipBlock": {"cidr": "10.0.0.0/33"}}, None, "ipBlock.cidr: '10.0.0.0/33' is not a valid CIDR"),
    ({"ipBlock": {"cidr": "10.0.0.0"}}, None, "ipBlock.cidr: '10.0.0.0' is not a valid CIDR"),
    ({"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.1.0.0/24"]}}, None, "ipBlock.except[0]: '10.1.0.0/24' must be within"),
    ({"ipBlock": {"cidr": "10.0.0.0/16"}, "podSelector": {}}, None, "may not specify ipBlock together with"),
    ({"podSelector": {"matchLabels": {"a": "b c"}}}, None, "podSelector.matchLabels.a: invalid label value"),
    ({"podSelector": {}}, [{"port": 443, "endPort": 80}], "ports[0].endPort: must be greater than or equal to port"),
    ({"podSelector": {}}, [{"port": "https", "endPort": 500}], "ports[0].endPort: may only be set with a numeric port"),
    ({"podSelector": {}}, [{"protocol": "ICMP", "port": 1}], "ports[0].protocol: 'ICMP' is not one of"),
    ({"podSelector": {}}, [{"port": 0}], "ports[0].port: 0 must be a port number"),
])
def test_network_policy_rules(peer, ports, expected):
    found = messages(network_policy(peer, ports))
    assert len(found) == 1 and expected in found[0], found


def binding(binding_kind: str = "RoleBinding", **subject) -> dict:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": binding_kind, "metadata": {"name": "b", "namespace": "n"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
            "subjects": [subject]}


def test_valid_bindings_pass():
    assert messages(binding(kind="Group", apiGroup="rbac.authorization.k8s.io", name="team")) == []
    assert messages(binding("ClusterRoleBinding", kind="ServiceAccount", name="sa", namespace="n")) == []
    assert messages(binding(kind="ServiceAccount", name="sa")) == []


@pytest.mark.parametrize(("obj", "expected"), [
    (binding(kind="Group", apiGroup="rbac.authorization.k8s.io", name=""), "$.subjects[0].name: required: a non-empty Group name"),
    (binding(kind="User", apiGroup="rbac.authorization.k8s.io", name="  "), "$.subjects[0].name: required: a non-empty User name"),
    (binding(kind="Team", name="x"), "$.subjects[0].kind: 'Team' is not one of User, Group, ServiceAccount"),
    (binding(kind="User", name="x"), "$.subjects[0].apiGroup: must be rbac.authorization.k8s.io for a User"),
    (binding("ClusterRoleBinding", kind="ServiceAccount", name="sa"), "$.subjects[0].namespace: required for a ServiceAccount"),
])
def test_binding_subjects(obj, expected):
    found = messages(obj)
    assert len(found) == 1 and found[0].startswith(expected), found


def test_binding_role_ref_and_role_rules():
    cluster = binding("ClusterRoleBinding", kind="Group", apiGroup="rbac.authorization.k8s.io", name="g")
    cluster["roleRef"]["kind"] = "Role"
    assert messages(cluster) == ["$.roleRef.kind: 'Role' is not one of ClusterRole"]
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "r", "namespace": "n"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": []}, {"nonResourceURLs": ["/x"], "verbs": ["get"]},
                      {"resources": ["pods"], "verbs": ["get"]}]}
    assert messages(role) == ["$.rules[0].verbs: verbs must contain at least one value",
                              "$.rules[1].nonResourceURLs: namespaced rules cannot apply to non-resource URLs",
                              "$.rules[2].apiGroups: resource rules must supply at least one api group"]


def test_service_and_disruption_budget_rules():
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "n"},
               "spec": {"selector": {"app": "x"}, "ports": [{"name": "a", "port": 80, "targetPort": "http"},
                                                           {"name": "a", "port": 80, "targetPort": 99999}]}}
    assert messages(service) == ["$.spec.ports[1].targetPort: 99999 must be a port number between 1 and 65535",
                                 "$.spec.ports[1].name: duplicate port name 'a' (same as [0])",
                                 "$.spec.ports[1].port: duplicate port/protocol 80/TCP (same as [0])"]
    pdb = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "p", "namespace": "n"},
           "spec": {"minAvailable": 1, "maxUnavailable": 1, "selector": {"matchLabels": {"a": "b"}}}}
    assert messages(pdb) == ["$.spec: minAvailable and maxUnavailable cannot both be set"]


# --------------------------------------------------------------------------------------------------
# Resources: duplicates, tracing to config keys, plug-in checks


def registered(obj: dict, urn: str, parent: str = "urn:pulumi:s::toolhive::toolhive:platform:Platform::toolhive") -> RegisteredResource:
    return RegisteredResource(urn=urn, type=f"kubernetes:{obj['apiVersion']}:{obj['kind']}",
                              name=urn.rsplit("::", 1)[-1], custom=True, parent=parent, dependencies=[], protect=False,
                              retain_on_delete=False, ignore_changes=[], inputs=obj)


def config_map(name: str = "c", namespace: str = "n", api_version: str = "v1") -> dict:
    return {"apiVersion": api_version, "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}, "data": {}}


def test_two_resources_with_one_urn_fail_as_the_engine_does():
    urn = "urn:pulumi:s::toolhive::kubernetes:core/v1:ConfigMap::c"
    problems = dry_run([registered(config_map(), urn), registered(config_map("d"), urn)])
    assert problems == [Problem("ConfigMap", "n", "c", "$",
                                f"2 resources share the URN {urn} (the engine fails: duplicate resource URN)")]
    # One object registered twice under one URN is that problem only, not also two writers of one object.
    assert [p.message for p in dry_run([registered(config_map(), urn)] * 3)] == [
        f"3 resources share the URN {urn} (the engine fails: duplicate resource URN)"]


def test_two_components_with_one_urn_name_no_object():
    urn = "urn:pulumi:s::toolhive::toolhive:platform:Thing::t"
    component = RegisteredResource(urn=urn, type="toolhive:platform:Thing", name="t", custom=False, parent="",
                                   dependencies=[], protect=False, retain_on_delete=False, ignore_changes=[],
                                   inputs={"kind": "ConfigMap", "metadata": {"name": "looks-like-one"}})
    assert dry_run([component, component]) == [
        Problem("", "", "", "$", f"2 resources share the URN {urn} (the engine fails: duplicate resource URN)")]
    # ...and a component whose inputs look like an object is not checked as one.
    assert validate.kubernetes_resources([component, registered(config_map(), "urn:c")])[0].urn == "urn:c"
    assert len(validate.kubernetes_resources([component])) == 0
    password = RegisteredResource(urn="urn:pw", type="random:index/randomPassword:RandomPassword", name="pw", custom=True,
                                  parent="", dependencies=[], protect=False, retain_on_delete=False, ignore_changes=[],
                                  inputs={"length": 32})
    assert validate.kubernetes_resources([password]) == []  # another provider's resource is no object either


def test_two_resources_writing_one_object_fail():
    problems = dry_run([registered(config_map(), "urn:pulumi:s::toolhive::kubernetes:core/v1:ConfigMap::a"),
                        registered(config_map(), "urn:pulumi:s::toolhive::kubernetes:core/v1:ConfigMap::b")])
    assert len(problems) == 1 and problems[0].object == "ConfigMap/n/c"
    assert "2 resources create this one object" in problems[0].message
    assert problems[0] == Problem("ConfigMap", "n", "c", "$", "2 resources create this one object "
                                  "(urn:pulumi:s::toolhive::kubernetes:core/v1:ConfigMap::a, "
                                  "urn:pulumi:s::toolhive::kubernetes:core/v1:ConfigMap::b); each would overwrite the other")
    # the same name in another namespace is another object
    assert dry_run([registered(config_map(), "urn:a"), registered(config_map(namespace="m"), "urn:b")]) == []


def test_one_object_is_one_api_group_and_name_whatever_the_version():
    """apps/v1 and apps/v1beta2 are two versions of one Deployment; example.com/v1 names another object."""
    def deployment_of(api_version: str) -> dict:
        return {"apiVersion": api_version, "kind": "Widget", "metadata": {"name": "w", "namespace": "n"}}

    two_versions = [registered(deployment_of("example.com/v1"), "urn:a"), registered(deployment_of("example.com/v2"), "urn:b")]
    assert [p.message.split(" (")[0] for p in validate._duplicates(two_versions, two_versions)] == [
        "2 resources create this one object"]
    two_groups = [registered(deployment_of("example.com/v1"), "urn:a"), registered(deployment_of("other.io/v1"), "urn:b"),
                  registered(deployment_of("v1"), "urn:c")]
    assert validate._duplicates(two_groups, two_groups) == []


def test_check_objects_runs_the_checks_it_is_given_keeping_their_problems_whole():
    blamed = Problem("Role", "ns", "r", "$.rules", "bad", config_key="toolhive:x", blame=(("Pod", "ns", "p", "$"),))
    assert check_objects([], checks=[lambda objects: [blamed, "Role/ns/q: $.rules: worse"]]) == [
        blamed, Problem("Role", "ns", "q", "$.rules", "worse")]


def test_a_problem_names_the_sources_of_the_objects_it_blames_once_each(monkeypatch):
    tenant = "urn:pulumi:s::toolhive::toolhive:platform:Platform$toolhive:platform:TenantNamespace::tenant-a"
    quota = {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "mcp-quota", "namespace": "a"}, "spec": {}}
    blame = (("ResourceQuota", "a", "mcp-quota", "$"), ("ResourceQuota", "a", "mcp-quota", "$.spec"),
             ("Pod", "a", "stray", "$"))
    keyed = Problem("ConfigMap", "a", "c", "$", "kept", config_key="toolhive:chosen")
    monkeypatch.setattr(validate, "CHECKS", (lambda objects: [Problem("", "", "", "$", "over quota", blame=blame), keyed],))
    found = dry_run([registered(quota, "urn:q", tenant)], {"toolhive:namespaces": [{"name": "a"}]})
    assert [p.message for p in found] == ["over quota (from toolhive:namespaces[0].quota; Pod/a/stray)", "kept"]
    assert found[1].config_key == "toolhive:chosen"  # a key a check named is kept


def test_problems_name_the_config_key_that_produced_the_object():
    operator = "urn:pulumi:s::toolhive::toolhive:platform:Platform$toolhive:platform:Operator::operator"
    tenant = "urn:pulumi:s::toolhive::toolhive:platform:Platform$toolhive:platform:TenantNamespace::tenant-b"
    bad = deployment()
    _container(bad)["resources"]["requests"]["cpu"] = "2"
    at(bad, *POD, "tolerations", 0)["effect"] = "Never"
    policy = network_policy({"ipBlock": {"cidr": "10.0.0.0/33"}})
    policy["metadata"] = {"name": "allow-egress", "namespace": "b"}
    config = {"toolhive:namespaces": [{"name": "a"}, {"name": "b"}]}
    problems = dry_run([registered(bad, "urn:d", operator), registered(policy, "urn:p", tenant)], config)
    assert [p.config_key for p in problems] == [
        "toolhive:operator.resources.requests.cpu",
        "toolhive:operator.tolerations[0].effect",
        "toolhive:namespaces[1].network.egress[0]",
    ]
    assert str(problems[2]) == ("toolhive:namespaces[1].network.egress[0]: NetworkPolicy/b/allow-egress: "
                                "$.spec.egress[0].to[0].ipBlock.cidr: '10.0.0.0/33' is not a valid CIDR (e.g. 10.0.0.0/16 or fd00::/8)")


def test_an_object_no_trace_rule_knows_is_named_by_kind_namespace_name_and_field():
    (found,) = dry_run([registered(limit_range(max={"cpu": "x"}), "urn:l", parent="urn:pulumi:s::toolhive::other:Thing::t")])
    assert found.config_key is None
    assert str(found) == "LimitRange/n/l: $.spec.limits[0].max.cpu: 'x' is not a valid non-negative quantity"


def test_checks_run_schema_cel_and_api_server_rules_and_plug_ins_return_strings(monkeypatch):
    from tools.validate import admission, cel, provider, reachability, schema
    assert validate.CHECKS == (schema.check, cel.check, apiserver.check, admission.check, reachability.check,
                               provider.check)

    def plug_in(objects):
        return [f"ConfigMap/{o['metadata']['namespace']}/{o['metadata']['name']}: $.data: blocked" for o in objects] + ["global note"]

    monkeypatch.setattr(validate, "CHECKS", (*validate.CHECKS, plug_in))
    tenant = "urn:pulumi:s::toolhive::toolhive:platform:Platform$toolhive:platform:TenantNamespace::tenant-a"
    problems = dry_run([registered(config_map(namespace="a"), "urn:c", tenant)], {"toolhive:namespaces": [{"name": "a"}]})
    assert [str(p) for p in problems] == ["toolhive:namespaces[0]: ConfigMap/a/c: $.data: blocked", "global note"]


def test_plug_in_strings_are_parsed_into_problems():
    assert from_text("Role/ns/toolhive:x: $.rules[0]: no verbs") == Problem("Role", "ns", "toolhive:x", "$.rules[0]", "no verbs")
    assert from_text("Namespace//mcp: unreachable: Redis") == Problem("Namespace", "", "mcp", "$", "unreachable: Redis")
    assert from_text("flow tenant -> dns blocked") == Problem("", "", "", "$", "flow tenant -> dns blocked")
    # The path ends at the first ': ' (a message may hold more); a '$' word with no ': ' after it is the message too.
    assert from_text("Role/ns/r: $.rules[0]: verbs: none") == Problem("Role", "ns", "r", "$.rules[0]", "verbs: none")
    assert from_text("Role/ns/r: $ alone") == Problem("Role", "ns", "r", "$ alone", "$ alone")


@pytest.mark.parametrize("obj, expected", [
    ({"kind": "Role", "metadata": {"namespace": "ns", "name": "r"}}, ("Role", "ns", "r")),
    ({"kind": "Pod", "metadata": {"namespace": "ns", "generateName": "web-"}}, ("Pod", "ns", "web-")),
    ({"metadata": {"name": "r"}}, ("?", "", "r")),             # no kind
    ({"kind": "", "metadata": {"name": "r"}}, ("?", "", "r")),  # an empty kind
    ({"kind": 5, "metadata": {"name": "r"}}, ("?", "", "r")),   # a kind that is not text
    ({"kind": "Role", "metadata": {"namespace": 3}}, ("Role", "", "?")),  # a namespace that is not text, no name
    ({"kind": "Role", "metadata": "r"}, ("Role", "", "?")),     # metadata that is not a map
    (["not", "a", "map"], ("?", "", "?")),
])
def test_a_problem_names_its_object_with_question_marks_for_what_is_missing(obj, expected):
    from tools.validate.problem import identity, problem

    assert identity(obj) == expected
    assert problem(obj, "$.spec", "bad") == Problem(*expected, "$.spec", "bad")  # a JSON path is kept as given
    assert problem(obj, ["spec", 0], "bad").path == "$.spec[0]"


def test_json_paths_quote_keys_that_are_not_plain_names_escaping_backslash_and_quote():
    from tools.validate.problem import json_path

    assert json_path(["metadata", "annotations", "a.b/c", 0]) == "$.metadata.annotations['a.b/c'][0]"
    assert json_path(["data", "it's\\here"]) == "$.data['it\\'s\\\\here']"


@pytest.mark.parametrize("stack", STACKS)
def test_every_shipped_stack_passes_the_whole_dry_run(stack, preview):
    rendered = render_stack(stack, preview=preview)
    assert rendered.problems == []
    assert len(rendered.objects()) > 30


def test_test_renders_fail_loudly_on_a_dry_run_problem_unless_asked_for_the_raw_run(monkeypatch):
    def flag_quota(objects):
        return [f"ResourceQuota/{o['metadata']['namespace']}/mcp-quota: $.spec.hard: planted" for o in objects
                if o["kind"] == "ResourceQuota" and o["metadata"]["name"] == "mcp-quota"]

    monkeypatch.setattr(validate, "CHECKS", (*validate.CHECKS, flag_quota))
    config = {"namespaces": [{"name": "planted-problem"}]}
    with pytest.raises(pytest.fail.Exception, match="offline dry run rejects"):
        render_config(config)
    raw = render_config(config, allow_problems=True)
    assert [str(p) for p in raw.problems] == [
        "toolhive:namespaces[0].quota: ResourceQuota/planted-problem/mcp-quota: $.spec.hard: planted"]


def test_many_objects_of_one_shape_are_each_checked_and_reported_by_name():
    """Scale is measured by the benchmark (python -m bench renders 1000 servers through the dry run), not here:
    this states that a large batch is checked object by object (the schema cache is per content, not per shape)."""
    objects = []
    for i in range(300):
        obj = copy.deepcopy(deployment())
        obj["metadata"]["name"] = f"op-{i}"
        objects.append(obj)
    assert check_objects(objects) == []
    objects[-1]["spec"]["replicas"] = "three"
    assert [problem.name for problem in check_objects(objects)] == ["op-299"]


def test_an_object_changed_between_two_dry_runs_is_checked_afresh():
    """Within one check the objects' JSON texts are shared by the schema and CEL checks; between checks an
    object may change (the same dict, edited), and the second check sees the edit."""
    obj = deployment()
    assert check_objects([obj]) == []
    obj["spec"]["replicas"] = "three"
    assert [p.path for p in check_objects([obj])] == ["$.spec.replicas"]
