"""Business-object methods other than UpdateExt and the posting processes: inventory
quantity adjustments and bank funds transfers, and the dispatch of every method by
service and name (``call``)."""
from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from . import posting
from .errors import API_EXCEPTION, ODATA_EXCEPTION, EpicorError, business
from .ledger import round_money
from .tables import D0, today

if TYPE_CHECKING:
    from .store import Store


def get_inventory_qty_adj(s: Store, part_num: str) -> dict[str, Any]:
    with s.lock:
        part = s.part(part_num, "InventoryQtyAdj")
        whses = s.t["PartWhse"].where("PartNum", part_num)
        whse = whses[0] if whses else None
        row = s._row(
            "InventoryQtyAdj", PartNum=part_num, WareHseCode=whse["WarehouseCode"] if whse
            else "", BinNum=whse["PrimBinNum"] if whse else "",
            OnHandQty=whse["OnHandQty"] if whse else D0, UnitOfMeasure=part["IUM"],
            TransDate=today(), ReasonType="I", PartPartDescription=part["PartDescription"],
            WareHseDescription=whse["WarehouseCode"] if whse else "")
        return {"returnObj": {"InventoryQtyAdj": [row]}}


def _rows(s: Store, ds: Any, table: str) -> list[Any]:
    """The ``table`` rows of a method's ``ds``, typed like the table (400 when none)."""
    rows_in = ds.get(table) if isinstance(ds, dict) else None
    if not isinstance(rows_in, list) or not rows_in:
        raise EpicorError(f"{table} row is required.", table=table)
    return [s.merge(table, r) for r in rows_in]


def set_inventory_qty_adj(s: Store, ds: dict[str, Any]) -> dict[str, Any]:
    with s.lock:
        rows = _rows(s, ds, "InventoryQtyAdj")
        targets = []
        for row in rows:  # validate everything first: the method runs in one transaction
            s.part(row["PartNum"], "InventoryQtyAdj")
            s.check_len("InventoryQtyAdj", row, "Reference")
            if not row["WareHseCode"]:
                raise business("Warehouse is required.", "InventoryQtyAdj", "WareHseCode")
            whse = next((w for w in s.t["PartWhse"].where("PartNum", row["PartNum"])
                         if w["WarehouseCode"] == row["WareHseCode"]), None)
            if whse is None:
                raise business(f"Warehouse {row['WareHseCode']} is not valid for part "
                               f"{row['PartNum']}.", "InventoryQtyAdj", "WareHseCode")
            if row["AdjustQuantity"] == 0:
                raise business("Adjustment quantity cannot be zero.", "InventoryQtyAdj",
                               "AdjustQuantity")
            targets.append(whse)
        pks = []
        now = datetime.now()
        sys_date = f"{now.date().isoformat()}T00:00:00"
        sys_time = now.hour * 3600 + now.minute * 60 + now.second
        for row, whse in zip(rows, targets):
            whse["OnHandQty"] = whse["OnHandQty"] + row["AdjustQuantity"]
            tran = s._row(
                "PartTranHist", SysDate=sys_date, SysTime=sys_time,
                TranNum=s._next("PartTranNum"), PartNum=row["PartNum"],
                WareHouseCode=row["WareHseCode"], BinNum=row["BinNum"] or whse["PrimBinNum"],
                TranType="ADJ-QTY", TranDate=row["TransDate"] or today(),
                TranQty=row["AdjustQuantity"], ActTranQty=row["AdjustQuantity"],
                UM=row["UnitOfMeasure"] or "EA", TranReference=row["Reference"],
                ReasonDesc=row["ReasonCode"], EntryPerson=s.user, Plant=whse["Plant"])
            s.t["PartTranHist"].insert(tran)
            pks.append(f"{s.company}~{sys_date[:10]}~{sys_time}~{tran['TranNum']}")
            row["OnHandQty"], row["AdjustQuantity"], row["RowMod"] = (
                whse["OnHandQty"], D0, "")
        return {"parameters": {"ds": {"InventoryQtyAdj": rows}, "partTranPKs": "|".join(pks)}}


def create_bank_tran_records(s: Store, ds: dict[str, Any]) -> dict[str, Any]:
    with s.lock:
        rows = _rows(s, ds, "BankFundsTransfer")
        for row in rows:
            t = "BankFundsTransfer"
            src = s.bank(row["BankAcctID"], t)
            s.bank(row["ToBankAcctID"], t, "ToBankAcctID")
            if row["BankAcctID"] == row["ToBankAcctID"]:
                raise business("The target bank account must differ from the source bank "
                               "account.", t, "ToBankAcctID")
            if row["TranAmt"] <= 0:
                raise business("Transfer amount must be greater than zero.", t, "TranAmt")
            if not row["TranDate"]:
                raise business("Transaction date is required.", t, "TranDate")
            s.ledger.calendar.check(row["TranDate"], t, "TranDate")
            s.check_len(t, row, "TranRef")
            row["CurrencyCode"] = row["CurrencyCode"] or src["CurrencyCode"]
            s.check_currency(t, row)
            row["TranAmt"] = round_money(row["TranAmt"], row["CurrencyCode"])
            row["ExchangeRate"] = s.ledger.rate(row["CurrencyCode"], row["TranDate"], t)
        first = 0
        for row in rows:  # two unposted BankTran legs; Erp.PROC.BankFundPostSvc posts them
            num = s._next("BankTranNum")
            first = first or num
            amt = row["TranAmt"]
            base = s.ledger.to_base(amt, row["ExchangeRate"])
            row.update(TranNum=num, DocTranAmt=amt, ToTranAmt=amt, ToDocTranAmt=amt,
                       ToCurrencyCode=row["CurrencyCode"], ToExchangeRate=row["ExchangeRate"],
                       EntryPerson=s.user, RowMod="")
            d = date.fromisoformat(row["TranDate"][:10])
            for bank_id, sign in ((row["BankAcctID"], -1), (row["ToBankAcctID"], 1)):
                s.t["BankTran"].insert(s._row(
                    "BankTran", BankAcctID=bank_id, TranNum=num, TranDate=row["TranDate"],
                    TranAmt=base * sign, DocTranAmt=amt * sign, TranRef=row["TranRef"],
                    ExchangeRate=row["ExchangeRate"], GLPosted=False,
                    CurrencyCode=row["CurrencyCode"], GLAccount=s.bank_gl.get(bank_id, ""),
                    EntryPerson=s.user, EntryDate=today(), FiscalYear=d.year,
                    FiscalPeriod=d.month))
        return {"returnObj": first, "parameters": {"ds": {"BankFundsTransfer": rows}}}


# service -> methods answered with POST (GET: GET_METHODS)
METHODS: dict[str, set[str]] = {
    "Erp.BO.GLJrnGrpSvc": {"PostGroupJournals"},
    "Erp.BO.InventoryQtyAdjSvc": {"GetInventoryQtyAdj", "PreSetInventoryQtyAdj",
                                  "SetInventoryQtyAdj"},
    "Erp.BO.BankFundTranSvc": {"CreateBankTranRecords"},
    **{svc: {"RunDirect"} for svc in posting.PROCESSES},
}
GET_METHODS: dict[str, set[str]] = {svc: {"GetNewParameters"} for svc in posting.PROCESSES}


def call(s: Store, service: str, name: str, body: Any) -> dict[str, Any]:
    """Run method ``name`` of ``service`` with the JSON ``body`` (None for a GET)."""
    if name == "GetNewParameters":
        return posting.new_parameters(service)
    if not isinstance(body, dict):
        raise EpicorError("Unable to deserialize the input parameters.",
                          error_type=ODATA_EXCEPTION)
    if name == "UpdateExt":
        for param in ("ds", "continueProcessingOnError", "rollbackParentOnChildError"):
            if param not in body:
                raise EpicorError(f"Parameter {param} is not found in the input object.",
                                  error_type=ODATA_EXCEPTION)
        return s.update_ext(service, body["ds"], bool(body["continueProcessingOnError"]),
                            bool(body["rollbackParentOnChildError"]))
    if name == "PostGroupJournals":
        group = body.get("postGroupID")
        if not isinstance(group, str) or not group:
            raise EpicorError("Parameter postGroupID is not found in the input object.",
                              error_type=ODATA_EXCEPTION)
        return posting.post_group_journals(s, group)
    if name == "RunDirect":
        if "ds" not in body:
            raise EpicorError("Parameter ds is not found in the input object.",
                              error_type=ODATA_EXCEPTION)
        return posting.run_direct(s, service, body["ds"])
    if name == "GetInventoryQtyAdj":
        part = body.get("partnumber", body.get("partNum"))
        if not isinstance(part, str):
            raise EpicorError("Parameter partnumber is not found in the input object.",
                              error_type=ODATA_EXCEPTION)
        return get_inventory_qty_adj(s, part)
    if name == "PreSetInventoryQtyAdj":
        return {"parameters": {"ds": body.get("ds", {}), "requiresUserInput": False}}
    if name == "SetInventoryQtyAdj":
        return set_inventory_qty_adj(s, body.get("ds"))
    if name == "CreateBankTranRecords":
        return create_bank_tran_records(s, body.get("ds"))
    raise EpicorError(f"Method {name} not found.", status=404, error_type=API_EXCEPTION)
