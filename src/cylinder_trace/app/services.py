"""Everything a door needs, built once from the settings."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from ..domain.policy import PolicyBook, load_policy_book
from ..projections.cylinders import CylinderProjection
from ..projections.registry import RegistryProjection
from ..settings import Settings
from ..store.db import create_engine
from ..store.projections import Projection
from .cylinders import CodeSettings
from .unit_of_work import Clock, UnitOfWork, utc_now


def inline_projections() -> list[Projection]:
    """Projections brought up to date in every write transaction (read-your-writes)."""
    return [RegistryProjection(), CylinderProjection()]


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    policy_book: PolicyBook
    uow: UnitOfWork
    codes: CodeSettings

    async def close(self) -> None:
        await self.engine.dispose()


def build_services(settings: Settings, clock: Clock = utc_now) -> Services:
    engine = create_engine(settings.database_url)
    book = load_policy_book(settings.policy_file)
    uow = UnitOfWork(engine, book, settings.jurisdiction, inline_projections(), clock=clock)
    codes = CodeSettings(settings.public_base_url, settings.jurisdiction_gs1_prefix)
    return Services(settings, engine, book, uow, codes)
