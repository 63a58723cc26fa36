#!/usr/bin/env python3
"""The verdict of a soak run (scripts/soak.sh), from its samples and the load's statistics.

    soak_judge.py SAMPLES STATS --seconds N [--max-growth 10] [--settle 420] [--dead]

SAMPLES is the tab-separated file soak.sh writes (t_s, rss_kb, fds, data_bytes, requests, 5xx),
STATS the load's JSON statistics. It fails (exit 1) on any 5xx, on a server that died, and on
RSS growth above --max-growth percent after the warm-up.

The warm-up is the first fifth of the run, and never shorter than --settle seconds: the time
the store needs to reach its steady size under the soak's configuration. Until then RSS grows
because the live records grow (sessions are created for their whole lifetime before the first
of them ends, and each sweep removes what ended only every SWEEP_EVERY), not because anything
leaks. soak.sh passes the session lifetime plus one sweep interval.

Growth is read from the least-squares line through every RSS sample after the warm-up: its rise
from the end of the warm-up to the last sample, against its value at the end of the warm-up.
RSS swings by tens of megabytes as each sweep allocates and frees, so a comparison of a few
samples at either end would judge the phase of that swing; the fitted line judges the trend.
The medians of the first and last three samples after the warm-up are printed beside it.

A run can be judged again from the files soak.sh keeps with SOAK_KEEP=1.
"""

import argparse
import json
import statistics
import sys


def fit(points):
    """Slope and intercept of the least-squares line through (t, y) points."""
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if var == 0:
        return 0.0, mean_y
    slope = sum((t - mean_t) * (y - mean_y) for t, y in points) / var
    return slope, mean_y - slope * mean_t


def judge(rows, stats, seconds, max_growth, settle, alive):
    """Prints the summary; returns the list of reasons the run failed (empty if it passed)."""
    classes = stats["classes"]
    failed = []

    print("\n== soak summary ==")
    print(f"duration: {stats['elapsed_seconds']} s, requests: {stats['requests']} "
          f"({stats['requests'] / max(stats['elapsed_seconds'], 1):.0f}/s)")
    print("responses: " + ", ".join(f"{k} {v}" for k, v in classes.items()))
    for op, counts in sorted(stats["by_op"].items()):
        print(f"  {op:20} " + ", ".join(f"{status}: {n}" for status, n in sorted(counts.items())))
    for example in stats.get("examples", []):
        print(f"  e.g. {example}")
    if classes["5xx"]:
        failed.append(f"{classes['5xx']} responses were 5xx")
    if not alive:
        failed.append("tessera died during the soak")

    if len(rows) < 6:
        failed.append(f"only {len(rows)} samples: too short a run to judge")
        return failed

    warmup = max(settle, seconds // 5)
    after = [r for r in rows if r[0] >= warmup]
    if len(after) < 6:
        print(f"RSS: not judged; the run ends before the {warmup} s warm-up is over and 30 s "
              f"of samples after it (the store needs {settle} s to reach its steady size); "
              f"{rows[0][1]} kB at the first sample, {rows[-1][1]} kB at the last, "
              f"max {max(r[1] for r in rows)} kB")
    else:
        slope, intercept = fit([(r[0], r[1]) for r in after])
        t0, t1 = after[0][0], after[-1][0]
        start, end = intercept + slope * t0, intercept + slope * t1
        growth = (end - start) / start * 100
        first = statistics.median(r[1] for r in after[:3])
        last = statistics.median(r[1] for r in after[-3:])
        print(f"RSS: {rows[0][1]} kB at the first sample; after the {warmup} s warm-up, "
              f"{len(after)} samples from {min(r[1] for r in after)} to "
              f"{max(r[1] for r in after)} kB")
        print(f"RSS trend after the warm-up: {start:.0f} kB at {t0} s to {end:.0f} kB at {t1} s, "
              f"{growth:+.1f}% (limit {max_growth}%), {slope * 3600 / 1024:+.1f} MiB/hour; "
              f"medians of the first and last three samples {first:.0f} and {last:.0f} kB "
              f"({(last - first) / first * 100:+.1f}%)")
        if growth > max_growth:
            failed.append(f"RSS grew {growth:.1f}% after the warm-up")

    fds = [r[2] for r in rows]
    tail = after or rows[-3:]
    print(f"file descriptors: min {min(fds)}, max {max(fds)}, "
          f"after the warm-up min {min(r[2] for r in tail)}, max {max(r[2] for r in tail)}")
    sizes = [(r[0], r[3]) for r in rows]
    quarter = max(1, len(sizes) // 4)
    marks = [sizes[0], sizes[quarter], sizes[2 * quarter], sizes[3 * quarter], sizes[-1]]
    print("data dir: " + ", ".join(f"{b / 1e6:.1f} MB at {t} s" for t, b in marks))
    half = len(sizes) // 2

    def rate(part):
        (t0, b0), (t1, b1) = part[0], part[-1]
        return (b1 - b0) / max(t1 - t0, 1) * 60 / 1e6

    print(f"data dir growth: {rate(sizes[:half + 1]):.2f} MB/min in the first half, "
          f"{rate(sizes[half:]):.2f} MB/min in the second "
          "(levelling off would show a falling rate)")
    return failed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("samples")
    parser.add_argument("stats")
    parser.add_argument("--seconds", type=int, required=True, help="the run's planned length")
    parser.add_argument("--max-growth", type=float, default=10.0)
    parser.add_argument("--settle", type=int, default=420,
                        help="seconds the store needs to reach its steady size")
    parser.add_argument("--dead", action="store_true", help="tessera died during the run")
    args = parser.parse_args()

    lines = open(args.samples).read().splitlines()[1:]
    rows = [[int(x) for x in line.split("\t")] for line in lines if line.strip()]
    stats = json.load(open(args.stats))
    failed = judge(rows, stats, args.seconds, args.max_growth, args.settle, not args.dead)
    if failed:
        print("SOAK FAILED: " + "; ".join(failed))
        sys.exit(1)
    print("SOAK PASSED")


if __name__ == "__main__":
    main()
