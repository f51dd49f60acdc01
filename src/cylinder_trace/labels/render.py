"""Printable cylinder labels: the QR holds the GS1 Digital Link URL, the code is printed under it.

Error correction is level **H** (about 30 % of the codewords can be restored). The label sits on the
steel shroud (护罩) of a cylinder that is rolled, dropped and stacked for 8 to 15 years; scratches, paint,
rust and a hand or a hose partly over the symbol are the normal case, and a failed scan at the filling
station blocks the fill. Level Q (25 %) would save one or two QR versions, but the symbol stays small
either way (a ~60-character URL fits version 7, 45×45 modules), so the extra margin is worth more.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import qrcode
import qrcode.constants
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont

from cylinder_trace.domain.codes import Grai, InvalidCode, code_from_scan
from cylinder_trace.labels.fonts import (
    CJK_FONT_PACKAGE,
    SVG_CJK_FONT_FAMILY,
    SVG_MONO_FONT_FAMILY,
    FontNotFound,
    cjk_font_path,
    font_runs,
    latin_font_path,
)

__all__ = [
    "CJK_FONT_PACKAGE",
    "QUIET_ZONE",
    "FontNotFound",
    "LabelSpec",
    "cjk_font_path",
    "label_image",
    "label_png",
    "label_sheet_pdf",
    "label_svg",
    "qr_matrix",
]

#: light modules around the symbol, as ISO/IEC 18004 requires
QUIET_ZONE = 4


@dataclass(frozen=True, slots=True)
class LabelSpec:
    """What one label shows. The Digital Link must carry ``code``: a label whose text and QR
    disagree would put the wrong cylinder's history in front of the station operator."""

    code: str
    digital_link: str
    company_name: str

    def __post_init__(self) -> None:
        scanned = code_from_scan(self.digital_link).code
        if scanned != self.code:
            raise InvalidCode(self.code, f"the Digital Link {self.digital_link!r} holds {scanned!r}")

    @classmethod
    def for_grai(cls, grai: Grai, base_url: str, company_name: str) -> LabelSpec:
        return cls(code=grai.code, digital_link=grai.digital_link(base_url), company_name=company_name)


def qr_matrix(data: str) -> list[list[bool]]:
    """The QR modules for ``data`` at error correction level H, without quiet zone (True is dark)."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_H, border=0)
    qr.add_data(data)
    qr.make(fit=True)
    return [[bool(cell) for cell in row] for row in qr.get_matrix()]


def _dark_runs(matrix: list[list[bool]]) -> list[tuple[int, int, int]]:
    """Horizontal runs of dark modules as ``(x, y, length)``, to draw few shapes instead of one per module."""
    runs: list[tuple[int, int, int]] = []
    for y, row in enumerate(matrix):
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                runs.append((start, y, x - start))
            else:
                x += 1
    return runs


# --- PNG -------------------------------------------------------------------------------------------


def _fit_runs(text: str, size: int, max_width: float) -> tuple[list[tuple[str, ImageFont.FreeTypeFont]], int]:
    """Fonts for each run of ``text`` at the largest size ≤ ``size`` that fits ``max_width``."""
    runs = font_runs(text)
    while True:
        fonts = [(part, _font(path, size)) for part, path in runs]
        width = sum(font.getlength(part) for part, font in fonts)
        if width <= max_width or size <= 6:
            return fonts, round(width)
        size = max(6, min(size - 1, int(size * max_width / width)))


def _draw_centered(
    draw: ImageDraw.ImageDraw, text: str, size: int, center_x: float, baseline: float, max_width: float
) -> None:
    fonts, width = _fit_runs(text, size, max_width)
    x = center_x - width / 2
    for part, font in fonts:
        draw.text((x, baseline), part, fill=0, font=font, anchor="ls")
        x += font.getlength(part)


@lru_cache(maxsize=32)
def _font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size)


def label_image(spec: LabelSpec, *, module_px: int = 10) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """The label drawn in grayscale, and the box ``(left, top, right, bottom)`` of the QR symbol in it
    (without its quiet zone)."""
    matrix = qr_matrix(spec.digital_link)
    side = (len(matrix) + 2 * QUIET_ZONE) * module_px
    name_size = round(side * 0.075)
    code_size = round(side * 0.065)
    top = round(name_size * 1.6)
    height = top + side + round(code_size * 1.5)
    image = Image.new("L", (side, height), 255)
    draw = ImageDraw.Draw(image)
    _draw_centered(draw, spec.company_name, name_size, side / 2, round(name_size * 1.25), side - 2 * module_px)
    origin = QUIET_ZONE * module_px
    for x, y, length in _dark_runs(matrix):
        x0, y0 = origin + x * module_px, top + origin + y * module_px
        draw.rectangle((x0, y0, x0 + length * module_px - 1, y0 + module_px - 1), fill=0)
    # the code goes right under the quiet zone (cap height ≈ 0.75 em), which stays clear
    _draw_centered(draw, spec.code, code_size, side / 2, top + side + round(code_size * 0.9), side - 2 * module_px)
    symbol = len(matrix) * module_px
    return image, (origin, top + origin, origin + symbol, top + origin + symbol)


def label_png(code: str, digital_link: str, company_name: str, *, module_px: int = 10) -> bytes:
    """A label as a grayscale PNG: the company name, the QR (level H) and the code in text under it."""
    image, _ = label_image(LabelSpec(code, digital_link, company_name), module_px=module_px)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


# --- SVG -------------------------------------------------------------------------------------------


def label_svg(code: str, digital_link: str, company_name: str, *, module_mm: float = 0.8) -> str:
    """A label as SVG in module units (``module_mm`` millimetres each when printed); text is left to the
    viewer's fonts through a list of common Chinese families."""
    spec = LabelSpec(code, digital_link, company_name)
    matrix = qr_matrix(spec.digital_link)
    side = len(matrix) + 2 * QUIET_ZONE
    top, bottom = 5.0, 5.0
    height = top + side + bottom
    path = "".join(f"M{x + QUIET_ZONE} {y + top + QUIET_ZONE}h{n}v1h-{n}z" for x, y, n in _dark_runs(matrix))
    code_size = min(3.6, (side - 2) / (0.62 * max(len(spec.code), 1)))
    name_size = min(3.6, (side - 2) / max(len(spec.company_name), 1))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {side} {height:g}" '
        f'width="{side * module_mm:g}mm" height="{height * module_mm:g}mm">\n'
        f"<title>{escape(spec.code)}</title>\n"
        f'<rect width="{side}" height="{height:g}" fill="#fff"/>\n'
        f'<text x="{side / 2:g}" y="{top - 1.2:g}" text-anchor="middle" font-size="{name_size:.2f}" '
        f"font-family={quoteattr(SVG_CJK_FONT_FAMILY)}>{escape(spec.company_name)}</text>\n"
        f'<path d="{path}" fill="#000" shape-rendering="crispEdges"/>\n'
        f'<text x="{side / 2:g}" y="{top + side + 1.4:g}" text-anchor="middle" font-size="{code_size:.2f}" '
        f"font-family={quoteattr(SVG_MONO_FONT_FAMILY)}>{escape(spec.code)}</text>\n"
        "</svg>\n"
    )


# --- PDF sheet -------------------------------------------------------------------------------------

_A4_MM = (210.0, 297.0)
_PDF_CJK = "cjk"
_PDF_MONO = "mono"


def _new_sheet_pdf() -> FPDF:
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(0, 0, 0)
    pdf.add_font(_PDF_MONO, fname=str(latin_font_path()))
    pdf.add_font(_PDF_CJK, fname=str(cjk_font_path()))
    pdf.set_fallback_fonts([_PDF_MONO, _PDF_CJK], exact_match=False)
    return pdf


def _pdf_text(pdf: FPDF, text: str, font: str, size_pt: float, x: float, y: float, width: float) -> None:
    """``text`` centred in ``width`` mm from ``(x, y)``, shrunk until it fits."""
    pdf.set_font(font, size=size_pt)
    while pdf.get_string_width(text) > width and size_pt > 4:
        size_pt -= 0.5
        pdf.set_font(font, size=size_pt)
    pdf.set_xy(x, y)
    pdf.cell(w=width, h=size_pt * 0.3528 * 1.2, text=text, align="C")


def _pdf_label(pdf: FPDF, spec: LabelSpec, x: float, y: float, w: float, h: float) -> None:
    pdf.set_draw_color(200)
    pdf.set_line_width(0.1)
    pdf.rect(x, y, w, h)  # a light cut guide
    pad, name_h, code_h = 2.0, 6.0, 5.0
    _pdf_text(pdf, spec.company_name, _PDF_CJK, 10, x + pad, y + pad, w - 2 * pad)
    matrix = qr_matrix(spec.digital_link)
    qr_side = min(w - 2 * pad, h - 2 * pad - name_h - code_h)
    module = qr_side / (len(matrix) + 2 * QUIET_ZONE)
    qx = x + (w - qr_side) / 2 + QUIET_ZONE * module
    qy = y + pad + name_h + QUIET_ZONE * module
    pdf.set_fill_color(0)
    for mx, my, n in _dark_runs(matrix):
        pdf.rect(qx + mx * module, qy + my * module, n * module, module, style="F")
    _pdf_text(pdf, spec.code, _PDF_MONO, 9, x + pad, y + pad + name_h + qr_side, w - 2 * pad)


def label_sheet_pdf(
    labels: Sequence[LabelSpec], *, columns: int = 4, rows: int = 5, margin_mm: float = 10.0,
    progress: Callable[[int], None] | None = None,
) -> bytes:
    """An A4 sheet of labels, ``columns × rows`` per page, as many pages as needed. ``progress`` is
    called with 1 after each label is drawn (thousands of labels take a while)."""
    if not labels:
        raise ValueError("a label sheet needs at least one label")
    if columns < 1 or rows < 1:
        raise ValueError("a label sheet needs at least one column and one row")
    pdf = _new_sheet_pdf()
    cell_w = (_A4_MM[0] - 2 * margin_mm) / columns
    cell_h = (_A4_MM[1] - 2 * margin_mm) / rows
    per_page = columns * rows
    for index, spec in enumerate(labels):
        slot = index % per_page
        if slot == 0:
            pdf.add_page()
        col, row = slot % columns, slot // columns
        _pdf_label(pdf, spec, margin_mm + col * cell_w, margin_mm + row * cell_h, cell_w, cell_h)
        if progress is not None:
            progress(1)
    return bytes(pdf.output())
