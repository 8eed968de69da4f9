"""Entry point of the CrossGuard policy pack: builds the PolicyPack and serves it to the engine.

The CLI's shim runs ``<virtualenv>/bin/python -u -m pulumi.policy <engine> <pack dir>`` with the pack
directory as working directory, and ``runpy`` runs this file with the pack directory first on sys.path.
The pack must start wherever it lies: in a checkout (``policies/``) and unpacked alone from
``pulumi policy publish`` (any directory name, no project root above it). So the pack directory itself
is imported as the package ``policies`` (its modules import each other relatively), and it is taken off
sys.path so that none of its modules (``check``, ``core``, ``k8s``, ...) shadows a top-level module.
"""
import importlib.util
import os
import sys

_PACK_DIR = os.path.dirname(os.path.abspath(__file__))
_PACKAGE = "policies"


def _import_pack_package():
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _PACK_DIR]
    loaded = sys.modules.get(_PACKAGE)
    if loaded is not None and _PACK_DIR in [os.path.abspath(p) for p in getattr(loaded, "__path__", [])]:
        return  # `python -m policies` from the project root: already this package
    spec = importlib.util.spec_from_file_location(
        _PACKAGE, os.path.join(_PACK_DIR, "__init__.py"), submodule_search_locations=[_PACK_DIR])
    package = importlib.util.module_from_spec(spec)
    sys.modules[_PACKAGE] = package
    spec.loader.exec_module(package)


_import_pack_package()
importlib.import_module(f"{_PACKAGE}.pack").serve()
