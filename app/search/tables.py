"""The search tables editors and admins keep: recorded gaps (queries that found little) and
the versioned synonym table."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.dbtypes import utcnow
from app.errors import InvalidInput, field_error
from app.search.models import SearchGap, SynonymSet
from app.search.text import normalise, words
from app.search.vocabulary import DEFAULT_SYNONYMS


def list_gaps(session: Session, *, days: int, limit: int) -> dict[str, Any]:
    since = utcnow() - timedelta(days=days)
    rows = session.exec(
        select(
            SearchGap.query,
            SearchGap.region,
            func.count(),
            func.max(SearchGap.hits),
            func.max(SearchGap.recorded_at),
        )
        .where(col(SearchGap.recorded_at) >= since)
        .group_by(SearchGap.query, SearchGap.region)
        .order_by(func.count().desc(), SearchGap.query)
        .limit(limit)
    ).all()
    return {
        "since": since.isoformat(),
        "gaps": [
            {
                "query": q,
                "region": r,
                "count": n,
                "max_hits": h,
                "last_seen": last.isoformat() if isinstance(last, datetime) else str(last),
            }
            for q, r, n, h, last in rows
        ],
    }


def synonym_document(session: Session) -> dict[str, Any]:
    row = session.exec(select(SynonymSet).order_by(col(SynonymSet.version).desc())).first()
    if row is None:
        return {"version": 0, "groups": DEFAULT_SYNONYMS, "updated_at": None, "updated_by": None}
    return {
        "version": row.version,
        "groups": row.groups,
        "updated_at": row.updated_at.isoformat(),
        "updated_by": row.updated_by,
    }


def replace_synonyms(
    session: Session, groups: list[list[str]], actor_name: str, expected: int | None
) -> dict[str, Any]:
    """Append a new version of the synonym table (versions are kept; the newest applies)."""
    from app.errors import PreconditionFailed

    current = session.exec(select(func.max(SynonymSet.version))).one() or 0
    if expected is not None and expected != current:
        raise PreconditionFailed(
            f"the synonym table is at version {current}; you sent If-Match {expected}",
            extra={"current_version": current},
        )
    errors = []
    for i, group in enumerate(groups):
        terms = [t.strip() for t in group]
        if len({normalise(t) for t in terms if t}) < 2:
            errors.append(
                field_error(
                    ["body", "groups", i], "a group needs two different terms", "synonyms.group"
                )
            )
        for j, t in enumerate(terms):
            if not t or len(t) > 50 or not words(normalise(t)):
                errors.append(
                    field_error(
                        ["body", "groups", i, j], "1–50 characters of text", "synonyms.term"
                    )
                )
    if errors:
        raise InvalidInput("the synonym table is not valid", errors=errors)
    session.add(
        SynonymSet(
            version=current + 1,
            groups=[[t.strip() for t in g] for g in groups],
            updated_by=actor_name,
        )
    )
    session.flush()
    return synonym_document(session)
