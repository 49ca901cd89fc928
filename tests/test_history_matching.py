"""History matching's parts, each against what it must do: emulators that predict and say
how unsure they are, the cut-off, and chains that sample the prior inside what is left."""

import numpy as np
import pytest
from scipy import stats

from calibration.history_matching import (CUTOFF, OBS_SD, Emulator, Wave, implausibility,
                                          sample_nroy)


def _exact(coef, intercept=0.0):
    """An emulator that knows its linear figure exactly (no process, no variance)."""
    return Emulator("f", np.asarray(coef, dtype=float), intercept, None, 0.0)


def test_an_emulator_predicts_a_smooth_figure_and_knows_its_error():
    rng = np.random.default_rng(1)
    z = rng.standard_normal((300, 4))
    f = lambda x: 2 * x[:, 0] + np.sin(2 * x[:, 1]) + 0.3 * x[:, 2] ** 2
    noise = 0.1
    em = Emulator.fit("f", z, f(z) + noise * rng.standard_normal(300))
    test = rng.standard_normal((400, 4))
    mean, var = em.predict(test)
    truth = f(test) + noise * rng.standard_normal(400)
    err = truth - mean
    assert 1 - err.var() / truth.var() > 0.95
    # Its variance (the process's and the noise's) says how far off it is: about 95 %
    # of the errors within two of its standard deviations.
    assert 0.85 < np.mean(np.abs(err) < 2 * np.sqrt(var)) <= 1.0


def test_an_emulator_leaves_out_undefined_figures_and_clips_far_ones():
    rng = np.random.default_rng(2)
    z = rng.standard_normal((80, 2))
    y = 1e6 * z[:, 0]
    y[:10] = np.nan
    mean, _ = Emulator.fit("f", z, y).predict(np.array([[3.0, 0.0], [-3.0, 0.0]]))
    assert np.all(np.isfinite(mean)) and np.all(np.abs(mean) <= 10)
    assert mean[0] > 5 and mean[1] < -5     # far stays far, on the right side


def test_a_point_is_ruled_out_beyond_three_standard_deviations_of_any_wave():
    first, second = Wave(1, [_exact([1.0, 0.0])]), Wave(2, [_exact([0.0, 1.0])])
    edge = CUTOFF * OBS_SD
    z = np.array([[0.0, 0.0], [0.99 * edge, 0.0], [1.01 * edge, 0.0], [0.0, 1.01 * edge]])
    imp = implausibility(z, [first, second])
    assert list(imp <= CUTOFF) == [True, True, False, False]
    # An emulator's own uncertainty widens what it keeps.
    unsure = Wave(1, [Emulator("f", np.array([1.0, 0.0]), 0.0, None, 1.0)])
    assert implausibility(np.array([[1.01 * edge, 0.0]]), [unsure])[0] <= CUTOFF


def test_the_chains_sample_the_prior_inside_what_is_not_ruled_out():
    # NROY is |z0| <= 1: z0 must come out a standard normal truncated there, z1 untouched.
    wave = Wave(1, [_exact([1.0, 0.0])])
    starts = np.array([[0.5, 0.0], [-0.5, 1.0], [0.0, -1.0]])
    z = sample_nroy([wave], starts, 4000, np.random.default_rng(3))
    assert len(z) == 4000
    assert np.all(np.abs(z[:, 0]) <= 1.0)
    truncated = stats.truncnorm(-1, 1)
    assert z[:, 0].std() == pytest.approx(truncated.std(), rel=0.08)
    assert z[:, 1].std() == pytest.approx(1.0, rel=0.08)
    assert abs(z[:, 1].mean()) < 0.1


def test_chains_started_outside_find_their_way_in():
    wave = Wave(1, [_exact([1.0, 0.0], intercept=-3.0)])      # NROY: |z0 - 3| <= 1
    starts = np.array([[-1.0, 0.0], [0.0, 0.0]])              # both ruled out
    z = sample_nroy([wave], starts, 500, np.random.default_rng(4))
    assert len(z) > 0 and np.all(np.abs(z[:, 0] - 3) <= 1)


# ---------------------------------------------------------------------------- the real model

FEW = ["county_land_quota_km2", "xianghe_firm_asc", "beta_ties_km"]
SMALL = {"talent_agents": 5_000}


def _observed() -> dict:
    """The figures the model makes on seed 1 at the declared values of FEW, all else held
    as a fit of FEW holds it: a calibration to them can keep particles."""
    from calibration import estimation
    from model.params import PARAMS

    held = {**estimation.held_at_declared(FEW), **SMALL}
    return estimation.figures({**held, **{n: PARAMS[n].default for n in FEW}}, [1])


def _match(tmp_path, **kw):
    from calibration import estimation

    args = dict(budget=40, seeds=1, population=3, waves=2, wave_size=12, chains=3,
                point_seeds=2, stage_seeds=1, work=tmp_path / "work", out=tmp_path / "cal",
                names=FEW,
                observed=_observed(), base=SMALL, progress=False)
    return estimation.match(**{**args, **kw})


@pytest.mark.parametrize("method", ["abc-mcmc", "history-matching", "emulation"])
def test_a_calibration_keeps_particles_with_every_figure_in_band(tmp_path, method, capsys):
    import tomllib

    import pandas as pd

    from calibration import estimation

    result = _match(tmp_path, method=method)
    posterior = pd.read_parquet(tmp_path / "cal" / "posterior.parquet")
    assert list(posterior.columns) == [*FEW, "weight", "distance"]
    assert 2 <= len(posterior) <= 3
    assert posterior["weight"].nunique() == 1                # equal weights
    if method != "emulation":       # emulation's draws are chosen by its emulators alone
        assert posterior["distance"].le(1.0).all()           # every figure in band
    assert result.simulations <= 40
    doc = tomllib.loads((tmp_path / "cal" / "calibrated.toml").read_text())
    assert set(doc["values"]) == set(FEW)
    assert doc["provenance"]["method"] == estimation.METHODS[method]
    # The point is one of the kept particles.
    assert any(all(doc["values"][n] == pytest.approx(row[n]) for n in FEW)
               for _, row in posterior.iterrows())
    # A second calibration into the same work folder is refused, not mixed in.
    from runs.errors import InputError

    with pytest.raises(InputError, match="holds an earlier calibration"):
        _match(tmp_path, method=method)
    with pytest.raises(InputError, match="other settings"):
        _match(tmp_path, method=method, population=2, resume=True)
    # What the command says at the end: the sample's own checks, R-hat for chains.
    from runs import cli

    capsys.readouterr()
    cli._print_sample_checks(tmp_path / "cal", 2)
    said = capsys.readouterr().out
    assert "effective sample size at least half the particles" in said
    assert ("split R-hat" in said) == (method == "abc-mcmc")      # SMC's draws: no chains
    if method == "emulation":       # its effective size from the SMC particles' genealogy
        assert doc["provenance"]["sampler"] == "tempered SMC on the emulators"
        assert 0 < doc["provenance"]["ess_min"] <= len(posterior)
    assert f"--report --out {tmp_path / 'cal'} --workers 2" in said


def kill_and_resume(tmp_path, pattern: str, files: int, **kw) -> None:
    """Kill -9 a calibration (``_match(**kw)``) once ``files`` files match ``pattern``
    under its work folder, resume it, and check that what was finished stayed and that
    the posterior is that of a calibration never interrupted."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import pandas as pd

    from tests.helpers import ROOT

    script = (f"import sys; from pathlib import Path; sys.path.insert(0, {str(ROOT)!r}); "
              "from tests.test_history_matching import _match; "
              f"_match(Path(sys.argv[1]), resume=True, **{kw!r})")
    killed = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-c", script, str(killed)], cwd=ROOT,
                            start_new_session=True, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 600
    while len(list((killed / "work").glob(pattern))) < files:
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    finished = sorted(p.relative_to(killed) for p in killed.glob("work/*/results/*"))
    assert not (killed / "cal").exists()
    _match(killed, resume=True, **kw)
    # What was finished stayed as it was; the result is that of a run never interrupted.
    after = sorted(p.relative_to(killed) for p in killed.glob("work/*/results/*"))
    assert set(finished) <= set(after)
    whole = tmp_path / "whole"
    _match(whole, **kw)
    pd.testing.assert_frame_equal(pd.read_parquet(killed / "cal" / "posterior.parquet"),
                                  pd.read_parquet(whole / "cal" / "posterior.parquet"))


@pytest.mark.slow
def test_a_killed_calibration_resumes_to_the_same_posterior(tmp_path):
    kill_and_resume(tmp_path, "step-*/results/part-*.parquet", 4, budget=24)
