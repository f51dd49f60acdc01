"""Public reports (举报, seed 三(六)1; DOMAIN.md, Findings ledger): a report opens ``PUBLIC_REPORT``.

Its subject is the cylinder when the report names a registered code (the cylinder's company is
responsible), else the report itself (``report:<id>``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final, Literal

from ..cylinder import CylinderState
from ..violations import Violation
from .catalogue import PUBLIC_REPORT, subject

ReportKind = Literal["illegal_dealer", "black_cylinder", "other"]
KIND_TEXT: Final[dict[str, tuple[str, str]]] = {
    "illegal_dealer": ("非法经营瓶装液化气（黑气点）", "illegal LPG dealer"),
    "black_cylinder": ("可疑气瓶（黑气瓶）", "suspicious cylinder (black cylinder)"),
    "other": ("其他燃气安全问题", "other gas safety concern"),
}


def public_report(report_id: str, kind: ReportKind, code: str | None, cylinder: CylinderState | None,
                  description: str) -> Violation:
    """The report's violation; ``cylinder``: the registered cylinder its code names, if any."""
    if cylinder is not None:
        subj, company_id = subject("cylinder", cylinder.code), cylinder.company_id
    else:
        subj, company_id = subject("report", report_id), None
    zh, en = KIND_TEXT[kind]
    violation = PUBLIC_REPORT.at(subj, company_id, kind=kind, report_id=report_id, code=code,
                                 code_registered=cylinder is not None, description=description)
    return replace(violation, message_zh=PUBLIC_REPORT.zh.format(kind=zh), message_en=PUBLIC_REPORT.en.format(kind=en))
