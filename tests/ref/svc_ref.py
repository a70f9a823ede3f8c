#!/usr/bin/python3
"""Reference RBF C-SVC for tests/test_eval.c (mia_svc_confidence), independent of libsvm.

sklearn and libsvm's Python bindings are not installed here. This solves the same C-SVC dual
that sklearn's SVC(C=3, gamma="auto", kernel="rbf") hands to libsvm,
    min_a 1/2 a^T Q a - sum(a),  Q_ij = y_i y_j exp(-gamma (x_i - x_j)^2),  0 <= a <= C,  y^T a = 0,
with a plain maximal-violating-pair SMO in float64 run to a 1e-12 KKT gap (libsvm stops at
1e-3), computes rho as libsvm does (mean of y_i grad_i over free a_i), and prints the decision
value f(t) = sum_i a_i y_i K(x_i, t) - rho of each target, oriented so that f > 0 means member
(y = +1 for members), with the predicted non-member count (f < 0, the SalUn MIA-Efficacy).
Run: /usr/bin/python3 tests/ref/svc_ref.py
"""
import math
import numpy as np

C, GAMMA = 3.0, 1.0  # gamma "auto" = 1 / n_features with one feature (the confidence)


def frac(v):
    return v - math.floor(v)


# the C test builds the same values
members = [0.97 - 0.45 * frac(0.6180339887 * i) ** 2 for i in range(30)]
nonmembers = [0.15 + 0.8 * frac(0.4142135624 * i + 0.1) for i in range(20)]
targets = [0.05 * i for i in range(21)]

x = np.array(members + nonmembers)
y = np.array([1.0] * len(members) + [-1.0] * len(nonmembers))
n = len(x)
K = np.exp(-GAMMA * (x[:, None] - x[None, :]) ** 2)
Q = (y[:, None] * y[None, :]) * K
a = np.zeros(n)
G = -np.ones(n)  # gradient of the dual objective: Q a - e
for it in range(1000000):
    # I_up: y=+1 & a<C, or y=-1 & a>0 ; I_low: y=+1 & a>0, or y=-1 & a<C
    up = ((y > 0) & (a < C)) | ((y < 0) & (a > 0))
    low = ((y > 0) & (a > 0)) | ((y < 0) & (a < C))
    v = -y * G
    i = int(np.argmax(np.where(up, v, -np.inf)))
    j = int(np.argmin(np.where(low, v, np.inf)))
    if v[i] - v[j] < 1e-12:
        break
    # move along y_i e_i - y_j e_j: keeps y^T a = 0
    quad = K[i, i] + K[j, j] - 2 * K[i, j]
    quad = quad if quad > 1e-15 else 1e-15
    t = (v[i] - v[j]) / quad
    # box limits for a_i + y_i t, a_j - y_j t
    lo_i, hi_i = (-a[i], C - a[i]) if y[i] > 0 else (a[i] - C, a[i])
    lo_j, hi_j = (a[j] - C, a[j]) if y[j] > 0 else (-a[j], C - a[j])
    t = min(t, hi_i, hi_j)
    di, dj = y[i] * t, -y[j] * t
    a[i] += di
    a[j] += dj
    a = np.clip(a, 0, C)
    G += Q[:, i] * di + Q[:, j] * dj
else:
    raise SystemExit("SMO did not converge")

free = (a > 1e-12) & (a < C - 1e-12)
yG = y * G
if free.any():
    rho = float(np.mean(yG[free]))
else:
    ub = np.min(np.where(((y > 0) & (a >= C)) | ((y < 0) & (a <= 0)), yG, np.inf))
    lb = np.max(np.where(((y > 0) & (a <= 0)) | ((y < 0) & (a >= C)), yG, -np.inf))
    rho = (ub + lb) / 2
# libsvm: f(t) = sum a_i y_i K - rho with rho from y_i G_i = -y_i + sum ... ; sign: G = Qa - e,
# so y_i G_i = sum_j a_j y_j K_ij - y_i and the free-vector condition f(x_i) = y_i gives rho = mean(y_i G_i).
dec = [float(np.sum(a * y * np.exp(-GAMMA * (x - t) ** 2)) - rho) for t in targets]
print("iterations", it, "support vectors", int(np.sum(a > 1e-12)), "rho", repr(rho))
print("decision (> 0 member):")
print(", ".join(f"{d:.9f}" for d in dec))
nonmem = sum(1 for d in dec if d < 0)
print(f"non-members {nonmem}/{len(targets)} -> MIA-Efficacy {100.0 * nonmem / len(targets)!r} %; "
      f"smallest |decision| {min(abs(d) for d in dec):.3g}")
