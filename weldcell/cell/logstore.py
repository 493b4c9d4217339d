"""The weld log's store: the connection to SQLite or PostgreSQL, schema version checks, creation and
migrations (:mod:`weldcell.cell.logschema`), and the locked transaction and query helpers the
writer (:mod:`weldcell.cell.logwriter`) and the queries (:mod:`weldcell.cell.logreader`) build on.
:class:`weldcell.cell.weldlog.WeldLog` is the public class.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import SQLAlchemyError

from weldcell.cell.logdb import WRITE_TX, backup_sqlite, memory_copy, open_engine, parse_log_target
from weldcell.cell.logrecords import (
    WeldLogError,
)
from weldcell.cell.logschema import (
    SCHEMA_VERSION,
    migrate,
    schema_sql,
)

#: SQL for "the further along the weld of ``s_reached`` and {x}": a seam attempt runs towards its
#: ``s_end_planned``, so a backwards weld (``s_end_planned < s_start``) progresses to smaller values.
#: SQLite's two-argument MIN/MAX are PostgreSQL's LEAST/GREATEST.
_FURTHEST = (
    "CASE WHEN s_end_planned IS NOT NULL AND s_end_planned < s_start"
    " THEN {lo}(COALESCE(s_reached, s_start), {x}) ELSE {hi}(COALESCE(s_reached, s_start), {x}) END"
)
_MIN_MAX = {"sqlite": ("MIN", "MAX"), "postgresql": ("LEAST", "GREATEST")}
#: Key of the PostgreSQL advisory lock that serialises schema creation by cells opening at once.
_PG_SCHEMA_LOCK = 0x57454C44


def _pid_alive(pid: int) -> bool:
    """True when a process ``pid`` runs on this host (or we may not signal it: someone else's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def _this_writer() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class LogStore:
    """The connection of a weld log (see :class:`weldcell.cell.weldlog.WeldLog`, the public class).

    Args:
        target: The SQLite file (created with its folder if missing), ``sqlite:///PATH``, or
            ``postgresql://USER:PASSWORD@HOST[:PORT]/DB`` (the tables are created if missing).
        readonly: Open without creating or writing.

    Raises:
        WeldLogError: not a weld log, a newer schema, or a database that cannot be opened.
    """

    def __init__(self, target: str | Path, *, readonly: bool = False) -> None:
        self.target = parse_log_target(target)
        self.dialect = self.target.dialect
        #: Where the log is, for messages: the file, or the server URL without its password.
        self.path: Path | str = self.target.path if self.target.path is not None else self.target.display
        self._lock = threading.RLock()
        self._conn: Connection | None = None
        self._readonly = readonly
        if self.target.path is not None:
            self._check_file(self.target.path, readonly)
        try:
            self._open()
        except SQLAlchemyError as err:
            self.close()
            why = getattr(err, "orig", None) or err
            if self.dialect == "sqlite":
                raise WeldLogError(f"{self.path}: not a weldcell weld log ({why})") from err
            raise WeldLogError(f"{self.path}: cannot open the weld log database ({why})") from err
        except BaseException:
            self.close()
            raise

    def _furthest(self, x: str) -> str:
        """SQL: the further along the weld of ``s_reached`` and the SQL expression ``x``."""
        lo, hi = _MIN_MAX[self.dialect]
        return _FURTHEST.format(lo=lo, hi=hi, x=x)

    @staticmethod
    def _check_file(path: Path, readonly: bool) -> None:
        if path.is_dir():
            raise WeldLogError(f"{path}: is a folder; expected a weld log file (SQLite), e.g. weldlog.sqlite")
        if readonly and not path.is_file():
            raise WeldLogError(f"{path}: weld log not found")
        if readonly and path.stat().st_size == 0:
            raise WeldLogError(f"{path}: the file is empty; expected a weld log written by weldcell")
        if not readonly:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                why = err.strerror or str(err)
                if isinstance(err, (FileExistsError, NotADirectoryError)):
                    why = "a folder on its path is a file"
                raise WeldLogError(f"{path}: cannot create the weld log's folder ({why})") from err

    def _open(self) -> None:
        """Connect, check the schema version, migrate or create the tables (see the module docs)."""
        self._engine = open_engine(self.target, durable=not self._readonly)
        self._conn = self._engine.connect()
        version = self._check_version()
        if self._readonly:
            if version is None:
                raise WeldLogError(f"{self.path}: holds no weld log yet (no weldcell tables)")
            if version < SCHEMA_VERSION:
                if self.target.path is None:
                    raise WeldLogError(
                        f"{self.path}: weld log schema {version}; open it once for writing "
                        f"(weldcell cell run) to migrate it to {SCHEMA_VERSION}"
                    )
                # read-only: migrate a copy in memory, leave the file as it is
                self._conn.close()
                self._engine.dispose()
                self._engine = memory_copy(self.target.path)
                self._conn = self._engine.connect()
                migrate(self._conn, version)
        else:
            if version is not None and version < SCHEMA_VERSION:
                if self.target.path is not None:
                    backup_sqlite(
                        self.target.path,
                        self.target.path.with_name(f"{self.target.path.name}.v{version}.bak"),
                    )
                migrate(self._conn, version)
            self._create_schema()
        version = self._version()
        if version != SCHEMA_VERSION:
            raise WeldLogError(
                f"{self.path}: weld log schema {version if version is not None else 'missing'} is not "
                f"supported; expected {SCHEMA_VERSION}"
            )

    def _check_version(self) -> int | None:
        """The log's schema version (None: no tables yet); refuses other databases and newer logs."""
        assert self._conn is not None  # mypy: only called while opening
        with self._conn.begin():
            tables = set(inspect(self._conn).get_table_names())
        if tables and "meta" not in tables:
            kind = "a SQLite database" if self.dialect == "sqlite" else "a database"
            raise WeldLogError(
                f"{self.path}: {kind} but not a weldcell weld log "
                f"(tables {sorted(tables)[:5]}); expected a log written by weldcell"
            )
        version = self._version() if tables else None
        if version is not None and version > SCHEMA_VERSION:
            raise WeldLogError(
                f"{self.path}: written by a newer weldcell (weld log schema {version}); this one "
                f"reads schema {SCHEMA_VERSION} and older: update weldcell to read it"
            )
        return version

    def _create_schema(self) -> None:
        assert self._conn is not None  # mypy: only called while opening
        self._conn.info[WRITE_TX] = True
        try:
            with self._conn.begin():
                if self.dialect == "postgresql":  # cells opening at once: one creates, the others wait
                    self._conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_SCHEMA_LOCK})
                for stmt in schema_sql(self.dialect).split(";\n"):
                    if stmt.strip():
                        self._conn.exec_driver_sql(stmt)
                self._conn.execute(
                    text("INSERT INTO meta(key, value) VALUES('schema_version', :v) ON CONFLICT DO NOTHING"),
                    {"v": str(SCHEMA_VERSION)},
                )
        finally:
            self._conn.info[WRITE_TX] = False

    def _version(self) -> int | None:
        rows = self._query("SELECT value FROM meta WHERE key='schema_version'")
        try:
            return None if not rows else int(rows[0][0])
        except ValueError:
            return None

    # --- lifecycle -----------------------------------------------------------------------------
    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            if self._conn is not None:
                try:
                    self._conn.close()
                finally:
                    self._conn = None
                    self._engine.dispose()

    def _require(self) -> Connection:
        if self._conn is None:
            raise WeldLogError(f"{self.path}: weld log is closed")
        return self._conn

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        """One committed write transaction (rolled back on any error)."""
        with self._lock:
            conn = self._require()
            conn.info[WRITE_TX] = True
            try:
                with conn.begin():
                    yield conn
            except SQLAlchemyError as err:
                raise WeldLogError(
                    f"{self.path}: write failed ({getattr(err, 'orig', None) or err})"
                ) from err
            finally:
                conn.info[WRITE_TX] = False

    def _query(self, sql: str, args: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        with self._lock:
            conn = self._require()
            try:
                with conn.begin():
                    return [tuple(r) for r in conn.execute(text(sql), dict(args or {})).fetchall()]
            except SQLAlchemyError as err:
                raise WeldLogError(
                    f"{self.path}: query failed ({getattr(err, 'orig', None) or err})"
                ) from err
