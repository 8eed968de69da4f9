"""Admission by the stack's own fences: every pod and claim the stack makes in a tenant namespace, its own
and those the operator creates from its custom resources, passes the namespace's LimitRange (LimitRanger)
and ResourceQuota (ResourceQuota admission), as the API server of Kubernetes 1.33 decides it; a problem
names the server file and field (or the `toolhive:` key) behind it."""
from __future__ import annotations

import pytest
import yaml

from tests.conftest import render_config
from tools.validate import admission

NS = "team"
IMAGE = "ghcr.io/stackloklabs/gofetch/server:1.0.1"


def limit_range(*items: dict) -> dict:
    return {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "limits", "namespace": NS},
            "spec": {"limits": list(items)}}


def quota(**hard: str) -> dict:
    return {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "quota", "namespace": NS},
            "spec": {"hard": {key.replace("_", "."): value for key, value in hard.items()}}}


def deployment(resources: dict | None = None, *, name: str = "web", replicas: int | None = None,
               init: dict | None = None) -> dict:
    pod: dict = {"containers": [{"name": "app", "image": "nginx:1.27", **({"resources": resources} if resources is not None else {})}]}
    if init is not None:
        pod["initContainers"] = [{"name": "setup", "image": "busybox:1.36", "resources": init}]
    spec: dict = {"selector": {"matchLabels": {"app": name}},
                  "template": {"metadata": {"labels": {"app": name}}, "spec": pod}}
    if replicas is not None:
        spec["replicas"] = replicas
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": NS}, "spec": spec}


def mcp_server(name: str = "fetch", *, proxy: dict | None = None, mcp: dict | None = None, **spec) -> dict:
    template = {"spec": {"containers": [{"name": "mcp", **({"resources": mcp} if mcp is not None else {})}]}}
    return {"apiVersion": "toolhive.stacklok.dev/v1alpha1", "kind": "MCPServer", "metadata": {"name": name, "namespace": NS},
            "spec": {"image": IMAGE, **({"resources": proxy} if proxy is not None else {}), "podTemplateSpec": template, **spec}}


def messages(objects: list[dict]) -> list[str]:
    return [str(found) for found in admission.check(objects)]


def amounts(cpu: str | None = None, memory: str | None = None, *, limit_cpu: str | None = None,
            limit_memory: str | None = None) -> dict:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    limits = {k: v for k, v in (("cpu", limit_cpu), ("memory", limit_memory)) if v is not None}
    return {**({"requests": requests} if requests else {}), **({"limits": limits} if limits else {})}


# -- LimitRanger: min, max, maxLimitRequestRatio per container ---------------------------------------

def test_a_container_limit_above_the_limit_range_max_is_refused_and_the_max_itself_admitted():
    fence = limit_range({"type": "Container", "max": {"cpu": "1"}})
    assert messages([fence, deployment(amounts("100m", limit_cpu="1001m"))]) == [
        "Deployment/team/web: $.spec.template.spec.containers[0].resources.limits.cpu: the pods of Deployment web: "
        "container app is refused by LimitRange team/limits (LimitRanger): maximum cpu usage per Container is 1, "
        "but limit is 1001m"]
    assert messages([fence, deployment(amounts("100m", limit_cpu="1"))]) == []


def test_a_request_below_the_limit_range_min_is_refused_and_the_min_itself_admitted():
    fence = limit_range({"type": "Container", "min": {"memory": "64Mi"}})
    [refused] = messages([fence, deployment(amounts(memory="63Mi", limit_memory="128Mi"))])
    assert refused.endswith("minimum memory usage per Container is 64Mi, but request is 63Mi")
    assert ".resources.requests.memory:" in refused
    assert messages([fence, deployment(amounts(memory="64Mi", limit_memory="128Mi"))]) == []


def test_a_limit_to_request_ratio_above_the_maximum_is_refused_and_the_ratio_itself_admitted():
    fence = limit_range({"type": "Container", "maxLimitRequestRatio": {"cpu": "4"}})
    [refused] = messages([fence, deployment(amounts("100m", limit_cpu="401m"))])
    assert refused.endswith("cpu max limit to request ratio per Container is 4, but provided ratio is 4.010000")
    assert messages([fence, deployment(amounts("100m", limit_cpu="400m"))]) == []


def test_quantities_compare_in_milli_units_rounded_up_as_the_limit_ranger_does():
    # requestLimitEnforcedValues: MilliValue() rounds 0.5m up to 1m, so a 0.5m request meets a 1m minimum.
    fence = limit_range({"type": "Container", "min": {"cpu": "1m"}})
    assert messages([fence, deployment(amounts("0.5m", limit_cpu="10m"))]) == []
    assert len(messages([fence, deployment(amounts("0.4m", limit_cpu="10m"))])) == 0  # also 1m once rounded up
    assert len(messages([limit_range({"type": "Container", "min": {"cpu": "2m"}}),
                         deployment(amounts("1.5m", limit_cpu="10m"))])) == 0
    assert len(messages([limit_range({"type": "Container", "min": {"cpu": "2m"}}),
                         deployment(amounts("1m", limit_cpu="10m"))])) == 1


# -- Defaulting: the pod's own, the LimitRange's, then the LimitRanger's ---------------------------

def test_the_limit_range_default_fills_a_missing_limit_and_is_then_held_to_the_ratio():
    fence = limit_range({"type": "Container", "default": {"cpu": "500m"}, "defaultRequest": {"cpu": "500m"},
                         "maxLimitRequestRatio": {"cpu": "2"}})
    [refused] = messages([fence, deployment(amounts("100m"))])
    assert refused.endswith("cpu max limit to request ratio per Container is 2, but provided ratio is 5.000000 "
                            "(the LimitRange's default)")
    assert messages([fence, deployment(amounts("250m"))]) == []


def test_a_missing_request_defaults_to_the_containers_own_limit_before_the_limit_range_default():
    # SetDefaults_Pod: limits without requests -> requests = limits; only then would defaultRequest apply.
    fence = limit_range({"type": "Container", "defaultRequest": {"cpu": "100m"}, "default": {"cpu": "100m"},
                         "maxLimitRequestRatio": {"cpu": "1"}})
    assert messages([fence, deployment(amounts(limit_cpu="2"))]) == []


def test_a_missing_default_is_the_max_and_a_missing_default_request_the_default_as_the_api_server_stores_it():
    # SetDefaults_LimitRangeItem: default <- max, defaultRequest <- default; a container without resources
    # then gets requests = limits = max, which a ratio of 1 admits and a quota counts.
    fence = limit_range({"type": "Container", "max": {"cpu": "300m"}, "maxLimitRequestRatio": {"cpu": "1"}})
    assert messages([fence, deployment({})]) == []
    [over] = messages([fence, quota(requests_cpu="299m"), deployment({})])
    assert "need requests.cpu 300m in total, above this quota's 299m" in over


def test_init_containers_get_the_defaults_and_the_bounds_too():
    fence = limit_range({"type": "Container", "max": {"memory": "64Mi"}})
    [refused] = messages([fence, deployment(amounts(memory="32Mi", limit_memory="64Mi"),
                                            init=amounts(memory="32Mi", limit_memory="65Mi"))])
    assert "$.spec.template.spec.initContainers[0].resources.limits.memory" in refused
    assert "container setup is refused" in refused


def test_a_pod_limit_holds_the_sum_of_the_containers_or_the_largest_init_container():
    fence = limit_range({"type": "Pod", "max": {"cpu": "1"}})
    two = deployment(amounts("100m", limit_cpu="600m"))
    two["spec"]["template"]["spec"]["containers"].append({"name": "side", "image": "nginx:1.27",
                                                          "resources": amounts("100m", limit_cpu="500m")})
    [refused] = messages([fence, two])
    assert refused.endswith("maximum cpu usage per Pod is 1, but limit is 1.1")
    assert messages([fence, deployment(amounts("100m", limit_cpu="600m"), init=amounts("100m", limit_cpu="1"))]) == []
    assert len(messages([fence, deployment(amounts("100m", limit_cpu="600m"),
                                           init=amounts("100m", limit_cpu="1001m"))])) == 1


# -- What the operator creates from the stack's custom resources ------------------------------------

def test_the_operator_created_proxy_and_backend_pods_are_held_to_the_limit_range_at_the_fields_that_size_them():
    fence = limit_range({"type": "Container", "max": {"cpu": "1"}})
    found = messages([fence, mcp_server(proxy=amounts("50m", limit_cpu="2"), mcp=amounts("50m", limit_cpu="3"))])
    assert [line.split(": ")[1] for line in found] == ["$.spec.resources.limits.cpu",
                                                      "$.spec.podTemplateSpec.spec.containers[0].resources.limits.cpu"]
    assert "the proxy runner pods (Deployment fetch, container toolhive) the operator creates" in found[0]
    assert "the MCP server pods (StatefulSet fetch) the proxy runner creates: container mcp" in found[1]


def test_remote_proxies_vmcps_and_registries_are_held_to_the_limit_range():
    fence = limit_range({"type": "Container", "max": {"memory": "256Mi"}})
    remote = {"apiVersion": "toolhive.stacklok.dev/v1alpha1", "kind": "MCPRemoteProxy",
              "metadata": {"name": "remote", "namespace": NS},
              "spec": {"remoteUrl": "https://mcp.example.com", "resources": amounts(memory="64Mi", limit_memory="512Mi")}}
    vmcp = {"apiVersion": "toolhive.stacklok.dev/v1alpha1", "kind": "VirtualMCPServer",
            "metadata": {"name": "all", "namespace": NS},
            "spec": {"podTemplateSpec": {"spec": {"containers": [{"name": "vmcp", "resources": amounts(
                memory="64Mi", limit_memory="300Mi")}]}}}}
    registry = {"apiVersion": "toolhive.stacklok.dev/v1alpha1", "kind": "MCPRegistry",
                "metadata": {"name": "reg", "namespace": NS}, "spec": {"configYAML": "x"}}
    found = messages([fence, remote, vmcp, registry])
    assert any(line.startswith("MCPRemoteProxy/team/remote: $.spec.resources.limits.memory:") for line in found)
    assert any(line.startswith("VirtualMCPServer/team/all: $.spec.podTemplateSpec.spec.containers[0].resources.limits.memory")
               for line in found)
    # The operator's default for registry-api: limits 500m/512Mi.
    assert any(line.startswith("MCPRegistry/team/reg:") and "but limit is 512Mi" in line for line in found)
    assert len(found) == 3


# -- Claims -----------------------------------------------------------------------------------------

def pvc(storage: str | None, name: str = "data", storage_class: str | None = None) -> dict:
    spec: dict = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": storage} if storage else {}}}
    if storage_class:
        spec["storageClassName"] = storage_class
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name, "namespace": NS}, "spec": spec}


@pytest.mark.parametrize("storage", ["0", "0Gi", "-1Gi"])
def test_a_claim_must_request_more_than_zero_storage(storage):
    [refused] = messages([pvc(storage)])
    assert refused.startswith("PersistentVolumeClaim/team/data: $.spec.resources.requests.storage:")
    assert "must be greater than zero" in refused
    assert messages([pvc("1")]) == []
    assert "a storage request is required" in messages([pvc(None)])[0]


def test_a_claim_outside_the_limit_range_for_claims_is_refused():
    fence = limit_range({"type": "PersistentVolumeClaim", "min": {"storage": "1Gi"}, "max": {"storage": "10Gi"}})
    assert messages([fence, pvc("10Gi"), pvc("1Gi", "small")]) == []
    assert messages([fence, pvc("11Gi")])[0].endswith("maximum storage usage per PersistentVolumeClaim is 10Gi, "
                                                      "but request is 11Gi")
    assert messages([fence, pvc("1023Mi")])[0].endswith("minimum storage usage per PersistentVolumeClaim is 1Gi, "
                                                        "but request is 1023Mi")


def test_claims_count_against_the_quota_with_each_stateful_set_replica():
    stateful = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": NS},
                "spec": {"replicas": 3, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                         "template": {"metadata": {"labels": {"app": "db"}},
                                      "spec": {"containers": [{"name": "db", "image": "postgres:17"}]}},
                         "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                             "accessModes": ["ReadWriteOnce"], "storageClassName": "gp3",
                             "resources": {"requests": {"storage": "10Gi"}}}}]}}
    assert messages([quota(requests_storage="40Gi", persistentvolumeclaims="4"), stateful, pvc("10Gi")]) == []
    found = messages([quota(requests_storage="39Gi", persistentvolumeclaims="3"), stateful, pvc("10Gi")])
    assert sorted(line.split(": ")[1] for line in found) == ["$.spec.hard.persistentvolumeclaims",
                                                            "$.spec.hard['requests.storage']"]
    assert any("need requests.storage 40Gi in total, above this quota's 39Gi" in line for line in found)
    by_class = messages([quota(**{"gp3.storageclass.storage.k8s.io/requests.storage": "29Gi"}), stateful, pvc("10Gi")])
    assert len(by_class) == 1 and "need gp3.storageclass.storage.k8s.io/requests.storage 30Gi" in by_class[0]


# -- ResourceQuota ----------------------------------------------------------------------------------

def test_the_quota_counts_every_pod_the_operator_starts_for_a_server():
    server = mcp_server(proxy=amounts("50m", limit_cpu="200m"), mcp=amounts("100m", limit_cpu="500m"), replicas=2)
    assert messages([quota(pods="3", requests_cpu="200m", limits_cpu="900m"), server]) == []
    found = messages([quota(pods="2", requests_cpu="199m", limits_cpu="899m"), server])
    assert [line.split(": ")[1] for line in found] == ["$.spec.hard.pods", "$.spec.hard['requests.cpu']",
                                                      "$.spec.hard['limits.cpu']"]
    assert found[0].endswith("need pods 3 in total, above this quota's 2: the ResourceQuota admission refuses what "
                             "does not fit (exceeded quota); the most: MCPServer fetch 3")


def test_an_autoscaler_raises_the_pods_counted_to_its_minimum():
    hpa = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "web", "namespace": NS},
           "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                    "minReplicas": 4, "maxReplicas": 10}}
    app = deployment(amounts("100m", limit_cpu="100m"))
    assert messages([quota(pods="3"), app]) == []
    assert "need pods 4 in total" in messages([quota(pods="3"), app, hpa])[0]


def test_with_cpu_under_quota_every_container_must_state_it_unless_a_limit_range_default_does():
    bare = deployment({})
    [refused] = messages([quota(requests_cpu="4", limits_memory="4Gi"), bare])
    assert refused.endswith("must specify limits.memory,requests.cpu (the namespace's quota tracks them and no "
                            "LimitRange default fills them in)")
    fence = limit_range({"type": "Container", "default": {"cpu": "100m", "memory": "64Mi"}})
    assert messages([quota(requests_cpu="4", limits_memory="4Gi"), fence, bare]) == []


def test_scoped_quotas_and_other_namespaces_are_left_alone():
    scoped = quota(pods="0")
    scoped["spec"]["scopes"] = ["BestEffort"]
    elsewhere = deployment(amounts("1", limit_cpu="1"))
    elsewhere["metadata"]["namespace"] = "other"
    assert messages([scoped, deployment(amounts("1", limit_cpu="1"))]) == []
    assert messages([quota(pods="0"), elsewhere]) == []


def test_services_count_their_kind_load_balancers_and_node_ports():
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "lb", "namespace": NS},
               "spec": {"type": "LoadBalancer", "ports": [{"port": 80}, {"port": 443}]}}
    found = messages([quota(**{"services.loadbalancers": "0", "services.nodeports": "1"}), service])
    assert [line.split(": ")[1] for line in found] == ["$.spec.hard['services.loadbalancers']",
                                                      "$.spec.hard['services.nodeports']"]
    assert messages([quota(**{"count/mcpservers.toolhive.stacklok.dev": "1"}), mcp_server(), mcp_server("two")])


# -- Through the program: the stack's own fences and the source they name ------------------------------
# One stack breaks each fence once (renders are slow; every test reads the same cached render):
# tenant fences max cpu 1, memory 1Gi per container, 7 pods.

SERVERS_DIR = "tests/data/admission/servers"  # fetch.yaml (limits.cpu 3), at-max.yaml (limits.cpu 1)
OVER_MEMORY = {"requests": {"memory": "64Mi"}, "limits": {"memory": "8Gi"}}
FENCED = {
    "namespaces": [{"name": "mcp-dev", "groups": [{"name": "tools"}],
                    "limits": {"max": {"cpu": "1", "memory": "1Gi"}, "default": {"cpu": "500m", "memory": "512Mi"}},
                    "quota": {"pods": 7, "limitsCpu": "32", "limitsMemory": "64Gi"}}],
    "servers": {
        "directory": SERVERS_DIR,
        "mcpServers": [
            {"name": "big", "namespace": "mcp-dev", "spec": {"image": IMAGE, "size": "large"}},
            {"name": "files", "namespace": "mcp-dev", "spec": {"image": IMAGE, "storage": {"size": "0"}}}],
        "remoteProxies": [{"name": "remote", "namespace": "mcp-dev",
                           "spec": {"remoteUrl": "https://mcp.example.com/mcp", "proxyResources": OVER_MEMORY}}],
        "virtualServers": [{"name": "all", "namespace": "mcp-dev",
                            "spec": {"group": "tools", "incomingAuth": {"type": "anonymous"}, "proxyResources": OVER_MEMORY}}],
        "sessionStore": {"namespace": "mcp-dev", "resources": {"requests": {"cpu": "50m", "memory": "64Mi"},
                                                               "limits": {"cpu": "3", "memory": "256Mi"}}},
    },
}


def problems(preview: bool) -> list[str]:
    return [str(found) for found in render_config(FENCED, preview=preview, stack="dev", allow_problems=True).problems]


def named(preview: bool, source: str) -> list[str]:
    return [line for line in problems(preview) if line.startswith(source + ": ")]


def test_a_server_file_beyond_the_tenants_limit_range_fails_naming_the_file_and_field(preview):
    [found] = named(preview, f"{SERVERS_DIR}/fetch.yaml: spec.resources.limits.cpu")
    assert found.endswith("MCPServer/mcp-dev/fetch: $.spec.podTemplateSpec.spec.containers[0].resources.limits.cpu: "
                          "the MCP server pods (StatefulSet fetch) the proxy runner creates: container mcp is refused by "
                          "LimitRange mcp-dev/mcp-limits (LimitRanger): maximum cpu usage per Container is 1, but limit is 3")
    # The server at the maximum is admitted.
    assert not [line for line in problems(preview) if line.startswith(f"{SERVERS_DIR}/at-max.yaml")]


def test_a_size_preset_beyond_the_limit_range_names_spec_size(preview):
    found = named(preview, "toolhive:servers.mcpServers[0].spec.size")
    assert [line.rsplit(": ", 1)[1] for line in found] == ["maximum cpu usage per Container is 1, but limit is 2",
                                                            "maximum memory usage per Container is 1Gi, but limit is 4Gi"]


def test_proxy_resources_of_remote_proxies_and_vmcps_are_held_to_the_limit_range(preview):
    assert len(named(preview, "toolhive:servers.remoteProxies[0].spec.proxyResources.limits.memory")) == 1
    assert len(named(preview, "toolhive:servers.virtualServers[0].spec.proxyResources.limits.memory")) == 1


def test_the_session_store_in_a_tenant_namespace_is_held_to_its_fences(preview):
    [found] = named(preview, "toolhive:servers.sessionStore.resources.limits.cpu")
    assert found.startswith("toolhive:servers.sessionStore.resources.limits.cpu: StatefulSet/mcp-dev/valkey:")


def test_a_storage_size_of_zero_fails_naming_the_servers_storage_size(preview):
    [found] = named(preview, "toolhive:servers.mcpServers[1].spec.storage.size")
    assert found.endswith("PersistentVolumeClaim/mcp-dev/files-data: $.spec.resources.requests.storage: "
                          "PersistentVolumeClaim files-data: the storage request 0 must be greater than zero "
                          "(the API server refuses the claim)")


def test_servers_beyond_the_tenants_quota_fail_naming_the_quota_and_the_servers(preview):
    # fetch, at-max, big and files: a proxy and a backend each; remote, all and valkey one pod each: 11 > 7.
    [found] = named(preview, "toolhive:namespaces[0].quota")
    assert found.startswith("toolhive:namespaces[0].quota: ResourceQuota/mcp-dev/mcp-quota: $.spec.hard.pods: "
                            "the stack's objects in namespace mcp-dev need pods 11 in total, above this quota's 7")
    assert found.endswith(f"the most: MCPServer at-max 2, MCPServer big 2, MCPServer fetch 2 and 4 more (from "
                          f"{SERVERS_DIR}/at-max.yaml: spec.replicas; toolhive:servers.mcpServers[0].spec.replicas; "
                          f"{SERVERS_DIR}/fetch.yaml: spec.replicas)")


def test_nothing_else_is_refused(preview):
    assert len(problems(preview)) == 8  # the seven above and the quota


def test_the_tenants_min_and_ratio_reach_its_limit_range_and_hold_every_container(preview):
    limits = {"min": {"cpu": "100m"}, "maxLimitRequestRatio": {"cpu": "4"},
              "defaultRequest": {"cpu": "100m", "memory": "64Mi"}, "default": {"cpu": "400m", "memory": "512Mi"}}
    rendered = render_config({"namespaces": [{"name": "mcp-dev", "limits": limits}], "servers": {"mcpServers": [
        {"name": "fetch", "namespace": "mcp-dev", "spec": {"image": IMAGE, "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "401m", "memory": "512Mi"}}}}]}},
        preview=preview, allow_problems=True)
    [item] = rendered.object("LimitRange", "mcp-limits", "mcp-dev")["spec"]["limits"]
    assert item["min"] == {"cpu": "100m"} and item["maxLimitRequestRatio"] == {"cpu": "4"}
    assert sorted(str(found).rsplit(": ", 1)[1] + " @ " + str(found).split(": ")[0] for found in rendered.problems) == [
        "cpu max limit to request ratio per Container is 4, but provided ratio is 4.010000 @ "
        "toolhive:servers.mcpServers[0].spec.resources.limits.cpu",
        "minimum cpu usage per Container is 100m, but request is 50m @ "
        "toolhive:servers.mcpServers[0].spec.proxyResources.requests.cpu"]


def test_the_registry_in_a_tenant_namespace_is_held_to_its_fences(preview):
    registry = {"namespace": "mcp-dev", "sources": [{"name": "platform", "file": {"data": "registry/data/registry.json"}}],
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "3", "memory": "512Mi"}},
                "database": {"inCluster": {"storage": "0"}}}
    rendered = render_config({"namespaces": [{"name": "mcp-dev"}], "registry": registry}, preview=preview,
                             allow_problems=True)
    assert sorted(str(found).split(": ")[0] for found in rendered.problems) == [
        "toolhive:registry.database.inCluster.storage", "toolhive:registry.resources.limits.cpu"]
