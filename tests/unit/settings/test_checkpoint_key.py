"""The checkpoint signing key: 64 hex digits, and never the development placeholder in production."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cylinder_trace.domain.checkpoints import new_signing_key
from cylinder_trace.settings import PLACEHOLDER_CHECKPOINT_SIGNING_KEY, Settings

REAL_ADMIN_TOKEN = "a-real-admin-secret"
#: production also refuses the placeholder key of ID numbers at rest: a real one beside the others
REAL_PERSONAL_DATA_KEY = "q" * 43 + "="


def test_production_refuses_the_placeholder_key_in_any_case() -> None:
    for placeholder in (PLACEHOLDER_CHECKPOINT_SIGNING_KEY, PLACEHOLDER_CHECKPOINT_SIGNING_KEY.upper()):
        with pytest.raises(ValidationError, match="CT_CHECKPOINT_SIGNING_KEY"):
            Settings(environment="production", admin_token=REAL_ADMIN_TOKEN, checkpoint_signing_key=placeholder,
                     personal_data_key=REAL_PERSONAL_DATA_KEY)
    real, _ = new_signing_key()
    assert Settings(environment="production", admin_token=REAL_ADMIN_TOKEN, checkpoint_signing_key=real,
                    personal_data_key=REAL_PERSONAL_DATA_KEY).checkpoint_signing_key == real
    assert Settings().checkpoint_signing_key == PLACEHOLDER_CHECKPOINT_SIGNING_KEY  # development may use it


def test_the_key_is_64_hex_digits_and_kept_out_of_the_settings_repr() -> None:
    for bad in ("abc", "g" * 64, "ab" * 33):
        with pytest.raises(ValidationError, match="checkpoint_signing_key"):
            Settings(checkpoint_signing_key=bad)
    real, _ = new_signing_key()
    assert real not in repr(Settings(checkpoint_signing_key=real))
