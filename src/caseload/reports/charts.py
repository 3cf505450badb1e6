"""Charts of the report and the planning pages: Altair specs rendered to SVG on the server
(vl-convert), embedded in the HTML page and in the PDF alike. Each chart's title carries its
as-of date; the footnote under it names the command that reproduces its figures."""

from __future__ import annotations

import altair as alt
import vl_convert as vlc

from caseload.web.charts import bar_chart_svg

WIDTH = 560
COLORS = ["#2f5d8a", "#d08c2a", "#5b8f4e", "#9b1c1c"]

__all__ = ["bar_chart_svg", "paired_bars_svg", "trend_svg", "intervals_svg"]


def _svg(chart) -> str:
    return vlc.vegalite_to_svg(chart.to_dict())


def paired_bars_svg(rows: list[dict], *, category: str, series: dict[str, str], title: str, value_title: str) -> str:
    """Two or more values per category side by side (e.g. FTE need and on board per office).
    ``series`` maps each row key to its legend label."""
    data = [{"category": r[category], "series": label, "value": r[key]}
            for r in rows for key, label in series.items() if r.get(key) is not None]
    chart = (
        alt.Chart(alt.Data(values=data), title=title)
        .mark_bar()
        .encode(
            y=alt.Y("category:N", title=None, sort=None),
            yOffset=alt.YOffset("series:N", sort=list(series.values())),
            x=alt.X("value:Q", title=value_title),
            color=alt.Color("series:N", title=None, sort=list(series.values()),
                            scale=alt.Scale(range=COLORS[:len(series)]), legend=alt.Legend(orient="top")),
        )
        .properties(width=WIDTH, height=max(120, 12 * len(series) * len({d["category"] for d in data})))
    )
    return _svg(chart)


def trend_svg(rows: list[dict], *, x: str, value: str, title: str, value_title: str) -> str:
    """A line over dates (snapshots)."""
    data = [{"x": r[x], "value": r[value]} for r in rows if r.get(value) is not None]
    chart = (
        alt.Chart(alt.Data(values=data), title=title)
        .mark_line(point=True, color=COLORS[0])
        .encode(x=alt.X("x:T", title=None), y=alt.Y("value:Q", title=value_title))
        .properties(width=WIDTH, height=200)
    )
    return _svg(chart)


def intervals_svg(rows: list[dict], *, category: str, value: str, low: str, high: str, title: str,
                  value_title: str) -> str:
    """Point estimates with their interval (e.g. case weights with 90 % intervals)."""
    data = [{"category": r[category], "value": r[value], "low": r.get(low), "high": r.get(high)}
            for r in rows if r.get(value) is not None]
    base = alt.Chart(alt.Data(values=data), title=title)
    rules = base.mark_rule(color="#8a94a3").encode(y=alt.Y("category:N", title=None, sort="-x"),
                                                   x=alt.X("low:Q", title=value_title), x2="high:Q")
    points = base.mark_point(filled=True, color=COLORS[0]).encode(y=alt.Y("category:N", sort="-x"), x="value:Q")
    return _svg((rules + points).properties(width=WIDTH, height=max(120, 18 * len(data))))
