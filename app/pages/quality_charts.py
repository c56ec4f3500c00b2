"""The quality board's charts: SVG drawn on the server by pygal, put in the page as it is
(readable without JavaScript; each bar a link to the findings behind it). pygal's own
``<style>``, ``<script>`` and inline styles are taken out: the pages' CSP allows neither,
and the look comes from /static/quality.css."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup

_INLINE = re.compile(r"<style.*?</style>|<script.*?</script>|<!--.*?-->", re.S)
_STYLE_ATTR = re.compile(r'\sstyle="[^"]*"')
SEVERITIES = (("error", "错误"), ("warning", "警告"), ("info", "提示"))
_ID = re.compile(r'id="chart-[0-9a-f-]+"')


def _svg(chart: Any, name: str, label: str) -> Markup:
    svg = chart.render(is_unicode=True)
    svg = _INLINE.sub("", svg)
    svg = _STYLE_ATTR.sub("", svg)
    svg = _ID.sub(f'id="chart-{name}" aria-label="{label}"', svg, count=1)
    return Markup(svg)  # noqa: S704  (pygal's output: our numbers and labels, escaped by it)


def _config(**kw: Any) -> dict[str, Any]:
    return {
        "js": [],
        "css": [],
        "disable_xml_declaration": True,
        "explicit_size": True,
        "show_legend": False,
        "print_values": True,
        "width": 900,
        "margin": 10,
        **kw,
    }


def findings_link(base: dict[str, str], **params: str) -> str:
    query = {k: v for k, v in {**base, **params}.items() if v}
    return "/quality/findings?" + urlencode(query)


def by_rule(rows: list[dict[str, Any]], base: dict[str, str], label: str) -> Markup | None:
    """Findings by rule, one bar each, coloured by severity, linked to their list."""
    if not rows:
        return None
    import pygal  # on the first board drawn, not by every start (pygal takes ~50 ms)

    chart = pygal.HorizontalStackedBar(
        **_config(
            height=90 + 40 * len(rows), truncate_label=40, show_legend=True, legend_at_bottom=True
        )
    )
    chart.x_labels = [f"{r['rule']} {r['title']}" for r in rows]
    # one series per severity (colours from the stylesheet: .color-0 error…), a rule's
    # bar in its severity's series only
    for sev, name in SEVERITIES:
        chart.add(
            name,
            [
                {
                    "value": r["count"],
                    "xlink": {"href": findings_link(base, rule=r["rule"]), "target": "_self"},
                    "label": r["title"],
                }
                if r["severity"] == sev
                else None
                for r in rows
            ],
        )
    return _svg(chart, "rules", label)


def trend(history: list[dict[str, Any]], label: str) -> Markup | None:
    """Findings by severity, day by day."""
    if not history:
        return None
    import pygal

    chart = pygal.StackedBar(
        **_config(
            height=260,
            show_legend=True,
            legend_at_bottom=True,
            x_label_rotation=30,
            print_values=False,
        )
    )
    chart.x_labels = [h["day"][5:] for h in history]
    for sev, name in SEVERITIES:
        chart.add(name, [h[sev] for h in history])
    return _svg(chart, "trend", label)
