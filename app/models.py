"""Every module that defines tables, imported in one place so that ``metadata`` holds the
whole schema (Alembic's ``migrations/env.py``, the tests)."""

from sqlmodel import SQLModel

from app import security, versionlog
from app.catalogue import models as catalogue
from app.corrections import models as corrections
from app.directory import models as directory
from app.files import models as files
from app.legal import models as legal
from app.push import models as push
from app.quality import models as quality
from app.review import models as review
from app.search import models as search
from app.sync import models as sync

#: the modules whose tables make up the schema
TABLE_MODULES = (security, versionlog, catalogue, corrections, directory, files, legal, push,
                 quality, review, search, sync)  # fmt: skip

metadata = SQLModel.metadata
