"""Every Kubernetes name or key derived from user input obeys the API server's rule for the field it lands in.

One helper per rule (components/k8s/validation.py) serves the config models and the dry run: each rule
is stated here with the value just outside it (refused) and the value at its boundary (accepted), then
the dry run is shown to apply it to rendered objects. Server and registry configs: tests/servers/
test_object_names.py and tests/registry/test_registry_names.py.
"""
from __future__ import annotations

import pytest

from components.k8s import validation
from tools.validate import apiserver

REFUSED = [
    (validation.secret_key, "a b"), (validation.secret_key, "a/b"), (validation.secret_key, ""),
    (validation.secret_key, "."), (validation.secret_key, ".."), (validation.secret_key, "..hidden"),
    (validation.secret_key, "k" * 254),
    (validation.volume_name, "a" * 64), (validation.volume_name, "data.x"), (validation.volume_name, "Data"),
    (validation.storage_class_name, "Fast_SSD"), (validation.storage_class_name, "a" * 254),
    (validation.ingress_class_name, "Nginx"),
    (validation.ingress_host, "10.0.0.1"), (validation.ingress_host, "2001:db8::1"), (validation.ingress_host, "010.0.0.1"),
    (validation.ingress_host, "Registry.example.com"), (validation.ingress_host, "a.*.example.com"),
    (validation.ingress_host, "example.com:443"),
    (validation.service_name, "1registry"), (validation.service_name, "a.b"), (validation.service_name, "s" * 64),
    (validation.service_account_name, "Admin"),
    (validation.statefulset_name, "s" * 53), (validation.statefulset_name, "Pg"),
]
ACCEPTED = [
    (validation.secret_key, "redis-password"), (validation.secret_key, ".pgpass"), (validation.secret_key, "tls.crt"),
    (validation.secret_key, "A_B-c.d"), (validation.secret_key, "k" * 253),
    (validation.volume_name, "a" * 63), (validation.storage_class_name, "gp3.csi"),
    (validation.storage_class_name, "a" * 253), (validation.ingress_class_name, "nginx.internal"),
    (validation.ingress_host, "registry.example.com"), (validation.ingress_host, "*.example.com"),
    (validation.ingress_host, "localhost"),
    (validation.service_name, "registry-1"), (validation.service_name, "s" * 63),
    (validation.service_account_name, "a.b"), (validation.statefulset_name, "s" * 52),
]


@pytest.mark.parametrize("rule, value", REFUSED, ids=[f"{r.__name__}={v[:20]!r}" for r, v in REFUSED])
def test_a_value_outside_the_api_servers_rule_is_refused(rule, value):
    assert rule(value)


@pytest.mark.parametrize("rule, value", ACCEPTED, ids=[f"{r.__name__}={v[:20]!r}" for r, v in ACCEPTED])
def test_a_value_at_the_boundary_of_the_api_servers_rule_is_accepted(rule, value):
    assert rule(value) == []


def test_a_statefulset_name_leaves_room_for_the_revision_hash_label():
    # controller-revision-hash=<name>-<hash of up to 10 characters> is a label value of at most 63.
    assert validation.STATEFULSET_NAME_MAX + 1 + validation.REVISION_HASH_MAX == validation.LABEL_VALUE_MAX


# --- the dry run applies the same rules to rendered objects ------------------------------------------

def messages(obj: dict) -> list[str]:
    return [f"{p.path}: {p.message}" for p in apiserver.check([obj])]


def statefulset(name: str = "pg", *, volume: str = "data", key: str = "password", storage_class: str = "gp3") -> dict:
    labels = {"app": "pg"}
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name, "namespace": "n"},
            "spec": {"serviceName": "pg", "selector": {"matchLabels": labels},
                     "volumeClaimTemplates": [{"metadata": {"name": "claim"},
                                               "spec": {"storageClassName": storage_class}}],
                     "template": {"metadata": {"labels": labels}, "spec": {
                         "volumes": [{"name": volume, "secret": {"secretName": "s", "items": [{"key": key, "path": "p"}]}}],
                         "containers": [{"name": "pg", "image": "postgres:17", "env": [
                             {"name": "P", "valueFrom": {"secretKeyRef": {"name": "s", "key": key}}}]}]}}}}


def test_the_dry_run_accepts_names_and_keys_at_the_boundary():
    assert messages(statefulset("s" * 52, volume="v" * 63, key="k" * 253, storage_class="gp3.csi")) == []


def test_the_dry_run_refuses_a_statefulset_name_without_room_for_the_revision_hash():
    assert messages(statefulset("s" * 53)) == [
        f"$.metadata.name: {'s' * 53!r} must be at most 52 characters: its pods are labelled controller-revision-hash="
        "<name>-<hash of up to 10>, a label value of at most 63"]


def test_the_dry_run_refuses_bad_volume_names_secret_keys_and_storage_classes():
    found = messages(statefulset(volume="secret.volume", key="pass word", storage_class="Fast_SSD"))
    assert [line.split(":")[0] for line in found] == [
        "$.spec.volumeClaimTemplates[0].spec.storageClassName",
        "$.spec.template.spec.volumes[0].name",
        "$.spec.template.spec.volumes[0].secret.items[0].key",
        "$.spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef.key",
    ]


def test_the_dry_run_refuses_a_service_name_that_is_no_dns_1035_label():
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "1registry", "namespace": "n"},
               "spec": {"ports": [{"port": 80}]}}
    assert messages(service) == ["$.metadata.name: '1registry' must be a DNS-1035 label: lowercase letters, digits and "
                                 "'-', starting with a letter and ending with a letter or digit, at most 63 characters"]


def test_the_dry_run_refuses_a_bad_service_account_name():
    account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "Admin", "namespace": "n"}}
    assert len(messages(account)) == 1 and messages(account)[0].startswith("$.metadata.name: 'Admin' must be a DNS subdomain")


def test_the_dry_run_refuses_an_ingress_host_that_is_an_ip_and_a_bad_class():
    ingress = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "r", "namespace": "n"},
               "spec": {"ingressClassName": "Nginx", "rules": [{"host": "10.0.0.1"}, {"host": "*.example.com"}]}}
    assert [line.split(":")[0] for line in messages(ingress)] == ["$.spec.ingressClassName", "$.spec.rules[0].host"]
    assert "must be a DNS name, not an IP address" in messages(ingress)[1]


def test_the_dry_run_refuses_a_bad_storage_class_on_a_claim():
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c", "namespace": "n"},
             "spec": {"storageClassName": "Fast_SSD", "accessModes": ["ReadWriteOnce"]}}
    assert [line.split(":")[0] for line in messages(claim)] == ["$.spec.storageClassName"]
