"""The Helm migration path, for real: the upstream charts' objects on a fresh cluster, then `pulumi up` adopting them.

What the two charts (ToolHive v0.44.0) leave on a cluster is what `components/platform/helm_adoption.py` knows:
`chart_objects` (kinds and names) and the chart facts (the release, the operator Deployment's selector). Each is
created here by server-side apply with the `helm` field manager, as `helm install` does, with Helm's release
labels and annotations; its body is the offline render's object of that kind and name (the program describes
the same objects), and the Deployment carries the chart's selector and pod labels. The README's procedure is then
followed: the chart's operator Deployment, whose immutable selector differs (`not_adoptable`), is deleted, and
`pulumi up` runs with `toolhive:cluster.adoptExisting: true`. It must succeed without a conflict and without
replacing anything, and afterwards pulumi's field manager owns the fields it sets.
"""
from __future__ import annotations

import copy
from pathlib import Path

import yaml

from components.bundle import LOADER
from tools.e2e.controlplane import Kube

HELM_MANAGER = "helm"
KUBECTL_MANAGER = "kubectl-create"


def helm_objects(config, render_dir: Path) -> list[dict]:
    """The charts' objects as Helm would have created them (every chart object, the unadoptable ones too)."""
    from components.platform.helm_adoption import chart_facts, chart_objects

    rendered = {}
    for name in ("manifests.yaml", "crds.yaml"):
        for doc in yaml.load_all((render_dir / name).read_text(), Loader=LOADER):  # libyaml: the CRDs are 1 MB
            if isinstance(doc, dict) and doc.get("kind"):
                meta = doc.get("metadata", {})
                rendered[(doc["kind"], meta.get("namespace"), meta["name"])] = doc
    facts = chart_facts(config.images.release)["operatorChart"]
    objects = []
    for chart_object in chart_objects(config):
        found = rendered.get((chart_object.kind, chart_object.namespace, chart_object.name))
        if found is None:
            raise KeyError(f"{chart_object.kind} {chart_object.namespace or ''}/{chart_object.name}: the render has no "
                           "object of the chart's kind and name")
        obj = copy.deepcopy(found)
        obj["metadata"] = {key: value for key, value in obj["metadata"].items() if key in ("name", "namespace", "labels",
                                                                                           "annotations")}
        if chart_object.kind != "Namespace":  # `--create-namespace` makes a bare namespace outside the release
            obj["metadata"].setdefault("labels", {})["app.kubernetes.io/managed-by"] = "Helm"
            obj["metadata"].setdefault("annotations", {}).update({
                "meta.helm.sh/release-name": facts["releaseName"],
                "meta.helm.sh/release-namespace": config.operator.namespace})
        if chart_object.kind == "Deployment":
            selector = dict(facts["deploymentSelector"])
            obj["spec"]["selector"] = {"matchLabels": selector}
            obj["spec"]["template"]["metadata"]["labels"] = {**obj["spec"]["template"]["metadata"].get("labels", {}),
                                                             **selector}
        objects.append(obj)
    return objects


def namespaces_helm_needs(objects: list[dict]) -> list[dict]:
    """The namespaces the charts' objects live in but neither chart makes: with a namespace-scoped operator its
    RoleBindings go into the allowed namespaces, which `helm install` needs to exist already. They are made bare,
    as `kubectl create namespace` makes them, before the charts' objects."""
    made = {obj["metadata"]["name"] for obj in objects if obj["kind"] == "Namespace"}
    needed = sorted({obj["metadata"]["namespace"] for obj in objects if obj["metadata"].get("namespace")} - made)
    return [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}} for name in needed]


def create_as_kubectl(kube: Kube, obj: dict, resources: list[dict]) -> tuple[int, object]:
    """A plain create with kubectl's field manager (`kubectl create`)."""
    path = object_path(obj, resources).rsplit("/", 1)[0]
    return kube.request("POST", path, body=yaml.safe_dump(obj).encode(), content_type="application/yaml",
                        query={"fieldManager": KUBECTL_MANAGER})


def apply_as_helm(kube: Kube, obj: dict, resources: list[dict]) -> tuple[int, object]:
    """Server-side apply with Helm's field manager; `resources` is the API server's discovery (Kube.resources())."""
    return kube.request("PATCH", object_path(obj, resources), body=yaml.safe_dump(obj).encode(),
                        content_type="application/apply-patch+yaml",
                        query={"fieldManager": HELM_MANAGER, "force": "true"})


def object_path(obj: dict, resources: list[dict]) -> str:
    """The REST path of an object, its kind's resource found in discovery."""
    resource = next(r for r in resources if r["kind"] == obj["kind"] and r["apiVersion"] == obj["apiVersion"])
    namespace = obj["metadata"].get("namespace")
    scope = f"/namespaces/{namespace}" if namespace and resource["namespaced"] else ""
    return f"{resource['base']}{scope}/{resource['name']}/{obj['metadata']['name']}"


def managers(live: dict) -> set[str]:
    """The field managers of a live object."""
    return {entry.get("manager", "") for entry in live.get("metadata", {}).get("managedFields", [])}
