"""External axes (positioner / track) in the trajectory type and file format (schema 2)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from weldcell.errors import InputShapeError, TrajectoryFormatError
from weldcell.trajectory import ExternalAxes, JointTrajectory, load_trajectory, save_trajectory


def _traj(n: int = 20, external: bool = True) -> JointTrajectory:
    dt = 0.002
    q = np.linspace(0.0, 0.1, n)[:, None] * np.ones((1, 6))
    ext = None
    if external:
        qe = np.stack([np.linspace(0.0, 0.5, n), np.linspace(0.0, -0.2, n)], axis=1)
        ext = ExternalAxes(
            device="tilt_rotate_2ax",
            role="positioner",
            names=("tilt", "rotate"),
            kinds=("revolute", "revolute"),
            q=qe,
            qd=np.gradient(qe, dt, axis=0),
            qdd=np.zeros_like(qe),
            T_world_base=np.eye(4),
        )
    return JointTrajectory(
        robot="ur5e",
        joint_names=tuple(f"j{i}" for i in range(6)),
        dt=dt,
        t=np.arange(n) * dt,
        q=q,
        qd=np.zeros_like(q),
        qdd=np.zeros_like(q),
        T_world_tcp=np.tile(np.eye(4), (n, 1, 1)),
        arc_on=np.zeros(n, bool),
        seam_index=np.full(n, -1, np.int32),
        seam_s=np.full(n, np.nan),
        T_world_base=np.eye(4),
        T_flange_tcp=np.eye(4),
        external=ext,
    )


def test_round_trip_keeps_external_axes(tmp_path: Path) -> None:
    tr = _traj()
    back = load_trajectory(save_trajectory(tr, tmp_path / "t.npz"))
    assert back.external is not None and tr.external is not None
    assert back.external.names == ("tilt", "rotate")
    np.testing.assert_array_equal(back.external.q, tr.external.q)
    assert back.content_hash() == tr.content_hash()


def test_hash_covers_external_axes_and_robot_only_hash_is_unchanged() -> None:
    a, b = _traj(), _traj(external=False)
    assert a.content_hash() != b.content_hash()
    assert a.external is not None
    moved = a.external.with_positions(a.external.q + 1e-9, a.dt)
    c = a.with_samples(a.q, a.T_world_tcp, q_ext=moved.q)
    d = a.with_samples(a.q, a.T_world_tcp, q_ext=a.external.q)
    assert c.content_hash() != d.content_hash()


def test_with_samples_requires_q_ext_exactly_when_external() -> None:
    a, b = _traj(), _traj(external=False)
    with pytest.raises(InputShapeError, match="q_ext"):
        a.with_samples(a.q, a.T_world_tcp)
    with pytest.raises(InputShapeError, match="q_ext"):
        b.with_samples(b.q, b.T_world_tcp, q_ext=np.zeros((b.n_samples, 1)))


def test_resample_carries_external_axes() -> None:
    a = _traj(n=21)
    r = a.resample(0.004)
    assert r.q_ext is not None and r.q_ext.shape == (len(r.t), 2)
    np.testing.assert_allclose(r.q_ext[-1], a.external.q[-1] if a.external else None)
    assert _traj(external=False).resample(0.004).q_ext is None


def test_shape_mismatch_refused() -> None:
    a = _traj()
    assert a.external is not None
    with pytest.raises(InputShapeError, match="external"):
        JointTrajectory(
            **{
                f: getattr(a, f)
                for f in (
                    "robot",
                    "joint_names",
                    "dt",
                    "t",
                    "q",
                    "qd",
                    "qdd",
                    "T_world_tcp",
                    "arc_on",
                    "seam_index",
                    "seam_s",
                    "T_world_base",
                    "T_flange_tcp",
                )
            },
            external=a.external.with_positions(a.external.q[:-1], a.dt),
        )
    with pytest.raises(InputShapeError, match="kinds"):
        ExternalAxes(
            "x",
            "positioner",
            ("a",),
            ("spherical",),
            np.zeros((2, 1)),
            np.zeros((2, 1)),
            np.zeros((2, 1)),
            np.eye(4),
        )


def test_version_1_file_still_read(tmp_path: Path) -> None:
    tr = _traj(external=False)
    p = save_trajectory(tr, tmp_path / "v1.npz")
    with np.load(p) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(bytes(arrays["meta"]).decode())
    assert meta["schema"] == "weldcell.trajectory/2"
    meta["schema"] = "weldcell.trajectory/1"
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    old = tmp_path / "old.npz"
    np.savez_compressed(old, **arrays)
    back = load_trajectory(old)
    assert back.external is None and back.content_hash() == tr.content_hash()


def test_external_meta_without_arrays_refused(tmp_path: Path) -> None:
    p = save_trajectory(_traj(), tmp_path / "t.npz")
    with np.load(p) as z:
        arrays = {k: z[k] for k in z.files if k != "qdd_ext"}
    bad = tmp_path / "bad.npz"
    np.savez_compressed(bad, **arrays)
    with pytest.raises(TrajectoryFormatError, match="q_ext"):
        load_trajectory(bad)
