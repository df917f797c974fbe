"""The workbench's routes (Starlette).  ``/health`` is open; everything else needs a login.

Log in with a name (recorded in the audit) and the token (WORKBENCH_TOKEN, or the demo's
``data/workbench_token``).  The session cookie holds the name and an HMAC of it keyed by the
token, never the token; API clients may send ``Authorization: Bearer <token>`` instead.
"""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from connectors.erp import ErpError, make_adapter
from domain.mapping import MappingError, load_mapping
from posting.exceptions import dead_letters_by_id, group_by_cause, open_dead_letters
from warehouse.anomalies import top_flagged
from warehouse.db import make_engine
from warehouse.migrate import upgrade
from warehouse.schema import reconciliation_items, reconciliation_payouts

from . import audit, pages
from .catalog import Advisor, Fix
from .mapping_edit import map_sku
from .replay import LaunchError, launch_replay, preview, run_status
from .settings import Settings

COOKIE = "workbench_session"


def _sign(token: str, who: str) -> str:
    return hmac.new(token.encode(), f"session:{who}".encode(), hashlib.sha256).hexdigest()


class Workbench:
    def __init__(self, settings: Settings, engine: sa.Engine | None = None) -> None:
        self.s = settings
        self.engine = engine or make_engine(settings.warehouse_url)
        upgrade(self.engine)

    # ------------------------------------------------------------------ auth
    def who(self, request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        if header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip(), self.s.token):
            return "api"
        who, _, sig = request.cookies.get(COOKIE, "").rpartition("|")
        if who and hmac.compare_digest(sig, _sign(self.s.token, who)):
            return who
        return None

    def guarded(self, handler: Callable[[Request, str], Awaitable[Response]]
                ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            who = self.who(request)
            if who is None:
                return RedirectResponse("/login", status_code=303)
            return await handler(request, who)
        return endpoint

    async def login_form(self, request: Request) -> Response:
        return HTMLResponse(pages.login())

    async def login(self, request: Request) -> Response:
        form = await request.form()
        who = " ".join(str(form.get("who", "")).split())[:100].replace("|", "/")
        token = str(form.get("token", ""))
        if not who or not hmac.compare_digest(token.encode(), self.s.token.encode()):
            return HTMLResponse(pages.login("Wrong name or token."), status_code=401)
        await run_in_threadpool(audit.record, self.engine, who, "login", "logged in")
        resp = RedirectResponse("/", status_code=303)
        resp.set_cookie(COOKIE, f"{who}|{_sign(self.s.token, who)}", httponly=True,
                        samesite="strict", max_age=12 * 3600)
        return resp

    async def logout(self, request: Request) -> Response:
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie(COOKIE)
        return resp

    # ------------------------------------------------------------------ dead letters
    def _advisor(self) -> Advisor:
        adapter = make_adapter(self.s.erp_env)
        try:
            return Advisor(adapter, self.engine, load_mapping(self.s.mapping_path))
        finally:
            adapter.close()

    def _dead_letters_page(self, who: str, flash: str = "", error: str = "") -> str:
        with self.engine.connect() as conn:
            groups = group_by_cause(open_dead_letters(conn))
        shown = [x for rows in groups.values() for x in rows[:pages.SHOWN_PER_CAUSE]]
        fixes: dict[int, list[Fix]] = {}
        if shown and self.s.erp_env.get("ERP_KIND"):
            try:
                advisor = self._advisor()
                fixes = {x["id"]: advisor.fixes(x) for x in shown}
            except (ErpError, MappingError) as exc:
                error = error or f"No suggestions: {exc}"
        return pages.dead_letters(groups, fixes, who, flash, error)

    async def index(self, request: Request, who: str) -> Response:
        flash = request.query_params.get("flash", "")
        return HTMLResponse(await run_in_threadpool(self._dead_letters_page, who, flash[:300]))

    def _same_fix(self, letter_id: int, sku: str) -> list[dict[str, Any]]:
        """The open dead letter and every other one carrying the same unknown SKU."""
        with self.engine.connect() as conn:
            rows = open_dead_letters(conn)
        needle = f'"{sku}"'
        hit = [x for x in rows if x["id"] == letter_id or needle in _text(x["payload"])]
        sources = {x["source_id"] for x in hit if x.get("source_id")}
        # and what waits on them (the payment blocked behind a refused order)
        return hit + [x for x in rows if x not in hit and x["error_type"] == "Blocked"
                      and x.get("source_id") in sources]

    def _preview(self, letter_id: int, sku: str, item: str, who: str) -> str:
        letters = self._same_fix(letter_id, sku)
        if not any(x["id"] == letter_id for x in letters):
            return self._dead_letters_page(who, error=f"Dead letter {letter_id} is not open.")
        mapping, diff = map_sku(self.s.mapping_path, sku, item, write=False)
        docs = preview(self.engine, mapping, letters)
        return pages.preview([x["id"] for x in letters], sku, item, diff, docs, who,
                             self.s.mapping_path.name)

    async def preview_fix(self, request: Request, who: str) -> Response:
        form = await request.form()
        try:
            html = await run_in_threadpool(self._preview, int(request.path_params["id"]),
                                           str(form["sku"]), str(form["item"]), who)
        except (MappingError, KeyError, ValueError) as exc:
            html = await run_in_threadpool(self._dead_letters_page, who, "", str(exc))
        return HTMLResponse(html)

    def _apply(self, ids: list[int], sku: str, item: str, who: str) -> str:
        erp = self.s.erp_env.get("ERP_KIND")
        _, diff = map_sku(self.s.mapping_path, sku, item, write=True)
        audit_id = audit.record(self.engine, who, "apply_and_replay",
                                f"mapped SKU {sku} to ERP item {item}; replay launched",
                                erp=erp, dead_letter_ids=ids, mapping_diff=diff)
        try:
            run_id = launch_replay(self.s.graphql_url, self.s.location, {
                "workbench/launched_by": who, "workbench/audit_id": str(audit_id),
                "stripe/launched_by": "workbench"})
        except LaunchError as exc:
            audit.update(self.engine, audit_id, summary=f"mapped SKU {sku} to ERP item {item}; "
                                                        f"replay NOT launched: {exc}")
            raise LaunchError(f"The mapping was saved, but the replay was not launched: {exc}. "
                              f"Launch erp_replay_dead_letters from the Dagster UI.") from None
        audit.update(self.engine, audit_id, run_id=run_id)
        return run_id

    async def apply(self, request: Request, who: str) -> Response:
        form = await request.form()
        try:
            ids = [int(i) for i in str(form["ids"]).split(",") if i]
            run_id = await run_in_threadpool(self._apply, ids, str(form["sku"]),
                                             str(form["item"]), who)
        except (MappingError, LaunchError, KeyError, ValueError) as exc:
            html = await run_in_threadpool(self._dead_letters_page, who, "", str(exc))
            return HTMLResponse(html, status_code=400)
        return RedirectResponse(f"/runs/{run_id}?ids={','.join(map(str, ids))}",
                                status_code=303)

    def _run_page(self, run_id: str, ids: list[int], who: str) -> str:
        try:
            status = run_status(self.s.graphql_url, run_id)
        except LaunchError as exc:
            status = f"unknown ({exc})"
        with self.engine.connect() as conn:
            letters = dead_letters_by_id(conn, ids)
        return pages.run(run_id, status, self.s.dagster_ui, letters, who)

    async def run(self, request: Request, who: str) -> Response:
        ids = [int(i) for i in request.query_params.get("ids", "").split(",") if i.isdigit()]
        return HTMLResponse(await run_in_threadpool(self._run_page, request.path_params["run_id"],
                                                    ids, who))

    # ------------------------------------------------------------------ reconciliation, audit
    def _reconciliation_page(self, who: str) -> str:
        rp, ri = reconciliation_payouts, reconciliation_items
        with self.engine.connect() as conn:
            payouts = [dict(r) for r in conn.execute(
                sa.select(rp).where(rp.c.status != "matched")
                .order_by(rp.c.arrival_date.desc(), rp.c.payout_id)).mappings()]
            items: dict[tuple[str, str], list[dict]] = {}
            for r in conn.execute(sa.select(ri).order_by(ri.c.id)).mappings():
                items.setdefault((r["payout_id"], r["erp"]), []).append(dict(r))
        return pages.reconciliation(payouts, items, who)

    async def reconciliation(self, request: Request, who: str) -> Response:
        return HTMLResponse(await run_in_threadpool(self._reconciliation_page, who))

    async def audit_page(self, request: Request, who: str) -> Response:
        rows = await run_in_threadpool(audit.latest, self.engine)
        return HTMLResponse(pages.audit(rows, self.s.dagster_ui, who))

    async def anomalies(self, request: Request, who: str) -> Response:
        rows = await run_in_threadpool(top_flagged, self.engine)
        return HTMLResponse(pages.anomalies(rows, who))

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})


def _text(payload: Any) -> str:
    import orjson
    return payload if isinstance(payload, str) else orjson.dumps(payload).decode()


def create_app(settings: Settings | None = None, engine: sa.Engine | None = None) -> Starlette:
    wb = Workbench(settings or Settings.from_env(), engine)
    g = wb.guarded
    return Starlette(routes=[
        Route("/health", wb.health),
        Route("/login", wb.login_form, methods=["GET"]),
        Route("/login", wb.login, methods=["POST"]),
        Route("/logout", wb.logout, methods=["POST"]),
        Route("/", g(wb.index)),
        Route("/dead-letters/{id:int}/preview", g(wb.preview_fix), methods=["POST"]),
        Route("/apply", g(wb.apply), methods=["POST"]),
        Route("/runs/{run_id}", g(wb.run)),
        Route("/reconciliation", g(wb.reconciliation)),
        Route("/audit", g(wb.audit_page)),
        Route("/anomalies", g(wb.anomalies)),
    ])
