"""Imported once by mutmut's fork server (tools/mutation/preload.txt): what every mutant's first render would
otherwise load again in its own process, about a second each.

- The Kubernetes SDK modules the program registers resources with (pulumi_kubernetes loads them lazily).
- The project's component modules (imports only: a mutant is chosen when a function is called).
- The bundled CRDs and the dry run's schema catalogs, unless a module they come from is being mutated
  (TOOLHIVE_MUTATION_MODULES, set by tools.mutation): a cache filled here by the original code would hide
  a mutant of the function that fills it.

Nothing here runs the Pulumi program: a fork server that has started Pulumi's event loop and thread pool
deadlocks its children.
"""
from __future__ import annotations

import importlib
import os

SDK_MODULES = ("apiextensions.v1", "apiextensions", "apps.v1", "autoscaling.v2", "core.v1", "meta.v1", "networking.v1",
               "policy.v1", "rbac.v1")
PROJECT_MODULES = ("components.platform.toolhive_platform", "components.registry", "components.servers.stacks",
                   "tools.validate")

mutated = set(filter(None, os.environ.get("TOOLHIVE_MUTATION_MODULES", "").split(",")))

for name in SDK_MODULES:
    importlib.import_module(f"pulumi_kubernetes.{name}")
for name in PROJECT_MODULES:
    importlib.import_module(name)

if "components/bundle.py" not in mutated:
    from components import bundle

    for release in bundle.releases():
        bundle.crd_documents(release)
if not mutated & {"tools/validate/schema.py", "tools/validate/__init__.py"}:
    from tools.validate import schema

    schema.crds_for([])  # the bundled CRD catalog
    schema.check([])     # the built-in (Kubernetes 1.33) catalog
