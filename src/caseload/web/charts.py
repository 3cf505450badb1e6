"""Charts rendered to SVG on the server (Altair spec -> vl-convert), so pages need no JavaScript."""

from __future__ import annotations

import altair as alt
import vl_convert as vlc


def bar_chart_svg(rows: list[dict], *, category: str, value: str, title: str, value_title: str) -> str:
    """A horizontal bar chart of ``value`` by ``category``, largest first, as an SVG string."""
    data = [r for r in rows if r.get(value) is not None]
    chart = (
        alt.Chart(alt.Data(values=data), title=title)
        .mark_bar(color="#2f5d8a")
        .encode(
            y=alt.Y(f"{category}:N", sort="-x", title=None),
            x=alt.X(f"{value}:Q", title=value_title),
            tooltip=[alt.Tooltip(f"{category}:N"), alt.Tooltip(f"{value}:Q", format=",.0f")],
        )
        .properties(width=560, height=max(120, 18 * len(data)))
    )
    return vlc.vegalite_to_svg(chart.to_dict())
