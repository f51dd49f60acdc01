"""Rule codes with their severity and messages (DOMAIN.md, Rules catalogue).

A rule is data: a stable code, a severity (``block`` refuses the action, ``high`` and ``warn`` are
recorded and open findings), a message in Chinese and in English, and the severity of the finding it
opens in the ledger (the same as the rule's unless said otherwise: a black cylinder is refused *and*
is a high finding on the station). Messages are ``str.format`` templates over the violation's detail.

Subjects (what must change) are written ``cylinder:<code>``, ``customer:<id>``, ``station:<id>``,
``company:<id>``, ``valve:<id>``; :func:`subject` builds them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from ..violations import Severity, Violation


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    severity: Severity
    zh: str
    en: str
    #: the severity of the finding the rule opens, when it differs from the rule's own
    finding_severity: Severity | None = None

    @property
    def ledger_severity(self) -> Severity:
        return self.finding_severity or self.severity

    def violation(self, subject: str, **detail: Any) -> Violation:
        return Violation(self.code, self.severity, self.zh.format(**detail), self.en.format(**detail),
                         subject, dict(detail))

    def at(self, subject: str, company_id: str | None, **detail: Any) -> Violation:
        """A violation naming its subject and the company responsible for it (kept in the detail,
        so the findings ledger can be rebuilt from the events alone)."""
        return self.violation(subject, company_id=company_id, **detail)


def subject(kind: str, ident: str) -> str:
    return f"{kind}:{ident}"


# --- lifecycle ----------------------------------------------------------------------------------
LIFECYCLE_INVALID_TRANSITION: Final = Rule(
    "LIFECYCLE_INVALID_TRANSITION", "block",
    "气瓶当前状态为“{current_state_zh}”，不能执行该操作（{action}）",
    "cylinder is {current_state}: '{action}' is not allowed from this state",
)

# --- fill pre-check (一(一)3, 二(二)) ------------------------------------------------------------
FILL_OVERDUE_INSPECTION: Final = Rule(
    "FILL_OVERDUE_INSPECTION", "block",
    "超期未检：气瓶应于 {due_on} 前检验，禁止充装",
    "inspection overdue: it was due by {due_on}; do not fill",
)
FILL_LIFE_EXPIRED: Final = Rule(
    "FILL_LIFE_EXPIRED", "block",
    "超出设计使用年限：气瓶已于 {life_expires_on} 达到设计使用年限，禁止充装",
    "design service life reached on {life_expires_on}; do not fill",
)
FILL_DUAL_PHASE_VALVE: Final = Rule(
    "FILL_DUAL_PHASE_VALVE", "block",
    "气液双相气瓶（{model}），未经检验机构改装为单相并检验合格，禁止充装",
    "gas-liquid dual-phase cylinder ({model}) not converted to single phase by an agency: do not fill",
)
FILL_NOT_OWNED: Final = Rule(
    "FILL_NOT_OWNED", "block",
    "非自有产权气瓶：产权属于 {owner}，充装站属于企业 {station_company_id}，禁止充装",
    "not the station company's own cylinder (owner {owner}, station company {station_company_id}): "
    "do not fill",
)
FILL_SCRAPPED: Final = Rule(
    "FILL_SCRAPPED", "block", "气瓶已报废，禁止充装", "cylinder is scrapped: do not fill",
)
FILL_SEIZED: Final = Rule(
    "FILL_SEIZED", "block", "气瓶已被查封，禁止充装", "cylinder is seized: do not fill",
)
FILL_UNQUALIFIED: Final = Rule(
    "FILL_UNQUALIFIED", "block", "气瓶检验不合格，禁止充装", "cylinder failed its inspection: do not fill",
)
FILL_UNKNOWN_CODE: Final = Rule(
    "FILL_UNKNOWN_CODE", "block",
    "黑气瓶：气瓶码 {code} 未登记，禁止充装",
    "unregistered cylinder code {code} (black cylinder): do not fill",
    finding_severity="high",
)
FILL_NO_SMART_VALVE: Final = Rule(
    "FILL_NO_SMART_VALVE", "block",
    "企业自有气瓶（{reason_zh}）未安装智能角阀，禁止充装",
    "company cylinder ({reason_en}) has no smart angle valve: do not fill",
)
FILL_SWAP_INSPECTION_PENDING: Final = Rule(
    "FILL_SWAP_INSPECTION_PENDING", "block",
    "产权置换收回的气瓶须经检验合格后方可充装",
    "a cylinder taken over in a swap must pass an inspection before its first fill",
)
FILL_STATION_UNLICENSED: Final = Rule(
    "FILL_STATION_UNLICENSED", "block",
    "{holder_zh}许可证缺失或已过期（有效期至 {valid_until}），禁止充装",
    "{holder_en} licence missing or expired (valid until {valid_until}): do not fill",
)
FILL_FILLER_UNCERTIFIED: Final = Rule(
    "FILL_FILLER_UNCERTIFIED", "block",
    "充装人员 {staff_id} 无有效充装作业证书（{reason_zh}）",
    "filler {staff_id} holds no valid filling certificate ({reason_en})",
)
FILL_OVERFILL: Final = Rule(
    "FILL_OVERFILL", "block",
    "充装后检查不合格：净重 {net_mass_kg} kg 超过最大充装量 {max_fill_kg} kg，请排出多余液化气后重新记录",
    "post-fill check failed: net mass {net_mass_kg} kg exceeds the maximum fill {max_fill_kg} kg; "
    "remove the excess and record the fill again",
)
FILL_CHECKS_FAILED: Final = Rule(
    "FILL_CHECKS_FAILED", "block",
    "充装前后检查未通过：{failed}", "fill checks failed: {failed}",
)
SCRAPPED_CYLINDER_REAPPEARED: Final = Rule(
    "SCRAPPED_CYLINDER_REAPPEARED", "high",
    "已报废气瓶 {code} 再次出现", "scrapped cylinder {code} has reappeared",
)

# --- delivery and customers (三(三)3, 二(四), 五(三)) ----------------------------------------------
DELIVERY_NO_REAL_NAME: Final = Rule(
    "DELIVERY_NO_REAL_NAME", "block",
    "用户实名信息不全（缺少：{missing}），禁止送气",
    "customer real-name record incomplete (missing: {missing})",
)
DELIVERY_NO_CONTRACT: Final = Rule(
    "DELIVERY_NO_CONTRACT", "block",
    "非居民用户未签订供用气合同，禁止送气", "non-residential customer without a supply contract",
)
DELIVERY_WORKER_UNCERTIFIED: Final = Rule(
    "DELIVERY_WORKER_UNCERTIFIED", "block",
    "送气工 {staff_id} 无有效证书（{reason_zh}）",
    "delivery worker {staff_id} holds no valid certificate ({reason_en})",
)
DELIVERY_VEHICLE_UNPERMITTED: Final = Rule(
    "DELIVERY_VEHICLE_UNPERMITTED", "block",
    "送气车辆 {plate} 无有效危险货物运输许可（有效期至 {valid_until}）",
    "vehicle {plate} has no valid hazardous goods permit (valid until {valid_until})",
)
DELIVERY_SELF_PICKUP: Final = Rule(
    "DELIVERY_SELF_PICKUP", "block",
    "禁止自提：{staff_id} 不是送气工，气瓶须由送气工送达",
    "no self pick-up: {staff_id} is not a delivery worker",
)
DELIVERY_SUPPLY_SUSPENDED: Final = Rule(
    "DELIVERY_SUPPLY_SUSPENDED", "block",
    "用户存在逾期未整改（或拒不整改）的安全隐患，停止供气",
    "supply suspended: the customer has a hazard past its rectification date or refused to rectify",
)
DELIVERY_NO_GAS_ALARM: Final = Rule(
    "DELIVERY_NO_GAS_ALARM", "block",
    "非居民用户未安装可燃气体报警器，禁止供气", "non-residential premises without a gas alarm",
)
DELIVERY_UNDERGROUND: Final = Rule(
    "DELIVERY_UNDERGROUND", "block",
    "地下或半地下场所禁止使用瓶装液化气", "premises are underground or semi-underground",
)
DELIVERY_DUAL_PHASE: Final = Rule(
    "DELIVERY_DUAL_PHASE", "block",
    "禁止配送气液双相气瓶（{model}，未经检验机构改装为单相并检验合格）",
    "do not deliver a gas-liquid dual-phase cylinder ({model}, not converted to single phase by a passing "
    "inspection)",
)
DELIVERY_NO_EMERGENCY_SHUTOFF: Final = Rule(
    "DELIVERY_NO_EMERGENCY_SHUTOFF", "block",
    "非居民用户未安装燃气紧急切断阀，禁止供气", "non-residential premises without a gas emergency shut-off valve",
)
DELIVERY_STORAGE_OVER_100KG: Final = Rule(
    "DELIVERY_STORAGE_OVER_100KG", "block",
    "无专用气瓶间，送达后存量 {total_kg} kg 将超过 {limit_kg} kg",
    "no dedicated cylinder room: {total_kg} kg on the premises would exceed {limit_kg} kg",
)
DELIVERY_NOT_FILLABLE: Final = Rule(
    "DELIVERY_NOT_FILLABLE", "block",
    "气瓶不符合充装条件（{fill_rules}），禁止配送",
    "cylinder fails the fill pre-check ({fill_rules}): do not deliver",
)
SAFETY_CHECK_MISSING: Final = Rule(
    "SAFETY_CHECK_MISSING", "high",
    "居民用户送气未同时入户安检并进行安全宣传",
    "residential delivery without an in-home safety check and safety notice",
)
SAFETY_CHECK_OVERDUE: Final = Rule(
    "SAFETY_CHECK_OVERDUE", "high",
    "非居民用户本月（{month}）未进行安全检查", "non-residential customer has had no safety check in {month}",
)
HAZARD_FOUND: Final = Rule(
    "HAZARD_FOUND", "high",
    "安全检查发现隐患（{kinds}），须于 {due_on} 前整改",
    "safety check found hazards ({kinds}): rectify by {due_on}",
)

# --- inspections and scrapping (二(二)1, 二(三)3) --------------------------------------------------
INSPECTION_AGENCY_UNLICENSED: Final = Rule(
    "INSPECTION_AGENCY_UNLICENSED", "block",
    "检验机构 {agency_id} 资质缺失或已过期（有效期至 {valid_until}），不得记录检验结论",
    "inspection agency {agency_id} licence missing or expired (valid until {valid_until}): the inspection is "
    "not recorded",
)
SCRAP_NOT_BY_AGENCY: Final = Rule(
    "SCRAP_NOT_BY_AGENCY", "high",
    "气瓶 {code} 报废未注明负责销毁的气瓶检验机构：问题气瓶须移交检验机构报废处理",
    "cylinder {code} scrapped without naming the inspection agency that destroys it: problem cylinders must "
    "be handed to an agency for scrapping",
)
STOCK_OVERDUE_INSPECTION: Final = Rule(
    "STOCK_OVERDUE_INSPECTION", "high",
    "企业库存气瓶超期未检（应于 {due_on} 前检验），须送检",
    "company cylinder in stock overdue for inspection (due {due_on}): send it for inspection",
)

# --- smart valves (三(二)4, PROTOCOL.md) ---------------------------------------------------------
VALVE_ILLEGAL_REFILL: Final = Rule(
    "VALVE_ILLEGAL_REFILL", "high",
    "非法倒气：智能角阀 {valve_id} 报告未经授权的充装（{reason}）",
    "illegal refill: valve {valve_id} reports a fill without a valid authorization ({reason})",
)
VALVE_FILL_UNCONFIRMED: Final = Rule(
    "VALVE_FILL_UNCONFIRMED", "warn",
    "充装站记录了充装，智能角阀 {valve_id} 在 {window_minutes} 分钟内未确认",
    "the station recorded a fill but valve {valve_id} did not confirm it within {window_minutes} min",
)
VALVE_FILL_UNRECORDED: Final = Rule(
    "VALVE_FILL_UNRECORDED", "high",
    "智能角阀 {valve_id} 报告已授权充装，充装站 {window_minutes} 分钟内无充装记录",
    "valve {valve_id} reports an authorized fill with no station fill record within {window_minutes} min",
)
VALVE_TAMPER: Final = Rule(
    "VALVE_TAMPER", "high", "智能角阀 {valve_id} 报告被拆改（{kind}）",
    "valve {valve_id} reports tampering ({kind})",
)
VALVE_LEAK: Final = Rule(
    "VALVE_LEAK", "high", "智能角阀 {valve_id} 报告泄漏（{ppm} ppm）",
    "valve {valve_id} reports a leak ({ppm} ppm)",
)
VALVE_OFFLINE: Final = Rule(
    "VALVE_OFFLINE", "warn",
    "智能角阀 {valve_id} 已超过 {hours} 小时无信号", "valve {valve_id} has not been heard for {hours} h",
)

# --- sweeps (absence of events) -----------------------------------------------------------------
INSPECTION_DUE_SOON: Final = Rule(
    "INSPECTION_DUE_SOON", "warn",
    "气瓶将于 {due_on} 到期检验", "cylinder inspection due on {due_on}",
)
OVERDUE_AT_CUSTOMER: Final = Rule(
    "OVERDUE_AT_CUSTOMER", "high",
    "超期未检气瓶（应于 {due_on} 前检验）仍在用户处，须召回",
    "overdue cylinder (due {due_on}) still at a customer: recall it",
)
LIFE_EXPIRED_AT_CUSTOMER: Final = Rule(
    "LIFE_EXPIRED_AT_CUSTOMER", "high",
    "超出设计使用年限（{life_expires_on}）的气瓶仍在用户处，须召回",
    "cylinder past its design life ({life_expires_on}) still at a customer: recall it",
)

# --- 产权置换 swaps -------------------------------------------------------------------------------
SWAP_OLD_NOT_CUSTOMER_OWNED: Final = Rule(
    "SWAP_OLD_NOT_CUSTOMER_OWNED", "block",
    "置换的旧瓶不是用户 {customer_id} 的自有气瓶（产权：{owner}）",
    "the old cylinder is not owned by customer {customer_id} (owner {owner})",
)
SWAP_NEW_NOT_COMPANY_OWNED: Final = Rule(
    "SWAP_NEW_NOT_COMPANY_OWNED", "block",
    "置换提供的新瓶不是供气企业 {company_id} 的自有气瓶（产权：{owner}）",
    "the new cylinder is not owned by the serving company {company_id} (owner {owner})",
)

# --- public -------------------------------------------------------------------------------------
PUBLIC_REPORT: Final = Rule(
    "PUBLIC_REPORT", "high", "群众举报：{kind}", "public report: {kind}",
)

CATALOGUE: Final[dict[str, Rule]] = {
    r.code: r for r in globals().copy().values() if isinstance(r, Rule)
}


def ledger_severity(code: str, fallback: Severity) -> Severity:
    """The severity a finding of rule ``code`` gets (rules outside the catalogue keep their own)."""
    rule = CATALOGUE.get(code)
    return rule.ledger_severity if rule is not None else fallback
