"""``python -m sandbox.infor``: serve an Infor M3 (ION API gateway + SSO) sandbox locally.

Once the socket accepts connections it writes, atomically, the ``.ionapi``
credentials file (next to the env file unless ``--ionapi-file`` says where) and
the env file (``--env-file``) with ``ERP_KIND``, ``ERP_BASE_URL``,
``INFOR_IONAPI_FILE``, ``INFOR_COMPANY`` and ``INFOR_DIVISION``.  Client and
service-account secrets are random per run unless given; they are written to
the .ionapi file only and never logged.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import secrets
import sys
from pathlib import Path
from typing import Callable

import uvicorn

from .app import InforSandbox
from .m3 import M3

log = logging.getLogger("sandbox.infor")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m sandbox.infor", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True, help="0 = any free port")
    p.add_argument("--env-file", type=Path, help="write ERP_* / INFOR_* settings here")
    p.add_argument("--ionapi-file", type=Path,
                   help="write the .ionapi credentials here (default: beside the env file)")
    p.add_argument("--tenant", default="SANDBOX_TST", help="ION tenant (ti)")
    p.add_argument("--company", default="100", help="M3 company (CONO)")
    p.add_argument("--division", default="AAA", help="M3 division (DIVI)")
    p.add_argument("--currency", default="USD", help="local currency of the division")
    p.add_argument("--client-id", help="OAuth client id (default: random)")
    p.add_argument("--client-secret", help="OAuth client secret (default: random)")
    p.add_argument("--service-account-key", help="saak (default: random)")
    p.add_argument("--service-account-secret", help="sask (default: random)")
    p.add_argument("--token-ttl", type=int, default=7200, help="access token lifetime, seconds")
    p.add_argument("--seed", type=int, default=0, help="seed of the fault-rate RNG")
    return p


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    if path.suffix == ".ionapi":
        os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def ionapi(app: InforSandbox, base: str) -> dict[str, str]:
    """The credentials file an Infor admin downloads from API Gateway > Authorized Apps."""
    return {"ti": app.tenant, "cn": "stripe-erp-sync sandbox", "dt": "12",
            "ci": app.client_id, "cs": app.client_secret, "iu": base,
            "pu": f"{base}/{app.tenant}/as/", "oa": "authorization.oauth2",
            "ot": "token.oauth2", "or": "revoke_token.oauth2", "ev": "SANDBOX", "v": "1.0",
            "saak": app.saak, "sask": app.sask}


async def serve(app: InforSandbox, args: argparse.Namespace,
                on_ready: Callable[[int], None]) -> None:
    config = uvicorn.Config(app.asgi, host=args.host, port=args.port, access_log=False,
                            log_level="warning", lifespan="off", timeout_keep_alive=30,
                            http="httptools" if _has("httptools") else "auto")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            await task
            raise SystemExit("uvicorn exited during startup")
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    on_ready(port)
    await task


def _has(module: str) -> bool:
    try:
        __import__(module)
        return True
    except ImportError:
        return False


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    tenant = args.tenant
    app = InforSandbox(
        M3(cono=args.company, divi=args.division, local=args.currency.upper()), tenant=tenant,
        client_id=args.client_id or f"{tenant}~{secrets.token_urlsafe(24)}",
        client_secret=args.client_secret or secrets.token_urlsafe(32),
        saak=args.service_account_key or f"{tenant}#{secrets.token_urlsafe(24)}",
        sask=args.service_account_secret or secrets.token_urlsafe(32),
        token_ttl=args.token_ttl, seed=args.seed)

    def on_ready(port: int) -> None:
        base = f"http://{args.host}:{port}"
        ionapi_file = args.ionapi_file or (args.env_file.with_suffix(".ionapi")
                                           if args.env_file else None)
        if ionapi_file:
            _write_atomic(ionapi_file, json.dumps(ionapi(app, base), indent=2) + "\n")
        if args.env_file:
            lines = [f"ERP_KIND=infor", f"ERP_BASE_URL={base}",
                     f"INFOR_IONAPI_FILE={ionapi_file.resolve()}",
                     f"INFOR_COMPANY={args.company}", f"INFOR_DIVISION={args.division}"]
            _write_atomic(args.env_file, "\n".join(lines) + "\n")
        app.ready = True
        log.info("Infor M3 sandbox serving %s (tenant %s, company %s, division %s; env file: %s; "
                 ".ionapi: %s)", base, tenant, args.company, args.division,
                 args.env_file or "-", ionapi_file or "-")

    runner = asyncio.run
    if _has("uvloop"):
        import uvloop
        runner = uvloop.run
    try:
        runner(serve(app, args, on_ready))
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
