"""Plumbing shared by the ERP sandboxes (``sandbox.tims``, ``sandbox.infor``, ``sandbox.epicor``).

* Process: the common command line (``--host``, ``--port``, ``--env-file``,
  ``--token-ttl``, ``--seed``), atomic env-file writing and :func:`run`, which
  serves the app with uvicorn and calls back once the socket accepts
  connections; ``/_sandbox/health`` answers 503 until then (:func:`health_response`).
* Fault injection: :class:`Fault` rules (kinds ``429``/``500``/``503``/
  ``timeout``/``drop``, ``count`` or seeded ``rate``, ``retry_after``,
  ``after``) kept by :class:`Faults`, which answers a fired rule with the
  sandbox's own error body through the renderer each sandbox passes.

Like the sandboxes, it emulates external systems and imports no product code.
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import random
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Generic, NoReturn, Protocol, TypeVar

import orjson
import uvicorn
from starlette.requests import Request
from starlette.responses import Response


# ---------------------------------------------------------------------- process
class Served(Protocol):
    """What :func:`run` needs of a sandbox app."""

    asgi: Callable[..., Any]
    ready: bool


def base_parser(kind: str, description: str | None, env_help: str,
                 token_ttl: int = 3600) -> argparse.ArgumentParser:
    """``python -m sandbox.<kind>``'s parser with the options every ERP sandbox has."""
    p = argparse.ArgumentParser(prog=f"python -m sandbox.{kind}", description=description)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True, help="0 = any free port")
    p.add_argument("--env-file", type=Path, help=env_help)
    p.add_argument("--token-ttl", type=int, default=token_ttl,
                   help="access token lifetime, seconds")
    p.add_argument("--seed", type=int, default=0, help="seed of the fault-rate RNG")
    return p


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` through a temp file and ``os.replace``: readers never see a partial
    file.  Readable by the owner only (env files hold credentials)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def write_env_file(path: Path, values: dict[str, str]) -> None:
    """``NAME=value`` lines, atomically (:func:`write_atomic`)."""
    write_atomic(path, "".join(f"{k}={v}\n" for k, v in values.items()))


async def serve(app: Served, host: str, port: int, on_ready: Callable[[int], None]) -> None:
    """Serve ``app`` until shutdown; once the socket accepts connections call
    ``on_ready(actual_port)`` (it writes the env files), then mark the app ready."""
    config = uvicorn.Config(app.asgi, host=host, port=port, access_log=False,
                            log_level="warning", lifespan="off", timeout_keep_alive=30)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            await task  # re-raises the startup failure
            raise SystemExit("uvicorn exited during startup")
        await asyncio.sleep(0.02)
    on_ready(server.servers[0].sockets[0].getsockname()[1])  # the real port when --port 0
    app.ready = True
    await task


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run(app: Served, args: argparse.Namespace, on_ready: Callable[[int], None],
        on_exit: Callable[[], None] | None = None) -> NoReturn:
    """The process's main loop (uvloop when installed): :func:`serve`, then ``on_exit()``
    (after a graceful shutdown, e.g. on SIGTERM) and exit 0."""
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    runner: Callable[..., Any] = asyncio.run
    try:
        import uvloop
        runner = uvloop.run
    except ImportError:
        pass
    if on_exit is not None:
        # uvicorn re-raises SIGTERM once it has shut down; as KeyboardInterrupt it unwinds
        # to on_exit instead of ending the process at once.
        signal.signal(signal.SIGTERM, _interrupt)
    try:
        runner(serve(app, args.host, args.port, on_ready))
    except KeyboardInterrupt:
        pass
    finally:
        if on_exit is not None:
            on_exit()
    sys.exit(0)


def json_response(obj: Any, status: int = 200,
                  headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(obj), status, headers=headers, media_type="application/json")


def health_response(ready: bool, **extra: Any) -> Response:
    """``/_sandbox/health``: 503 until the env file is written, so a client that saw 2xx
    can read it at once."""
    if not ready:
        return json_response({"status": "starting"}, 503)
    return json_response({"status": "ok", **extra})


# ---------------------------------------------------------------------- faults
KINDS = ("429", "500", "503", "timeout", "drop")
STATUS = {"429": 429, "500": 500, "502": 502, "503": 503, "timeout": 504, "drop": 502}

F = TypeVar("F", bound="Fault")


@dataclass
class Fault:
    """A fault rule: fires for the next ``count`` matching requests or with probability
    ``rate``.  ``429``/``503`` send ``Retry-After: retry_after``; ``timeout`` is a 504
    (no sleeping); ``drop`` aborts the TCP connection.  With ``after`` the request runs
    first and only its answer is replaced (a lost response).

    Subclasses add their request filters: fields, :meth:`filters` and :meth:`matches`.
    """

    KINDS: ClassVar[tuple[str, ...]] = KINDS
    kind: str
    count: int | None = None
    rate: float | None = None
    retry_after: float = 1.0
    after: bool = False

    @classmethod
    def from_body(cls: type[F], body: Any) -> F:
        """The rule a ``POST /_sandbox/faults`` body describes (ValueError if invalid)."""
        if not isinstance(body, dict):
            raise ValueError("body must be an object")
        kind = str(body.get("kind", ""))
        if kind not in cls.KINDS:
            raise ValueError(f"kind must be one of {', '.join(cls.KINDS)}")
        count, rate = body.get("count"), body.get("rate")
        if (count is None) == (rate is None):
            raise ValueError("give exactly one of count or rate")
        if count is not None and int(count) < 1:
            raise ValueError("count must be >= 1")
        if rate is not None and not 0.0 <= float(rate) <= 1.0:
            raise ValueError("rate must be within [0, 1]")
        retry_after = body.get("retry_after")
        return cls(kind, None if count is None else int(count),
                   None if rate is None else float(rate),
                   1.0 if retry_after is None else float(retry_after),
                   bool(body.get("after", False)), **cls.filters(body))

    @classmethod
    def filters(cls, body: dict[str, Any]) -> dict[str, Any]:
        """The subclass's filter fields, from a rule body."""
        return {}

    def matches(self, *request: Any) -> bool:
        """Whether the rule applies to a request (described as :meth:`Faults.draw` got it)."""
        return True

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# (request, fault kind, HTTP status, headers such as Retry-After) -> the ERP's error answer
ErrorRenderer = Callable[[Request, str, int, dict[str, str]], Response]


class Faults(Generic[F]):
    """A sandbox's active rules, consulted in the order added; the first that fires wins."""

    def __init__(self, seed: int, render: ErrorRenderer) -> None:
        self.seed, self.render = seed, render
        self.injected = 0
        self.clear()

    def clear(self) -> None:
        """Drop every rule and restart the seeded RNG (``injected`` is left alone)."""
        self.rules: list[F] = []
        self.rng = random.Random(self.seed)

    def add(self, rule: F) -> None:
        self.rules.append(rule)

    def draw(self, *request: Any) -> F | None:
        """The rule that fires for this request, if any; a counted rule uses up one count
        and goes once exhausted.  ``request`` is passed to each rule's ``matches``."""
        for i, rule in enumerate(self.rules):
            if not rule.matches(*request):
                continue
            if rule.count is not None:
                rule.count -= 1
                if rule.count <= 0:
                    del self.rules[i]
            elif self.rng.random() >= (rule.rate or 0.0):
                continue
            self.injected += 1
            return rule
        return None

    async def respond(self, request: Request, fault: Fault) -> Response:
        """The fault's answer: an aborted connection or the sandbox's rendered error."""
        if fault.kind == "drop" and await drop_connection(request):
            return Response(b"", 502)  # discarded: the connection is already gone
        status = STATUS[fault.kind]
        headers = {"Retry-After": seconds(fault.retry_after)} if status in (429, 503) else {}
        return self.render(request, fault.kind, status, headers)


async def drop_connection(request: Request) -> bool:
    """Abort the client's TCP connection without a response (uvicorn's transport);
    False when not served by uvicorn."""
    cycle = getattr(request.receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        return False
    transport.abort()
    await asyncio.sleep(0)
    return True


def seconds(value: float) -> str:
    """A ``Retry-After`` value: ``1`` rather than ``1.0``."""
    return str(int(value)) if float(value).is_integer() else str(value)
