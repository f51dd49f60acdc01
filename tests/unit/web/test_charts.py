"""The server-drawn SVG charts: the right bars, escaped text, well-formed XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from cylinder_trace.web.charts import Bar, bar_chart, column_chart, nice_ceiling

SVG = "{http://www.w3.org/2000/svg}"


def test_nice_ceiling() -> None:
    assert [nice_ceiling(n) for n in (0, 1, 2, 3, 7, 10, 11, 49, 51, 480)] == [1, 1, 2, 5, 10, 10, 20, 50, 100, 500]


def test_columns_scale_to_the_tallest_and_label_every_day() -> None:
    svg = ET.fromstring(column_chart([Bar("11-27", 0), Bar("11-28", 5), Bar("11-29", 10)], "每日充装"))
    bars = [float(r.get("height", "")) for r in svg.iter(f"{SVG}rect")]
    assert bars[0] == 0 and bars[2] == 2 * bars[1] > 0
    labels = [t.text for t in svg.iter(f"{SVG}text")]
    assert {"11-27", "11-28", "11-29"} <= set(labels) and "10" in labels
    assert svg.get("role") == "img" and svg.findtext(f"{SVG}title") == "每日充装"


def test_bars_link_where_asked_and_escape_their_labels() -> None:
    chart = bar_chart([Bar("<script>alert(1)</script>", 3, "/desk/findings?rule=A&b=1"), Bar("B", 1)], "x")
    assert "<script>" not in chart and "&lt;script&gt;" in chart
    svg = ET.fromstring(chart)
    links = list(svg.iter(f"{SVG}a"))
    assert [a.get("href") for a in links] == ["/desk/findings?rule=A&b=1"]
    widths = [float(r.get("width", "")) for r in svg.iter(f"{SVG}rect")]
    assert widths[0] == 3 * widths[1]


def test_an_empty_chart_is_still_a_chart() -> None:
    assert ET.fromstring(bar_chart([], "无")).tag == f"{SVG}svg"
    assert ET.fromstring(column_chart([], "无")).tag == f"{SVG}svg"
