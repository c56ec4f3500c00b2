"""The review tests run with review on, as a deployment has it by default."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.config import get_settings


@pytest.fixture(autouse=True)
def review_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Editors' writes need review (``CATALOGUE_REVIEW_EDITORS``)."""
    monkeypatch.setenv("CATALOGUE_REVIEW_EDITORS", "true")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()
