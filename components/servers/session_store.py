"""A Redis-compatible session store the stack runs itself (dev): Valkey with its data on a PVC.

Creates a generated password (pulumi_random, a Pulumi secret), the Secret `valkey-auth` (key `password`)
in the store's namespace and in every tenant namespace (a server's `sessionStorage.passwordRef` and the
operator's `defaultRedis.existingSecret` name a Secret of the workload's own namespace), the Service
`valkey`, the StatefulSet `valkey` (Pod Security `restricted`: non-root, read-only root filesystem, no
privilege escalation, all capabilities dropped, seccomp RuntimeDefault; append-only file on its
volumeClaimTemplate) and its NetworkPolicy: ingress from the tenant namespaces on 6379, no egress. The
tenants' egress to it comes from `toolhive:operator.defaultRedis.addr` (allow-session-store-egress) and
from each server's own `sessionStorage.address` (its `<name>-proxy` policy). Staging and prod use a
managed endpoint instead.
"""
from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.config.servers import SessionStoreConfig
from components.k8s import netpol
from components.k8s.labels import selector_labels, standard_labels
from components.k8s.naming import resource_name
from components.k8s.security import container_security_context, pod_security_context

NAME = "valkey"
SECRET = "valkey-auth"
SECRET_KEY = "password"
PORT = 6379
UID = 999  # the valkey user of the official image
DATA_DIR = "/data"


def address(namespace: str) -> str:
    return f"{NAME}.{namespace}.svc.cluster.local:{PORT}"


def statefulset_spec(config: SessionStoreConfig, image: str) -> dict:
    password_env = {"name": "VALKEY_PASSWORD", "valueFrom": {"secretKeyRef": {"name": SECRET, "key": SECRET_KEY}}}
    ping = ["sh", "-c", 'valkey-cli -a "$VALKEY_PASSWORD" --no-auth-warning ping | grep -q PONG']
    container = {
        "name": NAME,
        "image": image,
        # The image's entrypoint would chown as root; run the server directly as its own user.
        "command": ["valkey-server", "--port", str(PORT), "--requirepass", "$(VALKEY_PASSWORD)",
                    "--appendonly", "yes", "--dir", DATA_DIR, "--protected-mode", "no"],
        "env": [password_env],
        "ports": [{"name": "redis", "containerPort": PORT, "protocol": "TCP"}],
        "resources": config.resources.as_spec(),
        "securityContext": {**container_security_context(UID), "runAsGroup": UID},
        "readinessProbe": {"exec": {"command": ping}, "periodSeconds": 10, "timeoutSeconds": 3},
        "livenessProbe": {"tcpSocket": {"port": "redis"}, "initialDelaySeconds": 10, "periodSeconds": 20},
        "volumeMounts": [{"name": "data", "mountPath": DATA_DIR}, {"name": "tmp", "mountPath": "/tmp"}],
    }
    claim: dict = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": config.size}}}
    if config.storage_class:
        claim["storageClassName"] = config.storage_class
    return {
        "serviceName": NAME,
        "replicas": 1,
        "selector": {"matchLabels": selector_labels(NAME)},
        "template": {
            "metadata": {"labels": selector_labels(NAME)},
            "spec": {
                "securityContext": {**pod_security_context(), "fsGroup": UID},
                "automountServiceAccountToken": False,
                "containers": [container],
                "volumes": [{"name": "tmp", "emptyDir": {}}],
            },
        },
        "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": claim}],
    }


class SessionStore(pulumi.ComponentResource):
    def __init__(self, name: str, config: SessionStoreConfig, *, namespace: str, namespace_resource: pulumi.Resource,
                 tenants: dict[str, pulumi.Resource], image: str,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("toolhive:servers:SessionStore", name, None, opts)
        labels = standard_labels(NAME, "session-store")
        inside = pulumi.ResourceOptions(parent=self, depends_on=[namespace_resource])

        self.password = random.RandomPassword(f"{name}-password", length=32, special=False,
                                              opts=pulumi.ResourceOptions(parent=self))
        password = pulumi.Output.secret(self.password.result)
        self.secret = self._secret(namespace, labels, password, inside)
        self.secret_namespace = namespace
        # The same password beside the workloads that use it (secretKeyRef reads only the pod's namespace).
        self.tenant_secrets = {
            tenant: self._secret(tenant, labels, password, pulumi.ResourceOptions(parent=self, depends_on=[resource]))
            for tenant, resource in tenants.items() if tenant != namespace
        }

        self.network_policy = k8s.networking.v1.NetworkPolicy(
            resource_name(namespace, "networkpolicy", NAME),
            metadata={"name": NAME, "namespace": namespace, "labels": labels},
            # (No tenants: no rule at all; a rule without peers would admit everyone.)
            spec=netpol.spec(selector_labels(NAME), ingress_rules=[
                netpol.ingress([netpol.namespace_peer(tenant) for tenant in sorted(tenants)], netpol.ports([PORT]))
            ] if tenants else [], egress_rules=[]),
            opts=inside,
        )
        self.service = k8s.core.v1.Service(
            resource_name(namespace, "service", NAME),
            metadata={"name": NAME, "namespace": namespace, "labels": labels},
            spec={"selector": selector_labels(NAME),
                  "ports": [{"name": "redis", "port": PORT, "targetPort": "redis", "protocol": "TCP"}]},
            opts=inside,
        )
        self.statefulset = k8s.apps.v1.StatefulSet(
            resource_name(namespace, "statefulset", NAME),
            metadata={"name": NAME, "namespace": namespace, "labels": labels},
            spec=statefulset_spec(config, image),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace_resource, self.secret, self.service,
                                                                 self.network_policy]),
        )
        self.address = address(namespace)
        self.register_outputs({"address": self.address, "passwordSecret": SECRET})

    @staticmethod
    def _secret(namespace: str, labels: dict, password: pulumi.Output, opts: pulumi.ResourceOptions) -> k8s.core.v1.Secret:
        return k8s.core.v1.Secret(
            resource_name(namespace, "secret", SECRET),
            metadata={"name": SECRET, "namespace": namespace, "labels": labels},
            type="Opaque",
            string_data={SECRET_KEY: password},
            opts=opts,
        )
