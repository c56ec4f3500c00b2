"""What a copy can store of a province's feed: the checks ``catalogue sync pull`` runs on
a page before applying it, and the one-line account of a change it cannot store (see
:mod:`app.sync.mirror`)."""

from __future__ import annotations

import logging
import re
from typing import Any

import orjson
from sqlalchemy import exc

from app.fields import violation
from app.stored_text import Violation, escape, text_violations


class MirrorError(Exception):
    pass


class ChangeRefused(MirrorError):
    """A change (or a row of the directory) that this copy cannot store. The message is
    one line: where the pull stopped, what holds what, and what to do."""

    def __init__(self, where: str, reason: str, advice: str) -> None:
        super().__init__(f"stopped at {where}: {reason}; this copy cannot store it. {advice}")
        self.where, self.reason = where, reason


#: what a change's text breaking the policy asks of the operator
REPAIR_SOURCE = (
    "The version must be repaired at the source (`catalogue doctor --all-versions` there "
    "lists such text); until then a pull stops here."
)
SEE_SOURCE = "Nothing of its page was applied; see to the change at the source, then pull again."
#: the directory is read as it stands at the source: correcting the row there is enough
CORRECT_SOURCE = "Correct it at the source, then pull again."

#: errors of applying a change that its content causes: a value the database refuses
#: (DataError: NUL, too long…; IntegrityError: a code already held…), one that cannot be
#: bound or serialised, a change without a field it needs. Not OperationalError and
#: InterfaceError (locked, disk full, connection lost): those are no fault of the change.
STORE_ERRORS = (exc.StatementError, KeyError, TypeError, ValueError, AttributeError)
LOCAL_ERRORS = (exc.OperationalError, exc.InterfaceError)


class AbortedPipeline(logging.Filter):
    """psycopg logs a warning when it closes the pipeline of a statement that failed; the
    failure itself is what the pull reports, on its one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("error ignored terminating")


def change_name(change: dict[str, Any]) -> str:
    return (
        f"seq {change.get('seq')} ({escape(str(change.get('kind')))} "
        f"{escape(str(change.get('code')))} version {change.get('version')})"
    )


#: what no copy can store: PostgreSQL holds no NUL in text or JSON, and no database holds a
#: lone surrogate. Other text the policy refuses today was accepted by the source before
#: it; a copy stores it as the source does (``catalogue doctor`` lists it for repair)
UNSTORABLE = frozenset({"text.nul", "text.encoding"})


def first_unstorable(value: Any, path: str = "") -> Violation | None:
    return next((v for v in text_violations(value, path) if v.rule in UNSTORABLE), None)


def _holds(found: Violation) -> str:
    path = escape(found.path) or "the state"
    return f"{path}{' (a key)' if found.key else ''} holds {found.point} ({found.rule})"


def error_reason(error: BaseException) -> str:
    """What the database (or the code) said, on one line, escaped, at most 200 characters."""
    cause = getattr(error, "orig", None) or error
    diag = getattr(cause, "diag", None)  # psycopg: the server's message and its detail
    primary = getattr(diag, "message_primary", None)
    if primary:
        detail = getattr(diag, "message_detail", None)
        said = escape(f"{primary}: {detail}" if detail else primary, quotes=False)
    else:
        said = escape((str(cause).strip().splitlines() or [""])[0], quotes=False)
    if len(said) > 200:
        said = said[:199] + "…"
    return f"the database refused it ({type(cause).__name__}: {said})"


#: the fields of a change beside its state, stored with its version
_VERSION_FIELDS = ("event", "reason", "decision", "key", "details", "operation")


#: how orjson writes the C0 controls the policy refuses, beside tab and LF (JSON strings
#: are judged multi-line; ``\r`` is suspect for a CR outside CR LF)
_ESCAPED_CONTROL = re.compile(rb"\\(?:u00|[bfr])")


def _suspect(raw: bytes, text: str) -> bool:
    """Whether the JSON ``raw`` (``text`` decoded) orjson wrote may hold a string the text
    policy refuses. orjson writes C0 controls as escapes and every other character as
    itself, and every character the policy refuses is one that ``str.isprintable`` is not
    (tests/sync/test_mirror_stop.py checks both for every code point): a clean state costs one
    pass over its text at C speed (10 µs an item of the seed; walking its strings with
    :func:`app.fields.violation` took 300 µs, more than applying the change)."""
    if b"\\" in raw and _ESCAPED_CONTROL.search(raw):
        return True
    return not text.isprintable() and violation(text, multiline=False) is not None


def _refused_text(change: dict[str, Any], snapshot: tuple[bytes, str] | None) -> Violation | None:
    """The first string of ``change`` that the text policy refuses. ``snapshot`` is the
    state as the JSON to be stored (bytes and text): the state is walked only when that
    holds a suspect character; None walks it."""
    if snapshot is None or _suspect(*snapshot):
        state = change.get("item") if change.get("kind") == "item" else change.get("record")
        found = first_unstorable(state)
        if found is not None:
            return found
    for name in _VERSION_FIELDS:
        value = change.get(name)
        if value is None or isinstance(value, str) and violation(value) is None:
            continue
        found = first_unstorable(value, f"version.{name}")
        if found is not None:
            return found
    return None


def _snapshot_json(change: dict[str, Any]) -> tuple[bytes, str] | TypeError:
    """The JSON of a change's state as it is stored (bytes and text), or why orjson cannot
    write it (a lone surrogate, which the text policy names; an integer beyond 64 bits)."""
    state = change["item"] if change["kind"] == "item" else change["record"]
    try:
        raw = orjson.dumps(state)
    except TypeError as error:
        return error
    return raw, raw.decode()


def check_changes(changes: list[dict[str, Any]]) -> list[str]:
    """The JSON text of each change's state, once every change has been found storable;
    else :class:`ChangeRefused` for the first that is not, before anything is written."""
    snapshots = []
    for c in changes:
        snapshot = _snapshot_json(c)
        found = _refused_text(c, None if isinstance(snapshot, TypeError) else snapshot)
        if found is not None:
            raise ChangeRefused(change_name(c), _holds(found), REPAIR_SOURCE)
        if isinstance(snapshot, TypeError):
            raise ChangeRefused(
                change_name(c), f"its state cannot be written as JSON ({snapshot})", SEE_SOURCE
            )
        snapshots.append(snapshot[1])
    return snapshots


def check_directory(kind: str, code: Any, row: dict[str, Any]) -> None:
    found = first_unstorable(row)
    if found is not None:
        raise ChangeRefused(
            f"the directory ({kind} {escape(str(code))})", _holds(found), CORRECT_SOURCE
        )
