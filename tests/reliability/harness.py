"""Reliability harness: a seeded world, a real HTTP server, retrying API clients, the checks.

The world: a branch with a few hot depositors (three of them borrowers with a loan being repaid)
and their employers, plus per client one staff user of roles clerk+finance (applies, posts,
prepays), one clerk (accepts) and one reviewer (reviews), each with an API token. Clients move
money only through the REST API; a timed-out request is resent with the same idempotency key.
:func:`check_books` then proves the ledger and compares it with what the clients saw succeed.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
from argon2 import PasswordHasher
from sqlalchemy import func, select

from hpf.auth import passwords
from hpf.auth import service as auth_service
from hpf.db.engine import unit_of_work
from hpf.deposits.models import Employer
from hpf.ledger.models import Account, ChainHead, Journal
from hpf.ledger.verify import verify_ledger
from hpf.loans import repayment
from hpf.loans.service import loan_account
from hpf.org.models import OrgUnit
from hpf.withdrawals.models import Withdrawal
from loan_books import make_loan_books
from user_factories import make_user

FIRST_DUE = date(2024, 10, 20)
PURCHASE_DOCS = ["身份证", "购房合同或不动产权证书", "购房发票", "本人银行卡"]
PREPAY_BUDGET_FEN = 15_000_000
"""Per loan, prepayments stay below this (half the loan), so none becomes a full prepayment."""


@contextlib.contextmanager
def cheap_password_hashing() -> Iterator[None]:
    """Seeding creates dozens of users: hash their passwords with cheap argon2 parameters."""
    previous = passwords._hasher
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    try:
        yield
    finally:
        passwords._hasher = previous


# --- the world ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Staff:
    """One client's three API tokens (applicant/poster, accepting clerk, reviewer)."""

    doer: str
    accepter: str
    reviewer: str


@dataclass
class World:
    url: str
    employers: list[str]
    depositors: list[str]
    loans: dict[int, str] = field(default_factory=dict)
    """Loan id → the borrower's 个人账号 (the prepayments' payer)."""
    staff: list[Staff] = field(default_factory=list)

    def tracked_codes(self, session: Any) -> list[str]:
        codes = [f"21901-{e}" for e in self.employers] + [f"201-{d}" for d in self.depositors]
        from hpf.loans.models import Loan

        for loan_id in self.loans:
            loan = session.get(Loan, loan_id)
            codes.append(loan_account(loan))
        return codes


def seed_world(url: str, *, clients: int, loans: int = 3, others: int = 3) -> World:
    """Borrowers (contributing, a loan disbursed and its first installment paid) and others."""
    with cheap_password_hashing(), unit_of_work(url) as s:
        lb = make_loan_books(s)
        branch_id = s.scalar(select(OrgUnit.id).where(OrgUnit.code == lb.books.branch_code))
        world = World(url, [], [])
        for _ in range(loans):
            borrower, _spouse = lb.family(spouse=False)
            loan = lb.loan(borrower)
            repayment.pay_from_balance(
                s, loan.id, on=FIRST_DUE, actor=lb.books.actor, policy=lb.books.policy
            )
            world.loans[loan.id] = borrower.depositor_ref
            world.depositors.append(borrower.depositor_ref)
            home = s.get(Employer, borrower.employer_id)
            assert home is not None
            world.employers.append(home.employer_ref)
        employer = lb.employer()
        world.employers.append(employer.employer_ref)
        for _ in range(others):
            person = lb.person(employer)
            lb.fund(person, 1_000_000)
            world.depositors.append(person.depositor_ref)
        for _ in range(clients):
            tokens = []
            for roles in (("clerk", "finance"), ("clerk",), ("reviewer",)):
                user = make_user(s, roles=roles, branch_id=branch_id)
                tokens.append(
                    auth_service.issue_api_token(
                        s, user.user_id, name="reliability", scopes=frozenset(roles)
                    )
                )
            world.staff.append(Staff(*tokens))
    return world


# --- servers ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(
    base: str, timeout: float = 120.0, alive: Callable[[], bool] = lambda: True
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError("the server exited before answering")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/healthz", timeout=5).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"no answer from {base}/healthz within {timeout} s")


def hpf_command() -> list[str]:
    """The real ``hpf`` command of this virtual environment."""
    exe = Path(sys.executable).with_name("hpf")
    return [str(exe)] if exe.exists() else [shutil.which("hpf") or "hpf"]


@contextlib.contextmanager
def served(url: str, log: Path) -> Iterator[str]:
    """``hpf serve`` in a subprocess on a free loopback port; yields the base URL."""
    port = free_port()
    env = {**os.environ, "HPF_DATABASE_URL": url}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*hpf_command(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(base, alive=lambda: proc.poll() is None)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextlib.contextmanager
def served_in_thread(url: str) -> Iterator[str]:
    """The app under uvicorn in a thread of this process (so a test may monkeypatch it)."""
    import uvicorn

    from hpf.config import Settings
    from hpf.web.app import create_app

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(Settings(database_url=url)),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, alive=thread.is_alive)
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=30)


# --- clients ------------------------------------------------------------------------------------


class Unresolved(AssertionError):
    """A request got no definitive answer after every retry."""


@dataclass
class Tally:
    """What the clients saw, shared by all client threads (guarded by ``lock``)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: int = 0
    retries: int = 0
    timeouts: int = 0
    server_errors: int = 0
    replays_checked: int = 0
    ops: Counter[str] = field(default_factory=Counter)
    succeeded: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    deltas: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    """Ledger code → change of its stored (debit-positive) balance the successes imply."""
    keys: list[tuple[str, str]] = field(default_factory=list)
    """(operation, idempotency key) of every success."""
    withdrawals: dict[str, int] = field(default_factory=dict)
    """Idempotency key → withdrawal id."""
    prepaid: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    problems: list[str] = field(default_factory=list)

    def count(self, **kwargs: int) -> None:
        with self.lock:
            for name, n in kwargs.items():
                setattr(self, name, getattr(self, name) + n)

    def success(self, op: str, key: str, deltas: dict[str, int]) -> None:
        with self.lock:
            self.succeeded[op] += 1
            self.keys.append((op, key))
            for code, delta in deltas.items():
                self.deltas[code] += delta

    def reserve_prepayment(self, loan_id: int, amount: int) -> bool:
        with self.lock:
            if self.prepaid[loan_id] + amount > PREPAY_BUDGET_FEN:
                return False
            self.prepaid[loan_id] += amount
            return True


class Client:
    """One API client thread: random operations, each retried with its key until answered."""

    def __init__(self, base: str, staff: Staff, world: World, tally: Tally, seed: int) -> None:
        self.world, self.tally = world, tally
        self.rng = random.Random(seed)
        self.seed = seed
        self.n = 0
        self.http = {
            role: httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"})
            for role, token in (
                ("doer", staff.doer),
                ("accepter", staff.accepter),
                ("reviewer", staff.reviewer),
            )
        }

    def close(self) -> None:
        for http in self.http.values():
            http.close()

    def run(self, until: float) -> None:
        ops = (self.funds, self.transfer_in, self.withdrawal, self.prepayment)
        try:
            while time.monotonic() < until:
                self.rng.choice(ops)()
        except Exception as exc:  # reported by the test, with the client's seed
            self.tally.problems.append(f"client {self.seed}: {type(exc).__name__}: {exc}")

    # --- transport

    def key(self, op: str) -> str:
        self.n += 1
        return f"rel-{self.seed}-{op}-{self.n}-{self.rng.getrandbits(32):08x}"

    def send(
        self, role: str, method: str, path: str, *, body: Any = None, key: str | None = None
    ) -> httpx.Response:
        """Resend until a definitive answer (2xx-4xx); a timeout or 5xx is retried, same key.

        The first attempt often has a short timeout, so that some requests time out while the
        server still works on them and the resend races the original.
        """
        headers = {"Idempotency-Key": key} if key else {}
        timeout = self.rng.choice((0.001, 0.05, 0.2, 0.5, 2.0, 5.0))
        for attempt in range(60):
            self.tally.count(requests=1, retries=1 if attempt else 0)
            try:
                response = self.http[role].request(
                    method, path, json=body, headers=headers, timeout=timeout
                )
            except httpx.TimeoutException:
                self.tally.count(timeouts=1)
            except httpx.TransportError:
                self.tally.count(server_errors=1)
            else:
                if response.status_code < 500:
                    return response
                self.tally.count(server_errors=1)
            # back off a little (the original may still be running), then resend the same key
            time.sleep(self.rng.uniform(0, min(timeout, 1.0)))
            timeout = min(timeout * 2 + 0.5, 60.0)
        raise Unresolved(f"{method} {path} (key {key}) unanswered after 60 attempts")

    def expect(self, response: httpx.Response, *codes: int) -> dict[str, Any]:
        if response.status_code not in codes:
            raise AssertionError(
                f"{response.request.method} {response.request.url.path} -> "
                f"{response.status_code}: {response.text[:300]}"
            )
        data: dict[str, Any] = response.json()
        return data

    def maybe_replay(
        self, role: str, path: str, body: Any, key: str, check: Callable[[dict[str, Any]], bool]
    ) -> None:
        """Now and then resend a success: it must answer the first outcome, writing nothing."""
        if self.rng.random() < 0.1:
            data = self.expect(self.send(role, "POST", path, body=body, key=key), 200, 201)
            if not (data.get("replayed") and check(data)):
                self.tally.problems.append(f"replay of {key} did not answer the first outcome")
            self.tally.count(replays_checked=1)

    # --- operations

    def funds(self) -> None:
        """Contribution: the employer's remittance lands in 单位暂收款 (到账)."""
        employer = self.rng.choice(self.world.employers)
        amount = self.rng.randint(1, 50_000) * 100
        key, path = self.key("funds"), f"/api/v1/employers/{employer}/funds"
        body = {"amount_fen": amount, "memo": "汇缴到账"}
        self.tally.ops["funds"] += 1
        data = self.expect(self.send("doer", "POST", path, body=body, key=key), 200)
        self.tally.success("funds", key, {f"21901-{employer}": -amount})
        self.maybe_replay("doer", path, body, key, lambda d: d["journal_id"] == data["journal_id"])

    def transfer_in(self) -> None:
        """Transfer: funds from another city's center credited to a depositor (外部转入)."""
        person = self.rng.choice(self.world.depositors)
        amount = self.rng.randint(1, 30_000) * 100
        key, path = self.key("transfer"), f"/api/v1/depositors/{person}/transfer-in"
        body = {"amount_fen": amount, "from_city": "济南"}
        self.tally.ops["transfer"] += 1
        data = self.expect(self.send("doer", "POST", path, body=body, key=key), 200)
        self.tally.success("transfer", key, {f"201-{person}": -amount})
        self.maybe_replay("doer", path, body, key, lambda d: d["journal_id"] == data["journal_id"])

    def withdrawal(self) -> None:
        """Withdrawal: counter application (key), then accept and review; the review posts."""
        person = self.rng.choice(self.world.depositors)
        amount = self.rng.randint(1, 40_000) * 100
        key = self.key("withdrawal")
        body = {
            "depositor_ref": person,
            "type": "purchase",
            "documents": PURCHASE_DOCS,
            "amount_fen": amount,
            "event_date": (date.today() - timedelta(days=30)).isoformat(),
            "cost_fen": 100_000_000,
            "contract_ref": f"HT-{key}"[:60],
        }
        self.tally.ops["withdrawal"] += 1
        answer = self.send("doer", "POST", "/api/v1/withdrawals", body=body, key=key)
        if answer.status_code == 409 and answer.json().get("code") == "already_in_progress":
            self.tally.refused["withdrawal"] += 1  # this clerk's earlier one for the person
            return
        data = self.expect(answer, 201)
        wid = int(data["id"])
        with self.tally.lock:
            self.tally.withdrawals[key] = wid
        if data["status"] == "refused":
            self.tally.refused["withdrawal"] += 1
            return
        rejecting = False
        for _ in range(20):
            row = self.expect(self.send("doer", "GET", f"/api/v1/withdrawals/{wid}"), 200)
            if row["status"] in ("approved", "in_batch", "paid"):
                self.tally.success("withdrawal", key, {f"201-{person}": row["amount_fen"]})
                return
            if rejecting and row["status"] == "rejected":
                self.tally.refused["withdrawal"] += 1
                return
            if row["status"] != "in_review":
                raise AssertionError(f"withdrawal {wid} went {row['status']}")
            role, action = (
                ("accepter", "accept") if row["awaiting"] == "accept" else ("reviewer", "review")
            )
            answer = self.send(
                role, "POST", f"/api/v1/withdrawals/{wid}/actions", body={"action": action}
            )
            if answer.status_code == 409 and answer.json().get("code") == "withdrawal_refused":
                # the balance no longer covers it: 不予受理, which frees the clerk's slot
                rejected = self.send(
                    "reviewer",
                    "POST",
                    f"/api/v1/withdrawals/{wid}/actions",
                    body={"action": "reject", "comment": "余额不足 balance too low"},
                )
                if rejected.status_code == 200:
                    self.tally.refused["withdrawal"] += 1
                    return
                # Either a timed-out attempt of the reject took it (the state says rejected),
                # or an earlier attempt of the review, timed out here but still queued on the
                # server, ran after funds arrived and approved it: the state says which.
                rejecting = True
                continue
            # 200, or 409 because a timed-out attempt took the step: read the state again
        raise AssertionError(f"withdrawal {wid} never left review")

    def prepayment(self) -> None:
        """Loan repayment: a partial prepayment paid from the borrower's HPF balance."""
        loan_id = self.rng.choice(list(self.world.loans))
        payer = self.world.loans[loan_id]
        amount = self.rng.randint(1, 2_000) * 100
        if not self.tally.reserve_prepayment(loan_id, amount):
            return
        key, path = self.key("prepay"), f"/api/v1/loans/{loan_id}/prepayments"
        body = {"option": "shorter_term", "amount_fen": amount, "source": "hpf_balance"}
        self.tally.ops["prepay"] += 1
        response = self.send("doer", "POST", path, body=body, key=key)
        if response.status_code == 409 or response.status_code == 400:
            self.tally.refused["prepay"] += 1  # the balance does not cover it
            return
        data = self.expect(response, 201)
        loan_code = f"121-{data['loan_ref']}"
        self.tally.success("prepay", key, {f"201-{payer}": amount, loan_code: -amount})


def run_clients(base: str, world: World, seconds: float, tally: Tally) -> float:
    """Every client of ``world`` in its own thread for ``seconds``; returns the time taken."""
    start = time.monotonic()
    until = start + seconds
    clients = [Client(base, staff, world, tally, seed) for seed, staff in enumerate(world.staff)]
    threads = [threading.Thread(target=c.run, args=(until,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in clients:
        c.close()
    return time.monotonic() - start


# --- the checks ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    balances: dict[str, int]
    last_seq: int


def snapshot(world: World) -> Snapshot:
    with unit_of_work(world.url) as s:
        codes = world.tracked_codes(s)
        rows = s.execute(select(Account.code, Account.balance).where(Account.code.in_(codes)))
        seq = s.scalar(select(ChainHead.last_seq))
        return Snapshot({code: int(balance) for code, balance in rows}, int(seq or 0))


def check_books(world: World, before: Snapshot, tally: Tally) -> list[str]:
    """Every violation found: ledger verify, negative balances, keys posted twice, the sums."""
    violations = list(tally.problems)
    after = snapshot(world)
    with unit_of_work(world.url) as s:
        report = verify_ledger(s)
        if not report.ok:
            violations.append(f"ledger verify failed: {report}")
        for code, balance in after.balances.items():
            liability = code.startswith(("201-", "21901-"))
            if (liability and balance > 0) or (not liability and balance < 0):
                violations.append(f"negative balance on {code}: {balance} fen (debit-positive)")
        posted = s.scalar(
            select(func.count()).select_from(Journal).where(Journal.id > before.last_seq)
        )
        if posted != len(tally.keys):
            violations.append(
                f"{posted} journals posted during the run for {len(tally.keys)} successes"
            )
        for op, key in tally.keys:
            if op == "withdrawal":
                wid = tally.withdrawals[key]
                n = s.scalar(
                    select(func.count())
                    .select_from(Journal)
                    .where(Journal.idempotency_key.like(f"withdrawal:{wid}:%"))
                )
            else:
                n = s.scalar(
                    select(func.count())
                    .select_from(Journal)
                    .where(Journal.idempotency_key.like(f"%{key}%"))
                )
            if n != 1:
                violations.append(f"key {key} ({op}) posted {n} times")
        keyed = Counter(
            k for (k,) in s.execute(select(Withdrawal.idempotency_key)) if k and "rel-" in k
        )
        violations += [f"withdrawal key {k} applied {n} times" for k, n in keyed.items() if n > 1]
    net = 0
    for code in after.balances:
        moved = after.balances[code] - before.balances[code]
        net += moved
        if moved != tally.deltas.get(code, 0):
            violations.append(
                f"{code}: balance moved {moved} fen, the clients' successes say "
                f"{tally.deltas.get(code, 0)}"
            )
    if net != sum(tally.deltas.values()):
        violations.append(
            f"sum of balances moved {net}, successes net {sum(tally.deltas.values())}"
        )
    return violations
