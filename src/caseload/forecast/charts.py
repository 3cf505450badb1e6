"""Fan charts of a forecast measure (p10-p90 band, p50 line), rendered to SVG on the server."""

from __future__ import annotations

import altair as alt
import vl_convert as vlc


def fan_chart_svg(months: list[dict], measure: str, *, title: str, value_title: str) -> str:
    """``months`` are forecast rows ({"month", measure: {"p10", "p50", "p90"}}); months without a
    value (e.g. cases per officer of an office without officers) are left out."""
    data = [{"month": r["month"], **r[measure]} for r in months if r[measure]["p50"] is not None]
    base = alt.Chart(alt.Data(values=data), title=title)
    band = base.mark_area(color="#2f5d8a", opacity=0.25).encode(
        x=alt.X("month:Q", title="month"), y=alt.Y("p10:Q", title=value_title), y2="p90:Q")
    line = base.mark_line(color="#2f5d8a").encode(x="month:Q", y="p50:Q",
                                                   tooltip=[alt.Tooltip("month:Q"), alt.Tooltip("p50:Q", format=",.1f")])
    return vlc.vegalite_to_svg((band + line).properties(width=420, height=200).to_dict())
