"""What one benchmark case reports, and the sizes of a run.

A result carries the time of the hpf operation and of its raw baseline, both measured in the
same run on the same database; ``ratio`` = seconds / baseline_seconds is the figure to compare
between machines. ``as_json`` is the contract of ``hpf bench --json`` (docs/benchmarks.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

REQUIRED = (
    "remittance_post",
    "interest_settle",
    "overdue_scan",
    "loan_reprice",
    "ledger_verify",
    "annual_report",
)
"""Names every run reports (``hpf bench --quick --json``)."""
CASES = (*REQUIRED, "goal_report", "api_read", "api_write")
"""Every case, in the order they run."""
_PLACES = 6  # seconds are reported to the microsecond


@dataclass(frozen=True)
class Result:
    """One case: ``rows`` touched by the operation in ``seconds``; the raw baseline's time."""

    name: str
    rows: int
    seconds: float
    baseline_seconds: float
    baseline: str
    """What the raw baseline did, in a few words."""
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The JSON record; ``ratio`` is computed from the rounded times, so it checks."""
        seconds = max(round(self.seconds, _PLACES), 10**-_PLACES)
        base = max(round(self.baseline_seconds, _PLACES), 10**-_PLACES)
        return {
            "name": self.name,
            "rows": self.rows,
            "seconds": seconds,
            "baseline_seconds": base,
            "ratio": round(seconds / base, 4),
            "rows_per_second": round(self.rows / seconds, 3),
            "baseline": self.baseline,
            **self.extra,
        }

    def line(self) -> str:
        """One human-readable line."""
        j = self.as_json()
        return (
            f"{self.name:<16} {self.rows:>10,} rows {j['seconds']:>9.3f} s "
            f"{j['rows_per_second']:>12,.0f} rows/s  baseline {j['baseline_seconds']:>8.3f} s  "
            f"ratio {j['ratio']:>7.1f}x"
        )


@dataclass(frozen=True)
class Sizes:
    """How big a run is. Scale 1.0: 1,000,000 depositors in 10,000 employers, 100,000 loans,
    20,000 requests per API measurement."""

    depositors: int
    employers: int
    loans: int
    requests: int
    connections: int = 16
    repeats: int = 3
    """Read-only operations and baselines: the median of this many timed runs."""

    @classmethod
    def for_scale(cls, scale: float) -> Sizes:
        if scale <= 0:
            raise ValueError("scale must be positive")
        depositors = max(100, round(1_000_000 * scale))
        return cls(
            depositors=depositors,
            employers=max(1, depositors // 100),
            loans=max(10, round(100_000 * scale)),
            requests=max(200, round(20_000 * scale)),
        )

    @classmethod
    def quick(cls) -> Sizes:
        """``--quick``: under a minute on SQLite on a shared 2-core machine (one timed run of
        each read-only case, warmed by its baseline)."""
        return cls(
            depositors=10_000, employers=100, loans=1_000, requests=150, connections=8, repeats=1
        )

    @classmethod
    def tiny(cls, depositors: int) -> Sizes:
        """A run sized by its depositors (tests): few loans and requests."""
        return cls(
            depositors=depositors,
            employers=max(1, depositors // 100),
            loans=max(10, depositors // 10),
            requests=60,
            connections=2,
            repeats=1,
        )
