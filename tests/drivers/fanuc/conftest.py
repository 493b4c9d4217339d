"""Shared fixtures of the FANUC tests: the ARC Mate example program, planned and validated once."""

from __future__ import annotations

import pytest
from fanuc_helpers import PROGRAM
from streaming_helpers import Validated, plan_and_validate


@pytest.fixture(scope="session")
def arcmate_validated(tmp_path_factory: pytest.TempPathFactory) -> Validated:
    """Plan (``weldcell plan``) and validate (``weldcell validate``) the ARC Mate example program."""
    return plan_and_validate(PROGRAM, tmp_path_factory.mktemp("arcmate"), in_process=True)
