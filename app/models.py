"""Every table, imported in one place for Alembic and the tests."""

from sqlmodel import SQLModel

from app.catalogue.models import (
    CatalogueEntry,
    ChangeLog,
    Implementation,
    IssuedCode,
    ItemFee,
    ItemMaterial,
    RecordVersion,
)
from app.directory.models import CodeListEntry, Department, Region, SharedMaterial
from app.search.models import SearchGap, SearchPosition, SynonymSet
from app.security import ApiKey
from app.sync.models import IdempotencyRecord, SyncPosition

metadata = SQLModel.metadata

__all__ = [
    "ApiKey",
    "CatalogueEntry",
    "ChangeLog",
    "CodeListEntry",
    "Department",
    "Implementation",
    "IdempotencyRecord",
    "IssuedCode",
    "ItemFee",
    "ItemMaterial",
    "RecordVersion",
    "Region",
    "SearchGap",
    "SearchPosition",
    "SharedMaterial",
    "SyncPosition",
    "SynonymSet",
    "metadata",
]
