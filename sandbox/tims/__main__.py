"""``python -m sandbox.tims --port PORT [--host 127.0.0.1] [--env-file PATH]``.

Serves the TIMS API emulation at ``http://HOST:PORT/api/v1``.  The OAuth2
client credentials are random per run unless given (``--client-id``,
``--client-secret``); they are written to the env file (atomically, once the
socket accepts connections) and never logged.
"""
from __future__ import annotations

import argparse
import logging
import secrets
from pathlib import Path

from ..erp_common import base_parser, run, write_env_file
from ..state_file import StateFile
from .app import TimsApp

log = logging.getLogger("sandbox.tims")


def build_parser() -> argparse.ArgumentParser:
    p = base_parser("tims", __doc__, "write ERP_KIND/ERP_BASE_URL/TIMS_* here")
    p.add_argument("--client-id", help="OAuth2 client id (default: random)")
    p.add_argument("--client-secret", help="OAuth2 client secret (default: random)")
    p.add_argument("--state-file", type=Path,
                   help="keep the company's records in this file across restarts "
                        "(default: in memory only); a sandbox convenience, see README")
    return p


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    client_id = args.client_id or "tims-" + secrets.token_hex(6)
    client_secret = args.client_secret or secrets.token_urlsafe(24)
    app = TimsApp(client_id, client_secret, token_ttl=args.token_ttl, seed=args.seed)
    saver = None
    if args.state_file:
        saver = StateFile(args.state_file, app.state.lock,
                          lambda: (app.state, app.idempotency))
        saved = saver.load()
        if saved is not None:
            app.state, app.idempotency = saved
            saver.lock = app.state.lock
        app.on_change = saver.changed
        saver.start()

    def on_ready(port: int) -> None:
        base = f"http://{args.host}:{port}/api/v1"
        if args.env_file:
            write_env_file(args.env_file, {"ERP_KIND": "tims", "ERP_BASE_URL": base,
                                           "TIMS_CLIENT_ID": client_id,
                                           "TIMS_CLIENT_SECRET": client_secret})
        log.info("TIMS sandbox serving %s (env file: %s)", base, args.env_file or "-")

    run(app, args, on_ready, on_exit=saver.close if saver else None)


if __name__ == "__main__":
    main()
