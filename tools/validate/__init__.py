"""The offline server-side dry run: would the engine and a Kubernetes 1.33 API server accept this stack?

    problems = dry_run(resources, config)   # resources: what the program registered (tools.mock_runtime)

:func:`dry_run` checks the registered resources the way the engine does (no two with one URN, no two
Kubernetes objects with one group/kind/namespace/name), then runs every check of :data:`CHECKS` over the
Kubernetes objects:

* ``schema``    — Kubernetes 1.33 OpenAPI (strict) and the CRD schemas of the stack's own CRDs;
* ``cel``       — the CRDs' ``x-kubernetes-validations`` CEL rules, on the defaulted object;
* ``apiserver`` — per-kind API-server rules no schema expresses (requests <= limits, LimitRange order,
  unique list keys, label/selector syntax, tolerations, RBAC subjects, CIDRs, ports ...);
* ``admission`` — the namespace's LimitRanges and ResourceQuotas admit every pod and claim the stack
  makes there, its own and those the operator creates from its custom resources (LimitRanger and
  ResourceQuota admission);
* ``reachability`` — the NetworkPolicies let the platform's required flows through (DNS, session store,
  API server, clients to proxies);
* ``provider`` — what the kubernetes provider itself refuses before any request: the
  ``pulumi.com/waitFor`` annotation's syntax (its RFC 9535 JSONPath).

Each :class:`Problem` names the object, the field (a JSON path) and its source (``sources``): the
server file and field for an MCP server's objects, else the ``toolhive:`` key the trace table in
``trace`` knows.

**Adding a check** (e.g. NetworkPolicy reachability): a module in this package exposing
``check(objects: list[dict]) -> list[str]`` (or ``list[Problem]``), given every Kubernetes object the
stack applies (manifest dicts, in no particular order). A string is best written
``Kind/namespace/name: message`` or ``Kind/namespace/name: $.json.path: message``; it is turned into a
Problem (and traced to its config key) by :func:`tools.validate.problem.from_text`; any other string is
reported as is. Then add the module to the import line below and to ``CHECKS``. A check must be linear in the number of objects (the benchmark renders ~15k).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from typing import Any, Callable, Iterable

from tools.validate import admission, apiserver, cel, provider, reachability, schema  # the checks (run in CHECKS' order)
from tools.validate.problem import Problem, from_text, identity
from tools.validate.sources import Sources

__all__ = ["CHECKS", "Problem", "Sources", "dry_run", "check_objects", "kubernetes_resources"]

Check = Callable[[list[dict]], Iterable["str | Problem"]]
CHECKS: tuple[Check, ...] = tuple(module.check for module in (schema, cel, apiserver, admission, reachability, provider))


def kubernetes_resources(resources: Iterable[Any]) -> list[Any]:
    """The registered resources that are Kubernetes objects (not components, not providers)."""
    return [r for r in resources if _is_object(r)]


def _is_object(resource: Any) -> bool:
    return resource.custom and resource.type.startswith("kubernetes:") and "kind" in resource.inputs


def check_objects(objects: list[dict], checks: Iterable[Check] | None = None) -> list[Problem]:
    """Every problem the checks find in ``objects`` (manifest dicts)."""
    problems: list[Problem] = []
    with schema.same_objects():
        for check in CHECKS if checks is None else checks:
            problems.extend(found if isinstance(found, Problem) else from_text(str(found)) for found in check(objects))
    return problems


def dry_run(resources: list[Any], config: dict[str, Any] | None = None) -> list[Problem]:
    """Every reason the engine or the API server would reject what the program registered.

    ``resources`` are ``tools.mock_runtime.RegisteredResource``s; ``config`` the stack config
    ({'toolhive:key': value}) lets problems name the tenant entry (``toolhive:namespaces[1]``) they come from.
    """
    k8s = kubernetes_resources(resources)
    problems = _duplicates(resources, k8s) + check_objects([r.inputs for r in k8s])
    sources = Sources(resources, config)
    traced = []
    for found in problems:
        if found.config_key is None and found.kind:
            found = found.with_key(sources.of_object(found.kind, found.namespace, found.name, found.path))
        if found.blame:
            named = [sources.of_object(*blamed) or "/".join(blamed[:3]) for blamed in found.blame]
            found = replace(found, message=f"{found.message} (from {'; '.join(dict.fromkeys(named))})")
        traced.append(found)
    return traced


def _duplicates(resources: list[Any], k8s: list[Any]) -> list[Problem]:
    """Two resources with one URN (the engine refuses the program) or one object (they overwrite each other)."""
    problems = []
    by_urn: dict[str, list] = defaultdict(list)
    for resource in resources:
        by_urn[resource.urn].append(resource)
    for urn, same in by_urn.items():
        if len(same) > 1:
            kind, namespace, name = identity(same[0].inputs) if _is_object(same[0]) else ("", "", "")
            problems.append(Problem(kind, namespace, name, "$",
                                    f"{len(same)} resources share the URN {urn} (the engine fails: duplicate resource URN)"))
    by_object: dict[tuple, list] = defaultdict(list)
    for resource in k8s:
        obj = resource.inputs
        group = str(obj.get("apiVersion", "")).rpartition("/")[0]
        by_object[(group, *identity(obj))].append(resource)
    for (group, kind, namespace, name), same in by_object.items():
        if len({r.urn for r in same}) > 1:  # one resource registered twice is the URN problem above
            urns = ", ".join(sorted(r.urn for r in same))
            problems.append(Problem(kind, namespace, name, "$",
                                    f"{len(same)} resources create this one object ({urns}); each would overwrite the other"))
    return problems
