"""Synthetic station-camera photos of cylinder labels, for tests and the scan benchmark.

Each sample is a real label (:func:`label_image`) "photographed" into a 1280×720 frame: placed on a
cluttered background with a small rotation and a little blur, noise and JPEG loss, plus one stronger
distortion named by its category. Everything is deterministic given the seed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import cv2
import numpy as np
import numpy.typing as npt

from cylinder_trace.domain.codes import Grai, gs1_check_digit, make_grai
from cylinder_trace.labels.render import LabelSpec, label_image

Category = Literal["rotation", "perspective", "blur", "noise", "low_contrast", "small", "occluded", "mixed"]
CATEGORIES: tuple[Category, ...] = get_args(Category)
FRAME_SIZE = (1280, 720)  # width, height

Gray = npt.NDArray[np.uint8]
Floats = npt.NDArray[np.float64]

_BASE_URLS = ("https://trace.dagangzi.gov.cn", "http://127.0.0.1:8000", "https://ct.example.cn/t")
_COMPANIES = ("大岗子镇燃气有限公司", "吉林省液化石油气供应站", "Dagangzi LPG Co.", "东方燃气2号站")
_SERIAL_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789"
_RENDER_MODULE_PX = 8


@dataclass(frozen=True, slots=True)
class SynthSample:
    """One synthetic photo: ``jpeg`` is what a camera would upload, ``code`` what it should read as."""

    index: int
    category: Category
    code: str
    jpeg: bytes


def random_grai(rng: np.random.Generator) -> Grai:
    """A valid code with a random Chinese-range company prefix (69…), asset type and serial."""
    prefix = "69" + "".join(str(d) for d in rng.integers(0, 10, size=5))
    serial = "".join(rng.choice(list(_SERIAL_CHARS), size=int(rng.integers(3, 12))))
    return make_grai(prefix, int(rng.integers(1, 7)), serial)


#: EAN-13 digit patterns as widths of space, bar, space, bar (the L set); and the L/G parity by first digit
_EAN_WIDTHS = ("3211", "2221", "2122", "1411", "1132", "1231", "1114", "1312", "1213", "3112")
_EAN_PARITY = ("LLLLLL", "LLGLGG", "LLGGLG", "LLGGGL", "LGLLGG", "LGGLLG", "LGGGLL", "LGLGLG", "LGLGGL", "LGGLGL")


def ean13_modules(digits12: str) -> list[bool]:
    """The 95 modules of an EAN-13 symbol for 12 digits (the check digit is added), True is a bar."""
    if len(digits12) != 12 or not digits12.isdigit():
        raise ValueError("EAN-13 needs 12 digits before the check digit")
    digits = [int(d) for d in digits12 + str(gs1_check_digit(digits12))]
    l_set = ["".join(bit * int(w) for bit, w in zip("0101", widths, strict=True)) for widths in _EAN_WIDTHS]
    r_set = [code.translate(str.maketrans("01", "10")) for code in l_set]
    g_set = [code[::-1] for code in r_set]
    left = "".join(
        (l_set if kind == "L" else g_set)[d] for d, kind in zip(digits[1:7], _EAN_PARITY[digits[0]], strict=True)
    )
    bits = "101" + left + "01010" + "".join(r_set[d] for d in digits[7:]) + "101"
    return [b == "1" for b in bits]


def ean13_image(digits12: str, module_px: int = 3, height_px: int = 90) -> Gray:
    """An EAN-13 symbol with a 10-module quiet zone, black on white."""
    modules = [False] * 10 + ean13_modules(digits12) + [False] * 10
    row = np.array([0 if dark else 255 for dark in modules for _ in range(module_px)], dtype=np.uint8)
    return np.tile(row, (height_px, 1))


def _background(rng: np.random.Generator) -> Floats:
    width, height = FRAME_SIZE
    base = rng.uniform(70, 170)
    coarse = cv2.GaussianBlur(rng.normal(0, 40, (height // 8, width // 8)), (0, 0), float(rng.uniform(1, 5)))
    texture = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC).astype(np.float64)
    ramp = np.linspace(-1, 1, width)[None, :] * rng.uniform(-40, 40)
    frame = base + texture + ramp
    for _ in range(int(rng.integers(3, 9))):  # clutter: straps, edges, shadows
        p1 = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        p2 = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        cv2.line(frame, p1, p2, float(rng.uniform(0, 255)), int(rng.integers(2, 30)))
    return frame


def _occlude(label: Gray, symbol: tuple[int, int, int, int], rng: np.random.Generator) -> None:
    """A bar (a strap, dirt or glare) across the symbol covering 8–15 % of its area, in place."""
    x0, y0, x1, y1 = symbol
    side = x1 - x0
    target = rng.uniform(0.08, 0.15)
    angle = rng.uniform(0, math.pi)
    offset = rng.uniform(-0.35, 0.35) * side
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    normal = np.array([math.cos(angle), math.sin(angle)])
    ys, xs = np.mgrid[y0:y1, x0:x1]
    distance = (xs - cx) * normal[0] + (ys - cy) * normal[1] - offset
    thickness = target * side
    for _ in range(3):  # the chord is shorter off-centre: widen until the area is right
        covered = float(np.mean(np.abs(distance) < thickness / 2))
        if covered > 0:
            thickness *= min(target / covered, 2.0)
    mask = np.abs(distance) < thickness / 2
    while float(np.mean(mask)) > 0.15:
        thickness *= 0.95
        mask = np.abs(distance) < thickness / 2
    shade = rng.uniform(20, 70) if rng.random() < 0.6 else rng.uniform(225, 255)
    region = label[y0:y1, x0:x1]
    region[mask] = np.uint8(shade)


def _project(corners: Floats, tilt_x: float, tilt_y: float, roll: float, focal: float) -> Floats:
    """Corners of a flat label centred at the origin, tilted out of plane and seen by a pinhole camera."""
    cx, sx = math.cos(tilt_x), math.sin(tilt_x)
    cy, sy = math.cos(tilt_y), math.sin(tilt_y)
    cz, sz = math.cos(roll), math.sin(roll)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    points = np.c_[corners, np.zeros(len(corners))] @ (rz @ ry @ rx).T
    projected: Floats = focal * points[:, :2] / (focal + points[:, 2:3])
    return projected


def _placement(size: tuple[int, int], category: Category, rng: np.random.Generator) -> Floats:
    """Where the label's corners land in the frame: a small roll, or the category's rotation or tilt."""
    width, height = size
    roll = math.radians(rng.uniform(-10, 10))
    tilt_x = tilt_y = 0.0
    focal = 4.0 * max(width, height)
    if category in ("rotation", "mixed"):
        roll = math.radians(rng.uniform(15, 45) * rng.choice([-1, 1]) + rng.choice([0, 90, 180, 270]))
    if category in ("perspective", "mixed"):
        limit = 45 if category == "perspective" else 25
        tilt_x, tilt_y = (math.radians(rng.uniform(-limit, limit)) for _ in range(2))
        focal = rng.uniform(1.0, 2.5) * max(width, height)  # close up: strong keystone
    corners = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float64)
    placed = _project(corners - [width / 2, height / 2], tilt_x, tilt_y, roll, focal)
    low, high = placed.min(axis=0), placed.max(axis=0)
    room = np.maximum(np.array(FRAME_SIZE) - (high - low) - 10, 1)
    placed_in_frame: Floats = placed - low + 5 + rng.uniform(0, 1, 2) * room
    return placed_in_frame


def _camera(frame: Floats, category: Category, module_px: float, rng: np.random.Generator) -> Gray:
    """Light, focus and sensor: the category's distortion, and a little blur and noise for all."""
    if category == "low_contrast":  # dim, flat light: the whole range squeezed, plus a gradient
        low, spread = rng.uniform(60, 150), rng.uniform(18, 40)
        frame = low + (frame - frame.min()) / max(float(np.ptp(frame)), 1.0) * spread
        frame += np.linspace(0, 1, frame.shape[0])[:, None] * rng.uniform(-15, 15)
    if category == "blur":  # out of focus, up to 0.6 module
        sigma = rng.uniform(0.3, 0.6) * module_px
    elif category == "mixed":
        sigma = rng.uniform(0.15, 0.3) * module_px
    else:
        sigma = rng.uniform(0.3, 0.7)
    frame = cv2.GaussianBlur(frame, (0, 0), sigma).astype(np.float64)
    if category == "noise":
        noise = rng.uniform(18, 40)
    elif category == "mixed":
        noise = rng.uniform(8, 20)
    else:
        noise = rng.uniform(1, 5)
    frame = frame + rng.normal(0, noise, frame.shape)
    return np.clip(frame, 0, 255).astype(np.uint8)


def synth_frame(spec: LabelSpec, category: Category, rng: np.random.Generator, ean13: str | None = None) -> Gray:
    """``spec``'s label photographed with ``category``'s distortion; optionally an EAN-13 beside it."""
    image, symbol = label_image(spec, module_px=_RENDER_MODULE_PX)
    label = np.asarray(image, dtype=np.uint8).copy()
    if category == "occluded" or (category == "mixed" and rng.random() < 0.3):
        _occlude(label, symbol, rng)
    module_px = rng.uniform(1.3, 2.1) if category == "small" else rng.uniform(2.8, 5.5)
    scale = module_px / _RENDER_MODULE_PX
    label = cv2.resize(label, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA).astype(np.uint8)
    height, width = label.shape
    placed = _placement((width, height), category, rng)
    corners = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    homography = cv2.getPerspectiveTransform(corners, placed.astype(np.float32))

    frame = _background(rng)
    if ean13 is not None:  # in the top or bottom band, whichever is farther from the label
        bars = ean13_image(ean13, module_px=max(2, round(module_px * 0.7)))
        frame_w, frame_h = FRAME_SIZE
        x = int(rng.integers(0, frame_w - bars.shape[1]))
        y = 20 if placed[:, 1].mean() > frame_h / 2 else frame_h - bars.shape[0] - 20
        frame[y : y + bars.shape[0], x : x + bars.shape[1]] = bars
    paper, ink = rng.uniform(190, 245), rng.uniform(10, 60)
    warped = cv2.warpPerspective(label.astype(np.float64) / 255, homography, FRAME_SIZE, flags=cv2.INTER_LINEAR)
    inside = cv2.warpPerspective(np.ones_like(label, dtype=np.float64), homography, FRAME_SIZE)
    frame = frame * (1 - inside) + (ink + (paper - ink) * warped) * inside
    return _camera(frame, category, module_px, rng)


def encode_jpeg(frame: Gray, quality: int = 85) -> bytes:
    ok, buffer = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return bytes(buffer.tobytes())


def synth_sample(index: int, category: Category, seed: int = 0) -> SynthSample:
    rng = np.random.default_rng([seed, index])
    grai = random_grai(rng)
    spec = LabelSpec.for_grai(grai, str(rng.choice(_BASE_URLS)), str(rng.choice(_COMPANIES)))
    ean = "".join(str(d) for d in rng.integers(0, 10, size=12)) if rng.random() < 0.25 else None
    frame = synth_frame(spec, category, rng, ean13=ean)
    return SynthSample(index, category, grai.code, encode_jpeg(frame, int(rng.integers(70, 93))))


def synth_set(count: int, seed: int = 0, categories: Sequence[Category] = CATEGORIES) -> list[SynthSample]:
    """``count`` samples, the categories taken in turn."""
    return [synth_sample(i, categories[i % len(categories)], seed) for i in range(count)]
