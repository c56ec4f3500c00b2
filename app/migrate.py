"""Run the Alembic migrations from code (``catalogue migrate``, the tests), and say whether
this release's code can work on the schema a database is at (expand-then-contract)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from app.db import normalise_url, unavailable

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic (and the Mako and Pygments it pulls in) is imported where a migration is run or
# the scripts are read: not by every server and CLI start that only imports this module

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    from alembic import command

    command.downgrade(alembic_config(url), revision)


@lru_cache
def schema_head() -> str | None:
    """The revision this release's code needs (readiness compares the database's to it)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


@lru_cache
def known_revisions() -> tuple[str, ...]:
    """This release's revisions, its head first (the history is one line)."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(MIGRATIONS))
    return tuple(rev.revision for rev in script.walk_revisions("base", "heads"))


@dataclass(frozen=True)
class SchemaState:
    """Where the database's schema stands for this release's code (模式兼容).

    ``serves`` is true when the code works on it: the schema is at this release's head,
    or ahead by expand-only migrations (the database's ``schema_release`` row says the
    oldest release head it still serves). ``reason`` says why not, with the next step."""

    at: str | None
    head: str | None
    serves: bool
    reason: str
    serves_from: str | None = None


def schema_state(conn: Connection) -> SchemaState:
    """Read the database's revision (and, when it is ahead of this release, its
    declaration of the releases it serves). Raises what the connection raises."""
    head = schema_head()
    try:
        at = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError as exc:
        if unavailable(exc):
            raise
        conn.rollback()
        return SchemaState(None, head, False, "the database has no schema: run `catalogue migrate`")
    if at == head:
        return SchemaState(at, head, True, "ok", serves_from=None)
    if at is None or at in known_revisions():  # behind: this release's migrations not run
        return SchemaState(
            at, head, False, f"schema at {at}, this release needs {head}: run `catalogue migrate`"
        )
    try:  # ahead: a later release migrated; does the schema still serve this one?
        serves_from = conn.execute(
            text("SELECT serves_from FROM schema_release WHERE revision = :at"), {"at": at}
        ).scalar()
    except DBAPIError as exc:
        if unavailable(exc):
            raise
        conn.rollback()
        serves_from = None
    if serves_from is None:
        return SchemaState(
            at, head, False, f"schema at {at} is newer than this release ({head}) and does "
            "not say it serves it: roll this instance to the release that migrated",
        )  # fmt: skip
    if serves_from in known_revisions():
        return SchemaState(at, head, True, "ok", serves_from=serves_from)
    return SchemaState(
        at, head, False, f"schema at {at} serves releases from {serves_from} on (a contract "
        f"migration); this release needs {head}: replace this instance with the new release",
        serves_from=serves_from,
    )  # fmt: skip
