"""Benchmark: API throughput of a read and a write endpoint under load, on loopback.

A thin front for ``hpf bench --only api_read --only api_write`` (src/hpf/bench/api.py) with the
load as arguments. The book (a city of N depositors, two months posted, the 2023 settlement) is
built untimed; the app is served by uvicorn (one worker) on a free loopback port and loaded by
a lean asyncio HTTP/1.1 client over C keep-alive connections:

- read: ``GET /api/v1/me/statement?year=2023`` (a depositor's own statement, API token);
  baseline: a bare endpoint in the same server reading one ledger account row by key;
- write: ``POST /api/v1/employers/{ref}/funds`` (finance records funds received: one journal,
  a new ``Idempotency-Key`` per request); baseline: a bare endpoint inserting one row.

Prints requests/s and p99 for each and its baseline, and the ratio of their times.

    python benchmarks/api_throughput.py --depositors 100000 --requests 5000            # SQLite
    python benchmarks/api_throughput.py --depositors 100000 --requests 5000 --pg       # scratch PG
"""

from __future__ import annotations

import argparse
import json

from hpf.bench.cases import run_suite
from hpf.bench.commands import scratch_database
from hpf.bench.results import Sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depositors", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=5_000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--url", help="an empty database (default: a new SQLite file)")
    parser.add_argument("--pg", action="store_true", help="a scratch PostgreSQL database")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    sizes = Sizes(
        depositors=args.depositors,
        employers=max(1, args.depositors // 100),
        loans=0,
        requests=args.requests,
        connections=args.connections,
    )
    with scratch_database(args.url, args.pg) as url:
        results = run_suite(
            url, sizes, only=("api_read", "api_write"), say=None if args.json else print
        )
    if args.json:
        print(json.dumps({"results": [r.as_json() for r in results]}, ensure_ascii=False))
        return
    for r in results:
        j = r.as_json()
        print(
            f"{r.name}: {j['requests_per_second']:,.0f} req/s, p99 {j['p99_ms']:.1f} ms "
            f"({j['failed']} failed); baseline {j['baseline_requests_per_second']:,.0f} req/s, "
            f"p99 {j['baseline_p99_ms']:.1f} ms; ratio {j['ratio']:.1f}x"
        )


if __name__ == "__main__":
    main()
