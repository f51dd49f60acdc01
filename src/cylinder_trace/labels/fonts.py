"""Fonts for label text: a Latin monospace for codes, a CJK font for Chinese company names.

The common CJK font on Debian (Droid Sans Fallback) has no Latin glyphs, and Latin fonts have no
Chinese ones, so text is split into runs, each drawn with a font that has its glyphs.
"""

from __future__ import annotations

import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from fontTools.ttLib import TTFont  # type: ignore[import-untyped]

#: the Debian package that provides the CJK font (``apt-get install`` it when none is found)
CJK_FONT_PACKAGE = "fonts-droid-fallback"
#: the Debian package that provides the Latin monospace font for the code text
LATIN_FONT_PACKAGE = "fonts-dejavu-core"

CJK_FONT_CANDIDATES: tuple[Path, ...] = (
    Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
)
LATIN_FONT_CANDIDATES: tuple[Path, ...] = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"),
    Path("/usr/share/fonts/truetype/noto/NotoSansMono-Regular.ttf"),
    Path("/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf"),
)

#: for SVG labels, where the viewer picks the font
SVG_CJK_FONT_FAMILY = (
    "'Noto Sans CJK SC', 'Source Han Sans SC', 'WenQuanYi Micro Hei', 'Droid Sans Fallback', "
    "'PingFang SC', 'Microsoft YaHei', SimHei, sans-serif"
)
SVG_MONO_FONT_FAMILY = "'DejaVu Sans Mono', 'Noto Sans Mono', 'Liberation Mono', Consolas, monospace"


class FontNotFound(RuntimeError):
    """A font needed for label text is not installed."""

    def __init__(self, what: str, package: str) -> None:
        super().__init__(f"no {what} font found for label text; install one, e.g. `apt-get install {package}`")
        self.package = package


def _fc_list(pattern: str) -> list[Path]:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return []
    try:
        out = subprocess.run([fc_list, pattern, "file"], capture_output=True, text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    return sorted(Path(line.strip().rstrip(":")) for line in out.splitlines() if line.strip())


def _first_font(candidates: tuple[Path, ...], fc_pattern: str) -> Path | None:
    found = [p for p in (*candidates, *_fc_list(fc_pattern)) if p.is_file()]
    # single-font files first: TrueType collections (.ttc) need a face index everywhere
    single = [p for p in found if p.suffix.lower() in (".ttf", ".otf")]
    return next(iter(single or found), None)


@lru_cache(maxsize=1)
def cjk_font_path() -> Path:
    """Path of an installed font with Chinese glyphs; raises :class:`FontNotFound` naming the package."""
    path = _first_font(CJK_FONT_CANDIDATES, ":lang=zh")
    if path is None:
        raise FontNotFound("Chinese (CJK)", CJK_FONT_PACKAGE)
    return path


@lru_cache(maxsize=1)
def latin_font_path() -> Path:
    """Path of an installed Latin monospace font; raises :class:`FontNotFound` naming the package."""
    path = _first_font(LATIN_FONT_CANDIDATES, ":spacing=mono:lang=en")
    if path is None:
        raise FontNotFound("Latin monospace", LATIN_FONT_PACKAGE)
    return path


@lru_cache(maxsize=8)
def _codepoints(path: Path) -> frozenset[int]:
    with TTFont(str(path), fontNumber=0, lazy=True) as font:
        return frozenset(font.getBestCmap())


def font_runs(text: str) -> list[tuple[str, Path]]:
    """Split ``text`` into runs of one font each: the Latin font where it has the glyph, else the CJK one."""
    latin = latin_font_path()
    latin_chars = _codepoints(latin)
    runs: list[tuple[str, Path]] = []
    for char in text:
        path = latin if ord(char) in latin_chars else cjk_font_path()
        if runs and runs[-1][1] == path:
            runs[-1] = (runs[-1][0] + char, path)
        else:
            runs.append((char, path))
    return runs
