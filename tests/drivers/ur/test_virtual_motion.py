"""Virtual UR controller motion: trapezoidal profiles, movel/movep/movec/movej blends, speed slider."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weldcell.drivers.ur import models
from weldcell.drivers.ur.virtual.core import ControllerCore, CoreConfig
from weldcell.drivers.ur.virtual.motion import Profile, fk_batch, ik_newton

Q0 = np.array([0.0, -1.8, 1.6, -1.4, -1.57, 0.0])


@given(
    d=st.floats(1e-4, 2.0),
    v=st.floats(1e-3, 2.0),
    a=st.floats(1e-2, 10.0),
    blend_in=st.one_of(st.none(), st.floats(1e-3, 1.0)),
    r=st.floats(0.0, 0.5),
)
@settings(max_examples=200, deadline=None)
def test_profile_reaches_the_distance_monotonically_within_v(
    d: float, v: float, a: float, blend_in: float | None, r: float
) -> None:
    p = Profile.make(d, v, a, blend_in=blend_in, r_out=r * d)
    t = np.linspace(0.0, p.duration, 400)
    s = p.s(t)
    assert s[0] == 0.0 and s[-1] == pytest.approx(d, rel=1e-9, abs=1e-12)
    assert np.all(np.diff(s) >= -1e-12)
    assert np.all(np.diff(s) / np.diff(t) <= p.v * (1 + 1e-6) + 1e-12)
    assert p.v <= v * (1 + 1e-12)
    assert p.decel_start <= p.duration and p.t_in <= p.decel_start + 1e-12


def test_ik_newton_inverts_fk() -> None:
    rng = np.random.default_rng(1)
    arm = models.get_arm("ur10e")
    for _ in range(20):
        q = Q0 + rng.normal(0, 0.3, 6)
        T = fk_batch(arm, q[None])[0]
        got = ik_newton(arm, T, q + rng.normal(0, 0.02, 6))
        assert got is not None and np.allclose(fk_batch(arm, got[None])[0], T, atol=1e-9)


def _core(slider: float = 1.0) -> ControllerCore:
    c = ControllerCore(CoreConfig(arm="ur5e", q_home=tuple(Q0)))
    c.speed_slider = slider
    return c


def _pose(c: ControllerCore, dx: float = 0.0, dy: float = 0.0) -> str:
    p = c.tcp_pose(Q0)
    p[0] += dx
    p[1] += dy
    return "p[" + ", ".join(f"{x:.6f}" for x in p) + "]"


def _run(c: ControllerCore, body: str) -> np.ndarray:
    """Run a program; TCP positions [m] of the target per cycle."""
    assert c.start_program("def t():\n" + body + "end\n", "t") is None
    out = []
    for _ in range(200000):
        if not c.program_running:
            break
        c.step()
        out.append(c.tcp_pose(c.target_q)[:3])
    assert not c.program_running and "finished" in c.log[-1], c.log[-3:]
    return np.array(out)


def test_collinear_movel_blends_keep_the_speed_and_the_line() -> None:
    c = _core()
    v, ramp = 0.01, 0.001
    a = v * v / (2 * ramp)
    body = "".join(f"  movel({_pose(c, 0.01 * k)}, a={a}, v={v}, r=0.002)\n" for k in (1, 2))
    body += f"  movel({_pose(c, 0.03)}, a={a}, v={v}, r=0)\n"
    p = _run(c, body)
    speed = np.linalg.norm(np.diff(p, axis=0), axis=1) / c.cycle
    cruise = speed[int(0.21 / c.cycle) : -int(0.21 / c.cycle)]
    assert cruise.min() > 0.995 * v and speed.max() < 1.005 * v  # no stop at the way points
    assert np.abs(p[:, 1:] - p[0, 1:]).max() < 1e-6  # on the line
    assert len(p) * c.cycle == pytest.approx(0.03 / v + v / a, abs=0.01)  # one trapezoid's time


def test_movel_corner_blend_stays_within_r() -> None:
    c = _core()
    r = 0.003
    p = _run(
        c,
        f"  movel({_pose(c, 0.02)}, a=0.5, v=0.05, r={r})\n"
        f"  movel({_pose(c, 0.02, 0.02)}, a=0.5, v=0.05, r=0)\n",
    )
    p0 = c.tcp_pose(Q0)[:3]
    corner = p0 + np.array([0.02, 0.0, 0.0])
    d = np.linalg.norm(p - corner, axis=1)
    assert d.min() > 0.2 * r and d.min() <= r * math.sin(math.pi / 4) + 1e-6  # cut, within r sin(θ/2)
    speed = np.linalg.norm(np.diff(p, axis=0), axis=1) / c.cycle
    assert speed[np.argmin(d)] > 0.6 * 0.05  # it does not stop at the corner


def test_movec_follows_the_circle_through_via() -> None:
    c = _core()
    p0 = c.tcp_pose(Q0)[:3]
    rad = 0.02
    centre = p0 + np.array([rad, 0.0, 0.0])
    via = _pose(c, rad * (1 - math.cos(math.pi / 4)), rad * math.sin(math.pi / 4))
    p = _run(c, f"  movec({via}, {_pose(c, rad, rad)}, a=0.2, v=0.02, r=0, mode=0)\n")
    dist = np.linalg.norm(p - centre, axis=1)
    assert np.abs(dist - rad).max() < 2e-6
    assert np.allclose(p[-1], centre + np.array([0.0, rad, 0.0]), atol=1e-6)
    length = np.linalg.norm(np.diff(p, axis=0), axis=1).sum()
    assert length == pytest.approx(rad * math.pi / 2, rel=1e-3)


def test_movej_blend_does_not_stop_and_stays_near_the_way_point() -> None:
    c = _core()
    q1 = Q0 + np.array([0.3, 0.0, 0.0, 0.0, 0.0, 0.0])
    q2 = q1 + np.array([0.0, 0.2, 0.0, 0.0, 0.0, 0.0])
    fmt = lambda q: "[" + ", ".join(f"{x:.6f}" for x in q) + "]"  # noqa: E731
    assert (
        c.start_program(
            f"def t():\n  movej({fmt(q1)}, a=2, v=1, r=0.02)\n  movej({fmt(q2)}, a=2, v=1, r=0)\nend\n", "t"
        )
        is None
    )
    qs = []
    while c.program_running:
        c.step()
        qs.append(c.target_q.copy())
    q = np.array(qs)
    assert np.allclose(q[-1], q2, atol=1e-9)
    speed = np.linalg.norm(np.diff(q, axis=0), axis=1) / c.cycle
    k = int(np.argmin(np.linalg.norm(q - q1, axis=1)))
    assert speed[k] > 0.3  # moving through the blend
    arm = models.get_arm("ur5e")
    tcp = fk_batch(arm, q)[:, :3, 3]
    assert np.linalg.norm(tcp - fk_batch(arm, q1[None])[0, :3, 3], axis=1).min() <= 0.02


@pytest.mark.parametrize("cmd", ["movel", "movej", "servoj"])
def test_speed_slider_scales_motion_time(cmd: str) -> None:
    times = []
    for slider in (1.0, 0.5):
        c = _core(slider)
        if cmd == "movel":
            body = f"  movel({_pose(c, 0.02)}, a=0.5, v=0.05, r=0)\n"
        elif cmd == "movej":
            body = "  movej([0.3, -1.8, 1.6, -1.4, -1.57, 0.0], a=2, v=1, r=0)\n"
        else:
            body = "  servoj([0.01, -1.8, 1.6, -1.4, -1.57, 0.0], t=0.2, lookahead_time=0.1, gain=300)\n"
        times.append(len(_run(c, body)) * c.cycle)
    assert times[1] == pytest.approx(2 * times[0], rel=0.02)


def test_stopj_drops_a_pending_blend() -> None:
    c = _core()
    p = _run(c, f"  movel({_pose(c, 0.05)}, a=0.5, v=0.05, r=0.02)\n  stopj(10)\n")
    # stopped before the way point: the blend was dropped, not completed
    assert np.linalg.norm(p[-1] - c.tcp_pose(Q0)[:3]) < 0.05 - 0.015
