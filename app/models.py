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
from app.corrections.models import Correction
from app.directory.models import CodeListEntry, Department, Region, SharedMaterial
from app.files.models import StoredFile
from app.legal.models import LegalBasis, LegalBasisTask
from app.push.models import Subscription, WebhookDelivery
from app.quality.models import QualityDay, QualityFinding
from app.review.models import ChangeRequest, ReviewAction
from app.search.models import SearchGap, SearchPosition, SynonymSet
from app.security import ApiKey
from app.sync.models import IdempotencyRecord, ImportJob
from app.versionlog import SyncPosition

metadata = SQLModel.metadata

__all__ = [
    "ApiKey",
    "CatalogueEntry",
    "ChangeRequest",
    "ChangeLog",
    "CodeListEntry",
    "Correction",
    "Department",
    "Implementation",
    "QualityDay",
    "QualityFinding",
    "IdempotencyRecord",
    "ImportJob",
    "IssuedCode",
    "ItemFee",
    "ItemMaterial",
    "LegalBasis",
    "LegalBasisTask",
    "RecordVersion",
    "Region",
    "ReviewAction",
    "SearchGap",
    "SearchPosition",
    "SharedMaterial",
    "StoredFile",
    "Subscription",
    "SyncPosition",
    "SynonymSet",
    "WebhookDelivery",
    "metadata",
]
