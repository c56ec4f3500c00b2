"""The review tests run with review on, as a deployment has it by default."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _review_on_everywhere_here(review_on: None) -> None:
    """Every test here with ``review_on`` (tests/conftest.py)."""
