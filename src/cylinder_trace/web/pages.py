"""The public pages: a cylinder's page behind its QR code, the page for an unknown code, and the
confirmation of a report sent without JavaScript. Chinese first, small screens first.

Pages take the public view built by ``app/public.py`` (an allowlist without customer data) and
escape every value (``web/html.py``). The one script and style carry a per-response nonce so the
Content-Security-Policy can forbid everything else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from .html import Markup, el, join

REPORTS_PATH: Final = "/api/v1/reports"

_CSS: Final = Markup("""
:root{--ok:#0a7a32;--bad:#b3141b;--ink:#1b1f24;--mute:#5b6570;--line:#dfe3e8;--bg:#f5f7fa}
*{box-sizing:border-box}
body{margin:0;font:16px/1.6 system-ui,-apple-system,"PingFang SC","Hiragino Sans GB","Microsoft YaHei",
"WenQuanYi Micro Hei","Noto Sans CJK SC",sans-serif;color:var(--ink);background:var(--bg)}
header{background:#12355b;color:#fff;padding:14px 16px}
header h1{margin:0;font-size:1.15rem}
header .code{margin:2px 0 0;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9rem;
word-break:break-all;opacity:.9}
main{max-width:40rem;margin:0 auto;padding:12px}
section{background:#fff;border:1px solid var(--line);border-radius:10px;padding:12px 14px;margin:0 0 12px}
h2{font-size:1.05rem;margin:0 0 8px}
h3{font-size:.95rem;margin:12px 0 6px}
.verdict{border-width:2px;text-align:center}
.verdict strong{display:block;font-size:1.7rem;letter-spacing:.08em}
.verdict.safe{border-color:var(--ok);color:var(--ok)}
.verdict.unsafe{border-color:var(--bad);color:var(--bad)}
.verdict ul{text-align:left;margin:8px 0 0;padding-left:1.2em;color:var(--ink)}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 12px;margin:0}
dt{color:var(--mute)}
dd{margin:0;word-break:break-all}
table{width:100%;border-collapse:collapse;font-size:.95rem}
th,td{text-align:left;padding:6px 4px;border-bottom:1px solid var(--line)}
.warn{color:var(--bad)}
.muted{color:var(--mute);font-size:.9rem}
label{display:block;margin:8px 0 4px;font-weight:600}
input,select,textarea{width:100%;font:inherit;padding:8px;border:1px solid #b9c1ca;border-radius:6px;background:#fff}
textarea{min-height:6em}
button{margin-top:12px;width:100%;font:inherit;font-weight:600;padding:10px;border:0;border-radius:6px;
background:#12355b;color:#fff}
#report-result{margin:10px 0 0;font-weight:600}
#report-result.ok{color:var(--ok)}
#report-result.error{color:var(--bad)}
footer{max-width:40rem;margin:0 auto;padding:0 12px 24px;color:var(--mute);font-size:.85rem}
""")

_SCRIPT: Final = Markup("""
(function(){
  var form = document.getElementById('report-form');
  var out = document.getElementById('report-result');
  if (!form || !window.fetch) return;
  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var body = {kind: form.elements.kind.value, description: form.elements.description.value};
    if (form.elements.code.value) body.code = form.elements.code.value;
    if (form.elements.contact.value) body.contact = form.elements.contact.value;
    out.className = ''; out.textContent = '正在提交……';
    fetch(form.action, {method: 'POST', body: JSON.stringify(body),
                        headers: {'Content-Type': 'application/json', 'Accept': 'application/json'}})
      .then(function (r) { return r.json().catch(function () { return {}; })
                                     .then(function (j) { return [r.status, j]; }); })
      .then(function (res) {
        if (res[0] === 201) {
          out.className = 'ok';
          out.textContent = '举报已收到，编号 ' + res[1].report_id + '。感谢您的监督！';
          form.elements.description.value = ''; form.elements.contact.value = '';
        } else if (res[0] === 429) {
          out.className = 'error'; out.textContent = '提交过于频繁，请稍后再试。';
        } else {
          out.className = 'error'; out.textContent = '提交失败，请检查填写的内容（举报内容不能为空）。';
        }
      })
      .catch(function () { out.className = 'error'; out.textContent = '网络错误，请稍后再试。'; });
  });
})();
""")

_KINDS: Final[tuple[tuple[str, str], ...]] = (
    ("black_cylinder", "可疑气瓶（黑气瓶、无码或码不符）"),
    ("illegal_dealer", "非法经营瓶装液化气（黑气点）"),
    ("other", "其他燃气安全问题"),
)


def _document(title: str, nonce: str, header_code: str | None, *body: object) -> str:
    head = el("head", None,
              el("meta", {"charset": "utf-8"}),
              el("meta", {"name": "viewport", "content": "width=device-width, initial-scale=1"}),
              el("meta", {"name": "robots", "content": "noindex"}),
              el("link", {"rel": "icon", "href": "data:,"}),
              el("title", None, title),
              el("style", {"nonce": nonce}, _CSS))
    header = el("header", None, el("h1", None, "瓶装液化气 · 一瓶一码"),
                el("p", {"class": "code"}, header_code) if header_code else None)
    page = el("html", {"lang": "zh-CN"}, head,
              el("body", None, header, el("main", None, *body),
                 el("footer", None, "燃气安全关系千家万户。发现非法经营、来历不明的气瓶，请立即举报。"),
                 el("script", {"nonce": nonce}, _SCRIPT)))
    return "<!DOCTYPE html>\n" + page


def report_form(code: str | None, kind: str = "black_cylinder") -> Markup:
    options = [el("option", {"value": value, "selected": value == kind}, text) for value, text in _KINDS]
    return el("section", {"id": "report"},
              el("h2", None, "举报"),
              el("p", {"class": "muted"}, "可匿名举报；如需回复请留下联系方式（仅监管部门可见）。"),
              el("form", {"id": "report-form", "method": "post", "action": REPORTS_PATH},
                 el("label", {"for": "kind"}, "举报类型"),
                 el("select", {"id": "kind", "name": "kind"}, options),
                 el("label", {"for": "code"}, "气瓶码（可选）"),
                 el("input", {"id": "code", "name": "code", "value": code or "", "maxlength": 40,
                              "autocomplete": "off"}),
                 el("label", {"for": "description"}, "举报内容"),
                 el("textarea", {"id": "description", "name": "description", "required": True, "maxlength": 2000,
                                 "placeholder": "时间、地点、情况说明"}),
                 el("label", {"for": "contact"}, "联系方式（可选）"),
                 el("input", {"id": "contact", "name": "contact", "maxlength": 100, "autocomplete": "tel"}),
                 el("button", {"type": "submit"}, "提交举报")),
              el("p", {"id": "report-result", "role": "status", "aria-live": "polite"}))


def _verdict(verdict: Mapping[str, Any]) -> Markup:
    safe = bool(verdict["safe"])
    reasons = [el("li", None, r["zh"]) for r in verdict["reasons"]]
    return el("section", {"id": "verdict", "class": f"verdict {'safe' if safe else 'unsafe'}", "role": "status"},
              el("strong", None, verdict["text_zh"]),
              el("ul", None, reasons) if reasons else el("p", {"class": "muted"}, "气瓶在检验有效期和设计使用年限内"))


def _row(term: str, value: object) -> Markup:
    return join(el("dt", None, term), el("dd", None, value if value not in (None, "") else "—"))


def _valid_mark(ok: bool, until: str | None) -> Markup:
    text = f"有效期至 {until}" if until else "无"
    return el("span", {"class": None if ok else "warn"}, text if ok else f"{text}（已失效）")


def _workers(workers: Sequence[Mapping[str, Any]]) -> Markup:
    if not workers:
        return el("p", {"class": "muted"}, "暂无登记的送气工")
    rows = [el("tr", None, el("td", None, w["name"]),
               el("td", None, el("a", {"href": f"tel:{w['phone']}"}, w["phone"])),
               el("td", None, _valid_mark(bool(w["certified"]), w["certificate_valid_until"])))
            for w in workers]
    return el("table", {"id": "workers"}, el("thead", None, el("tr", None, el("th", None, "姓名"),
                                                               el("th", None, "电话"), el("th", None, "从业证书"))),
              el("tbody", None, rows))


def _vehicles(vehicles: Sequence[Mapping[str, Any]]) -> Markup:
    if not vehicles:
        return el("p", {"class": "muted"}, "暂无登记的送气车辆")
    rows = [el("tr", None, el("td", None, v["plate"]),
               el("td", None, _valid_mark(bool(v["permitted"]), v["permit_valid_until"]))) for v in vehicles]
    return el("table", {"id": "vehicles"}, el("thead", None, el("tr", None, el("th", None, "车牌"),
                                                                el("th", None, "危险货物运输许可"))),
              el("tbody", None, rows))


def cylinder_page(view: Mapping[str, Any], nonce: str) -> str:
    """The page for a registered cylinder, from :func:`cylinder_trace.app.public.public_cylinder`."""
    owner = view["owner"]
    company = view.get("company")
    details = el("section", {"id": "cylinder"}, el("h2", None, "气瓶信息"), el("dl", None,
        _row("型号", view["model"]),
        _row("产权", owner["label_zh"]),
        _row("供气企业", owner.get("company_name")),
        _row("状态", view["status_zh"]),
        _row("制造日期", view["manufactured_on"]),
        _row("上次检验", view["last_inspected_on"]),
        _row("下次检验日期", view["next_inspection_due"]),
        _row("设计使用年限至", view["life_expires_on"]),
        _row("智能角阀", "已安装" if view["smart_valve"] else "未安装"),
    ))
    published: list[object] = []
    if company is not None:
        published = [el("section", {"id": "company"}, el("h2", None, "供气企业公示"),
                        el("dl", None, _row("企业名称", company["name"]),
                           _row("燃气经营许可证", join(company.get("licence_no") or "—", " ",
                                                     _valid_mark(bool(company["licensed"]),
                                                                 company.get("licence_valid_until"))))),
                        el("h3", None, "送气工"), _workers(view["delivery_workers"]),
                        el("h3", None, "送气车辆"), _vehicles(view["vehicles"]),
                        el("p", {"class": "muted"}, "请认准以上公示的送气工和车辆，拒绝来历不明的送气人员。"))]
    return _document(f"气瓶 {view['code']} · {view['verdict']['text_zh']}", nonce, view["code"],
                     _verdict(view["verdict"]), details, *published,
                     report_form(view["code"], "other"),
                     el("p", {"class": "muted"}, f"信息截至 {view['as_of']}"))


def unknown_code_page(code: str, reason: str, nonce: str) -> str:
    """404: nothing is known of this code — say so, warn, and offer the report form."""
    notice = el("section", {"id": "verdict", "class": "verdict unsafe", "role": "status"},
                el("strong", None, "未查到该气瓶"),
                el("p", None, reason),
                el("p", None, "请勿使用来历不明的气瓶。如发现“黑气瓶”或非法经营，请在下方举报。"))
    return _document("未查到该气瓶", nonce, code, notice, report_form(code, "black_cylinder"))


def report_received_page(report_id: str, nonce: str) -> str:
    """The answer to a report sent by a browser without JavaScript."""
    return _document("举报已收到", nonce, None,
                     el("section", {"id": "verdict", "class": "verdict safe", "role": "status"},
                        el("strong", None, "举报已收到"),
                        el("p", None, f"编号 {report_id}。感谢您的监督！")))


def report_refused_page(message: str, nonce: str) -> str:
    return _document("举报未能提交", nonce, None,
                     el("section", {"id": "verdict", "class": "verdict unsafe", "role": "status"},
                        el("strong", None, "举报未能提交"), el("p", None, message)))
