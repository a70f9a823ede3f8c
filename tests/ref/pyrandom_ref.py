#!/usr/bin/python3
"""Known outputs of CPython 3.11's random module for tests/test_eval.c (ul_pyrandom).

Each constant in the test names the snippet below that printed it. Run with the Python the
reference code used (3.11 here: /usr/bin/python3 tests/ref/pyrandom_ref.py).
"""
import random
import sys

print("python", sys.version.split()[0])
# shuffles: random.seed(s); x = list(range(n)); random.shuffle(x)
for s in (0, 1, 42, 2**40 + 7):
    for n in (1, 2, 10):
        random.seed(s); x = list(range(n)); random.shuffle(x); print("shuffle", s, n, x)
    random.seed(s); x = list(range(1000)); random.shuffle(x)
    print("shuffle", s, 1000, "head", x[:10], "tail", x[-5:], "sum(i*x[i])", sum(i * v for i, v in enumerate(x)))
# getrandbits and random(), in this order after one seed
for s in (0, 1, 42, 2**40 + 7):
    random.seed(s)
    print("bits", s, hex(random.getrandbits(32)), hex(random.getrandbits(64)), hex(random.getrandbits(100)),
          random.random().hex())
# _randbelow after random.seed(0), in this order
random.seed(0)
print("randbelow", [random._inst._randbelow(n) for n in (1, 2, 3, 5, 7, 1000, 2**31, 2**32 - 1, 2**32, 2**33 + 1,
                                                         2**63 + 5)])
# the SFR-on split (main_random.py + RandomUnlearnCIFAR10.random_split) for seed 0, 50000, 0.1
random.seed(0); x = list(range(50000)); random.shuffle(x); k = int(50000 * 0.1)
print("split", k, "forget head", x[:10], "sorted forget head", sorted(x[:k])[:5], "sum(forget)", sum(x[:k]),
      "retain head", x[k:k + 5])
print("int(100 * 0.29) =", int(100 * 0.29), " int(100 * 0.07) =", int(100 * 0.07))
# a seed wider than 64 bits (key of three words)
random.seed(2**70 + 3); x = list(range(10)); random.shuffle(x); print("shuffle 2**70+3", 10, x)
