"""Photos of real labels for scan tests: the label the service prints, photographed by label_photos."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from cylinder_trace.labels.render import LabelSpec
from tests.support.label_photos import Category, encode_jpeg, synth_frame


def photo(code: str, digital_link: str, company: str, category: Category = "rotation", seed: int = 7) -> bytes:
    """A station-camera JPEG of the label for ``code``."""
    frame = synth_frame(LabelSpec(code, digital_link, company), category, np.random.default_rng(seed))
    return encode_jpeg(frame)


def blank_photo() -> bytes:
    """A camera frame with nothing to read in it."""
    rng = np.random.default_rng(3)
    frame = np.clip(rng.normal(150, 20, (720, 1280)), 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(frame).save(out, format="JPEG")
    return out.getvalue()
