#!/usr/bin/python3
"""Reference KL / JS values for tests/test_eval.c, independent of the C code (numpy, float64).

p = "retrained" and q = "unlearned" probabilities, stored as float32 as the C predictions are.
KL(p||q) = sum_c p (ln(p + 1e-20) - ln(q + 1e-20)), terms with p = 0 dropped (0 * finite);
JS = 1/2 KL(p||m) + 1/2 KL(q||m), m = (p + q) / 2; both averaged over rows (SFR-on js_div.py).
Also prints what the BadT/SSD "JSDiv" computes on the same rows, 1/2 KL(m||p) + 1/2 KL(m||q)
with an element-wise mean (F.kl_div(log p, m) semantics: sum m (ln m - ln p) / (rows * classes),
using log p = -inf where p = 0, which makes it infinite when p has zeros), to show the difference.
Run: /usr/bin/python3 tests/ref/divergence_ref.py
"""
import numpy as np

EPS = 1e-20
p = np.array([[0.7, 0.2, 0.1, 0.0],
              [0.25, 0.25, 0.25, 0.25],
              [1.0, 0.0, 0.0, 0.0]], dtype=np.float32).astype(np.float64)
q = np.array([[0.1, 0.6, 0.3, 0.0],
              [0.4, 0.3, 0.2, 0.1],
              [0.5, 0.5, 0.0, 0.0]], dtype=np.float32).astype(np.float64)


def kl_rows(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(a > 0, a * (np.log(a + EPS) - np.log(b + EPS)), 0.0)
    return t.sum(axis=1)


m = 0.5 * (p + q)
kl = kl_rows(p, q)
js = 0.5 * kl_rows(p, m) + 0.5 * kl_rows(q, m)
print("KL rows", [repr(v) for v in kl], "mean", repr(kl.mean()))
print("JS rows", [repr(v) for v in js], "mean", repr(js.mean()))
# the epsilon rule: in row 3 q = 0.5 where p = 0, so KL(q||p) has 0.5 (ln 0.5 - ln 1e-20), large but finite
klqp = kl_rows(q, p)
print("KL(q||p) rows", [repr(v) for v in klqp], "mean", repr(klqp.mean()))
# BadT/SSD JSDiv on rows without zeros only (row 2): 1/2 KL(m||p) + 1/2 KL(m||q), element mean
r = slice(1, 2)
mm = m[r]
badt = 0.5 * np.sum(mm * (np.log(mm) - np.log(p[r]))) / mm.size + 0.5 * np.sum(mm * (np.log(mm) - np.log(q[r]))) / mm.size
print("row 2: correct JS", repr(js[1]), "BadT/SSD JSDiv", repr(badt))
