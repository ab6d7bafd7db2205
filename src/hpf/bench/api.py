"""API throughput (接口吞吐): a read and a write endpoint under load, against bare endpoints.

- ``api_read``: ``GET /api/v1/me/statement?year=2023`` — a depositor reading its own statement
  (本人对账单) with an API token; baseline ``GET /bench/raw/read/{id}`` (one account row by key).
- ``api_write``: ``POST /api/v1/employers/{ref}/funds`` — finance recording an employer's funds
  received (到账: one journal, idempotent by ``Idempotency-Key``, a new key per request, the
  employers taken in turn); baseline ``POST /bench/raw/write`` (one row inserted, committed).

Each is ``requests`` requests over ``connections`` keep-alive connections after a warm-up of its
own; ``seconds`` is the wall time of the requests, so the ratio is the ratio of requests/s.
Each caller holds one token per connection (request ``i`` uses token ``i % connections``), as
many callers would: hpf records a token's last use in the request's transaction, so requests
sharing one token would queue on that row for their whole duration.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Engine

from hpf.bench import setup
from hpf.bench.load import LoadResult, Request, run_load, server
from hpf.bench.results import Result, Sizes

READ_PATH = "/api/v1/me/statement?year=2023"
WRITE_PATH = "/api/v1/employers/{ref}/funds"


def _extra(hpf: LoadResult, base: LoadResult, sizes: Sizes, endpoint: str) -> dict[str, Any]:
    return {
        "endpoint": endpoint,
        "connections": sizes.connections,
        "requests_per_second": round(hpf.requests_per_second, 1),
        "p50_ms": round(hpf.p50_ms, 2),
        "p99_ms": round(hpf.p99_ms, 2),
        "failed": hpf.failed,
        "baseline_requests_per_second": round(base.requests_per_second, 1),
        "baseline_p99_ms": round(base.p99_ms, 2),
        "baseline_failed": base.failed,
    }


def _measure(port: int, make: Callable[[int], Request], sizes: Sizes, offset: int) -> LoadResult:
    """Warm up with a tenth of the requests (at least 20), then the timed run."""
    warm = max(20, sizes.requests // 10)
    run_load(port, lambda i: make(offset + i), warm, sizes.connections)
    return run_load(port, lambda i: make(offset + warm + i), sizes.requests, sizes.connections)


def api_cases(
    engine: Engine,
    url: str,
    sizes: Sizes,
    wanted: Callable[[str], bool],
    say: Callable[[str], None],
) -> list[Result]:
    """Serve the app over the book at ``url`` and load the wanted endpoints."""
    callers = setup.api_callers(engine, sizes.employers, sizes.connections)
    readers, writers = callers.depositor_tokens, callers.finance_tokens
    engine.dispose()  # the server process owns the database now
    accounts = callers.account_ids
    refs = callers.employer_refs

    def read(i: int) -> Request:
        token = readers[i % len(readers)]
        return Request("GET", READ_PATH, (("Authorization", f"Bearer {token}"),))

    def raw_read(i: int) -> Request:
        return Request("GET", f"/bench/raw/read/{accounts[i % len(accounts)]}")

    def write(i: int) -> Request:
        body = json.dumps({"amount_fen": 100_000 + i % 1000, "memo": "基准到账"}).encode()
        return Request(
            "POST",
            WRITE_PATH.format(ref=refs[i % len(refs)]),
            (
                ("Authorization", f"Bearer {writers[i % len(writers)]}"),
                ("Idempotency-Key", f"bench-w-{i:010d}"),
                ("Content-Type", "application/json"),
            ),
            body,
        )

    def raw_write(i: int) -> Request:
        return Request(
            "POST",
            "/bench/raw/write",
            (("Idempotency-Key", f"bench-r-{i:010d}"), ("Content-Type", "application/json")),
            b"{}",
        )

    results = []
    say("  starting the server")
    with server(url) as served:
        port = served.port
        say(f"  server on 127.0.0.1:{port}, {sizes.connections} connections")
        if wanted("api_read"):
            base = _measure(port, raw_read, sizes, 0)
            hpf = _measure(port, read, sizes, 0)
            results.append(
                Result(
                    "api_read",
                    hpf.ok,
                    hpf.seconds,
                    base.seconds,
                    "bare endpoint reading one row by key, same server, same requests",
                    _extra(hpf, base, sizes, f"GET {READ_PATH}"),
                )
            )
        if wanted("api_write"):
            base = _measure(port, raw_write, sizes, 0)
            hpf = _measure(port, write, sizes, 0)
            results.append(
                Result(
                    "api_write",
                    hpf.ok,
                    hpf.seconds,
                    base.seconds,
                    "bare endpoint inserting and committing one row, same server, same requests",
                    _extra(hpf, base, sizes, f"POST {WRITE_PATH}"),
                )
            )
    failed = sum(r.extra["failed"] + r.extra["baseline_failed"] for r in results)
    if failed:
        say(f"  {failed} requests failed; the server's log: {served.log}")
    else:
        served.log.unlink(missing_ok=True)
    return results
