"""The benchmark cases (基准用例), run in order on one book.

Each case sets up what it needs untimed, warms up (the baseline runs first, and a read-only
operation once before it is timed), times the hpf operation and its raw baseline in the same run
(:mod:`hpf.bench.baselines`) and returns a :class:`~hpf.bench.results.Result` whose ``rows`` are
the rows the operation touched. Writes are timed inside their transaction and up to its end,
without the commit, like the bare statements they are compared with (which are rolled back).

The book grows as the cases run: May is posted untimed (every depositor's first month), June is
the timed remittance, then the 2023 settlement; the loans' overdue batch and repricing; the
read-only verify and reports; the API last, over the finished book. ``only`` skips a case's
timing, never a step a later case needs.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable
from datetime import date
from typing import TypeVar

from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from hpf.bench import baselines as raw
from hpf.bench import setup
from hpf.bench.api import api_cases
from hpf.bench.results import Result, Sizes
from hpf.db.engine import make_engine
from hpf.db.migrate import upgrade
from hpf.deposits import remittance
from hpf.goals.report import evaluate
from hpf.interest.service import settle_year
from hpf.ledger.verify import verify_ledger
from hpf.loans.batches import run_overdue, run_repricing
from hpf.policy.loader import Policy, load_shipped_policy
from hpf.report.annual import annual_report

T = TypeVar("T")
MONTHS = ((date(2023, 5, 1), date(2023, 5, 12)), (date(2023, 6, 1), date(2023, 6, 12)))
YEAR = 2023
OVERDUE_ON = date(2025, 6, 1)
REPRICE_ON = date(2026, 1, 1)
Say = Callable[[str], None]


def timed(run: Callable[[], T]) -> tuple[float, T]:
    """(seconds, value) of one call."""
    started = time.perf_counter()
    value = run()
    return time.perf_counter() - started, value


class Suite:
    """One benchmark run over a new book at ``url`` (an empty database)."""

    def __init__(
        self,
        url: str,
        sizes: Sizes,
        *,
        only: Iterable[str] = (),
        say: Say | None = None,
        policy: Policy | None = None,
    ) -> None:
        self.url = url
        self.sizes = sizes
        self.only = frozenset(only)
        self.say: Say = say or (lambda _m: None)
        self.policy = policy or load_shipped_policy()
        self.engine: Engine = make_engine(url)
        self.results: list[Result] = []

    def wanted(self, name: str) -> bool:
        return not self.only or name in self.only

    def run(self) -> list[Result]:
        """Every case in order; returns the results of the wanted ones."""
        try:
            self.build()
            self.remittance_post()
            self.interest_settle()
            if self.wanted("overdue_scan") or self.wanted("loan_reprice"):
                self.loans()
            for name, case in (
                ("ledger_verify", self.ledger_verify),
                ("annual_report", self.annual_report),
                ("goal_report", self.goal_report),
            ):
                if self.wanted(name):
                    case()
            if self.wanted("api_read") or self.wanted("api_write"):
                self._add(*api_cases(self.engine, self.url, self.sizes, self.wanted, self.say))
        finally:
            self.engine.dispose()
        return self.results

    def _add(self, *results: Result) -> None:
        for r in results:
            self.results.append(r)
            self.say(r.line())

    def analyze(self) -> None:
        """PostgreSQL: planner statistics after bulk writes (untimed), as autovacuum would."""
        if make_url(self.url).get_backend_name() == "postgresql":
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("ANALYZE")

    # --- setup -----------------------------------------------------------------------------

    def build(self) -> None:
        s = self.sizes
        self.say(
            f"setup: {s.depositors:,} depositors, {s.employers:,} employers, {s.loans:,} loans"
        )
        took, _ = timed(lambda: upgrade(self.url))
        took2, _ = timed(lambda: setup.create_book(self.engine, s.depositors, s.employers))
        self.say(f"  migrated in {took:.1f} s, city in {took2:.1f} s")
        self.analyze()

    # --- remittance and settlement -----------------------------------------------------------

    def _post(self, ids: list[int], on: date) -> tuple[float, list[int]]:
        with Session(self.engine) as s, s.begin():
            took, outcomes = timed(lambda: remittance.post_remittances(s, ids, on, setup.ACTOR))
        if len(outcomes) != len(ids) or any(o.replayed for o in outcomes):
            raise RuntimeError("remittance lists were not all posted")
        return took, [o.journal_id for o in outcomes]

    def remittance_post(self) -> None:
        """May untimed (first contributions), June timed; baseline: bare load of its postings into
        ``ledger_posting`` (and, reported beside it, into a plain scratch table)."""
        (may, may_arrive), (june, june_arrive) = MONTHS
        self.say("  posting May (untimed), preparing June")
        self._post(setup.prepare_month(self.engine, may, may_arrive, self.policy), may_arrive)
        ids = setup.prepare_month(self.engine, june, june_arrive, self.policy)
        self.analyze()
        took, journals = self._post(ids, june_arrive)
        self.analyze()
        if not self.wanted("remittance_post"):
            return
        data = raw.posting_rows(self.engine, journals)
        base = raw.median_of(self.sizes.repeats, lambda: raw.load_postings(self.engine, data))
        scratch = raw.median_of(self.sizes.repeats, lambda: raw.load_rows(self.engine, data))
        self._add(
            Result(
                "remittance_post",
                len(data),
                took,
                base,
                "bare COPY/executemany of the same postings into ledger_posting (rolled back)",
                {"journals": len(journals), "scratch_table_seconds": round(scratch, 6)},
            )
        )

    def interest_settle(self) -> None:
        """settle_year(2023); baseline: one bare UPDATE of the same accounts (rolled back)."""
        base = 0.0
        if self.wanted("interest_settle"):
            base = raw.median_of(
                self.sizes.repeats, lambda: raw.bare_update(self.engine, raw.SETTLE_UPDATE)
            )
        with Session(self.engine) as s, s.begin():
            took, result = timed(lambda: settle_year(s, YEAR, self.policy))
        self.analyze()
        if self.wanted("interest_settle"):
            self._add(
                Result(
                    "interest_settle",
                    result.accounts,
                    took,
                    base,
                    "one bare UPDATE of the same accounts' balances (rolled back)",
                    {"journals": len(result.branches)},
                )
            )

    # --- loans --------------------------------------------------------------------------------

    def loans(self) -> None:
        """The daily overdue batch and the January-1 repricing over the loan book."""
        took, loans = timed(lambda: setup.add_loans(self.engine, self.sizes.loans))
        self.say(f"  {loans:,} loans written in {took:.1f} s")
        self.analyze()
        base = raw.median_of(
            self.sizes.repeats,
            lambda: raw.bare_update(self.engine, raw.OVERDUE_UPDATE, {"on": OVERDUE_ON}),
        )
        with Session(self.engine) as s, s.begin():
            took, summary = timed(lambda: run_overdue(s, OVERDUE_ON, policy=self.policy))
        if self.wanted("overdue_scan"):
            self._add(
                Result(
                    "overdue_scan",
                    loans,
                    took,
                    base,
                    "one bare UPDATE marking the same installments overdue (rolled back)",
                    {
                        "overdue_installments": summary.overdue_installments,
                        "loans_overdue": summary.loans_overdue,
                    },
                )
            )
        self.analyze()
        base = raw.median_of(
            self.sizes.repeats, lambda: raw.bare_update(self.engine, raw.REPRICE_UPDATE)
        )
        with Session(self.engine) as s, s.begin():
            took, repriced = timed(lambda: run_repricing(s, REPRICE_ON, policy=self.policy))
        if self.wanted("loan_reprice"):
            self._add(
                Result(
                    "loan_reprice",
                    repriced.loans,
                    took,
                    base,
                    "one bare UPDATE of the same loans' rate (rolled back)",
                    {"installments": repriced.installments},
                )
            )

    # --- read-only: verify and reports ------------------------------------------------------------

    def _read_only(self, run: Callable[[Session], T]) -> tuple[float, T]:
        """The median of ``repeats`` timed runs (each rolled back), after an untimed one when
        there are several (a single run is warmed by its baseline, which reads the same rows)."""

        def once() -> tuple[float, T]:
            with Session(self.engine) as s:
                took, value = timed(lambda: run(s))
                s.rollback()
            return took, value

        if self.sizes.repeats > 1:
            once()
        runs = [once() for _ in range(max(1, self.sizes.repeats))]
        return statistics.median(t for t, _ in runs), runs[-1][1]

    def ledger_verify(self) -> None:
        """verify_ledger; baseline: GROUP BY by journal + ordered journal × posting scan."""
        raw.verify_scan(self.engine)
        base = raw.median_of(self.sizes.repeats, lambda: raw.verify_scan(self.engine))
        took, report = self._read_only(verify_ledger)
        self._add(
            Result(
                "ledger_verify",
                report.postings,
                took,
                base,
                "GROUP BY of all postings by journal + ordered journal x posting scan",
                {"journals": report.journals, "ok": report.ok},
            )
        )

    def _year_rows(self) -> int:
        return raw.count(
            self.engine,
            "SELECT COUNT(*) FROM ledger_posting p JOIN ledger_journal j ON j.id = p.journal_id "
            "JOIN ledger_account a ON a.id = p.account_id WHERE a.subsidiary_kind = 'depositor' "
            "AND j.posting_date >= :s AND j.posting_date <= :e",
            {"s": date(YEAR, 1, 1), "e": date(YEAR, 12, 31)},
        )

    def annual_report(self) -> None:
        """annual_report(2023); baseline: the year's depositor postings grouped by kind."""
        base = raw.median_of(self.sizes.repeats, lambda: raw.year_scan(self.engine, YEAR))
        took, _ = self._read_only(lambda s: annual_report(s, YEAR, self.policy))
        self._add(
            Result(
                "annual_report",
                self._year_rows(),
                took,
                base,
                "the year's depositor postings summed by journal kind (one grouped scan)",
            )
        )

    def goal_report(self) -> None:
        """The 2023 self-evaluation of the shipped goal table; baseline as the annual report."""
        indicators = setup.import_goal_table(self.engine)
        base = raw.median_of(self.sizes.repeats, lambda: raw.year_scan(self.engine, YEAR))
        took, _ = self._read_only(
            lambda s: evaluate(s, YEAR, as_of=date(YEAR, 12, 31), policy=self.policy)
        )
        self._add(
            Result(
                "goal_report",
                self._year_rows(),
                took,
                base,
                "the year's depositor postings summed by journal kind (one grouped scan)",
                {"indicators": indicators},
            )
        )


def run_suite(
    url: str, sizes: Sizes, *, only: Iterable[str] = (), say: Say | None = None
) -> list[Result]:
    """Build a book in the empty database ``url`` and run the wanted cases on it."""
    return Suite(url, sizes, only=only, say=say).run()
