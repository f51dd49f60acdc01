from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyzbar import pyzbar

from cylinder_trace.domain.codes import Grai, make_grai
from cylinder_trace.labels.render import LabelSpec, label_image, label_png
from cylinder_trace.labels.scan import UnreadableImage, decode_codes
from tests.support.label_photos import CATEGORIES, ean13_image, synth_frame, synth_sample
from tests.unit.labels.support import BASE_URL, COMPANY, Gray, frame_with, qr_png, to_gray, to_png


def _label(spec: LabelSpec, module_px: int = 6) -> Gray:
    image, _ = label_image(spec, module_px=module_px)
    return np.asarray(image, dtype=np.uint8)


def test_a_digital_link_and_a_bare_grai_are_both_read(grai: Grai) -> None:
    assert decode_codes(qr_png(grai.digital_link(BASE_URL))).codes == (grai,)
    assert decode_codes(qr_png(grai.code)).codes == (grai,)
    assert decode_codes(qr_png(f"  {grai.code}\n")).codes == (grai,)


def test_an_ean13_in_the_same_frame_is_not_taken_for_a_code(spec: LabelSpec, grai: Grai) -> None:
    frame = frame_with((_label(spec), 100, 100), (ean13_image("690123456789"), 700, 300))
    assert pyzbar.decode(frame), "the frame holds two readable symbols"

    result = decode_codes(to_png(frame))

    assert result.codes == (grai,)
    assert all(symbol.symbology != "QRCODE" for symbol in result.ignored)


def test_an_ean13_alone_is_reported_as_ignored() -> None:
    result = decode_codes(to_png(frame_with((ean13_image("690123456789"), 400, 300))))

    assert result.codes == ()
    [ean] = result.ignored
    assert (ean.symbology, ean.content) == ("EAN13", "6901234567892")
    assert result.failure_reason() == "only other barcodes were found (EAN13), no cylinder QR code"


def test_a_qr_with_another_url_is_reported_with_the_reason() -> None:
    result = decode_codes(qr_png("https://weixin.qq.com/r/abc123"))

    assert result.code is None
    [qr] = result.ignored
    assert (qr.symbology, qr.content) == ("QRCODE", "https://weixin.qq.com/r/abc123")
    assert qr.reason == "not a GS1 Digital Link with AI 8003"
    assert result.failure_reason() == (
        "a QR code was found but it is not a valid cylinder code: not a GS1 Digital Link with AI 8003"
    )


def test_a_qr_with_a_wrong_check_digit_is_reported_with_the_reason(grai: Grai) -> None:
    wrong = grai.code[:13] + str((grai.check + 1) % 10) + grai.serial

    result = decode_codes(qr_png(f"{BASE_URL}/8003/{wrong}"))

    assert result.codes == ()
    assert [s.reason for s in result.ignored] == [f"wrong check digit {(grai.check + 1) % 10} (expected {grai.check})"]
    assert "wrong check digit" in (result.failure_reason() or "")


def test_a_valid_label_beside_a_foreign_qr_is_read_and_the_other_named(spec: LabelSpec, grai: Grai) -> None:
    foreign = to_gray(qr_png("WIFI:S:station;T:WPA;P:secret;;"))
    result = decode_codes(to_png(frame_with((_label(spec), 50, 50), (foreign, 800, 200))))

    assert result.codes == (grai,)
    assert [s.content for s in result.ignored] == ["WIFI:S:station;T:WPA;P:secret;;"]


def test_two_labels_in_one_photo_give_two_codes() -> None:
    a, b = make_grai("6901234", 1, "A1"), make_grai("6901234", 2, "B2")
    labels = [_label(LabelSpec.for_grai(g, BASE_URL, COMPANY)) for g in (a, b)]

    result = decode_codes(to_png(frame_with((labels[0], 40, 40), (labels[1], 700, 100))))

    assert set(result.codes) == {a, b}


def test_nothing_readable_says_so_and_respects_the_budget() -> None:
    result = decode_codes(to_png(np.full((720, 1280), 128, dtype=np.uint8)), budget_s=0.0)

    assert result.codes == () and result.ignored == ()
    assert result.failure_reason() == "no QR code could be read in the image"
    assert result.attempts == 2  # the first preparation always runs, then the every-symbology pass


@pytest.mark.parametrize("data", [b"", b"not an image", b"\x89PNG\r\n\x1a\n broken"])
def test_bytes_that_are_not_an_image_are_refused(data: bytes) -> None:
    with pytest.raises(UnreadableImage):
        decode_codes(data)


def test_a_strongly_tilted_label_is_rectified(spec: LabelSpec, grai: Grai) -> None:
    label = _label(spec)
    height, width = label.shape
    corners = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    keystone = np.float32([[560, 120], [760, 160], [900, 620], [380, 560]])
    frame = cv2.warpPerspective(
        label, cv2.getPerspectiveTransform(corners, keystone), (1280, 720), borderValue=160
    ).astype(np.uint8)
    assert not pyzbar.decode(frame), "plain zbar cannot read this one"

    result = decode_codes(to_png(frame))

    assert result.codes == (grai,)
    assert result.method == "located"


def test_a_noisy_photo_is_read(spec: LabelSpec, grai: Grai) -> None:
    frame = frame_with((_label(spec), 400, 150)).astype(np.float64)
    noisy = np.clip(frame + np.random.default_rng(1).normal(0, 50, frame.shape), 0, 255).astype(np.uint8)
    assert not pyzbar.decode(noisy), "plain zbar cannot read this one"

    assert decode_codes(to_png(noisy)).codes == (grai,)


def test_a_small_label_far_away_is_read(spec: LabelSpec, grai: Grai) -> None:
    small = cv2.resize(_label(spec), None, fx=1.5 / 6, fy=1.5 / 6, interpolation=cv2.INTER_AREA).astype(np.uint8)
    frame = cv2.GaussianBlur(frame_with((small, 600, 300), size=(1280, 720)), (0, 0), 0.5).astype(np.uint8)
    assert not pyzbar.decode(frame), "plain zbar cannot read this one"

    assert decode_codes(to_png(frame)).codes == (grai,)


def test_synthetic_photos_are_deterministic_and_mostly_readable() -> None:
    samples = [synth_sample(i, category, seed=11) for i, category in enumerate(CATEGORIES * 2)]
    assert samples[0] == synth_sample(0, CATEGORIES[0], seed=11)
    assert samples[0].jpeg != synth_sample(0, CATEGORIES[0], seed=12).jpeg

    read = [decode_codes(s.jpeg).codes for s in samples]

    assert all(codes == () or [g.code for g in codes] == [s.code] for codes, s in zip(read, samples, strict=True))
    assert sum(1 for codes in read if codes) >= 13  # of 16; the bench measures this on 200


def test_synthetic_frames_have_the_camera_size(spec: LabelSpec) -> None:
    frame = synth_frame(spec, "rotation", np.random.default_rng(3), ean13="690123456789")

    assert frame.shape == (720, 1280) and frame.dtype == np.uint8
    assert any(symbol.type == "EAN13" for symbol in pyzbar.decode(frame))


codes = st.builds(
    make_grai,
    st.from_regex(r"69[0-9]{5}", fullmatch=True),
    st.integers(min_value=1, max_value=6),
    st.from_regex(r"[A-Za-z0-9]{1,16}", fullmatch=True),
)


@settings(max_examples=15, deadline=None)
@given(grai=codes, company=st.sampled_from([COMPANY, "Dagangzi LPG", "东方燃气2号站 (B)"]))
def test_any_valid_code_round_trips_through_its_label(grai: Grai, company: str) -> None:
    image = label_png(grai.code, grai.digital_link(BASE_URL), company, module_px=4)

    assert decode_codes(image).codes == (grai,)
