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
    #: where the rule belongs (:data:`SECTIONS`), what its finding is about (the subject's kind), the clause
    #: of the seed (the town's action plan) it rests on, and when it speaks — a ``str.format`` template over
    #: the policy's fields: these make ``docs/rules.md`` (``domain/rules/docs.py``)
    section: str = ""
    about: str = ""
    seed: str = ""
    when: str = ""

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


#: the catalogue's sections, in the order ``docs/rules.md`` lists them: key → (English, Chinese) title
SECTIONS: Final[dict[str, tuple[str, str]]] = {
    "lifecycle": ("Lifecycle", "生命周期"),
    "fill": ("Fill pre-check", "充装前检查"),
    "delivery": ("Delivery and customers", "送气与用户"),
    "inspection": ("Inspections and scrapping", "检验与报废"),
    "valves": ("Smart valves", "智能角阀"),
    "sweeps": ("Sweeps", "定期巡查"),
    "swaps": ("产权置换 swaps", "产权置换"),
    "public": ("Public side", "公众举报"),
}


# --- lifecycle ----------------------------------------------------------------------------------
LIFECYCLE_INVALID_TRANSITION: Final = Rule(
    "LIFECYCLE_INVALID_TRANSITION", "block",
    "气瓶当前状态为“{current_state_zh}”，不能执行该操作（{action}）",
    "cylinder is {current_state}: '{action}' is not allowed from this state",
    section="lifecycle", about="cylinder", seed="三(三)2 一瓶一码，全流程跟踪追溯",
    when=("the action is not allowed from the cylinder's current state (the lifecycle table; a scrapped cylinder "
          "takes no action at all); the refusal names the state"),
)

# --- fill pre-check (一(一)3, 二(二)) ------------------------------------------------------------
FILL_OVERDUE_INSPECTION: Final = Rule(
    "FILL_OVERDUE_INSPECTION", "block",
    "超期未检：气瓶应于 {due_on} 前检验，禁止充装",
    "inspection overdue: it was due by {due_on}; do not fill",
    section="fill", about="cylinder", seed="二(一)3 违规充装…超期未检气瓶",
    when=("the day is after the next inspection due date (every {inspection_interval_years} years from manufacture, "
          "then from each passing inspection); a cylinder due today may still be filled today"),
)
FILL_LIFE_EXPIRED: Final = Rule(
    "FILL_LIFE_EXPIRED", "block",
    "超出设计使用年限：气瓶已于 {life_expires_on} 达到设计使用年限，禁止充装",
    "design service life reached on {life_expires_on}; do not fill",
    section="fill", about="cylinder", seed="二(一)3 超出设计使用年限",
    when=("the day is on or after the day the design life is reached: {design_life_years} years from manufacture "
          "({design_life_years_before_cutoff} for cylinders made before {design_life_cutoff}), plus "
          "{life_extension_years} years after a passing inspection in the last interval"),
)
FILL_DUAL_PHASE_VALVE: Final = Rule(
    "FILL_DUAL_PHASE_VALVE", "block",
    "气液双相气瓶（{model}），未经检验机构改装为单相并检验合格，禁止充装",
    "gas-liquid dual-phase cylinder ({model}) not converted to single phase by an agency: do not fill",
    section="fill", about="cylinder", seed="二(二)2 50kg“气液双相”气瓶，禁止充装",
    when=("a gas-liquid dual-phase cylinder (YSP118-II) not converted to single phase by an agency at a passing "
          "inspection"),
)
FILL_NOT_OWNED: Final = Rule(
    "FILL_NOT_OWNED", "block",
    "非自有产权气瓶：产权属于 {owner}，充装站属于企业 {station_company_id}，禁止充装",
    "not the station company's own cylinder (owner {owner}, station company {station_company_id}): "
    "do not fill",
    section="fill", about="station", seed="二(一)3 违规充装非自有产权气瓶",
    when="the cylinder's owner is not the station's company (a customer or another company)",
)
FILL_SCRAPPED: Final = Rule(
    "FILL_SCRAPPED", "block", "气瓶已报废，禁止充装", "cylinder is scrapped: do not fill",
    section="fill", about="cylinder", seed="二(二)1 严禁不合格气瓶再次流入市场",
    when="the cylinder is scrapped",
)
FILL_SEIZED: Final = Rule(
    "FILL_SEIZED", "block", "气瓶已被查封，禁止充装", "cylinder is seized: do not fill",
    section="fill", about="cylinder", seed="二(二)1 立即查封扣押",
    when="the cylinder is seized",
)
FILL_UNQUALIFIED: Final = Rule(
    "FILL_UNQUALIFIED", "block", "气瓶检验不合格，禁止充装", "cylinder failed its inspection: do not fill",
    section="fill", about="cylinder", seed="二(一)3 不合格气瓶",
    when="the cylinder's last inspection failed (unqualified until scrapped)",
)
FILL_UNKNOWN_CODE: Final = Rule(
    "FILL_UNKNOWN_CODE", "block",
    "黑气瓶：气瓶码 {code} 未登记，禁止充装",
    "unregistered cylinder code {code} (black cylinder): do not fill",
    finding_severity="high",
    section="fill", about="station", seed="二(一)4 “黑气瓶”",
    when=("a well-formed code nobody registered is filled or checked at a station (a black cylinder); the finding is "
          "high"),
)
FILL_NO_SMART_VALVE: Final = Rule(
    "FILL_NO_SMART_VALVE", "block",
    "企业自有气瓶（{reason_zh}）未安装智能角阀，禁止充装",
    "company cylinder ({reason_en}) has no smart angle valve: do not fill",
    section="fill", about="cylinder", seed="三(二)4 新进自有钢瓶、到期检验钢瓶必须配备智能角阀",
    when=("a company-owned cylinder without a smart valve that became the company's (in_service_since; a census: the "
          "day of manufacture), was taken over in a swap, or passed a periodic inspection on or after "
          "{smart_valve_required_from}"),
)
FILL_SWAP_INSPECTION_PENDING: Final = Rule(
    "FILL_SWAP_INSPECTION_PENDING", "block",
    "产权置换收回的气瓶须经检验合格后方可充装",
    "a cylinder taken over in a swap must pass an inspection before its first fill",
    section="fill", about="cylinder", seed="三(二)2 用户支付角阀费和检测费后置换",
    when="a cylinder the company took over in a swap (产权置换) has not passed an inspection since",
)
FILL_STATION_UNLICENSED: Final = Rule(
    "FILL_STATION_UNLICENSED", "block",
    "{holder_zh}许可证缺失或已过期（有效期至 {valid_until}），禁止充装",
    "{holder_en} licence missing or expired (valid until {valid_until}): do not fill",
    section="fill", about="station / company", seed="二(一)1、3 未取得许可的企业从事燃气充装",
    when=("the station's filling licence or its company's gas business licence is missing or expired on the day "
          "(valid through its last day)"),
)
FILL_FILLER_UNCERTIFIED: Final = Rule(
    "FILL_FILLER_UNCERTIFIED", "block",
    "充装人员 {staff_id} 无有效充装作业证书（{reason_zh}）",
    "filler {staff_id} holds no valid filling certificate ({reason_en})",
    section="fill", about="company", seed="二(一)3 特种设备作业人员无从业资格证书",
    when="the filler is not a filler of the station's company, or holds no certificate valid on the day",
)
FILL_OVERFILL: Final = Rule(
    "FILL_OVERFILL", "block",
    "充装后检查不合格：净重 {net_mass_kg} kg 超过最大充装量 {max_fill_kg} kg，请排出多余液化气后重新记录",
    "post-fill check failed: net mass {net_mass_kg} kg exceeds the maximum fill {max_fill_kg} kg; "
    "remove the excess and record the fill again",
    section="fill", about="station", seed="二(一)3 未按许可规定充装 (充装后检查)",
    when=("the measured net mass exceeds the model's maximum fill ({max_fills}): the "
          "post-fill check failed, the fill is not accepted"),
)
FILL_CHECKS_FAILED: Final = Rule(
    "FILL_CHECKS_FAILED", "block",
    "充装前后检查未通过：{failed}", "fill checks failed: {failed}",
    section="fill", about="station", seed="二(一)3 未按许可规定充装 (充装前后检查)",
    when="the station's pre-fill, post-fill or leak check failed",
)
SCRAPPED_CYLINDER_REAPPEARED: Final = Rule(
    "SCRAPPED_CYLINDER_REAPPEARED", "high",
    "已报废气瓶 {code} 再次出现", "scrapped cylinder {code} has reappeared",
    section="fill", about="cylinder", seed="二(二)1、三(二)3 严禁重新流入市场",
    when="a scrapped cylinder is scanned, checked, filled or delivered (it is trying to re-enter the market)",
)

# --- delivery and customers (三(三)3, 二(四), 五(三)) ----------------------------------------------
DELIVERY_NO_REAL_NAME: Final = Rule(
    "DELIVERY_NO_REAL_NAME", "block",
    "用户实名信息不全（缺少：{missing}），禁止送气",
    "customer real-name record incomplete (missing: {missing})",
    section="delivery", about="customer", seed="三(三)3 全面推行瓶装液化石油气实名制销售",
    when="the customer's record lacks a name, ID number or phone",
)
DELIVERY_NO_CONTRACT: Final = Rule(
    "DELIVERY_NO_CONTRACT", "block",
    "非居民用户未签订供用气合同，禁止送气", "non-residential customer without a supply contract",
    section="delivery", about="customer", seed="三(三)3 非居民用户用气必须签订用气合同",
    when="a non-residential customer without a supply contract",
)
DELIVERY_WORKER_UNCERTIFIED: Final = Rule(
    "DELIVERY_WORKER_UNCERTIFIED", "block",
    "送气工 {staff_id} 无有效证书（{reason_zh}）",
    "delivery worker {staff_id} holds no valid certificate ({reason_en})",
    section="delivery", about="company", seed="三(三)3 配送人员应经过专业培训考核合格；二(一)1 送气工上岗证",
    when="the delivery worker is not the customer's company's, or holds no certificate valid on the day",
)
DELIVERY_VEHICLE_UNPERMITTED: Final = Rule(
    "DELIVERY_VEHICLE_UNPERMITTED", "block",
    "送气车辆 {plate} 无有效危险货物运输许可（有效期至 {valid_until}）",
    "vehicle {plate} has no valid hazardous goods permit (valid until {valid_until})",
    section="delivery", about="company", seed="二(三)2 未取得危险货物道路运输许可",
    when="the vehicle is not the company's, or its hazardous goods transport permit is missing or expired on the day",
)
DELIVERY_SELF_PICKUP: Final = Rule(
    "DELIVERY_SELF_PICKUP", "block",
    "禁止自提：{staff_id} 不是送气工，气瓶须由送气工送达",
    "no self pick-up: {staff_id} is not a delivery worker",
    section="delivery", about="company", seed="三(三)3 坚决禁止用户到气站、供气网点自提气",
    when="the cylinder is handed over by someone who is not a delivery worker (a station's counter)",
)
DELIVERY_SUPPLY_SUSPENDED: Final = Rule(
    "DELIVERY_SUPPLY_SUSPENDED", "block",
    "用户存在逾期未整改（或拒不整改）的安全隐患，停止供气",
    "supply suspended: the customer has a hazard past its rectification date or refused to rectify",
    section="delivery", about="customer", seed="三(三)3 拒不整改的，采取停气停供措施；五(三) 九个一律",
    when="the customer has a hazard finding still open after its due date, or refused to rectify",
)
DELIVERY_NO_GAS_ALARM: Final = Rule(
    "DELIVERY_NO_GAS_ALARM", "block",
    "非居民用户未安装可燃气体报警器，禁止供气", "non-residential premises without a gas alarm",
    section="delivery", about="customer", seed="五(三) 非居民用户可燃气体报警装置一律安装",
    when="non-residential premises without a gas alarm",
)
DELIVERY_UNDERGROUND: Final = Rule(
    "DELIVERY_UNDERGROUND", "block",
    "地下或半地下场所禁止使用瓶装液化气", "premises are underground or semi-underground",
    section="delivery", about="customer", seed="二(四)2 在地下或半地下空间使用瓶装液化石油气",
    when="non-residential premises underground or semi-underground",
)
DELIVERY_DUAL_PHASE: Final = Rule(
    "DELIVERY_DUAL_PHASE", "block",
    "禁止配送气液双相气瓶（{model}，未经检验机构改装为单相并检验合格）",
    "do not deliver a gas-liquid dual-phase cylinder ({model}, not converted to single phase by a passing "
    "inspection)",
    section="delivery", about="cylinder", seed="二(四)3 禁止使用的50kg“气液双相”气瓶",
    when="the cylinder is dual-phase: a YSP118-II not converted to single phase by a passing inspection",
)
DELIVERY_NO_EMERGENCY_SHUTOFF: Final = Rule(
    "DELIVERY_NO_EMERGENCY_SHUTOFF", "block",
    "非居民用户未安装燃气紧急切断阀，禁止供气", "non-residential premises without a gas emergency shut-off valve",
    section="delivery", about="customer", seed="二(四)2 未规范安装、使用…燃气紧急切断阀",
    when="non-residential premises without a gas emergency shut-off valve",
)
DELIVERY_STORAGE_OVER_100KG: Final = Rule(
    "DELIVERY_STORAGE_OVER_100KG", "block",
    "无专用气瓶间，送达后存量 {total_kg} kg 将超过 {limit_kg} kg",
    "no dedicated cylinder room: {total_kg} kg on the premises would exceed {limit_kg} kg",
    section="delivery", about="customer", seed="二(四)2 存放气瓶总重量超过100kg但未设置专用气瓶间",
    when=("non-residential premises without a dedicated cylinder room would hold more than "
          "{storage_limit_kg:g} kg (the sum of the maximum fills of the cylinders there, this one included)"),
)
DELIVERY_NOT_FILLABLE: Final = Rule(
    "DELIVERY_NOT_FILLABLE", "block",
    "气瓶不符合充装条件（{fill_rules}），禁止配送",
    "cylinder fails the fill pre-check ({fill_rules}): do not deliver",
    section="delivery", about="cylinder", seed="二(二)1 严禁不合格气瓶再次流入市场",
    when=("the cylinder breaks a fill pre-check state rule (overdue, life reached, seized, unqualified, no smart "
          "valve …)"),
)
SAFETY_CHECK_MISSING: Final = Rule(
    "SAFETY_CHECK_MISSING", "high",
    "居民用户送气未同时入户安检并进行安全宣传",
    "residential delivery without an in-home safety check and safety notice",
    section="delivery", about="customer", seed="三(三)3 送气上门一次，必须入户安检一次，安全使用须知宣传一次",
    when="a residential delivery without an in-home safety check and safety notice",
)
SAFETY_CHECK_OVERDUE: Final = Rule(
    "SAFETY_CHECK_OVERDUE", "high",
    "非居民用户本月（{month}）未进行安全检查", "non-residential customer has had no safety check in {month}",
    section="delivery", about="customer", seed="三(三)3 非居民用户每月至少安检一次",
    when="sweep: a non-residential customer with no safety check this calendar month",
)
HAZARD_FOUND: Final = Rule(
    "HAZARD_FOUND", "high",
    "安全检查发现隐患（{kinds}），须于 {due_on} 前整改",
    "safety check found hazards ({kinds}): rectify by {due_on}",
    section="delivery", about="customer", seed="三(三)3 安检发现隐患时，立即通知用户进行整改",
    when=("a safety check recorded hazards: the customer must rectify within {hazard_rectify_days} days (the finding "
          "keeps that due date)"),
)

# --- inspections and scrapping (二(二)1, 二(三)3) --------------------------------------------------
INSPECTION_AGENCY_UNLICENSED: Final = Rule(
    "INSPECTION_AGENCY_UNLICENSED", "block",
    "检验机构 {agency_id} 资质缺失或已过期（有效期至 {valid_until}），不得记录检验结论",
    "inspection agency {agency_id} licence missing or expired (valid until {valid_until}): the inspection is "
    "not recorded",
    section="inspection", about="agency", seed="二(三)3 检验机构…资质",
    when=("an inspection recorded by an agency whose licence is missing or expired on the inspection day: refused, "
          "due date and phase unchanged"),
)
SCRAP_NOT_BY_AGENCY: Final = Rule(
    "SCRAP_NOT_BY_AGENCY", "high",
    "气瓶 {code} 报废未注明负责销毁的气瓶检验机构：问题气瓶须移交检验机构报废处理",
    "cylinder {code} scrapped without naming the inspection agency that destroys it: problem cylinders must "
    "be handed to an agency for scrapping",
    section="inspection", about="company", seed="二(二)1 查处的“问题瓶”必须移交气瓶检验机构报废处理",
    when=("a cylinder scrapped without naming the inspection agency (agency_id) that destroys it: recorded, and a "
          "finding on the company that scrapped it"),
)
STOCK_OVERDUE_INSPECTION: Final = Rule(
    "STOCK_OVERDUE_INSPECTION", "high",
    "企业库存气瓶超期未检（应于 {due_on} 前检验），须送检",
    "company cylinder in stock overdue for inspection (due {due_on}): send it for inspection",
    section="inspection", about="cylinder", seed="二(一)3 未按要求送检",
    when="sweep: a company cylinder in stock (empty or full) overdue for inspection",
)

# --- smart valves (三(二)4, PROTOCOL.md) ---------------------------------------------------------
VALVE_ILLEGAL_REFILL: Final = Rule(
    "VALVE_ILLEGAL_REFILL", "high",
    "非法倒气：智能角阀 {valve_id} 报告未经授权的充装（{reason}）",
    "illegal refill: valve {valve_id} reports a fill without a valid authorization ({reason})",
    section="valves", about="cylinder", seed="三(二)4 防止“非法倒气”违法行为发生",
    when=("the valve reports refill_detected, or a fill_completed whose authorization was never issued, expired "
          "({fill_authorization_minutes} min) or was used already"),
)
VALVE_FILL_UNCONFIRMED: Final = Rule(
    "VALVE_FILL_UNCONFIRMED", "warn",
    "充装站记录了充装，智能角阀 {valve_id} 在 {window_minutes} 分钟内未确认",
    "the station recorded a fill but valve {valve_id} did not confirm it within {window_minutes} min",
    section="valves", about="cylinder", seed="三(二)4 钢瓶全过程、全生命周期溯源管理",
    when=("the station recorded a fill of a smart-valve cylinder and the valve sent no fill_completed within "
          "{fill_confirm_window_minutes} min"),
)
VALVE_FILL_UNRECORDED: Final = Rule(
    "VALVE_FILL_UNRECORDED", "high",
    "智能角阀 {valve_id} 报告已授权充装，充装站 {window_minutes} 分钟内无充装记录",
    "valve {valve_id} reports an authorized fill with no station fill record within {window_minutes} min",
    section="valves", about="cylinder", seed="三(二)4 钢瓶全过程、全生命周期溯源管理",
    when="the valve reported an authorized fill and the station recorded none within {fill_confirm_window_minutes} min",
)
VALVE_TAMPER: Final = Rule(
    "VALVE_TAMPER", "high", "智能角阀 {valve_id} 报告被拆改（{kind}）",
    "valve {valve_id} reports tampering ({kind})",
    section="valves", about="cylinder", seed="三(二)4 防止“非法倒气”违法行为发生",
    when="the valve reports tampering",
)
VALVE_LEAK: Final = Rule(
    "VALVE_LEAK", "high", "智能角阀 {valve_id} 报告泄漏（{ppm} ppm）",
    "valve {valve_id} reports a leak ({ppm} ppm)",
    section="valves", about="cylinder", seed="三(二)4 降低液化气市场的安全隐患",
    when="the valve reports a leak",
)
VALVE_OFFLINE: Final = Rule(
    "VALVE_OFFLINE", "warn",
    "智能角阀 {valve_id} 已超过 {hours} 小时无信号", "valve {valve_id} has not been heard for {hours} h",
    section="valves", about="cylinder", seed="三(二)4 钢瓶全过程、全生命周期溯源管理",
    when="sweep: a fitted valve not heard for {valve_offline_hours} h",
)

# --- sweeps (absence of events) -----------------------------------------------------------------
INSPECTION_DUE_SOON: Final = Rule(
    "INSPECTION_DUE_SOON", "warn",
    "气瓶将于 {due_on} 到期检验", "cylinder inspection due on {due_on}",
    section="sweeps", about="cylinder", seed="二(一)3 未按要求送检",
    when="sweep: a cylinder in circulation due for inspection within {inspection_due_soon_days} days",
)
OVERDUE_AT_CUSTOMER: Final = Rule(
    "OVERDUE_AT_CUSTOMER", "high",
    "超期未检气瓶（应于 {due_on} 前检验）仍在用户处，须召回",
    "overdue cylinder (due {due_on}) still at a customer: recall it",
    section="sweeps", about="cylinder", seed="二(一)3 超期未检气瓶；二(二)1",
    when="sweep: a cylinder overdue for inspection still at a customer: recall it",
)
LIFE_EXPIRED_AT_CUSTOMER: Final = Rule(
    "LIFE_EXPIRED_AT_CUSTOMER", "high",
    "超出设计使用年限（{life_expires_on}）的气瓶仍在用户处，须召回",
    "cylinder past its design life ({life_expires_on}) still at a customer: recall it",
    section="sweeps", about="cylinder", seed="三(二)3 超出使用期限…严禁重新流入市场",
    when="sweep: a cylinder past its design life still at a customer: recall it",
)

# --- 产权置换 swaps -------------------------------------------------------------------------------
SWAP_OLD_NOT_CUSTOMER_OWNED: Final = Rule(
    "SWAP_OLD_NOT_CUSTOMER_OWNED", "block",
    "置换的旧瓶不是用户 {customer_id} 的自有气瓶（产权：{owner}）",
    "the old cylinder is not owned by customer {customer_id} (owner {owner})",
    section="swaps", about="cylinder", seed="三(二)2 对用户自有钢瓶进行置换",
    when="a swap's old cylinder is not the customer's own",
)
SWAP_NEW_NOT_COMPANY_OWNED: Final = Rule(
    "SWAP_NEW_NOT_COMPANY_OWNED", "block",
    "置换提供的新瓶不是供气企业 {company_id} 的自有气瓶（产权：{owner}）",
    "the new cylinder is not owned by the serving company {company_id} (owner {owner})",
    section="swaps", about="cylinder", seed="三(二)2 无偿提供企业自有钢瓶",
    when="a swap's new cylinder is not the serving company's own",
)

# --- public -------------------------------------------------------------------------------------
PUBLIC_REPORT: Final = Rule(
    "PUBLIC_REPORT", "high", "群众举报：{kind}", "public report: {kind}",
    section="public", about="cylinder (a registered code) / report", seed="三(六)1 设立燃气举报投诉电话",
    when="anyone reports an illegal dealer or a suspicious cylinder",
)

CATALOGUE: Final[dict[str, Rule]] = {
    r.code: r for r in globals().copy().values() if isinstance(r, Rule)
}


def ledger_severity(code: str, fallback: Severity) -> Severity:
    """The severity a finding of rule ``code`` gets (rules outside the catalogue keep their own)."""
    rule = CATALOGUE.get(code)
    return rule.ledger_severity if rule is not None else fallback
