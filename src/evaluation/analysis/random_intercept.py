"""Exact REML fit of a linear model with a random intercept per group, from sufficient statistics.

Model: y_ij = x_ij' beta + u_i + e_ij with u_i ~ N(0, tau2), e_ij ~ N(0, sigma2), groups of any
size. With gamma = tau2 / sigma2 the inverse covariance of a group of size n is
(I - w J) / sigma2 with w = gamma / (1 + n gamma), so every quantity of the REML likelihood is a
pooled cross product minus a w-weighted sum over groups. Summing those group terms per distinct
group size once makes each likelihood evaluation cost O(sizes x p^2), whatever the number of
groups; the profiled REML log-likelihood is then maximised over gamma >= 0 in one dimension.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class RandomInterceptFit:
    """REML estimates: fixed effects and their covariance, the two variances.

    cov is statsmodels' MixedLM covariance: the fixed-effects block of the inverse observed
    information in (beta, gamma). It exceeds the expected-information sigma2 (X' V^-1 X)^-1 by
    the beta-gamma cross term, which is zero for balanced data and small otherwise. At the
    bound gamma = 0 it is sigma2 (X' X)^-1 (ordinary least squares), gamma held at the bound.
    """

    beta: np.ndarray
    cov: np.ndarray
    scale: float  # sigma2, the residual variance
    tau2: float  # the between-group variance
    llf: float  # the REML log-likelihood at the optimum
    converged: bool  # the search ended and the information is positive on its diagonal
    n_groups: int
    n_obs: int

    @property
    def se(self) -> np.ndarray:
        """Standard errors of the fixed effects."""
        return np.sqrt(np.diag(self.cov))

    def conf_int(self, level: float = 0.95) -> np.ndarray:
        """Wald intervals (normal quantile), one row (low, high) per fixed effect."""
        from scipy import stats  # imported on use: the ledger imports this module, never fits

        z = stats.norm.ppf(0.5 + level / 2)
        return np.column_stack([self.beta - z * self.se, self.beta + z * self.se])


@dataclass(frozen=True)
class _Stats:
    """Pooled cross products, and group sums of x and y summed per distinct group size."""

    xtx: np.ndarray
    xty: np.ndarray
    yty: float
    sizes: np.ndarray  # distinct group sizes
    count: np.ndarray  # groups of each size
    m: np.ndarray  # per size: sum of s s' over its groups (s: a group's sum of x)
    v: np.ndarray  # per size: sum of s t (t: a group's sum of y)
    q: np.ndarray  # per size: sum of t^2
    n: int
    p: int

    def parts(self, gamma: float) -> tuple[np.ndarray, np.ndarray, float]:
        """X' V^-1 X, X' V^-1 y and y' V^-1 y, times sigma2."""
        w = gamma / (1.0 + self.sizes * gamma)
        a = self.xtx - np.tensordot(w, self.m, axes=1)
        b = self.xty - w @ self.v
        return a, b, float(self.yty - w @ self.q)

    def loglik(self, gamma: float) -> float:
        """The REML log-likelihood with sigma2 profiled out (statsmodels' constant)."""
        a, b, c = self.parts(gamma)
        beta = np.linalg.solve(a, b)
        rss = c - b @ beta
        df = self.n - self.p
        logdet = np.linalg.slogdet(a)[1] + self.count @ np.log1p(self.sizes * gamma)
        return -0.5 * (df * np.log(rss / df) + logdet + df * (1 + np.log(2 * np.pi)))

    def hessian(self, beta: np.ndarray, gamma: float) -> np.ndarray:
        """Hessian of the REML log-likelihood (sigma2 profiled) in (beta, gamma) at beta = the
        GLS estimate, as statsmodels' MixedLM.hessian computes it for its standard errors."""
        a, b, c = self.parts(gamma)
        d1 = 1.0 / (1.0 + self.sizes * gamma) ** 2  # dw/dgamma
        d2 = -2.0 * self.sizes / (1.0 + self.sizes * gamma) ** 3
        mb = self.m @ beta
        r2 = self.q - 2 * self.v @ beta + mb @ beta  # per size: sum of squared group residual sums
        quad = c - 2 * b @ beta + beta @ a @ beta
        df = self.n - self.p
        ainv = np.linalg.inv(a)
        a1 = -np.tensordot(d1, self.m, axes=1)
        a2 = -np.tensordot(d2, self.m, axes=1)
        h = np.empty((self.p + 1, self.p + 1))
        h[: self.p, : self.p] = -df * a / quad
        h[: self.p, -1] = h[-1, : self.p] = -df * (d1 @ (self.v - mb)) / quad
        q1, q2 = -d1 @ r2, -d2 @ r2
        h[-1, -1] = (
            -0.5 * df * (q2 / quad - (q1 / quad) ** 2)
            + 0.5 * self.count @ (self.sizes**2 * d1)
            - 0.5 * (np.trace(ainv @ a2) - np.trace(ainv @ a1 @ ainv @ a1))
        )
        return h


def _sufficient(groups: np.ndarray, x: np.ndarray, y: np.ndarray) -> _Stats:
    code, labels = pd.factorize(groups)
    g = len(labels)
    size = np.bincount(code, minlength=g)
    s = np.column_stack([np.bincount(code, x[:, j], minlength=g) for j in range(x.shape[1])])
    t = np.bincount(code, y, minlength=g)
    sizes, by_size = np.unique(size, return_inverse=True)
    order = np.argsort(by_size, kind="stable")
    cuts = np.cumsum(np.bincount(by_size, minlength=len(sizes)))[:-1]
    blocks = [(s[i], t[i]) for i in np.split(order, cuts)]
    return _Stats(
        xtx=x.T @ x,
        xty=x.T @ y,
        yty=float(y @ y),
        sizes=sizes.astype(float),
        count=np.array([len(tk) for _, tk in blocks], dtype=float),
        m=np.stack([sk.T @ sk for sk, _ in blocks]),
        v=np.stack([sk.T @ tk for sk, tk in blocks]),
        q=np.array([tk @ tk for _, tk in blocks]),
        n=len(y),
        p=x.shape[1],
    )


def fit_random_intercept(groups: np.ndarray, x: np.ndarray, y: np.ndarray) -> RandomInterceptFit:
    """REML fit of y = x beta + group intercept + error (x: full-rank design, n x p).

    gamma = tau2 / sigma2 is searched as u = gamma / (1 + gamma) in [0, 1); the boundary
    gamma = 0 is taken when its likelihood is at least that of the interior optimum.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    # Fitted to the least-squares residuals (the same model, beta shifted by beta0), so that
    # y' V^-1 y - b' A^-1 b does not lose digits to large means.
    beta0 = np.linalg.lstsq(x, y, rcond=None)[0]
    y = y - x @ beta0
    st = _sufficient(np.asarray(groups), x, y)
    if st.n <= st.p or np.linalg.matrix_rank(st.xtx) < st.p:
        raise ValueError("the design has no residual degrees of freedom or is not of full rank")

    def neg(u: float) -> float:
        return -st.loglik(u / (1.0 - u))

    from scipy import optimize

    res = optimize.minimize_scalar(
        neg, bounds=(0.0, 1.0 - 1e-9), method="bounded", options={"xatol": 1e-12}
    )
    gamma = float(res.x / (1.0 - res.x))
    if st.loglik(0.0) >= st.loglik(gamma):
        gamma = 0.0
    a, b, c = st.parts(gamma)
    beta = np.linalg.solve(a, b)
    scale = float((c - b @ beta) / (st.n - st.p))
    # At gamma = 0 the optimum is on the bound, where the gamma row carries no information.
    k = st.p if gamma == 0.0 else st.p + 1
    info = -st.hessian(beta, gamma)[:k, :k]
    return RandomInterceptFit(
        beta=beta0 + beta,
        cov=np.linalg.inv(info)[: st.p, : st.p],
        scale=scale,
        tau2=gamma * scale,
        llf=st.loglik(gamma),
        converged=bool(res.success) and bool(np.all(np.diag(info) > 0)),
        n_groups=int(st.count.sum()),
        n_obs=st.n,
    )
