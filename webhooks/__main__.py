"""``python -m webhooks --port PORT``: the Stripe webhook receiver.

Reads the same configuration as the pipelines: ``STRIPE_WEBHOOK_SECRET``
(several, comma-separated, while rotating) and ``WAREHOUSE_URL``; migrates the
warehouse if needed.  With ``DAGSTER_GRAPHQL_URL`` it also launches a sync run
as soon as events land (see nudge.py).  Every limit on clients (server.py) has a
flag and an environment variable (``WEBHOOK_HEADER_TIMEOUT`` ...); the flag wins.
Secrets are never logged.
"""
from __future__ import annotations

import argparse
import logging
import os

from warehouse.db import display_url, make_engine
from warehouse.migrate import upgrade

from .app import build_app
from .nudge import Nudger
from .server import Limits, serve

# flag -> (environment variable, type, help); defaults are Limits' own
LIMIT_OPTIONS = {
    "header_timeout": ("WEBHOOK_HEADER_TIMEOUT", float,
                       "seconds a client has to send its request headers"),
    "body_timeout": ("WEBHOOK_BODY_TIMEOUT", float, "seconds to send the body (then 408)"),
    "keep_alive_timeout": ("WEBHOOK_KEEP_ALIVE_TIMEOUT", int,
                           "seconds an idle connection is kept open"),
    "limit_concurrency": ("WEBHOOK_LIMIT_CONCURRENCY", int,
                          "connections and requests at once; beyond it 503"),
    "max_header_bytes": ("WEBHOOK_MAX_HEADER_BYTES", int, "request line and headers, bytes"),
    "max_body_bytes": ("WEBHOOK_MAX_BODY_BYTES", int, "body, bytes (then 413)"),
}


def limits_from(args: argparse.Namespace, environ: dict[str, str]) -> Limits:
    values = {}
    for name, (env, kind, _) in LIMIT_OPTIONS.items():
        given = getattr(args, name)
        if given is None and environ.get(env, "").strip():
            try:
                given = kind(environ[env])
            except ValueError:
                raise SystemExit(f"{env} must be a number, got {environ[env]!r}") from None
        if given is not None:
            if given <= 0:
                raise SystemExit(f"{env} / --{name.replace('_', '-')} must be positive")
            values[name] = given
    return Limits(**values)


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m webhooks")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8787)
    for name, (env, kind, text) in LIMIT_OPTIONS.items():
        p.add_argument("--" + name.replace("_", "-"), type=kind, default=None,
                       help=f"{text} (env {env}, default {getattr(Limits, name)})")
    args = p.parse_args()
    limits = limits_from(args, dict(os.environ))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    engine = make_engine(os.environ.get("WAREHOUSE_URL"))
    upgrade(engine)
    secrets = os.environ.get("STRIPE_WEBHOOK_SECRET", "").split(",")
    graphql = os.environ.get("DAGSTER_GRAPHQL_URL", "").strip()
    nudger = Nudger(engine, graphql) if graphql else None
    app = build_app(engine, secrets, limits, nudger=nudger)
    logging.getLogger("webhooks").info("receiving on http://%s:%d/webhooks/stripe -> %s (%s)",
                                       args.host, args.port,
                                       display_url(os.environ.get("WAREHOUSE_URL")), limits)
    serve(app, args.host, args.port, limits)


if __name__ == "__main__":
    main()
