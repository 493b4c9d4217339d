"""Deprecated alias of :mod:`weldcell.trajectory.stamp` (the validation stamp moved below planning).

Kept importable so that code written against ``weldcell.planning.stamp`` keeps working; import from
:mod:`weldcell.trajectory.stamp` instead. This module will be removed.
"""

from weldcell.trajectory.stamp import (
    FROM_ENVIRONMENT,
    KEY_BYTES,
    KEYED,
    REQUIRED_FIELDS,
    STAMP_KEY_ENV,
    STAMP_SCHEMA,
    UNKEYED,
    KeySource,
    StampKey,
    _signature,
    canonical_bytes,
    create_stamp_key,
    load_stamp_key,
    model_entries,
    read_stamp,
    resolve_stamp_key,
    stamp_path,
    verify_stamp,
)

__all__ = [
    "FROM_ENVIRONMENT",
    "KEYED",
    "KEY_BYTES",
    "REQUIRED_FIELDS",
    "STAMP_KEY_ENV",
    "STAMP_SCHEMA",
    "UNKEYED",
    "KeySource",
    "StampKey",
    "_signature",
    "canonical_bytes",
    "create_stamp_key",
    "load_stamp_key",
    "model_entries",
    "read_stamp",
    "resolve_stamp_key",
    "stamp_path",
    "verify_stamp",
]
