"""Shared fixtures of the ABB tests: the IRB 1520ID test program, planned and validated once."""

from __future__ import annotations

import pytest
from abb_helpers import PROGRAM
from streaming_helpers import Validated, plan_and_validate


@pytest.fixture(scope="session")
def irb1520_validated(tmp_path_factory: pytest.TempPathFactory) -> Validated:
    """Plan (``weldcell plan``) and validate (``weldcell validate``) the IRB 1520ID test program."""
    return plan_and_validate(PROGRAM, tmp_path_factory.mktemp("irb1520id"))
