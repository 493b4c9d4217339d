"""Shared fixtures of the KUKA tests: the KR 10 R1420 test program, planned and validated once."""

from __future__ import annotations

import pytest
from kuka_helpers import PROGRAM
from streaming_helpers import Validated, plan_and_validate


@pytest.fixture(scope="session")
def kr10_validated(tmp_path_factory: pytest.TempPathFactory) -> Validated:
    """Plan (``weldcell plan``) and validate (``weldcell validate``) the KR 10 test program."""
    return plan_and_validate(PROGRAM, tmp_path_factory.mktemp("kr10"))
