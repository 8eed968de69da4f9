"""The floor: the program's Kubernetes objects registered straight through pulumi_kubernetes.

Same objects, same inputs (as the program's recorded run registered them; `[secret]` values as Pulumi
secrets again), same logical names, provider and resource options, under the same mock runtime — but
no components, no configuration layer, no validation. Each type token maps to its pulumi_kubernetes
class the way pulumi_kubernetes.yaml does (`kubernetes:apps/v1:Deployment` ->
`pulumi_kubernetes.apps.v1.Deployment`, top-level keys snake_cased with its table); custom resources go
through `pulumi_kubernetes.apiextensions.CustomResource`. What the program costs beyond this is what its
own layers add.
"""
from __future__ import annotations

import importlib
import json
import re
from functools import lru_cache
from typing import Any, Callable

import pulumi
import pulumi_kubernetes as k8s
from pulumi_kubernetes import _tables

from tools.mock_runtime import SECRET_PLACEHOLDER

PROVIDER_TYPE = "pulumi:providers:kubernetes"


@lru_cache(maxsize=None)
def resource_class(token: str) -> type | None:
    """The pulumi_kubernetes class of a `kubernetes:<group>/<version>:<Kind>` token; None for a custom resource."""
    _, api_version, kind = token.split(":")
    group, _, version = api_version.rpartition("/")
    if "." in group and not group.endswith(".k8s.io"):
        return None  # toolhive.stacklok.dev and other CRDs' groups
    module = importlib.import_module(f"pulumi_kubernetes.{group.split('.')[0] if group else 'core'}.{version}")
    return getattr(module, kind)


def _secrets_again(value: Any) -> Any:
    if value == SECRET_PLACEHOLDER:
        return pulumi.Output.secret(value)
    if isinstance(value, dict):
        return {key: _secrets_again(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_secrets_again(item) for item in value]
    return value


def floor_program(recorded: list[dict[str, Any]]) -> Callable[[], None]:
    """A Pulumi program registering `recorded` (resources.json entries) bare, in the recorded order."""

    def program() -> None:
        created: dict[str, pulumi.Resource] = {}
        provider = None
        for entry in recorded:
            if entry["type"] == PROVIDER_TYPE:
                # Provider inputs are recorded as the engine gets them: camelCase, booleans as JSON text.
                inputs = {re.sub("([A-Z])", r"_\1", key).lower(): json.loads(value) if value in ("true", "false") else value
                          for key, value in entry["inputs"].items() if key != "version"}
                provider = k8s.Provider(entry["name"], **inputs)
                created[entry["urn"]] = provider
        for entry in recorded:
            token = entry["type"]
            if not token.startswith("kubernetes:"):
                continue
            opts = pulumi.ResourceOptions(
                provider=provider if entry.get("provider") else None,
                protect=entry["protect"], retain_on_delete=entry["retain_on_delete"] or None,
                ignore_changes=entry["ignore_changes"] or None,
                depends_on=[created[urn] for urn in entry["dependencies"] if urn in created] or None)
            obj = dict(_secrets_again(entry["inputs"]))
            api_version, kind = obj.pop("apiVersion"), obj.pop("kind")
            cls = resource_class(token)
            if cls is None:
                created[entry["urn"]] = k8s.apiextensions.CustomResource(
                    entry["name"], api_version=api_version, kind=kind, metadata=obj.pop("metadata", None),
                    spec=obj.pop("spec", None), opts=opts)
            else:
                args = {_tables.CAMEL_TO_SNAKE_CASE_TABLE.get(k, k): v for k, v in obj.items()}
                created[entry["urn"]] = cls(entry["name"], opts=opts, **args)

    return program
