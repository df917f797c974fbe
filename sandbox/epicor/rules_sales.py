"""Business rules of the sales documents UpdateExt saves: customers, sales orders and
AR invoices (what Epicor refuses, what it computes)."""
from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from .errors import DUPLICATE_EXCEPTION, EpicorError, business
from .ledger import BASE_CURRENCY, round_money
from .odata import Row
from .tables import D0, today

if TYPE_CHECKING:
    from .store import Store

INVOICE_TYPES = {"Shp", "Adv", "Dep", "Mis"}


class Hooks:
    """One table's rules: a new header, each child row, the whole unit, then the commit."""

    def build_header(self, s: Store, row: Row) -> None:
        pass

    def build_child(self, s: Store, row: Row, header: Row, state: dict[str, Any]) -> None:
        raise business("This tableset has no child table.")

    def finish(self, s: Store, header: Row, kids: list[Row], is_new: bool) -> None:
        pass

    def commit(self, s: Store, header: Row, kids: list[Row], is_new: bool) -> None:
        pass


def fiscal(row: Row, when: str | None) -> None:
    """Fiscal year and period of a date: calendar months (see ``ledger.FiscalCalendar``)."""
    if when:
        d = date.fromisoformat(when[:10])
        row["FiscalYear"], row["FiscalPeriod"] = d.year, d.month


class CustomerHooks(Hooks):
    def build_header(self, s: Store, row: Row) -> None:
        t = "Customer"
        if not row["CustID"]:
            raise business("Customer ID is required.", t, "CustID")
        s.check_len(t, row, "CustID")
        if not row["Name"]:
            raise business("Name is required.", t, "Name")
        s.check_len(t, row, "Name")
        for f in ADDRESS_FIELDS["Customer"]:
            s.check_len(t, row, f)
        row["CurrencyCode"] = row["CurrencyCode"] or BASE_CURRENCY
        s.check_currency(t, row)
        if row["PMUID"] and s.t["PayMethod"].get((s.company, row["PMUID"])) is None:
            raise business(f"Invalid Payment Method: {row['PMUID']}.", t, "PMUID")
        if s.t["Customer"].where("CustID", row["CustID"]):
            raise EpicorError(f"Customer ID {row['CustID']} already exists.", status=409,
                              error_type=DUPLICATE_EXCEPTION, table=t, field="CustID")
        row["ChangedBy"], row["ChangeDate"] = s.user, today()

    def build_child(self, s: Store, row: Row, header: Row, state: dict[str, Any]) -> None:
        """A ship-to of the customer: its own key, name (default the customer's), address."""
        t = "ShipTo"
        if not row["ShipToNum"]:
            raise business("Ship To ID is required.", t, "ShipToNum")
        seen = state.setdefault("ship_tos", set())
        existing = {r["ShipToNum"] for r in s.t[t].where("CustNum", header["CustNum"])
                    } if header.get("CustNum", 0) > 0 else set()
        if row["ShipToNum"] in seen or row["ShipToNum"] in existing:
            raise EpicorError(f"Ship To {row['ShipToNum']} already exists for this customer.",
                              status=409, error_type=DUPLICATE_EXCEPTION, table=t,
                              field="ShipToNum")
        seen.add(row["ShipToNum"])
        row["Name"] = row["Name"] or header["Name"]
        for f in ("ShipToNum", "Name", *ADDRESS_FIELDS[t]):
            s.check_len(t, row, f)


ADDRESS_FIELDS = {"Customer": ("Address1", "Address2", "Address3", "City", "State", "Zip",
                               "Country"),
                  "ShipTo": ("Address1", "Address2", "Address3", "City", "State", "ZIP",
                             "Country")}


class OrderHooks(Hooks):
    def build_header(self, s: Store, row: Row) -> None:
        t = "OrderHed"
        cust = s.customer(row["CustNum"], t)
        row["BTCustNum"] = row["BTCustNum"] or row["CustNum"]
        s.check_len(t, row, "PONum")
        row["OrderDate"] = row["OrderDate"] or today()
        row["RequestDate"] = row["RequestDate"] or row["OrderDate"]
        row["NeedByDate"] = row["NeedByDate"] or row["RequestDate"]
        row["CurrencyCode"] = row["CurrencyCode"] or cust["CurrencyCode"]
        s.check_currency(t, row)
        row["ExchangeRate"] = s.ledger.rate(row["CurrencyCode"], row["OrderDate"], t)
        if cust["CheckDuplicatePO"] and row["PONum"]:
            for other in s.t["OrderHed"].where("PONum", row["PONum"]):
                if other["CustNum"] == row["CustNum"]:
                    raise business(f"PO number {row['PONum']} has already been used on sales "
                                   f"order {other['OrderNum']} for this customer.", t, "PONum")
        row["EntryPerson"] = row["EntryPerson"] or s.user
        row["ChangedBy"], row["ChangeDate"] = s.user, today()

    def build_child(self, s: Store, row: Row, header: Row, state: dict[str, Any]) -> None:
        t = "OrderDtl"
        part = s.part(row["PartNum"], t)
        if row["SellingQuantity"] <= 0:
            raise business("Order quantity must be greater than zero.", t, "SellingQuantity")
        row["LineDesc"] = row["LineDesc"] or part["PartDescription"]
        row["OrderQty"] = row["SellingQuantity"]
        row["UnitPrice"] = row["DocUnitPrice"] * header["ExchangeRate"]
        row["SalesUM"], row["IUM"] = part["SalesUM"], part["IUM"]
        ext = round_money(row["SellingQuantity"] * row["DocUnitPrice"] - row["DocDiscount"],
                          header["CurrencyCode"])
        row["DocExtPriceDtl"] = ext
        row["ExtPriceDtl"] = s.ledger.to_base(ext, header["ExchangeRate"])
        row["CustNum"] = header["CustNum"]
        row["NeedByDate"] = row["NeedByDate"] or header["NeedByDate"]
        row["RequestDate"] = row["RequestDate"] or header["RequestDate"]

    def commit(self, s: Store, header: Row, kids: list[Row], is_new: bool) -> None:
        lines = s.t["OrderDtl"].where("OrderNum", header["OrderNum"])
        header["TotalLines"] = len(lines)
        header["DocOrderAmt"] = sum((r["DocExtPriceDtl"] for r in lines), D0)
        header["OrderAmt"] = sum((r["ExtPriceDtl"] for r in lines), D0)


class InvoiceHooks(Hooks):
    def build_header(self, s: Store, row: Row) -> None:
        t = "InvcHead"
        if not row["GroupID"]:
            raise business("Invoice group is required.", t, "GroupID")
        grp = s.t["InvcGrp"].get((s.company, row["GroupID"]))
        if grp is None:
            raise business(f"Invoice group {row['GroupID']} not found.", t, "GroupID")
        if row["InvoiceType"] not in INVOICE_TYPES:
            raise business(f"Invalid Invoice Type: {row['InvoiceType']}.", t, "InvoiceType")
        cust = s.customer(row["CustNum"], t)
        order = None
        if row["InvoiceType"] != "Mis" and not row["OrderNum"]:
            raise business("Sales order is required for this invoice type.", t, "OrderNum")
        if row["OrderNum"]:
            order = s.t["OrderHed"].get((s.company, row["OrderNum"]))
            if order is None:
                raise business(f"Sales order {row['OrderNum']} not found.", t, "OrderNum")
            if order["CustNum"] != row["CustNum"]:
                raise business(f"Sales order {row['OrderNum']} belongs to another customer.",
                               t, "OrderNum")
        s.check_len(t, row, "PONum")
        row["InvoiceDate"] = row["InvoiceDate"] or grp["InvoiceDate"] or today()
        row["DueDate"] = row["DueDate"] or row["InvoiceDate"]
        row["ApplyDate"] = row["ApplyDate"] or grp["ApplyDate"] or row["InvoiceDate"]
        s.ledger.calendar.check(row["ApplyDate"], t, "ApplyDate")
        fiscal(row, row["ApplyDate"])
        row["CurrencyCode"] = row["CurrencyCode"] or (order or cust)["CurrencyCode"]
        s.check_currency(t, row)
        row["ExchangeRate"] = s.ledger.rate(row["CurrencyCode"], row["InvoiceDate"], t)
        if order is not None and order["CurrencyCode"] != row["CurrencyCode"]:
            raise business(f"Invoice currency {row['CurrencyCode']} differs from sales order "
                           f"currency {order['CurrencyCode']}.", t, "CurrencyCode")
        row["EntryPerson"] = row["EntryPerson"] or s.user

    def build_child(self, s: Store, row: Row, header: Row, state: dict[str, Any]) -> None:
        t = "InvcDtl"
        if row["PartNum"]:
            part = s.part(row["PartNum"], t)
            row["LineDesc"] = row["LineDesc"] or part["PartDescription"]
            row["SalesUM"], row["IUM"] = part["SalesUM"], part["IUM"]
        elif not row["LineDesc"]:
            raise business("Line description is required for a line without a part.", t,
                           "LineDesc")
        if row["OrderNum"] and row["OrderNum"] != header["OrderNum"]:
            raise business(f"Invoice line references sales order {row['OrderNum']}, not the "
                           f"invoice's order {header['OrderNum']}.", t, "OrderNum")
        if row["OrderLine"]:
            if not header["OrderNum"]:
                raise business("Order line given without a sales order.", t, "OrderLine")
            if s.t["OrderDtl"].get((s.company, header["OrderNum"], row["OrderLine"])) is None:
                raise business(f"Sales order line {header['OrderNum']}/{row['OrderLine']} not "
                               f"found.", t, "OrderLine")
            row["OrderNum"] = header["OrderNum"]
        if header["InvoiceType"] == "Shp" and not row["PackNum"]:
            raise business("A shipment invoice line comes from a packing slip: PackNum is "
                           "required (use a miscellaneous invoice for what is not shipped).",
                           t, "PackNum")
        if row["SellingShipQty"] <= 0:
            raise business("Ship quantity must be greater than zero.", t, "SellingShipQty")
        row["OurShipQty"] = row["SellingShipQty"]
        row["UnitPrice"] = row["DocUnitPrice"] * header["ExchangeRate"]
        ext = round_money(row["SellingShipQty"] * row["DocUnitPrice"] - row["DocDiscount"],
                          header["CurrencyCode"])
        row["DocExtPrice"] = ext
        row["ExtPrice"] = s.ledger.to_base(ext, header["ExchangeRate"])
        row["CustNum"] = header["CustNum"]

    def finish(self, s: Store, header: Row, kids: list[Row], is_new: bool) -> None:
        if header["Posted"]:
            raise business(f"Invoice {header['InvoiceNum']} is posted and cannot be changed.",
                           "InvcHead", "Posted")

    def commit(self, s: Store, header: Row, kids: list[Row], is_new: bool) -> None:
        """Totals; an unposted invoice's balances equal its amount (cash applies to posted
        invoices only, and lowers the balance when it posts)."""
        lines = s.t["InvcDtl"].where("InvoiceNum", header["InvoiceNum"])
        doc = sum((r["DocExtPrice"] for r in lines), D0)
        base = sum((r["ExtPrice"] for r in lines), D0)
        header["DocInvoiceAmt"], header["InvoiceAmt"] = doc, base
        header["DocInvoiceBal"], header["InvoiceBal"] = doc, base
        header["DocUnpostedBal"], header["UnpostedBal"] = doc, base
        header["OpenInvoice"] = doc > 0

