"""benchmarks/emulator_waves.py's emulators and their posterior, on a figure whose mean is
known: y = 3 z0 (half-bands) plus the seeds' noise, so the band holds |z0| <= 1/3."""

from __future__ import annotations

import numpy as np

from benchmarks.emulator_waves import fit, log_posterior, predict, sample


def _emulator(noise_sd: float = 0.5):
    rng = np.random.default_rng(1)
    z = rng.standard_normal((300, 2))
    y = 3 * z[:, 0] + noise_sd * rng.standard_normal(300)
    return [fit((z, y, noise_sd ** 2))]


def test_the_emulator_learns_the_mean_and_leaves_the_seeds_noise_out_of_its_variance():
    em = _emulator()
    grid = np.column_stack([np.linspace(-1, 1, 21), np.zeros(21)])
    mean, var = predict(em, grid)
    assert np.abs(mean[:, 0] - 3 * grid[:, 0]).max() < 0.3
    assert var.max() < 0.25 ** 2          # the mean's uncertainty, far below the noise's


def test_its_posterior_puts_the_draws_where_the_mean_is_in_band():
    em = _emulator()
    inside, outside = np.array([[0.0, 0.0]]), np.array([[1.0, 0.0]])
    assert log_posterior(em, inside)[0] > log_posterior(em, outside)[0] + 5
    draws = sample(em, np.random.default_rng(2).standard_normal((300, 2)), 400,
                   np.random.default_rng(3), burn_in=100)
    assert np.mean(np.abs(draws[:, 0]) <= 1 / 3 + 0.1) > 0.9
    assert np.std(draws[:, 1]) > 0.7       # the parameter the figure ignores keeps its prior
