"""``catalogue quality``: re-evaluate the quality rules over the catalogue (or a region),
print the board, and exit non-zero when findings of the given severity (or worse) remain,
so a province can gate a release on it."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from sqlmodel import Session

from app.db import for_writing, get_engine
from app.directory.service import check_filters
from app.errors import InvalidInput
from app.quality.board import Scope, board
from app.quality.findings import evaluate_all
from app.security import region_prefix

#: findings at or above the threshold remain
EXIT_ABOVE = 3


class FailOn(StrEnum):
    ERROR = "error"
    WARNING = "warning"


def quality(
    region: Annotated[
        str | None, typer.Option(help="region code (and the regions under it)")
    ] = None,
    fail_on: Annotated[
        FailOn | None,
        typer.Option("--fail-on", help="exit 3 when findings of this severity or worse remain"),
    ] = None,
) -> None:
    """Evaluate every item's quality rules, record today's counts and print the board."""
    with Session(for_writing(get_engine())) as session:
        try:
            check_filters(session, region=region)
        except InvalidInput as exc:
            typer.echo(f"error: {exc.errors[0]['msg'] if exc.errors else exc}", err=True)
            raise typer.Exit(2) from None
        done = evaluate_all(session, region_prefix(region) if region else None)
        session.commit()
        out = board(session, Scope(region=region))
    typer.echo(f"evaluated {done.items} items: {done.added} findings new, {done.removed} fixed")
    sev = out["by_severity"]
    typer.echo(
        f"score {out['score']:.1f}  items {out['items']}  with findings "
        f"{out['items_with_findings']}  error {sev.get('error', 0)}  "
        f"warning {sev.get('warning', 0)}  info {sev.get('info', 0)}"
    )
    typer.echo("by rule:")
    for r in out["by_rule"]:
        typer.echo(f"  {r['rule']:<16} {r['severity']:<8} {r['count']:>7}  {r['title']}")
    typer.echo("by department (lowest score first):")
    for d in out["departments"][:30]:
        s = d["by_severity"]
        typer.echo(
            f"  {d['score']:>5.1f}  {d['items']:>5} items  E{s.get('error', 0):<5} "
            f"W{s.get('warning', 0):<5} I{s.get('info', 0):<5} {d['name']}"
        )
    if fail_on is not None:
        above = sev.get("error", 0) + (sev.get("warning", 0) if fail_on == FailOn.WARNING else 0)
        if above:
            typer.echo(f"{above} findings at or above {fail_on.value}", err=True)
            raise typer.Exit(EXIT_ABOVE)
