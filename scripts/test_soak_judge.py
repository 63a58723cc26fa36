#!/usr/bin/env python3
"""Tests of scripts/soak_judge.py's verdict on synthetic samples: `python3 scripts/test_soak_judge.py`.

A soak takes 30 minutes, so its judge is tested here on series shaped like the ones real runs
produced: RSS that climbs while the store fills and then swings around a plateau (must pass),
RSS that keeps climbing (must fail), and the other ways a run fails.
"""

import contextlib
import io
import math
import os
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the checkout
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import soak_judge  # noqa: E402


def stats(five_xx=0):
    return {
        "elapsed_seconds": 1800,
        "requests": 1000,
        "classes": {"expected": 1000, "5xx": five_xx},
        "by_op": {"login": {"200": 1000}},
    }


def series(seconds, rss_at, step=10, fds=46):
    """Rows as soak.sh samples them: t_s, rss_kb, fds, data_bytes, requests, 5xx."""
    return [[t, int(rss_at(t)), fds, 1_000_000 + t * 1000, t * 100, 0]
            for t in range(10, seconds + 1, step)]


def plateau(t):
    """Climbs to ~180 MB over the first 7 minutes, then swings ±25 MB with each 2-minute sweep."""
    base = 60_000 + 120_000 * min(t, 420) / 420
    return base + 25_000 * math.sin(2 * math.pi * t / 120)


def run(rows, st=None, seconds=1800, alive=True):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        failed = soak_judge.judge(rows, st or stats(), seconds, 10.0, 420, alive)
    return failed, out.getvalue()


class Verdict(unittest.TestCase):
    def test_a_plateau_after_the_warm_up_passes(self):
        # RSS triples while the store fills (60 to 180 MB in 7 minutes); that is not judged.
        failed, out = run(series(1800, plateau))
        self.assertEqual(failed, [], out)
        self.assertIn("RSS trend after the warm-up", out)

    def test_steady_growth_after_the_warm_up_fails(self):
        # 180 MB at the end of the warm-up, +1 MB a minute after it: about +13% by minute 30.
        failed, out = run(series(1800, lambda t: plateau(t) + max(0, t - 420) * 1024 / 60))
        self.assertTrue(any("RSS grew" in f for f in failed), out)

    def test_the_phase_of_a_swing_does_not_decide(self):
        # Ends at the top of a swing, 50 MB above where the warm-up ended at its bottom.
        def rss(t):
            return plateau(t) if t < 1700 else 180_000 + 25_000

        failed, out = run(series(1800, rss))
        self.assertEqual(failed, [], out)

    def test_a_5xx_fails(self):
        failed, _ = run(series(1800, plateau), stats(five_xx=1))
        self.assertIn("1 responses were 5xx", failed)

    def test_a_dead_server_fails(self):
        failed, _ = run(series(1800, plateau), alive=False)
        self.assertIn("tessera died during the soak", failed)

    def test_too_few_samples_fail(self):
        failed, _ = run(series(40, plateau), seconds=40)
        self.assertTrue(any("too short a run" in f for f in failed))

    def test_a_run_shorter_than_the_warm_up_is_judged_on_everything_but_rss(self):
        failed, out = run(series(300, lambda t: 60_000 + t * 1000), seconds=300)
        self.assertEqual(failed, [])
        self.assertIn("RSS: not judged", out)


if __name__ == "__main__":
    unittest.main()
