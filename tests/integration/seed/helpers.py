"""Small helpers for the seed's rules through HTTP."""

from __future__ import annotations

import httpx

#: a complete real-name registration of the person handing a cylinder in (实名登记)
REAL_NAME = {"name": "赵六", "id_number": "220102198001011234", "phone": "13700000000", "address": "幸福街9号"}


def refused_field(response: httpx.Response) -> str:
    """The body field a 422 of bad input names (``handed_in_by.id_number``)."""
    assert response.status_code == 422, response.text
    return ".".join(str(part) for part in response.json()["detail"][0]["loc"][1:])
