"""Placement: a server's PersistentVolumeClaim and GPU placement reach the backend through podTemplateSpec,
valid against the MCPServer CRD and Pod Security restricted."""
from __future__ import annotations

import pytest

from policies.pod_security import check_object
from tests.servers.conftest import NS, config_error, render_servers, server, spec_of
from tools.schema_check import validate_object

GPU = {"count": 2, "products": ["NVIDIA-A100-SXM4-80GB", "NVIDIA-H100-80GB-HBM3"]}


@pytest.fixture
def rendered(preview):
    return render_servers(preview, servers=[
        server("notes", transport="streamable-http", mcpPort=8080,
               storage={"size": "5Gi", "storageClass": "gp3", "mountPath": "/var/lib/notes"}),
        server("shared", transport="streamable-http", mcpPort=8080, backendReplicas=2,
               storage={"size": "1Gi", "accessMode": "ReadWriteMany"}),
        server("vision", size="large", gpu=GPU),
    ])


def test_the_claim_is_a_real_object_with_a_stable_name_retained_on_delete(rendered):
    claim = rendered.resource("PersistentVolumeClaim", "notes-data", NS)
    assert claim.inputs["spec"] == {"accessModes": ["ReadWriteOnce"], "storageClassName": "gp3",
                                    "resources": {"requests": {"storage": "5Gi"}}}
    assert claim.retain_on_delete
    shared = rendered.object("PersistentVolumeClaim", "shared-data", NS)["spec"]
    assert shared["accessModes"] == ["ReadWriteMany"] and "storageClassName" not in shared
    assert claim.urn in rendered.resource("MCPServer", "notes", NS).dependencies


def test_the_claim_is_named_and_parented_like_the_servers_other_objects_and_waits_for_the_tenants_quota(rendered):
    """A new Pulumi name or parent would replace the claim (and a retained claim would be left behind); the quota
    counts the claim's storage, so it must exist first."""
    claim = rendered.resource("PersistentVolumeClaim", "notes-data", NS)
    component = "urn:pulumi:dev::toolhive::toolhive:servers:Servers$toolhive:servers:McpServer"
    assert claim.urn == f"{component}$kubernetes:core/v1:PersistentVolumeClaim::mcp-dev-pvc-notes-data"
    assert claim.parent == f"{component}::mcp-dev-mcpserver-notes"
    assert claim.dependencies == ["urn:pulumi:dev::toolhive::toolhive:platform:Platform$toolhive:platform:TenantNamespace"
                                  "$kubernetes:core/v1:ResourceQuota::mcp-dev-resourcequota-mcp-quota"]


def test_storage_and_gpu_placement_start_the_lists_and_limits_a_bare_pod_lacks():
    from components.config.servers import Gpu, Storage
    from components.servers.placement import mount_storage, place_on_gpu

    pod, container = {}, {"name": "mcp", "resources": {"requests": {"cpu": "1"}}}
    mount_storage(pod, container, "notes", Storage(size="1Gi", mountPath="/data"))
    assert pod == {"volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "notes-data"}}]}
    assert container["volumeMounts"] == [{"name": "data", "mountPath": "/data"}]
    place_on_gpu(pod, container, Gpu(count=1, products=["NVIDIA-L4"]))
    assert container["resources"] == {"requests": {"cpu": "1"}, "limits": {"nvidia.com/gpu": "1"}}


def test_the_claim_is_mounted_into_the_mcp_container_beside_tmp(rendered):
    pod = spec_of(rendered, "MCPServer", "notes")["podTemplateSpec"]["spec"]
    assert pod["volumes"] == [{"name": "tmp", "emptyDir": {}},
                              {"name": "data", "persistentVolumeClaim": {"claimName": "notes-data"}}]
    assert pod["containers"][0]["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"},
                                                    {"name": "data", "mountPath": "/var/lib/notes"}]
    assert "affinity" not in pod and "tolerations" not in pod


def test_a_gpu_server_gets_the_limit_the_product_affinity_and_the_taint_toleration(rendered):
    pod = spec_of(rendered, "MCPServer", "vision")["podTemplateSpec"]["spec"]
    assert pod["containers"][0]["resources"] == {"requests": {"cpu": "1", "memory": "2Gi"},
                                                 "limits": {"cpu": "2", "memory": "4Gi", "nvidia.com/gpu": "2"}}
    assert pod["affinity"] == {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "nvidia.com/gpu.product", "operator": "In", "values": GPU["products"]}]}]}}}
    assert pod["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert not rendered.objects("PersistentVolumeClaim") or all(
        c["metadata"]["name"] != "vision-data" for c in rendered.objects("PersistentVolumeClaim"))


def test_placed_servers_validate_against_the_crd_and_pss_restricted(rendered):
    for name in ("notes", "shared", "vision"):
        obj = rendered.object("MCPServer", name, NS)
        assert validate_object(obj) == [], name
        assert check_object(obj, "restricted") == [], name
        # The CRD keeps podTemplateSpec open (preserve-unknown-fields): check it as the PodTemplateSpec it becomes.
        as_template = {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": name, "namespace": NS},
                       "template": obj["spec"]["podTemplateSpec"]}
        assert validate_object(as_template) == [], name
    for claim in rendered.objects("PersistentVolumeClaim"):
        assert validate_object(claim) == []


@pytest.mark.parametrize("spec, key, message", [
    ({"transport": "streamable-http", "mcpPort": 8080, "backendReplicas": 3, "storage": {"size": "1Gi"}},
     "storage.accessMode", "ReadWriteOnce cannot be mounted by several backend replicas"),
    ({"transport": "streamable-http", "mcpPort": 8080, "autoscaling": {"backend": {"maxReplicas": 3}},
      "storage": {"size": "1Gi", "accessMode": "ReadWriteOncePod"}},
     "storage.accessMode", "ReadWriteOncePod cannot be mounted by several backend replicas"),
    ({"storage": {"size": "1Gi", "mountPath": "/tmp"}}, "storage.mountPath", "'/tmp' is not allowed"),
    ({"storage": {"size": "lots"}}, "storage.size", ""),
    ({"gpu": {"products": []}}, "gpu.products", ""),
    ({"gpu": {"count": 0, "products": ["NVIDIA-A100"]}}, "gpu.count", ""),
    ({"transport": "sse"}, "mcpPort", "is required for transport sse"),
])
def test_placement_mistakes_are_refused_naming_the_key(spec, key, message):
    problems, registered = config_error(servers=[server("web", **spec)])
    prefix = f"toolhive:servers.mcpServers[0].spec.{key}: "
    assert any(p.startswith(prefix) and message in p for p in problems), problems
    assert registered == []
