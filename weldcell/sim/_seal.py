"""The validator's seal on its reports: only ``weldcell.sim.validate`` makes reports that can be stamped.

A :class:`~weldcell.sim.report.ValidationReport` built by :func:`weldcell.sim.validate.validate_in_scene`
carries ``seal``: an HMAC, under a secret drawn when this process imported the module, over the
report's summary. :func:`weldcell.sim.stamping.write_validation_stamp` only stamps a report whose
seal matches, so a report built by hand, or copied with ``dataclasses.replace`` and a change (for
example ``violations=()``), is refused. This module is private to ``weldcell.sim`` (an
import-linter contract forbids importing it from anywhere else).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import Any

_PROCESS_SECRET = secrets.token_bytes(32)


def seal_of(summary: dict[str, Any]) -> str:
    """The seal of a report with this summary (``ValidationReport.summary()``)."""
    data = json.dumps(summary, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hmac.new(_PROCESS_SECRET, data, hashlib.sha256).hexdigest()


def is_sealed(summary: dict[str, Any], seal: str) -> bool:
    """Whether ``seal`` is the validator's seal over ``summary``."""
    return hmac.compare_digest(seal_of(summary), seal)
