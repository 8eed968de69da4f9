"""Moving a cluster from the upstream Helm charts to this program: which live objects it takes over.

The charts (facts in components/bundle/charts/<release>.yaml) created objects with the same kinds and
names this program creates. `toolhive:cluster.adoptExisting` makes the provider upsert them and marks
each with `pulumi.com/patchForce: "true"`, so Server-Side Apply takes their fields over from Helm's
field manager instead of failing on a conflict. `tools/helm_import.py` lists the same objects for
`pulumi import --file`. Objects whose immutable fields differ cannot be adopted in place and are
reported instead (the operator Deployment: the chart's selector has one more label).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import pulumi
import yaml

from components import bundle
from components.config import StackConfig
from components.k8s import naming
from components.k8s.labels import selector_labels

PATCH_FORCE = "pulumi.com/patchForce"


@dataclass(frozen=True)
class ChartObject:
    api_version: str
    kind: str
    namespace: str | None
    name: str
    source: str  # the chart that made it, or how it came to exist

    @property
    def type_token(self) -> str:
        """The Pulumi type of the object, e.g. kubernetes:apps/v1:Deployment."""
        group, _, version = self.api_version.rpartition("/")
        return f"kubernetes:{group or 'core'}/{version}:{self.kind}"

    @property
    def import_id(self) -> str:
        """pulumi-kubernetes import ids: <namespace>/<name>, or <name> for cluster-scoped objects."""
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


@lru_cache(maxsize=None)
def chart_facts(release: str) -> dict:
    with open(bundle.BUNDLE_DIR / "charts" / f"{release}.yaml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def chart_objects(config: StackConfig) -> list[ChartObject]:
    """Every object the two charts (installed into the operator namespace) left on the cluster."""
    release = config.images.release
    facts = chart_facts(release)
    operator_chart, crds_chart = facts["operatorChart"], facts["crdsChart"]
    ns = config.operator.namespace
    objects = []
    if operator_chart["namespaceCreatedOutsideRelease"]:
        objects.append(ChartObject("v1", "Namespace", None, ns, "helm install --create-namespace"))
    for fact in operator_chart["objects"]:
        objects.append(ChartObject(fact["apiVersion"], fact["kind"], ns if fact.get("namespaced") else None,
                                   fact["name"], operator_chart["chart"]))
    if config.operator.rbac.scope == "cluster":
        binding = operator_chart["clusterScopeBinding"]
        objects.append(ChartObject(binding["apiVersion"], binding["kind"], None, binding["name"], operator_chart["chart"]))
    else:
        binding = operator_chart["namespaceScopeBinding"]
        objects.extend(ChartObject(binding["apiVersion"], binding["kind"], watched, binding["name"], operator_chart["chart"])
                       for watched in config.watched_namespaces)
    if crds_chart["allCrdsOfRelease"]:
        objects.extend(ChartObject("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, doc["metadata"]["name"],
                                   crds_chart["chart"]) for doc in bundle.crd_documents(release))
    return objects


def not_adoptable(config: StackConfig) -> dict[ChartObject, str]:
    """Chart objects that cannot be taken over in place, with the reason."""
    chart_selector = chart_facts(config.images.release)["operatorChart"]["deploymentSelector"]
    ours = selector_labels(naming.OPERATOR)
    if chart_selector == ours:
        return {}
    deployment = next(o for o in chart_objects(config) if o.kind == "Deployment")
    return {deployment: f"spec.selector is immutable and differs (chart {chart_selector}, this program {ours}): "
                        "delete the chart's Deployment right before `pulumi up` creates this one"}


def adoptable_objects(config: StackConfig) -> list[ChartObject]:
    skipped = not_adoptable(config)
    return [obj for obj in chart_objects(config) if obj not in skipped]


def patch_force_transformation(objects: list[ChartObject]):
    """A transformation that marks exactly the given objects with pulumi.com/patchForce: "true"."""
    targets = {(obj.type_token, obj.namespace, obj.name) for obj in objects}

    def transform(args: pulumi.ResourceTransformationArgs):
        metadata = args.props.get("metadata")
        if not isinstance(metadata, dict):
            return None
        if (args.type_, metadata.get("namespace"), metadata.get("name")) not in targets:
            return None
        annotations = {**(metadata.get("annotations") or {}), PATCH_FORCE: "true"}
        return pulumi.ResourceTransformationResult({**args.props, "metadata": {**metadata, "annotations": annotations}},
                                                   args.opts)

    return transform
