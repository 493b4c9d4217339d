"""The timeline builder shared by the robot-only and the external-axis planners: shared end samples,
weld blocks with their events, the nominal TCP of pieces without poses, external axes."""

from __future__ import annotations

import numpy as np
import pytest

from weldcell.errors import InputShapeError
from weldcell.planning.timeline import TimelineBuilder
from weldcell.trajectory import ExternalAxes


def _line(q0: float, q1: float, m: int, n: int = 2) -> np.ndarray:
    return np.repeat(np.linspace(q0, q1, m)[:, None], n, axis=1)


def _tcp(q: np.ndarray, _e: np.ndarray | None) -> np.ndarray:
    T = np.repeat(np.eye(4)[None], len(q), axis=0)
    T[:, 0, 3] = q[:, 0]
    return T


def test_pieces_share_end_samples_and_welds_carry_their_events() -> None:
    tl = TimelineBuilder(2, 0.01)
    z = np.zeros((1, 2))
    assert tl.add(z, z, z) == 0
    q = _line(0.0, 0.3, 4)
    assert tl.add(q, np.zeros_like(q), np.zeros_like(q)) == 0  # starts on the home sample: shared
    assert tl.count == 4
    w = _line(0.3, 0.5, 5)
    T = _tcp(w, None) + 1.0
    s = np.linspace(0.0, 0.02, 5)
    first = tl.add_weld(w, np.ones_like(w), np.zeros_like(w), T, s, 1, "b", n_dwell=3, n_crater=2)
    assert first == 4 and tl.count == 4 + 3 + 5 + 2  # the arc-on pieces never share a sample
    back = _line(0.5, 0.0, 6)
    before = tl.count
    assert tl.add(back, np.zeros_like(back), np.zeros_like(back)) == before - 1  # shares the crater's end
    traj = tl.build(
        robot="ur5e", joint_names=("a", "b"), nominal_tcp=_tcp, T_world_base=np.eye(4),
        T_flange_tcp=np.eye(4), seam_ids=("a", "b"), program_hash="", travel_speed={"b": 0.01},
    )  # fmt: skip
    assert traj.n_samples == 4 + 10 + 5 and np.array_equal(traj.t, np.arange(19) * 0.01)
    on = np.flatnonzero(traj.arc_on)
    assert on.tolist() == list(range(4, 14)) and set(traj.seam_index[on]) == {1}
    assert np.all(traj.seam_index[~traj.arc_on] == -1) and np.all(np.isnan(traj.seam_s[~traj.arc_on]))
    np.testing.assert_array_equal(traj.seam_s[4:7], 0.0)  # dwell at the start
    np.testing.assert_array_equal(traj.seam_s[12:14], 0.02)  # crater fill at the end
    np.testing.assert_array_equal(traj.qd[4:7], 0.0)
    np.testing.assert_array_equal(traj.qd[7:12], 1.0)
    np.testing.assert_array_equal(traj.T_world_tcp[7:12], T)
    np.testing.assert_array_equal(traj.T_world_tcp[:4, 0, 3], traj.q[:4, 0])  # nominal from the joints
    (a_on, a_off) = traj.events
    assert (a_on.kind, a_on.t, a_on.seam_s) == ("arc_on", pytest.approx(0.04), 0.0)
    assert (a_off.kind, a_off.t, a_off.seam_s) == ("arc_off", pytest.approx(0.13), 0.02)


def test_external_axes_decide_the_shared_sample_too() -> None:
    tl = TimelineBuilder(2, 0.01, external=True)
    z = np.zeros((1, 2))
    tl.add(z, z, z, qe=np.zeros((1, 1)))
    # an index move: the robot stands, the axis moves; its first sample equals home in both
    qe = np.linspace(0.0, 1.0, 5)[:, None]
    zz = np.zeros((5, 2))
    assert tl.add(zz, zz, zz, qe=qe) == 0 and tl.count == 5
    # a robot move starting at the same joints but another axis position: not shared
    q = _line(0.0, 0.2, 3)
    assert tl.add(q, np.zeros_like(q), np.zeros_like(q), qe=np.zeros((3, 1))) == 5 and tl.count == 8

    def axes(qe_all: np.ndarray) -> ExternalAxes:
        return ExternalAxes(
            device="turntable_1ax", role="positioner", names=("table",), kinds=("revolute",),
            q=qe_all, qd=np.zeros_like(qe_all), qdd=np.zeros_like(qe_all), T_world_base=np.eye(4),
        )  # fmt: skip

    seen: list[np.ndarray] = []

    def nominal(x: np.ndarray, e: np.ndarray | None) -> np.ndarray:
        assert e is not None and len(e) == len(x)
        seen.append(e)
        return _tcp(x, e)

    traj = tl.build(
        robot="ur5e", joint_names=("a", "b"), nominal_tcp=nominal, T_world_base=np.eye(4),
        T_flange_tcp=np.eye(4), seam_ids=(), program_hash="", travel_speed={}, external=axes,
    )  # fmt: skip
    assert traj.external is not None and traj.external.q.shape == (8, 1)
    np.testing.assert_array_equal(traj.external.q[:5, 0], np.linspace(0.0, 1.0, 5))
    assert len(seen) == 3
    with pytest.raises(InputShapeError, match="qe"):
        tl.add(q, q, q)
    with pytest.raises(InputShapeError, match="qe"):
        TimelineBuilder(2, 0.01).add(q, q, q, qe=np.zeros((3, 1)))
    with pytest.raises(InputShapeError, match="external"):
        tl.build(
            robot="ur5e", joint_names=("a", "b"), nominal_tcp=nominal, T_world_base=np.eye(4),
            T_flange_tcp=np.eye(4), seam_ids=(), program_hash="", travel_speed={},
        )  # fmt: skip


def test_poses_given_as_a_function_are_computed_at_build_and_equal_the_array() -> None:
    """A weld's poses may be a function (memory, issue #14): the same trajectory as with the array,
    the function called for the dwell and crater poses and again at build, once per piece; a piece
    of the arc-off kind given as a function loses its shared first sample like an array."""

    def build(lazy: bool) -> tuple[object, list[str]]:
        calls: list[str] = []
        tl = TimelineBuilder(2, 0.01)
        z = np.zeros((1, 2))
        tl.add(z, z, z)
        w = _line(0.0, 0.5, 7)
        T = _tcp(w, None) + 2.0

        def weld_poses() -> np.ndarray:
            calls.append("weld")
            return T.copy()

        tl.add_weld(w, np.ones_like(w), np.zeros_like(w), weld_poses if lazy else T,
                    np.linspace(0.0, 0.03, 7), 0, "a", n_dwell=2, n_crater=3)  # fmt: skip
        back = _line(0.5, 0.0, 5)
        T_back = _tcp(back, None) - 1.0

        def back_poses() -> np.ndarray:
            calls.append("back")
            return T_back.copy()

        tl.add(back, np.zeros_like(back), np.zeros_like(back), back_poses if lazy else T_back)
        assert calls == (["weld"] if lazy else [])  # the dwell and crater poses, at add_weld
        traj = tl.build(
            robot="ur5e", joint_names=("a", "b"), nominal_tcp=_tcp, T_world_base=np.eye(4),
            T_flange_tcp=np.eye(4), seam_ids=("a",), program_hash="", travel_speed={"a": 0.01},
        )  # fmt: skip
        return traj, calls

    eager, _ = build(False)
    lazy, calls = build(True)
    assert calls == ["weld", "weld", "back"]
    for name in ("q", "qd", "qdd", "T_world_tcp", "arc_on", "seam_index", "t"):
        np.testing.assert_array_equal(getattr(lazy, name), getattr(eager, name), err_msg=name)
    np.testing.assert_array_equal(lazy.T_world_tcp[-4:], _tcp(_line(0.5, 0.0, 5), None)[1:] - 1.0)
    assert not lazy.T_world_tcp.flags.writeable
