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
    ("2048.5", "2048.5"), ("1.25", "1.25"), ("0.1234", "0.1234"), ("1E+3", "1000"), ("2.50", "2.5"),
])
def test_a_total_prints_as_a_short_quantity(value, text):
    assert admission._quantity_text(Decimal(value)) == text


@pytest.mark.parametrize(("observed", "enforced", "order"), [
    ("1", "1000m", 0), ("1001m", "1", 1), ("999m", "1", -1), ("0.0001", "1m", 0),  # milli-units, rounded up
    ("0.0011", "2m", 0), ("x", "1", 0), ("1", None, 0),  # not a quantity: the schema check reports it
    ("9E", "10E", -1), ("10E", "9E", 1), ("9223372036854775807m", "9223372036854775807m", 0),
    ("9300000000000000.1", "9300000000000000.2", 0),  # above the milli range: whole units, rounded up
    ("9300000000000000.1", "9300000000000001.2", -1),
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
    ({"apiVersion": "v1", "kind": "ConfigMap"}, {"count/configmaps": 1, "configmaps": 1}),
    ({"apiVersion": "v1", "kind": "ResourceQuota"}, {"count/resourcequotas": 1, "resourcequotas": 1}),
    ({"apiVersion": "v1", "kind": "ReplicationController"}, {"count/replicationcontrollers": 1, "replicationcontrollers": 1}),
    ({"apiVersion": "v1", "kind": "PersistentVolumeClaim"}, {}),  # counted as a claim, with its storage
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
