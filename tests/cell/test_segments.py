"""Splitting trajectories into moves and seam blocks; rest-to-rest continuation for restarts."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from cellsynth import make_trajectory

from weldcell.cell.segments import (
    MoveStep,
    SeamStep,
    continue_from,
    index_at_s,
    job_steps,
    restart_index,
    slice_trajectory,
)


def test_job_steps_alternate_moves_and_seams() -> None:
    tr = make_trajectory()
    steps = job_steps(tr)
    kinds = [type(s).__name__ for s in steps]
    assert kinds == ["MoveStep", "SeamStep", "MoveStep", "SeamStep", "MoveStep"]
    assert steps[0].i0 == 0 and steps[-1].i1 == tr.n_samples - 1
    for a, b in itertools.pairwise(steps):
        assert a.i1 == b.i0  # contiguous, sharing the rest sample
    sa = steps[1]
    assert isinstance(sa, SeamStep)
    assert (sa.seam_id, sa.segment, sa.s0) == ("A", 0, 0.0) and 0.02 < sa.s1 < 0.04
    assert sa.s1 == pytest.approx(np.nanmax(tr.seam_s[tr.seam_index == 0]))
    assert tr.arc_on[sa.i0] and tr.arc_on[sa.i1] and not tr.arc_on[sa.i0 - 1]
    # dwell: robot at rest from i0 to weld0; crater: at rest from weld1 to i1
    np.testing.assert_array_equal(tr.q[sa.i0], tr.q[sa.weld0])
    np.testing.assert_array_equal(tr.q[sa.weld1], tr.q[sa.i1])
    assert sa.weld0 - sa.i0 == 25 and sa.i1 - sa.weld1 == 25


def test_slice_keeps_samples_and_rebases_time() -> None:
    tr = make_trajectory()
    st = job_steps(tr)[1]
    sl = slice_trajectory(tr, st.i0, st.i1)
    assert sl.n_samples == st.i1 - st.i0 + 1 and sl.t[0] == 0.0
    np.testing.assert_array_equal(sl.q, tr.q[st.i0 : st.i1 + 1])
    assert [e.kind for e in sl.events] == ["arc_on", "arc_off"] and sl.events[0].t == 0.0


def test_continue_from_starts_at_rest_on_the_path_and_ends_at_the_plan() -> None:
    tr = make_trajectory()
    st = job_steps(tr)[1]
    assert isinstance(st, SeamStep)
    i_r = index_at_s(tr, st, 0.012)
    assert tr.seam_s[i_r] >= 0.012 and tr.seam_s[i_r - 1] < 0.012
    cont, u = continue_from(tr, i_r, st.i1, dwell_samples=10)
    np.testing.assert_array_equal(cont.q[:11], np.repeat(tr.q[i_r][None], 11, 0))
    np.testing.assert_array_equal(cont.q[-1], tr.q[st.i1])
    assert np.all(np.diff(u) >= 0) and np.all(np.diff(u) <= 1.0 + 1e-12)
    # speed ramps smoothly: no velocity step larger than the planned max acceleration allows
    qd_step = np.abs(np.diff(cont.qd, axis=0)).max()
    assert qd_step <= np.abs(np.diff(tr.qd, axis=0)).max() * 1.5 + 1e-9
    # arc length is continuous from the restart point to the end (no gap)
    assert cont.seam_s[0] == pytest.approx(tr.seam_s[i_r])
    assert np.nanmax(np.diff(cont.seam_s)) <= np.nanmax(np.diff(tr.seam_s[st.i0 : st.i1 + 1])) + 1e-12
    assert cont.arc_on.all() and cont.events[0].kind == "arc_on"


def test_moves_are_at_rest_at_both_ends() -> None:
    tr = make_trajectory()
    for st in job_steps(tr):
        if isinstance(st, MoveStep):
            assert np.allclose(tr.qd[st.i0], 0.0, atol=1e-6) or st.i0 == 0
            assert not tr.arc_on[st.i0 + 1 : st.i1].any()


def test_restart_index_covers_at_least_the_programmed_overlap_forward_and_backward() -> None:
    import dataclasses

    tr = make_trajectory()
    st = job_steps(tr)[1]
    assert isinstance(st, SeamStep) and st.forward
    seg = tr.seam_s[st.weld0 : st.weld1 + 1]
    spacing = float(np.nanmax(np.abs(np.diff(seg))))
    rng = np.random.default_rng(7)
    # restart points between samples (the usual case), exactly on samples, and outside the block
    targets = [*rng.uniform(st.s0, st.s1, 40), *seg[1:-1:37], st.s0 - 1e-3, st.s1 + 1e-3]
    for s in targets:
        i = restart_index(tr, st, float(s))
        assert st.weld0 <= i <= st.weld1
        s_i = float(tr.seam_s[i])
        if seg[0] <= s <= seg[-1]:
            # at or before the restart point: the restart re-welds all of the programmed overlap
            assert s_i <= s + 1e-12, (s, s_i)
            assert s - s_i < spacing + 1e-12
            if i < st.weld1:
                assert tr.seam_s[i + 1] > s  # the last such sample, never further back
    # a seam welded backwards: seam arc length falls along the weld, "before" is a larger s
    on = tr.seam_index == 0
    length = float(np.nanmax(tr.seam_s[on]))
    seam_s = tr.seam_s.copy()
    seam_s[on] = length - seam_s[on]
    rev = dataclasses.replace(tr, seam_s=seam_s)
    sr = job_steps(rev)[1]
    assert isinstance(sr, SeamStep) and not sr.forward
    for s in rng.uniform(sr.s1, sr.s0, 40):
        i = restart_index(rev, sr, float(s))
        assert rev.seam_s[i] >= s - 1e-12 and rev.seam_s[i] - s < spacing + 1e-12
        if i < sr.weld1:
            assert rev.seam_s[i + 1] < s


def test_restart_index_steps_back_from_the_first_sample_past_the_restart_point() -> None:
    tr = make_trajectory()
    st = job_steps(tr)[1]
    assert isinstance(st, SeamStep)
    i_first = index_at_s(tr, st, 0.012)  # the first sample that reached 0.012 m: past it
    assert tr.seam_s[i_first] > 0.012
    assert restart_index(tr, st, 0.012) == i_first - 1
    # a restart point exactly on a sample restarts from that sample
    assert restart_index(tr, st, float(tr.seam_s[i_first])) == i_first
