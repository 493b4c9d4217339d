"""The PostgreSQL server the weld-log tests use (``WELDCELL_TEST_PG_URL``, started by scripts/postgres.sh).

Each test gets its own PostgreSQL schema on that server (through the connection's ``search_path``),
dropped afterwards, so tests running in parallel never see each other's tables.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import pytest

PG_URL_ENV = "WELDCELL_TEST_PG_URL"


def pg_server_url() -> str:
    """The server URL; fails in CI (CI=true) when it is not set, skips with the reason elsewhere."""
    url = os.environ.get(PG_URL_ENV, "")
    if not url:
        why = f"no PostgreSQL server for the weld-log tests: {PG_URL_ENV} is not set (scripts/postgres.sh)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI: {why}; .ci/run must start it")
        pytest.skip(why)
    return url


@contextmanager
def pg_schema_url() -> Iterator[str]:
    """A weld-log URL on the test server whose tables live in a fresh schema (dropped on exit)."""
    import psycopg

    base = pg_server_url()
    schema = f"weldlog_{uuid.uuid4().hex[:12]}"
    dsn = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
