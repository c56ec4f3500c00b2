"""``catalogue import``, ``catalogue imports cancel``, ``catalogue export`` and
``catalogue sync pull|push``: moving items in and out (registered on the command in
:mod:`app.cli`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlmodel import Session

from app.cli_common import (
    EXIT_CANNOT_STORE,
    EXIT_DIFFERENT,
    EXIT_REJECTED,
    EXIT_UNREACHABLE,
    progress_bar,
)
from app.db import for_writing, get_engine
from app.wording.import_report import said


def import_(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="JSON, NDJSON, CSV or XLSX")
    ],
    format: Annotated[
        str | None, typer.Option(help="json, ndjson, csv or xlsx (default: by suffix)")
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(
            help="source system recorded on the items (listing: its mapping in "
            "seed/source_systems.json, by default the one of the rows' guide_url)"
        ),
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option(
            help="implementation (full items, the bulk path) or listing (local codes, no "
            "guide: items become 待完善); default: by the rows' fields"
        ),
    ] = None,
    report: Annotated[
        Path | None, typer.Option(help="write the validation report here (CSV)")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="check every row and report; write nothing")
    ] = False,
) -> None:
    """Import implementations through the bulk path, or a public listing of local codes,
    with a validation report (--dry-run: the same report, nothing written). The limits of
    an import job hold here too (CATALOGUE_IMPORT_MAX_*: docs/operations.md).

    Exit codes: 0 all applied, 1 the file cannot be read or passes a limit, 2 some rows
    rejected."""
    import csv as csv_module

    from app.sync.import_limits import ImportError_
    from app.sync.importer import DryRunSession, import_file

    session_class = DryRunSession if dry_run else Session

    with progress_bar(f"importing {file.name}") as bar:
        task = bar.add_task("import", total=None)
        try:
            result = import_file(
                lambda: session_class(for_writing(get_engine())),
                file,
                fmt=format,
                source=source,
                profile=profile,
                progress=lambda n: bar.advance(task, n),
                read_factory=lambda: Session(get_engine()),
            )
        except (ImportError_, ValueError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(EXIT_UNREACHABLE) from None
    if result["profile"] == "listing":
        listing_summary(result, report)
        if result["rejected"]:
            raise typer.Exit(EXIT_REJECTED)
        return
    typer.echo(
        f"{result['created']} created, {result['updated']} updated, {result['unchanged']} unchanged, "
        f"{result['conflict']} in conflict, {result['rejected']} rejected"
    )
    lines = [{**line, "text": said(line)} for line in result["report"]]
    if report:
        # one line a fault: where (sheet, row, column) and what, in Chinese, then the rule
        with report.open("w", encoding="utf-8", newline="") as f:
            writer = csv_module.DictWriter(f, fieldnames=REPORT_COLUMNS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(lines)
    if not result.get("written", True):
        typer.echo("nothing was written: the header of the workbook is not the layout's", err=True)
    for line in lines[:50]:
        typer.echo(f"  {line['text']} ({line['field']}: {line['rule']})", err=True)
    if result["rejected"]:
        raise typer.Exit(EXIT_REJECTED)


def imports_cancel(
    import_id: Annotated[int, typer.Argument(help="the import job's id (POST /imports)")],
) -> None:
    """Cancel an import job, as DELETE /api/v1/imports/{id} does for an admin: one not
    started yet is cancelled at once; a running one stops between two batches, in whichever
    process runs it (what was committed stays).

    Exit codes: 0 cancelled or cancelling, 1 no such import, 2 the import is finished."""
    from app.errors import NotFound, RuleViolation
    from app.security import Principal
    from app.sync.import_jobs import cancel_job, job_document

    with Session(for_writing(get_engine())) as session:
        try:
            job = cancel_job(session, import_id, Principal(name="cli", role="admin"))
        except NotFound as exc:
            typer.echo(f"error: {exc.detail}", err=True)
            raise typer.Exit(EXIT_UNREACHABLE) from None
        except RuleViolation as exc:
            typer.echo(f"error: {exc.detail}", err=True)
            raise typer.Exit(EXIT_REJECTED) from None
        session.commit()
        doc = job_document(job)
    how = (
        "it stops at its next batch"
        if doc["status"] == "cancelling"
        else f"{doc['error'] or 'it had not started'}"
    )
    typer.echo(f"import {import_id} {doc['status']}: {how}")


def export(
    format: Annotated[str, typer.Option(help="xlsx, csv, cpsv-ap or hsds")],
    region: Annotated[
        str | None, typer.Option(help="region code; includes the regions under it")
    ] = None,
    department: Annotated[str | None, typer.Option(help="credit code")] = None,
    status: Annotated[
        str | None, typer.Option(help="item status (default: all but 4 待承接 and 7 待完善)")
    ] = None,
    sheet: Annotated[
        str, typer.Option(help="csv: items (事项), materials (申请材料) or fees (收费项目)")
    ] = "items",
    base_url: Annotated[
        str, typer.Option(help="cpsv-ap: where the IRIs point (this instance's address)")
    ] = "http://127.0.0.1:8000",
    out: Annotated[Path | None, typer.Option(help="write here (default: stdout)")] = None,
) -> None:
    """Export the published implementations, as GET /api/v1/exports/... does (docs/exports.md).

    Exit codes: 0 written, 2 a filter names nothing (unknown region, department, status)."""
    from app.errors import InvalidInput
    from app.exports.service import FORMATS, SHEETS, Scope, check_scope, export_chunks

    if format not in FORMATS or sheet not in SHEETS:
        known = f"--format is one of {', '.join(FORMATS)}; --sheet one of {', '.join(SHEETS)}"
        typer.echo(f"error: {known}", err=True)
        raise typer.Exit(EXIT_REJECTED)
    scope = Scope(region=region, department=department, status=status)
    with Session(get_engine()) as session:
        try:
            check_scope(session, scope)
        except InvalidInput as exc:
            for e in exc.errors or []:
                typer.echo(f"error: --{e['loc'][-1]}: {e['type']}: {e['msg']}", err=True)
            raise typer.Exit(EXIT_REJECTED) from None
        target = out.open("wb") if out else sys.stdout.buffer
        written = 0

        def step(n: int) -> None:
            nonlocal written
            written += n
            bar.advance(task, n)

        try:
            with progress_bar(f"exporting {format}") as bar:
                task = bar.add_task("export", total=None)
                for chunk in export_chunks(
                    session, format, scope, sheet=sheet, base_url=base_url, progress=step
                ):
                    target.write(chunk)
        finally:
            if out:
                target.close()
    typer.echo(f"exported {written} implementations" + (f" to {out}" if out else ""), err=True)


#: the columns of the report file
REPORT_COLUMNS = ["sheet", "row", "column", "text", "field", "rule", "message"]


def listing_summary(result: dict[str, Any], report: Path | None) -> None:
    import csv as csv_module

    typer.echo(
        f"{result['created']} created, {result['unchanged']} unchanged, "
        f"{result['rejected']} rejected, {result['duplicates']} duplicates; "
        f"{result['identities']} rows with a national identity; "
        f"{result['entries_created']} catalogue entries and "
        f"{result['departments_created']} departments created (status 7 待完善 where new)"
    )
    lines = [
        {"outcome": outcome, **line}
        for outcome, key in (
            ("rejected", "report"),
            ("duplicate", "duplicate_report"),
            ("note", "notes"),
        )
        for line in result[key]
    ]
    lines.sort(key=lambda line: line["row"])
    if report:
        with report.open("w", encoding="utf-8", newline="") as f:
            writer = csv_module.DictWriter(
                f, fieldnames=["row", "outcome", "field", "rule", "message"]
            )
            writer.writeheader()
            writer.writerows(lines)
    for line in [x for x in lines if x["outcome"] != "note"][:50]:
        typer.echo(
            f"  row {line['row']}: {line['outcome']}: {line['field']}: {line['rule']}: "
            f"{line['message']}",
            err=True,
        )


def sync_pull(
    from_: Annotated[str, typer.Option("--from", help="base URL of the instance to follow")],
    key: Annotated[str | None, typer.Option(help="API key (reads need none)")] = None,
    region: Annotated[str | None, typer.Option(help="only items of this region and below")] = None,
    batch: Annotated[int, typer.Option(help="changes per request and transaction")] = 500,
    history: Annotated[
        bool, typer.Option(help="a first pull copies every version, not the snapshot")
    ] = False,
) -> None:
    """Apply the other instance's change feed from the stored position, then compare digests.

    A copy that holds nothing starts from the source's snapshot (GET /sync/snapshot) and
    continues with the feed. When the source's history changed (restored from an earlier
    backup, another instance), the copy loads the snapshot again, repairs what differs and
    says so in one line with the next step.

    A change this copy cannot store (text the text policy refuses, such as a NUL, which
    PostgreSQL cannot hold; a value the database refuses) stops the pull with one line on
    stderr naming its seq, its record and why; the pages before it stay applied and the
    position stays after them.

    Exit codes: 0 the copies are equal, 1 the other side cannot be reached, 3 digests
    differ, 4 a change cannot be stored here."""
    from app.sync.mirror import ChangeRefused, MirrorError, pull

    with progress_bar("pulling changes") as bar:
        task = bar.add_task("pull", total=None)
        try:
            result = pull(
                lambda: Session(for_writing(get_engine())),
                from_,
                region=region,
                batch=batch,
                key=key,
                progress=lambda done, head: bar.update(task, completed=done, total=head),
                history=history,
            )
        except ChangeRefused as exc:
            bar.stop()
            typer.echo(f"catalogue sync pull: {exc}", err=True)
            raise typer.Exit(EXIT_CANNOT_STORE) from None
        except MirrorError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(EXIT_UNREACHABLE) from None
    loaded = result.get("snapshot")
    if loaded:
        typer.echo(
            f"snapshot at seq {loaded['seq']}: {loaded['loaded']} items added, "
            f"{loaded['repaired']} repaired, {loaded['removed']} removed"
        )
    typer.echo(
        f"applied {result['applied']} of {result['seen']} changes, position {result['last_seq']}; "
        f"{result['count']} items here, {result['remote_count']} there: "
        + ("digests equal" if result["equal"] else "DIGESTS DIFFER")
    )
    if not result["equal"]:
        typer.echo(
            "DIGESTS DIFFER: first differing items "
            + ", ".join(result.get("differing") or ["(none listed)"])
            + "; pull again, and if they stay, compare GET /items/{code} on both sides",
            err=True,
        )
        raise typer.Exit(EXIT_DIFFERENT)


def sync_push(
    to: Annotated[str, typer.Option(help="base URL of the instance to send to")],
    key: Annotated[str, typer.Option(help="a sync key of that instance")],
    region: Annotated[str | None, typer.Option(help="only items of this region and below")] = None,
    batch: Annotated[int, typer.Option(help="items per request (at most 1000)")] = 500,
) -> None:
    """Send the local implementations through the other instance's bulk endpoint.

    Exit codes: 0 all accepted, 1 unreachable, 2 some items rejected or in conflict."""
    from app.sync.mirror import MirrorError, push

    with Session(get_engine()) as session, progress_bar("pushing items") as bar:
        task = bar.add_task("push", total=None)
        try:
            result = push(
                session,
                to,
                key,
                region=region,
                batch=batch,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
        except MirrorError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(EXIT_UNREACHABLE) from None
    typer.echo(
        f"sent {result['sent']}: {result['created']} created, {result['updated']} updated, "
        f"{result['unchanged']} unchanged, {result['conflict']} in conflict, {result['rejected']} rejected"
    )
    for problem in result["problems"][:20]:
        typer.echo(f"  {problem['code']}: {problem['result']}: {problem['errors']}", err=True)
    if result["problems"]:
        raise typer.Exit(EXIT_REJECTED)
