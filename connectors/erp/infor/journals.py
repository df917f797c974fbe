"""M3 GL journals through GLS840MI (``AddBatchHead``, ``AddBatchLineFld``, ``CtrlBatch``,
``UpdBatch``): the Stripe id in the voucher text ``FGLEDG.EGVTXT``, the source and memo in
GL additional information (``EXI1``/``EXI2``, read back from ``FGLEDX``)."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from domain.erp import DocKind, Document, ErpRef, JournalEntry, JournalLine
from domain.money import Money

from ..base import ErpRecord, ErpValidationError, PostResult
from .http import mi_error
from .lookups import co, export
from .values import SAFE, amount, m3_date, money, quote, short_key, ymd

if TYPE_CHECKING:
    from .adapter import InforAdapter


SOURCE_INFO, MEMO_INFO = "1", "2"          # GL additional information numbers (EXN1/EXN2)
DEPOSIT_SOURCE = "bank_deposit"
GL_COLS = ["EGYEA4", "EGVONO", "EGJRNO", "EGJSNO", "EGAIT1", "EGCUCD", "EGCUAM", "EGACDT",
           "EGVTXT"]
GLX_COLS = ["EGYEA4", "EGJRNO", "EGJSNO", "EGGEXN", "EGGEXI"]


def voucher_text(tag: str, external_id: str) -> str:
    text = tag + external_id
    return text if len(text) <= 40 and SAFE.match(external_id) else (
        tag + short_key("#", external_id, 40 - len(tag)))


def find_vouchers(a: InforAdapter, kind: DocKind, texts: Mapping[str, str]) -> dict[str, ErpRef]:
    ids = list(texts)
    rows = export(a, [(["EGYEA4", "EGVONO"], "FGLEDG",
                       f"{co(a, 'EG', True)} and EGVTXT = {quote(texts[e])}")
                      for e in ids])
    return {e: a.ref(kind, f"{r[0]['EGYEA4']}/{r[0]['EGVONO']}", e)
            for e, r in zip(ids, rows) if r}


def find(a: InforAdapter, ids: Sequence[str]) -> dict[str, ErpRef]:
    return find_vouchers(a, DocKind.JOURNAL, {e: voucher_text("", e) for e in ids})


def gl_group(a: InforAdapter, key1: str, desc: str, vtxt: str, source: str, memo: str, when: date,
             legs: Sequence[tuple[str, Money]]) -> list[dict[str, Any]]:
    group: list[dict[str, Any]] = [{"transaction": "AddBatchHead", "record": {
        "CONO": a.cono, "DIVI": a.divi, "KEY1": key1, "INTN": a.gl_interface,
        "DESC": desc[:40]}}]
    for n, (account, signed) in enumerate(legs, start=1):
        rec = {"KEY1": key1, "DIVI": a.divi, "LINE": str(n), "INRI": "GL", "AIT1": account,
               "CUCD": signed.currency, "CUAM": amount(signed),
               "DBCR": "D" if signed.amount > 0 else "C", "ACDT": ymd(when), "VTXT": vtxt,
               "EXN1": SOURCE_INFO, "EXI1": source[:45]}
        if memo:
            rec.update(EXN2=MEMO_INFO, EXI2=memo[:45])
        group.append({"transaction": "AddBatchLineFld", "record": rec})
    group.append({"transaction": "CtrlBatch", "record": {"CONO": a.cono,
                                                         "DIVI": a.divi, "KEY1": key1}})
    group.append({"transaction": "UpdBatch", "record": {"CONO": a.cono,
                                                        "DIVI": a.divi, "KEY1": key1}})
    return group


def post_vouchers(a: InforAdapter, docs: Sequence[Document],
                  groups: Sequence[list[dict[str, Any]]],
                  find_posted: Callable[[list[Any]], dict[str, ErpRef]]
                  ) -> dict[str, PostResult]:
    """Run the GLS840MI groups; ``find_posted(done)`` reads the vouchers' numbers back."""
    out: dict[str, PostResult] = {}
    done = []
    for d, items in zip(docs, a.api.bulk("GLS840MI", groups, write=True)):
        errors = [mi_error(i) for i in items]
        if any(errors):
            a.merge(out, d, errors, None)
        else:
            done.append(d)
    if done:   # UpdBatch does not return the voucher number: read it back
        found = find_posted(done)
        for d in done:
            ref = found.get(d.external_id)
            out[d.external_id] = PostResult(d.external_id, ref, created=True) if ref else \
                PostResult(d.external_id, error=ErpValidationError(
                    "GLS840MI UpdBatch answered OK but no voucher was found"))
    return out


def create(a: InforAdapter, docs: Sequence[JournalEntry]) -> dict[str, PostResult]:
    groups = []
    for j in docs:
        legs = [(x.account, x.debit if x.debit.amount > 0 else -x.credit) for x in j.lines]
        groups.append(gl_group(a, short_key("J", j.external_id, 15), j.memo or j.source,
                               voucher_text("", j.external_id), j.source, j.memo,
                               j.entry_date, legs))
    return post_vouchers(a, docs, groups, lambda done: find(a, [d.external_id for d in done]))


def vouchers(a: InforAdapter, texts: Sequence[str] | None) -> tuple[list[dict], dict[tuple, dict]]:
    """GL lines (by voucher text, or all) and their additional information."""
    where = co(a, "EG", True)
    if texts is None:
        rows, info = export(a, [(GL_COLS, "FGLEDG", where),
                                (GLX_COLS, "FGLEDX", where)])
    else:
        per = export(a, [(GL_COLS, "FGLEDG", f"{where} and EGVTXT = {quote(t)}")
                         for t in texts])
        rows = [r for rs in per for r in rs]
        journals = list(dict.fromkeys((r["EGYEA4"], r["EGJRNO"]) for r in rows))
        per_info = export(a, [(GLX_COLS, "FGLEDX",
                               f"{where} and EGYEA4 = {int(y)} and EGJRNO = {int(j)}")
                              for y, j in journals])
        info = [r for rs in per_info for r in rs]
    extra: dict[tuple, dict[str, str]] = {}
    for r in info:
        extra.setdefault((r["EGYEA4"], r["EGJRNO"], r["EGJSNO"]), {})[r["EGGEXN"]] = r["EGGEXI"]
    return rows, extra


def voucher_groups(rows: Sequence[dict], extra: Mapping[tuple, dict],
                   deposits: bool) -> dict[tuple[str, str], tuple[list[dict], dict]]:
    vouchers: dict[tuple[str, str], tuple[list[dict], dict]] = {}
    for r in rows:
        info = extra.get((r["EGYEA4"], r["EGJRNO"], r["EGJSNO"]))
        if not info or SOURCE_INFO not in info:
            continue         # not posted by the product
        if (info[SOURCE_INFO] == DEPOSIT_SOURCE) != deposits:
            continue
        vouchers.setdefault((r["EGYEA4"], r["EGVONO"]), ([], info))[0].append(r)
    return vouchers


def read(a: InforAdapter, ids: Sequence[str] | None) -> list[ErpRecord]:
    texts = None if ids is None else {voucher_text("", e): e for e in ids}
    rows, extra = vouchers(a, None if texts is None else list(texts))
    out = []
    for (yea4, vono), (lines, info) in voucher_groups(rows, extra, False).items():
        vtxt = lines[0]["EGVTXT"]
        ext = texts.get(vtxt, vtxt) if texts else vtxt
        cucd = lines[0]["EGCUCD"]
        zero = Money(0, cucd)
        jl = []
        for x in sorted(lines, key=lambda x: int(x["EGJSNO"] or 0)):
            m = money(x["EGCUAM"], cucd)
            jl.append(JournalLine(account=x["EGAIT1"], debit=m if m.amount > 0 else zero,
                                  credit=-m if m.amount < 0 else zero))
        fields = dict(external_id=ext, entry_date=m3_date(lines[0]["EGACDT"]), currency=cucd,
                      memo=info.get(MEMO_INFO, ""), source=info.get(SOURCE_INFO, ""),
                      lines=tuple(jl))
        try:
            doc = JournalEntry(**fields)
        except ValueError:
            doc = JournalEntry.model_construct(**fields)
        out.append(ErpRecord(a.ref(DocKind.JOURNAL, f"{yea4}/{vono}", ext), doc))
    return out
