"""The ``catalogue`` command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlmodel import Session

from app.cli_common import EXIT_FINDINGS
from app.cli_transfer import export, import_, imports_cancel, sync_pull, sync_push
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


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
) -> None:
    """Serve the API (OpenAPI docs at /docs). Behind a reverse proxy, name it in
    CATALOGUE_TRUSTED_PROXIES: only then are its X-Forwarded-For/-Proto believed."""
    import os

    import uvicorn

    from app.http.forwarded import uvicorn_options

    # uvicorn reads the proxy headers from the same proxies as the app (none by default:
    # uvicorn's own default trusts 127.0.0.1)
    try:
        proxies = uvicorn_options(get_settings().trusted_proxies)
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    # the app applies the change log to the search index in a background thread
    os.environ.setdefault("CATALOGUE_SEARCH_INDEXER", "true")
    # and delivers webhooks in another (one process at a time: app/leader.py)
    os.environ.setdefault("CATALOGUE_WEBHOOKS", "true")
    # and records the day each scheduled decision takes effect (likewise)
    os.environ.setdefault("CATALOGUE_EFFECTS", "true")
    # and on SIGTERM leaves the balancer before it stops (app/http/drain.py)
    os.environ.setdefault("CATALOGUE_DRAIN_SECONDS", "5")
    metrics_dir = None
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # one scrape answers for every worker (app/observability.py); a fresh folder per
        # start, so counters do not carry over from the last run
        import tempfile

        metrics_dir = tempfile.mkdtemp(prefix="catalogue-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        _run_uvicorn(uvicorn, host, port, workers, proxies)
    finally:
        if metrics_dir:
            import shutil

            shutil.rmtree(metrics_dir, ignore_errors=True)


def _run_uvicorn(uvicorn: Any, host: str, port: int, workers: int, proxies: dict) -> None:
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,  # the app logs writes and errors itself, as JSON
        log_config=None,
        **proxies,
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
    from app.directory.service import check_key_scope
    from app.errors import DomainError
    from app.security import create_key

    with Session(get_engine()) as session:
        try:
            check_key_scope(session, department or [], region)
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


# moving items in and out: app/cli_transfer.py
app.command("import")(import_)
imports = typer.Typer(help="import jobs (POST /api/v1/imports)", no_args_is_help=True)
app.add_typer(imports, name="imports")
imports.command("cancel")(imports_cancel)
app.command()(export)
sync.command("pull")(sync_pull)
sync.command("push")(sync_push)


def _indexer():  # type: ignore[no-untyped-def]
    from app.search.indexer import Indexer
    from app.search.service import SearchService, backend_from_settings

    return Indexer(SearchService(backend_from_settings(get_settings())))


@app.command()
def reindex(
    prune: Annotated[
        bool,
        typer.Option(help="then drop the older schemas' indices whose indexer no longer runs"),
    ] = False,
) -> None:
    """Build a new search index (this release's schema) from the database and swap it in
    (no downtime)."""
    indexer = _indexer()
    n = indexer.reindex(get_engine())  # safe beside a leading indexer (see its docstring)
    typer.echo(f"indexed {n} items into the {indexer.backend.name} index")
    if prune:
        dropped, kept = indexer.prune(get_engine())
        for other in dropped:
            typer.echo(f"dropped {other.name} (schema version {other.schema})")
        for other in kept:
            typer.echo(f"kept {other.name} (schema version {other.schema}): its indexer runs")


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


def _background_process() -> None:
    """What every long-running process without an HTTP app does first: JSON logs at
    ``CATALOGUE_LOG_LEVEL``, and ``/metrics`` on ``CATALOGUE_METRICS_PORT``."""
    from app.observability import configure_logging
    from app.state_metrics import serve_metrics

    settings = get_settings()
    configure_logging(settings.log_level)
    serve_metrics(get_engine(), settings.metrics_port)


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

    indexer = _indexer()
    if once:
        leadership = Leadership(get_engine(), indexer.leadership)
        if not leadership.acquire():
            typer.echo("another process indexes now: nothing to do")
            return
        try:
            total = 0
            if indexer.backend.needs_rebuild():  # none of this schema yet, or another layout
                n = indexer.reindex(get_engine())
                typer.echo(f"indexed {n} items into a new {indexer.backend.name} index")
            indexer.rebuild_if_other_history(get_engine())  # a restored database
            while n := indexer.step(get_engine()):
                total += n
        finally:
            leadership.release()
        typer.echo(f"applied {total} changes")
        return
    from app.corrections import retention

    _background_process()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    halt = retention.start(get_engine())  # every process kind erases expired contacts
    try:
        indexer.run_forever(get_engine(), stop)
    except KeyboardInterrupt:
        stop.set()
    finally:
        halt()


@app.command()
def worker() -> None:
    """Deliver webhooks, record the day each scheduled decision takes effect and erase
    expired contacts (loops; one
    process at a time does each: the others wait to take over). For deployments that run
    `catalogue serve` with CATALOGUE_WEBHOOKS=false and CATALOGUE_EFFECTS=false."""
    import signal
    import threading

    from app.catalogue import effective
    from app.corrections import retention
    from app.push.dispatcher import Dispatcher, DispatchSettings

    _background_process()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    halt = effective.start(get_engine())
    halt_retention = retention.start(get_engine())
    dispatcher = Dispatcher(get_engine(), DispatchSettings.of(get_settings()))
    try:
        dispatcher.run_forever(stop)
    except KeyboardInterrupt:
        stop.set()
    finally:
        halt()
        halt_retention()


@app.command()
def effects(
    once: Annotated[bool, typer.Option(help="record what is due now and exit")] = False,
) -> None:
    """Record the day each scheduled decision takes effect: a version of the item (event
    takes_effect) and its feed entry, day by day in date order (a loop every
    CATALOGUE_EFFECTS_POLL_INTERVAL seconds; one process at a time records, this one or a
    `catalogue serve` or `catalogue worker`: the others wait to take over)."""
    import signal
    import threading

    from app.catalogue.effective import Effects

    duty = Effects.of_settings(get_engine())
    if once:
        if not duty.lead():
            typer.echo("another process records scheduled effects now: nothing to do")
            return
        try:
            n = duty.run_once()
        finally:
            duty.leadership.release()
        typer.echo(f"recorded {n} days of scheduled events")
        return
    _background_process()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        duty.run_forever(stop)
    except KeyboardInterrupt:
        stop.set()


# --- corrections (纠错) ----------------------------------------------------------------

from app.cli_situations import situations  # noqa: E402

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


from app.quality.cli import quality  # noqa: E402

app.command("quality")(quality)


if __name__ == "__main__":
    app()
