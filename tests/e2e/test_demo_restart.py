"""`make demo` restarted and supervised: the Stripe sandbox never reissues an id, the ERP
keeps what it held and receives new payments; SIGTERM stops every process the demo started;
a sandbox that dies is reported by name while the others keep running.

One demo (its data directory kept for the module) is started twice: a payment before and
one after the restart, both read back through the Stripe API and the ERP sandbox's API."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import stripe

from connectors.erp import make_adapter
from domain.erp import DocKind
from tests.support.processes import REPO, free_port, read_env_file

pytestmark = pytest.mark.e2e

TIMEOUT = 300  # generous overall bound for each wait on a loaded machine


def poll(what: str, check, timeout: float = TIMEOUT):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)  # polling


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


@dataclass
class Demo:
    """One `scripts/demo.py` (supervising, not --exit-when-ready) on fixed ports."""
    data: Path
    ports: dict[str, int]
    proc: subprocess.Popen | None = None
    out: Path | None = None
    pgids: list[int] = field(default_factory=list)  # stripe, erp, webhooks, dagster, workbench

    def start(self) -> None:
        self.out = self.data / f"demo-{time.monotonic_ns()}.out"
        p = self.ports
        self.proc = subprocess.Popen(
            [sys.executable, "scripts/demo.py", "--port", str(p["ui"]), "--stripe-port",
             str(p["stripe"]), "--erp", "tims", "--erp-port", str(p["erp"]), "--webhook-port",
             str(p["hooks"]), "--workbench-port", str(p["workbench"]), "--history-days", "1", "--scale", "tiny", "--data-dir",
             str(self.data)],
            cwd=REPO, stdout=open(self.out, "wb"), stderr=subprocess.STDOUT,
            start_new_session=True,
            env={k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "ERP_"))})

        def ready() -> str | None:
            assert self.proc.poll() is None, self.output()[-3000:]
            return next((line for line in self.output().splitlines()
                         if line.startswith("PGIDS=")), None)
        self.pgids = [int(x) for x in poll("the demo to be ready", ready)[6:].split(",")]

    def output(self) -> str:
        return self.out.read_text(errors="replace")

    def stripe(self) -> stripe.StripeClient:
        env = read_env_file(self.data / "stripe.env")
        return stripe.StripeClient(env["STRIPE_API_KEY"],
                                   base_addresses={"api": env["STRIPE_API_BASE"]})

    def erp(self):
        return make_adapter(read_env_file(self.data / "erp.env"))

    def kill(self) -> None:
        for pgid in [*self.pgids, *([self.proc.pid] if self.proc else [])]:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    d = Demo(tmp_path_factory.mktemp("demo"), {k: free_port() for k in
                                               ("ui", "stripe", "erp", "hooks", "workbench")})
    try:
        yield d
    finally:
        d.kill()


def pay(client: stripe.StripeClient, name: str) -> str:
    """A payment made now; returns its charge id."""
    cus = client.v1.customers.create(params={"email": f"{name}@example.test", "name": name})
    pi = client.v1.payment_intents.create(params={
        "amount": 4200, "currency": "usd", "customer": cus.id, "payment_method": "pm_card_visa",
        "confirm": True, "metadata": {"sku": "SKU-01001"}})
    return pi.latest_charge


def stripe_ids(client: stripe.StripeClient) -> tuple[set[str], set[str]]:
    """(event ids, object ids) the Stripe API lists."""
    events = {e.id for e in client.v1.events.list(params={"limit": 100}).auto_paging_iter()}
    objects: set[str] = set()
    for service in (client.v1.customers, client.v1.charges, client.v1.payment_intents,
                    client.v1.balance_transactions):
        objects |= {o.id for o in service.list(params={"limit": 100}).auto_paging_iter()}
    return events, objects


def in_erp(demo: Demo, charge: str) -> bool:
    return charge in demo.erp().find(DocKind.PAYMENT, [charge])


def test_restart_issues_no_id_twice_and_loses_no_payment(demo: Demo) -> None:
    demo.start()
    first = pay(demo.stripe(), "before")
    poll("the first payment in the ERP", lambda: in_erp(demo, first))
    events_before, objects_before = stripe_ids(demo.stripe())
    assert first in objects_before

    demo.proc.send_signal(signal.SIGTERM)
    assert demo.proc.wait(timeout=TIMEOUT) is not None
    alive = [g for g in demo.pgids if group_alive(g)]
    assert not alive, f"process groups still running after SIGTERM: {alive}"

    demo.start()
    client = demo.stripe()
    second = pay(client, "after")
    events_after, objects_after = stripe_ids(client)
    charge = client.v1.charges.retrieve(second)
    mine = {second, charge.customer, charge.payment_intent, charge.balance_transaction}
    assert mine <= objects_after - objects_before  # never an id of the previous life
    assert objects_before <= objects_after and events_before <= events_after  # nothing lost
    new_events = {e.id for e in client.v1.events.list(params={"limit": 100}).auto_paging_iter()
                  if e.data.object.to_dict().get("id") in mine}
    assert new_events and not new_events & events_before
    poll("the payment made after the restart in the ERP", lambda: in_erp(demo, second))
    assert in_erp(demo, first)  # the ERP still holds what it held before


def test_a_dead_sandbox_is_reported_by_name_and_the_rest_keep_running(demo: Demo) -> None:
    if demo.proc is None or demo.proc.poll() is not None:
        demo.start()
    stripe_pgid, erp_pgid, hooks_pgid, dagster_pgid, *_workbench = demo.pgids
    os.killpg(erp_pgid, signal.SIGKILL)
    poll("the demo to report the ERP sandbox by name",
         lambda: "tims ERP sandbox exited" in demo.output())
    assert demo.proc.poll() is None, demo.output()[-3000:]
    assert httpx.get(f"http://127.0.0.1:{demo.ports['stripe']}/_sandbox/health").is_success
    assert httpx.get(f"http://127.0.0.1:{demo.ports['hooks']}/health").is_success
    assert httpx.get(f"http://127.0.0.1:{demo.ports['ui']}/server_info").is_success
    assert all(group_alive(g) for g in (stripe_pgid, hooks_pgid, dagster_pgid))

    demo.proc.send_signal(signal.SIGTERM)
    demo.proc.wait(timeout=TIMEOUT)
    alive = [g for g in demo.pgids if group_alive(g)]
    assert not alive, f"process groups still running after SIGTERM: {alive}"
