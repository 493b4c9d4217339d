"""``--opcua`` on ``weldcell cell run`` and ``weldcell demo``: a bad endpoint fails first, in one line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

Run = Callable[..., tuple[int, str]]


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:4840", "opc.tcp://127.0.0.1:70000"])
def test_bad_opcua_endpoint_is_refused_before_anything_starts(
    weldcell: Run, tmp_path: Path, endpoint: str
) -> None:
    code, text = weldcell(
        "cell",
        "run",
        Path(__file__).resolve().parents[2] / "programs" / "demo_tjoint.yaml",
        "--robot",
        "virtual",
        "--powersource",
        "modbus://127.0.0.1:5020",
        "--out",
        tmp_path / "out",
        "--opcua",
        endpoint,
    )
    assert code == 2 and "--opcua" in text and "opc.tcp://HOST:PORT" in text, text
    assert not (tmp_path / "out").exists()
    code, text = weldcell("demo", "--out", tmp_path / "demo", "--opcua", endpoint)
    assert code == 2 and "--opcua" in text, text
    assert not (tmp_path / "demo").exists()
