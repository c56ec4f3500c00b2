"""Rebase and diff of change requests: what a request changes in the published item, and
how it is brought onto a version the item reached since it was made."""

from __future__ import annotations

from typing import Any

import orjson
from sqlmodel import Session

from app.catalogue import diffs, history
from app.catalogue.documents import item_input, merge_patch
from app.catalogue.models import Implementation
from app.errors import RuleViolation, field_error
from app.review.models import AliasProposal, ChangeRequest, RequestKind, RequestStatus
from app.review.service import (
    EDITABLE,
    _act,
    _in_state,
    _own,
    _published,
    entry_aliases,
    proposed_input,
)
from app.security import Principal


def _flat(value: Any, path: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], Any]:
    """Leaf paths of a document (lists are leaves: a list is one field's value)."""
    if isinstance(value, dict) and value:
        out: dict[tuple[Any, ...], Any] = {}
        for key, inner in value.items():
            out.update(_flat(inner, (*path, key)))
        return out
    return {path: value}


def _set(doc: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        doc = doc.setdefault(key, {})
    if value is _GONE:
        doc.pop(path[-1], None)
    else:
        doc[path[-1]] = value


_GONE = object()


def _changes(before: dict[str, Any], after: dict[str, Any]) -> dict[tuple[Any, ...], Any]:
    a, b = _flat(before), _flat(after)
    return {p: b.get(p, _GONE) for p in set(a) | set(b) if a.get(p, _GONE) != b.get(p, _GONE)}


def _overlaps(p: tuple[Any, ...], q: tuple[Any, ...]) -> bool:
    n = min(len(p), len(q))
    return p[:n] == q[:n]


def rebase(session: Session, request_id: int, actor: Principal) -> ChangeRequest:
    """Bring the request onto the item's current version. An edit's own changes (against
    the version it was made on) are laid onto the current version; a field both changed,
    to different values, is a conflict (409, each by its path)."""
    cr = _own(session, request_id, actor)
    _in_state(cr, (*EDITABLE, RequestStatus.SUBMITTED), "rebased")
    impl = session.get(Implementation, cr.item_code) if cr.item_code else None
    if impl is None or impl.version == cr.base_version:
        return cr
    if cr.kind == RequestKind.EDIT:
        base = item_input(
            orjson.loads(history.get_version(session, cr.item_code, cr.base_version).snapshot)
        )
        current = item_input(_published(session, cr.item_code))
        mine = (
            _changes(base, cr.body)
            if cr.patch is None
            else _changes(base, merge_patch(base, cr.patch))
        )
        theirs = _changes(base, current)
        conflicts = [
            p
            for p in mine
            for q in theirs
            if _overlaps(p, q) and not (p == q and mine[p] == theirs[q])
        ]
        if conflicts:
            raise RuleViolation(
                f"the request and version {impl.version} both changed {len(conflicts)} field(s)",
                type="rebase-conflict",
                errors=[
                    field_error(
                        ["body", *p], "changed by the request and since it was made", "conflict"
                    )
                    for p in sorted(set(conflicts), key=str)
                ],
                extra={"base_version": cr.base_version, "current_version": impl.version},
            )
        if cr.patch is None:
            merged = orjson.loads(orjson.dumps(current))
            for path, value in mine.items():
                _set(merged, path, value)
            cr.body = merged
    cr.base_version = impl.version
    _act(session, cr, "rebase", actor)
    return cr


def diff(session: Session, cr: ChangeRequest, lang: str = "zh-Hans") -> list[dict[str, Any]]:
    """What the request changes in the published item, field by field with their labels in
    ``lang`` (app/catalogue/diffs.py); once approved, what its version changed."""
    if cr.kind == RequestKind.ALIAS:
        before, after = entry_aliases(session, cr)
        if cr.status == RequestStatus.APPROVED:  # the entry has them now
            proposed = set(AliasProposal.model_validate(cr.body or {}).aliases)
            before = [a for a in before if a not in proposed]
        return diffs.diff({"aliases": before}, {"aliases": after}, lang=lang)
    if cr.status == RequestStatus.APPROVED and cr.published_version:
        # the version it published against the one before (nothing, for a new item)
        version = cr.published_version
        rows = history.get_versions(
            session, cr.published_code, *range(max(version - 1, 1), version + 1)
        )
        before = orjson.loads(rows[0].snapshot) if version > 1 else {}
        after = orjson.loads(rows[-1].snapshot)
    else:
        after = proposed_input(session, cr)
        if after is None:
            return []
        before = (
            {} if cr.kind == RequestKind.CREATE else item_input(_published(session, cr.item_code))
        )
    return diffs.diff(before, after, skip=history.VOLATILE, lang=lang)
