"""``python -m sandbox.tims --port PORT [--host 127.0.0.1] [--env-file PATH]``.

Serves the TIMS API emulation at ``http://HOST:PORT/api/v1``.  The OAuth2
client credentials are random per run unless given (``--client-id``,
``--client-secret``); they are written to the env file (atomically, once the
socket accepts connections) and never logged.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import sys
from collections.abc import Callable
from pathlib import Path

import uvicorn

from .app import TimsApp

log = logging.getLogger("sandbox.tims")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m sandbox.tims", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True, help="0 = any free port")
    p.add_argument("--env-file", type=Path, help="write ERP_KIND/ERP_BASE_URL/TIMS_* here")
    p.add_argument("--client-id", help="OAuth2 client id (default: random)")
    p.add_argument("--client-secret", help="OAuth2 client secret (default: random)")
    p.add_argument("--token-ttl", type=int, default=3600, help="access token lifetime, seconds")
    p.add_argument("--seed", type=int, default=0, help="seed of the fault-rate RNG")
    return p


def write_env_file(path: Path, lines: dict[str, str]) -> None:
    """NAME=value lines, atomically (temp file + os.replace); readable by the owner only."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("".join(f"{k}={v}\n" for k, v in lines.items()))
    os.replace(tmp, path)


async def serve(app: TimsApp, args: argparse.Namespace,
                on_ready: Callable[[int], None]) -> None:
    config = uvicorn.Config(app.asgi, host=args.host, port=args.port, access_log=False,
                            log_level="warning", lifespan="off", timeout_keep_alive=30,
                            loop="none")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            await task
            raise SystemExit("uvicorn exited during startup")
        await asyncio.sleep(0.02)
    port = args.port
    for srv in server.servers:  # the real port when --port 0
        for sock in srv.sockets:
            port = sock.getsockname()[1]
            break
    on_ready(port)
    await task


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    client_id = args.client_id or "tims-" + secrets.token_hex(6)
    client_secret = args.client_secret or secrets.token_urlsafe(24)
    app = TimsApp(client_id, client_secret, token_ttl=args.token_ttl, seed=args.seed)

    def on_ready(port: int) -> None:
        base = f"http://{args.host}:{port}/api/v1"
        if args.env_file:
            write_env_file(args.env_file, {"ERP_KIND": "tims", "ERP_BASE_URL": base,
                                           "TIMS_CLIENT_ID": client_id,
                                           "TIMS_CLIENT_SECRET": client_secret})
        app.ready = True
        log.info("TIMS sandbox serving %s (env file: %s)", base, args.env_file or "-")

    runner = asyncio.run
    try:
        import uvloop
        runner = uvloop.run
    except ImportError:
        pass
    try:
        runner(serve(app, args, on_ready))
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
