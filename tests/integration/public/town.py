"""A town for the public side: a company with published workers and vehicles, and a customer whose every
detail is distinctive, so a test can prove none of it ever reaches a public page."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from tests.support import factories as f


@dataclass(frozen=True)
class Secrets:
    """A customer's personal data: none of it may appear on the public side."""

    customer_id: str = "CUSTQX7Z9"
    name: str = "欧阳蕙兰"
    id_number: str = "220802198807159876"
    phone: str = "13712345678"
    address: str = "大岗子镇杏花胡同甲17号"

    def all(self) -> tuple[str, ...]:
        return (self.customer_id, self.name, self.id_number, self.phone, self.address)


SECRETS = Secrets()


async def public_town(c: httpx.AsyncClient) -> None:
    """The factories' town plus a second delivery worker and the distinctive customer."""
    await f.town(c)
    await f.staff(c, "D2", "delivery_worker", name="李送气", phone="13600000002")
    await f.customer(c, SECRETS.customer_id, name=SECRETS.name, id_number=SECRETS.id_number, phone=SECRETS.phone,
                     address=SECRETS.address)


async def delivered_to_secret_customer(c: httpx.AsyncClient) -> str:
    """A company cylinder filled and delivered to the distinctive customer; returns its code."""
    code = str((await f.cylinder(c))["code"])
    await f.ok(await f.fill(c, code), 201)
    await f.ok(await f.deliver(c, code, customer_id=SECRETS.customer_id), 201)
    return code


async def owned_by_secret_customer(c: httpx.AsyncClient) -> str:
    """A cylinder the distinctive customer owns (用户自有); returns its code."""
    body = {"event_id": f.eid(), "model": "YSP35.5", "manufacturer_code": "M09", "manufactured_on": "2022-03-01",
            "owner": {"customer_id": SECRETS.customer_id}, "occurred_at": "2026-11-01T09:00:00+08:00"}
    return str((await f.ok(await c.post("/api/v1/cylinders", json=body), 201))["code"])
