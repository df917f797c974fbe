"""Sandbox fixtures: one sandbox process per session, cleaned between tests.

Tests create their own objects (customers, payment intents ...) and assert on
those, so sharing one process is safe; knobs a test turns (faults, rate
limit, webhook behaviour) are restored after every test.  Tests that need
pristine history use ``fresh_sandbox``.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest
import stripe

from tests.sandbox.fixtures import Sandbox, start_stripe_sandbox

DEFAULT_WEBHOOKS = {"webhook_duplicate_rate": 0.0, "webhook_shuffle": False,
                    "webhook_delay_ms": 0, "webhook_retry_base_ms": 50,
                    "webhook_retry_factor": 2.0, "webhook_max_attempts": 8}


@pytest.fixture(scope="session")
def stripe_sandbox_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    sb = start_stripe_sandbox(tmp_path_factory.mktemp("stripe-sandbox"), history_days=30)
    yield sb
    sb.stop()


@pytest.fixture
def sandbox(stripe_sandbox_session: Sandbox) -> Iterator[Sandbox]:
    """The shared sandbox with default knobs, restored after the test."""
    sb = stripe_sandbox_session
    sb.clear_faults()
    sb.configure(rate_limit=0, live_rate=0, **DEFAULT_WEBHOOKS)
    yield sb
    sb.clear_faults()
    sb.configure(rate_limit=0, live_rate=0, **DEFAULT_WEBHOOKS)


@pytest.fixture
def fresh_sandbox(tmp_path) -> Iterator[Sandbox]:
    """A private sandbox process for tests that change global state."""
    sb = start_stripe_sandbox(tmp_path, history_days=7)
    yield sb
    sb.stop()


@pytest.fixture
def client(sandbox: Sandbox) -> stripe.StripeClient:
    """An official SDK client pointed at the sandbox (as the product configures it)."""
    return stripe.StripeClient(sandbox.api_key, base_addresses={"api": sandbox.base_url},
                               max_network_retries=2)
