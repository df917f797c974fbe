"""Start a real Stripe sandbox process for tests (importable by other test packages).

    from tests.sandbox.fixtures import start_stripe_sandbox
    sb = start_stripe_sandbox(tmp_path, history_days=30)
    client = stripe.StripeClient(sb.api_key, base_addresses={"api": sb.base_url})
    ...
    sb.stop()

The process is ``python -m sandbox.stripe`` on a free port; readiness is its
health endpoint (which answers 200 only after the env file is written), and
the API key and base URL come from that env file, exactly as the product
reads them.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from tests.support.processes import Proc, free_port, python_module, read_env_file, spawn


@dataclass
class Sandbox:
    base_url: str
    api_key: str
    proc: Proc
    env: dict[str, str] = field(default_factory=dict)

    def control(self, method: str, path: str, json: Any = None, **params: Any) -> Any:
        """Call ``/_sandbox/<path>`` and return the decoded JSON (raises on HTTP errors)."""
        resp = httpx.request(method, f"{self.base_url}/_sandbox/{path.lstrip('/')}",
                             json=json, params=params or None, timeout=120)
        resp.raise_for_status()
        return resp.json()

    def stats(self) -> dict[str, Any]:
        return self.control("GET", "stats")

    def reset_stats(self) -> None:
        self.control("DELETE", "stats")

    def advance(self, seconds: int) -> dict[str, Any]:
        return self.control("POST", "clock/advance", {"seconds": seconds})

    def fault(self, **rule: Any) -> None:
        self.control("POST", "faults", rule)

    def clear_faults(self) -> None:
        self.control("DELETE", "faults")

    def configure(self, **values: Any) -> dict[str, Any]:
        return self.control("POST", "config", values)

    def flush_webhooks(self, timeout: float = 30) -> None:
        """Block until every pending webhook delivery (and retry) has finished."""
        result = self.control("POST", "webhooks/flush", {"timeout": timeout})
        assert result["idle"], result

    def stop(self) -> None:
        self.proc.stop()


def start_stripe_sandbox(tmp_path: Path, *, history_days: int = 30, scale: str = "small",
                         seed: int = 1, rate_limit: float = 0, extra_args: tuple[str, ...] = (),
                         timeout: float = 180) -> Sandbox:
    """Start a sandbox (``rate_limit=0`` disables rate limiting) and wait until it serves."""
    port = free_port()
    env_file = tmp_path / f"stripe-{port}.env"
    args = python_module("sandbox.stripe", "--port", str(port),
                         "--history-days", str(history_days), "--scale", str(scale),
                         "--seed", str(seed), "--rate-limit", str(rate_limit),
                         "--env-file", str(env_file), *extra_args)
    proc = spawn(args, tmp_path / f"stripe-{port}.log",
                 health_url=f"http://127.0.0.1:{port}/_sandbox/health", timeout=timeout)
    env = read_env_file(env_file)
    return Sandbox(env["STRIPE_API_BASE"], env["STRIPE_API_KEY"], proc, env)


class Receiver:
    """A tiny local webhook receiver recording every delivery.

    ``fail_next`` makes the next N deliveries answer 500 (to exercise
    retries).  Tests synchronise with ``Sandbox.flush_webhooks()``, then read
    ``deliveries`` (raw body, headers) in arrival order.
    """

    def __init__(self) -> None:
        self.deliveries: list[tuple[bytes, dict[str, str]]] = []
        self.fail_next = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    failing = receiver.fail_next > 0
                    receiver.fail_next -= failing
                    receiver.deliveries.append((body, {k.lower(): v for k, v in
                                                       self.headers.items()}))
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}/webhooks/stripe"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(body) for body, _ in self.deliveries]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
