"""Concurrency on PostgreSQL (issue #10 item 1): many API clients, retries, then the books.

``test_concurrent_clients_leave_consistent_books``: 16 clients for 60 s against ``hpf serve`` (a
subprocess on a free loopback port) on a fresh PostgreSQL database, each doing random
contributions (到账), transfers in (外部转入), withdrawals (counter application, accept, review)
and loan prepayments from the HPF balance, on a handful of hot accounts. A request that times out
(first timeouts are as short as 1 ms) is resent with the same idempotency key. Afterwards:
``hpf ledger verify`` passes, no balance is negative, each key posted at most once, one journal
per success, and every tracked balance moved by exactly what the clients saw succeed.

``test_removing_the_balance_lock_is_caught`` is the negative control: the server runs in a thread
of this process with the withdrawal's depositor row lock (``_lock_depositor``) replaced by a plain
read; eight reviews racing for one balance then overdraw it, and the same checks report it.

``HPF_RELIABILITY_CLIENTS`` and ``HPF_RELIABILITY_SECONDS`` change the load (e.g. for a long run).
"""

from __future__ import annotations

import os
import threading
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hpf.auth import service as auth_service
from hpf.db.engine import unit_of_work
from hpf.deposits.models import Depositor
from hpf.withdrawals import service as withdrawal_service
from reliability.harness import (
    Tally,
    World,
    cheap_password_hashing,
    check_books,
    run_clients,
    seed_world,
    served,
    served_in_thread,
    snapshot,
)
from user_factories import make_user
from withdrawal_books import APPLIED, at, make_withdrawal_books

CLIENTS = int(os.environ.get("HPF_RELIABILITY_CLIENTS", "16"))
SECONDS = float(os.environ.get("HPF_RELIABILITY_SECONDS", "60"))
RACERS = 8


@pytest.mark.parametrize("backend", ["postgresql"])
def test_concurrent_clients_leave_consistent_books(
    databases: Any, backend: str, tmp_path: Path
) -> None:
    world = seed_world(databases.new_url(backend), clients=CLIENTS)
    before = snapshot(world)
    tally = Tally()
    with served(world.url, tmp_path / "server.log") as base:
        took = run_clients(base, world, SECONDS, tally)
    violations = check_books(world, before, tally)
    print(
        f"\nreliability: {CLIENTS} clients, {took:.0f} s, {tally.requests} requests, "
        f"{tally.retries} retries ({tally.timeouts} timeouts, {tally.server_errors} 5xx), "
        f"{tally.replays_checked} replays checked; operations {dict(tally.ops)}, "
        f"succeeded {dict(tally.succeeded)}, refused {dict(tally.refused)}; "
        f"violations: {len(violations)}"
    )
    assert not violations, "\n".join(violations[:20])
    # the run exercised what it claims to: every operation, and resends after timeouts
    assert set(tally.succeeded) == {"funds", "transfer", "withdrawal", "prepay"}, tally.succeeded
    assert tally.timeouts > 0 and tally.retries > 0


# --- negative control -----------------------------------------------------------------------------


def _unlocked_depositor(session: Session, depositor_id: int) -> Depositor:
    """The withdrawal's row lock removed: a plain read of the depositor (deliberate bug)."""
    return session.scalars(
        select(Depositor)
        .where(Depositor.id == depositor_id)
        .execution_options(populate_existing=True)
    ).one()


def _seed_race(url: str) -> tuple[World, list[int], list[str]]:
    """One person holding 10,000.00 yuan, RACERS withdrawals of 6,000.00 accepted, one reviewer
    (with an API token) per withdrawal."""
    with cheap_password_hashing(), unit_of_work(url) as s:
        wb = make_withdrawal_books(s)
        person = wb.person(1_000_000)
        wids = []
        for k in range(RACERS):
            outcome = wb.apply(
                person,
                "purchase",
                amount_fen=600_000,
                event_date=date(2024, 9, 1),
                cost_fen=100_000_000,
                contract_ref=f"RACE-{person.depositor_ref}-{k}",
            )
            assert outcome.decision.allowed, outcome.decision.text_en
            withdrawal_service.decide(
                s, outcome.withdrawal_id, actor=wb.clerk, action="accept", now=at(APPLIED, 11)
            )
            wids.append(outcome.withdrawal_id)
        tokens = []
        for _ in range(RACERS):
            reviewer = make_user(s, roles=("reviewer",), whole_center=True)
            tokens.append(
                auth_service.issue_api_token(
                    s, reviewer.user_id, name="race", scopes=frozenset({"reviewer"})
                )
            )
        return World(url, [], [person.depositor_ref]), wids, tokens


def _race(base: str, world: World, wids: list[int], tokens: list[str]) -> Tally:
    """Every review at once (a barrier), each by its own reviewer; the answers into a tally."""
    tally = Tally()
    barrier = threading.Barrier(len(wids))
    code = f"201-{world.depositors[0]}"

    def review(wid: int, token: str) -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as http:
            barrier.wait()
            answer = http.post(
                f"/api/v1/withdrawals/{wid}/actions", json={"action": "review"}, timeout=300
            )
            tally.count(requests=1)
            if answer.status_code == 200 and answer.json()["status"] == "approved":
                with tally.lock:
                    tally.withdrawals[f"race-{wid}"] = wid
                tally.success("withdrawal", f"race-{wid}", {code: answer.json()["amount_fen"]})
            elif answer.status_code == 409 and answer.json()["code"] == "withdrawal_refused":
                tally.refused["withdrawal"] += 1
            else:
                tally.problems.append(f"review {wid}: {answer.status_code} {answer.text[:200]}")

    threads = [
        threading.Thread(target=review, args=(w, t)) for w, t in zip(wids, tokens, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return tally


@pytest.mark.parametrize("backend", ["postgresql"])
def test_removing_the_balance_lock_is_caught(
    databases: Any, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = databases.new_url(backend)
    with served_in_thread(url) as base:
        # with the lock: one review wins, the others are refused, and the checks find nothing
        world, wids, tokens = _seed_race(url)
        before = snapshot(world)
        tally = _race(base, world, wids, tokens)
        assert check_books(world, before, tally) == []
        assert tally.succeeded["withdrawal"] == 1 and tally.refused["withdrawal"] == RACERS - 1

        # without it: several reviews pass the balance check before any commits (up to 3 rounds,
        # each on a new person)
        monkeypatch.setattr(withdrawal_service, "_lock_depositor", _unlocked_depositor)
        found: list[str] = []
        for _round in range(3):
            world, wids, tokens = _seed_race(url)
            before = snapshot(world)
            found = check_books(world, before, _race(base, world, wids, tokens))
            if found:
                break
    print(f"\nnegative control (lock removed): {found}")
    assert any("negative balance" in v for v in found), found
