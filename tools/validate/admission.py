"""Admission by the stack's own fences: would the namespace's LimitRanges and ResourceQuotas admit every
pod and PersistentVolumeClaim the stack makes there?

A Deployment is admitted whatever its template holds: its pods are refused later, when the ReplicaSet
controller creates them (``FailedCreate``), and the server never starts. So every pod the stack causes in
a namespace is checked here as the API server's admission chain checks it on create — the pods of the
stack's own workloads and the pods the ToolHive operator (v0.44.0) and its proxy runner create from the
stack's custom resources (``../shared/toolhive/operator-objects.md``):

* MCPServer: the proxy runner Deployment ``<name>`` (container ``toolhive``, sized by ``spec.resources``,
  ``spec.replicas`` pods) and the backend StatefulSet ``<name>`` (containers of ``spec.podTemplateSpec``,
  ``spec.backendReplicas`` pods);
* MCPRemoteProxy: the Deployment ``<name>`` (container ``toolhive``, ``spec.resources``);
* VirtualMCPServer: the Deployment ``<name>`` (containers of ``spec.podTemplateSpec``);
* MCPRegistry: the Deployment ``<name>-api`` (``registry-api``: the operator's defaults, requests
  100m/128Mi, limits 500m/512Mi, unless ``spec.podTemplateSpec`` sizes it; the ``setup-pgpass`` init
  container with ``pgpassSecretRef``), one replica.

An HPA on a workload keeps its replicas within [minReplicas, maxReplicas]; the pods counted are those the
stack starts with (replicas, default 1, raised to the HPA's minimum).

The rules, from k8s.io/kubernetes v1.33:

* pod defaulting (``pkg/apis/core/v1/defaults.go`` ``SetDefaults_Pod``): a container's missing request
  defaults to its limit;
* LimitRange defaulting (``SetDefaults_LimitRangeItem``): for type Container, a missing ``default``
  defaults to ``max``, a missing ``defaultRequest`` to ``default``, then to ``min``;
* the LimitRanger admission plugin (``plugin/pkg/admission/limitranger/admission.go``): each LimitRange of
  the namespace fills what a container (and init container) leaves unset, ``defaultRequest`` into requests
  and ``default`` into limits (``mergeContainerResources``); then ``minConstraint`` (a request is required
  and must be >= min, a limit if given too), ``maxConstraint`` (a limit is required and must be <= max, a
  request if given too) and ``limitRequestRatioConstraint`` (both set and non-zero, limit/request <= the
  ratio) per container for type Container, on the pod's totals (``PodRequests``/``PodLimits``: the sum of
  the containers, or an init container's amount if larger) for type Pod, and on a claim's storage request
  for type PersistentVolumeClaim (``PersistentVolumeClaimValidateLimitFunc``: min, and max against the
  request). Values compare as ``requestLimitEnforcedValues`` does: in milli-units, rounded up;
* PVC validation (``pkg/apis/core/validation`` ``ValidatePersistentVolumeClaimSpec``): a storage request
  is required and must be greater than zero;
* the ResourceQuota admission plugin (``plugin/pkg/admission/resourcequota``, evaluators in
  ``pkg/quota/v1/evaluator/core``): with cpu or memory under quota every container must state that
  request or limit (``podEvaluator.Constraints``: "must specify"); a pod counts ``pods`` 1,
  ``requests.cpu``/``cpu``, ``limits.cpu`` (the same for memory and ephemeral-storage) and
  ``requests.<extended resource>``; a claim ``persistentvolumeclaims`` 1 and ``requests.storage`` (also
  per ``<class>.storageclass.storage.k8s.io/``); a Service ``services``, ``services.loadbalancers`` and
  ``services.nodeports`` (its ports, for NodePort and LoadBalancer); any object ``count/<resource>.<group>``.
  The namespace's total after the stack is applied must stay within every ``hard`` amount ("exceeded
  quota"). Scoped quotas (``scopes``, ``scopeSelector``) are not evaluated. Objects the operator creates
  besides its workloads and Services (ConfigMaps, Secrets, ServiceAccounts) are not counted.

A problem is reported on the object whose field decides it (the container's resources in the Deployment,
or in the custom resource the operator reads them from); a quota overrun on the ResourceQuota, naming the
objects that use the most (``Problem.blame``, which the dry run turns into their source).
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable, Iterator

from components.servers import operator_objects
from tools.validate import quantity
from tools.validate.problem import Problem, identity, json_path, problem

#: v0.44.0 operator: the registry API container's resources unless spec.podTemplateSpec sets them.
REGISTRY_API_DEFAULTS = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}}
#: Resources the quota tracks per pod under their own name and as requests.* / limits.*.
_STANDARD = ("cpu", "memory", "ephemeral-storage")
#: What podEvaluator.Constraints requires every container to state when the quota tracks it.
_MUST_SPECIFY = {"cpu": ("requests", "cpu"), "requests.cpu": ("requests", "cpu"), "limits.cpu": ("limits", "cpu"),
                 "memory": ("requests", "memory"), "requests.memory": ("requests", "memory"),
                 "limits.memory": ("limits", "memory")}
_STORAGE_CLASS = ".storageclass.storage.k8s.io/"
_CORE_COUNTS = {"services": "Service", "secrets": "Secret", "configmaps": "ConfigMap",
                "replicationcontrollers": "ReplicationController",
                "resourcequotas": "ResourceQuota"}
_MAX_MILLI = Decimal(2**63 - 1) / 1000  # resource.MaxMilliValue: above it, compare whole units
_SHOWN = 3  # the largest users a quota problem names


@dataclass
class Container:
    name: str
    resources: dict  # as written: {"requests": {...}, "limits": {...}}
    path: list  # where its resources live in the owner object
    init: bool = False
    sidecar: bool = False


@dataclass
class PodSet:
    """The pods one workload makes: ``replicas`` alike, described as ``what``."""

    owner: dict
    what: str
    containers: list[Container]
    replicas: int
    target: tuple[str, str]  # (kind, name) of the workload an HPA would scale
    pod_path: list = field(default_factory=lambda: ["spec"])  # where the pod spec is read from
    replicas_path: list = field(default_factory=lambda: ["spec", "replicas"])  # what sets the pod count


@dataclass
class Claim:
    owner: dict
    what: str
    path: list  # to its spec (resources.requests.storage below it)
    spec: dict
    count: int = 1


@dataclass
class _Use:
    """What one object adds to a quota's resource, for the problem that names the largest users."""

    owner: dict
    path: list = field(default_factory=list)  # where its amounts are set (an object's total has only parts)
    amounts: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    count_path: list | None = None  # what sets how many (pods), if not path
    parts: list["_Use"] = field(default_factory=list)


def check(objects: list[dict]) -> list[Problem]:
    by_namespace: dict[str, list[dict]] = defaultdict(list)
    for obj in objects:
        if isinstance(obj, dict):
            namespace = _dict(obj.get("metadata")).get("namespace")
            if isinstance(namespace, str) and namespace:
                by_namespace[namespace].append(obj)
    problems: list[Problem] = []
    for namespace, inside in by_namespace.items():
        limit_ranges = [obj for obj in inside if obj.get("kind") == "LimitRange"]
        quotas = [obj for obj in inside if obj.get("kind") == "ResourceQuota" and _unscoped(obj)]
        problems.extend(_namespace(inside, [_defaulted_items(lr) for lr in limit_ranges], limit_ranges, quotas))
    return problems


def _namespace(objects: list[dict], items: list[list[dict]], limit_ranges: list[dict], quotas: list[dict]
               ) -> Iterator[Problem]:
    claims = list(_claims(objects))
    for claim in claims:
        yield from _claim_problems(claim, items, limit_ranges)
    if not limit_ranges and not quotas:
        return
    pod_sets = list(_pod_sets(objects))
    pods = []
    for pod_set in pod_sets:
        admitted, problems = _admit_pod(pod_set, items, limit_ranges, quotas)
        yield from problems
        pods.append((pod_set, admitted))
    yield from _quota_problems(quotas, objects, pods, claims)


# --------------------------------------------------------------------------------------------------
# What the stack makes in a namespace

_SCALABLE = ("Deployment", "StatefulSet", "ReplicaSet")


def _pod_sets(objects: list[dict]) -> Iterator[PodSet]:
    scaled = _autoscaled(objects)
    for obj in objects:
        kind, _, name = identity(obj)
        spec = _dict(obj.get("spec"))
        template = ["spec", "template", "spec"]
        # (what, path to the pod spec, pod spec, replicas, what sets how many)
        found: list[tuple[str, list, dict, Any, list]] = []
        if kind == "Pod":
            found.append((f"Pod {name}", ["spec"], spec, 1, ["metadata", "name"]))
        elif kind in _SCALABLE:
            found.append((f"the pods of {kind} {name}", template, _dict(_dict(spec.get("template")).get("spec")),
                          spec.get("replicas"), ["spec", "replicas"]))
        elif kind == "Job":
            found.append((f"the pods of Job {name}", template, _dict(_dict(spec.get("template")).get("spec")),
                          spec.get("parallelism"), ["spec", "parallelism"]))
        elif kind == "CronJob":
            job = _dict(_dict(spec.get("jobTemplate")).get("spec"))
            found.append((f"the pods of CronJob {name}", ["spec", "jobTemplate", "spec", "template", "spec"],
                          _dict(_dict(job.get("template")).get("spec")), job.get("parallelism"),
                          ["spec", "jobTemplate", "spec", "parallelism"]))
        elif kind == "DaemonSet":
            found.append((f"the pods of DaemonSet {name}", template, _dict(_dict(spec.get("template")).get("spec")), 0,
                          ["metadata", "name"]))  # one pod per node: the object itself says how many
        # Only the kinds with a scale subresource follow an autoscaler (the HPA of any other fails to scale it).
        bounds = scaled.get((kind, name)) if kind in _SCALABLE else None
        for what, path, pod, replicas, count_path in found:
            yield PodSet(obj, what, _containers(pod, path), _replicas(replicas, bounds), (kind, name), path, count_path)
        yield from _operator_pods(obj, kind, name, spec, scaled)


def _operator_pods(obj: dict, kind: str, name: str, spec: dict, scaled: dict) -> Iterator[PodSet]:
    """The pods the operator (and the proxy runner) create from a custom resource of the stack."""
    template = _dict(spec.get("podTemplateSpec"))
    template_spec = _dict(template.get("spec"))
    template_path = ["spec", "podTemplateSpec", "spec"]
    if kind in ("MCPServer", "MCPRemoteProxy"):
        proxy = Container("toolhive", _dict(spec.get("resources")), ["spec", "resources"])
        what = "the proxy runner pods (Deployment {0}, container toolhive) the operator creates".format(name)
        yield PodSet(obj, what, [proxy], _replicas(spec.get("replicas"), scaled.get(("Deployment", name))),
                     ("Deployment", name))
        if kind == "MCPServer":
            containers = _containers(template_spec, template_path, required="mcp")
            yield PodSet(obj, f"the MCP server pods (StatefulSet {name}) the proxy runner creates", containers,
                         _replicas(spec.get("backendReplicas"), scaled.get(("StatefulSet", name))),
                         ("StatefulSet", name), template_path, ["spec", "backendReplicas"])
    elif kind == "VirtualMCPServer":
        yield PodSet(obj, f"the vMCP pods (Deployment {name}) the operator creates",
                     _containers(template_spec, template_path, required="vmcp"),
                     _replicas(spec.get("replicas"), scaled.get(("Deployment", name))), ("Deployment", name),
                     template_path)
    elif kind == "MCPRegistry":
        containers = _containers(template_spec, template_path, required="registry-api")
        for container in containers:
            if container.name == "registry-api" and not container.resources:
                container.resources = REGISTRY_API_DEFAULTS
        if spec.get("pgpassSecretRef") and not any(c.init and c.name == "setup-pgpass" for c in containers):
            containers.append(Container("setup-pgpass", {}, [*template_path, "initContainers"], init=True))
        yield PodSet(obj, f"the registry API pods (Deployment {name}-api) the operator creates", containers, 1,
                     ("Deployment", f"{name}-api"), template_path, ["metadata", "name"])


def _containers(pod: dict, path: list, required: str | None = None) -> list[Container]:
    found = []
    for section, init in (("initContainers", True), ("containers", False)):
        for index, container in enumerate(_list(pod.get(section))):
            container = _dict(container)
            found.append(Container(str(container.get("name", index)), _dict(container.get("resources")),
                                   [*path, section, index, "resources"], init=init,
                                   sidecar=init and container.get("restartPolicy") == "Always"))
    if required is not None and not any(c.name == required and not c.init for c in found):
        found.append(Container(required, {}, [*path, "containers"]))
    return found


def _autoscaled(objects: list[dict]) -> dict[tuple[str, str], tuple[int, int]]:
    """(kind, name) of each HPA's target -> (minReplicas, maxReplicas)."""
    found = {}
    for obj in objects:
        if obj.get("kind") == "HorizontalPodAutoscaler":
            spec = _dict(obj.get("spec"))
            target = _dict(spec.get("scaleTargetRef"))
            low, high = spec.get("minReplicas", 1), spec.get("maxReplicas")
            if isinstance(low, int) and isinstance(high, int):
                found[(str(target.get("kind")), str(target.get("name")))] = (low, high)
    return found


def _replicas(replicas: Any, bounds: tuple[int, int] | None) -> int:
    """The pods a count starts: missing (or not a count) is 1, the API server's default; within the HPA's bounds."""
    count = replicas if isinstance(replicas, int) and not isinstance(replicas, bool) and replicas >= 0 else 1
    if bounds is not None:
        count = min(max(count, bounds[0]), bounds[1])
    return count


def _claims(objects: list[dict]) -> Iterator[Claim]:
    scaled = _autoscaled(objects)
    for obj in objects:
        kind, _, name = identity(obj)
        spec = _dict(obj.get("spec"))
        if kind == "PersistentVolumeClaim":
            yield Claim(obj, f"PersistentVolumeClaim {name}", ["spec"], spec)
        elif kind == "StatefulSet":
            replicas = _replicas(spec.get("replicas"), scaled.get(("StatefulSet", name)))
            for index, template in enumerate(_list(spec.get("volumeClaimTemplates"))):
                template = _dict(template)
                claim = _dict(template.get("metadata")).get("name", index)
                yield Claim(obj, f"the PersistentVolumeClaims {claim}-{name}-<n> of StatefulSet {name}",
                            ["spec", "volumeClaimTemplates", index, "spec"], _dict(template.get("spec")), replicas)


# --------------------------------------------------------------------------------------------------
# LimitRanger


def _defaulted_items(limit_range: dict) -> list[dict]:
    """The LimitRange's items as the API server stores them (SetDefaults_LimitRangeItem)."""
    items = []
    for item in _list(_dict(limit_range.get("spec")).get("limits")):
        item = {key: dict(value) if isinstance(value, dict) else value for key, value in _dict(item).items()}
        if item.get("type") == "Container":
            default, request = item.setdefault("default", {}), item.setdefault("defaultRequest", {})
            for source, target in ((item.get("max"), default), (default, request), (item.get("min"), request)):
                for name, value in _dict(source).items():
                    target.setdefault(name, value)
        items.append(item)
    return items


def _admit_pod(pod_set: PodSet, items: list[list[dict]], limit_ranges: list[dict], quotas: list[dict]
               ) -> tuple[list[dict], list[Problem]]:
    """Each container's resources as admitted (defaults applied), and why the pods would be refused."""
    admitted, problems = [], []
    for container in pod_set.containers:
        requests = dict(_dict(container.resources.get("requests")))
        limits = dict(_dict(container.resources.get("limits")))
        for name, value in limits.items():  # SetDefaults_Pod: a missing request defaults to the limit
            requests.setdefault(name, value)
        defaulted: set[tuple[str, str]] = set()
        for lr_items in items:  # mergeContainerResources, one LimitRange after the other
            for item in lr_items:
                if item.get("type") != "Container":
                    continue
                for section, target in (("defaultRequest", requests), ("default", limits)):
                    for name, value in _dict(item.get(section)).items():
                        if name not in target:
                            target[name] = value
                            defaulted.add(("requests" if section == "defaultRequest" else "limits", name))
        admitted.append({"container": container, "requests": requests, "limits": limits, "defaulted": defaulted})
    for limit_range, lr_items in zip(limit_ranges, items):
        lr = _name(limit_range)
        for item in lr_items:
            if item.get("type") == "Container":
                for entry in admitted:
                    container = entry["container"]
                    for section, path, message in _constraints("Container", item, entry["requests"], entry["limits"]):
                        where = f"{pod_set.what}: container {container.name}"
                        if (section, path) in entry["defaulted"]:
                            message += f" (the LimitRange's {'defaultRequest' if section == 'requests' else 'default'})"
                        problems.append(problem(pod_set.owner, [*container.path, section, path],
                                                f"{where} is refused by LimitRange {lr} (LimitRanger): {message}"))
            elif item.get("type") == "Pod":
                requests, limits = _pod_totals(admitted, "requests"), _pod_totals(admitted, "limits")
                for section, path, message in _constraints("Pod", item, requests, limits):
                    problems.append(problem(pod_set.owner, pod_set.pod_path,
                                            f"{pod_set.what} are refused by LimitRange {lr} (LimitRanger): {message}"))
    required = {name for quota in quotas for name in _dict(_dict(quota.get("spec")).get("hard")) if name in _MUST_SPECIFY}
    for entry in admitted:
        missing = sorted(name for name in required
                         if _MUST_SPECIFY[name][1] not in entry[_MUST_SPECIFY[name][0]])
        if missing:
            container = entry["container"]
            problems.append(problem(pod_set.owner, container.path,
                                    f"{pod_set.what}: container {container.name} is refused by the ResourceQuota "
                                    f"admission: must specify {','.join(missing)} (the namespace's quota tracks "
                                    "them and no LimitRange default fills them in)"))
    return admitted, problems


def _constraints(kind: str, item: dict, requests: dict, limits: dict) -> Iterator[tuple[str, str, str]]:
    """(requests|limits, resource, message) for each of min, max and maxLimitRequestRatio that fails."""
    for name, enforced in _dict(item.get("min")).items():
        request, limit = requests.get(name), limits.get(name)
        if request is None:
            yield "requests", name, f"minimum {name} usage per {kind} is {enforced}.  No request is specified"
        elif _compare(request, enforced) < 0:
            yield "requests", name, f"minimum {name} usage per {kind} is {enforced}, but request is {request}"
        elif limit is not None and _compare(limit, enforced) < 0:
            yield "limits", name, f"minimum {name} usage per {kind} is {enforced}, but limit is {limit}"
    for name, enforced in _dict(item.get("max")).items():
        request, limit = requests.get(name), limits.get(name)
        if limit is None:
            yield "limits", name, f"maximum {name} usage per {kind} is {enforced}.  No limit is specified"
        elif _compare(limit, enforced) > 0:
            yield "limits", name, f"maximum {name} usage per {kind} is {enforced}, but limit is {limit}"
        elif request is not None and _compare(request, enforced) > 0:
            yield "requests", name, f"maximum {name} usage per {kind} is {enforced}, but request is {request}"
    for name, enforced in _dict(item.get("maxLimitRequestRatio")).items():
        request, limit = _value(requests.get(name)), _value(limits.get(name))
        if request is None or request == 0:
            yield "requests", name, (f"{name} max limit to request ratio per {kind} is {enforced}, but no request "
                                     "is specified or request is 0")
        elif limit is None or limit == 0:
            yield "limits", name, (f"{name} max limit to request ratio per {kind} is {enforced}, but no limit is "
                                   "specified or limit is 0")
        else:
            ratio, bound = _milli(limit) / _milli(request), _value(enforced)
            if bound is not None and ratio > (_milli(bound) / 1000 if bound <= _MAX_MILLI else math.ceil(bound)):
                yield "limits", name, (f"{name} max limit to request ratio per {kind} is {enforced}, but provided "
                                       f"ratio is {float(ratio):f}")


def _pod_totals(admitted: list[dict], section: str) -> dict[str, Decimal]:
    """PodRequests / PodLimits: the containers' (and sidecars') sum, or an init container's amount if larger."""
    total: dict[str, Decimal] = defaultdict(Decimal)
    for entry in admitted:
        if not entry["container"].init or entry["container"].sidecar:
            for name, value in entry[section].items():
                total[name] += _value(value) or 0
    for entry in admitted:
        if entry["container"].init and not entry["container"].sidecar:
            for name, value in entry[section].items():
                total[name] = max(total[name], _value(value) or 0)
    return {name: _quantity_text(value) for name, value in total.items()}


def _claim_problems(claim: Claim, items: list[list[dict]], limit_ranges: list[dict]) -> Iterator[Problem]:
    requests = _dict(_dict(claim.spec.get("resources")).get("requests"))
    storage = requests.get("storage")
    path = [*claim.path, "resources", "requests", "storage"]
    if storage is None:
        yield problem(claim.owner, path, f"{claim.what}: a storage request is required (the API server refuses "
                                         "the claim: spec.resources.requests[storage]: Required value)")
        return
    amount = _value(storage)
    if amount is not None and amount <= 0:
        yield problem(claim.owner, path, f"{claim.what}: the storage request {storage} must be greater than zero "
                                         "(the API server refuses the claim)")
        return
    for limit_range, lr_items in zip(limit_ranges, items):
        for item in lr_items:
            if item.get("type") != "PersistentVolumeClaim":
                continue
            for name, enforced in _dict(item.get("min")).items():
                if name not in requests:
                    message = f"minimum {name} usage per PersistentVolumeClaim is {enforced}.  No request is specified"
                elif _compare(requests[name], enforced) < 0:
                    message = f"minimum {name} usage per PersistentVolumeClaim is {enforced}, but request is {requests[name]}"
                else:
                    continue
                yield problem(claim.owner, [*claim.path, "resources", "requests", name],
                              f"{claim.what}: refused by LimitRange {_name(limit_range)} (LimitRanger): {message}")
            for name, enforced in _dict(item.get("max")).items():
                if name not in requests:
                    message = f"maximum {name} usage per PersistentVolumeClaim is {enforced}.  No request is specified"
                elif _compare(requests[name], enforced) > 0:
                    message = f"maximum {name} usage per PersistentVolumeClaim is {enforced}, but request is {requests[name]}"
                else:
                    continue
                yield problem(claim.owner, [*claim.path, "resources", "requests", name],
                              f"{claim.what}: refused by LimitRange {_name(limit_range)} (LimitRanger): {message}")


# --------------------------------------------------------------------------------------------------
# ResourceQuota


def _quota_problems(quotas: list[dict], objects: list[dict], pods: list[tuple[PodSet, list[dict]]],
                    claims: list[Claim]) -> Iterator[Problem]:
    if not quotas:
        return
    uses: list[_Use] = []
    for pod_set, admitted in pods:  # a pod set of no pods (a DaemonSet's) uses zero
        uses.append(_Use(pod_set.owner, pod_set.containers[0].path if pod_set.containers else pod_set.pod_path,
                         {name: value * pod_set.replicas for name, value in _pod_usage(admitted).items()},
                         count_path=pod_set.replicas_path))
    for claim in claims:
        storage = _value(_dict(_dict(claim.spec.get("resources")).get("requests")).get("storage")) or Decimal(0)
        amounts = {"persistentvolumeclaims": Decimal(claim.count), "count/persistentvolumeclaims": Decimal(claim.count),
                   "requests.storage": storage * claim.count}
        storage_class = claim.spec.get("storageClassName")
        if isinstance(storage_class, str) and storage_class:
            amounts[f"{storage_class}{_STORAGE_CLASS}persistentvolumeclaims"] = Decimal(claim.count)
            amounts[f"{storage_class}{_STORAGE_CLASS}requests.storage"] = storage * claim.count
        uses.append(_Use(claim.owner, [*claim.path, "resources", "requests", "storage"], amounts))
    uses.extend(_Use(obj, ["metadata", "name"], _object_counts(obj)) for obj in objects)
    uses = _by_owner(uses)
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for use in uses:
        for name, value in use.amounts.items():
            totals[name] += value
    for quota in quotas:
        for name, raw in _dict(_dict(quota.get("spec")).get("hard")).items():
            hard = _value(raw)
            if hard is None or name not in totals or totals[name] <= hard:
                continue
            users = sorted((use for use in uses if use.amounts.get(name)),
                           key=lambda use: (-use.amounts[name], identity(use.owner)))
            shown = ", ".join(f"{identity(use.owner)[0]} {identity(use.owner)[2]} {_quantity_text(use.amounts[name])}"
                              for use in users[:_SHOWN])
            more = f" and {len(users) - _SHOWN} more" if len(users) > _SHOWN else ""
            yield Problem(*identity(quota), json_path(["spec", "hard", name]),
                          f"the stack's objects in namespace {identity(quota)[1]} need {name} "
                          f"{_quantity_text(totals[name])} in total, above this quota's {raw}: the ResourceQuota "
                          f"admission refuses what does not fit (exceeded quota); the most: {shown}{more}",
                          blame=tuple((*identity(use.owner), json_path(_largest_part(use, name))) for use in users[:_SHOWN]))


def _by_owner(uses: list[_Use]) -> list[_Use]:
    """One use per object (an MCPServer's proxy and backend pods together), its parts kept."""
    merged: dict[tuple, _Use] = {}
    for use in uses:
        total = merged.setdefault(identity(use.owner), _Use(use.owner))
        total.parts.append(use)
        for name, value in use.amounts.items():
            total.amounts[name] += value
    return list(merged.values())


def _largest_part(use: _Use, name: str) -> list:
    """The path of the part of ``use`` that uses the most of ``name``."""
    part = max(use.parts or [use], key=lambda part: part.amounts.get(name, 0))
    return part.count_path if name in ("pods", "count/pods") and part.count_path else part.path


def _pod_usage(admitted: list[dict]) -> dict[str, Decimal]:
    """podComputeUsageHelper over the pod's totals."""
    requests = {name: _value(value) or Decimal(0) for name, value in _pod_totals(admitted, "requests").items()}
    limits = {name: _value(value) or Decimal(0) for name, value in _pod_totals(admitted, "limits").items()}
    usage: dict[str, Decimal] = {"pods": Decimal(1), "count/pods": Decimal(1)}
    for name, value in requests.items():
        if name in _STANDARD:
            usage[name] = value
            usage[f"requests.{name}"] = value
        elif name.startswith("hugepages-"):
            usage[name] = value
            usage[f"requests.{name}"] = value
        elif "/" in name and not name.startswith("kubernetes.io/"):  # an extended resource
            usage[f"requests.{name}"] = value
    for name, value in limits.items():
        if name in _STANDARD:
            usage[f"limits.{name}"] = value
    return usage


def _object_counts(obj: dict) -> dict[str, Decimal]:
    """What one object (and the workloads and Services the operator makes from it) counts against a quota."""
    kind = obj.get("kind")
    counts: dict[str, Decimal] = defaultdict(Decimal)
    if kind in ("PersistentVolumeClaim", "Pod"):
        return counts  # counted as a claim, as a pod (with what it requests)
    api_version = str(obj.get("apiVersion"))  # none: no group
    group = api_version.rpartition("/")[0]
    counts[f"count/{_plural(str(kind))}{'.' + group if group else ''}"] = 1
    for core, core_kind in _CORE_COUNTS.items():
        if kind == core_kind and not group:
            counts[core] = 1
    spec = _dict(obj.get("spec"))
    if kind == "Service" and not group:
        counts.update(_service_counts(spec.get("type"), len(_list(spec.get("ports"))), spec))
    for made_kind in _made(str(kind), spec):
        group = _MADE_GROUPS[made_kind]
        counts[f"count/{_plural(made_kind)}{'.' + group if group else ''}"] += 1
        if made_kind == "Service":
            counts["services"] += 1
    if kind == "VirtualMCPServer":
        counts.update(_service_counts(spec.get("serviceType"), 1, {}))
    return counts


#: The kinds of what the operator makes from a custom resource that a quota counts, and their API groups.
_MADE_GROUPS = {"Deployment": "apps", "StatefulSet": "apps", "Service": ""}


def _made(kind: str, spec: dict) -> list[str]:
    """The workloads and Services the operator creates from one custom resource (one entry per object)."""
    if kind == "MCPRegistry":
        return ["Deployment", "Service"]  # <name>-api, both
    if kind not in operator_objects.CREATED:
        return []
    return [made for made, _ in operator_objects.created_objects(kind, "x", transport=spec.get("transport", "stdio"))
            if made in _MADE_GROUPS]


def _service_counts(service_type: Any, ports: int, spec: dict) -> dict[str, int]:
    """What a Service of this type counts besides itself: node ports, load balancers."""
    if service_type == "NodePort":
        return {"services.nodeports": ports}
    if service_type == "LoadBalancer":
        if spec.get("allocateLoadBalancerNodePorts") is False:
            ports = sum(1 for port in _list(spec.get("ports")) if _dict(port).get("nodePort"))
        return {"services.loadbalancers": 1, "services.nodeports": ports}
    return {}


def _plural(kind: str) -> str:
    lower = kind.lower()
    if lower.endswith("y"):
        return lower[:-1] + "ies"
    if lower.endswith(("s", "x")):
        return lower + "es"
    return lower + "s"


# --------------------------------------------------------------------------------------------------
# Small helpers


def _unscoped(quota: dict) -> bool:
    spec = _dict(quota.get("spec"))
    return not spec.get("scopes") and not spec.get("scopeSelector")


def _name(obj: dict) -> str:
    kind, namespace, name = identity(obj)
    return f"{namespace}/{name}"


def _value(raw: Any) -> Decimal | None:
    return quantity.parse(raw)  # None when missing or not a quantity


def _milli(value: Decimal) -> Decimal:
    """resource.Quantity.MilliValue: milli-units, rounded up."""
    return Decimal(math.ceil(value * 1000))


def _compare(observed: Any, enforced: Any) -> int:
    """requestLimitEnforcedValues, then compare: milli-units (rounded up) when no value overflows them,
    else whole units (rounded up)."""
    left, right = _value(observed), _value(enforced)
    if left is None or right is None:
        return 0  # not a quantity: the schema check reports it
    if left <= _MAX_MILLI and right <= _MAX_MILLI:
        left, right = _milli(left), _milli(right)
    else:
        left, right = Decimal(math.ceil(left)), Decimal(math.ceil(right))
    return (left > right) - (left < right)


def _quantity_text(value: Decimal) -> str:
    """A total as a short quantity: 1.5, 250m, 3Gi, 1536Mi."""
    if value == value.to_integral_value():
        whole = int(value)
        for suffix, size in (("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
            if whole >= size and whole % size == 0:
                return f"{whole // size}{suffix}"
        return str(whole)
    milli = value * 1000
    if milli == milli.to_integral_value() and value < 1:
        return f"{int(milli)}m"
    return format(value.normalize(), "f")


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def pods_of(objects: Iterable[dict]) -> list[PodSet]:
    """Every set of pods the objects make (for tests and other checks)."""
    return list(_pod_sets([obj for obj in objects if isinstance(obj, dict)]))
