"""Touch sensing on the cell: guarded search moves, part registration, and the corrected program.

For every search of a program's touch pattern (:class:`weldcell.program.model.TouchPattern`) the cell

1. moves the wire tip to the search start (a joint move from where the robot stands, planned with
   the cell's collision checker when one is given, approved like every cell move);
2. switches touch sensing on (:meth:`PowerSource.set_touch_sensing`) and checks that the wire does
   not already touch;
3. moves the tip along the search direction at the search speed (a straight line, closed-form IK on
   every sample, trapezoidal speed) while polling the robot's actual joints and the power source's
   ``touch_contact`` every cycle; on contact it stops the robot and takes the contact position as
   the tip position (robot FK + the cell's TCP) at the middle of the power-source poll interval in
   which contact appeared (the joints are interpolated in time from the polled history);
   After the first contact the torch backs off ``fine_backoff`` (1.5 mm) and searches again at
   ``fine_speed`` (2 mm/s): the contact point is taken from this slow search, so the search speed
   costs no accuracy (the poll interval at 2 mm/s is 0.01 mm of travel);
4. without contact over the whole distance it stops with :class:`TouchSenseError`
   ``"no contact within N mm"``; a contact further than ``max_offset`` from the nominal surface is
   refused the same way;
5. switches sensing off and backs off along the search line to the search start (or ``retract``
   from the contact when that is farther), the collision-free way it came in.

The touched points and the nominal planes the searches aimed at give the part's correction by
least squares (:func:`weldcell.spatial.registration.register_points_to_planes`: translation and
rotation; directions the pattern does not observe stay nominal). :func:`program_with_part_pose`
applies it to the part's bodies and seams; the job is then planned and validated again before
anything is welded (:func:`weldcell.app.touchjob.touch_and_weld`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from weldcell.cell.approval import MotionApprover
from weldcell.cell.joinmove import plan_cell_move
from weldcell.errors import TouchSenseError, UnreachableError
from weldcell.spatial.registration import Registration, register_points_to_planes
from weldcell.trajectory import JointTrajectory

if TYPE_CHECKING:
    from pathlib import Path

    from weldcell.drivers.base import ExecutionHandle, RobotDriver
    from weldcell.drivers.powersource import PowerSource
    from weldcell.kinematics import Robot
    from weldcell.planning.collision import CollisionChecker
    from weldcell.program.model import Program, TouchPattern, TouchSearch
    from weldcell.trajectory.stamp import KeySource, StampKey

NDArrayF = npt.NDArray[np.float64]
log = logging.getLogger(__name__)

#: Acceleration ramp of a search move [s] (rest to search speed).
SEARCH_RAMP = 0.05
#: Share of the joint acceleration limits a search or back-off line may use (its ramp is stretched
#: when the arm's pose needs more: a long arm near its base turns fast for a small tip motion).
LINE_ACCELERATION_SHARE = 0.8
#: Torch-to-cell clearance [m] the search and back-off lines are validated with: the torch works
#: next to the part as it does when welding (the wire itself may touch the workpiece; the contact
#: tip keeps the nozzle clearance of every move).
TOUCH_CLEARANCE = 0.002


@dataclass(frozen=True, slots=True)
class TouchPoint:
    """One contact.

    Attributes:
        search: Index of the search in its pattern.
        p_world: Wire-tip position at contact (robot FK + the cell's TCP) [m], shape (3,).
        travel: Search travel to contact [m].
        expected: Travel to the nominal surface [m].
    """

    search: int
    p_world: NDArrayF
    travel: float
    expected: float


@dataclass(frozen=True, slots=True)
class PartRegistration:
    """The measured pose of one part.

    Attributes:
        part: Workpiece body name.
        T_world_part_nominal: Pose in the program (4, 4).
        T_world_part: Measured pose (4, 4).
        points: The contacts.
        fit: The least-squares result (residuals, observed degrees of freedom).
    """

    part: str
    T_world_part_nominal: NDArrayF
    T_world_part: NDArrayF
    points: tuple[TouchPoint, ...]
    fit: Registration

    @property
    def offset(self) -> tuple[NDArrayF, float]:
        """(translation of the part origin [m] (3,), rotation angle [rad]) from nominal to measured."""
        dp = self.T_world_part[:3, 3] - self.T_world_part_nominal[:3, 3]
        R = self.T_world_part_nominal[:3, :3].T @ self.T_world_part[:3, :3]
        angle = float(np.arccos(np.clip((np.trace(R) - 1.0) / 2.0, -1.0, 1.0)))
        return dp, angle

    def summary(self) -> dict[str, object]:
        """JSON-ready figures in user units (for the weld log and the CLI)."""
        dp, angle = self.offset
        D = self.T_world_part @ np.linalg.inv(self.T_world_part_nominal)
        rv = _rotvec(D[:3, :3])
        return {
            "part": self.part,
            "offset_mm": [round(float(v) * 1e3, 4) for v in dp],
            "rotation_deg": round(float(np.rad2deg(angle)), 4),
            "rotvec_deg": [round(float(np.rad2deg(v)), 4) for v in rv],
            "touches": len(self.points),
            "observed_dof": self.fit.rank,
            "rms_mm": round(self.fit.rms * 1e3, 4),
            "T_world_part": [[round(float(v), 7) for v in row] for row in self.T_world_part],
        }


def _rotvec(R: NDArrayF) -> NDArrayF:
    from weldcell.spatial import rotvec_from_rotation

    return np.asarray(rotvec_from_rotation(R))


def template_trajectory(
    robot_name: str,
    joint_names: tuple[str, ...],
    q: NDArrayF,
    dt: float,
    T_world_base: NDArrayF,
    T_flange_tcp: NDArrayF,
) -> JointTrajectory:
    """A one-sample, arc-off trajectory at ``q`` that carries robot, period and frames for cell moves."""
    n = q.shape[0]
    return JointTrajectory(
        robot=robot_name,
        joint_names=joint_names,
        dt=dt,
        t=np.zeros(1),
        q=q[None].copy(),
        qd=np.zeros((1, n)),
        qdd=np.zeros((1, n)),
        T_world_tcp=(T_world_base @ np.eye(4) @ T_flange_tcp)[None],
        arc_on=np.zeros(1, dtype=bool),
        seam_index=np.full(1, -1, dtype=np.int32),
        seam_s=np.full(1, np.nan),
        T_world_base=T_world_base,
        T_flange_tcp=T_flange_tcp,
    )


def _frame_with_axis(z: NDArrayF, x_hint: NDArrayF) -> NDArrayF:
    """Rotation (3, 3) with z axis ``z`` and x as close to ``x_hint`` as possible."""
    z = z / np.linalg.norm(z)
    x = x_hint - z * float(z @ x_hint)
    if np.linalg.norm(x) < 1e-6:
        x = np.cross(z, [1.0, 0.0, 0.0]) if abs(z[0]) < 0.9 else np.cross(z, [0.0, 1.0, 0.0])
    x = x / np.linalg.norm(x)
    return np.column_stack([x, np.cross(z, x), z])


def line_ik(
    kin: Robot, T_world_base: NDArrayF, T_flange_tcp: NDArrayF, T_world_tcp: NDArrayF, q_near: NDArrayF
) -> NDArrayF:
    """Joint positions (M, n) for TCP poses (M, 4, 4) on one closed-form IK branch: the branch nearest
    ``q_near`` at the first pose, kept for all poses (a straight line never changes branch).

    Raises:
        UnreachableError: a pose has no solution on that branch, or the branch jumps.
    """
    T_base_flange = np.linalg.inv(T_world_base) @ T_world_tcp @ np.linalg.inv(T_flange_tcp)
    sols = np.asarray(kin.ik(T_base_flange))  # (M, B, n)
    d0 = np.linalg.norm(sols[0] - q_near, axis=1)
    d0 = np.where(np.isnan(d0), np.inf, d0)
    b = int(np.argmin(d0))
    if not np.isfinite(d0[b]):
        raise UnreachableError(
            "the touch search start has no inverse-kinematics solution inside the joint limits"
        )
    q = sols[:, b, :]
    if np.any(np.isnan(q)):
        bad = int(np.argmax(np.any(np.isnan(q), axis=1)))
        raise UnreachableError(f"the touch search line leaves the reachable space after {bad} samples")
    q = np.unwrap(q, axis=0)
    if q.shape[0] > 1 and float(np.max(np.abs(np.diff(q, axis=0)))) > 0.2:
        raise UnreachableError("the touch search line passes a singularity (the arm would flip)")
    return q


def line_samples(distance: float, speed: float, dt: float, ramp: float = SEARCH_RAMP) -> NDArrayF:
    """Path positions [m] of a rest-to-rest straight move with a trapezoidal speed, sampled every ``dt``;
    ``ramp`` [s] is the time from rest to ``speed``."""
    ramp = min(ramp, distance / speed)
    acc = speed / ramp
    cruise = max(distance - speed * ramp, 0.0) / speed
    total = 2 * ramp + cruise
    n = max(int(np.ceil(total / dt)), 2) + 1
    t = np.minimum(np.arange(n) * dt, total)
    s = np.where(
        t < ramp,
        0.5 * acc * t**2,
        np.where(
            t < ramp + cruise,
            0.5 * acc * ramp**2 + speed * (t - ramp),
            distance - 0.5 * acc * np.maximum(total - t, 0.0) ** 2,
        ),
    )
    return np.asarray(np.clip(s, 0.0, distance))


class TouchRunner:
    """Runs touch patterns with guarded search moves on connected devices.

    Args:
        robot: Connected robot driver.
        power: Connected power source with touch sensing.
        program: The weld program (cell, nominal part poses, touch patterns).
        approver: Approves every move before it is sent (``SimApprover`` on a real cell).
        search_approver: Approves the search and back-off lines (default ``approver``; a
            ``SimApprover`` with ``ValidationOptions(clearance=TOUCH_CLEARANCE)`` on a real cell).
        T_flange_tcp: The TCP the cell believes in (default: the program's torch TCP).
        checker: Collision checker for the joint moves to the search starts (None: direct moves).
        speed_scale: Fraction of the joint limits for those moves (0, 1].
        poll: Polling period of robot and power source during a search [s].
        fine_speed: Speed of the second, slow search after the first contact [m/s] (0: none).
        fine_backoff: Back-off before the slow search [m].
        say: Progress text callback.
    """

    def __init__(
        self,
        robot: RobotDriver,
        power: PowerSource,
        program: Program,
        approver: MotionApprover,
        *,
        search_approver: MotionApprover | None = None,
        T_flange_tcp: NDArrayF | None = None,
        checker: CollisionChecker | None = None,
        speed_scale: float = 0.3,
        poll: float = 0.002,
        fine_speed: float = 0.002,
        fine_backoff: float = 0.0015,
        say: Callable[[str], None] | None = None,
    ) -> None:
        from weldcell.kinematics import load_robot

        self.robot = robot
        self.power = power
        self.program = program
        self.approver = approver
        self.search_approver = search_approver or approver
        self.kin = load_robot(program.cell.robot)
        self.T_world_base = np.asarray(program.cell.T_world_base)
        self.T_flange_tcp = np.asarray(program.cell.T_flange_tcp if T_flange_tcp is None else T_flange_tcp)
        self.checker = checker
        self.speed_scale = speed_scale
        self.poll = poll
        self.fine_speed = fine_speed
        self.fine_backoff = fine_backoff
        self._say = say or (lambda _m: None)
        self._count = 0

    # --- moves ---------------------------------------------------------------------------------
    def _template(self, q: NDArrayF) -> JointTrajectory:
        return template_trajectory(
            self.kin.name, tuple(self.kin.joint_names), q, self.robot.dt, self.T_world_base, self.T_flange_tcp
        )

    def _run(self, traj: JointTrajectory, label: str) -> ExecutionHandle:
        self._count += 1
        approver = self.approver if label == "approach" else self.search_approver
        approval = approver.approve(traj, f"touch_{self._count:02d}_{label}")
        return self.robot.execute(
            traj, traj_path=approval.path, force_unvalidated=approval.force_unvalidated, start_tolerance=2e-3
        )

    def _line(
        self, q0: NDArrayF, T_world_tcp0: NDArrayF, u: NDArrayF, distance: float, speed: float
    ) -> JointTrajectory:
        dt = self.robot.dt
        ramp = SEARCH_RAMP
        for _ in range(4):  # a longer ramp when the arm's pose needs more joint acceleration than allowed
            s = line_samples(distance, speed, dt, ramp)
            T = np.tile(T_world_tcp0, (s.shape[0], 1, 1))
            T[:, :3, 3] = T_world_tcp0[:3, 3] + s[:, None] * u
            q = line_ik(self.kin, self.T_world_base, self.T_flange_tcp, T, q0)
            if q.shape[0] < 3:
                break
            qdd = np.abs(np.diff(q, 2, axis=0)) / dt**2
            ratio = float(np.max(qdd / (LINE_ACCELERATION_SHARE * self.kin.qdd_max)))
            if ratio <= 1.0:
                break
            ramp *= ratio * 1.05
        return self._template(q0).with_samples(q, T)

    def _wait(self, handle: ExecutionHandle, what: str) -> None:
        result = handle.wait_until_done(timeout=120.0)
        if result.outcome.name != "COMPLETED":
            raise TouchSenseError(f"{what}: the robot did not complete the move ({result.reason})")

    def _tcp(self, q: NDArrayF) -> NDArrayF:
        return np.asarray(self.T_world_base @ self.kin.fk(q) @ self.T_flange_tcp)

    # --- one search ------------------------------------------------------------------------------
    def search(self, pattern: TouchPattern, index: int) -> TouchPoint:
        """Run search ``index`` of ``pattern`` and return the contact.

        Raises:
            TouchSenseError: contact before the search, no contact within the distance, or a contact
                further than the pattern's ``max_offset`` from the nominal surface.
        """
        s: TouchSearch = pattern.searches[index]
        what = f"touch search {index + 1} of part {pattern.part!r}"
        T_wp = np.asarray(self.program.cell.body(pattern.part).T_world_body)
        R_wp = T_wp[:3, :3]
        u = R_wp @ s.direction
        q_now = np.asarray(self.robot.state().q, dtype=np.float64)
        _, q_start = self._start_pose(R_wp @ s.tool_axis, T_wp[:3, :3] @ s.p_part_start + T_wp[:3, 3], q_now)
        approach = plan_cell_move(
            self.kin, self._template(q_now), q_now, q_start, self.checker, speed_scale=self.speed_scale
        )
        self._wait(self._run(approach, "approach"), what)
        q0 = np.asarray(self.robot.state().q, dtype=np.float64)
        line = self._line(q0, self._tcp(q0), u, s.distance, s.speed)
        self.power.set_touch_sensing(True)
        try:
            if self.power.status().touch_contact:
                raise TouchSenseError(f"{what}: the wire already touches the part at the search start")
            q_contact = self._guarded(line, what)
        finally:
            self.power.set_touch_sensing(False)
        if q_contact is None:
            self._back_off(u, self._tcp(q0)[:3, 3], 0.0, s, what)
            raise TouchSenseError(
                f"{what}: no contact within {s.distance * 1e3:.1f} mm (nominal surface at "
                f"{s.expected * 1e3:.1f} mm); is the part there?"
            )
        p = self._tcp(q_contact)[:3, 3]
        if self.fine_speed > 0:
            p = self._fine_search(u, p, what)
        travel = float(u @ (p - self._tcp(q0)[:3, 3]))
        # back to the search start (the validated way in), or ``retract`` from the contact if that is farther
        self._back_off(u, p, max(s.retract, travel), s, what)
        if abs(travel - s.expected) > pattern.max_offset:
            raise TouchSenseError(
                f"{what}: contact after {travel * 1e3:.2f} mm, the nominal surface is at "
                f"{s.expected * 1e3:.2f} mm: more than the allowed {pattern.max_offset * 1e3:.1f} mm off"
            )
        self._say(f"  {what}: contact after {travel * 1e3:.2f} mm (nominal {s.expected * 1e3:.2f} mm)")
        return TouchPoint(index, p, travel, s.expected)

    def _start_pose(self, axis: NDArrayF, p_world: NDArrayF, q_now: NDArrayF) -> tuple[NDArrayF, NDArrayF]:
        """TCP pose (tcp z = ``axis``, free rotation about it) at ``p_world`` and its joints: of 24
        rotations about the axis, the reachable one nearest ``q_now`` in joint space.

        Raises:
            UnreachableError: no rotation about the axis is reachable.
        """
        x0 = self._tcp(q_now)[:3, 0]
        R0 = _frame_with_axis(axis, x0)
        angles = np.linspace(0.0, 2 * np.pi, 24, endpoint=False)
        c, sn = np.cos(angles), np.sin(angles)
        Rz = np.zeros((24, 3, 3))
        Rz[:, 0, 0], Rz[:, 0, 1], Rz[:, 1, 0], Rz[:, 1, 1], Rz[:, 2, 2] = c, -sn, sn, c, 1.0
        T = np.tile(np.eye(4), (24, 1, 1))
        T[:, :3, :3] = R0 @ Rz
        T[:, :3, 3] = p_world
        T_base_flange = np.linalg.inv(self.T_world_base) @ T @ np.linalg.inv(self.T_flange_tcp)
        sols = np.asarray(self.kin.ik(T_base_flange))  # (24, B, n)
        d = np.linalg.norm(sols - q_now, axis=2)
        d = np.where(np.isnan(d), np.inf, d)
        if self.checker is not None:  # only collision-free candidates (all at once, no loop)
            ok = np.isfinite(d)
            free = np.zeros_like(ok)
            if np.any(ok):
                free[ok] = np.asarray(self.checker.check(sols[ok]), dtype=bool)  # True = free
            d = np.where(free, d, np.inf)
        k, b = np.unravel_index(int(np.argmin(d)), d.shape)
        if not np.isfinite(d[k, b]):
            raise UnreachableError(
                f"the touch search start {np.round(p_world * 1e3, 1).tolist()} mm with the torch along "
                f"{np.round(axis, 3).tolist()} is out of reach or in collision at every rotation about "
                "the torch axis; change the search's start_mm or tool_axis"
            )
        return T[k], sols[k, b]

    def _fine_search(self, u: NDArrayF, p_coarse: NDArrayF, what: str) -> NDArrayF:
        """Second, slow search: back off ``fine_backoff`` before the first contact ``p_coarse`` and
        search again at ``fine_speed`` over twice that distance; the precise contact point [m] (3,).

        Raises:
            TouchSenseError: no contact in the slow search (the part moved, or the wire was bent).
        """
        q = np.asarray(self.robot.state().q, dtype=np.float64)
        T = self._tcp(q)
        back = self.fine_backoff + float(u @ (T[:3, 3] - p_coarse))
        self._wait(self._run(self._line(q, T, -u, back, 0.01), "fine_backoff"), what)
        q1 = np.asarray(self.robot.state().q, dtype=np.float64)
        line = self._line(q1, self._tcp(q1), u, 2 * self.fine_backoff, self.fine_speed)
        self.power.set_touch_sensing(True)
        try:
            if self.power.status().touch_contact:
                raise TouchSenseError(
                    f"{what}: the wire still touches {self.fine_backoff * 1e3:.1f} mm before the contact"
                )
            q_fine = self._guarded(line, what)
        finally:
            self.power.set_touch_sensing(False)
        if q_fine is None:
            raise TouchSenseError(
                f"{what}: no contact in the slow search within {2 * self.fine_backoff * 1e3:.1f} mm of the "
                "first contact; is the part moving or the wire bent?"
            )
        return np.asarray(self._tcp(q_fine)[:3, 3])

    def _guarded(self, line: JointTrajectory, what: str) -> NDArrayF | None:
        """Execute the search line, stop on contact; the joints at contact, or None without contact."""
        handle = self._run(line, "search")
        times: list[float] = []
        qs: list[NDArrayF] = []
        last_open = time.monotonic()
        contact_time: float | None = None
        while True:
            st = self.power.status()
            now = time.monotonic()
            times.append(now)
            qs.append(np.asarray(self.robot.state().q, dtype=np.float64))
            if st.touch_contact:
                handle.stop()
                # contact appeared between the last snapshot without it and this one
                contact_time = 0.5 * (last_open + st.timestamp) if st.timestamp > last_open else now
                break
            last_open = max(last_open, st.timestamp)
            if handle.done:
                break
            time.sleep(self.poll)
        handle.wait_until_done(timeout=30.0)
        if contact_time is None:
            return None
        t = np.asarray(times)
        q = np.asarray(qs)
        return np.asarray([np.interp(contact_time, t, q[:, j]) for j in range(q.shape[1])])

    def _back_off(self, u: NDArrayF, p_target: NDArrayF, retract: float, s: TouchSearch, what: str) -> None:
        """Back the tip off along ``-u`` to ``retract`` [m] before ``p_target`` (the contact or the start)."""
        q = np.asarray(self.robot.state().q, dtype=np.float64)
        T = self._tcp(q)
        back = retract + float(u @ (T[:3, 3] - p_target))
        if back <= 1e-4:
            return
        line = self._line(q, T, -u, back, max(s.speed * 4, 0.02))
        self._wait(self._run(line, "retract"), what)

    # --- a pattern ------------------------------------------------------------------------------
    def run_pattern(self, pattern: TouchPattern) -> PartRegistration:
        """All searches of ``pattern`` and the part's measured pose."""
        points = tuple(self.search(pattern, i) for i in range(len(pattern.searches)))
        T_wp = np.asarray(self.program.cell.body(pattern.part).T_world_body)
        fit = register_points_to_planes(
            np.array([p.p_world for p in points]),
            np.array([s.n_part for s in pattern.searches]),
            np.array([s.d_part for s in pattern.searches]),
            T_wp,
        )
        reg = PartRegistration(pattern.part, T_wp, fit.T_world_part, points, fit)
        dp, angle = reg.offset
        self._say(
            f"part {pattern.part!r}: offset [{', '.join(f'{v * 1e3:.2f}' for v in dp)}] mm, "
            f"{np.rad2deg(angle):.2f}° ({fit.rank} of 6 degrees of freedom observed, "
            f"rms {fit.rms * 1e3:.3f} mm)"
        )
        return reg


def locate_parts(
    robot: RobotDriver,
    power: PowerSource,
    program: Program,
    folder: Path,
    *,
    stamp_key: StampKey | KeySource | None = None,
    checker_for: Callable[[Program], CollisionChecker | None] | None = None,
    T_flange_tcp: NDArrayF | None = None,
    approver: MotionApprover | None = None,
    speed_scale: float = 0.5,
    say: Callable[[str], None] | None = None,
) -> tuple[PartRegistration, ...]:
    """Run every touch pattern of ``program`` and return the measured part poses.

    The touch moves are validated in the nominal cell with the touch clearance
    (:data:`TOUCH_CLEARANCE`; ``SimApprover`` writing into ``folder``) unless ``approver`` is given;
    ``checker_for`` builds the collision checker for the moves between searches (from the program
    with the touch clearance).
    """
    from weldcell.cell.approval import SimApprover
    from weldcell.sim.validate import ValidationOptions

    appr = approver or SimApprover(
        program, folder, ValidationOptions(clearance=TOUCH_CLEARANCE), stamp_key=stamp_key
    )
    near = replace(program, cell=replace(program.cell, clearance=TOUCH_CLEARANCE))
    try:
        runner = TouchRunner(
            robot,
            power,
            program,
            appr,
            T_flange_tcp=T_flange_tcp,
            checker=checker_for(near) if checker_for is not None else None,
            speed_scale=speed_scale,
            say=say,
        )
        return tuple(runner.run_pattern(p) for p in program.touch)
    finally:
        if approver is None:
            appr.close()


def record_part_offsets(
    log_path: Path | str, job_id: int, registrations: tuple[PartRegistration, ...]
) -> None:
    """Write the measured offsets of a job's parts into the weld log (``part_offsets`` and a ``touch``
    event per part)."""
    from weldcell.cell.weldlog import WeldLog

    with WeldLog(log_path) as wlog:
        for reg in registrations:
            wlog.add_part_offset(
                job_id,
                reg.part,
                reg.T_world_part_nominal,
                reg.T_world_part,
                rms=reg.fit.rms,
                observed_dof=reg.fit.rank,
                touches=len(reg.points),
            )
            wlog.add_event(job_id, "touch", f"part {reg.part!r} located by touch sensing", data=reg.summary())


def program_with_part_pose(
    program: Program, registrations: list[PartRegistration] | tuple[PartRegistration, ...]
) -> Program:
    """The program with its parts where they were measured.

    With one pattern, every workpiece body and every seam written in a workpiece frame moves with
    the measured part (the assembly is one rigid part); with several, each measured part moves only
    its own body and the seams written in its frame. Seams written in the world frame never move.
    """
    bodies = list(program.cell.bodies)
    seams = list(program.seams)
    work = {b.name for b in bodies if b.role == "workpiece"}
    for reg in registrations:
        D = reg.T_world_part @ np.linalg.inv(reg.T_world_part_nominal)
        moved = work if len(registrations) == 1 else {reg.part}
        bodies = [replace(b, T_world_body=D @ b.T_world_body) if b.name in moved else b for b in bodies]
        seams = [replace(s, T_world_part=D @ s.T_world_part) if s.workpiece in moved else s for s in seams]
    cell = replace(program.cell, bodies=tuple(bodies))
    return replace(program, cell=cell, seams=tuple(seams))


__all__ = [
    "PartRegistration",
    "TouchPoint",
    "TouchRunner",
    "line_ik",
    "line_samples",
    "locate_parts",
    "program_with_part_pose",
    "record_part_offsets",
    "template_trajectory",
]
