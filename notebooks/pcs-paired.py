#!/usr/bin/env python3
"""Paired comparison of PCS healing between policy runs of the same world.

Usage: python3 notebooks/pcs-paired.py METRIC REF_RUN RUN...

Runs of one scenario and seed that differ only in the update policy share
every compromise (same id, time, victim, signature-key flag; docs/pcs.md 6.3),
and, as they end at the same time, each compromise has the same censoring
time (observed_s) in every run. So for each compromise the order of the two
outcomes is known even under censoring: a healed compromise is earlier than a
censored one, two censored ones are a tie. METRIC is a compromises.csv column
in seconds (e.g. heal_commit_s, all_processed_s).

Prints, for each RUN against REF_RUN: compromises matched, how many the RUN
reached earlier / later / tie (|difference| < 60 s or both censored), the
two-sided exact sign-test p-value (ties dropped), and, over the compromises
reached in both runs, the median paired difference RUN - REF in hours with
its distribution-free 95 % confidence interval (order statistics of the
differences, binomial(n, 1/2)).
"""
import csv, math, sys

def load(run, metric):
    rows = {}
    with open(run + "/compromises.csv") as f:
        for r in csv.DictReader(f):
            rows[r["id"]] = r
    return rows

def binom_cdf(k, n):
    return sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n

def main():
    metric, ref, runs = sys.argv[1], sys.argv[2], sys.argv[3:]
    a = load(ref, metric)
    print("run vs %s, %s: matched, earlier, later, tie, sign p, median diff h [95%% CI] (n both reached)" % (ref, metric))
    for run in runs:
        b = load(run, metric)
        ids = [i for i in a if i in b and (a[i]["time_s"], a[i]["victim"], a[i]["signature_key"]) == (b[i]["time_s"], b[i]["victim"], b[i]["signature_key"])]
        earlier = later = tie = 0
        d = []
        for i in ids:
            x, y = a[i][metric], b[i][metric]
            if x and y:
                diff = float(y) - float(x)
                d.append(diff / 3600)
                if abs(diff) < 60: tie += 1
                elif diff < 0: earlier += 1
                else: later += 1
            elif y: earlier += 1
            elif x: later += 1
            else: tie += 1
        m = earlier + later
        k = min(earlier, later)
        p = min(1.0, 2 * binom_cdf(k, m)) if m else 1.0
        d.sort()
        n = len(d)
        med = (d[(n - 1) // 2] + d[n // 2]) / 2 if n else float("nan")
        # largest j with P(Bin(n,1/2) <= j-1) <= 0.025: CI = [d_(j), d_(n-j+1)] (1-based)
        j = 0
        while j + 1 <= n and binom_cdf(j, n) <= 0.025:
            j += 1
        ci = "[%.1f, %.1f]" % (d[j - 1], d[n - j]) if j >= 1 else "[NR]"
        print("%s: %d, %d, %d, %d, p=%.2g, %+.1f %s (n=%d)" % (run, len(ids), earlier, later, tie, p, med, ci, n))

main()
