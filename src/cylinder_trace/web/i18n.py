"""The desk's two languages: Chinese (the default) and English.

Templates write both texts where they are used (``tr("气瓶", "Cylinder")``); the labels of values the
service stores (statuses, event types, roles, severities) are kept here, once.
"""

from __future__ import annotations

from typing import Final, Literal

from ..domain.cylinder import STATUS_ZH

Lang = Literal["zh", "en"]
LANGS: Final[tuple[Lang, ...]] = ("zh", "en")
DEFAULT_LANG: Final[Lang] = "zh"

Pair = tuple[str, str]

STATUSES: Final[dict[str, Pair]] = {s: (zh, s.replace("_", " ")) for s, zh in STATUS_ZH.items()}

FINDING_STATUSES: Final[dict[str, Pair]] = {
    "open": ("未整改", "open"), "rectified": ("已整改待销号", "rectified"), "closed": ("已销号", "closed"),
}

SEVERITIES: Final[dict[str, Pair]] = {"block": ("禁止", "block"), "high": ("高", "high"), "warn": ("提示", "warn")}

SUBJECT_KINDS: Final[dict[str, Pair]] = {
    "cylinder": ("气瓶", "cylinder"), "customer": ("用户", "customer"), "station": ("充装站", "station"),
    "company": ("企业", "company"), "valve": ("智能角阀", "valve"), "report": ("举报", "report"),
}

ROLES: Final[dict[str, Pair]] = {
    "admin": ("系统管理员", "administrator"), "regulator": ("燃气主管部门", "regulator"),
    "company_admin": ("企业管理员", "company administrator"), "station_operator": ("充装站操作员", "station operator"),
    "delivery_worker": ("送气工", "delivery worker"), "inspector": ("检验机构", "inspector"),
}

ACTIONS: Final[dict[str, Pair]] = {
    "rectify": ("整改完成", "rectified"), "close": ("销号", "close"), "reopen": ("重新打开", "reopen"),
    "open": ("发现", "opened"), "repeat": ("再次发现（退回整改）", "repeated (back to open)"),
}

HOLDERS: Final[dict[str, Pair]] = {
    "station": ("充装站", "station"), "vehicle": ("车辆", "vehicle"), "customer": ("用户", "customer"),
    "agency": ("检验机构", "inspection agency"), "company": ("企业", "company"),
}

#: event type → label
EVENT_TYPES: Final[dict[str, Pair]] = {
    "CylinderRegistered": ("建档登记", "registered"),
    "CylinderFilled": ("充装", "filled"),
    "CylinderDelivered": ("配送入户", "delivered"),
    "CylinderCollected": ("回收空瓶", "collected"),
    "CylinderInspected": ("定期检验", "inspected"),
    "SmartValveFitted": ("加装智能角阀", "smart valve fitted"),
    "CylinderSeized": ("查封", "seized"),
    "CylinderScrapped": ("报废", "scrapped"),
    "CylinderSwappedOut": ("产权置换（交回企业）", "swapped out (to the company)"),
    "CylinderSwappedIn": ("产权置换（交付用户）", "swapped in (to the customer)"),
    "SafetyCheckRecorded": ("入户安检", "safety check"),
    "ValveReported": ("智能角阀报告", "valve report"),
    "ValveFillUnmatched": ("角阀充装记录不符", "valve fill without its counterpart"),
    "ScanFlagged": ("扫码发现问题", "flagged by a scan"),
    "FillCheckFlagged": ("充装前检查发现问题", "flagged by a fill check"),
    "FillRefused": ("拒绝充装", "fill refused"),
    "DeliveryRefused": ("拒绝配送", "delivery refused"),
    "CollectionRefused": ("拒绝回收", "collection refused"),
    "InspectionRefused": ("拒绝检验记录", "inspection refused"),
    "ValveFittingRefused": ("拒绝加装角阀", "valve fitting refused"),
    "SeizureRefused": ("拒绝查封", "seizure refused"),
    "ScrappingRefused": ("拒绝报废", "scrapping refused"),
    "SwapRefused": ("拒绝置换", "swap refused"),
}

#: event data keys shown as "who", "where" and details on a timeline
DATA_LABELS: Final[dict[str, Pair]] = {
    "filler_id": ("充装工", "filler"), "worker_id": ("送气工", "delivery worker"),
    "station_id": ("充装站", "station"), "customer_id": ("用户", "customer"), "vehicle_plate": ("车辆", "vehicle"),
    "agency_id": ("检验机构", "agency"), "company_id": ("企业", "company"), "valve_id": ("智能角阀", "valve"),
    "net_mass_kg": ("充装量 kg", "net mass kg"), "residual_kg": ("余气 kg", "residual kg"),
    "result": ("检验结论", "result"), "next_inspection_due": ("下次检验", "next inspection due"),
    "reason": ("原因", "reason"), "swap_id": ("置换编号", "swap"), "action": ("操作", "action"),
    "model": ("型号", "model"), "serial": ("出厂编号", "serial"), "manufactured_on": ("制造日期", "made on"),
    "type": ("报告类型", "report type"), "seq": ("序号", "seq"),
}


def pick(pair: Pair, lang: Lang) -> str:
    return pair[0] if lang == "zh" else pair[1]


def label(table: dict[str, Pair], key: str | None, lang: Lang) -> str:
    """The label of ``key`` in ``table``, or the key itself when the table has none."""
    if key is None:
        return "—"
    pair = table.get(key)
    return pick(pair, lang) if pair else key
