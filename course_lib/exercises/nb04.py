"""Exercises of notebook 04 (optimizers and the shape of the clusters).

- ``q1``: ``adam_step(theta, grad, m, v, t, lr, beta_1, beta_2, epsilon)``: one Adam update in
  NumPy (running means, bias correction, per-coordinate step), checked against
  ``keras.optimizers.Adam`` on a tiny variable.
- ``q2``: ``anisotropy(points)``: the largest over the smallest eigenvalue of a 2-D cluster's
  covariance, checked against ``course_lib.evaluate.cluster_anisotropy``.
"""

from __future__ import annotations

import numpy as np

from course_lib.exercises import Exercise, Incorrect
from course_lib.exercises._probe import fmt

__all__ = ["q1", "q2"]


# ---------------------------------------------------------------------------------------------
# q1: one Adam step

_Q1_SOLUTION = '''
import numpy as np


def adam_step(theta, grad, m, v, t, lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    """One Adam update at step t (1, 2, ...): returns the new (theta, m, v)."""
    m = beta_1 * m + (1 - beta_1) * grad                 # running mean of the gradient
    v = beta_2 * v + (1 - beta_2) * grad ** 2            # running mean of its square
    m_hat = m / (1 - beta_1 ** t)                        # bias correction: m, v start at 0
    v_hat = v / (1 - beta_2 ** t)
    theta = theta - lr * m_hat / (np.sqrt(v_hat) + epsilon)
    return theta, m, v
'''

_Q1_HINT = """
Follow the section "Three update rules" line by line, on NumPy arrays: first the two running
means, m = beta_1 * m + (1 - beta_1) * grad and v = beta_2 * v + (1 - beta_2) * grad**2; then
the bias-corrected m_hat = m / (1 - beta_1**t) and v_hat = v / (1 - beta_2**t), with t = 1 at
the first step; then theta - lr * m_hat / (sqrt(v_hat) + epsilon). Return the new theta and
the new (uncorrected) m and v: the next step starts from those.
"""

# The check's gradients: three steps on a 4-coordinate variable, sizes 0.02 to 5 (Adam's steps
# come out about the same for all four), signs that change between steps.
_GRADS = np.array([[0.5, -0.02, 5.0, 1.2],
                   [0.3, -0.03, -4.0, 1.0],
                   [-0.2, -0.025, 4.5, 0.8]])
_THETA0 = np.array([0.1, -0.4, 0.7, 0.0])


def _keras_adam(lr, beta_1, beta_2, epsilon):
    """theta after each step of keras.optimizers.Adam on _GRADS, shape (3, 4)."""
    import keras

    var = keras.Variable(_THETA0.astype("float32"))
    opt = keras.optimizers.Adam(learning_rate=lr, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)
    out = []
    for g in _GRADS:
        opt.apply_gradients([(keras.ops.convert_to_tensor(g.astype("float32")), var)])
        out.append(keras.ops.convert_to_numpy(var).astype(np.float64))
    return np.stack(out)


def _variant(kind, lr, beta_1, beta_2, epsilon):
    """theta after each step of a typical wrong Adam, shape (3, 4)."""
    theta, m, v, out = _THETA0.copy(), np.zeros(4), np.zeros(4), []
    for t, g in enumerate(_GRADS, start=1):
        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * (np.abs(g) if kind == "g not g^2" else g ** 2)
        if kind == "no bias correction":
            m_hat, v_hat = m, v
        else:
            m_hat, v_hat = m / (1 - beta_1 ** t), v / (1 - beta_2 ** t)
        root = v_hat if kind == "no sqrt" else np.sqrt(v_hat)
        step = lr * m_hat / (root + epsilon)
        theta = theta - step
        out.append(theta)
    return np.stack(out)


def _check_adam_step(fn) -> str:
    if not callable(fn):
        raise Incorrect(f"adam_step must be a function, got {type(fn).__name__}")
    lr, beta_1, beta_2, epsilon = 0.01, 0.8, 0.99, 1e-7
    theta, m, v, got = _THETA0.copy(), np.zeros(4), np.zeros(4), []
    for t, g in enumerate(_GRADS, start=1):
        answer = fn(theta.copy(), g.copy(), m.copy(), v.copy(), t, lr=lr, beta_1=beta_1,
                    beta_2=beta_2, epsilon=epsilon)
        if not isinstance(answer, (tuple, list)) or len(answer) != 3:
            raise Incorrect(f"adam_step returns {type(answer).__name__}, expected a tuple "
                            f"(theta, m, v): the next step needs the new m and v too.")
        theta, m, v = (np.asarray(a, dtype=np.float64) for a in answer)
        if theta.shape != (4,) or m.shape != (4,) or v.shape != (4,):
            raise Incorrect(f"for a 4-coordinate theta it returns shapes {theta.shape}, "
                            f"{m.shape}, {v.shape}, expected (4,) each: every coordinate has "
                            f"its own m and v.")
        got.append(theta)
    got = np.stack(got)
    want = _keras_adam(lr, beta_1, beta_2, epsilon)
    moved, want_moved = got - _THETA0, want - _THETA0

    def close(x):
        return np.allclose(x - _THETA0, want_moved, rtol=1e-3, atol=1e-7)

    if not close(got):
        wrong = {kind: _variant(kind, lr, beta_1, beta_2, epsilon)
                 for kind in ("no bias correction", "no sqrt", "g not g^2")}
        if np.allclose(moved, -want_moved, rtol=1e-3, atol=1e-7):
            raise Incorrect("theta moves up the gradient: Adam steps *against* it, "
                            "theta - lr * m_hat / (sqrt(v_hat) + epsilon).")
        if np.allclose(got, wrong["no bias correction"], rtol=1e-3, atol=1e-7):
            raise Incorrect(f"the first step moves theta by {fmt(moved[0])}, expected "
                            f"{fmt(want_moved[0])}: without the bias correction m and v are "
                            f"too small in the first steps (they start at 0); divide by "
                            f"1 - beta_1**t and 1 - beta_2**t (section \"Three update rules\").")
        if np.allclose(got, wrong["no sqrt"], rtol=1e-3, atol=1e-7):
            raise Incorrect("the step divides by v_hat itself: divide by its square root, "
                            "sqrt(v_hat) + epsilon, the coordinate's typical gradient size.")
        if np.allclose(got, wrong["g not g^2"], rtol=1e-3, atol=1e-7):
            raise Incorrect("v averages |grad|, not grad**2: v is the running mean of the "
                            "*square* of the gradient.")
        bad = np.unravel_index(int(np.argmax(np.abs(got - want))), got.shape)
        raise Incorrect(f"with lr={lr}, beta_1={beta_1}, beta_2={beta_2}, after step "
                        f"{bad[0] + 1} coordinate {bad[1]} is {got[bad]:.6f}, "
                        f"keras.optimizers.Adam gives {want[bad]:.6f}.")
    sizes = np.abs(want_moved[0])
    return (f"3 steps of adam_step match keras.optimizers.Adam on a 4-coordinate variable "
            f"(gradients from 0.02 to 5 in size; the first step moves every coordinate by "
            f"{sizes.min():.4f} to {sizes.max():.4f}, about lr = {lr}).")


q1 = Exercise("nb04.q1", "adam_step", _check_adam_step, _Q1_HINT, _Q1_SOLUTION)


# ---------------------------------------------------------------------------------------------
# q2: the anisotropy of one cluster

_Q2_SOLUTION = '''
import numpy as np


def anisotropy(points):
    """Largest over smallest eigenvalue of the covariance of points (N, 2)."""
    cov = np.cov(points, rowvar=False)            # 2x2: one row and column per dimension
    eig = np.linalg.eigvalsh(cov)                 # ascending
    return float(eig[-1] / eig[0])
'''

_Q2_HINT = """
np.cov(points, rowvar=False) is the 2x2 covariance (rowvar=False: the rows of points are the
observations, the columns the dimensions; np.cov centres them for you). Its eigenvalues,
np.linalg.eigvalsh(cov), are the variances along the cluster's own axes, whichever way it is
rotated, in ascending order. Return the largest over the smallest, one float: 1 for a round
cluster.
"""


def _cluster(seed, stretch, angle, centre, n=400):
    rng = np.random.default_rng(seed)
    pts = rng.normal(size=(n, 2)) * [np.sqrt(stretch), 1.0]
    c, s = np.cos(angle), np.sin(angle)
    return pts @ np.array([[c, s], [-s, c]]) + centre


def _check_anisotropy(fn) -> str:
    from course_lib import evaluate

    if not callable(fn):
        raise Incorrect(f"anisotropy must be a function, got {type(fn).__name__}")
    # a spindle along a diagonal, far from the origin; a round cluster; one along the x axis
    cases = {"a spindle along the diagonal, centred at (5, -3)": _cluster(0, 6.0, np.pi / 4,
                                                                        [5.0, -3.0]),
             "a round cluster": _cluster(1, 1.0, 0.3, [0.5, 0.5]),
             "a spindle along the x axis": _cluster(2, 4.0, 0.0, [0.0, 0.0])}
    lib = evaluate.cluster_anisotropy(np.concatenate(list(cases.values())),
                                      np.repeat(np.arange(3), 400))
    for (what, pts), want in zip(cases.items(), lib.values()):
        value = fn(pts.copy())
        try:
            got = float(np.asarray(value, dtype=np.float64))
        except (TypeError, ValueError):
            raise Incorrect(f"for {what} it returns {type(value).__name__} "
                            f"{np.shape(value)}, expected one number (a float).") from None
        if np.isclose(got, want, rtol=1e-6):
            continue
        sd = pts.std(axis=0)
        eig = np.linalg.eigvalsh(np.cov(pts, rowvar=False))
        if np.isclose(got, 1 / want, rtol=1e-6):
            raise Incorrect(f"for {what} it returns {got:.3f}, below 1: divide the largest "
                            f"eigenvalue by the smallest, not the other way round.")
        if np.isclose(got, np.sqrt(want), rtol=1e-6):
            raise Incorrect(f"for {what} it returns {got:.3f}, the square root of the "
                            f"anisotropy {want:.3f}: that is the ratio of the ellipse's axes "
                            f"(standard deviations); the course's anisotropy is the ratio of "
                            f"the variances, the eigenvalues themselves.")
        if np.isclose(got, sd.max() / sd.min(), rtol=1e-4) or np.isclose(
                got, (sd.max() / sd.min()) ** 2, rtol=1e-4):
            raise Incorrect(f"for {what} it returns {got:.3f}, from the spread along the x and "
                            f"y axes: a cluster tilted by 45 degrees is as wide in x as in y. "
                            f"Use the eigenvalues of the covariance, which follow the cluster's "
                            f"own axes ({fmt(eig)} here).")
        raw = np.linalg.eigvalsh(pts.T @ pts / len(pts))
        if np.isclose(got, raw[-1] / raw[0], rtol=1e-3):
            raise Incorrect(f"for {what} it returns {got:.3f}: the points were not centred "
                            f"(points.T @ points is not the covariance when the cluster sits "
                            f"away from the origin); use np.cov(points, rowvar=False).")
        raise Incorrect(f"for {what} it returns {got:.4f}, expected {want:.4f} "
                        f"(course_lib.evaluate.cluster_anisotropy): the largest over the "
                        f"smallest eigenvalue of np.cov(points, rowvar=False).")
    return (f"anisotropy matches course_lib.evaluate.cluster_anisotropy on 3 clusters of 400 "
            f"points: {', '.join(f'{v:.2f}' for v in lib.values())} (a tilted spindle away "
            f"from the origin, a round cluster, a spindle along x).")


q2 = Exercise("nb04.q2", "anisotropy", _check_anisotropy, _Q2_HINT, _Q2_SOLUTION)
