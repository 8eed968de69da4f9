"""The live objects of one stack, read back from the API server: every object in the stack's namespaces, and the
cluster-scoped objects the stack creates. `managedFields` are dropped (noise for every check)."""
from __future__ import annotations

from tools.e2e.checks import Live
from tools.e2e.controlplane import Kube
from tools.e2e.operator import stack_namespaces

#: Read-only or bulky kinds that no check reads.
SKIPPED = {"Event", "Lease", "EndpointSlice", "Endpoints", "ControllerRevision", "TokenReview", "Binding"}


def read_live(kube: Kube, resources: list[dict]) -> Live:
    namespaces = set(stack_namespaces(resources))
    cluster_scoped = {(r["inputs"]["kind"], r["inputs"]["metadata"]["name"]) for r in resources
                      if (r.get("inputs") or {}).get("kind") and not r["inputs"].get("metadata", {}).get("namespace")
                      and r["inputs"]["kind"] != "Namespace"}
    cluster_kinds = {kind for kind, _ in cluster_scoped}
    objects: list[dict] = []
    for res in kube.resources():
        if res["kind"] in SKIPPED:
            continue
        if not res["namespaced"] and res["kind"] not in cluster_kinds | {"Namespace"}:
            continue
        status, body = kube.request("GET", f"{res['base']}/{res['name']}")
        if status != 200:
            continue
        for obj in body.get("items", []):
            obj.setdefault("kind", res["kind"])
            obj.setdefault("apiVersion", res["apiVersion"])
            meta = obj.get("metadata", {})
            meta.pop("managedFields", None)
            if res["namespaced"] and meta.get("namespace") not in namespaces:
                continue
            if res["kind"] == "Namespace" and meta.get("name") not in namespaces:
                continue
            if not res["namespaced"] and res["kind"] != "Namespace" and (res["kind"], meta.get("name")) not in cluster_scoped:
                continue
            objects.append(obj)
    # Several API versions of one group (e.g. v1alpha1 and v1beta1 of the CRDs) list the same objects: keep one.
    seen, unique = set(), []
    for obj in objects:
        key = (obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        if key not in seen:
            seen.add(key)
            unique.append(obj)
    return Live(unique)
