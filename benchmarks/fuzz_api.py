"""A long, seeded attack on k8slearn's public API; prints what it tried and what came of it.

    python benchmarks/fuzz_api.py                    # 60,000 operations, seed 0
    python benchmarks/fuzz_api.py -n 200000 --seed 7

The operations are tests/api_fuzz.py's (the same table tests/test_fuzz_api.py drives with
hypothesis): Cluster methods, send/traffic/metrics/sample/by_node/decide, manifests, proxies and
proxychain, with valid values, near misses and arbitrary Python values. Each operation ends as

* ok       - it returned, and the cluster is consistent (unique names and addresses, valid services);
* rejected - a K8sLearnError, with the cluster exactly as before and a bounded message with a hint;
* foreign  - any other exception (a bug; listed by signature);
* broken   - a rule was broken: a half-applied change, an unbounded or hint-less message, a bad state.

The exit status is 1 if any operation was foreign or broken.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import api_fuzz as F  # noqa: E402 - after the sys.path lines above


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=60_000, help="operations (default 60,000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random choices (default 0)")
    args = parser.parse_args(argv)

    draw = F.RandomDraw(args.seed)
    tally = F.Tally()
    broken: Counter[str] = Counter()
    cluster = F.fresh(draw)
    slowest: Counter[str] = Counter()  # the longest single operation of each kind, in seconds
    started = time.perf_counter()
    for _ in range(args.n):
        op = draw.choice(F.OPS)
        began = time.perf_counter()
        try:
            cluster = F.step(cluster, draw, tally, op=op)
        except F.Broken as err:
            broken[str(err)[:300]] += 1
            cluster = F.fresh(draw)
        slowest[op.name] = max(slowest[op.name], time.perf_counter() - began)
    seconds = time.perf_counter() - started

    print(f"k8slearn API fuzz: seed {args.seed}, {len(F.OPS)} kinds of operation")
    print(f"operations         {tally.operations:>9,}")
    print(f"  ok               {tally.ok:>9,}")
    print(f"  rejected         {tally.rejected:>9,}  (K8sLearnError, cluster unchanged, bounded message with a hint)")
    print(f"  foreign          {tally.foreign:>9,}  (any other exception)")
    print(f"  broken           {sum(broken.values()):>9,}  (a rule of api_fuzz.step broken)")
    print(f"time               {seconds:>9.1f} s  ({tally.operations / seconds:,.0f} operations/s)")
    name, longest = slowest.most_common(1)[0]
    print(f"slowest operation  {longest * 1000:>9.1f} ms  ({name}; a hang shows here)")
    print()
    print(f"{'operation':24s}{'ok':>9s}{'rejected':>10s}{'foreign':>9s}{'slowest':>10s}")
    for name in sorted(tally.by_op):
        counts = tally.by_op[name]
        print(f"{name:24s}{counts['ok']:>9,}{counts['rejected']:>10,}{counts['foreign']:>9,}"
              f"{slowest[name] * 1000:>8.1f} ms")
    for signature, count in tally.signatures.most_common():
        print(f"FOREIGN {count:,}x {signature}: {tally.examples[signature]}")
    for text, count in broken.most_common():
        print(f"BROKEN {count:,}x {text}")
    return 1 if tally.foreign or broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
