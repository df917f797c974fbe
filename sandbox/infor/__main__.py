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
import json
import logging
import secrets
import threading
from pathlib import Path

from ..erp_common import base_parser, run, write_atomic, write_env_file
from .app import InforSandbox
from .m3 import M3

log = logging.getLogger("sandbox.infor")


def build_parser() -> argparse.ArgumentParser:
    p = base_parser("infor", __doc__, "write ERP_* / INFOR_* settings here", token_ttl=7200)
    p.add_argument("--ionapi-file", type=Path,
                   help="write the .ionapi credentials here (default: beside the env file)")
    p.add_argument("--tenant", default="SANDBOX_TST", help="ION tenant (ti)")
    p.add_argument("--company", default="100", help="M3 company (CONO)")
    p.add_argument("--division", default="AAA", help="M3 division (DIVI)")
    p.add_argument("--currency", default="USD", help="local currency of the division")
    p.add_argument("--invoicing-interval", type=float, default=300,
                   help="seconds between runs of M3's invoicing job (OIS180); 0 = only when "
                        "asked (POST /_sandbox/jobs/invoicing)")
    p.add_argument("--client-id", help="OAuth client id (default: random)")
    p.add_argument("--client-secret", help="OAuth client secret (default: random)")
    p.add_argument("--service-account-key", help="saak (default: random)")
    p.add_argument("--service-account-secret", help="sask (default: random)")
    return p


def ionapi(app: InforSandbox, base: str) -> dict[str, str]:
    """The credentials file an Infor admin downloads from API Gateway > Authorized Apps."""
    return {"ti": app.tenant, "cn": "stripe-erp-sync sandbox", "dt": "12",
            "ci": app.client_id, "cs": app.client_secret, "iu": base,
            "pu": f"{base}/{app.tenant}/as/", "oa": "authorization.oauth2",
            "ot": "token.oauth2", "or": "revoke_token.oauth2", "ev": "SANDBOX", "v": "1.0",
            "saak": app.saak, "sask": app.sask}


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    tenant = args.tenant
    app = InforSandbox(
        M3(cono=args.company, divi=args.division, local=args.currency.upper()), tenant=tenant,
        client_id=args.client_id or f"{tenant}~{secrets.token_urlsafe(24)}",
        client_secret=args.client_secret or secrets.token_urlsafe(32),
        saak=args.service_account_key or f"{tenant}#{secrets.token_urlsafe(24)}",
        sask=args.service_account_secret or secrets.token_urlsafe(32),
        token_ttl=args.token_ttl, seed=args.seed, invoicing_interval=args.invoicing_interval)
    threading.Thread(target=app.run_scheduler, name="m3-job-scheduler", daemon=True).start()

    def on_ready(port: int) -> None:
        base = f"http://{args.host}:{port}"
        ionapi_file = args.ionapi_file or (args.env_file.with_suffix(".ionapi")
                                           if args.env_file else None)
        if ionapi_file:
            write_atomic(ionapi_file, json.dumps(ionapi(app, base), indent=2) + "\n")
        if args.env_file:
            write_env_file(args.env_file, {
                "ERP_KIND": "infor", "ERP_BASE_URL": base,
                "INFOR_IONAPI_FILE": str(ionapi_file.resolve()),
                "INFOR_COMPANY": args.company, "INFOR_DIVISION": args.division})
        log.info("Infor M3 sandbox serving %s (tenant %s, company %s, division %s; env file: %s; "
                 ".ionapi: %s)", base, tenant, args.company, args.division,
                 args.env_file or "-", ionapi_file or "-")

    run(app, args, on_ready)


if __name__ == "__main__":
    main()
