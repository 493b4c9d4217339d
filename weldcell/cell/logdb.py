"""Where the weld log lives: a SQLite file (the default) or a PostgreSQL database, through SQLAlchemy Core.

:func:`parse_log_target` turns what the user gave (``weldlog.sqlite``, ``sqlite:///path/log.sqlite``
or ``postgresql://user:password@host:5432/db``) into a :class:`LogTarget`; :func:`open_engine`
creates the SQLAlchemy engine with the settings each back end needs to lose nothing in a crash:

* SQLite: journal mode WAL, ``synchronous=FULL``, a 10 s busy timeout, and write transactions
  started with ``BEGIN IMMEDIATE`` (so two writers queue instead of failing half way);
* PostgreSQL: the psycopg 3 driver (``pip install weldcell[postgres]``); the server's own
  durability (every committed transaction is on disk, ``fsync`` on by default).

The SQL the weld log runs is the same on both (:mod:`weldcell.cell.weldlog`); the few dialect
differences (column types, two-argument MIN/MAX) are named there and in :mod:`weldcell.cell.logschema`.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from weldcell.cell.logrecords import WeldLogError

#: ``Connection.info`` key: the next transaction writes (SQLite starts it with BEGIN IMMEDIATE).
WRITE_TX = "weldcell_write_tx"

_EXPECTED = "expected a file (weldlog.sqlite), sqlite:///PATH or postgresql://USER:PASSWORD@HOST[:PORT]/DB"


@dataclass(frozen=True)
class LogTarget:
    """A weld log's location.

    Attributes:
        url: SQLAlchemy URL (with the password, never shown).
        dialect: ``sqlite`` or ``postgresql``.
        path: The SQLite file (None for a server).
        display: The location for messages (the password hidden).
    """

    url: URL
    dialect: str
    path: Path | None
    display: str


def _masked(text: str) -> str:
    """``text`` with the password of a ``scheme://user:password@host`` URL replaced by ``***``."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", text)


def parse_log_target(target: str | Path) -> LogTarget:
    """The location of a weld log: a file path, ``sqlite:///PATH`` or ``postgresql://…``.

    Raises:
        WeldLogError: not a URL weldcell can store a weld log at (names what is expected), or the
            PostgreSQL driver is not installed.
    """
    text = str(target)
    if isinstance(target, Path) or "://" not in text:
        path = Path(target)
        return LogTarget(URL.create("sqlite", database=str(path)), "sqlite", path, str(path))
    try:
        url = make_url(text)
        backend = url.get_backend_name()
    except (ArgumentError, ValueError) as err:
        why = str(err).replace(text, _masked(text))
        raise WeldLogError(f"--db {_masked(text)!r}: not a database URL ({why}); {_EXPECTED}") from err
    if backend == "sqlite":
        if url.drivername != "sqlite" or not url.database or url.database == ":memory:":
            raise WeldLogError(
                f"--db {_masked(text)!r}: a SQLite weld log needs a file: sqlite:///PATH; {_EXPECTED}"
            )
        path = Path(url.database)
        return LogTarget(URL.create("sqlite", database=str(path)), "sqlite", path, str(path))
    if backend == "postgresql":
        if url.drivername not in ("postgresql", "postgresql+psycopg"):
            raise WeldLogError(
                f"--db {url.render_as_string(hide_password=True)!r}: weldcell talks to PostgreSQL "
                "through psycopg 3; use postgresql://… or postgresql+psycopg://…"
            )
        if not url.database:
            raise WeldLogError(
                f"--db {url.render_as_string(hide_password=True)!r}: no database name; {_EXPECTED}"
            )
        try:
            import psycopg  # noqa: F401
        except ImportError as err:
            raise WeldLogError(
                f"--db {url.render_as_string(hide_password=True)!r}: the PostgreSQL driver psycopg is "
                "not installed: pip install 'weldcell[postgres]'"
            ) from err
        url = url.set(drivername="postgresql+psycopg")
        return LogTarget(url, "postgresql", None, url.render_as_string(hide_password=True))
    raise WeldLogError(f"--db {_masked(text)!r}: the weld log cannot be stored in {backend!r}; {_EXPECTED}")


def _sqlite_events(engine: Engine, *, durable: bool) -> None:
    """SQLite in autocommit at the driver level; SQLAlchemy's BEGIN is ours (the documented recipe)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        dbapi_conn.execute("PRAGMA busy_timeout=10000")
        if durable:
            dbapi_conn.execute("PRAGMA journal_mode=WAL")
            dbapi_conn.execute("PRAGMA synchronous=FULL")

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get(WRITE_TX) else "BEGIN")


def open_engine(target: LogTarget, *, durable: bool) -> Engine:
    """The engine for ``target``; ``durable``: SQLite in WAL mode with ``synchronous=FULL`` (writers)."""
    if target.dialect == "sqlite":
        engine = create_engine(
            target.url, connect_args={"timeout": 10.0, "check_same_thread": False}, poolclass=StaticPool
        )
        _sqlite_events(engine, durable=durable)
        return engine
    return create_engine(target.url, poolclass=StaticPool, connect_args={"connect_timeout": 10})


def memory_copy(path: Path) -> Engine:
    """An engine on an in-memory copy of the SQLite file ``path`` (read-only migration of old logs)."""
    memory = sqlite3.connect(":memory:", check_same_thread=False)
    src = sqlite3.connect(str(path))
    try:
        src.backup(memory)
    finally:
        src.close()
    engine = create_engine("sqlite://", creator=lambda: memory, poolclass=StaticPool)
    _sqlite_events(engine, durable=False)
    return engine


def backup_sqlite(path: Path, target: Path) -> None:
    """Copy the SQLite log ``path`` to ``target`` (SQLite's online backup) before a migration changes it."""
    if target.exists():
        return  # an earlier attempt already kept the original
    try:
        src = sqlite3.connect(str(path))
        copy = sqlite3.connect(str(target))
    except sqlite3.Error as err:
        raise WeldLogError(f"{path}: cannot write the backup {target} before migrating ({err})") from err
    try:
        src.backup(copy)
    finally:
        copy.close()
        src.close()
