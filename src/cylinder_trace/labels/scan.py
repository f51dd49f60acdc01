"""Reading cylinder codes from a station camera photo.

zbar (through pyzbar) reads a clean, frontal QR quickly but gives up on noise, blur, small symbols and
strong perspective. :func:`decode_codes` therefore tries a ladder of cheap-first image preparations and
stops at the first one that yields a cylinder code, or when the time budget is spent. Every QR or
barcode that is read but is not a cylinder code is reported in :attr:`ScanResult.ignored` with the
reason, so a caller can say "a QR was found but it is not a valid cylinder code".

Decoding is CPU-bound and synchronous: call it from a worker thread in async code.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from pyzbar import pyzbar
from pyzbar.pyzbar import ZBarSymbol

from cylinder_trace.domain.codes import Grai, InvalidCode, code_from_scan

Gray = npt.NDArray[np.uint8]

#: photos larger than this (long side, pixels) are shrunk first; a station camera gives 720p or 1080p
MAX_SIDE = 2048
#: side of a QR rectified from a located quadrilateral, and the quiet zone added around it
_RECTIFIED_SIDE = 400
_RECTIFIED_MARGIN = 48


class UnreadableImage(ValueError):
    """The bytes are not an image that can be decoded (not JPEG/PNG/…, or empty)."""


@dataclass(frozen=True, slots=True)
class IgnoredSymbol:
    """A symbol that was read but is not a cylinder code."""

    symbology: str  # zbar's name: "QRCODE", "EAN13", "CODE128", …
    content: str
    reason: str


@dataclass(frozen=True, slots=True)
class ScanResult:
    codes: tuple[Grai, ...]
    ignored: tuple[IgnoredSymbol, ...]
    #: the preparation that read the codes (``None`` when none did), and how many were tried
    method: str | None
    attempts: int
    elapsed_s: float

    @property
    def code(self) -> Grai | None:
        return self.codes[0] if self.codes else None

    def failure_reason(self) -> str | None:
        """Why no cylinder code was read, in words for a 422; ``None`` when one was."""
        if self.codes:
            return None
        invalid_qr = [s for s in self.ignored if s.symbology == "QRCODE"]
        if invalid_qr:
            return f"a QR code was found but it is not a valid cylinder code: {invalid_qr[0].reason}"
        if self.ignored:
            kinds = ", ".join(sorted({s.symbology for s in self.ignored}))
            return f"only other barcodes were found ({kinds}), no cylinder QR code"
        return "no QR code could be read in the image"


# --- image preparations ----------------------------------------------------------------------------


def _u8(image: npt.NDArray[Any]) -> Gray:
    """OpenCV's results are typed loosely; every image here is 8-bit gray (no copy when it already is)."""
    return image.astype(np.uint8, copy=False)


def _otsu(gray: Gray) -> Gray:
    return _u8(cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[1])


def _adaptive(gray: Gray, block: int = 31) -> Gray:
    return _u8(cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, block, 5))


def _sharpen(gray: Gray, sigma: float = 1.0, amount: float = 1.5) -> Gray:
    blurred = cv2.GaussianBlur(gray, (0, 0), sigma)
    return _u8(cv2.addWeighted(gray, 1 + amount, blurred, -amount, 0))


def _scale(gray: Gray, factor: float) -> Gray:
    interpolation = cv2.INTER_CUBIC if factor > 1 else cv2.INTER_AREA
    return _u8(cv2.resize(gray, None, fx=factor, fy=factor, interpolation=interpolation))


def _clahe(gray: Gray) -> Gray:
    return _u8(cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8)).apply(gray))


def _rotate(gray: Gray, degrees: float) -> Gray:
    """Rotated about the centre on a canvas large enough to keep every pixel."""
    height, width = gray.shape
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    new_w, new_h = int(height * sin + width * cos), int(height * cos + width * sin)
    matrix[0, 2] += new_w / 2 - width / 2
    matrix[1, 2] += new_h / 2 - height / 2
    return _u8(cv2.warpAffine(gray, matrix, (new_w, new_h), borderValue=255))


def _finder_detector() -> cv2.QRCodeDetectorAruco:
    """OpenCV's finder-pattern QR detector, relaxed for strong perspective: the three finder patterns
    of a tilted label differ in apparent size and orientation far more than its defaults allow."""
    params = cv2.QRCodeDetectorAruco.Params()
    params.maxModuleSizeMismatch = 3.0
    params.maxRotation = math.pi / 2
    params.maxPenalties = 1.0
    return cv2.QRCodeDetectorAruco(params)


def _located(gray: Gray) -> Iterator[Gray]:
    """Each QR that OpenCV's finder-pattern detector locates, warped to a frontal square with a quiet
    zone (this undoes strong perspective, which zbar handles poorly), plain and binarized."""
    try:
        found, quads = _finder_detector().detectMulti(gray)
    except cv2.error:
        return
    if not found or quads is None:
        return
    side, margin = _RECTIFIED_SIDE, _RECTIFIED_MARGIN
    target = np.array(
        [[margin, margin], [margin + side, margin], [margin + side, margin + side], [margin, margin + side]],
        dtype=np.float32,
    )
    for quad in quads:
        homography = cv2.getPerspectiveTransform(quad.astype(np.float32), target)
        patch = _u8(
            cv2.warpPerspective(gray, homography, (side + 2 * margin,) * 2, flags=cv2.INTER_CUBIC, borderValue=255)
        )
        yield patch
        yield _otsu(patch)
        yield _adaptive(patch)
        yield _sharpen(patch)


Preparation = Callable[[Gray], Iterator[Gray]]


def _one(prepare: Callable[[Gray], Gray]) -> Preparation:
    def prepared(gray: Gray) -> Iterator[Gray]:
        yield prepare(gray)

    return prepared


#: The ladder, cheap first. Measured on the synthetic set (bench/bench_scan.py): a 2/3 downscale is the
#: cheapest read and its averaging removes sensor noise; full resolution and Otsu binarization cover most
#: of the rest; locating and rectifying undoes perspective; a 3×3 median tames noise; CLAHE and adaptive
#: thresholds handle dim, uneven light; 2× upscaling rescues modules under ~2 px. zbar's QR reader
#: already scans in two directions, so one 45° turn is the only rotation kept as a last resort.
PREPARATIONS: tuple[tuple[str, Preparation], ...] = (
    ("downscale", _one(lambda g: _scale(g, 2 / 3))),
    ("gray", _one(lambda g: g)),
    ("otsu", _one(_otsu)),
    ("located", _located),
    ("median+otsu", _one(lambda g: _otsu(_u8(cv2.medianBlur(g, 3))))),
    ("adaptive", _one(_adaptive)),
    ("clahe+adaptive", _one(lambda g: _adaptive(_clahe(g)))),
    ("upscale+adaptive", _one(lambda g: _adaptive(_scale(g, 2.0)))),
    ("upscale+located", lambda g: _located(_scale(g, 2.0))),
    ("upscale+sharpen", _one(lambda g: _sharpen(_scale(g, 2.0), 2.0))),
    ("rotate45", _one(lambda g: _rotate(g, 45))),
)


# --- decoding --------------------------------------------------------------------------------------


def load_gray(image_bytes: bytes) -> Gray:
    """The image as 8-bit grayscale, shrunk to :data:`MAX_SIDE`; raises :class:`UnreadableImage`."""
    if not image_bytes:
        raise UnreadableImage("the image is empty")
    decoded = cv2.imdecode(np.frombuffer(image_bytes, dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
    if decoded is None or decoded.size == 0:
        raise UnreadableImage("the file is not an image that can be read (JPEG, PNG, …)")
    gray = _u8(decoded)
    longest = max(gray.shape)
    if longest > MAX_SIDE:
        gray = _scale(gray, MAX_SIDE / longest)
    return np.ascontiguousarray(gray, dtype=np.uint8)


def _classify(symbology: str, content: str) -> Grai | IgnoredSymbol:
    if symbology != "QRCODE":
        return IgnoredSymbol(symbology, content, f"a {symbology} barcode is not a cylinder code")
    try:
        return code_from_scan(content)
    except InvalidCode as error:
        return IgnoredSymbol(symbology, content, error.reason)


def decode_codes(image_bytes: bytes, budget_s: float = 1.5) -> ScanResult:
    """The cylinder codes in a photo (Digital Link URLs or bare GRAIs in QR codes).

    Preparations are tried in :data:`PREPARATIONS` order, reading QR codes only, until one reads a
    cylinder code. The first always runs; no new one starts once ``budget_s`` is spent, so the call
    can overrun the budget by the attempt under way (the slowest of 200 1280×720 photos took 1.81 s
    against a 1.5 s budget, bench/RESULTS-scan.md). When no code is read, a last pass over the photo
    reads every symbology, so that other barcodes (EAN-13 …) are reported in ``ignored`` too. Raises
    :class:`UnreadableImage` when the bytes are not an image.
    """
    start = time.perf_counter()
    gray = load_gray(image_bytes)
    codes: dict[str, Grai] = {}
    ignored: dict[tuple[str, str], IgnoredSymbol] = {}

    def read(image: Gray, symbols: list[ZBarSymbol] | None) -> None:
        for found in pyzbar.decode(image, symbols=symbols):
            symbology, content = str(found.type), found.data.decode("utf-8", errors="replace")
            result = _classify(symbology, content)
            if isinstance(result, Grai):
                codes.setdefault(result.code, result)
            else:
                ignored.setdefault((symbology, content), result)

    def done() -> bool:
        return bool(codes) or time.perf_counter() - start > budget_s

    attempts, method = 0, None
    for name, prepare in PREPARATIONS:
        for image in prepare(gray):
            read(image, [ZBarSymbol.QRCODE])
            attempts += 1
            if done():
                break
        if codes:
            method = name
        if done():
            break
    if not codes:  # to name what was there instead
        read(gray, None)
        attempts += 1
    return ScanResult(tuple(codes.values()), tuple(ignored.values()), method, attempts, time.perf_counter() - start)
