"""Business rules of the finance documents UpdateExt saves: posting groups (invoice,
cash receipt and GL journal groups), cash receipts with their applications, and GL
journals (what Epicor refuses, what it computes)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import DUPLICATE_EXCEPTION, EpicorError, business
from .ledger import BASE_CURRENCY, BOOK, round_money
from .odata import Row
from .rules_sales import Hooks, fiscal
from .tables import D0, today

if TYPE_CHECKING:
    from .store import Store

TRAN_TYPES = {"PayInv", "MisPay", "PrePay", "CMemo", "Adjust"}
JOURNAL_CODES = {"GJ"}


class GroupHooks(Hooks):
    def __init__(self, table: str, date_field: str) -> None:
        self.table, self.date_field = table, date_field

    def build_header(self, s: Store, row: Row) -> None:
        t = self.table
        if not row["GroupID"]:
            raise business("Group ID is required.", t, "GroupID")
        s.check_len(t, row, "GroupID")
        row[self.date_field] = row[self.date_field] or today()
        if t == "InvcGrp":
            row["ApplyDate"] = row["ApplyDate"] or row["InvoiceDate"]
        when = row["ApplyDate"] if t == "InvcGrp" else row[self.date_field]
        s.ledger.calendar.check(when, t, "ApplyDate" if t == "InvcGrp" else self.date_field)
        fiscal(row, when)
        if t == "CashGrp":
            s.bank(row["BankAcctID"], t)
        if t == "GLJrnGrp":
            if row["BookID"] != BOOK:
                raise business(f"Invalid Book: {row['BookID']}.", t, "BookID")
            if row["JournalCode"] not in JOURNAL_CODES:
                raise business(f"Invalid Journal Code: {row['JournalCode']}.", t, "JournalCode")
        if s.t[t].get((s.company, row["GroupID"])) is not None:
            raise EpicorError(f"Group {row['GroupID']} already exists.", status=409,
                              error_type=DUPLICATE_EXCEPTION, table=t, field="GroupID")
        row["CreatedBy"] = s.user


class CashHooks(Hooks):
    def build_header(self, s: Store, row: Row) -> None:
        t = "CashHead"
        if not row["GroupID"]:
            raise business("Cash receipt group is required.", t, "GroupID")
        grp = s.t["CashGrp"].get((s.company, row["GroupID"]))
        if grp is None:
            raise business(f"Cash receipt group {row['GroupID']} not found.", t, "GroupID")
        row["TranType"] = row["TranType"] or "PayInv"
        if row["TranType"] not in TRAN_TYPES:
            raise business(f"Invalid Transaction Type: {row['TranType']}.", t, "TranType")
        cust = None
        if row["TranType"] != "MisPay" or row["CustNum"]:
            cust = s.customer(row["CustNum"], t)
            row["CustID"] = cust["CustID"]
        row["TranDate"] = row["TranDate"] or grp["TranDate"]
        s.ledger.calendar.check(row["TranDate"], t, "TranDate")
        fiscal(row, row["TranDate"])
        if row["DocTranAmt"] <= 0:
            raise business("Receipt amount must be greater than zero.", t, "DocTranAmt")
        row["CurrencyCode"] = row["CurrencyCode"] or (cust or {}).get("CurrencyCode", "") \
            or BASE_CURRENCY
        s.check_currency(t, row)
        row["DocTranAmt"] = round_money(row["DocTranAmt"], row["CurrencyCode"])
        row["ExchangeRate"] = s.ledger.rate(row["CurrencyCode"], row["TranDate"], t)
        row["TranAmt"] = s.ledger.to_base(row["DocTranAmt"], row["ExchangeRate"])
        row["ReceiptCurrencyCode"] = row["ReceiptCurrencyCode"] or row["CurrencyCode"]
        row["ReceiptAmt"] = row["ReceiptAmt"] or row["DocTranAmt"]
        row["BankAcctID"] = row["BankAcctID"] or grp["BankAcctID"]
        s.bank(row["BankAcctID"], t)
        if row["PMUID"] and s.t["PayMethod"].get((s.company, row["PMUID"])) is None:
            raise business(f"Invalid Payment Method: {row['PMUID']}.", t, "PMUID")
        s.check_len(t, row, "CheckRef")

    def build_child(self, s: Store, row: Row, header: Row, state: dict[str, Any]) -> None:
        t = "CashDtl"
        inv = s.t["InvcHead"].get((s.company, row["InvoiceNum"])) if row["InvoiceNum"] else None
        if inv is None:
            raise business(f"Invoice {row['InvoiceNum']} not found.", t, "InvoiceNum")
        if not inv["Posted"]:
            raise business(f"Invoice {row['InvoiceNum']} is not posted: cash can only be "
                           f"applied to posted invoices.", t, "InvoiceNum")
        if inv["CustNum"] != header["CustNum"]:
            raise business(f"Invoice {row['InvoiceNum']} does not belong to customer "
                           f"{header['CustID']}.", t, "InvoiceNum")
        if inv["CurrencyCode"] != header["CurrencyCode"]:
            raise business(f"Invoice {row['InvoiceNum']} currency {inv['CurrencyCode']} "
                           f"differs from the receipt currency {header['CurrencyCode']}.", t,
                           "InvoiceNum")
        amt = round_money(row["DocTranAmt"], header["CurrencyCode"])
        if amt <= 0:
            raise business("Applied amount must be greater than zero.", t, "DocTranAmt")
        pending = state.setdefault("pending", {})
        balance = inv["DocUnpostedBal"] - pending.get(inv["InvoiceNum"], D0)
        if amt > balance:
            raise business(f"Amount applied {amt} exceeds the balance {balance} of invoice "
                           f"{inv['InvoiceNum']}.", t, "DocTranAmt")
        applied = state.get("applied", D0) + amt
        already = header["DocAppliedAmt"]  # 0 on a new receipt (computed fields reset)
        if applied + already > header["DocTranAmt"]:
            raise business(f"Total applied {applied + already} exceeds the receipt amount "
                           f"{header['DocTranAmt']}.", t, "DocTranAmt")
        if s.t["CashDtl"].get((s.company, header["GroupID"], header["HeadNum"],
                               row["InvoiceNum"], row["InvoiceRef"])) is not None or \
                inv["InvoiceNum"] in pending:
            raise EpicorError(f"Invoice {row['InvoiceNum']} is already applied on this "
                              f"receipt.", status=409, error_type=DUPLICATE_EXCEPTION,
                              table=t, field="InvoiceNum")
        state["applied"] = applied
        pending[inv["InvoiceNum"]] = pending.get(inv["InvoiceNum"], D0) + amt
        row["DocTranAmt"] = amt
        row["TranAmt"] = s.ledger.to_base(amt, header["ExchangeRate"])
        row["TranType"] = header["TranType"]
        row["CustNum"], row["TranDate"] = header["CustNum"], header["TranDate"]
        row["CheckRef"], row["CurrencyCode"] = header["CheckRef"], header["CurrencyCode"]
        row["DocInvoiceAmt"], row["InvoiceAmt"] = inv["DocInvoiceAmt"], inv["InvoiceAmt"]

    def commit(self, s: Store, header: Row, kids: list[Row], is_new: bool) -> None:
        for kid in kids:  # the invoice balance falls when the receipt posts (posting.py)
            inv = s.t["InvcHead"].get((s.company, kid["InvoiceNum"]))
            assert inv is not None
            inv["DocUnpostedBal"] -= kid["DocTranAmt"]
            inv["UnpostedBal"] -= kid["TranAmt"]
            kid["DocInvoiceBal"], kid["InvoiceBal"] = inv["DocInvoiceBal"], inv["InvoiceBal"]
        before_applied = header["AppliedAmt"]
        dtls = [d for d in s.t["CashDtl"].where("HeadNum", header["HeadNum"])
                if d["GroupID"] == header["GroupID"]]
        header["DocAppliedAmt"] = sum((d["DocTranAmt"] for d in dtls), D0)
        header["AppliedAmt"] = sum((d["TranAmt"] for d in dtls), D0)
        header["DocUnAppliedAmt"] = header["DocTranAmt"] - header["DocAppliedAmt"]
        header["UnAppliedAmt"] = header["TranAmt"] - header["AppliedAmt"]
        grp = s.t["CashGrp"].get((s.company, header["GroupID"]))
        if grp is not None:  # group totals, incrementally
            if is_new:
                grp["TotalCashReceived"] += header["TranAmt"]
            grp["TotalApplied"] += header["AppliedAmt"] - before_applied
            grp["UnappliedBalance"] = grp["TotalCashReceived"] - grp["TotalApplied"]


class JournalHooks(Hooks):
    def build_header(self, s: Store, row: Row) -> None:
        t = "GLJrnHed"
        if not row["GroupID"]:
            raise business("Journal group is required.", t, "GroupID")
        grp = s.t["GLJrnGrp"].get((s.company, row["GroupID"]))
        if grp is None:
            raise business(f"Journal group {row['GroupID']} not found.", t, "GroupID")

        row["BookID"] = row["BookID"] or grp["BookID"]
        row["JournalCode"] = row["JournalCode"] or grp["JournalCode"]
        if row["BookID"] != BOOK:
            raise business(f"Invalid Book: {row['BookID']}.", t, "BookID")
        if row["JournalCode"] not in JOURNAL_CODES:
            raise business(f"Invalid Journal Code: {row['JournalCode']}.", t, "JournalCode")
        row["JEDate"] = row["JEDate"] or grp["JEDate"]
        s.ledger.calendar.check(row["JEDate"], t, "JEDate")
        fiscal(row, row["JEDate"])
        row["FiscalYearSuffix"], row["FiscalCalendarID"] = (grp["FiscalYearSuffix"],
                                                            grp["FiscalCalendarID"])
        row["CurrencyCode"] = row["CurrencyCode"] or grp["CurrencyCode"] or BASE_CURRENCY
        s.check_currency(t, row)
        s.ledger.rate(row["CurrencyCode"], row["JEDate"], t)
        s.check_len(t, row, "Description")
        row["EnteredBy"] = s.user

    def build_child(self, s: Store, row: Row, header: Row, state: dict[str, Any]) -> None:
        """A line's amount: ``DocTransAmt`` in the journal's currency (signed, debit
        positive); the book (base) amounts ``TransAmt``/``DebitAmount``/``CreditAmount``
        follow from the exchange rate.  A line giving only book amounts gets its document
        amount back through the rate."""
        t = "GLJrnDtlMnl"
        acct = row["GLAccount"]
        if not acct:
            raise business("GL Account is required.", t, "GLAccount")
        found = s.t["GLAccount"].get((s.company, "MAINCOA", acct))
        if found is None or not found["Active"]:
            raise business(f"GL Account {acct} is not valid.", t, "GLAccount")
        cur = header["CurrencyCode"]
        rate = s.ledger.rate(cur, header["JEDate"], t)
        if row["DebitAmount"] < 0 or row["CreditAmount"] < 0:
            raise business("Debit and credit amounts cannot be negative.", t, "DebitAmount")
        if row["DebitAmount"] != 0 and row["CreditAmount"] != 0:
            raise business("A journal line is either a debit or a credit.", t, "DebitAmount")
        doc = round_money(row["DocTransAmt"], cur)
        if doc == 0:
            book = row["TransAmt"] or row["DebitAmount"] - row["CreditAmount"]
            doc = round_money(book / rate, cur)
        book = s.ledger.to_base(doc, rate)
        row["DocTransAmt"], row["TransAmt"] = doc, book
        row["DebitAmount"], row["CreditAmount"] = (book, D0) if book > 0 else (D0, -book)
        row["TotCurrDebit"], row["TotCurrCredit"] = (doc, D0) if doc > 0 else (D0, -doc)
        row["CurrencyCode"] = cur
        row["SegValue1"] = acct
        row["JEDate"], row["FiscalPeriod"] = header["JEDate"], header["FiscalPeriod"]
        row["GroupID"] = header["GroupID"]
        row["CommentText"] = row["CommentText"] or header["CommentText"]

    def finish(self, s: Store, header: Row, kids: list[Row], is_new: bool) -> None:
        """Balanced in the journal's currency (a book-currency rounding difference is put
        on the largest line when the journal posts)."""
        lines = kids + (s.t["GLJrnDtlMnl"].where("JournalNum", header["JournalNum"])
                        if not is_new else [])
        doc = sum((r["DocTransAmt"] for r in lines), D0)
        if doc != 0 and not header["AllowUnbalancedEntries"]:
            debit = sum((r["DocTransAmt"] for r in lines if r["DocTransAmt"] > 0), D0)
            raise business(f"Journal is out of balance: total debit {debit} does not equal "
                           f"total credit {debit - doc} ({header['CurrencyCode']}).",
                           "GLJrnHed", "TotDebit")
        header["TotDebit"] = sum((r["DebitAmount"] for r in lines), D0)
        header["TotCredit"] = sum((r["CreditAmount"] for r in lines), D0)
        header["Balance"] = header["TotDebit"] - header["TotCredit"]
