"""Everything a door needs, built once from the settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncEngine

from ..domain.findings import RectificationDeadlines
from ..domain.policy import PolicyBook
from ..policy import load_policy_book
from ..projections.cylinders import CylinderProjection
from ..projections.findings import FindingsProjection
from ..projections.ledgers import LedgersProjection
from ..projections.registry import RegistryProjection
from ..settings import Settings
from ..store.db import create_engine
from ..store.projections import Projection
from .cylinders import CodeSettings
from .fill_checks import IssueFillAuthorization
from .personal_data import PersonalDataCipher, decode_key
from .principal_cache import PrincipalCache
from .unit_of_work import Clock, UnitOfWork, utc_now


def inline_projections(book: PolicyBook, settings: Settings) -> list[Projection]:
    """Projections brought up to date in every write transaction (read-your-writes)."""
    deadlines = RectificationDeadlines(book, settings.jurisdiction, settings.timezone)
    return [RegistryProjection(), CylinderProjection(), FindingsProjection(deadlines),
            LedgersProjection(deadlines.timezone)]


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    policy_book: PolicyBook
    uow: UnitOfWork
    codes: CodeSettings
    principals: PrincipalCache
    #: issues ``authorize_fill`` to smart valves when a fill check allows a fill (set by the valve side)
    fill_authorizer: IssueFillAuthorization | None = None
    #: what ``/readyz`` checks besides the database, by name: true when ready (the runtime adds the
    #: broker when it runs the MQTT side)
    readiness_probes: dict[str, Callable[[], bool]] = field(default_factory=dict)

    @cached_property
    def personal(self) -> PersonalDataCipher:
        """Seals and opens ID numbers at rest, with the key from the settings."""
        return PersonalDataCipher(decode_key(self.settings.personal_data_key))

    async def close(self) -> None:
        await self.principals.close()
        await self.uow.close()
        await self.engine.dispose()


def build_services(settings: Settings, clock: Clock = utc_now) -> Services:
    engine = create_engine(settings.database_url)
    book = load_policy_book(settings.policy_file)
    uow = UnitOfWork(engine, book, settings.jurisdiction, inline_projections(book, settings), clock=clock,
                     timezone=settings.timezone)
    codes = CodeSettings(settings.public_base_url, settings.jurisdiction_gs1_prefix)
    return Services(settings, engine, book, uow, codes, PrincipalCache(engine))
