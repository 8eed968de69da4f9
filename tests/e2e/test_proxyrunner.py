"""The proxy runner out of cluster (tools/e2e/proxyrunner.py) and the checks on what it makes."""
from __future__ import annotations

import base64

from tools.e2e import checks, proxyrunner
from tools.e2e.checks import Live
from tools.e2e.proxyrunner import Started

SECURE = {"runAsNonRoot": True, "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True}


def server(name, transport, ns="mcp"):
    return {"kind": "MCPServer", "metadata": {"name": name, "namespace": ns},
            "spec": {"transport": transport, "podTemplateSpec": {"spec": {"containers": [
                {"name": "mcp", "securityContext": SECURE, "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}]}]}}}}


def statefulset(name, mcp, ns="mcp"):
    return {"kind": "StatefulSet", "metadata": {"name": name, "namespace": ns},
            "spec": {"template": {"spec": {"containers": [{"name": "mcp", **mcp}]}}}}


def pod_of(name, ns="mcp"):
    return {"kind": "Pod", "metadata": {"name": f"{name}-0", "namespace": ns,
                                        "ownerReferences": [{"kind": "StatefulSet", "name": name}]}}


def test_one_server_per_transport_first_by_namespace_and_name():
    servers = [server("b", "stdio"), server("a", "stdio"), server("c", "streamable-http"), server("d", "sse")]
    assert [s["metadata"]["name"] for s in proxyrunner.one_per_transport(servers)] == ["a", "c", "d"]


def test_the_runner_gets_its_env_as_the_kubelet_would_secret_refs_included():
    container = {"env": [{"name": "MODE", "value": "x"},
                         {"name": "THV_SESSION_REDIS_PASSWORD",
                          "valueFrom": {"secretKeyRef": {"name": "redis", "key": "password"}}}]}
    secrets = {("mcp", "redis"): {"data": {"password": base64.b64encode(b"s3cret").decode()}}}
    assert proxyrunner.runner_env(container, secrets, "mcp") == {"MODE": "x", "THV_SESSION_REDIS_PASSWORD": "s3cret"}


def test_a_backend_made_with_the_merged_template_and_an_admitted_pod_passes():
    live = Live([server("fetch", "stdio"), statefulset("fetch", {"securityContext": SECURE,
                                                                 "volumeMounts": [{"name": "tmp"}]}), pod_of("fetch")])
    found = checks.backends_made([Started("mcp", "fetch", "stdio", {})], live, {})
    assert [check.ok for check in found] == [True, True, True]


def test_a_backend_that_lost_the_security_context_or_was_refused_fails():
    lost = Live([server("fetch", "stdio"), statefulset("fetch", {"securityContext": {"runAsNonRoot": True}}),
                 pod_of("fetch")])
    made, merged, admitted = checks.backends_made([Started("mcp", "fetch", "stdio", {})], lost, {})
    assert made.ok and not merged.ok and admitted.ok
    assert any("allowPrivilegeEscalation" in line for line in merged.detail)
    assert any("volumeMount tmp" in line for line in merged.detail)
    refused = Live([server("fetch", "stdio"), statefulset("fetch", {"securityContext": SECURE,
                                                                    "volumeMounts": [{"name": "tmp"}]})])
    *_, admitted = checks.backends_made([Started("mcp", "fetch", "stdio", {})], refused,
                                        {("mcp", "fetch"): ['pods "fetch-0" is forbidden: violates PodSecurity']})
    assert not admitted.ok and "violates PodSecurity" in admitted.detail["refused"][0]


def test_no_statefulset_fails_with_the_runners_error():
    made, *_ = checks.backends_made([Started("mcp", "fetch", "stdio", None, "runner exited")],
                                    Live([server("fetch", "stdio")]), {})
    assert not made.ok and made.detail["missing"] == ["mcp/fetch (stdio): runner exited"]
