"""How a server scales: the replica rules applied to its spec, its PodDisruptionBudget and HPAs.

The rules themselves are in policies/replica_rules.py (the policy pack reports the same ones).
Here they force (stdio capped at 1) and warn (several replicas without Redis) before anything is
applied; the configuration errors (HPA beside a fixed count, rate limiting without Redis) were raised
by the config models. Replica fields that are unset stay absent from the spec, so an HPA owns them.
"""
from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.config.servers import Autoscaler
from components.k8s.naming import resource_name
from components.servers import operator_objects
from policies import replica_rules


def apply_replica_rules(kind: str, name: str, namespace: str, spec: dict, autoscaling=None) -> tuple[dict, list[str]]:
    """The spec the operator will actually run, and the warnings that explain the difference (an HPA
    that may run several proxies without Redis warns like a fixed replica count does)."""
    spec, warnings = dict(spec), []
    who = f"{kind} {namespace}/{name}"
    for field, count in replica_rules.stdio_excess_replicas(kind, spec):
        spec[field] = 1
        warnings.append(f"{who}: {replica_rules.stdio_message(field, count)}; rendered with spec.{field}: 1")
    count = replica_rules.sessions_lost_replicas(spec)
    if count is not None:
        warnings.append(f"{who}: {replica_rules.sessions_message(count)}")
    scaler = getattr(autoscaling, "proxy", None)
    count = replica_rules.sessions_lost_autoscaled(spec, scaler.max_replicas if scaler is not None else None)
    if count is not None:
        warnings.append(f"{who}: {replica_rules.autoscaled_sessions_message(count)}")
    return spec, warnings


def proxy_pdb(kind: str, name: str, namespace: str, labels: dict, parent: pulumi.Resource,
              depends_on: list[pulumi.Resource]) -> k8s.policy.v1.PodDisruptionBudget:
    """Keeps one proxy pod up during node drains (only made when replicas > 1)."""
    pdb_name = f"{name}-proxy"
    return k8s.policy.v1.PodDisruptionBudget(
        resource_name(namespace, "pdb", pdb_name),
        metadata={"name": pdb_name, "namespace": namespace, "labels": labels},
        spec={"minAvailable": 1, "selector": {"matchLabels": operator_objects.proxy_selector(kind, name)}},
        opts=pulumi.ResourceOptions(parent=parent, depends_on=depends_on),
    )


def autoscaler(role: str, target: tuple[str, str], scaler: Autoscaler, *, name: str, namespace: str, labels: dict,
               parent: pulumi.Resource, depends_on: list[pulumi.Resource]) -> k8s.autoscaling.v2.HorizontalPodAutoscaler:
    """An HPA on a workload the operator creates (role: proxy or backend)."""
    hpa_name = f"{name}-{role}"
    target_kind, target_name = target
    return k8s.autoscaling.v2.HorizontalPodAutoscaler(
        resource_name(namespace, "hpa", hpa_name),
        metadata={"name": hpa_name, "namespace": namespace, "labels": labels},
        spec={
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": target_kind, "name": target_name},
            "minReplicas": scaler.min_replicas,
            "maxReplicas": scaler.max_replicas,
            "metrics": [{"type": "Resource", "resource": {
                "name": "cpu", "target": {"type": "Utilization", "averageUtilization": scaler.target_cpu_utilization}}}],
        },
        opts=pulumi.ResourceOptions(parent=parent, depends_on=depends_on),
    )


def scaling_objects(kind: str, name: str, namespace: str, spec: dict, config, *, labels: dict,
                    parent: pulumi.Resource, workload: pulumi.Resource) -> list[pulumi.Resource]:
    """PDB when several proxies run (unless opted out), HPAs where configured."""
    made: list[pulumi.Resource] = []
    replicas = spec.get("replicas")
    if replicas is not None and replicas > 1 and config.pod_disruption_budget:
        made.append(proxy_pdb(kind, name, namespace, labels, parent, [workload]))
    autoscaling = config.autoscaling
    if autoscaling is not None and autoscaling.proxy is not None:
        made.append(autoscaler("proxy", operator_objects.proxy_workload(name), autoscaling.proxy, name=name,
                               namespace=namespace, labels=labels, parent=parent, depends_on=[workload]))
    backend = getattr(autoscaling, "backend", None)
    if backend is not None:
        made.append(autoscaler("backend", operator_objects.backend_workload(name), backend, name=name,
                               namespace=namespace, labels=labels, parent=parent, depends_on=[workload]))
    return made
