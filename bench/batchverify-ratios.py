"""Per-round CPU-time ratios of bench/batchverify.sh output: each case over
the crypto floor measured in the same process and round (Join over its own
floor=seq/floor=par sub-benchmarks, ValidateTree over
CryptoFloor/validate). Usage: python3 bench/batchverify-ratios.py FILE...
"""
import re
import statistics
import sys

LINE = re.compile(r"Benchmark(\S+)-\d+\s+\d+\s+\d+ ns/op\s+(\d+) cpu-ns/op")
SIZE = "/cs=0x0001/n=65536/tree=full"
RATIOS = {
    "Join / Join floor=seq": ("Join", "Join/floor=seq"),
    "Join / Join floor=par": ("Join", "Join/floor=par"),
    "ValidateTree seq / floor": ("ValidateTree/seq", "CryptoFloor/validate"),
    "ValidateTree par / floor": ("ValidateTree/par", "CryptoFloor/validate"),
    "ValidateTree join-seq / floor": ("ValidateTree/join-seq", "CryptoFloor/validate"),
    "ValidateTree join-par / floor": ("ValidateTree/join-par", "CryptoFloor/validate"),
}


def rounds(path):
    """CPU seconds per op of each benchmark, one dict per round (a round
    starts at each BenchmarkJoin line)."""
    out, cur = [], {}
    with open(path) as f:
        for line in f:
            m = LINE.match(line)
            if not m:
                continue
            name = m.group(1).replace(SIZE, "")
            if name == "Join" and cur:
                out.append(cur)
                cur = {}
            cur[name] = int(m.group(2)) / 1e9
    if cur:
        out.append(cur)
    return out


for path in sys.argv[1:]:
    rs = rounds(path)
    print(f"{path}: {len(rs)} rounds")
    for label, (case, floor) in RATIOS.items():
        v = sorted(r[case] / r[floor] for r in rs if case in r and floor in r)
        if not v:
            continue
        print(f"  {label:30s} median {statistics.median(v):.3f}  min {v[0]:.3f}  max {v[-1]:.3f}  <= 0.6 in {sum(x <= 0.6 for x in v)}/{len(v)}")
