"""Every YAML file weldcell reads goes through :mod:`weldcell.program.yamlio`: the same protections
(alias bombs and cycles refused at once, unconvertible scalars as YAML errors) and one clean error of
the reader's own type naming the file, never a hang or a traceback."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from weldcell.cell.calibration import load_points
from weldcell.cell.cellconfig import load_cell_config
from weldcell.drivers.powersource.image import load_process_image
from weldcell.errors import WeldcellError
from weldcell.program.yamlio import MAX_YAML_VALUES, YamlLimitError, check_expansion, safe_load_yaml
from weldcell.sim.scenes import load_scene


def _bomb(levels: int = 9) -> str:
    text = 'a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]\n'
    for i in range(1, levels):
        text += f"{chr(97 + i)}: &{chr(97 + i)} [" + ", ".join([f"*{chr(96 + i)}"] * 9) + "]\n"
    return text


BAD = {
    "bomb": _bomb(),
    "cycle": "format: x\nitems: &a [1, *a]\n",
    "huge_int": "format: " + "7" * 5000 + "\n",
    "empty_float": "format: !!float\n",
}
READERS: dict[str, Callable[[Path], Any]] = {
    "cell_config": load_cell_config,
    "scene": load_scene,
    "process_image": load_process_image,
    "points": load_points,
}


@pytest.mark.parametrize("reader", READERS, ids=list(READERS))
@pytest.mark.parametrize("bad", BAD, ids=list(BAD))
def test_every_reader_refuses_bad_yaml_quickly(tmp_path: Path, reader: str, bad: str) -> None:
    path = tmp_path / f"{reader}.yaml"
    path.write_text(BAD[bad])
    t0 = time.perf_counter()
    with pytest.raises(WeldcellError) as exc:
        READERS[reader](path)
    assert time.perf_counter() - t0 < 2.0
    assert str(path) in str(exc.value)


def test_expansion_is_counted_not_built() -> None:
    node = yaml.compose(_bomb(6), Loader=yaml.SafeLoader)
    sizes = [10]  # list a: itself + 9 scalars; each next list: itself + 9 copies of the previous
    for _ in range(5):
        sizes.append(1 + 9 * sizes[-1])
    assert check_expansion(node) == 1 + sum(1 + s for s in sizes) == 672_610  # mapping + key + value
    with pytest.raises(YamlLimitError, match=f"more than {MAX_YAML_VALUES}"):
        check_expansion(yaml.compose(_bomb(8), Loader=yaml.SafeLoader))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1e-3", 0.001),
        ("2E5", 2e5),
        ("-1.5e1", -15.0),
        (".5e2", 50.0),
        ("1e", "1e"),
        ("12", 12),
        ("0x1F", 31),
    ],
)
def test_yaml_1_2_floats(text: str, value: object) -> None:
    got = safe_load_yaml(f"v: {text}\n")["v"]
    assert got == value and type(got) is type(value)
