"""benchmarks/seed_noise.py's shares: k-seed means in band, per figure and jointly."""

from __future__ import annotations

import pandas as pd
import pytest

from benchmarks.seed_noise import in_band_shares


def test_k_seed_means_are_judged_in_band_per_figure_and_for_all_at_once():
    y = pd.DataFrame({"a": [0.5, 2.5, -1.5, 0.0, 3.0], "b": [0.0, 0.0, 0.0, 2.0, 0.0]})
    one = in_band_shares(y, 1)
    assert one["a"] == pytest.approx(2 / 5) and one["b"] == pytest.approx(4 / 5)
    assert one["all"] == pytest.approx(1 / 5)          # only the first seed has both in
    two = in_band_shares(y, 2)      # means of seeds (1, 2) and (3, 4); the fifth is left out
    assert two["a"] == pytest.approx(1 / 2)            # 1.5 out, -0.75 in
    assert two["b"] == 1.0 and two["all"] == pytest.approx(1 / 2)
