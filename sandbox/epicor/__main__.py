"""``python -m sandbox.epicor``: serve a local Epicor Kinetic REST v2 emulation.

The env file (``--env-file``) is written atomically once the socket accepts
connections.  The API key and password are random per run unless given; they go
to the env file only and are never logged.
"""
from __future__ import annotations

import argparse
import logging
import secrets

from ..erp_common import base_parser, run, write_env_file
from .app import EpicorSandbox

log = logging.getLogger("sandbox.epicor")


def build_parser() -> argparse.ArgumentParser:
    p = base_parser("epicor", __doc__, "write ERP_KIND/ERP_BASE_URL/EPICOR_* here")
    p.add_argument("--instance", default="ERPTEST")
    p.add_argument("--company", default="EPIC06")
    p.add_argument("--username", default="manager")
    p.add_argument("--password", help="default: random")
    p.add_argument("--api-key", help="default: random")
    return p


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    sandbox = EpicorSandbox(instance=args.instance, company=args.company,
                            api_key=args.api_key or secrets.token_hex(16),
                            username=args.username,
                            password=args.password or secrets.token_urlsafe(12),
                            token_ttl=args.token_ttl, seed=args.seed)

    def on_ready(port: int) -> None:
        base = f"http://{args.host}:{port}/{args.instance}"
        if args.env_file:
            write_env_file(args.env_file, {
                "ERP_KIND": "epicor", "ERP_BASE_URL": base, "EPICOR_API_KEY": sandbox.api_key,
                "EPICOR_USERNAME": sandbox.username, "EPICOR_PASSWORD": sandbox.password,
                "EPICOR_COMPANY": sandbox.company})
        log.info("Epicor sandbox serving %s/api/v2/odata/%s (env file: %s)", base, args.company,
                 args.env_file or "-")
        print(f"EPICOR_BASE_URL={base}", flush=True)

    run(sandbox, args, on_ready)


if __name__ == "__main__":
    main()
