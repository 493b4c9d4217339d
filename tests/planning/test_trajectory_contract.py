"""The trajectory artifact: construction checks, save/load round trip, tamper detection."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from weldcell.errors import InputShapeError, TrajectoryFormatError
from weldcell.trajectory import ArcEvent, JointTrajectory, load_trajectory, save_trajectory


def _traj(N: int = 50) -> JointTrajectory:
    t = np.arange(N) * 0.002
    q = np.stack([np.sin(t * (j + 1)) for j in range(6)], axis=1)
    qd = np.stack([(j + 1) * np.cos(t * (j + 1)) for j in range(6)], axis=1)
    arc = (t > 0.02) & (t < 0.08)
    return JointTrajectory(
        robot="ur5e",
        joint_names=tuple(f"joint_{i}" for i in range(6)),
        dt=0.002,
        t=t,
        q=q,
        qd=qd,
        qdd=np.zeros((N, 6)),
        T_world_tcp=np.tile(np.eye(4), (N, 1, 1)),
        arc_on=arc,
        seam_index=np.where(arc, 0, -1),
        seam_s=np.where(arc, t * 0.01, np.nan),
        T_world_base=np.eye(4),
        T_flange_tcp=np.eye(4),
        seam_ids=("s1",),
        events=(ArcEvent(0.022, "arc_on", "s1"), ArcEvent(0.078, "arc_off", "s1", 0.00078)),
        program_hash="abc",
        travel_speed={"s1": 0.01},
    )


def test_round_trip(tmp_path: Path) -> None:
    tr = _traj()
    p = save_trajectory(tr, tmp_path / "t.npz")
    back = load_trajectory(p)
    assert back.content_hash() == tr.content_hash()
    np.testing.assert_array_equal(back.q, tr.q)
    np.testing.assert_array_equal(back.arc_on, tr.arc_on)
    assert back.events == tr.events
    assert back.travel_speed == {"s1": 0.01}
    assert not back.q.flags.writeable


def test_at_time_interpolates_and_clamps() -> None:
    tr = _traj()
    q, _, _ = tr.at_time(0.003)
    np.testing.assert_allclose(q, 0.5 * (tr.q[1] + tr.q[2]), atol=1e-12)
    np.testing.assert_allclose(tr.at_time(99.0)[0], tr.q[-1])
    np.testing.assert_allclose(tr.at_time(-1.0)[0], tr.q[0])


def test_sample_resamples_on_new_period() -> None:
    tr = _traj()
    t, q = tr.sample(0.004)
    assert t[1] == pytest.approx(0.004)
    np.testing.assert_allclose(q[1], tr.q[2], atol=1e-12)


def test_shape_errors_name_the_field() -> None:
    tr = _traj()
    with pytest.raises(InputShapeError, match=r"JointTrajectory\.qd: expected shape \(50, 6\)"):
        JointTrajectory(**{**_fields(tr), "qd": np.zeros((50, 5))})
    with pytest.raises(InputShapeError, match="NaN"):
        JointTrajectory(**{**_fields(tr), "q": np.full((50, 6), np.nan)})


def test_tampered_file_is_rejected(tmp_path: Path) -> None:
    tr = _traj()
    p = save_trajectory(tr, tmp_path / "t.npz")
    with np.load(p) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["q"] = arrays["q"] + 0.01
    with p.open("wb") as f:
        np.savez(f, **arrays)
    with pytest.raises(TrajectoryFormatError, match="content hash mismatch"):
        load_trajectory(p)


def test_garbage_file_is_rejected(tmp_path: Path) -> None:
    p = tmp_path / "x.npz"
    p.write_text("hello")
    with pytest.raises(TrajectoryFormatError, match="not a weldcell trajectory"):
        load_trajectory(p)
    with pytest.raises(TrajectoryFormatError, match="not found"):
        load_trajectory(tmp_path / "missing.npz")


def _fields(tr: JointTrajectory) -> dict[str, object]:
    return {name: getattr(tr, name) for name in JointTrajectory.__dataclass_fields__}
