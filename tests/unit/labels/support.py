"""Shared values and test images for label tests: plain QR codes, PNG encoding, frames."""

from __future__ import annotations

import io

import numpy as np
import numpy.typing as npt
import qrcode
import qrcode.constants
from PIL import Image

Gray = npt.NDArray[np.uint8]

BASE_URL = "https://trace.dagangzi.gov.cn"
COMPANY = "大岗子镇第2燃气有限公司"


def qr_png(text: str, box_size: int = 6) -> bytes:
    """A plain QR code (not one of our labels) holding ``text``."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=box_size, border=4)
    qr.add_data(text)
    out = io.BytesIO()
    qr.make_image().save(out)
    return out.getvalue()


def to_png(image: Gray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(image).save(out, format="PNG")
    return out.getvalue()


def to_gray(image_bytes: bytes) -> Gray:
    return np.asarray(Image.open(io.BytesIO(image_bytes)).convert("L"), dtype=np.uint8)


def frame_with(*placed: tuple[Gray, int, int], size: tuple[int, int] = (1280, 720)) -> Gray:
    """A light gray frame with each image pasted at its ``(x, y)``."""
    frame = np.full((size[1], size[0]), 200, dtype=np.uint8)
    for image, x, y in placed:
        frame[y : y + image.shape[0], x : x + image.shape[1]] = image
    return frame
