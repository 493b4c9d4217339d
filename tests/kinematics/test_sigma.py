"""The compiled singularity measure against numpy's SVD, and its saturated fast path."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from weldcell.errors import InputShapeError
from weldcell.kinematics import load_robot, singularity_distance_from_jacobian
from weldcell.kinematics._sigma import _inverse_lower_bound, sigma_min_batch


def _numpy_measure(J: np.ndarray, reach: float) -> np.ndarray:
    scale = np.array([1.0 / reach] * 3 + [1.0] * 3)[:, None]
    return np.linalg.svd(J * scale, compute_uv=False)[..., -1]


def _configurations(robot, n: int, seed: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Random configurations, a third of them within 1e-3 rad of the wrist or elbow singularity."""
    rng = np.random.default_rng(seed)
    Q = rng.uniform(robot.q_lower, robot.q_upper, (n, robot.n_joints))
    k = n // 6
    Q[:k, 4] = rng.normal(0.0, 1e-3, k)
    Q[k : 2 * k, 2] = rng.normal(0.0, 1e-3, k)
    return Q


@pytest.mark.parametrize("name", ["ur3e", "ur10e", "ur16e", "kr6_r900"])
def test_measure_matches_numpy_svd(name: str) -> None:
    robot = load_robot(name)
    Q = _configurations(robot, 600, 1)
    want = _numpy_measure(robot.jacobian(Q), robot.reach)
    got = robot.singularity_distance(Q)
    assert got.shape == (600,)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-13)
    # the validator's path (a given Jacobian) is the same routine
    np.testing.assert_array_equal(singularity_distance_from_jacobian(robot.jacobian(Q), robot.reach), got)
    assert robot.singularity_distance(Q.reshape(20, 30, -1)).shape == (20, 30)


@pytest.mark.parametrize("threshold", [0.005, 0.05, 0.15])
def test_saturated_values_are_exact_below_the_threshold(threshold: float) -> None:
    robot = load_robot("ur5e")
    Q = _configurations(robot, 900, 2)
    exact = robot.singularity_distance(Q)
    fast = robot.singularity_distance(Q, exact_below=threshold)
    np.testing.assert_array_equal(fast, np.minimum(exact, threshold))
    assert np.any(exact < threshold) and np.any(exact > threshold)


def test_wider_jacobians_and_bad_input() -> None:
    rng = np.random.default_rng(3)
    J = rng.normal(size=(50, 6, 7))
    np.testing.assert_allclose(
        singularity_distance_from_jacobian(J, 1.3), _numpy_measure(J, 1.3), rtol=0, atol=1e-13
    )
    J[3, 2, 1] = np.nan
    with pytest.raises(InputShapeError, match="NaN"):
        singularity_distance_from_jacobian(J, 1.3)
    robot = load_robot("ur5e")
    with pytest.raises(InputShapeError):
        robot.singularity_distance(np.full(6, np.nan))


@settings(max_examples=200, deadline=None)
@given(arrays(np.float64, (6, 6), elements=st.floats(-3.0, 3.0)))
def test_the_skip_bound_is_a_lower_bound_within_sqrt6(A: np.ndarray) -> None:
    sigma = np.linalg.svd(A, compute_uv=False)[-1]
    bound = _inverse_lower_bound(A.copy(), np.empty((6, 6)), np.empty((6, 6)))
    scale = max(1.0, float(np.linalg.norm(A, 2)))
    # where the bound can decide (thresholds are ≥ 1e-3 on matrices of norm ~1; condition ≤ 1e6),
    # it never claims more than the true σ_min, with the kernel's safety factor
    if bound >= 1e-6 * scale:
        assert bound * (1.0 - 1e-9) <= sigma
    if sigma > 1e-6 * scale:
        assert bound >= sigma / np.sqrt(6.0) * (1.0 - 1e-9)
    got = sigma_min_batch(A[None], np.ones(6), np.inf)[0]
    assert abs(got - sigma) <= 1e-12 * max(1.0, np.linalg.norm(A, 2))


# --- the path fast path: samples proven by a Lipschitz bound from the last evaluated one ---------

_PATH_ROBOTS = ["ur5e", "ur16e", "kr6_r900", "crx10ial", "irb1520id", "srs7"]


def _paths(robot, seed: int) -> list[np.ndarray]:  # type: ignore[no-untyped-def]
    """Dense joint paths (2 000 samples): smooth, through the wrist singularity, with a jump."""
    rng = np.random.default_rng(seed)
    lo = np.maximum(np.asarray(robot.q_lower), -np.pi)
    hi = np.minimum(np.asarray(robot.q_upper), np.pi)
    t = np.linspace(0.0, 1.0, 2000)[:, None]
    a, b = rng.uniform(lo, hi, (2, robot.n_joints))
    smooth = a + 0.3 * t * (b - a) + 0.02 * np.sin(20.0 * t)
    wrist = smooth.copy()
    wrist[:, 4] = -0.02 + 0.04 * t[:, 0]  # crosses q5 = 0 (a wrist singularity of the 6R arms)
    jump = smooth.copy()
    jump[1000:] += 0.5  # a step the bound cannot bridge
    return [smooth, wrist, jump]


@pytest.mark.parametrize("name", _PATH_ROBOTS)
def test_path_fast_path_gives_the_same_values(name: str) -> None:
    robot = load_robot(name)
    for k, path in enumerate(_paths(robot, 11)):
        for threshold in (0.005, 0.05, 0.3):
            want = robot.singularity_distance(path, exact_below=threshold)
            got = robot.singularity_distance(path, exact_below=threshold, along_path=True)
            np.testing.assert_array_equal(got, want, err_msg=f"{name} path {k} threshold {threshold}")
    # exact everywhere without a threshold; batches of paths keep their shape
    path = _paths(robot, 12)[0][:300]
    np.testing.assert_array_equal(
        robot.singularity_distance(path, along_path=True), robot.singularity_distance(path)
    )
    assert robot.singularity_distance(path.reshape(3, 100, -1), exact_below=0.01, along_path=True).shape == (
        3,
        100,
    )


@pytest.mark.parametrize("name", _PATH_ROBOTS)
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), step=st.floats(1e-6, 0.3))
def test_lipschitz_bound_of_the_measure(name: str, seed: int, step: float) -> None:
    """|σ(q + δ) - σ(q)| ≤ Σ_k L_k |δ_k| for random configurations and steps of any size."""
    robot = load_robot(name)
    rng = np.random.default_rng(seed)
    q = _configurations(robot, 60, seed)
    dq = rng.normal(size=q.shape) * step
    change = np.abs(robot.singularity_distance(q + dq) - robot.singularity_distance(q))
    bound = np.sum(robot._sigma_lip * np.abs(dq), axis=1)
    assert np.all(change <= bound * (1.0 + 1e-9) + 1e-14)
