from __future__ import annotations

import pytest

from cylinder_trace.domain.codes import Grai, make_grai
from cylinder_trace.labels.render import LabelSpec
from tests.unit.labels.support import BASE_URL, COMPANY


@pytest.fixture
def grai() -> Grai:
    return make_grai("6901234", 1, "CYL0001")


@pytest.fixture
def spec(grai: Grai) -> LabelSpec:
    return LabelSpec.for_grai(grai, BASE_URL, COMPANY)
