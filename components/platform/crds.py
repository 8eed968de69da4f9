"""The ToolHive CRDs of the bundled release, installed so nothing can delete them by accident.

Deleting a CRD deletes every object of its kind: every MCP server in the cluster. So each CRD is
retained on delete (a destroy or a refactor only forgets it) and, by default, protected in state.
"""
from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components import bundle
from components.k8s.labels import standard_labels
from components.k8s.naming import resource_name
from components.servers import operator_objects

GROUP = "toolhive.stacklok.dev"


class ToolHiveCrds(pulumi.ComponentResource):
    """One CustomResourceDefinition resource per ToolHive CRD; custom resources depend on them."""

    def __init__(self, name: str, release: str, *, protect: bool = True, opts: pulumi.ResourceOptions | None = None):
        super().__init__("toolhive:platform:Crds", name, None, opts)
        self.release = release
        self.definitions: dict[str, k8s.apiextensions.v1.CustomResourceDefinition] = {}
        self.storage_versions: dict[str, str] = {}
        self.plurals: dict[str, str] = {}

        documents = bundle.crd_documents(release)
        for doc in documents:
            spec = doc["spec"]
            kind = spec["names"]["kind"]
            metadata = dict(doc["metadata"])
            metadata["labels"] = {**metadata.get("labels", {}), **standard_labels("toolhive-crds", "crds", version=release)}
            self.definitions[kind] = k8s.apiextensions.v1.CustomResourceDefinition(
                resource_name("crd", metadata["name"]),
                metadata=metadata,
                spec=spec,
                opts=pulumi.ResourceOptions(parent=self, protect=protect, retain_on_delete=True),
            )
            self.storage_versions[kind] = next(v["name"] for v in spec["versions"] if v.get("storage"))
            self.plurals[kind] = spec["names"]["plural"]

        self.names = [doc["metadata"]["name"] for doc in documents]
        self.register_outputs({"release": release, "names": self.names})

    def api_version(self, kind: str) -> str:
        """The stored (preferred) apiVersion of a ToolHive kind, e.g. toolhive.stacklok.dev/v1beta1."""
        return f"{GROUP}/{self.storage_versions[kind]}"

    def custom_resource(self, kind: str, name: str, namespace: str, spec: dict, *, labels: dict, parent: pulumi.Resource,
                        depends_on: list[pulumi.Resource] | None = None,
                        annotations: dict[str, str] | None = None) -> k8s.apiextensions.CustomResource:
        """A ToolHive custom resource that always waits for its CRD (the only way this program makes one)."""
        metadata = {"name": name, "namespace": namespace, "labels": labels}
        annotations = {**(annotations or {}), **operator_objects.deletion_annotations(kind)}
        if annotations:
            metadata["annotations"] = annotations
        return k8s.apiextensions.CustomResource(
            resource_name(namespace, kind.lower(), name),
            api_version=self.api_version(kind),
            kind=kind,
            metadata=metadata,
            spec=spec,
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[self.definitions[kind], *(depends_on or [])]),
        )
