"""The web application as the API benchmark serves it (also ``python -m hpf.bench.server``).

The same ``create_app`` as ``hpf serve``, in one uvicorn worker (uvloop and httptools when
installed), with the access log off (a log line per request would be measured too). Two bare
endpoints are added to the same app, behind the same middleware and session factory, as the
raw baselines of API throughput:

- ``GET /bench/raw/read/{account_id}``: one ledger account row read by primary key;
- ``POST /bench/raw/write``: one row inserted into a scratch table and committed.

They are plain ``def`` endpoints like hpf's, so the ratio measures what hpf adds on top of the
server, thread pool and one database round trip: authentication, authorisation, the business
logic, its queries and writes, and the JSON schema.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Header
from sqlalchemy import text

from hpf.config import Settings
from hpf.web.app import create_app


def bench_app(url: str) -> FastAPI:
    """hpf's app over ``url`` with the two bare baseline endpoints."""
    app = create_app(Settings(database_url=url))
    factory = app.state.session_factory
    # a GET's own unit of work: a read transaction (no write lock on SQLite), as hpf's GETs
    read_factory = app.state.read_session_factory

    @app.get("/bench/raw/read/{account_id}", include_in_schema=False)
    def raw_read(account_id: int) -> dict[str, Any]:
        with read_factory() as session:
            row = session.execute(
                text("SELECT id, code, balance FROM ledger_account WHERE id = :i"),
                {"i": account_id},
            ).one()
            session.rollback()
        return {"id": int(row[0]), "code": str(row[1]), "balance_fen": int(row[2])}

    @app.post("/bench/raw/write", include_in_schema=False)
    def raw_write(key: str = Header(alias="Idempotency-Key")) -> dict[str, str]:
        with factory() as session:
            session.execute(
                text("INSERT INTO bench_raw_write (k, amount) VALUES (:k, 1)"), {"k": key}
            )
            session.commit()
        return {"key": key}

    return app


def serve(url: str, port: int, log: str = os.devnull) -> None:
    """Serve :func:`bench_app` on 127.0.0.1:``port`` until terminated. Its output goes to the
    file ``log`` (stdout and stderr), so that ``hpf bench --json`` prints its JSON alone."""
    import uvicorn

    out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(out, 1)
    os.dup2(out, 2)
    uvicorn.run(bench_app(url), host="127.0.0.1", port=port, log_level="warning", access_log=False)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", default=os.devnull)
    args = parser.parse_args(argv)
    serve(args.url, args.port, args.log)


if __name__ == "__main__":
    main()
