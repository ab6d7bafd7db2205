"""Engine and session factories for SQLite (embedded default) and PostgreSQL (production).

SQLite runs in WAL mode with foreign keys on. Its driver's implicit transaction handling is
replaced by explicit ``BEGIN IMMEDIATE`` so that (a) savepoints work and (b) writers are
serialized at the start of a transaction instead of failing on a lock upgrade half-way.

Reads and writes (the one mechanism for both backends):

- ``session_factory(url)``: write sessions. Every unit of work of a batch, CLI command or unsafe
  web request (POST, PUT, PATCH, DELETE) uses these; on SQLite each transaction takes the
  database's single write lock at ``BEGIN IMMEDIATE``.
- ``read_session_factory(url)``: read sessions, for safe web requests (GET, HEAD, OPTIONS; see
  ``hpf.web.security.get_db``). Same engine and pool; their connections carry the execution
  option ``READ_ONLY``, so on SQLite the ``begin`` listener starts a deferred transaction (no
  lock: WAL readers run beside the writer and each other) and sets ``PRAGMA query_only`` for
  its duration. A deferred transaction must never write: upgrading it to a write fails at
  once with SQLITE_BUSY ("database is locked") whenever another connection committed since
  its snapshot, whatever the busy timeout; ``query_only`` makes every such write fail at once,
  in tests too, instead of under load only. PostgreSQL's transactions are unchanged.
- ``writable(session)``: where a write made while serving a request goes. In a write session,
  that session (the write commits or rolls back with the business action). In a read session,
  a short transaction of its own (``BEGIN IMMEDIATE`` on SQLite), committed before
  ``writable`` returns and on a separate small pool, so a request holding a pooled connection
  never waits for a second one from the same pool. Used for what a read must still write:
  audit records of viewing personal data (``hpf.auth.audit.record_read``) and a session's or
  token's last-use time (``hpf.auth.sessions``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_CACHE_KIB = 131_072
READ_ONLY = "hpf_read_only"
"""Execution option of a read session's connections (see the module docstring); also the key
in a read session's ``info``, whose value is the database URL its writes go to."""


def normalise_url(url: str) -> str:
    """Pick the psycopg 3 driver for bare ``postgresql://`` URLs."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine with hpf's per-dialect settings."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        is_memory = engine.url.database in (None, "", ":memory:")
        if not is_memory:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        # Batch jobs touch a million rows: a 128 MiB page cache (allocated on demand; default is
        # 2 MiB) and in-memory temporary tables for their staging tables and sorts.
        cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cur.execute("PRAGMA temp_store=MEMORY")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("BEGIN")
            conn.exec_driver_sql("PRAGMA query_only=ON")
            conn.connection.info[READ_ONLY] = True
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    @event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_conn: Any, record: Any) -> None:
        # a pooled connection is writable again whoever checks it out next
        if record.info.pop(READ_ONLY, False) and dbapi_conn is not None:
            dbapi_conn.execute("PRAGMA query_only=OFF")


def is_sqlite(bind: Engine | Session | Any) -> bool:
    """True when the engine, connection or session talks to SQLite."""
    engine = bind.get_bind() if isinstance(bind, Session) else bind
    return bool(engine.dialect.name == "sqlite")


_factories: dict[str, sessionmaker[Session]] = {}
_read_factories: dict[str, sessionmaker[Session]] = {}
_apart_factories: dict[str, sessionmaker[Session]] = {}


def session_factory(url: str) -> sessionmaker[Session]:
    """A cached factory of write sessions per database URL."""
    if url not in _factories:
        _factories[url] = sessionmaker(bind=make_engine(url), expire_on_commit=False)
    return _factories[url]


def read_session_factory(url: str) -> sessionmaker[Session]:
    """A cached factory of read sessions per database URL, on ``session_factory(url)``'s engine.

    On SQLite their transactions take no lock and cannot write; what they must still write goes
    through ``writable``.
    """
    if url not in _read_factories:
        engine = session_factory(url).kw["bind"]
        _read_factories[url] = sessionmaker(
            bind=engine.execution_options(**{READ_ONLY: True}),
            expire_on_commit=False,
            info={READ_ONLY: url},
        )
    return _read_factories[url]


def is_read_session(session: Session) -> bool:
    """True for a session of ``read_session_factory``."""
    return READ_ONLY in session.info


def _apart_factory(url: str) -> sessionmaker[Session]:
    # A pool of its own: a request holding a connection of the main pool may wait for one of
    # these, never the other way round, so a busy main pool cannot deadlock on itself.
    if url not in _apart_factories:
        _apart_factories[url] = sessionmaker(bind=make_engine(url), expire_on_commit=False)
    return _apart_factories[url]


@contextmanager
def writable(session: Session) -> Iterator[Session]:
    """The session to write in while serving ``session``'s request.

    A write session is yielded itself: the write joins its transaction. For a read session a
    new write session is yielded and committed when the block ends (rolled back, and the error
    raised, when the block or the commit fails), so the write is durable before the caller goes
    on, and the read transaction never turns into a write.
    """
    url = session.info.get(READ_ONLY)
    if url is None:
        yield session
        return
    with _transaction(_apart_factory(url)) as apart:
        yield apart


@contextmanager
def unit_of_work(url: str | None = None) -> Iterator[Session]:
    """One business action = one transaction: commit on success, roll back on any error.

    Entry points (routes, CLI commands, jobs) open it; nothing below them commits.
    """
    if url is None:
        from hpf.config import get_settings

        url = get_settings().database_url
    with _transaction(session_factory(url)) as session:
        yield session


@contextmanager
def _transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
