"""Entry point of the CrossGuard policy pack: builds the PolicyPack and serves it to the engine.

Pulumi runs the pack with ``policies/`` as the working directory (``python -m pulumi.policy ...
<pack dir>``), so the pack directory is on sys.path while the ``policies`` package is importable only
from the project root. Put the project root first and drop the pack directory, so the pack's modules
are imported as ``policies.*`` and never shadow other modules.
"""
import os
import sys

_PACK_DIR = os.path.dirname(os.path.abspath(__file__))
_PROJECT_ROOT = os.path.dirname(_PACK_DIR)
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _PACK_DIR]
if _PROJECT_ROOT not in sys.path:
    sys.path.insert(0, _PROJECT_ROOT)

from policies.pack import serve  # noqa: E402

serve()
