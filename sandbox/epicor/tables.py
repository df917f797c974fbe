"""Epicor tablesets the sandbox holds: row templates (a subset of the real fields, with
Epicor's names and types), keys, entity sets and the services that expose them.

Field names come from the generated REST help of a real Kinetic instance (see
reference ``epicor_fields.txt``); a row posted with a field missing here is refused
with 400 like a property unknown to the type.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from .odata import Row, sort_key

D0 = Decimal(0)

COMMON = {"SysRevID": 0, "SysRowID": "", "RowMod": ""}


def today() -> str:
    """Today as Epicor writes dates: ``YYYY-MM-DDT00:00:00``."""
    return f"{date.today().isoformat()}T00:00:00"


def new_guid() -> str:
    return str(uuid.uuid4())


def _template(*names: str, **defaults: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"Company": ""}
    for name in names:
        out[name] = ""
    out.update(defaults)
    out.update(COMMON)
    return out


TEMPLATES: dict[str, dict[str, Any]] = {
    "Customer": _template(
        "CustID", "Name", "Address1", "Address2", "Address3", "City", "State", "Zip", "Country",
        "PhoneNum", "FaxNum", "EMailAddress", "CurrencyCode", "TermsCode", "TerritoryID",
        "GroupCode", "TaxExempt", "ExternalID", "Comment", "ResaleID", "ChangedBy",
        CustNum=0, CountryNum=0, CustomerType="CUS", CreditHold=False, CheckDuplicatePO=False,
        PMUID=0, ChangeDate=None,
        # user-defined columns an administrator adds to Customer_UD (README "Subscriptions in
        # the ERP"; sandbox README fidelity table): served on CustomerRow with their _c suffix
        StripeSubscriptionID_c="", StripeSubStatus_c="", StripeSubPlan_c="",
        StripeSubQuantity_c=0, StripeSubRenewal_c=None, StripeSubMRR_c=D0,
        StripeSubCurrency_c=""),
    # a customer's ship-to addresses (CustomerSvc tableset, ShipToRow); ZIP in capitals
    "ShipTo": _template(
        "ShipToNum", "Name", "Address1", "Address2", "Address3", "City", "State", "ZIP",
        "Country", "PhoneNum", "EMailAddress", CustNum=0, CountryNum=0),
    "Part": _template(
        "PartNum", "PartDescription", "SearchWord", "ClassID", "ProdCode", "TaxCatID",
        "ExternalID", IUM="EA", SalesUM="EA", PUM="EA", TypeCode="P", NonStock=False,
        InActive=False, UnitPrice=D0, PricePerCode="E", TrackLots=False),
    "PartWhse": _template(
        "PartNum", "WarehouseCode", "PrimBinNum", Plant="MfgSys", OnHandQty=D0, AllocatedQty=D0,
        DemandQty=D0, ReservedQty=D0, NonNettableQty=D0, IUM="EA"),
    "OrderHed": _template(
        "PONum", "TermsCode", "ShipViaCode", "CurrencyCode", "OrderComment", "EntryPerson",
        "EntryMethod", "OTSName", "UserChar1", "UserChar2", "UserChar3", "UserChar4", "ChangedBy",
        OrderNum=0, CustNum=0, BTCustNum=0, OrderDate=None, RequestDate=None, NeedByDate=None,
        ExchangeRate=Decimal(1), OpenOrder=True, VoidOrder=False, OrderHeld=False, WebOrder=False,
        ReadyToCalc=False, UseOTS=False, TotalLines=0, TotalCharges=D0, DocTotalCharges=D0,
        TotalMisc=D0, TotalTax=D0, DocTotalTax=D0, OrderAmt=D0, DocOrderAmt=D0, ChangeDate=None),
    "OrderDtl": _template(
        "PartNum", "LineDesc", "Reference", "TaxCatID", "ProdCode", "XPartNum", "RevisionNum",
        OrderNum=0, OrderLine=0, LineType="PART", CustNum=0, SellingQuantity=D0, OrderQty=D0,
        UnitPrice=D0, DocUnitPrice=D0, DiscountPercent=D0, Discount=D0, DocDiscount=D0,
        ExtPriceDtl=D0, DocExtPriceDtl=D0, SalesUM="EA", IUM="EA", NeedByDate=None,
        RequestDate=None, OpenLine=True, VoidLine=False),
    "InvcGrp": _template(
        "GroupID", "CreatedBy", "ActiveUserID", "PostErrorLog", InvoiceDate=None, ApplyDate=None,
        FiscalYear=0, FiscalPeriod=0, FiscalYearSuffix="", FiscalCalendarID="MAIN",
        PostInProcess=False),
    "InvcHead": _template(
        "GroupID", "PONum", "TermsCode", "CurrencyCode", "ExternalID", "LegalNumber",
        "InvoiceComment", "EntryPerson", "CheckRef", InvoiceNum=0, InvoiceType="Mis",
        CreditMemo=False, InvoiceRef=0, OrderNum=0, CustNum=0, InvoiceDate=None, DueDate=None,
        ApplyDate=None, FiscalYear=0, FiscalPeriod=0, ExchangeRate=Decimal(1), InvoiceAmt=D0,
        DocInvoiceAmt=D0, InvoiceBal=D0, DocInvoiceBal=D0, UnpostedBal=D0, DocUnpostedBal=D0,
        OpenInvoice=True, Posted=False, GLPosted=False, JournalNum=0, JournalCode="",
        ClosedDate=None),
    "InvcDtl": _template(
        "PartNum", "LineDesc", "TaxCatID", "InvoiceComment", InvoiceNum=0, InvoiceLine=0,
        LineType="PART", IUM="EA", SalesUM="EA", SellingShipQty=D0, OurShipQty=D0,
        SellingOrderQty=D0, OurOrderQty=D0, UnitPrice=D0, DocUnitPrice=D0, ExtPrice=D0,
        DocExtPrice=D0, Discount=D0, DocDiscount=D0, OrderNum=0, OrderLine=0, OrderRelNum=0,
        PackNum=0, PackLine=0, CustNum=0),
    "CashGrp": _template(
        "GroupID", "BankAcctID", "CreatedBy", "ActiveUserID", "PostErrorLog", TranDate=None,
        FiscalYear=0, FiscalPeriod=0, FiscalYearSuffix="", FiscalCalendarID="MAIN",
        TotalCashReceived=D0, TotalApplied=D0, TotalBankFee=D0, UnappliedBalance=D0,
        PostToGL=False),
    "CashHead": _template(
        "GroupID", "TranType", "CheckRef", "CustID", "Reference", "CurrencyCode", "ExternalID",
        "BankAcctID", "Comment", "ReceiptCurrencyCode", "LegalNumber",
        HeadNum=0, CustNum=0, TranDate=None, FiscalYear=0, FiscalPeriod=0, TranAmt=D0,
        DocTranAmt=D0, AppliedAmt=D0, DocAppliedAmt=D0, UnAppliedAmt=D0, DocUnAppliedAmt=D0,
        ExchangeRate=Decimal(1), ReceiptAmt=D0, BankRcptExchangeRate=Decimal(1), PMUID=0,
        OrderNum=0, InvoiceNum=0, Posted=False),
    "CashDtl": _template(
        "GroupID", "TranType", "CheckRef", "Comment", "Reference", "CurrencyCode",
        HeadNum=0, InvoiceNum=0, InvoiceRef=0, CustNum=0, TranDate=None, TranAmt=D0,
        DocTranAmt=D0, Discount=D0, DocDiscount=D0, ExchangeRate=Decimal(1), InvoiceAmt=D0,
        DocInvoiceAmt=D0, InvoiceBal=D0, DocInvoiceBal=D0, Posted=False),
    "GLJrnGrp": _template(
        "GroupID", "CreatedBy", "ActiveUserID", "CurrencyCode", "PostErrorLog", BookID="MAIN",
        JEDate=None, FiscalYear=0, FiscalPeriod=0, FiscalYearSuffix="", FiscalCalendarID="MAIN",
        JournalCode="GJ", COACode="MAINCOA", Posted=False),
    "GLJrnHed": _template(
        "GroupID", "Description", "CommentText", "CurrencyCode", "LegalNumber", "EnteredBy",
        "ExtSysType", "ExtSysURL", BookID="MAIN", FiscalYear=0, FiscalYearSuffix="",
        FiscalCalendarID="MAIN", FiscalPeriod=0, JournalCode="GJ", JournalNum=0, JEDate=None,
        TotDebit=D0, TotCredit=D0, Balance=D0, AllowUnbalancedEntries=False, Reverse=False,
        ReverseDate=None, Posted=False, PostedDate=None),
    "GLJrnDtlMnl": _template(
        "GroupID", "Description", "CommentText", "GLAccount", "CurrencyCode", "BankAcctID",
        "SegValue1", "SegValue2", "LineReference", BookID="MAIN", FiscalYear=0,
        FiscalYearSuffix="", FiscalCalendarID="MAIN", FiscalPeriod=0, JournalCode="GJ",
        JournalNum=0, JournalLine=0, JEDate=None, TransAmt=D0, DocTransAmt=D0, DebitAmount=D0,
        CreditAmount=D0, TotCurrDebit=D0, TotCurrCredit=D0, CustNum=0, ARInvoiceNum=0,
        CRHeadNum=0, Posted=False),
    # posted general-ledger detail (Erp.BO.GLJrnDtlSvc): amounts in the document currency
    # (CurrencyCode), Book* in the book's currency
    "GLJrnDtl": _template(
        "Description", "GroupID", "PostedBy", "SourceModule", "JournalCode", "BankAcctID",
        "CommentText", "COACode", "GLAccount", "SegValue1", "SegValue2", "CurrencyCode",
        "BookCurrencyCode", "LineReference", "TranDocTypeID", BookID="MAIN", FiscalYear=0,
        FiscalYearSuffix="", FiscalCalendarID="MAIN", FiscalPeriod=0, JournalNum=0,
        JournalLine=0, JEDate=None, PostedDate=None, Posted=True, ARInvoiceNum=0, CRHeadNum=0,
        BankTranNum=0, CustNum=0, DebitAmount=D0, CreditAmount=D0, BookDebitAmount=D0,
        BookCreditAmount=D0),
    "CurrExRate": _template(
        "SourceCurrCode", "TargetCurrCode", "RateGrpCode", "Reference", "EntryPerson",
        EffectiveDate=None, CurrentRate=Decimal(1), FixedRate=False, SourceScaleFactor=1,
        TargetScaleFactor=1),
    "BankAcct": _template(
        "BankAcctID", "Description", "BankName", "CheckingAccount", "CurrencyCode",
        "CRJournalCode", Closed=False),
    "BankTran": _template(
        "BankAcctID", "TranRef", "GroupID", "CurrencyCode", "GLAccount", "EntryPerson",
        "JournalCode", TranNum=0, Voided=False, TranDate=None, TranAmt=D0, DocTranAmt=D0,
        ExchangeRate=Decimal(1), GLPosted=False, TranCleared=False, FiscalYear=0,
        FiscalPeriod=0, JournalNum=0, EntryDate=None),
    "GLAccount": _template(
        "COACode", "GLAccount", "GLAcctDisp", "AccountDesc", "GLShortAcct", "SegValue1",
        Active=True),
    "PayMethod": _template("Name", PMUID=0, Type=0),
    "PartTranHist": _template(
        "PartNum", "WareHouseCode", "BinNum", "TranType", "UM", "TranReference", "ReasonDesc",
        "EntryPerson", "LotNum", "Plant", SysDate=None, SysTime=0, TranNum=0, TranDate=None,
        TranQty=D0, ActTranQty=D0, InventoryTrans=True, OrderNum=0),
    "InventoryQtyAdj": _template(
        "PartNum", "WareHseCode", "BinNum", "ReasonCode", "LotNum", "Reference",
        "UnitOfMeasure", "ReasonType", "PartPartDescription", "WareHseDescription",
        OnHandQty=D0, AdjustQuantity=D0, TransDate=None, AllowNegQty=True),
    "BankFundsTransfer": _template(
        "BankAcctID", "ToBankAcctID", "TranRef", "CurrencyCode", "ToCurrencyCode", "GroupID",
        "LegalNumber", "EntryPerson", TranNum=0, TranDate=None, TranAmt=D0, DocTranAmt=D0,
        ToTranAmt=D0, ToDocTranAmt=D0, ExchangeRate=Decimal(1), ToExchangeRate=Decimal(1),
        GLPosted=False, Voided=False),
}

KEYS: dict[str, tuple[str, ...]] = {
    "Customer": ("Company", "CustNum"),
    "ShipTo": ("Company", "CustNum", "ShipToNum"),
    "Part": ("Company", "PartNum"),
    "PartWhse": ("Company", "PartNum", "Plant", "WarehouseCode"),
    "OrderHed": ("Company", "OrderNum"),
    "OrderDtl": ("Company", "OrderNum", "OrderLine"),
    "InvcGrp": ("Company", "GroupID"),
    "InvcHead": ("Company", "InvoiceNum"),
    "InvcDtl": ("Company", "InvoiceNum", "InvoiceLine"),
    "CashGrp": ("Company", "GroupID"),
    "CashHead": ("Company", "GroupID", "HeadNum"),
    "CashDtl": ("Company", "GroupID", "HeadNum", "InvoiceNum", "InvoiceRef"),
    "GLJrnGrp": ("Company", "GroupID"),
    "GLJrnHed": ("Company", "BookID", "FiscalYear", "FiscalYearSuffix", "JournalCode",
                 "JournalNum", "FiscalCalendarID"),
    "GLJrnDtlMnl": ("Company", "BookID", "FiscalYear", "FiscalYearSuffix", "JournalCode",
                    "JournalNum", "JournalLine", "FiscalCalendarID"),
    "GLJrnDtl": ("Company", "BookID", "FiscalYear", "FiscalYearSuffix", "JournalCode",
                 "JournalNum", "JournalLine"),
    "CurrExRate": ("Company", "RateGrpCode", "SourceCurrCode", "TargetCurrCode",
                   "EffectiveDate"),
    "BankAcct": ("Company", "BankAcctID"),
    "BankTran": ("Company", "BankAcctID", "TranNum", "Voided"),
    "GLAccount": ("Company", "COACode", "GLAccount"),
    "PayMethod": ("Company", "PMUID"),
    "PartTranHist": ("Company", "SysDate", "SysTime", "TranNum"),
}

# Lookup fields worth a hash index (the adapters' natural keys and foreign keys).
INDEXED: dict[str, tuple[str, ...]] = {
    "Customer": ("ExternalID", "CustID", "CustNum"),
    "ShipTo": ("CustNum",),
    "OrderHed": ("PONum", "OrderNum", "CustNum"),
    "OrderDtl": ("OrderNum",),
    "InvcHead": ("ExternalID", "PONum", "InvoiceNum", "GroupID"),
    "InvcDtl": ("InvoiceNum",),
    "CashHead": ("CheckRef", "ExternalID", "HeadNum", "GroupID"),
    "CashDtl": ("HeadNum", "InvoiceNum"),
    "GLJrnHed": ("Description", "JournalNum", "GroupID"),
    "GLJrnDtlMnl": ("JournalNum",),
    "GLJrnDtl": ("LineReference", "GroupID", "ARInvoiceNum", "CRHeadNum", "BankTranNum"),
    "BankTran": ("TranRef", "TranNum"),
    "PartTranHist": ("TranReference", "PartNum"),
    "PartWhse": ("PartNum",),
    "InvcGrp": ("GroupID",),
    "CashGrp": ("GroupID",),
    "GLJrnGrp": ("GroupID",),
}

# service -> entity set -> table
ENTITY_SETS: dict[str, dict[str, str]] = {
    "Erp.BO.CustomerSvc": {"Customers": "Customer", "ShipToes": "ShipTo"},
    "Erp.BO.PartSvc": {"Parts": "Part", "PartWhses": "PartWhse"},
    "Erp.BO.SalesOrderSvc": {"SalesOrders": "OrderHed", "OrderDtls": "OrderDtl"},
    "Erp.BO.InvcGrpSvc": {"InvcGrps": "InvcGrp"},
    "Erp.BO.ARInvoiceSvc": {"ARInvoices": "InvcHead", "InvcDtls": "InvcDtl"},
    "Erp.BO.CashGrpSvc": {"CashGrps": "CashGrp"},
    "Erp.BO.CashRecSvc": {"CashRecs": "CashHead", "CashDtls": "CashDtl"},
    "Erp.BO.GLJrnGrpSvc": {"GLJrnGrps": "GLJrnGrp"},
    "Erp.BO.GLJournalEntrySvc": {"GLJournalEntries": "GLJrnHed",
                                 "GLJrnDtlMnls": "GLJrnDtlMnl"},
    "Erp.BO.BankAcctSvc": {"BankAccts": "BankAcct"},
    "Erp.BO.BankAdjEntrySvc": {"BankTrans": "BankTran"},
    "Erp.BO.GLAccountSvc": {"GLAccounts": "GLAccount"},
    "Erp.BO.PayMethodSvc": {"PayMethods": "PayMethod"},
    "Erp.BO.PartTranHistSvc": {"PartTranHists": "PartTranHist"},
    "Erp.BO.GLJrnDtlSvc": {"GLJrnDtls": "GLJrnDtl"},
    "Erp.BO.CurrExRateSvc": {"CurrExRates": "CurrExRate"},
    "Erp.BO.InventoryQtyAdjSvc": {},
    "Erp.BO.BankFundTranSvc": {},
    "Erp.PROC.ARInvoicePostSvc": {},
    "Erp.PROC.CashRecPostSvc": {},
    "Erp.PROC.BankFundPostSvc": {},
}

# fields the server computes: reset on a new row, never changed by PATCH
COMPUTED = {
    "OrderHed": {"OrderAmt", "DocOrderAmt", "TotalLines"},
    "InvcHead": {"InvoiceAmt", "DocInvoiceAmt", "InvoiceBal", "DocInvoiceBal", "OpenInvoice",
                 "UnpostedBal", "DocUnpostedBal", "Posted", "GLPosted", "JournalNum",
                 "JournalCode"},
    "CashHead": {"AppliedAmt", "DocAppliedAmt", "UnAppliedAmt", "DocUnAppliedAmt", "Posted"},
    "GLJrnHed": {"TotDebit", "TotCredit", "Balance", "Posted"},
    "GLJrnGrp": {"Posted", "PostErrorLog"},
    "InvcGrp": {"PostErrorLog"},
    "CashGrp": {"PostErrorLog"},
    "PartWhse": {"OnHandQty"},
}

# header table -> (navigation name, child table, link fields child.f == header.f)
NAVIGATIONS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "Customer": ("ShipToes", "ShipTo", ("Company", "CustNum")),
    "OrderHed": ("OrderDtls", "OrderDtl", ("Company", "OrderNum")),
    "InvcHead": ("InvcDtls", "InvcDtl", ("Company", "InvoiceNum")),
    "CashHead": ("CashDtls", "CashDtl", ("Company", "GroupID", "HeadNum")),
    "GLJrnHed": ("GLJrnDtlMnls", "GLJrnDtlMnl",
                 ("Company", "BookID", "FiscalYear", "FiscalYearSuffix", "JournalCode",
                  "JournalNum", "FiscalCalendarID")),
    "Part": ("PartWhses", "PartWhse", ("Company", "PartNum")),
}


# the method-only InventoryQtyAdj row has no SysRevID (generated schema)
del TEMPLATES["InventoryQtyAdj"]["SysRevID"]


def type_name(table: str) -> str:
    return f"Erp.Tablesets.{table}Row"


@dataclass
class Table:
    name: str
    keys: tuple[str, ...]
    template: dict[str, Any]
    indexed: tuple[str, ...] = ()
    rows: dict[tuple, Row] = field(default_factory=dict)
    index: dict[str, dict[Any, dict[tuple, None]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.index = {f: {} for f in self.indexed}

    def key_of(self, row: Row) -> tuple:
        return tuple(row[k] for k in self.keys)

    def insert(self, row: Row) -> None:
        key = self.key_of(row)
        self.rows[key] = row
        for f, idx in self.index.items():
            idx.setdefault(_ikey(row.get(f)), {})[key] = None

    def unindex(self, row: Row) -> None:
        key = self.key_of(row)
        for f, idx in self.index.items():
            bucket = idx.get(_ikey(row.get(f)))
            if bucket is not None:
                bucket.pop(key, None)

    def get(self, key: tuple) -> Row | None:
        return self.rows.get(key)

    def where(self, fname: str, value: Any) -> list[Row]:
        if fname in self.index:
            return [self.rows[k] for k in self.index[fname].get(_ikey(value), ())]
        return [r for r in self.rows.values() if _ikey(r.get(fname)) == _ikey(value)]

    def candidates(self, hint: tuple[str, set[Any]] | None) -> list[Row]:
        if hint and hint[0] in self.index:
            idx = self.index[hint[0]]
            keys: dict[tuple, None] = {}
            for v in hint[1]:
                keys.update(idx.get(v, {}))
            return sorted((self.rows[k] for k in keys),
                          key=lambda r: tuple(sort_key(r[k]) for k in self.keys))
        return list(self.rows.values())

    def fields(self) -> Iterable[str]:
        return self.template.keys()


def _ikey(value: Any) -> Any:
    """Index key: strings fold case like the filter does (CI collation)."""
    if isinstance(value, str):
        return value.casefold()
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


def new_tables() -> dict[str, Table]:
    return {name: Table(name, KEYS[name], TEMPLATES[name], INDEXED.get(name, ()))
            for name in KEYS}
