"""Shared by the page tests."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from tests.pages.test_pages import HARBIN, PASSPORT, _code


@pytest.fixture
def passport(session: Session) -> str:
    """The Harbin implementation of 普通护照签发."""
    return _code(session, PASSPORT, HARBIN)
