"""Posting processes: what turns entered documents into general-ledger detail.

* ``Erp.PROC.ARInvoicePostSvc`` (``GetNewParameters`` -> ``RunDirect`` with
  ``ARInvoicePostParam.GroupID``): every unposted invoice of the group -> one ``SJ``
  journal, Dr the AR account / Cr the sales account per line (Epicor's AR transaction
  hierarchy), ``InvcHead.Posted``; the group is then removed.  Cash can be applied only
  to posted invoices.
* ``Erp.PROC.CashRecPostSvc`` (``CashRecPostParam.GroupID``): every unposted receipt ->
  one ``CR`` journal, Dr the bank account's GL account / Cr AR per application (Cr
  unapplied cash for the rest); the invoices' balances fall; the group is removed.
* ``Erp.BO.GLJrnGrpSvc/PostGroupJournals`` (``postGroupID``): each journal of the group
  posts on its own (``GJ``, as entered); a posted journal's ``GLJrnHed`` and lines are
  removed, the group too once all posted; otherwise ``NotAllPostedMessage`` and the
  group's ``PostErrorLog`` say which journals did not post and why.
* ``Erp.PROC.BankFundPostSvc`` (``BankFundPostParam.TranNum``): a transfer's two
  ``BankTran`` legs -> one ``BT`` journal, Dr the target bank's GL / Cr the source bank's.

A process refused as a whole (unknown group, closed period) answers Epicor's error body
and posts nothing of the group.
"""
from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .errors import NOT_FOUND_EXCEPTION, EpicorError, business
from .ledger import AR_ACCOUNT, SALES_ACCOUNT, UNAPPLIED_ACCOUNT, Leg
from .tables import D0

if TYPE_CHECKING:
    from .store import Store

# process service -> (parameter table, its fields beyond the agent/report ones)
PROCESSES: dict[str, tuple[str, dict[str, Any]]] = {
    "Erp.PROC.ARInvoicePostSvc": ("ARInvoicePostParam", {"GroupID": "", "ActType": "",
                                                         "InvoiceNum": 0}),
    "Erp.PROC.CashRecPostSvc": ("CashRecPostParam", {"GroupID": "", "ACTType": ""}),
    "Erp.PROC.BankFundPostSvc": ("BankFundPostParam", {
        "GroupID": "", "ACTType": "", "TranDate": None, "SourceBank": "", "TargetBank": "",
        "TranNum": 0, "IntendPost": False}),
}
AGENT_FIELDS = {"AutoAction": "", "AgentID": "", "AgentSchedNum": 0, "AgentTaskNum": 0,
                "RecurringTask": False, "SysRowID": "", "RowMod": "A"}


def new_parameters(service: str) -> dict[str, Any]:
    """``GetNewParameters``: the process's parameter tableset with one default row."""
    table, fields = PROCESSES[service]
    return {"returnObj": {table: [{**fields, **AGENT_FIELDS}], "ExtensionTables": []}}


def run_direct(s: Store, service: str, ds: Any) -> dict[str, Any]:
    """``RunDirect``: run the process at once for the one parameter row in ``ds``."""
    table, fields = PROCESSES[service]
    rows = ds.get(table) if isinstance(ds, dict) else None
    if not isinstance(rows, list) or len(rows) != 1 or not isinstance(rows[0], dict):
        raise EpicorError(f"The {table} table must hold exactly one parameter row.",
                          table=table)
    param = rows[0]
    unknown = [k for k in param if k not in fields and k not in AGENT_FIELDS]
    if unknown:
        raise EpicorError(f"The property '{unknown[0]}' does not exist on type "
                          f"'Erp.Tablesets.{table}Row'.", error_type="ODataException")
    with s.lock:
        if service == "Erp.PROC.ARInvoicePostSvc":
            post_invoice_group(s, str(param.get("GroupID") or ""))
        elif service == "Erp.PROC.CashRecPostSvc":
            post_cash_group(s, str(param.get("GroupID") or ""))
        else:
            post_bank_transfer(s, int(param.get("TranNum") or 0))
    return {}


def _group(s: Store, table: str, group_id: str) -> dict[str, Any]:
    grp = s.t[table].get((s.company, group_id)) if group_id else None
    if grp is None:
        raise EpicorError(f"Group '{group_id}' not found." if group_id else
                          "Group ID is required.", status=404 if group_id else 400,
                          error_type=NOT_FOUND_EXCEPTION if group_id else None,
                          table=table, field="GroupID")
    return grp


def _drop(s: Store, table: str, row: dict[str, Any]) -> None:
    tbl = s.t[table]
    tbl.unindex(row)
    del tbl.rows[tbl.key_of(row)]


# ---------------------------------------------------------------------- AR invoices
def post_invoice_group(s: Store, group_id: str) -> None:
    grp = _group(s, "InvcGrp", group_id)
    invoices = [i for i in s.t["InvcHead"].where("GroupID", group_id) if not i["Posted"]]
    for inv in invoices:      # validate all first: nothing of the group posts on a refusal
        s.ledger.calendar.check(inv["ApplyDate"] or inv["InvoiceDate"], "InvcHead",
                                "ApplyDate")
    for inv in invoices:
        lines = s.t["InvcDtl"].where("InvoiceNum", inv["InvoiceNum"])
        legs = [Leg(AR_ACCOUNT, inv["DocInvoiceAmt"], {"_book": inv["InvoiceAmt"]})]
        legs += [Leg(SALES_ACCOUNT, -ln["DocExtPrice"], {"_book": -ln["ExtPrice"]})
                 for ln in lines if ln["DocExtPrice"]]
        num = s.ledger.post(legs, currency=inv["CurrencyCode"],
                            when=inv["ApplyDate"] or inv["InvoiceDate"], code="SJ",
                            module="AR", ARInvoiceNum=inv["InvoiceNum"], CustNum=inv["CustNum"],
                            GroupID=group_id, Description=f"AR Invoice {inv['InvoiceNum']}")
        inv.update(Posted=True, GLPosted=True, JournalCode="SJ", JournalNum=num)
    _drop(s, "InvcGrp", grp)


# ---------------------------------------------------------------------- cash receipts
def post_cash_group(s: Store, group_id: str) -> None:
    grp = _group(s, "CashGrp", group_id)
    receipts = [c for c in s.t["CashHead"].where("GroupID", group_id) if not c["Posted"]]
    for rec in receipts:
        s.ledger.calendar.check(rec["TranDate"], "CashHead", "TranDate")
    for rec in receipts:
        dtls = [d for d in s.t["CashDtl"].where("HeadNum", rec["HeadNum"])
                if d["GroupID"] == group_id]
        bank_gl = s.bank_gl.get(rec["BankAcctID"], "")
        legs = [Leg(bank_gl, rec["DocTranAmt"], {"_book": rec["TranAmt"],
                                                 "BankAcctID": rec["BankAcctID"]})]
        legs += [Leg(AR_ACCOUNT, -d["DocTranAmt"], {"_book": -d["TranAmt"],
                                                    "ARInvoiceNum": d["InvoiceNum"]})
                 for d in dtls]
        if rec["DocUnAppliedAmt"]:
            legs.append(Leg(UNAPPLIED_ACCOUNT, -rec["DocUnAppliedAmt"],
                            {"_book": -rec["UnAppliedAmt"]}))
        s.ledger.post(legs, currency=rec["CurrencyCode"], when=rec["TranDate"], code="CR",
                      module="AR", CRHeadNum=rec["HeadNum"], CustNum=rec["CustNum"],
                      GroupID=group_id, Description=f"Cash Receipt {rec['HeadNum']}")
        for d in dtls:
            inv = s.t["InvcHead"].get((s.company, d["InvoiceNum"]))
            assert inv is not None
            inv["DocInvoiceBal"] -= d["DocTranAmt"]
            inv["InvoiceBal"] -= d["TranAmt"]
            inv["OpenInvoice"] = inv["DocInvoiceBal"] > 0
            if not inv["OpenInvoice"]:
                inv["ClosedDate"] = rec["TranDate"]
            d["Posted"] = True
        rec["Posted"] = True
    _drop(s, "CashGrp", grp)


# ---------------------------------------------------------------------- GL journals
def post_group_journals(s: Store, group_id: str) -> dict[str, Any]:
    with s.lock:
        grp = _group(s, "GLJrnGrp", group_id)
        failed: list[str] = []
        for head in list(s.t["GLJrnHed"].where("GroupID", group_id)):
            lines = [ln for ln in s.t["GLJrnDtlMnl"].where("JournalNum", head["JournalNum"])
                     if ln["JournalCode"] == head["JournalCode"]
                     and ln["FiscalYear"] == head["FiscalYear"]]
            try:
                _post_journal(s, head, lines)
            except EpicorError as err:
                failed.append(f"Journal {head['JournalNum']}: {err.message}")
                continue
            for ln in lines:
                _drop(s, "GLJrnDtlMnl", ln)
            _drop(s, "GLJrnHed", head)
        message = ""
        if failed:
            message = "Not all journals were posted.\n" + "\n".join(failed)
            grp["PostErrorLog"] = message
        else:
            _drop(s, "GLJrnGrp", grp)
        return {"parameters": {"NotAllPostedMessage": message}}


def _post_journal(s: Store, head: dict[str, Any], lines: list[dict[str, Any]]) -> None:
    s.ledger.calendar.check(head["JEDate"], "GLJrnHed", "JEDate")
    if not lines:
        raise business("The journal has no lines.", "GLJrnHed", "JournalNum")
    if sum((ln["DocTransAmt"] for ln in lines), D0) != 0:
        raise business(f"Journal {head['JournalNum']} is out of balance in "
                       f"{head['CurrencyCode']}.", "GLJrnHed", "TotDebit")
    legs = [Leg(ln["GLAccount"], ln["DocTransAmt"], {
        "_book": ln["TransAmt"], "Description": ln["Description"],
        "LineReference": ln["LineReference"], "BankAcctID": ln["BankAcctID"],
        "CustNum": ln["CustNum"]}) for ln in sorted(lines, key=lambda x: x["JournalLine"])]
    s.ledger.post(legs, currency=head["CurrencyCode"], when=head["JEDate"],
                  code=head["JournalCode"], module="GL", journal_num=head["JournalNum"],
                  GroupID=head["GroupID"], CommentText=head["CommentText"])


# ---------------------------------------------------------------------- bank transfers
def post_bank_transfer(s: Store, tran_num: int) -> None:
    legs_in = [t for t in s.t["BankTran"].where("TranNum", tran_num) if not t["Voided"]]
    if not tran_num or len(legs_in) != 2:
        raise EpicorError(f"Bank transfer {tran_num} not found.", status=404,
                          error_type=NOT_FOUND_EXCEPTION, table="BankTran", field="TranNum")
    if all(t["GLPosted"] for t in legs_in):
        raise business(f"Bank transfer {tran_num} is already posted.", "BankTran", "TranNum")
    src = next(t for t in legs_in if t["DocTranAmt"] < 0)
    dst = next(t for t in legs_in if t["DocTranAmt"] > 0)
    s.ledger.calendar.check(dst["TranDate"], "BankTran", "TranDate")
    amount: Decimal = dst["DocTranAmt"]
    legs = [Leg(dst["GLAccount"], amount, {"_book": dst["TranAmt"],
                                           "BankAcctID": dst["BankAcctID"]}),
            Leg(src["GLAccount"], -amount, {"_book": src["TranAmt"],
                                            "BankAcctID": src["BankAcctID"]})]
    s.ledger.post(legs, currency=dst["CurrencyCode"], when=dst["TranDate"], code="BT",
                  module="GL", BankTranNum=tran_num, Description=f"Bank transfer {tran_num} "
                  f"{src['BankAcctID']} -> {dst['BankAcctID']}", CommentText=dst["TranRef"])
    for t in legs_in:
        t["GLPosted"] = True
