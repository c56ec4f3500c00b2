"""The ``catalogue`` command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import Session

from app.config import get_settings
from app.db import get_engine

app = typer.Typer(
    help="service-catalogue: the government-service item catalogue", no_args_is_help=True
)
keys = typer.Typer(help="API keys", no_args_is_help=True)
app.add_typer(keys, name="keys")


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
) -> None:
    """Serve the API (OpenAPI docs at /docs)."""
    import uvicorn

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
    role: Annotated[str, typer.Option(help="admin, editor or sync")],
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


if __name__ == "__main__":
    app()
