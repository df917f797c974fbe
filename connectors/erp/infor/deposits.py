"""Stripe payouts as M3 GL vouchers (GLS840MI, like journals): Dr bank, Cr Stripe
clearing, voucher text "DEP " + payout id; a failed payout reverses it ("DEPR ")."""
from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from domain.erp import BankDeposit, DocKind, ErpRef

from ..base import ErpRecord, PostResult
from .journals import (DEPOSIT_SOURCE, find_vouchers, gl_group, post_vouchers, voucher_groups,
                       voucher_text, vouchers)
from .values import m3_date, money, short_key

if TYPE_CHECKING:
    from .adapter import InforAdapter


DEPOSIT_TAG, REVERSAL_TAG = "DEP ", "DEPR "


def find(a: InforAdapter, ids: Sequence[str]) -> dict[str, ErpRef]:
    paid = find_vouchers(a, DocKind.DEPOSIT, {e: voucher_text(DEPOSIT_TAG, e) for e in ids})
    failed = find_vouchers(a, DocKind.DEPOSIT, {e: voucher_text(REVERSAL_TAG, e)
                                                for e in ids})
    return {**paid, **failed}


def find_for_post(a: InforAdapter, docs: Sequence[BankDeposit]) -> dict[str, ErpRef]:
    tags = {d.external_id: voucher_text(REVERSAL_TAG if d.status == "failed" else DEPOSIT_TAG,
                                        d.external_id) for d in docs}
    return find_vouchers(a, DocKind.DEPOSIT, tags)


def create(a: InforAdapter, docs: Sequence[BankDeposit]) -> dict[str, PostResult]:
    groups = []
    for d in docs:
        failed = d.status == "failed"
        tag = REVERSAL_TAG if failed else DEPOSIT_TAG
        legs = [(d.bank_account, -d.amount if failed else d.amount),
                (d.clearing_account, d.amount if failed else -d.amount)]
        groups.append(gl_group(a, short_key("R" if failed else "D", d.external_id, 15),
                               f"Stripe payout {d.external_id}",
                               voucher_text(tag, d.external_id), DEPOSIT_SOURCE,
                               d.status, d.deposit_date, legs))
    return post_vouchers(a, docs, groups, lambda done: find_for_post(a, done))


def read(a: InforAdapter, ids: Sequence[str] | None) -> list[ErpRecord]:
    texts = None
    if ids is not None:
        texts = {voucher_text(tag, e): e for e in ids for tag in (DEPOSIT_TAG, REVERSAL_TAG)}
    rows, extra = vouchers(a, None if texts is None else list(texts))
    found: dict[str, ErpRecord] = {}
    for (yea4, vono), (lines, info) in sorted(voucher_groups(rows, extra, True).items()):
        vtxt = lines[0]["EGVTXT"]
        failed = vtxt.startswith(REVERSAL_TAG)
        ext = texts.get(vtxt) if texts else vtxt[len(REVERSAL_TAG if failed else DEPOSIT_TAG):]
        if not ext:
            continue
        cucd = lines[0]["EGCUCD"]
        debit = [x for x in lines if Decimal(x["EGCUAM"]) > 0]
        credit = [x for x in lines if Decimal(x["EGCUAM"]) < 0]
        if not debit or not credit:
            continue
        bank, clearing = (credit[0], debit[0]) if failed else (debit[0], credit[0])
        doc = BankDeposit(external_id=ext, bank_account=bank["EGAIT1"],
                          clearing_account=clearing["EGAIT1"],
                          deposit_date=m3_date(lines[0]["EGACDT"]),
                          amount=money(debit[0]["EGCUAM"], cucd),
                          status="failed" if failed else "paid")
        if ext not in found or failed:
            found[ext] = ErpRecord(a.ref(DocKind.DEPOSIT, f"{yea4}/{vono}", ext), doc)
    return list(found.values())
