"""The exact REML random-intercept fit against hand-worked ANOVA estimates and statsmodels."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from evaluation.analysis.random_intercept import fit_random_intercept
from evaluation.analysis.trajectories import trajectory_model

Z975 = 1.959963984540054


def _balanced(y: list[list[float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Subjects (rows) scored in two windows (columns): groups, design, y."""
    g = np.repeat(np.arange(len(y)), 2)
    x = np.column_stack([np.ones(2 * len(y)), np.tile([0.0, 1.0], len(y))])
    return g, x, np.asarray(y, dtype=float).ravel()


def test_balanced_case_gives_the_anova_estimates() -> None:
    # Subject means 2, 5, 8 (grand 5), window means 4 and 6; residuals 0, 0, -1, 1, 1, -1.
    # MS_subject = 2 * (9 + 0 + 9) / 2 = 18, MS_residual = 4 / 2 = 2, so REML gives
    # sigma2 = 2 and tau2 = (18 - 2) / 2 = 8; the change is 6 - 4 = 2 with variance
    # 2 sigma2 / 3 (the subject effect cancels), the intercept 4 with (sigma2 + tau2) / 3.
    fit = fit_random_intercept(*_balanced([[1, 3], [3, 7], [8, 8]]))
    assert fit.scale == pytest.approx(2.0, rel=1e-7)
    assert fit.tau2 == pytest.approx(8.0, rel=1e-7)
    assert fit.beta == pytest.approx([4.0, 2.0], rel=1e-9)
    assert fit.se == pytest.approx(np.sqrt([10 / 3, 4 / 3]), rel=1e-7)
    assert fit.conf_int()[1] == pytest.approx(2 + np.array([-1, 1]) * Z975 * np.sqrt(4 / 3))


def test_balanced_case_below_the_boundary_has_no_returnee_variance() -> None:
    # Subject means 3, 4, 3.5: MS_subject = 0.5 < MS_residual = 9 / 2, so tau2 = 0 and
    # sigma2 = (SS_subject + SS_residual) / (6 - 2) = 10 / 4; change 4 - 3 = 1, var 2.5 * 2/3
    # (least squares: at the bound the model is the regression on window alone).
    rows = [[1, 5], [5, 3], [3, 4]]
    fit = fit_random_intercept(*_balanced(rows))
    assert fit.tau2 == 0.0
    assert fit.scale == pytest.approx(2.5, rel=1e-12)
    assert fit.beta == pytest.approx([3.0, 1.0], rel=1e-12)
    assert fit.se[1] == pytest.approx(np.sqrt(2.5 * 2 / 3), rel=1e-9)
    g, _, y = _balanced(rows)
    scored = pd.DataFrame(
        {"client_id": g, "window": np.tile(["arrival", "m6"], 3), "rss_composite": y}
    )
    t = trajectory_model(scored, min_returnees=3)
    assert t.method == "mixedlm" and "at its boundary" in t.message
    assert t.table.set_index("window").loc["m6", "change"] == pytest.approx(1.0, rel=1e-12)


def _simulated(seed: int, groups: int, windows: int, tau: float, anti: float = 0.0):
    """Unbalanced data: 1..4 distinct windows per group; anti > 0 makes scores in a group
    negatively correlated, which can put the REML variance at its boundary."""
    rng = np.random.default_rng(seed)
    g, w, y = [], [], []
    for i in range(groups):
        k = rng.integers(1, min(4, windows) + 1)
        ws = np.sort(rng.choice(windows, size=k, replace=False))
        e = rng.normal(0, 1.0, k)
        e -= anti * e.mean()
        g += [i] * k
        w += list(ws)
        y += list(0.3 * ws + rng.normal(0, tau) + e)
    w = np.asarray(w)
    x = np.column_stack([np.ones(len(w))] + [w == j for j in range(1, windows)]).astype(float)
    return np.asarray(g), x, np.asarray(y)


@pytest.mark.parametrize(
    ("seed", "groups", "windows", "tau", "anti"),
    [(1, 40, 3, 1.0, 0), (2, 60, 4, 0.5, 0), (3, 30, 2, 2.0, 0), (5, 200, 4, 0.3, 0),
     (8, 60, 3, 0.0, 0.2)],
)  # fmt: skip
def test_agrees_with_statsmodels_mixedlm(seed, groups, windows, tau, anti) -> None:
    import statsmodels.api as sm

    g, x, y = _simulated(seed, groups, windows, tau, anti)
    fit = fit_random_intercept(g, x, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # boundary and convergence notes
        # statsmodels' default stopping rule leaves ~1e-4 relative error in beta: tighten it
        # inside; at the bound its default fit is the one that gets there
        opts = {} if anti else {"method": "bfgs", "gtol": 1e-10}
        ref = sm.MixedLM(y, x, groups=g).fit(reml=True, **opts)
    tol = 1e-5
    assert fit.converged
    assert fit.beta == pytest.approx(ref.fe_params, rel=tol)
    assert fit.scale == pytest.approx(ref.scale, rel=tol)
    assert fit.llf >= ref.llf - 1e-9
    cov_re = float(np.asarray(ref.cov_re)[0, 0])
    if anti:  # at the bound: statsmodels' variance vanishes, errors are least squares'
        ols = sm.OLS(y, x).fit()
        assert fit.tau2 == 0.0 and cov_re <= 1e-6 * ref.scale
        assert fit.se == pytest.approx(ols.bse, rel=1e-9)
        assert fit.scale == pytest.approx(ols.scale, rel=1e-9)
    else:
        assert fit.tau2 == pytest.approx(cov_re, rel=tol) and fit.tau2 > 0.05
        assert fit.se == pytest.approx(ref.bse_fe, rel=tol)
