"""``python -m sandbox.epicor``: serve a local Epicor Kinetic REST v2 emulation.

The env file (``--env-file``) is written atomically once the socket accepts
connections.  The API key and password are random per run unless given; they go
to the env file only and are never logged.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import sys
from pathlib import Path

import uvicorn

from .app import EpicorSandbox

log = logging.getLogger("sandbox.epicor")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m sandbox.epicor", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True, help="0 picks a free port")
    p.add_argument("--env-file", type=Path, help="write ERP_KIND/ERP_BASE_URL/EPICOR_* here")
    p.add_argument("--instance", default="ERPTEST")
    p.add_argument("--company", default="EPIC06")
    p.add_argument("--username", default="manager")
    p.add_argument("--password", help="default: random")
    p.add_argument("--api-key", help="default: random")
    p.add_argument("--token-ttl", type=int, default=3600, help="AccessToken lifetime (s)")
    p.add_argument("--seed", type=int, default=0, help="seed of the fault-rate RNG")
    return p


def write_env_file(path: Path, lines: dict[str, str]) -> None:
    """Atomically write NAME=value lines (readers never see a partial file)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(f"{k}={v}\n" for k, v in lines.items()))
    os.replace(tmp, path)


async def serve(sandbox: EpicorSandbox, args: argparse.Namespace) -> None:
    config = uvicorn.Config(sandbox.asgi, host=args.host, port=args.port, access_log=False,
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
    base = f"http://{args.host}:{port}/{args.instance}"
    if args.env_file:
        write_env_file(args.env_file, {
            "ERP_KIND": "epicor", "ERP_BASE_URL": base, "EPICOR_API_KEY": sandbox.api_key,
            "EPICOR_USERNAME": sandbox.username, "EPICOR_PASSWORD": sandbox.password,
            "EPICOR_COMPANY": sandbox.company})
    sandbox.ready = True
    log.info("Epicor sandbox serving %s/api/v2/odata/%s (env file: %s)", base, args.company,
             args.env_file or "-")
    print(f"EPICOR_BASE_URL={base}", flush=True)
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
    sandbox = EpicorSandbox(instance=args.instance, company=args.company,
                            api_key=args.api_key or secrets.token_hex(16),
                            username=args.username,
                            password=args.password or secrets.token_urlsafe(12),
                            token_ttl=args.token_ttl, seed=args.seed)
    runner = asyncio.run
    if _has("uvloop"):
        import uvloop
        runner = uvloop.run
    try:
        runner(serve(sandbox, args))
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
