"""JointTrajectory's shared operations: arc segments, resampling to a controller cycle, with_samples."""

from __future__ import annotations

import numpy as np
import pytest

import weldcell.planning.margins as old_margins
import weldcell.planning.stamp as old_stamp
import weldcell.planning.trajectory as old_trajectory
import weldcell.trajectory as tr
from weldcell.errors import InputShapeError
from weldcell.trajectory import ArcEvent, JointTrajectory, margins, stamp

DT = 0.002


def _traj(arc: np.ndarray, seam_index: np.ndarray | None = None, n_joints: int = 6) -> JointTrajectory:
    n = arc.shape[0]
    t = np.arange(n) * DT
    q = np.stack([np.sin(3.0 * t * (j + 1)) for j in range(n_joints)], axis=1)
    si = np.where(arc, 0, -1).astype(np.int32) if seam_index is None else seam_index
    return JointTrajectory(
        robot="kr6_r900",
        joint_names=tuple(f"a{j + 1}" for j in range(n_joints)),
        dt=DT,
        t=t,
        q=q,
        qd=np.zeros((n, n_joints)),
        qdd=np.zeros((n, n_joints)),
        T_world_tcp=np.tile(np.eye(4), (n, 1, 1)),
        arc_on=arc,
        seam_index=si,
        seam_s=np.where(arc, t * 0.01, np.nan),
        T_world_base=np.diag([1.0, -1.0, -1.0, 1.0]),  # hanging mount
        T_flange_tcp=np.eye(4),
        seam_ids=("fillet", "lap"),
        program_hash="p",
        travel_speed={"fillet": 0.008, "lap": 0.01},
        metadata={"figures": 1},
    )


def test_arc_segments_name_their_seams() -> None:
    arc = np.zeros(40, dtype=bool)
    arc[0:5] = True  # a run at the very start
    arc[10:20] = True
    arc[30:40] = True  # and one to the very end
    si = np.full(40, -1, dtype=np.int32)
    si[0:5], si[10:20], si[30:40] = 1, 0, -1  # the last run names no seam
    segs = _traj(arc, si).arc_segments()
    assert [(s.first, s.last, s.seam_index, s.seam_id) for s in segs] == [
        (0, 4, 1, "lap"),
        (10, 19, 0, "fillet"),
        (30, 39, -1, None),
    ]
    assert _traj(np.zeros(7, dtype=bool)).arc_segments() == ()


def test_resample_at_the_own_period_returns_the_samples() -> None:
    arc = np.zeros(30, dtype=bool)
    arc[8:20] = True
    traj = _traj(arc)
    r = traj.resample(DT, 5, 25)
    np.testing.assert_array_equal(r.q, traj.q[5:25])
    np.testing.assert_array_equal(r.arc_on, traj.arc_on[5:25])
    np.testing.assert_allclose(r.t, np.arange(20) * DT)


@pytest.mark.parametrize("cycle", [0.004, 0.012, 0.003])
def test_resample_to_a_slower_controller_cycle(cycle: float) -> None:
    arc = np.zeros(101, dtype=bool)
    arc[20:61] = True
    traj = _traj(arc)
    r = traj.resample(cycle, 10, 101)
    duration = 90 * DT
    assert r.t[-1] == pytest.approx(duration)
    np.testing.assert_allclose(np.diff(r.t)[:-1], cycle, atol=1e-12)
    np.testing.assert_allclose(r.q[0], traj.q[10])
    np.testing.assert_allclose(r.q[-1], traj.q[100])
    k = cycle / DT
    if float(k).is_integer():  # set-points fall on samples
        idx = 10 + np.arange(r.t.shape[0] - 1) * int(k)
        np.testing.assert_allclose(r.q[:-1], traj.q[idx], atol=1e-12)
    # arc flag of the sample at or before each set-point: on exactly while the plan is on
    src = 10 + np.floor(r.t / DT + 1e-9).astype(int)
    np.testing.assert_array_equal(r.arc_on, traj.arc_on[np.minimum(src, 100)])
    assert r.arc_on.any() and not r.arc_on[0] and not r.arc_on[-1]


def test_resample_refuses_bad_slices_and_cycles() -> None:
    traj = _traj(np.zeros(10, dtype=bool))
    with pytest.raises(InputShapeError, match="slice"):
        traj.resample(0.004, 5, 5)
    with pytest.raises(InputShapeError, match="slice"):
        traj.resample(0.004, 0, 11)
    with pytest.raises(InputShapeError, match="cycle"):
        traj.resample(0.0, 0, 10)


def test_with_samples_keeps_placement_and_defaults_to_transit() -> None:
    arc = np.zeros(20, dtype=bool)
    arc[5:10] = True
    traj = _traj(arc)
    t = np.arange(12) * DT
    q = np.stack([t**2] * 6, axis=1)
    new = traj.with_samples(q, np.tile(np.eye(4), (12, 1, 1)))
    assert new.robot == traj.robot and new.dt == traj.dt and new.seam_ids == traj.seam_ids
    np.testing.assert_array_equal(new.T_world_base, traj.T_world_base)
    assert new.program_hash == "p" and new.travel_speed == traj.travel_speed
    assert new.metadata == {}  # the planner's figures describe the original
    assert not new.arc_on.any() and np.all(new.seam_index == -1) and np.all(np.isnan(new.seam_s))
    assert new.events == ()
    np.testing.assert_allclose(new.qd[1:-1, 0], 2 * t[1:-1], atol=1e-9)
    assert not new.qd[[0, -1]].any()
    np.testing.assert_allclose(new.t, t)
    ev = (ArcEvent(0.0, "arc_on", "fillet"), ArcEvent(11 * DT, "arc_off", "fillet"))
    welded = traj.with_samples(
        q,
        np.tile(np.eye(4), (12, 1, 1)),
        arc_on=np.ones(12, dtype=bool),
        seam_index=np.zeros(12, dtype=np.int32),
        seam_s=np.linspace(0, 0.01, 12),
        events=ev,
    )
    assert welded.arc_segments()[0].seam_id == "fillet" and welded.events == ev
    with pytest.raises(InputShapeError, match="T_world_tcp"):
        traj.with_samples(q, np.tile(np.eye(4), (11, 1, 1)))


def test_arc_event_kind_is_a_weldcell_error() -> None:
    with pytest.raises(InputShapeError, match="arc_on"):
        ArcEvent(0.0, "arc_maybe", "s")


def test_deprecated_planning_modules_are_aliases_of_the_trajectory_layer() -> None:
    assert old_trajectory.JointTrajectory is tr.JointTrajectory
    assert old_trajectory.load_trajectory is tr.load_trajectory
    assert old_stamp.verify_stamp is stamp.verify_stamp and old_stamp.StampKey is stamp.StampKey
    assert old_margins.MIN_SINGULARITY == margins.MIN_SINGULARITY
    assert set(old_stamp.__all__) <= set(dir(stamp))


def test_frozen_samples_are_shared_other_arrays_copied() -> None:
    """Memory (issue #14): a trajectory made from another one's frozen samples (``replace``) shares
    them; a caller's array, even a read-only one or a read-only view, is copied, so that no caller can
    change a trajectory afterwards; a handed-over array is stored as it is and frozen."""
    from dataclasses import replace

    from weldcell.trajectory.types import hand_over

    arc = np.r_[np.zeros(5, bool), np.ones(10, bool), np.zeros(5, bool)]
    a = _traj(arc)
    b = replace(a, metadata={"figures": 2})
    for name in ("t", "q", "qd", "qdd", "T_world_tcp", "arc_on", "seam_index", "seam_s"):
        assert getattr(b, name) is getattr(a, name), name
    assert b.metadata == {"figures": 2} and a.metadata == {"figures": 1}
    # a caller's arrays: copied, whether writable, read-only or a read-only view of a writable one
    q = a.q.copy()
    frozen_by_caller = a.q.copy()
    frozen_by_caller.flags.writeable = False
    base = a.q.copy()
    view = base[:]
    view.flags.writeable = False
    for given in (q, frozen_by_caller, view):
        c = replace(a, q=given)
        assert not np.shares_memory(c.q, given) and not c.q.flags.writeable
    from_view = replace(a, q=view)
    base[0, 0] = 99.0  # changing the view's base does not reach the trajectory
    assert from_view.q[0, 0] == a.q[0, 0] != 99.0
    # a float32 array of a frozen trajectory's is converted (and so copied)
    assert replace(a, seam_s=a.seam_s.astype(np.float32)).seam_s.dtype == np.float64
    # handed over: stored without a copy, read-only from then on
    owned = a.q.copy()
    d = replace(a, q=hand_over(owned))
    assert d.q is owned and not owned.flags.writeable
    with pytest.raises(ValueError):
        owned[0, 0] = 1.0
    # a view is not handed over (it is copied when stored)
    part = np.zeros((40, 6))[::2]
    assert hand_over(part).flags.writeable and replace(a, q=part).q is not part
