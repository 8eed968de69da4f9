"""The registry server's PostgreSQL: one in the cluster (dev), or an external endpoint (staging, prod).

Either way the server gets its passwords the same way: a pgpass Secret (`hostname:port:database:user:
password`, one line per user, `:` and `\\` escaped as libpq wants), copied by an init container into an
emptyDir with mode 0600 and owned by the server's UID, with PGPASSFILE pointing at it.
"""
from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.config.registry import InClusterDatabase
from components.k8s import naming
from components.k8s.labels import selector_labels, standard_labels
from components.k8s.security import container_security_context, pod_security_context

POSTGRES_UID = 70  # the postgres user of the alpine postgres images
DATA_DIR = "/var/lib/postgresql/data"
# toolhive_registry_server is the role the server's user must hold (upstream docs/database.md, "Setup Guide").
INIT_SQL = """DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'toolhive_registry_server') THEN
    CREATE ROLE toolhive_registry_server;
  END IF;
END
$$;
GRANT toolhive_registry_server TO CURRENT_USER;
"""


def pgpass_escape(field: str) -> str:
    """libpq: a `:` or `\\` inside a field is written with a backslash before it."""
    return str(field).replace("\\", "\\\\").replace(":", "\\:")


def pgpass_line(host: str, port: int, database: str, user: str, password: str) -> str:
    return ":".join(pgpass_escape(part) for part in (host, str(port), database, user, password))


def pgpass_file(host: str, port: int, database: str, passwords: dict[str, str]) -> str:
    """The whole file: one line per user, in a stable order."""
    return "".join(pgpass_line(host, port, database, user, passwords[user]) + "\n" for user in sorted(passwords))


def pgpass_secret_name(registry: str) -> str:
    return f"{registry}-pgpass"


def pgpass_output(host: str, port: int, database: str, passwords: dict[str, pulumi.Output]) -> pulumi.Output:
    """The pgpass text as a secret Output (never a plain string)."""
    users = sorted(passwords)
    return pulumi.Output.secret(pulumi.Output.all(*[passwords[user] for user in users]).apply(
        lambda values: pgpass_file(host, port, database, dict(zip(users, values)))))


class InClusterPostgres(pulumi.ComponentResource):
    """A single PostgreSQL StatefulSet with a PVC, its Service and a generated password (dev clusters)."""

    def __init__(self, name: str, config: InClusterDatabase, *, service_name: str, namespace: str, database: str,
                 user: str, image: str, opts: pulumi.ResourceOptions | None = None):
        super().__init__("toolhive:registry:Postgres", name, None, opts)
        labels = standard_labels(service_name, "database")
        selector = selector_labels(service_name)
        child = pulumi.ResourceOptions(parent=self)

        # Generated once, kept (encrypted) in state: nobody types or sees it.
        self.password = random.RandomPassword(f"{name}-password", length=32, special=True,
                                              override_special="-_:.", opts=child).result
        self.credentials = k8s.core.v1.Secret(
            naming.resource_name(namespace, "secret", f"{service_name}-credentials"),
            metadata={"name": f"{service_name}-credentials", "namespace": namespace, "labels": labels},
            type="Opaque",
            string_data={"password": pulumi.Output.secret(self.password)},
            opts=child,
        )
        self.init_scripts = k8s.core.v1.ConfigMap(
            naming.resource_name(namespace, "configmap", f"{service_name}-init"),
            metadata={"name": f"{service_name}-init", "namespace": namespace, "labels": labels},
            data={"10-registry-role.sql": INIT_SQL},
            opts=child,
        )
        self.service = k8s.core.v1.Service(
            naming.resource_name(namespace, "service", service_name),
            metadata={"name": service_name, "namespace": namespace, "labels": labels},
            spec={"type": "ClusterIP", "selector": selector,
                  "ports": [{"name": "postgres", "port": 5432, "targetPort": "postgres", "protocol": "TCP"}]},
            opts=child,
        )
        self.stateful_set = k8s.apps.v1.StatefulSet(
            naming.resource_name(namespace, "statefulset", service_name),
            metadata={"name": service_name, "namespace": namespace, "labels": labels},
            spec=self._spec(config, service_name, labels, selector, database, user, image),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.credentials, self.init_scripts, self.service]),
        )
        self.service_name = service_name
        self.register_outputs({"service": service_name})

    @staticmethod
    def _spec(config: InClusterDatabase, service_name: str, labels: dict, selector: dict, database: str, user: str,
              image: str) -> dict:
        ready = {"exec": {"command": ["pg_isready", "-h", "127.0.0.1", "-U", user, "-d", database]}}
        claim = {"metadata": {"name": "data", "labels": labels},
                 "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": config.storage}}}}
        if config.storage_class_name:
            claim["spec"]["storageClassName"] = config.storage_class_name
        return {
            "serviceName": service_name,
            "replicas": 1,
            "selector": {"matchLabels": selector},
            "volumeClaimTemplates": [claim],
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": {**pod_security_context(), "runAsUser": POSTGRES_UID,
                                        "runAsGroup": POSTGRES_UID, "fsGroup": POSTGRES_UID},
                    "containers": [{
                        "name": "postgres",
                        "image": image,
                        "ports": [{"name": "postgres", "containerPort": 5432, "protocol": "TCP"}],
                        "env": [
                            {"name": "POSTGRES_USER", "value": user},
                            {"name": "POSTGRES_DB", "value": database},
                            {"name": "POSTGRES_PASSWORD_FILE", "value": "/credentials/password"},
                            # A subdirectory, so initdb creates it with the owner and mode PostgreSQL demands.
                            {"name": "PGDATA", "value": f"{DATA_DIR}/pgdata"},
                        ],
                        "volumeMounts": [
                            {"name": "data", "mountPath": DATA_DIR},
                            {"name": "credentials", "mountPath": "/credentials", "readOnly": True},
                            {"name": "init", "mountPath": "/docker-entrypoint-initdb.d", "readOnly": True},
                            {"name": "run", "mountPath": "/var/run/postgresql"},
                            {"name": "tmp", "mountPath": "/tmp"},
                        ],
                        "readinessProbe": {**ready, "initialDelaySeconds": 5, "periodSeconds": 10},
                        "livenessProbe": {**ready, "initialDelaySeconds": 30, "periodSeconds": 20, "failureThreshold": 6},
                        "resources": config.resources.model_dump(exclude_none=True),
                        "securityContext": container_security_context(POSTGRES_UID),
                    }],
                    "volumes": [
                        {"name": "credentials", "secret": {"secretName": f"{service_name}-credentials",
                                                           "defaultMode": 0o440}},
                        {"name": "init", "configMap": {"name": f"{service_name}-init"}},
                        {"name": "run", "emptyDir": {}},
                        {"name": "tmp", "emptyDir": {}},
                    ],
                },
            },
        }
