"""``python -m sandbox.stripe``: generate history, then serve the Stripe API locally.

The env file (``--env-file``) is written only once the socket accepts
connections, so a process waiting for it can use the sandbox at once.  The
API key is random per run unless ``--api-key`` is given; it is written to the
env file and never logged.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import sys
import time
from pathlib import Path
from typing import Any, Callable

import uvicorn

from .app import SandboxApp
from .engine import Engine
from .generator import generate
from .profiles import PROFILES
from .store import Store
from .webhooks import WebhookConfig

# Named scales accepted by --scale (anything else must be a number).
SCALES = {"tiny": 0.02, "small": 0.1, "medium": 0.5, "full": 1.0}

log = logging.getLogger("sandbox.stripe")


def parse_scale(text: str) -> float:
    if text in SCALES:
        return SCALES[text]
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"scale must be a number or one of {', '.join(SCALES)}") from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m sandbox.stripe", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--history-days", type=int, default=90)
    p.add_argument("--scale", type=parse_scale, default=1.0,
                   help=f"volume multiplier or one of {', '.join(SCALES)}")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--profile", choices=PROFILES, default="default",
                   help="history to generate: default (USD settlement) or accrual "
                        "(USD/EUR/GBP settlement, tax, open invoices, Connect, fees ...)")
    p.add_argument("--live-rate", type=float, default=0.0,
                   help="events per second of live activity while serving")
    p.add_argument("--env-file", type=Path, help="write STRIPE_API_KEY/STRIPE_API_BASE here")
    p.add_argument("--db", default=":memory:", help="SQLite file (default: in memory)")
    p.add_argument("--api-key", help="API key to accept (default: random sk_test_ key)")
    p.add_argument("--rate-limit", type=float, default=25.0,
                   help="requests/s (25 = Stripe test mode, 100 = live, 0 = unlimited)")
    p.add_argument("--webhook-duplicate-rate", type=float, default=0.0)
    p.add_argument("--webhook-shuffle", action="store_true")
    p.add_argument("--webhook-delay-ms", type=int, default=0)
    p.add_argument("--webhook-retry-base-ms", type=int, default=500)
    p.add_argument("--webhook-max-attempts", type=int, default=8)
    return p


def write_env_file(path: Path, api_key: str, base: str) -> None:
    """Atomically write NAME=value lines (readers never see a partial file)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(f"STRIPE_API_KEY={api_key}\nSTRIPE_API_BASE={base}\n")
    os.replace(tmp, path)


async def serve(app: SandboxApp, args: argparse.Namespace, on_ready: Callable[[], None]) -> None:
    config = uvicorn.Config(
        app.asgi, host=args.host, port=args.port, access_log=False, log_level="warning",
        http="httptools" if _has("httptools") else "auto", loop="none", lifespan="on",
        timeout_keep_alive=30)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            await task  # re-raises the startup failure
            raise SystemExit("uvicorn exited during startup")
        await asyncio.sleep(0.02)
    on_ready()
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
    api_key = args.api_key or "sk_test_" + secrets.token_hex(12)

    engine = Engine(Store(args.db), seed=args.seed)

    def regenerate() -> Any:
        t0 = time.monotonic()
        summary = generate(engine, history_days=args.history_days, scale=args.scale,
                           seed=args.seed, profile=args.profile)
        log.info("generated %d days of history (scale %s) in %.1fs", args.history_days,
                 args.scale, time.monotonic() - t0)
        return summary

    fresh = engine.store.query("SELECT COUNT(*) FROM objects")[0][0] == 0
    if args.history_days > 0 and fresh:
        regenerate()
    hooks = WebhookConfig(duplicate_rate=args.webhook_duplicate_rate, shuffle=args.webhook_shuffle,
                          delay_ms=args.webhook_delay_ms,
                          retry_base_ms=args.webhook_retry_base_ms,
                          max_attempts=args.webhook_max_attempts)
    app = SandboxApp(engine, api_key=api_key, rate_limit=args.rate_limit, seed=args.seed,
                     webhook_config=hooks,
                     regenerate=regenerate if args.history_days > 0 else None,
                     live_rate=args.live_rate)
    base = f"http://{args.host}:{args.port}"

    def on_ready() -> None:
        if args.env_file:
            write_env_file(args.env_file, api_key, base)
        app.ready = True
        log.info("Stripe sandbox serving %s (env file: %s)", base, args.env_file or "-")

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
