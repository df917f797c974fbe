"""``python -m workbench --port P [--host 127.0.0.1]``: serve the exceptions workbench.

Reads the same environment as the Dagster code location (WAREHOUSE_URL, ERP_*,
ERP_MAPPING_FILE) plus DAGSTER_GRAPHQL_URL (where replays are launched) and WORKBENCH_TOKEN
(the login token; without it, data/workbench_token, created on first start).
"""
from __future__ import annotations

import argparse
import os

import uvicorn

from .app import create_app
from .settings import Settings, token_file


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m workbench", description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=12114)
    ap.add_argument("--host", default="127.0.0.1",
                    help="interface to bind (default loopback only)")
    args = ap.parse_args()
    settings = Settings.from_env()
    source = "WORKBENCH_TOKEN" if os.environ.get("WORKBENCH_TOKEN") else str(token_file())
    print(f"exceptions workbench on http://{args.host}:{args.port} (login token: {source})",
          flush=True)
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="warning",
                access_log=False)


if __name__ == "__main__":
    main()
