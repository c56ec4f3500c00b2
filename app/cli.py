"""The ``catalogue`` command."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlmodel import Session

from app.config import get_settings
from app.db import for_writing, get_engine

app = typer.Typer(
    help="service-catalogue: the government-service item catalogue", no_args_is_help=True
)
keys = typer.Typer(help="API keys", no_args_is_help=True)
app.add_typer(keys, name="keys")
sync = typer.Typer(
    help="keep this instance in step with another (a city with its province)", no_args_is_help=True
)
app.add_typer(sync, name="sync")

# exit codes of `catalogue sync`, `catalogue import` and `catalogue doctor`, for scripts
EXIT_UNREACHABLE = 1
EXIT_REJECTED = 2
EXIT_DIFFERENT = 3
#: `sync pull`: a change (or the directory) holds what this copy cannot store
EXIT_CANNOT_STORE = 4
#: `doctor`: stored text that the text policy refuses (app.doctor.EXIT_FINDINGS)
EXIT_FINDINGS = 4


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
) -> None:
    """Serve the API (OpenAPI docs at /docs)."""
    import os

    import uvicorn

    # the app applies the change log to the search index in a background thread
    os.environ.setdefault("CATALOGUE_SEARCH_INDEXER", "true")
    # and delivers webhooks in another (one process at a time: app/leader.py)
    os.environ.setdefault("CATALOGUE_WEBHOOKS", "true")
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,  # the app logs writes and errors itself, as JSON
        log_config=None,
    )


@app.command()
def migrate() -> None:
    """Bring the database schema to the latest revision."""
    from app.migrate import upgrade

    upgrade(get_settings().database_url)
    typer.echo("database is at the latest revision")


@app.command()
def seed(
    reference_only: Annotated[
        bool, typer.Option(help="only code lists and regions, no sample catalogue")
    ] = False,
) -> None:
    """Load code lists and regions, and the sample catalogue once."""
    from app.seed import load_reference, load_sample

    seed_dir = Path(get_settings().seed_dir)
    with Session(get_engine()) as session:
        load_reference(session, seed_dir)
        loaded = False
        if not reference_only:
            loaded = load_sample(
                session, seed_dir, lambda what, n: typer.echo(f"  loaded {n} {what}")
            )
        session.commit()
    typer.echo("sample catalogue loaded" if loaded else "reference data refreshed; catalogue kept")


@keys.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="admin, reviewer, editor or sync")],
    name: Annotated[str, typer.Option(help="a unique name, recorded on every write")],
    department: Annotated[
        list[str] | None, typer.Option(help="credit code an editor may write (repeatable)")
    ] = None,
    region: Annotated[
        str | None, typer.Option(help="region code or prefix the key is limited to")
    ] = None,
) -> None:
    """Create a key and print its secret (shown once, stored hashed)."""
    from app.errors import DomainError
    from app.security import create_key

    with Session(get_engine()) as session:
        try:
            secret = create_key(
                session, name=name, role=role, departments=department or [], region=region
            )
        except DomainError as exc:
            typer.echo(f"error: {exc.detail}", err=True)
            raise typer.Exit(2) from None
        session.commit()
    typer.echo(secret)


@keys.command("revoke")
def keys_revoke(name: str) -> None:
    """Revoke a key by name."""
    from app.errors import DomainError
    from app.security import revoke_key

    with Session(get_engine()) as session:
        try:
            revoke_key(session, name)
        except DomainError as exc:
            typer.echo(f"error: {exc.detail}", err=True)
            raise typer.Exit(1) from None
        session.commit()
    typer.echo(f"revoked {name}")


@keys.command("list")
def keys_list() -> None:
    """List keys (never their secrets)."""
    from app.security import list_keys

    with Session(get_engine()) as session:
        for k in list_keys(session):
            typer.echo(json.dumps(k, ensure_ascii=False))


@app.command()
def schemas(
    out: Annotated[Path, typer.Option(help="folder to write to")] = Path("schemas"),
) -> None:
    """Write the JSON Schemas of the exchange format."""
    from app.schemas_export import write_schemas

    for path in write_schemas(out):
        typer.echo(f"wrote {path}")


@app.command()
def doctor(
    format: Annotated[
        str, typer.Option(help="text (one line a finding) or json (one JSON object a line)")
    ] = "text",
    all_versions: Annotated[
        bool,
        typer.Option(
            help="every version, not only the latest of each record (the feed serves every "
            "version to a mirror)"
        ),
    ] = False,
    batch: Annotated[int, typer.Option(min=1, help="rows read at a time")] = 500,
) -> None:
    """Find stored text that the text policy refuses (NUL, control characters, bidi
    overrides, zero-width characters, lone surrogates): in the latest version of every
    item, entry and department and in the text columns of the catalogue's tables.

    One line a finding on stdout: table or kind, code, JSON path, rule, code point, offset
    and at most 40 characters around it, escaped; a summary on stderr. Strings inside
    stored JSON are judged as multi-line text (the JSON does not say a field's kind), so
    line breaks there are not reported.

    Exit codes: 0 nothing found, 4 findings."""
    from app.doctor import Scan

    if format not in ("text", "json"):
        typer.echo("error: --format is text or json", err=True)
        raise typer.Exit(2)
    scan = Scan(get_engine(), batch=batch, all_versions=all_versions)
    found = 0
    for finding in scan:
        found += 1
        if format == "json":
            typer.echo(json.dumps(finding.as_dict(), ensure_ascii=True))
        else:
            typer.echo(finding.line())
    typer.echo(
        f"{found} findings in {scan.versions} versions and {scan.rows} rows"
        + ("" if found else ": the stored text keeps the policy"),
        err=True,
    )
    if found:
        raise typer.Exit(EXIT_FINDINGS)


def _progress(label: str):  # type: ignore[no-untyped-def]
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=False,
        disable=not sys.stderr.isatty(),
        console=None,
    )


@app.command("import")
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
    with a validation report (--dry-run: the same report, nothing written).

    Exit codes: 0 all applied, 1 the file cannot be read, 2 some rows rejected."""
    import csv as csv_module

    from app.sync.importer import DryRunSession, ImportError_, import_file

    session_class = DryRunSession if dry_run else Session

    with _progress(f"importing {file.name}") as bar:
        task = bar.add_task("import", total=None)
        try:
            result = import_file(
                lambda: session_class(for_writing(get_engine())),
                file,
                fmt=format,
                source=source,
                profile=profile,
                progress=lambda n: bar.advance(task, n),
            )
        except (ImportError_, ValueError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(EXIT_UNREACHABLE) from None
    if result["profile"] == "listing":
        _listing_summary(result, report)
        if result["rejected"]:
            raise typer.Exit(EXIT_REJECTED)
        return
    typer.echo(
        f"{result['created']} created, {result['updated']} updated, {result['unchanged']} unchanged, "
        f"{result['conflict']} in conflict, {result['rejected']} rejected"
    )
    if report:
        with report.open("w", encoding="utf-8", newline="") as f:
            writer = csv_module.DictWriter(f, fieldnames=["row", "field", "rule", "message"])
            writer.writeheader()
            writer.writerows(result["report"])
    for line in result["report"][:50]:
        typer.echo(
            f"  row {line['row']}: {line['field']}: {line['rule']}: {line['message']}", err=True
        )
    if result["rejected"]:
        raise typer.Exit(EXIT_REJECTED)


@app.command()
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
            with _progress(f"exporting {format}") as bar:
                task = bar.add_task("export", total=None)
                for chunk in export_chunks(
                    session, format, scope, sheet=sheet, base_url=base_url, progress=step
                ):
                    target.write(chunk)
        finally:
            if out:
                target.close()
    typer.echo(f"exported {written} implementations" + (f" to {out}" if out else ""), err=True)


def _listing_summary(result: dict[str, Any], report: Path | None) -> None:
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


@sync.command("pull")
def sync_pull(
    from_: Annotated[str, typer.Option("--from", help="base URL of the instance to follow")],
    key: Annotated[str | None, typer.Option(help="API key (reads need none)")] = None,
    region: Annotated[str | None, typer.Option(help="only items of this region and below")] = None,
    batch: Annotated[int, typer.Option(help="changes per request and transaction")] = 500,
) -> None:
    """Apply the other instance's change feed from the stored position, then compare digests.

    A change this copy cannot store (text the text policy refuses, such as a NUL, which
    PostgreSQL cannot hold; a value the database refuses) stops the pull with one line on
    stderr naming its seq, its record and why; the pages before it stay applied and the
    position stays after them.

    Exit codes: 0 the copies are equal, 1 the other side cannot be reached, 3 digests
    differ, 4 a change cannot be stored here."""
    from app.sync.mirror import ChangeRefused, MirrorError, pull

    with _progress("pulling changes") as bar:
        task = bar.add_task("pull", total=None)
        try:
            result = pull(
                lambda: Session(for_writing(get_engine())),
                from_,
                region=region,
                batch=batch,
                key=key,
                progress=lambda done, head: bar.update(task, completed=done, total=head),
            )
        except ChangeRefused as exc:
            bar.stop()
            typer.echo(f"catalogue sync pull: {exc}", err=True)
            raise typer.Exit(EXIT_CANNOT_STORE) from None
        except MirrorError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(EXIT_UNREACHABLE) from None
    typer.echo(
        f"applied {result['applied']} of {result['seen']} changes, position {result['last_seq']}; "
        f"{result['count']} items here, {result['remote_count']} there: "
        + ("digests equal" if result["equal"] else "DIGESTS DIFFER")
    )
    if not result["equal"]:
        raise typer.Exit(EXIT_DIFFERENT)


@sync.command("push")
def sync_push(
    to: Annotated[str, typer.Option(help="base URL of the instance to send to")],
    key: Annotated[str, typer.Option(help="a sync key of that instance")],
    region: Annotated[str | None, typer.Option(help="only items of this region and below")] = None,
    batch: Annotated[int, typer.Option(help="items per request (at most 1000)")] = 500,
) -> None:
    """Send the local implementations through the other instance's bulk endpoint.

    Exit codes: 0 all accepted, 1 unreachable, 2 some items rejected or in conflict."""
    from app.sync.mirror import MirrorError, push

    with Session(get_engine()) as session, _progress("pushing items") as bar:
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


def _indexer():  # type: ignore[no-untyped-def]
    from app.search.indexer import Indexer
    from app.search.service import SearchService, backend_from_settings

    return Indexer(SearchService(backend_from_settings(get_settings())))


@app.command()
def reindex() -> None:
    """Build a new search index from the database and swap it in (no downtime)."""
    indexer = _indexer()
    with Session(get_engine()) as session:
        n = indexer.rebuild(session)
        session.commit()
    while indexer.step(get_engine()):
        pass
    typer.echo(f"indexed {n} items into the {indexer.backend.name} index")


@app.command("search-check")
def search_check(
    repair: Annotated[bool, typer.Option(help="index what is missing or stale")] = True,
) -> None:
    """Compare the search index with the database; report (and repair) differences."""
    indexer = _indexer()
    with Session(get_engine()) as session:
        report = indexer.check(session, repair=repair)
        session.commit()
    typer.echo(json.dumps(report.as_dict(), ensure_ascii=False))
    if not report.clean and not repair:
        raise typer.Exit(1)


@app.command()
def index(
    once: Annotated[bool, typer.Option(help="catch up and exit")] = False,
) -> None:
    """Apply the change log to the search index (a loop; retries while the backend is down).
    One process at a time indexes, this one or a `catalogue serve`: the others wait to take
    over (app/leader.py)."""
    import signal
    import threading

    from app.leader import Leadership
    from app.search.indexer import LEADERSHIP

    indexer = _indexer()
    if once:
        leadership = Leadership(get_engine(), LEADERSHIP)
        if not leadership.acquire():
            typer.echo("another process indexes now: nothing to do")
            return
        try:
            total = 0
            while n := indexer.step(get_engine()):
                total += n
        finally:
            leadership.release()
        typer.echo(f"applied {total} changes")
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        indexer.run_forever(get_engine(), stop)
    except KeyboardInterrupt:
        stop.set()


@app.command()
def worker() -> None:
    """Deliver webhooks (a loop; one process at a time delivers: the others wait to take
    over). For deployments that run `catalogue serve` with CATALOGUE_WEBHOOKS=false."""
    import signal
    import threading

    from app.push.dispatcher import Dispatcher, DispatchSettings

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    dispatcher = Dispatcher(get_engine(), DispatchSettings.of(get_settings()))
    try:
        dispatcher.run_forever(stop)
    except KeyboardInterrupt:
        stop.set()


# --- corrections (纠错) ----------------------------------------------------------------

from app.catalogue.situation_cli import situations  # noqa: E402

app.add_typer(situations, name="situations")

corrections = typer.Typer(help="citizens' corrections (纠错)", no_args_is_help=True)
app.add_typer(corrections, name="corrections")


@corrections.command("erase-contacts")
def corrections_erase_contacts(
    days: Annotated[
        int | None,
        typer.Option(min=0, help="keep contacts this many days (default: the setting)"),
    ] = None,
) -> None:
    """Erase the contacts of corrections reported longer ago than the retention period
    (CATALOGUE_CONTACT_RETENTION_DAYS, 180 days). `catalogue serve` does it daily."""
    from app.corrections.service import erase_contacts

    with Session(for_writing(get_engine())) as session:
        erased = erase_contacts(session, days=days)
        session.commit()
    kept = get_settings().contact_retention_days if days is None else days
    typer.echo(f"erased {erased} contacts older than {kept} days")


if __name__ == "__main__":
    app()
