"""Shared test helpers: reference data paths, the mock runtime and resource lookup."""
from __future__ import annotations

from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_DIR = PROJECT_ROOT.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared beside the project root: upstream CRDs, chart data, PSS fixtures."""
    if not SHARED_DIR.is_dir():
        pytest.fail(f"reference data not found at {SHARED_DIR} (expected ../shared beside the project)")
    return SHARED_DIR
