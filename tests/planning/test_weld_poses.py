"""Weld sampling shares a segment's tool-path poses between its joint paths (issue 14)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import weldcell.planning.planner as planner
from weldcell.planning import plan_program
from weldcell.planning.weld import PathPoseCache, _path_poses
from weldcell.program import load_program
from weldcell.toolpath import toolpaths_for_program

ROOT = Path(__file__).resolve().parents[2]


def test_pose_cache_returns_the_poses_of_the_segment_and_arc_lengths() -> None:
    program = load_program(ROOT / "programs" / "lap_stitch.yaml")
    segs = toolpaths_for_program(program)
    cache = PathPoseCache()
    a, b = segs[0], segs[1]
    s_a = np.linspace(a.s[0], a.s[-1], 777)
    s_b = np.linspace(b.s[0], b.s[-1], 500)
    first = cache.get(a, a.s, a.T_world_tcp, s_a)
    np.testing.assert_array_equal(first, _path_poses(a, a.s, a.T_world_tcp, s_a))
    assert cache.get(a, a.s, a.T_world_tcp, s_a.copy()) is first  # same segment, same arc lengths
    assert not first.flags.writeable
    # another segment, or other arc lengths of the same one, are computed (not a stale entry)
    np.testing.assert_array_equal(
        cache.get(b, b.s, b.T_world_tcp, s_b), _path_poses(b, b.s, b.T_world_tcp, s_b)
    )
    s_a2 = s_a[:-1]
    np.testing.assert_array_equal(
        cache.get(a, a.s, a.T_world_tcp, s_a2), _path_poses(a, a.s, a.T_world_tcp, s_a2)
    )
    cache.clear()
    assert cache.get(a, a.s, a.T_world_tcp, s_a) is not first


def test_each_joint_path_is_completed_once(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The job-wide configuration choice (run again when the order changes) completes a segment's
    joint path at most once (box_frame: the order changes after the first choice; 25 completions
    before, 18 distinct)."""
    program = load_program(ROOT / "programs" / "box_frame.yaml")
    seen: list[tuple[int, int]] = []
    real = planner._complete_direction

    def counting(robot, checker, seg, reversed_, cell, options, s_way, path, t0, poses=None):  # type: ignore[no-untyped-def]
        seen.append((id(seg), id(path)))
        return real(robot, checker, seg, reversed_, cell, options, s_way, path, t0, poses)

    monkeypatch.setattr(planner, "_complete_direction", counting)
    res = plan_program(program)
    assert res.ok, res.reason
    assert len(seen) == len(set(seen)), "a joint path was completed twice"
    assert len(seen) > len(res.seams)  # alternatives were completed: the shortcut is exercised
