"""The weld log's column specification and its migrations: the one place the log's columns are named.

Every table is a tuple of :class:`Column` (name, SQL type, unit, Python kind, meaning). From it come
the SQL schema (:func:`schema_sql`), the column lists of every query (:func:`select_list`), the row
converters of the record types (:func:`convert_row`), and the column headers and units of the
exports (:attr:`Column.export_name`, :func:`units_of`). Adding a column is one line here (plus the
field of its record type, which a test keeps in step), and one migration step.

The same specification serves SQLite and PostgreSQL: :func:`schema_sql` writes the column types in
each dialect (``REAL`` is an 8-byte float in SQLite but a 4-byte one in PostgreSQL, so it becomes
``DOUBLE PRECISION`` there; ``INTEGER PRIMARY KEY`` becomes an identity column).

Migrations: :data:`SCHEMA_VERSION` is the version this code writes. :data:`MIGRATIONS` holds, for
each older version ``v``, the SQL statements that turn a version-``v`` log into version ``v + 1``.
Opening an older log for writing migrates it in place in one transaction, after a backup copy
(``<log>.v<old>.bak``); opening it read-only migrates an in-memory copy and leaves the file as it
is. A log written by a newer weldcell is refused with a message saying so. Versions 1 and 2 only
ever existed as SQLite files (PostgreSQL logs start at version 3), so their steps are SQLite SQL;
steps from version 3 on must run on both dialects (a step ``"@table"`` creates a new table from its
column spec in the log's dialect).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

#: The schema version this code writes (and reads after migrating older logs).
SCHEMA_VERSION = 4

#: The SQL dialects the log is written in (SQLAlchemy dialect names).
DIALECTS = ("sqlite", "postgresql")

#: Version v -> the statements that make a version-v log a version-(v + 1) log.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    # 2: one name for wire feed everywhere (power source, program model, log): wire_speed -> wire_feed
    1: ("ALTER TABLE signals RENAME COLUMN wire_speed TO wire_feed",),
    # 3: traceable records (ISO 3834-style: cell, operator, consumables, WPS, validation stamp,
    # inspection) and a signals id (PostgreSQL has no rowid to keep the samples' order by)
    2: (
        "ALTER TABLE jobs ADD COLUMN cell_id TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE jobs ADD COLUMN writer TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE jobs ADD COLUMN operator TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE jobs ADD COLUMN wire_batch TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE jobs ADD COLUMN gas_batch TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE jobs ADD COLUMN validation_stamp TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE seams ADD COLUMN wps_id TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE seams ADD COLUMN inspection_status TEXT NOT NULL DEFAULT 'pending'",
        "ALTER TABLE seams ADD COLUMN inspected_by TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE seams ADD COLUMN inspected_at REAL",
        "ALTER TABLE seams ADD COLUMN inspection_note TEXT NOT NULL DEFAULT ''",
        "CREATE TABLE signals_v3(id INTEGER PRIMARY KEY, seam_record INTEGER NOT NULL REFERENCES seams(id),"
        " t REAL NOT NULL, seam_s REAL, current REAL, voltage REAL, wire_feed REAL)",
        "INSERT INTO signals_v3(id, seam_record, t, seam_s, current, voltage, wire_feed)"
        " SELECT rowid, seam_record, t, seam_s, current, voltage, wire_feed FROM signals ORDER BY rowid",
        "DROP TABLE signals",
        "ALTER TABLE signals_v3 RENAME TO signals",
    ),
    # 4: part registration by touch sensing: the measured offset of every touched part per job
    # (written in the log's own dialect from the column spec: PART_OFFSETS below)
    3: ("@part_offsets",),
}

_UNIT_SUFFIX = {"s": "s", "m": "m", "A": "a", "V": "v", "m/s": "m_s"}


@dataclass(frozen=True)
class Column:
    """One column of a weld log table.

    Attributes:
        name: Column name (also the field name of the record type).
        sql: SQL type and constraints.
        kind: Python kind of the value: ``int``, ``int?``, ``float``, ``float?``, ``str``, ``str?``,
            ``json_list`` (stored as JSON text, read as a tuple) or ``json_dict``.
        unit: SI unit of a number ("" for none); times are [s] since the epoch.
        doc: What the value means.
    """

    name: str
    sql: str
    kind: str
    unit: str = ""
    doc: str = ""

    @property
    def export_name(self) -> str:
        """The header in CSV exports: the name with its unit (``current_a``, ``wire_feed_m_s``)."""
        suffix = _UNIT_SUFFIX.get(self.unit, "")
        if not suffix or self.name.endswith(f"_{suffix}"):
            return self.name
        return f"{self.name}_{suffix}"


JOBS: tuple[Column, ...] = (
    Column("id", "INTEGER PRIMARY KEY", "int", doc="job id"),
    Column("program_path", "TEXT NOT NULL DEFAULT ''", "str", doc="weld program file"),
    Column("program_hash", "TEXT NOT NULL DEFAULT ''", "str", doc="SHA-256 of the program file"),
    Column("trajectory_path", "TEXT NOT NULL DEFAULT ''", "str", doc="validated trajectory file"),
    Column("trajectory_hash", "TEXT NOT NULL DEFAULT ''", "str", doc="content hash of the trajectory"),
    Column("part_serial", "TEXT NOT NULL DEFAULT ''", "str", doc="serial number of the part"),
    Column("robot", "TEXT NOT NULL DEFAULT ''", "str", doc="robot address"),
    Column("started", "REAL NOT NULL", "float", "s", "start time"),
    Column("ended", "REAL", "float?", "s", "end time (NULL while running)"),
    Column("result", "TEXT NOT NULL DEFAULT 'running'", "str", doc="running, ok, fault, aborted, ..."),
    Column("cell_id", "TEXT NOT NULL DEFAULT ''", "str", doc="cell that welded the job"),
    Column("writer", "TEXT NOT NULL DEFAULT ''", "str", doc="HOST:PID of the process that wrote the job"),
    Column("operator", "TEXT NOT NULL DEFAULT ''", "str", doc="welding operator"),
    Column("wire_batch", "TEXT NOT NULL DEFAULT ''", "str", doc="filler wire batch / lot number"),
    Column("gas_batch", "TEXT NOT NULL DEFAULT ''", "str", doc="shielding gas batch / lot number"),
    Column("validation_stamp", "TEXT NOT NULL DEFAULT ''", "str", doc="SHA-256 of the validation stamp file"),
)

SEAMS: tuple[Column, ...] = (
    Column("id", "INTEGER PRIMARY KEY", "int", doc="seam record id"),
    Column("job_id", "INTEGER NOT NULL REFERENCES jobs(id)", "int", doc="job"),
    Column("seam_id", "TEXT NOT NULL", "str", doc="program seam id"),
    Column("pass_index", "INTEGER NOT NULL DEFAULT 0", "int", doc="pass of a multi-pass seam"),
    Column("attempt", "INTEGER NOT NULL", "int", doc="attempt number at this seam and pass"),
    Column("started", "REAL NOT NULL", "float", "s", "start time"),
    Column("ended", "REAL", "float?", "s", "end time"),
    Column("result", "TEXT NOT NULL DEFAULT 'running'", "str", doc="ok, or why it stopped"),
    Column("faults", "TEXT NOT NULL DEFAULT '[]'", "json_list", doc="fault messages"),
    Column("s_start", "REAL NOT NULL", "float", "m", "seam arc length where the arc started"),
    Column("s_end_planned", "REAL", "float?", "m", "seam arc length where the weld is planned to end"),
    Column("s_reached", "REAL", "float?", "m", "last committed progress"),
    Column("s_stop", "REAL", "float?", "m", "exact stop position after a fault"),
    Column("deviation_max_m", "REAL", "float?", "m", "largest planned-vs-executed TCP deviation"),
    Column("deviation_rms_m", "REAL", "float?", "m", "RMS planned-vs-executed TCP deviation"),
    Column("wps_id", "TEXT NOT NULL DEFAULT ''", "str", doc="welding procedure specification (WPS) id"),
    Column(
        "inspection_status",
        "TEXT NOT NULL DEFAULT 'pending'",
        "str",
        doc="pending, accepted or rejected",
    ),
    Column("inspected_by", "TEXT NOT NULL DEFAULT ''", "str", doc="inspector"),
    Column("inspected_at", "REAL", "float?", "s", "inspection time"),
    Column("inspection_note", "TEXT NOT NULL DEFAULT ''", "str", doc="inspector's note"),
)

SIGNALS: tuple[Column, ...] = (
    Column("id", "INTEGER PRIMARY KEY", "int", doc="sample id (the order samples were written in)"),
    Column("seam_record", "INTEGER NOT NULL REFERENCES seams(id)", "int", doc="seam record"),
    Column("t", "REAL NOT NULL", "float", "s", "sample time"),
    Column("seam_s", "REAL", "float?", "m", "seam arc length at the sample"),
    Column("current", "REAL", "float?", "A", "welding current"),
    Column("voltage", "REAL", "float?", "V", "arc voltage"),
    Column("wire_feed", "REAL", "float?", "m/s", "wire feed speed"),
)

EVENTS: tuple[Column, ...] = (
    Column("id", "INTEGER PRIMARY KEY", "int", doc="event id"),
    Column("job_id", "INTEGER", "int?", doc="job (NULL for cell events outside a job)"),
    Column("t", "REAL NOT NULL", "float", "s", "event time"),
    Column("kind", "TEXT NOT NULL", "str", doc="event kind"),
    Column("seam_id", "TEXT", "str?", doc="seam the event belongs to"),
    Column("message", "TEXT NOT NULL DEFAULT ''", "str", doc="text for the operator"),
    Column("data", "TEXT NOT NULL DEFAULT '{}'", "json_dict", doc="event data (JSON)"),
)

PART_OFFSETS: tuple[Column, ...] = (
    Column("id", "INTEGER PRIMARY KEY", "int", doc="record id"),
    Column("job_id", "INTEGER NOT NULL REFERENCES jobs(id)", "int", doc="job"),
    Column("part", "TEXT NOT NULL", "str", doc="workpiece body the touch pattern located"),
    Column("t", "REAL NOT NULL", "float", "s", "time of the measurement"),
    Column("dx", "REAL NOT NULL", "float", "m", "part origin offset from nominal, world x"),
    Column("dy", "REAL NOT NULL", "float", "m", "part origin offset from nominal, world y"),
    Column("dz", "REAL NOT NULL", "float", "m", "part origin offset from nominal, world z"),
    Column("rx", "REAL NOT NULL", "float", "rad", "rotation vector of the correction, world x"),
    Column("ry", "REAL NOT NULL", "float", "rad", "rotation vector of the correction, world y"),
    Column("rz", "REAL NOT NULL", "float", "rad", "rotation vector of the correction, world z"),
    Column("rms_m", "REAL NOT NULL", "float", "m", "RMS point-to-surface residual of the fit"),
    Column("observed_dof", "INTEGER NOT NULL", "int", doc="degrees of freedom the touches determined (0-6)"),
    Column("touches", "INTEGER NOT NULL", "int", doc="number of touches"),
    Column("T_world_part", "TEXT NOT NULL DEFAULT '[]'", "json_list", doc="measured part pose, 4x4 rows"),
)

#: Table name -> columns, in creation order.
TABLES: dict[str, tuple[Column, ...]] = {
    "jobs": JOBS,
    "seams": SEAMS,
    "signals": SIGNALS,
    "events": EVENTS,
    "part_offsets": PART_OFFSETS,
}
#: Index name -> (table, column).
INDEXES: dict[str, tuple[str, str]] = {
    "seams_job": ("seams", "job_id"),
    "signals_seam": ("signals", "seam_record"),
    "events_job": ("events", "job_id"),
    "part_offsets_job": ("part_offsets", "job_id"),
}
#: The process signals as written by ``WeldLog.add_signals`` and read into ``SignalTrace``.
SIGNAL_COLUMNS: tuple[Column, ...] = SIGNALS[2:]

#: Inspection states of a seam record (``weldcell log inspect``).
INSPECTION_STATES = ("pending", "accepted", "rejected")

# SQLite type -> PostgreSQL type (applied in this order, whole words)
_PG_TYPES = (
    (r"\bINTEGER PRIMARY KEY\b", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
    (r"\bINTEGER\b", "BIGINT"),
    (r"\bREAL\b", "DOUBLE PRECISION"),
)


def column_sql(col: Column, dialect: str = "sqlite") -> str:
    """The column's type and constraints in ``dialect`` (``sqlite`` or ``postgresql``)."""
    if dialect not in DIALECTS:
        raise ValueError(f"SQL dialect {dialect!r}: expected one of {DIALECTS}")
    sql = col.sql
    if dialect == "postgresql":
        for pat, rep in _PG_TYPES:
            sql = re.sub(pat, rep, sql)
    return sql


def table_sql(table: str, dialect: str = "sqlite") -> list[str]:
    """The statements that create ``table`` and its indexes in ``dialect`` (idempotent)."""
    body = ",\n    ".join(f"{c.name} {column_sql(c, dialect)}" for c in TABLES[table])
    out = [f"CREATE TABLE IF NOT EXISTS {table}(\n    {body}\n)"]
    out += [
        f"CREATE INDEX IF NOT EXISTS {name} ON {t}({col})" for name, (t, col) in INDEXES.items() if t == table
    ]
    return out


def schema_sql(dialect: str = "sqlite") -> str:
    """The SQL that creates every table and index of the current version (idempotent)."""
    parts = ["CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"]
    for table in TABLES:
        parts += [stmt + ";" for stmt in table_sql(table, dialect)]
    return "\n".join(parts) + "\n"


def select_list(cols: Sequence[Column]) -> str:
    """``a, b, c``: the columns of a query by name (never ``*``: migrations may reorder columns)."""
    return ", ".join(c.name for c in cols)


def _opt(conv: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda v: None if v is None else conv(v)


_CONVERT: dict[str, Callable[[Any], Any]] = {
    "int": int,
    "int?": _opt(int),
    "float": float,
    "float?": _opt(float),
    "str": str,
    "str?": _opt(str),
    "json_list": lambda v: tuple(json.loads(v or "[]")),
    "json_dict": lambda v: json.loads(v or "{}"),
}


def convert_row(cols: Sequence[Column], row: Sequence[Any]) -> list[Any]:
    """The Python values of a row selected with :func:`select_list` of ``cols``."""
    return [_CONVERT[c.kind](v) for c, v in zip(cols, row, strict=True)]


def units_of(cols: Sequence[Column]) -> dict[str, str]:
    """Column name -> unit, for the columns that have one (the exports' unit table)."""
    return {c.name: c.unit for c in cols if c.unit}


def migrate(db: Connection, version: int) -> int:
    """Bring a log of schema ``version`` to :data:`SCHEMA_VERSION` in one transaction.

    ``db`` is a SQLAlchemy connection outside a transaction. Returns the number of steps applied.

    The caller refuses logs newer than :data:`SCHEMA_VERSION` before calling this.

    Raises:
        ValueError: ``version`` is newer than this code (a caller's mistake).
        KeyError: no migration from some version on the way (a gap in :data:`MIGRATIONS`).
    """
    if version > SCHEMA_VERSION:
        raise ValueError(f"schema version {version} is newer than {SCHEMA_VERSION}")
    if version == SCHEMA_VERSION:
        return 0
    with db.begin():
        for v in range(version, SCHEMA_VERSION):
            for stmt in MIGRATIONS[v]:
                # "@table": create that table (and its indexes) from its column spec in this dialect
                for sql in table_sql(stmt[1:], db.dialect.name) if stmt.startswith("@") else [stmt]:
                    db.exec_driver_sql(sql)
        db.execute(text("UPDATE meta SET value=:v WHERE key='schema_version'"), {"v": str(SCHEMA_VERSION)})
    return SCHEMA_VERSION - version
