"""Shaping what the readers return for the pages: the dashboard's charts, filter choices."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Final
from urllib.parse import urlencode

from fastapi import Request
from markupsafe import Markup

from ..app.dashboard import Window
from . import i18n
from .charts import Bar, bar_chart, column_chart
from .session import language

FINDING_STATUSES: Final = i18n.FINDING_STATUSES


def offline_after(window: Window) -> timedelta:
    return timedelta(hours=window.policy.valve_offline_hours)


def _findings_link(**params: str) -> str:
    return "/desk/findings?" + urlencode(params)


def dashboard_charts(numbers: dict[str, Any], request: Request) -> dict[str, Markup]:
    """The dashboard's SVG charts: fills per day, open findings by rule and by company, refusals by rule."""
    lang = language(request)

    def tr(zh: str, en: str) -> str:
        return zh if lang == "zh" else en

    fills: list[tuple[date, int]] = numbers["fills_per_day"]
    by_rule: list[tuple[str | None, int]] = numbers["findings_by_rule"]
    by_company: list[tuple[str | None, int]] = numbers["findings_by_company"]
    refusals: list[tuple[str, int]] = numbers["refusals"]["by_rule"]
    no_company = tr("（无企业）", "(no company)")
    return {
        "fills": column_chart([Bar(day.strftime("%m-%d"), n) for day, n in fills],
                              tr("每日充装量（次）", "Fills per day")),
        "findings_by_rule": bar_chart(
            [Bar(rule or "—", n, _findings_link(rule=rule) if rule else None) for rule, n in by_rule[:12]],
            tr("未销号隐患（按规则）", "Open findings by rule")),
        "findings_by_company": bar_chart(
            [Bar(company or no_company, n, _findings_link(company_id=company) if company else None)
             for company, n in by_company[:12]],
            tr("未销号隐患（按企业）", "Open findings by company")),
        "refusals": bar_chart([Bar(rule, n, _findings_link(rule=rule)) for rule, n in refusals[:12]],
                              tr("近 7 天拒绝（按规则）", "Refusals in the last 7 days by rule")),
    }
