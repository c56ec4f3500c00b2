"""``catalogue situations``: the flat sheet of situations (情形), out and back in, and the
draft proposed from the free-text ``applies_when`` of materials."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import Session

from app.db import for_writing, get_engine
from app.exports import situation_sheet as sheet
from app.security import Principal

situations = typer.Typer(help="situations (情形) in a flat sheet", no_args_is_help=True)
Region = Annotated[str | None, typer.Option(help="region code (and the regions under it)")]
Code = Annotated[str | None, typer.Option(help="one implementation code")]
Out = Annotated[Path, typer.Option(help="XLSX or CSV, by suffix")]
#: rows rejected (as ``catalogue import``)
EXIT_REJECTED = 2


@situations.command("export")
def export(out: Out, region: Region = None, code: Code = None) -> None:
    """The situations of the items that have them, one row per option."""
    with Session(get_engine()) as session:
        docs = sheet.item_documents(session, region, code)
        n = sheet.write_sheet(out, (row for doc in docs for row in sheet.sheet_rows(doc)))
    typer.echo(f"wrote {n} rows to {out}")


@situations.command("propose")
def propose(out: Out, region: Region = None, code: Code = None) -> None:
    """A draft from the materials' applies_when texts (equal texts: one question), for an
    editor to review, merge into real questions and import."""
    with Session(get_engine()) as session:
        docs = sheet.item_documents(session, region, code)
        n = sheet.write_sheet(out, (row for doc in docs for row in sheet.propose(doc)))
    typer.echo(f"proposed {n} rows in {out}")


@situations.command("import")
def import_(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    dry_run: Annotated[bool, typer.Option(help="check the sheet, write nothing")] = False,
) -> None:
    """Write the sheet's questions into its items (a version each, through the same checks
    as the API); an item with an error is left as it was. Exit 2 when any row is refused."""
    try:
        items, errors = sheet.parse(sheet.read_sheet(file))
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    actor = Principal(name=f"situations:{file.name}"[:100], role="admin")
    with Session(for_writing(get_engine())) as session:
        changed, found = sheet.import_sheet(session, items, actor)
        if dry_run:
            session.rollback()
        else:
            session.commit()
    errors += found
    for e in errors:
        typer.echo(f"  row {e['row']}: {'.'.join(map(str, e['loc']))}: {e['type']}: {e['msg']}")
    verb = "would change" if dry_run else "changed"
    typer.echo(f"{len(items)} items in the sheet, {verb} {changed}, {len(errors)} errors")
    if errors:
        raise typer.Exit(EXIT_REJECTED)
