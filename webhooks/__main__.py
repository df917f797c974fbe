"""``python -m webhooks --port PORT``: the Stripe webhook receiver.

Reads the same configuration as the pipelines: ``STRIPE_WEBHOOK_SECRET``
(several, comma-separated, while rotating) and ``WAREHOUSE_URL``; migrates the
warehouse if needed.  With ``DAGSTER_GRAPHQL_URL`` it also launches a sync run
as soon as events land (see nudge.py).  Secrets are never logged.
"""
from __future__ import annotations

import argparse
import logging
import os

import uvicorn

from warehouse.db import display_url, make_engine
from warehouse.migrate import upgrade

from .app import DEFAULT_MAX_BODY, build_app
from .nudge import Nudger


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m webhooks")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8787)
    p.add_argument("--max-body", type=int, default=DEFAULT_MAX_BODY)
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    engine = make_engine(os.environ.get("WAREHOUSE_URL"))
    upgrade(engine)
    secrets = os.environ.get("STRIPE_WEBHOOK_SECRET", "").split(",")
    graphql = os.environ.get("DAGSTER_GRAPHQL_URL", "").strip()
    nudger = Nudger(engine, graphql) if graphql else None
    app = build_app(engine, secrets, max_body=args.max_body, nudger=nudger)
    logging.getLogger("webhooks").info("receiving on http://%s:%d/webhooks/stripe -> %s",
                                       args.host, args.port, display_url(os.environ.get("WAREHOUSE_URL")))
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
