"""The workbench's HTML: plain server-rendered pages, every value escaped."""
from __future__ import annotations

import json
from html import escape
from typing import Any

from domain.erp import Document
from domain.money import format_minor

from .catalog import Fix

SHOWN_PER_CAUSE = 20  # dead letters listed per cause; the count says how many there are

STYLE = """body{font:14px system-ui,sans-serif;margin:0;color:#1d2433}
header{background:#1d2433;color:#fff;padding:10px 20px;display:flex;gap:18px;align-items:center}
header a{color:#cfe0ff;text-decoration:none}main{padding:16px 20px;max-width:1200px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #d5d9e2;padding:4px 8px;
text-align:left;vertical-align:top}td.num{text-align:right;font-variant-numeric:tabular-nums}
.cause{border:1px solid #d5d9e2;border-radius:6px;padding:8px 14px;margin:12px 0}
.flash{background:#e8f4ea;border:1px solid #9bc9a4;padding:8px;margin:8px 0}
.error{background:#fbeaea;border:1px solid #d99;padding:8px;margin:8px 0}
pre{background:#f5f6f8;padding:8px;overflow:auto;max-height:320px}button{cursor:pointer}"""


def money(amount: int | None, currency: str) -> str:
    """Integer minor units in the currency's own decimals: 7239001 usd -> USD 72,390.01."""
    return "" if amount is None else format_minor(int(amount), currency)


def layout(title: str, body: str, who: str | None = None, refresh: int | None = None) -> str:
    nav = ("<a href='/'>Dead letters</a><a href='/reconciliation'>Reconciliation</a>"
           "<a href='/anomalies'>Anomalies</a>"
           "<a href='/audit'>Audit</a>"
           f"<span style='margin-left:auto'>{escape(who)}</span>"
           "<form method='post' action='/logout' style='margin:0'><button>Log out</button></form>"
           if who else "")
    meta = f"<meta http-equiv='refresh' content='{refresh}'>" if refresh else ""
    return (f"<!doctype html><html><head><meta charset='utf-8'>{meta}<title>{escape(title)} - "
            f"Exceptions workbench</title><style>{STYLE}</style></head><body><header>"
            f"<strong>Exceptions workbench</strong>{nav}</header><main><h1>{escape(title)}</h1>"
            f"{body}</main></body></html>")


def login(error: str = "") -> str:
    err = f"<p class='error'>{escape(error)}</p>" if error else ""
    return layout("Log in", f"""{err}<form method='post' action='/login'>
<p><label>Your name <input name='who' required autocomplete='username'></label></p>
<p><label>Token <input name='token' type='password' required autocomplete='current-password'>
</label></p><p><button type='submit'>Log in</button></p></form>""")


def _payload(letter: dict[str, Any]) -> str:
    payload = letter.get("payload")
    if isinstance(payload, str):
        payload = json.loads(payload)
    return escape(json.dumps(payload, indent=2, default=str))


def _fix(letter: dict[str, Any], fix: Fix) -> str:
    hint = f" (Stripe: {escape(fix.hint)})" if fix.hint else ""
    rows = []
    for rank, c in enumerate(fix.candidates, 1):
        action = ""
        if fix.what == "sku":
            action = (f"<form method='post' action='/dead-letters/{letter['id']}/preview'>"
                      f"<input type='hidden' name='sku' value='{escape(fix.unknown)}'>"
                      f"<input type='hidden' name='item' value='{escape(c.code)}'>"
                      f"<button>Apply and replay…</button></form>")
        rows.append(f"<tr class='candidate'><td>{rank}</td><td class='code'>{escape(c.code)}</td>"
                    f"<td>{escape(c.label)}</td><td class='num'>{c.score:.2f}</td>"
                    f"<td>{escape(c.why)}</td><td>{action}</td></tr>")
    none = "<tr><td colspan='6'>no candidate in the ERP</td></tr>" if not rows else ""
    note = ("" if fix.what == "sku" else "<p>Customers are matched by Stripe id and e-mail "
            "(mapping customers.match): merge or create the customer in the ERP, then replay.</p>")
    return (f"<div class='fix' data-unknown='{escape(fix.unknown)}'><p>Suggested "
            f"{'items' if fix.what == 'sku' else 'customers'} for unknown {fix.what} "
            f"<b>{escape(fix.unknown)}</b>{hint}:</p><table><tr><th>#</th><th>ERP code</th>"
            f"<th>Description</th><th>Score</th><th>Why</th><th></th></tr>{''.join(rows)}{none}"
            f"</table>{note}</div>")


def dead_letters(groups: dict[str, list[dict[str, Any]]], fixes: dict[int, list[Fix]],
                 who: str, flash: str = "", error: str = "") -> str:
    parts = [f"<p class='flash'>{escape(flash)}</p>" if flash else "",
             f"<p class='error'>{escape(error)}</p>" if error else ""]
    if not groups:
        parts.append("<p id='no-dead-letters'>No open dead letters.</p>")
    for n, (cause, rows) in enumerate(groups.items()):
        items = []
        for x in rows[:SHOWN_PER_CAUSE]:
            fix_html = "".join(_fix(x, f) for f in fixes.get(x["id"], []))
            items.append(
                f"<div class='letter' id='letter-{x['id']}'><p><b>{escape(x['kind'])}</b> "
                f"{escape(x['external_id'])} (ERP {escape(x['erp'])}, source "
                f"{escape(x.get('source_id') or '')}, day {x.get('source_day') or ''}, "
                f"{x['attempts']} attempt(s))</p><p>ERP message: <code class='message'>"
                f"{escape(x['error_message'])}</code></p>{fix_html}<details><summary>Payload"
                f"</summary><pre>{_payload(x)}</pre></details></div>")
        more = len(rows) - SHOWN_PER_CAUSE
        if more > 0:
            items.append(f"<p class='more'>and {more:,} more with this cause (the first "
                         f"{SHOWN_PER_CAUSE} are shown, oldest first)</p>")
        parts.append(f"<section class='cause' id='cause-{n}'><h2>{escape(cause)} "
                     f"<small>({len(rows):,})</small></h2>{''.join(items)}</section>")
    return layout("Open dead letters by cause", "".join(parts), who)


def _doc_row(doc: Document) -> str:
    data = json.loads(doc.model_dump_json())
    lines = data.get("lines") or []
    detail = "; ".join(
        f"{escape(str(ln.get('sku') or ln.get('account')))} "
        f"{escape(str(ln.get('quantity') or ''))}".strip() for ln in lines) or escape(
        str(data.get("sku") or data.get("amount") or ""))
    return (f"<tr class='doc'><td>{escape(doc.kind.value)}</td><td>{escape(doc.external_id)}"
            f"</td><td class='detail'>{detail}</td></tr>")


def preview(letter_ids: list[int], sku: str, item: str, diff: str, docs: list[Document],
            who: str, mapping_name: str) -> str:
    rows = "".join(_doc_row(d) for d in docs) or "<tr><td colspan='3'>nothing</td></tr>"
    ids = ",".join(str(i) for i in letter_ids)
    return layout("Preview: apply and replay", f"""
<p>Map SKU <b>{escape(sku)}</b> to ERP item <b>{escape(item)}</b> in {escape(mapping_name)}
for {len(letter_ids)} dead letter(s). The mapping below passed the same validation as at
load. Nothing has been written or sent yet.</p>
<h2>Mapping change</h2><pre id='diff'>{escape(diff) or '(already mapped)'}</pre>
<h2>Documents that would post ({len(docs)})</h2>
<table id='preview'><tr><th>Kind</th><th>External id</th><th>Lines</th></tr>{rows}</table>
<form method='post' action='/apply'><input type='hidden' name='ids' value='{ids}'>
<input type='hidden' name='sku' value='{escape(sku)}'>
<input type='hidden' name='item' value='{escape(item)}'>
<button id='confirm'>Apply the mapping and replay through Dagster</button></form>
<p><a href='/'>Cancel</a></p>""", who)


def run(run_id: str, status: str, ui: str, letters: list[dict[str, Any]], who: str) -> str:
    rows = "".join(
        f"<tr id='letter-{x['id']}'><td>{escape(x['kind'])}</td><td>{escape(x['external_id'])}"
        f"</td><td class='state'>{'resolved' if x.get('resolved_at') else 'open'}</td>"
        f"<td>{x.get('resolved_at') or ''}</td></tr>" for x in letters)
    done = status in ("SUCCESS", "FAILURE", "CANCELED")
    return layout(f"Replay run {run_id[:8]}", f"""
<p>Run <a href='{escape(ui)}/runs/{escape(run_id)}'>{escape(run_id)}</a> in Dagster:
<b id='run-status'>{escape(status)}</b>{'' if done else ' (this page refreshes)'}</p>
<table id='letters'><tr><th>Kind</th><th>External id</th><th>State</th><th>Resolved at</th></tr>
{rows}</table><p><a href='/'>Back to the dead letters</a></p>""", who,
                  refresh=None if done else 2)


def reconciliation(payouts: list[dict[str, Any]], items: dict[tuple[str, str], list[dict]],
                   who: str) -> str:
    if not payouts:
        return layout("Reconciliation variances", "<p>Every reconciled payout matches.</p>", who)
    parts = []
    for p in payouts:
        cur = p["currency"]
        rows = "".join(
            f"<tr><td>{escape(i['kind'])}</td><td>{escape(i['balance_transaction_id'])}</td>"
            f"<td>{escape(i.get('source_id') or '')}</td><td class='num'>"
            f"{money(i['expected'], cur)}</td><td class='num'>{money(i['found'], cur)}</td>"
            f"<td>{escape(i['problem'])}</td></tr>"
            for i in items.get((p["payout_id"], p["erp"]), []))
        parts.append(
            f"<section class='cause payout' id='payout-{escape(p['payout_id'])}'><h2>"
            f"{escape(p['payout_id'])} <small>{escape(p['status'])}, arrives "
            f"{p.get('arrival_date') or ''}, ERP {escape(p['erp'])}</small></h2><table><tr>"
            "<th>Payout</th><th>Expected in Stripe clearing</th><th>Found in the ERP</th>"
            "<th>Variance (found − expected)</th></tr>"
            f"<tr><td class='num'>{money(p['amount'], cur)}</td><td class='num'>"
            f"{money(p['expected'], cur)}</td><td class='num'>{money(p['found'], cur)}</td>"
            f"<td class='num variance'>{money(p['variance'], cur)}</td></tr></table>"
            f"<table><tr><th>Item</th><th>Balance transaction</th><th>Source</th>"
            f"<th>Expected</th><th>Found</th><th>Problem</th></tr>{rows}</table></section>")
    return layout("Reconciliation variances", "".join(parts), who)


def audit(rows: list[dict[str, Any]], ui: str, who: str) -> str:
    body = "".join(
        f"<tr><td>{r['at']:%Y-%m-%d %H:%M:%S}</td><td>{escape(r['who'])}</td>"
        f"<td>{escape(r['action'])}</td><td>{escape(r['summary'])}</td><td>"
        + (f"<a href='{escape(ui)}/runs/{escape(r['run_id'])}'>{escape(r['run_id'][:8])}</a>"
           if r.get("run_id") else "")
        + f"</td><td><pre>{escape(r.get('mapping_diff') or '')}</pre></td></tr>" for r in rows)
    return layout("Audit", "<table id='audit'><tr><th>When (UTC)</th><th>Who</th><th>Action"
                  "</th><th>What</th><th>Run</th><th>Mapping change</th></tr>"
                  f"{body}</table>", who)


def anomalies(rows: list[dict[str, Any]], who: str) -> str:
    if not rows:
        return layout("Anomalies to review", "<p>No flagged charge, refund or dispute "
                      "(materialize ops/anomalies to score them).</p>", who)
    body = "".join(
        f"<tr id='anomaly-{escape(r['object_id'])}'><td class='num'>{r['score']:.2f}</td>"
        f"<td>{escape(r['object_type'])}</td><td>{escape(r['object_id'])}</td>"
        f"<td>{r['day']}</td><td>{escape(r.get('customer') or '')}</td><td class='num'>"
        f"{money(r['amount'], r['currency'])}</td><td>{escape(r['reasons'])}</td></tr>"
        for r in rows)
    return layout("Anomalies to review", "<table id='anomalies'><tr><th>Score</th><th>Object"
                  "</th><th>Id</th><th>Day</th><th>Customer</th><th>Amount</th><th>Why</th>"
                  f"</tr>{body}</table>", who)
