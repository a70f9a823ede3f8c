#!/usr/bin/python3
"""Reference optimum for tests/test_eval.c (mia_entropy_lr), independent of the C code.

sklearn is not installed here, so this solves what sklearn 0.24's
LogisticRegression(class_weight="balanced", solver="lbfgs", multi_class="multinomial", C=1)
minimises, in float64 with numpy only:
    sum_i s_i * (-log softmax(W x_i + b)[y_i]) + 0.5 / C * ||W||^2      (b unpenalised)
with s_i = n / (2 n_{y_i}), by Newton's method on all four parameters (W: 2x1, b: 2; the
Hessian is singular along b0 = b1, so steps use the pseudo-inverse). It then checks that the
binary problem with penalty v^2 / (2 * 2C) gives v = W1 - W0, c = b1 - b0, prints sklearn's
coef_ = W1 and intercept_ = b1, and the member rate (W1 x + b1 > 0) on the targets.
Run: /usr/bin/python3 tests/ref/mia_lr_ref.py
"""
import math
import numpy as np

C = 1.0


def dataset_small():
    members = [0.05, 0.10, 0.12, 0.20, 0.25, 0.31, 0.40, 0.52, 0.60, 0.75, 0.90, 1.30]
    nonmembers = [0.15, 0.45, 0.70, 0.85, 1.10, 1.40, 1.75, 2.05]
    targets = [0.02, 0.30, 0.55, 0.66, 0.80, 1.00, 1.60]
    return members, nonmembers, targets


def dataset_large():
    # the C test builds the same values with sin/cos from libm
    members = [0.6 + 0.5 * math.sin(0.37 * i) for i in range(500)]
    nonmembers = [1.2 + 0.7 * math.cos(1.3 * i + 0.2) for i in range(300)]
    targets = [0.01 * i for i in range(230)]
    return members, nonmembers, targets


def fit_multinomial(xm, xn):
    x = np.array(xm + xn, dtype=np.float64)
    y = np.array([1] * len(xm) + [0] * len(xn))
    n = len(x)
    s = np.where(y == 1, n / (2.0 * len(xm)), n / (2.0 * len(xn)))
    Y = np.stack([1 - y, y], axis=1).astype(np.float64)
    theta = np.zeros(4)  # W0, W1, b0, b1

    def parts(th):
        W = th[:2]
        b = th[2:]
        Z = np.outer(x, W) + b
        Z -= Z.max(axis=1, keepdims=True)
        P = np.exp(Z)
        P /= P.sum(axis=1, keepdims=True)
        return P

    def obj(th):
        W = th[:2]
        b = th[2:]
        Z = np.outer(x, W) + b
        lse = np.log(np.exp(Z - Z.max(axis=1, keepdims=True)).sum(axis=1)) + Z.max(axis=1)
        return float(np.sum(s * (lse - (Z * Y).sum(axis=1))) + 0.5 / C * (W @ W))

    for it in range(100):
        P = parts(theta)
        R = (P - Y) * s[:, None]
        g = np.concatenate([R.T @ x + theta[:2] / C, R.sum(axis=0)])
        H = np.zeros((4, 4))
        for i in range(n):
            A = (np.diag(P[i]) - np.outer(P[i], P[i])) * s[i]
            F = np.array([[x[i], 0, 1, 0], [0, x[i], 0, 1]])  # dz/dtheta
            H += F.T @ A @ F
        H[0, 0] += 1 / C
        H[1, 1] += 1 / C
        step = -np.linalg.pinv(H) @ g
        t = 1.0
        f0 = obj(theta)
        while obj(theta + t * step) > f0 and t > 1e-12:
            t *= 0.5
        theta = theta + t * step
        if np.max(np.abs(g)) < 1e-13 * n:
            break
    return theta


def fit_binary(xm, xn, c_eff):
    x = np.array(xm + xn, dtype=np.float64)
    y = np.array([1.0] * len(xm) + [0.0] * len(xn))
    n = len(x)
    s = np.where(y == 1, n / (2.0 * len(xm)), n / (2.0 * len(xn)))
    th = np.zeros(2)
    for it in range(100):
        z = th[0] * x + th[1]
        p = 1 / (1 + np.exp(-z))
        r = s * (p - y)
        w = s * p * (1 - p)
        g = np.array([r @ x + th[0] / c_eff, r.sum()])
        H = np.array([[w @ (x * x) + 1 / c_eff, w @ x], [w @ x, w.sum()]])
        th = th - np.linalg.solve(H, g)
        if np.max(np.abs(g)) < 1e-14 * n:
            break
    return th


for name, (xm, xn, xt) in (("small", dataset_small()), ("large", dataset_large())):
    th = fit_multinomial(xm, xn)
    W0, W1, b0, b1 = th
    v, c = fit_binary(xm, xn, 2.0 * C)
    assert abs((W1 - W0) - v) < 1e-9 * max(1, abs(v)) and abs((b1 - b0) - c) < 1e-9 * max(1, abs(c)), (th, v, c)
    assert abs(W0 + W1) < 1e-9 and abs(b0 + b1) < 1e-9, th
    coef, intercept = W1, b1
    members = sum(1 for t in xt if coef * t + intercept > 0)
    margin = min(abs(coef * t + intercept) for t in xt)
    right = sum(1 for t in xm if coef * t + intercept > 0) + sum(1 for t in xn if not coef * t + intercept > 0)
    print(f"{name}: coef_ = {coef!r} intercept_ = {intercept!r} threshold = {-intercept / coef!r}")
    print(f"{name}: binary C_eff=2: v = {v!r} c = {c!r}")
    print(f"{name}: members {members}/{len(xt)} -> rate {100.0 * members / len(xt)!r} %; "
          f"train acc {100.0 * right / (len(xm) + len(xn))!r} %; smallest |decision| on targets {margin:.3g}")
