"""The weave registry: one class per pattern, and every consumer goes through it."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from weldcell.errors import ProgramError
from weldcell.program import load_program, save_program
from weldcell.program.model import Weave
from weldcell.program.schema import WeaveSpec
from weldcell.program.weaves import WEAVE_PARAMETERS, WEAVE_PATTERNS, weave_pattern
from weldcell.toolpath import weave_corner_times, weave_offsets

ROOT = Path(__file__).resolve().parents[2]


def _weave(name: str, a: float, f: float, extra: float) -> Weave:
    p = weave_pattern(name)
    values = {"dwell": 0.2 * extra / f, "height": 2.0 * extra * a, "longitudinal": extra * a}
    used = {WEAVE_PARAMETERS[k][0]: values[WEAVE_PARAMETERS[k][0]] for k in p.parameters}
    return Weave(pattern=name, amplitude=a, frequency=f, **used)


def test_schema_and_registry_name_the_same_patterns() -> None:
    literal = WeaveSpec.model_json_schema()["properties"]["pattern"]["enum"]
    assert literal == list(WEAVE_PATTERNS)
    with pytest.raises(KeyError, match="expected one of zigzag, sine"):
        weave_pattern("spiral")


@settings(max_examples=25, deadline=None)
@given(
    name=st.sampled_from(sorted(WEAVE_PATTERNS)),
    a=st.floats(0.5e-3, 6e-3),
    f=st.floats(0.3, 4.0),
    extra=st.floats(0.1, 1.0),
)
def test_offsets_are_periodic_and_the_peak_speed_bounds_the_motion(
    name: str, a: float, f: float, extra: float
) -> None:
    w = _weave(name, a, f, extra)
    p = weave_pattern(name)
    t = np.linspace(0.0, 2.0 / f, 20001)
    off = weave_offsets(w, t)
    assert off.shape == (t.size, 3)
    assert np.allclose(weave_offsets(w, t + 1.0 / f), off, atol=1e-12)  # one cycle later: the same
    assert np.abs(off[:, 1]).max() == pytest.approx(a, rel=1e-3)  # ±A across the joint
    speed = np.linalg.norm(np.diff(off, axis=0), axis=1) / np.diff(t)
    peak = p.peak_speed(w)
    assert speed.max() <= peak * (1 + 1e-6)
    if name != "figure_eight":  # figure_eight's figure is an upper bound; the others are exact
        assert speed.max() >= peak * 0.999


@settings(max_examples=25, deadline=None)
@given(name=st.sampled_from(sorted(WEAVE_PATTERNS)), f=st.floats(0.3, 4.0), extra=st.floats(0.1, 1.0))
def test_corners_are_exactly_where_the_velocity_jumps(name: str, f: float, extra: float) -> None:
    w = _weave(name, 3e-3, f, extra)
    p = weave_pattern(name)
    corners = weave_corner_times(w, 3.0 / f)
    assert bool(corners.size) == p.has_corners
    eps = 1e-7 / f
    for tc in corners:
        before = (weave_offsets(w, [tc])[0] - weave_offsets(w, [tc - eps])[0]) / eps
        after = (weave_offsets(w, [tc + eps])[0] - weave_offsets(w, [tc])[0]) / eps
        assert np.linalg.norm(after - before) > 0.1 * p.peak_speed(w)
    # between corners the motion is straight: the midpoint of each piece lies on its chord
    if p.has_corners:
        knots = np.concatenate([[0.0], corners, [3.0 / f]])
        for t0, t1 in itertools.pairwise(knots):
            o0, om, o1 = weave_offsets(w, [t0, 0.5 * (t0 + t1), t1])
            assert np.allclose(om, 0.5 * (o0 + o1), atol=1e-12)


def _with_weave(tmp_path: Path, weave: dict[str, object]) -> Path:
    data = yaml.safe_load((ROOT / "programs" / "demo_tjoint.yaml").read_text())
    name = next(iter(data["procedures"]))
    data["procedures"][name]["weave"] = weave
    data["procedures"][name]["travel_speed_mm_s"] = 5
    out = tmp_path / "weave.yaml"
    out.write_text(yaml.safe_dump(data))
    return out


@pytest.mark.parametrize("name", list(WEAVE_PATTERNS))
def test_every_pattern_loads_saves_and_reloads_with_its_own_parameters(tmp_path: Path, name: str) -> None:
    weave: dict[str, object] = {"pattern": name, "amplitude_mm": 2.0, "frequency_hz": 1.0}
    for field_name in weave_pattern(name).parameters:
        weave[field_name] = {"dwell_s": 0.1, "height_mm": 1.5, "longitudinal_mm": 1.0}[field_name]
    prog = load_program(_with_weave(tmp_path, weave))
    (tmp_path / "out").mkdir()
    saved = save_program(prog, tmp_path / "out" / "again.yaml")
    again = load_program(saved)
    assert again.procedures == prog.procedures
    text = yaml.safe_load(saved.read_text())
    written = next(p["weave"] for p in text["procedures"].values() if "weave" in p)
    assert set(written) == {"pattern", "amplitude_mm", "frequency_hz", *weave_pattern(name).parameters}


@pytest.mark.parametrize(("name", "field", "value"), [("sine", "dwell_s", 0.1), ("zigzag", "height_mm", 1.0)])
def test_a_parameter_the_pattern_does_not_take_is_refused_naming_who_takes_it(
    tmp_path: Path, name: str, field: str, value: float
) -> None:
    weave = {"pattern": name, "amplitude_mm": 2.0, "frequency_hz": 1.0, field: value}
    with pytest.raises(ProgramError) as err:
        load_program(_with_weave(tmp_path, weave))
    takes = [n for n, p in WEAVE_PATTERNS.items() if field in p.parameters]
    assert field in str(err.value) and all(n in str(err.value) for n in takes) and name in str(err.value)
