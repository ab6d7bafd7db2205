"""A small load generator (压测) for API throughput on loopback.

The web application runs in its own process (:func:`hpf.bench.server.serve`: uvicorn, one
worker, on a free loopback port); the client is a minimal asyncio HTTP/1.1 client holding
``connections`` keep-alive connections, each sending its next request as soon as the previous
answer is read (a closed loop, like wrk). It is deliberately lean — no HTTP library — so that on
a small machine the client takes as little CPU from the server as possible. It reports
requests/s and latency percentiles (p50, p99) of the requests, and counts every non-2xx answer.
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing
import os
import socket
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Request:
    """One HTTP request; ``headers`` beside Host, Content-Length and keep-alive."""

    method: str
    path: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    def encode(self, host: str) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {host}"]
        lines += [f"{k}: {v}" for k, v in self.headers]
        if self.body or self.method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


@dataclass(frozen=True)
class LoadResult:
    """What one load run measured."""

    requests: int
    ok: int
    statuses: dict[int, int]
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def failed(self) -> int:
        return self.requests - self.ok


def percentile(values: list[float], pct: float) -> float:
    """The nearest-rank percentile of ``values`` (0 for none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, payload: bytes
) -> tuple[int, bool]:
    """Send one request and read its whole answer; returns (status, server closes)."""
    writer.write(payload)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length, chunked, close = 0, False, False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        key = name.strip().lower()
        if key == b"content-length":
            length = int(value)
        elif key == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
        elif key == b"connection" and value.strip().lower() == b"close":
            close = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status, close


async def _load(
    port: int, make: Callable[[int], Request], total: int, connections: int
) -> LoadResult:
    host = f"{HOST}:{port}"
    todo: Iterator[int] = iter(range(total))  # shared: each worker takes the next index
    latencies: list[float] = []
    statuses: Counter[int] = Counter()

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(HOST, port)
        for i in todo:
            payload = make(i).encode(host)
            started = time.perf_counter()
            try:
                status, close = await _exchange(reader, writer, payload)
            except (ConnectionError, asyncio.IncompleteReadError):
                status, close = 0, True
            latencies.append(time.perf_counter() - started)
            statuses[status] += 1
            if close:
                writer.close()
                reader, writer = await asyncio.open_connection(HOST, port)
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(max(1, min(connections, total)))))
    elapsed = time.perf_counter() - started
    ok = sum(n for s, n in statuses.items() if 200 <= s < 300)
    return LoadResult(
        requests=total,
        ok=ok,
        statuses=dict(sorted(statuses.items())),
        seconds=elapsed,
        p50_ms=percentile(latencies, 50) * 1000,
        p99_ms=percentile(latencies, 99) * 1000,
    )


def run_load(port: int, make: Callable[[int], Request], total: int, connections: int) -> LoadResult:
    """Send ``total`` requests ``make(0) … make(total - 1)`` over ``connections`` connections."""
    return asyncio.run(_load(port, make, total, connections))


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _ready(port: int) -> bool:
    try:
        result = run_load(port, lambda _i: Request("GET", "/healthz"), 1, 1)
    except OSError:
        return False
    return result.ok == 1


@dataclass(frozen=True)
class Served:
    """A running bench server: its port, and the file its output goes to."""

    port: int
    log: Path


@contextmanager
def server(url: str, timeout: float = 90.0) -> Iterator[Served]:
    """Run the web application over ``url`` in a child process until the block ends.

    The child is forked where the platform allows, so it shares the modules this process has
    already imported (the CLI has loaded most of hpf) instead of importing them again. Its
    output (errors with their tracebacks) goes to a log file in the temporary directory.
    """
    from hpf.bench.server import serve

    port = free_port()
    fd, name = tempfile.mkstemp(prefix="hpf-bench-server-", suffix=".log")
    os.close(fd)
    log = Path(name)
    proc: BaseProcess
    if "fork" in multiprocessing.get_all_start_methods():
        proc = multiprocessing.get_context("fork").Process(target=serve, args=(url, port, name))
    else:
        proc = multiprocessing.get_context("spawn").Process(target=serve, args=(url, port, name))
    proc.daemon = True
    proc.start()
    try:
        deadline = time.monotonic() + timeout
        while not _ready(port):
            if not proc.is_alive():
                tail = log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"the bench server exited with {proc.exitcode}: {tail}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the bench server did not answer within {timeout:.0f} s")
            time.sleep(0.2)
        yield Served(port, log)
    finally:
        proc.terminate()
        proc.join(15)
        if proc.is_alive():
            proc.kill()
            proc.join()
