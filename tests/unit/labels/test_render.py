from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pymupdf
import pytest
import zxingcpp
from fontTools.ttLib import TTFont

from cylinder_trace.domain.codes import Grai, InvalidCode, make_grai
from cylinder_trace.labels import fonts
from cylinder_trace.labels.render import (
    CJK_FONT_PACKAGE,
    FontNotFound,
    LabelSpec,
    cjk_font_path,
    label_image,
    label_png,
    label_sheet_pdf,
    label_svg,
)
from cylinder_trace.labels.scan import decode_codes
from tests.unit.labels.support import BASE_URL, COMPANY, to_gray, to_png

SVG = "{http://www.w3.org/2000/svg}"


def test_label_png_round_trips_through_the_scanner(spec: LabelSpec, grai: Grai) -> None:
    image = label_png(spec.code, spec.digital_link, spec.company_name)

    assert image.startswith(b"\x89PNG")
    result = decode_codes(image)
    assert result.codes == (grai,)
    assert result.ignored == ()


def test_label_qr_holds_the_digital_link_at_level_h(spec: LabelSpec) -> None:
    symbol = zxingcpp.read_barcode(to_gray(label_png(spec.code, spec.digital_link, spec.company_name)))

    assert symbol is not None
    assert symbol.format == zxingcpp.BarcodeFormat.QRCode
    assert symbol.text == f"{BASE_URL}/8003/06901234000016CYL0001"
    assert symbol.ec_level == "H"


def test_label_text_is_under_the_symbol_and_the_name_above(spec: LabelSpec) -> None:
    image, (left, top, right, bottom) = label_image(spec, module_px=6)
    pixels = np.asarray(image)
    quiet = 4 * 6
    above, below = pixels[: top - quiet], pixels[bottom + quiet :]
    assert (pixels[top - quiet : top, left:right] == 255).all()  # the quiet zone is left clear
    assert (pixels[bottom : bottom + quiet, left:right] == 255).all()
    assert (above < 128).any(), "the company name is drawn above the symbol"
    assert (below < 128).any(), "the code is printed under the symbol"


def test_every_character_of_the_company_name_has_a_glyph() -> None:
    runs = fonts.font_runs(COMPANY + " (Co.)")

    assert "".join(text for text, _ in runs) == COMPANY + " (Co.)"
    for text, path in runs:
        with TTFont(str(path), fontNumber=0, lazy=True) as font:
            cmap = font.getBestCmap()
        assert all(ord(char) in cmap for char in text), f"{text!r} has no glyph in {path.name}"
    assert {path for _, path in runs} == {fonts.cjk_font_path(), fonts.latin_font_path()}


def test_a_missing_cjk_font_names_the_package_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fonts, "CJK_FONT_CANDIDATES", (Path("/nonexistent/font.ttf"),))
    monkeypatch.setattr(fonts, "_fc_list", lambda pattern: [])
    fonts.cjk_font_path.cache_clear()
    try:
        with pytest.raises(FontNotFound, match=CJK_FONT_PACKAGE):
            cjk_font_path()
    finally:
        fonts.cjk_font_path.cache_clear()


def test_a_label_whose_link_holds_another_code_is_refused(grai: Grai) -> None:
    other = make_grai("6901234", 1, "CYL0002")

    with pytest.raises(InvalidCode, match="holds"):
        label_png(grai.code, other.digital_link(BASE_URL), COMPANY)
    with pytest.raises(InvalidCode):
        LabelSpec(grai.code, "https://example.com/not-a-link", COMPANY)


def test_label_svg_draws_the_same_symbol_and_both_texts(spec: LabelSpec, grai: Grai) -> None:
    svg = label_svg(spec.code, spec.digital_link, spec.company_name)

    root = ET.fromstring(svg)
    texts = [element.text for element in root.iter(f"{SVG}text")]
    assert texts == [COMPANY, spec.code]
    assert "Droid Sans Fallback" in root.findall(f"{SVG}text")[0].attrib["font-family"]
    page = pymupdf.open(stream=svg.encode(), filetype="svg")[0]
    pixmap = page.get_pixmap(dpi=200, colorspace=pymupdf.csGRAY)
    frame = np.frombuffer(pixmap.samples, dtype=np.uint8).reshape(pixmap.height, pixmap.width)
    assert decode_codes(to_png(frame)).codes == (grai,)


def test_label_svg_escapes_markup_in_the_company_name(grai: Grai) -> None:
    svg = label_svg(grai.code, grai.digital_link(BASE_URL), "A&B <燃气>")

    assert next(t.text for t in ET.fromstring(svg).iter(f"{SVG}text")) == "A&B <燃气>"


def _page_cells(page: pymupdf.Page, columns: int, rows: int, margin_mm: float) -> list[bytes]:
    """The page rendered at 200 dpi and cut along the label grid, row by row."""
    pixmap = page.get_pixmap(dpi=200, colorspace=pymupdf.csGRAY)
    image = np.frombuffer(pixmap.samples, dtype=np.uint8).reshape(pixmap.height, pixmap.width)
    px_per_mm = 200 / 25.4
    margin = margin_mm * px_per_mm
    cell_w = (210 - 2 * margin_mm) * px_per_mm / columns
    cell_h = (297 - 2 * margin_mm) * px_per_mm / rows
    cells = []
    for row in range(rows):
        for col in range(columns):
            x, y = round(margin + col * cell_w), round(margin + row * cell_h)
            cells.append(to_png(np.ascontiguousarray(image[y : y + round(cell_h), x : x + round(cell_w)])))
    return cells


def test_sheet_pdf_spans_pages_and_every_label_scans_in_order() -> None:
    specs = [LabelSpec.for_grai(make_grai("6999999", 2, f"S{i:03d}"), BASE_URL, COMPANY) for i in range(23)]

    pdf = label_sheet_pdf(specs)

    assert pdf.startswith(b"%PDF")
    document = pymupdf.open(stream=pdf, filetype="pdf")
    assert document.page_count == 2  # 20 labels per page
    assert document[0].rect.width == pytest.approx(595.28, abs=0.1)  # A4 in points
    cells = [cell for page in document for cell in _page_cells(page, columns=4, rows=5, margin_mm=10)]
    read = [decode_codes(cell).code for cell in cells]
    assert [grai.code if grai else None for grai in read] == [s.code for s in specs] + [None] * 17
    page_text = document[0].get_text()
    assert COMPANY in page_text  # the CJK font is embedded, so the name is real text
    assert specs[0].code in page_text


def test_sheet_pdf_layout_can_change_and_needs_labels(spec: LabelSpec) -> None:
    pdf = label_sheet_pdf([spec] * 7, columns=3, rows=2)

    assert pymupdf.open(stream=pdf, filetype="pdf").page_count == 2
    with pytest.raises(ValueError, match="at least one label"):
        label_sheet_pdf([])


def test_png_label_is_grayscale_and_sized_by_module(spec: LabelSpec) -> None:
    small = to_gray(label_png(spec.code, spec.digital_link, spec.company_name, module_px=4))
    large = to_gray(label_png(spec.code, spec.digital_link, spec.company_name, module_px=8))

    assert large.shape[1] == 2 * small.shape[1]
    assert set(np.unique(large)) >= {0, 255}
