"""The job's timeline: pieces of samples appended in time order, then one :class:`JointTrajectory`.

Used by the robot-only planner (:func:`weldcell.planning.planner._assemble`) and by the planner of
cells with a positioner or track (:func:`weldcell.planning.external_timeline.assemble`): both append
transits, index moves and welds (arc-start dwell, weld, crater fill, with their arc events) to a
:class:`TimelineBuilder`, with or without external axes, and :meth:`TimelineBuilder.build` makes the
trajectory. The builder only concatenates what it is given; it plans nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from weldcell.errors import InputShapeError
from weldcell.trajectory import ArcEvent, ExternalAxes, JointTrajectory
from weldcell.trajectory.types import hand_over

NDArrayF = npt.NDArray[np.float64]
PosesFn = Callable[[], NDArrayF]  # world TCP poses (m, 4, 4) of a piece, computed when it is joined


class TimelineBuilder:
    """Pieces of a job's timeline in time order (robot joints, optionally external axes).

    Consecutive pieces with the arc off that start where the previous one ended (robot joints and,
    with external axes, the axes within 1e-12) share that sample: the duplicate is dropped.

    Args:
        n_joints: Number of robot joints n.
        dt: Sample period [s].
        external: The pieces carry external-axis positions (``qe`` of :meth:`add` is required).
    """

    def __init__(self, n_joints: int, dt: float, *, external: bool = False) -> None:
        self.n_joints = n_joints
        self.dt = dt
        self.external = external
        self.count = 0
        self.events: list[ArcEvent] = []
        self._q: list[NDArrayF] = []
        self._qd: list[NDArrayF] = []
        self._qdd: list[NDArrayF] = []
        self._qe: list[NDArrayF] = []
        self._T: list[NDArrayF | PosesFn | None] = []
        self._arc: list[npt.NDArray[np.bool_]] = []
        self._seam_index: list[npt.NDArray[np.int32]] = []
        self._seam_s: list[NDArrayF] = []

    def add(
        self,
        q: NDArrayF,
        qd: NDArrayF,
        qdd: NDArrayF,
        T: NDArrayF | PosesFn | None = None,
        on: bool = False,
        seam: int = -1,
        s: NDArrayF | None = None,
        qe: NDArrayF | None = None,
    ) -> int:
        """Append a piece; returns the index of its first sample (shared with the previous piece).

        Args:
            q, qd, qdd: Robot joints [rad, rad/s, rad/s²], shape (m, n).
            T: World TCP poses, shape (m, 4, 4), or a function computing them when the trajectory
                is built (then only one piece's poses are alive at a time: memory, issue #14); None:
                from the joints when the trajectory is built.
            on: The arc is on.
            seam: Index into the job's seam ids while the arc is on, -1 otherwise.
            s: Arc length along the seam [m], shape (m,); None: NaN.
            qe: External axes [rad or m], shape (m, k) (required with ``external``, else None).
        """
        if (qe is None) == self.external:
            raise InputShapeError("TimelineBuilder.add: qe is required with external axes and only then")
        first = self.count
        if (
            self._q
            and not on
            and len(q) > 1
            and np.allclose(self._q[-1][-1], q[0], atol=1e-12)
            and (qe is None or np.allclose(self._qe[-1][-1], qe[0], atol=1e-12))
        ):
            q, qd, qdd = q[1:], qd[1:], qdd[1:]
            qe = None if qe is None else qe[1:]
            T = None if T is None else _drop_first(T)
            s = None if s is None else s[1:]
            first = self.count - 1
        m = len(q)
        self._q.append(q)
        self._qd.append(qd)
        self._qdd.append(qdd)
        if qe is not None:
            self._qe.append(qe)
        self._T.append(T)
        self._arc.append(np.full(m, on))
        self._seam_index.append(np.full(m, seam, dtype=np.int32))
        self._seam_s.append(np.full(m, np.nan) if s is None else s)
        self.count += m
        return first

    def add_weld(
        self,
        q: NDArrayF,
        qd: NDArrayF,
        qdd: NDArrayF,
        T: NDArrayF | PosesFn,
        s: NDArrayF,
        seam: int,
        seam_id: str,
        n_dwell: int,
        n_crater: int,
        qe: NDArrayF | None = None,
        T_ends: tuple[NDArrayF, NDArrayF] | None = None,
    ) -> int:
        """Append a weld: the arc-start dwell at its first sample, the weld, the crater fill at its
        last sample (robot at rest in both), and its ``arc_on`` / ``arc_off`` events.

        Args:
            q, qd, qdd: The weld's robot joints, shape (m, n).
            T: The weld's world TCP poses, shape (m, 4, 4), or a function computing them (called
                here for the dwell and crater poses unless ``T_ends`` gives them, and again when
                the trajectory is built).
            s: Arc length along the seam [m] of the weld samples, shape (m,).
            seam: Index of the seam in the job's seam ids.
            seam_id: The seam's id (events).
            n_dwell, n_crater: Samples of the arc-start dwell and of the crater fill (≥ 1).
            qe: External axes of the weld samples, shape (m, k) (with ``external``).
            T_ends: The first and the last of the poses ``T``, each shape (1, 4, 4): then a
                function ``T`` is called only when the trajectory is built.

        Returns:
            The index of the weld's first sample (the start of the dwell).
        """
        n = self.n_joints
        self.events.append(
            ArcEvent(t=self.count * self.dt, kind="arc_on", seam_id=seam_id, seam_s=float(s[0]))
        )
        if T_ends is not None:
            T_first, T_last = T_ends
        else:
            T_all = T() if callable(T) else T
            T_first, T_last = T_all[:1].copy(), T_all[-1:].copy()
            del T_all
        z = np.zeros((n_dwell, n))
        first = self.add(
            np.repeat(q[:1], n_dwell, axis=0),
            z,
            z.copy(),
            np.repeat(T_first, n_dwell, axis=0),
            True,
            seam,
            np.full(n_dwell, s[0]),
            None if qe is None else np.repeat(qe[:1], n_dwell, axis=0),
        )
        self.add(q, qd, qdd, T, True, seam, s, qe)
        z = np.zeros((n_crater, n))
        self.add(
            np.repeat(q[-1:], n_crater, axis=0),
            z,
            z.copy(),
            np.repeat(T_last, n_crater, axis=0),
            True,
            seam,
            np.full(n_crater, s[-1]),
            None if qe is None else np.repeat(qe[-1:], n_crater, axis=0),
        )
        self.events.append(
            ArcEvent(t=(self.count - 1) * self.dt, kind="arc_off", seam_id=seam_id, seam_s=float(s[-1]))
        )
        return first

    def joints(self) -> NDArrayF:
        """All robot joint samples so far [rad], shape (N, n)."""
        return np.concatenate(self._q)

    def external_positions(self) -> NDArrayF:
        """All external-axis samples so far [rad or m], shape (N, k) (with ``external``)."""
        return np.concatenate(self._qe)

    def build(
        self,
        *,
        robot: str,
        joint_names: tuple[str, ...],
        nominal_tcp: Callable[[NDArrayF, NDArrayF | None], NDArrayF],
        T_world_base: NDArrayF,
        T_flange_tcp: NDArrayF,
        seam_ids: tuple[str, ...],
        program_hash: str,
        travel_speed: dict[str, float],
        external: Callable[[NDArrayF], ExternalAxes] | None = None,
        joined: Callable[[], None] | None = None,
    ) -> JointTrajectory:
        """The trajectory of the pieces (consumes the builder: its pieces are released as they are joined).

        Args:
            robot: Robot model name.
            joint_names: Robot joint names.
            nominal_tcp: World TCP poses (m, 4, 4) of a piece added without ``T``, from its joints
                (m, n) and its external axes (m, k) (None without external axes); called per piece
                (the whole job's poses at once would be the memory peak of planning).
            T_world_base: The robot base stored in the trajectory [m].
            T_flange_tcp: The TCP in the flange frame [m].
            seam_ids: The job's seam ids.
            program_hash: SHA-256 of the program.
            travel_speed: Programmed travel speed per seam [m/s].
            external: Makes the :class:`ExternalAxes` from all external-axis samples (N, k)
                (required with ``external``).
            joined: Called after each large field is joined and its pieces released (the planner
                reports progress then, and ``weldcell plan`` hands the freed pages back to the
                system before the next field is allocated: memory, issue #14).
        """
        if (external is None) == self.external:
            raise InputShapeError(
                "TimelineBuilder.build: external is required with external axes and only then"
            )
        # memory (issue #14): the builder is consumed; each field's pieces are joined and then
        # released, so that the weld samples are not alive three times over (pieces, joined array,
        # the trajectory's copy) at the peak of planning
        qe_all = self.external_positions() if self.external else None
        qes: list[NDArrayF | None] = list(self._qe) if self.external else [None] * len(self._q)
        self._qe.clear()
        # the poses are computed and copied in one piece at a time (pieces given as functions and
        # the moves' poses from FK are never all alive at once: memory, issue #14)
        T_nom = np.empty((self.count, 4, 4))
        at = 0
        for T, x, e in zip(self._T, self._q, qes, strict=True):
            piece = nominal_tcp(x, e) if T is None else (T() if callable(T) else T)
            T_nom[at : at + len(x)] = piece
            at += len(x)
            del piece
        del qes
        self._T.clear()
        hand_over(T_nom)
        step = joined or (lambda: None)
        step()
        q = _join(self._q)
        step()
        qd = _join(self._qd)
        step()
        qdd = _join(self._qdd)
        step()
        return JointTrajectory(
            robot=robot,
            joint_names=joint_names,
            dt=self.dt,
            t=hand_over(np.asarray(np.arange(len(q)) * self.dt, dtype=np.float64)),
            q=q,
            qd=qd,
            qdd=qdd,
            T_world_tcp=T_nom,
            arc_on=_join(self._arc),
            seam_index=_join(self._seam_index),
            seam_s=_join(self._seam_s),
            T_world_base=T_world_base,
            T_flange_tcp=T_flange_tcp,
            seam_ids=seam_ids,
            events=tuple(self.events),
            program_hash=program_hash,
            travel_speed=travel_speed,
            external=None if external is None or qe_all is None else external(qe_all),
        )


def _join(pieces: list[npt.NDArray[Any]]) -> npt.NDArray[Any]:
    """``np.concatenate(pieces)``, emptying ``pieces`` (their memory is released once joined); the
    joined array is handed over to the trajectory, which stores it without a copy (issue #14)."""
    out = np.concatenate(pieces)
    pieces.clear()
    return hand_over(out)


def _drop_first(T: NDArrayF | PosesFn) -> NDArrayF | PosesFn:
    """``T`` without its first pose (an array, or a function of the poses)."""
    if callable(T):
        fn = T
        return lambda: fn()[1:]
    return T[1:]
