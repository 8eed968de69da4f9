"""Kept for ``python -m tools.schema_check``: the schema validator now lives in ``tools.validate.schema``."""
from __future__ import annotations

import sys

from tools.validate.schema import *  # noqa: F401,F403
from tools.validate.schema import main

if __name__ == "__main__":
    sys.exit(main())
