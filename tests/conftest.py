"""Shared fixtures: paths and a settings factory."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "seeds" / "afp-2016-04-alep-fr.txt"


@pytest.fixture(scope="session")
def seed_text() -> str:
    return SEED.read_text("utf-8")
