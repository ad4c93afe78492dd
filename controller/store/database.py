"""The database: tables for visits, the executed-steps ledger and the event log.

The URL is configuration: an SQLite file on the site's box by default, a shared PostgreSQL
for a company with many sites. Only portable SQL is used; SQLite gets its pragmas and
`BEGIN IMMEDIATE` through connection events, nothing else differs.

The tables and the way times are stored in them: tables.py.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from sqlalchemy import (
    Engine,
    Table,
    create_engine,
    event,
    insert,
    select,
)
from sqlalchemy.engine import Connection, CursorResult, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from controller.config.site import DEFAULT_SITE_ID
from controller.store import schema
from controller.store.tables import (
    KeyValueRow,
    ScheduleLockRow,
    VisitRow,
    utc_now,
)

log = logging.getLogger(__name__)

# How long an SQLite connection waits for another writer before "database is locked".
# Every transaction here takes microseconds; 5 s only matters if something is badly wrong.
SQLITE_BUSY_TIMEOUT_MS = 5000

# Execution option that marks a write transaction (SQLite: BEGIN IMMEDIATE).
_WRITE_OPTION = "vipctl_write"
# Execution option that marks a durable one (SQLite: synchronous=FULL for it, see below).
_DURABLE_OPTION = "vipctl_durable"
# SQLite's synchronous levels (https://www.sqlite.org/pragma.html#pragma_synchronous), and
# where a connection keeps the one it was last set to (its pool record's `info`).
NORMAL, FULL = "NORMAL", "FULL"
_SYNC_INFO = "vipctl_synchronous"

# Writes handed to `Database.defer` are committed this much later at most (seconds), together
# (the event log's append_soon waits as long: controller/store/events.py).
DEFER_S = 0.01



After = Callable[[], None]
T = TypeVar("T")


class _ReaderThread:
    """One worker thread for reads of many rows (a page of the event log, of past visits),
    started when first needed. One, so that readers queue for it rather than for the GIL
    the daemon's loop needs."""

    name = "db-reader"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self.closed = False  # the database is closed: no thread is started again

    def get(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix=self.name)
            return self._pool

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
            self.closed = True
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


class _WriterThread(_ReaderThread):
    """The thread that commits the deferred writes when their timer fires, so that the
    loop does not wait for the commit (and, for a durable one, for the disk's sync: 4–10 ms
    on a site's small SSD or a VM's disk)."""

    name = "db-writer"


class _Deferred:
    """Writes waiting for `Database.defer`'s timer, in the order they were handed over,
    each with what to do once it is committed.

    `commit`: held by whoever commits (the loop or the writer thread), so batches commit
    in the order they were taken. `committed`: the `after`s of batches the writer thread
    committed, run on the loop, in order, before any later batch's."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.commit = threading.Lock()
        self.writes: list[tuple[Callable[[Session], object], After | None]] = []
        self.durable = False  # one of them must survive a power cut: the batch is durable
        self.committed: deque[After] = deque()


@dataclass(frozen=True, slots=True, eq=False)
class Database:
    """An engine and its sessions, for one site's rows. Use `read()` and `write()`, each one
    short transaction; every query of the store filters on `site_id`."""

    engine: Engine
    site_id: str
    _reads: sessionmaker[Session]
    _writes: sessionmaker[Session]
    _durable_writes: sessionmaker[Session]
    _deferred: _Deferred = field(default_factory=_Deferred)
    _reader: _ReaderThread = field(default_factory=_ReaderThread)
    _writer: _WriterThread = field(default_factory=_WriterThread)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A transaction that only reads (one consistent snapshot), after any deferred write."""
        self.flush_deferred()
        with self._reads() as session, session.begin():
            yield session

    async def read_off_loop(self, read: Callable[[Session], T]) -> T:
        """`read(session)` in a read transaction in the reader thread, so that reading and
        building many rows does not hold up the event loop (a button press waits on it).

        The deferred writes are committed first, by the writer thread, the loop going on
        meanwhile (a durable batch waits for the disk): `read` sees every write made before
        the call, and their `after`s still run on the loop."""
        await self.commit_deferred()

        def work() -> T:
            with self._reads() as session, session.begin():
                return read(session)

        return await self.off_loop(work)

    async def off_loop(self, work: Callable[[], T]) -> T:
        """`work()` in the reader thread: for building a large answer from what was read
        (it must touch nothing the loop changes)."""
        return await asyncio.get_running_loop().run_in_executor(self._reader.get(), work)

    @contextmanager
    def write(self, *, durable: bool = False) -> Iterator[Session]:
        """A transaction that writes; committed on leaving, rolled back on an exception.

        `durable`: its commit must survive a power cut, not only a crash of vipctl (a claim
        that keeps an announcement from being said twice): on SQLite it commits with
        synchronous=FULL, the write-ahead log synced to the disk before the commit returns;
        other commits stay NORMAL (synced at checkpoints). PostgreSQL syncs every commit.

        Deferred writes are committed first, in a transaction of their own (one refused
        here, a booking say, must not take them with it), so the database sees every write
        in the order it was made. On SQLite it starts with BEGIN IMMEDIATE, so it holds
        the write lock from its first read and a check-then-insert inside it cannot race
        another writer.
        """
        self.flush_deferred()
        sessions = self._durable_writes if durable else self._writes
        with sessions() as session, session.begin():
            yield session

    def defer(self, write: Callable[[Session], object], after: After | None = None, *,
              durable: bool = False) -> None:
        """Apply `write` within DEFER_S, in one transaction with the writes deferred
        meanwhile, or before the next `write()` or `read()`, whichever comes first; then
        call `after`. For the writes of a button press, so that its announcement goes out
        first (controller/engine/engine.py says what a crash in between means), and for the event
        log. Only for writes that cannot fail on a correct database. `durable`: as for
        `write()`; the whole transaction it goes in is then durable."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop in this thread: nothing would flush it
            loop = None
        with self._deferred.lock:
            self._deferred.writes.append((write, after))
            self._deferred.durable = self._deferred.durable or durable
            first = len(self._deferred.writes) == 1
        if loop is None:
            self.flush_deferred()
        elif first:
            loop.call_later(DEFER_S, self._flush_from_timer)

    def flush_deferred(self) -> None:
        """Commit the deferred writes now (before a read, at shutdown). A batch the writer
        thread is committing is waited for: what follows sees it, and is fed after it."""
        with self._deferred.commit:
            afters = self._commit_locked() if self._deferred.writes else []
        self._run_committed()  # the writer's earlier batches' first
        for after in afters:  # outside the lock: one may write again
            after()

    def _commit_deferred(self, loop: asyncio.AbstractEventLoop) -> None:
        """In the writer thread: commit what is deferred; the `after`s then run on `loop`."""
        with self._deferred.commit:
            afters = self._commit_locked()
            if afters:  # still under the lock: a flush on the loop runs them before its own
                self._deferred.committed.extend(afters)
                loop.call_soon_threadsafe(self._run_committed)

    def _commit_locked(self) -> list[After]:
        with self._deferred.lock:
            pending, self._deferred.writes = self._deferred.writes, []
            durable, self._deferred.durable = self._deferred.durable, False
        if not pending:
            return []
        sessions = self._durable_writes if durable else self._writes
        with sessions() as session, session.begin():
            for write, _ in pending:
                write(session)
        return [after for _, after in pending if after is not None]

    async def commit_deferred(self) -> None:
        """Commit what is deferred now, in the writer thread, and wait for it there: the
        loop goes on meanwhile (a durable commit waits for the disk)."""
        if self._in_memory or self._writer.closed:
            self.flush_deferred()
            return
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._writer.get(), self._commit_deferred, loop)

    def _run_committed(self) -> None:
        """The `after`s of the batches the writer thread committed (on the loop)."""
        committed = self._deferred.committed
        while committed:
            try:
                after = committed.popleft()
            except IndexError:  # pragma: no cover - drained by a nested call
                return
            try:
                after()
            except Exception:  # one subscriber's failure must not drop the others'
                log.exception("after a deferred commit")

    def _flush_from_timer(self) -> None:
        # In memory each thread would see its own empty database; closed, no thread is left
        if self._in_memory or self._writer.closed:
            try:
                self.flush_deferred()
            except Exception:  # the loop's timer: nobody to raise to; the daemon must live
                log.exception("could not commit deferred writes")
            return
        loop = asyncio.get_running_loop()
        loop.run_in_executor(self._writer.get(), self._commit_in_writer, loop)

    def _commit_in_writer(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            self._commit_deferred(loop)
        except Exception:  # nobody to raise to, and the daemon must live
            log.exception("could not commit deferred writes")

    @property
    def _in_memory(self) -> bool:
        return self.engine.url.database in (None, "", ":memory:")

    def lock_schedule(self, session: Session) -> None:
        """Serialise schedule changes: call first in a `write()` that checks overlaps.

        The site's row of `schedule_lock`: every booking and move updates it first, which
        serialises them on any database (a row lock on PostgreSQL, the write lock on SQLite);
        other sites' bookings go on."""
        lock = session.get(ScheduleLockRow, self.site_id, with_for_update=True)
        if lock is None:  # pragma: no cover - created by open_database
            raise RuntimeError("schedule_lock row missing")
        lock.generation += 1
        session.flush()

    def load_value(self, key: str) -> dict[str, Any] | None:
        with self.read() as session:
            row = session.get(KeyValueRow, (self.site_id, key))
            return None if row is None else dict(row.value)

    def save_value(self, key: str, value: dict[str, Any], session: Session | None = None,
                   ) -> None:
        """Store `value` under `key`, in its own transaction or in `session`'s."""
        if session is None:
            with self.write() as session:
                self.save_value(key, value, session)
            return
        table = cast(Table, KeyValueRow.__table__)
        row = {"site_id": self.site_id, "key": key, "value": value, "updated_at": utc_now()}
        # Core statements: one UPDATE, and an INSERT the first time.
        updated = session.execute(table.update().where(
            table.c.site_id == self.site_id, table.c.key == key), row)
        if cast(CursorResult[Any], updated).rowcount == 0:
            session.execute(table.insert(), row)

    def close(self) -> None:
        try:
            self._reader.close()
            self._writer.close()  # its batch in hand committed; those not begun, below
            self.flush_deferred()
        finally:
            self.engine.dispose()


def _sqlite_events(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # SQLAlchemy emits BEGIN itself (below); the driver's legacy mode would not begin a
        # transaction before a SELECT, breaking check-then-insert.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
        # In WAL mode, NORMAL syncs at checkpoints instead of at every commit: a commit stays
        # durable across a crash or SIGKILL of vipctl and the file is never corrupted; only a
        # power cut or kernel crash may roll back the last commits
        # (https://www.sqlite.org/pragma.html#pragma_synchronous). FULL syncs the log at each
        # commit: the transactions that claim a step or move a visit's status ask for it
        # (`durable`, set in _on_begin), since rolled back they could let an announcement be
        # said twice after the power returns; the others (the event log, device claims, step
        # results) stay NORMAL (README, "Running it at a site": the cost, measured).
        cursor.execute(f"PRAGMA synchronous={NORMAL}")
        _record.info[_SYNC_INFO] = NORMAL
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        options = conn.get_execution_options()
        # SQLite refuses to change the level inside a transaction: it is set before BEGIN,
        # and only when it differs from the connection's current one.
        level = FULL if options.get(_DURABLE_OPTION, False) else NORMAL
        if conn.info.get(_SYNC_INFO) != level:
            conn.exec_driver_sql(f"PRAGMA synchronous={level}")
            conn.info[_SYNC_INFO] = level
        conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get(_WRITE_OPTION, False) else "BEGIN")


def _engines(url: str) -> tuple[Engine, Engine]:
    """The engine for `url`, and the same engine beginning its transactions as a writer."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {}
    sqlite = parsed.get_backend_name() == "sqlite"
    if sqlite and parsed.database in (None, "", ":memory:"):
        # One shared connection, or every session would see its own empty database.
        kwargs = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
    engine = create_engine(parsed, **kwargs)
    if sqlite:
        _sqlite_events(engine)
    return engine, engine.execution_options(**{_WRITE_OPTION: True})


def open_database(url: str, site_id: str = DEFAULT_SITE_ID) -> Database:
    """Connect to `url` (e.g. "sqlite:///var/lib/vipctl/vipctl.db") for site `site_id`,
    bringing the schema up to date first (schema.py)."""
    engine, writes = _engines(url)
    try:
        done = schema.upgrade(writes, site_id)
        if done.before != done.after:
            log.info("database %s: %s", engine.url.render_as_string(hide_password=True), done)
        if engine.dialect.name == "sqlite":
            _check_own_file(engine, site_id)
        _add_lock_row(engine, site_id)
    except BaseException:
        engine.dispose()
        raise
    return Database(
        engine=engine,
        site_id=site_id,
        _reads=sessionmaker(engine, expire_on_commit=False),
        _writes=sessionmaker(writes, expire_on_commit=False),
        _durable_writes=sessionmaker(
            writes.execution_options(**{_DURABLE_OPTION: True}), expire_on_commit=False
        ),
    )


def upgrade_database(url: str, site_id: str = DEFAULT_SITE_ID) -> schema.Upgrade:
    """`vipctl db upgrade`: what open_database does first, alone."""
    engine, writes = _engines(url)
    try:
        return schema.upgrade(writes, site_id)
    finally:
        engine.dispose()


def rename_site(url: str, old: str, new: str) -> dict[str, int]:
    """`vipctl db rename-site`: site `old`'s rows become `new`'s (schema.rename_site)."""
    engine, writes = _engines(url)
    try:
        schema.upgrade(writes, old)
        return schema.rename_site(writes, old, new)
    finally:
        engine.dispose()


def _add_lock_row(engine: Engine, site_id: str) -> None:
    with engine.begin() as conn:
        exists = select(ScheduleLockRow.site_id).where(ScheduleLockRow.site_id == site_id)
        if conn.scalar(exists) is None:
            try:
                with conn.begin_nested():
                    conn.execute(insert(ScheduleLockRow).values(site_id=site_id, generation=0))
            except IntegrityError:  # another process created it at the same moment
                pass


def _check_own_file(engine: Engine, site_id: str) -> None:
    """An SQLite file is one site's: visits of another id there and none of this one's
    mean the site file's `site.id` changed, and the site would start with an empty book."""
    with engine.connect() as conn:
        mine = conn.scalar(select(VisitRow.id).where(VisitRow.site_id == site_id).limit(1))
        other = conn.scalar(select(VisitRow.site_id).where(VisitRow.site_id != site_id)
                            .limit(1))
    if mine is None and other is not None:
        raise schema.SiteMismatch(
            f"this database holds the visits of site {other!r}, not of {site_id!r}: set "
            f"site.id back to {other!r}, or give them this id with `vipctl db rename-site "
            f"--config SITE_FILE --from {other}`")
