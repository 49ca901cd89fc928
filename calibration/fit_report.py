"""The fit report of a calibration: how the point estimate and the posterior reproduce the
figures, what the figures taught about each parameter, and what the model predicts
beyond them (``xianghe calibrate --report``)."""

from __future__ import annotations

import json
import math
import shutil
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd

from model import INDICATORS, NAMES
from model.params import PARAMS, Prior

from runs import provenance
from runs.engine import RunTask, run_all
from runs.errors import InputError
from runs.folders import manifest_of, publish, staging

from .estimation import (CALIBRATED_FILE, ESTIMATION_SCALE, POSTERIOR_FILE, SCREENING_FILE,
                         calibration_info, moments, posterior_draws, uncertain)

# Outputs the brief calls predictions: never targets, reported beside the fit.
PREDICTIONS = ("relocated_tax_yuan", "relocated_workers_employed", "commuter_share",
               "checkpoint_event_delay_min")
UNITS = {i.name: i.unit for i in INDICATORS}


def read_point(folder: Path) -> tuple[dict, dict]:
    """The calibrated point in ``folder`` and its provenance; none (the declared values)
    if it holds none."""
    path = Path(folder) / CALIBRATED_FILE.name
    if not path.exists():
        return {}, {}
    try:
        doc = tomllib.loads(path.read_text("utf-8"))
        return doc["values"], doc.get("provenance", {})
    except (OSError, tomllib.TOMLDecodeError, KeyError) as err:
        raise InputError(f"{path}: unreadable calibrated point ({type(err).__name__}); "
                         "allowed: the file `xianghe calibrate` writes") from None


def effective_sample_size(weights) -> float:
    """Kish's effective sample size of importance weights, (sum w)^2 / sum w^2."""
    w = np.asarray(weights, dtype=float)
    return float(w.sum() ** 2 / np.sum(w ** 2))


def calibration_priors(info: dict) -> dict:
    """The priors a calibration used where ``--priors`` replaced the declared ones
    (its provenance's ``priors_replaced``), name -> Prior."""
    return {n: Prior.parse(text, PARAMS[n].low, PARAMS[n].high)
            for n, text in (info.get("priors_replaced") or {}).items()}


def prior_moments(name: str, prior=None) -> tuple[float, float]:
    """Mean and variance of a parameter's prior (by its quantiles; ``prior`` replacing the
    declared one)."""
    prior = prior or PARAMS[name].prior_dist
    xs = np.array([prior.ppf(q) for q in np.linspace(0.0005, 0.9995, 2000)])
    return float(xs.mean()), float(xs.var())


def weighted_quantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    order = np.argsort(x)
    cum = np.cumsum(w[order]) / np.sum(w)
    return float(x[order][min(np.searchsorted(cum, q), len(x) - 1)])


def contraction(posterior: pd.DataFrame, screening: pd.DataFrame | None,
                priors: dict | None = None) -> pd.DataFrame:
    """A row per uncertain parameter: prior and posterior mean and sd, the posterior's 90 %
    interval and its contraction 1 - var(posterior)/var(prior) (0 for a parameter the
    figures do not reach: its posterior is its prior); ``priors`` (name -> Prior) are the
    calibration's where they replaced the declared ones."""
    w = posterior["weight"].to_numpy()
    placed = screening.set_index("parameter") if screening is not None else None
    priors = priors or {}
    rows = []
    for p in uncertain():
        mean0, var0 = prior_moments(p.name, priors.get(p.name))
        row = {"parameter": p.name, "prior": priors[p.name].text if p.name in priors
               else p.prior, "prior_mean": mean0,
               "prior_sd": math.sqrt(var0)}
        if p.name in posterior:
            x = posterior[p.name].to_numpy(dtype=float)
            mean = float(np.sum(w * x) / np.sum(w))
            var = float(np.sum(w * (x - mean) ** 2) / np.sum(w))
            row.update(estimated=True, posterior_mean=mean, posterior_sd=math.sqrt(var),
                       q05=weighted_quantile(x, w, 0.05),
                       median=weighted_quantile(x, w, 0.5),
                       q95=weighted_quantile(x, w, 0.95),
                       contraction=1 - var / var0 if var0 > 0 else 0.0)
        else:
            row.update(estimated=False, posterior_mean=mean0, posterior_sd=math.sqrt(var0),
                       q05=p.prior_dist.ppf(0.05), median=p.prior_dist.ppf(0.5),
                       q95=p.prior_dist.ppf(0.95), contraction=0.0)
        if placed is not None and p.name in placed.index:
            screened_row = placed.loc[p.name]
            row["screen_half_bands"] = float(screened_row["largest"])
            row["place"] = screened_row["fit"]
        rows.append(row)
    df = pd.DataFrame(rows)
    df["informed"] = df["contraction"] >= 0.3
    return df.sort_values(["estimated", "contraction"], ascending=False).reset_index(drop=True)


def correlations(posterior: pd.DataFrame, top: int = 12) -> pd.DataFrame:
    """The pairs of estimated parameters that trade off most: Spearman's rank correlation
    over the (equally weighted) posterior sample, the ``top`` pairs by its size."""
    names = [c for c in posterior.columns if c not in ("weight", "distance")]
    rho = posterior[names].rank().corr().to_numpy()
    rows = [{"a": names[i], "b": names[j], "spearman": float(rho[i, j])}
            for i in range(len(names)) for j in range(i + 1, len(names))
            if np.isfinite(rho[i, j])]
    df = pd.DataFrame(rows, columns=["a", "b", "spearman"])
    return (df.reindex(df["spearman"].abs().sort_values(ascending=False).index)
            .head(top).reset_index(drop=True))


# The calibrated point is checked on seeds no fit used: the ABC runs on the first few
# seeds, the refinement on 1-10 and the hand adjustment looked at 1-320 (calibrated.toml
# names them), the check on 401 on.
CHECK_FIRST_SEED = 401
# Seeds each posterior draw runs on; its figure is their mean (the checks below judge a
# draw by it, so seed noise alone does not put a draw out of band).
DRAW_SEEDS = 5
# What a posterior has to do to pass (the posterior issue's criteria): an effective
# sample size of at least half its particles; for every target, at least half of the
# draws in band and the observed value inside the draws' 5-95 % interval; the point in
# band on every target on seeds no fit used.
MIN_ESS_SHARE = 0.5
MIN_SHARE_IN_BAND = 0.5
# Chains whose halves disagree have not forgotten their starts, and an effective sample
# size pooled over them overstates what they hold: a sample from chains passes only with
# every estimated parameter's split R-hat at most this (Gelman et al. 2013, BDA3 §11.4;
# Vehtari et al. 2021, Bayesian Analysis 16(2), argue for 1.01 with many long chains).
MAX_RHAT = 1.1


def _runs(point: dict, draws: list[dict], seeds: int, workers: int, scheduler: str | None,
          progress: bool) -> pd.DataFrame:
    years = tuple(sorted({y for m in moments() for y in m.target.years} | {2020}))
    check = range(CHECK_FIRST_SEED, CHECK_FIRST_SEED + seeds)
    tasks = [RunTask(k, -1, s, point, {}, years) for k, s in enumerate(check)]
    for d, vector in enumerate(draws):
        for s in range(CHECK_FIRST_SEED, CHECK_FIRST_SEED + DRAW_SEEDS):
            tasks.append(RunTask(len(tasks), d, s, vector, {}, years))
    return pd.DataFrame(run_all(tasks, workers, scheduler, progress=progress,
                                desc="fit report", what="a fit-report run"))


def _per_run(runs: pd.DataFrame, target) -> tuple[pd.Series, pd.Series]:
    """A figure at the point, one value a seed, and over the draws, one mean a draw (its
    period's sum in each run; a run with nothing to measure left out)."""
    figure = target.by_run(runs, ["point", "seed"])
    point = figure.xs(-1, level="point").dropna()
    per_draw = figure[figure.index.get_level_values("point") >= 0].groupby(
        level="point").mean()
    return point, per_draw


def fit_table(runs: pd.DataFrame) -> pd.DataFrame:
    """A row per target: band, the point's mean and spread over seeds, the posterior
    predictive mean, spread over draws and 90 % interval, and whether each is in band."""
    rows = []
    for m in moments():
        t = m.target
        point, per_draw = _per_run(runs, t)
        rows.append({
            "indicator": t.indicator, "period": t.period, "observed": t.value, "low": t.low,
            "high": t.high, "point_mean": point.mean(), "sd_over_seeds": point.std(ddof=1),
            "seeds": len(point), "posterior_mean": per_draw.mean(),
            "sd_over_posterior": per_draw.std(ddof=1), "draws": len(per_draw),
            "predictive_q05": per_draw.quantile(0.05),
            "predictive_q95": per_draw.quantile(0.95),
            "point_in_band": bool(t.low <= point.mean() <= t.high),
            "share_of_draws_in_band": float(((per_draw >= t.low)
                                             & (per_draw <= t.high)).mean()),
            "observed_is_lower_bound": bool(t.value == t.low),
            # A figure reported as a lower bound ("80+ firms", a fair's count) is the range
            # from its value up: it is inside the draws' 90 % interval when that interval
            # reaches it (draws all above a lower bound agree with it).
            "observed_in_predictive_90": bool(
                per_draw.quantile(0.95) >= t.value if t.value == t.low else
                per_draw.quantile(0.05) <= t.value <= per_draw.quantile(0.95)),
            "source": t.source,
        })
    return pd.DataFrame(rows)


def sample_checks(ess: float, particles: int, chains: dict | None = None) -> list[tuple]:
    """The checks of the sample alone, before any run of the report: its effective size
    against ``MIN_ESS_SHARE`` of its particles and, for a sample from Markov chains
    (``chains``, their provenance: ``rhat_max``, ``rhat_max_parameter``), that they
    converged; chains that recorded no R-hat fail it. Rows of (check, passed, detail)."""
    rows = [("effective sample size at least half the particles",
             ess >= MIN_ESS_SHARE * particles, f"{ess:.1f} of {particles}")]
    if chains is not None:
        rhat = chains.get("rhat_max")
        rows.append((
            f"the chains converged: split R-hat at most {MAX_RHAT} for every parameter",
            rhat is not None and float(rhat) <= MAX_RHAT,
            "not recorded by the sampler that made this sample" if rhat is None else
            f"largest {float(rhat):.2f} ({chains.get('rhat_max_parameter', '?')})"))
    return rows


def sample_ess(calibration: Path) -> tuple[float, int, dict | None]:
    """A stored posterior's effective sample size (Kish's of its weights, or its chains'
    where smaller), its particles, and its chains' provenance (None for independent
    draws)."""
    posterior = pd.read_parquet(Path(calibration) / POSTERIOR_FILE.name)
    info = calibration_info(calibration)
    ess = effective_sample_size(posterior["weight"])
    # A sample of Markov chains' states: their autocorrelation, not the weights, sets it.
    if info.get("ess_min") is not None:
        ess = min(ess, float(info["ess_min"]))
    return ess, len(posterior), info if "chains" in info else None


def fit_checks(table: pd.DataFrame, ess: float, particles: int,
               chains: dict | None = None) -> pd.DataFrame:
    """Whether the posterior and the point pass the checks (see ``MIN_ESS_SHARE``), one
    row each: the check, passed or not, and what failed it; ``chains`` as for
    :func:`sample_checks`."""
    name = table["indicator"] + " " + table["period"].astype(str)

    def failing(mask: pd.Series) -> str:
        return ", ".join(name[mask]) or "none"

    few = table["share_of_draws_in_band"] < MIN_SHARE_IN_BAND
    outside = ~table["observed_in_predictive_90"].astype(bool)
    missed = ~table["point_in_band"].astype(bool)
    rows = [
        *sample_checks(ess, particles, chains),
        (f"every target: at least {MIN_SHARE_IN_BAND:.0%} of the draws in band", not few.any(),
         f"below: {failing(few)}"),
        ("every target: observed value inside the draws' 5-95 % interval (a lower bound: "
         "the interval reaching it)", not outside.any(),
         f"outside: {failing(outside)}"),
        ("every target in band at the point, on seeds no fit used", not missed.any(),
         f"out of band: {failing(missed)}"),
    ]
    return pd.DataFrame(rows, columns=["check", "passed", "detail"])


def prediction_table(runs: pd.DataFrame, year: int = 2020) -> pd.DataFrame:
    """Every indicator that is not a target, in ``year``: the point's mean over seeds and
    the posterior's 90 % interval -- predictions, never fitted."""
    targeted = {(m.target.indicator, y) for m in moments() for y in m.target.years}
    at = runs[runs["year"] == year]
    rows = []
    for name in NAMES:
        if (name, year) in targeted:
            continue
        per_draw = at[at["point"] >= 0].groupby("point")[name].mean()
        rows.append({"indicator": name, "year": year, "unit": UNITS.get(name, ""),
                     "point_mean": at.loc[at["point"] == -1, name].mean(),
                     "posterior_q05": per_draw.quantile(0.05),
                     "posterior_q95": per_draw.quantile(0.95),
                     "named_prediction": name in PREDICTIONS})
    return pd.DataFrame(rows).sort_values("named_prediction", ascending=False,
                                          kind="stable").reset_index(drop=True)


def _figures(folder: Path, runs: pd.DataFrame, posterior: pd.DataFrame,
             table: pd.DataFrame, point_label: str = "calibrated point",
             priors: dict | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="paper")
    ms = moments()
    fig, axes = plt.subplots(2, math.ceil(len(ms) / 2), figsize=(14, 5.6))
    for ax, m in zip(axes.flat, ms, strict=False):
        t = m.target
        point, per_draw = _per_run(runs, t)
        ax.axvspan(t.low, t.high, color="tab:green", alpha=0.18, label="reported band")
        sns.histplot(per_draw, ax=ax, color="tab:blue", stat="density", bins=12,
                     label="posterior predictive (draws)")
        sns.rugplot(point, ax=ax, color="black", height=0.08,
                    label=f"{point_label} (seeds)")
        ax.axvline(point.mean(), color="black", lw=1.2)
        ax.set_title(f"{t.indicator} {t.period}", fontsize=9)
        ax.set_xlabel(UNITS.get(t.indicator, ""))
        ax.set_ylabel("")
        ax.set_yticks([])
    for ax in list(axes.flat)[len(ms):]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, frameon=False)
    fig.suptitle("Posterior predictive check: each figure against its reported band")
    fig.tight_layout(rect=(0, 0.06, 1, 0.96))
    fig.savefig(folder / "posterior-predictive.png", dpi=130)
    plt.close(fig)

    names = [c for c in posterior.columns if c in PARAMS]
    cols = 8
    fig, axes = plt.subplots(math.ceil(len(names) / cols), cols,
                             figsize=(2.1 * cols, 1.7 * math.ceil(len(names) / cols)))
    w = posterior["weight"].to_numpy()
    for ax, name in zip(np.atleast_1d(axes).flat, names, strict=False):
        prior = (priors or {}).get(name) or PARAMS[name].prior_dist
        log = prior.kind.startswith("log")
        lo, hi = prior.ppf(0.001), prior.ppf(0.999)
        grid = np.geomspace(lo, hi, 200) if log else np.linspace(lo, hi, 200)
        dens = np.array([prior.pdf(x) for x in grid])
        x = posterior[name].to_numpy(dtype=float)
        sns.histplot(x=x, weights=w, ax=ax, stat="density", bins=15, color="tab:blue",
                     log_scale=log, label="posterior")
        if log:   # the histogram's density is per log10 unit; major ticks only
            dens = dens * grid * np.log(10)
            ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.plot(grid, dens, color="tab:orange", lw=1.2, label="prior")
        ax.set_title(name, fontsize=7)
        ax.set_xlabel("")
        ax.set_ylabel("")
        ax.set_yticks([])
        ax.tick_params(labelsize=6)
    for ax in list(np.atleast_1d(axes).flat)[len(names):]:
        ax.set_visible(False)
    handles, labels = np.atleast_1d(axes).flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, frameon=False)
    fig.suptitle("Prior (orange) against posterior (blue) of every estimated parameter")
    fig.tight_layout(rect=(0, 0.03, 1, 0.97))
    fig.savefig(folder / "prior-posterior.png", dpi=110)
    plt.close(fig)


def _md(df: pd.DataFrame, floats: str = "{:.4g}") -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False):
        cells = []
        for v in row:
            if isinstance(v, bool | np.bool_):
                cells.append("yes" if v else "no")
            elif isinstance(v, float | np.floating):
                cells.append(floats.format(v))
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_report(calibration: Path, out: Path, *, seeds: int = 20, draws: int = 20,
                 workers: int = 1, scheduler: str | None = None,
                 progress: bool = True) -> Path:
    """Run the calibrated point over ``seeds`` seeds and ``draws`` posterior draws over
    ``DRAW_SEEDS`` seeds each, and write ``out``: report.md (with the checks first),
    fit.csv, checks.csv, predictions.csv, contraction.csv and the figures, replacing the
    folder at once."""
    if seeds < 2:
        raise InputError(f"--seeds {seeds}: allowed: 2 or more for the report")
    if draws < 2:
        raise InputError(f"--draws {draws}: allowed: 2 or more for the report")
    calibration = Path(calibration)
    point, point_info = read_point(calibration)
    # What the fit held, at the default scale: the check covers the fit's smaller scale too.
    base = {k: v for k, v in (calibration_info(calibration).get("set") or {}).items()
            if k not in ESTIMATION_SCALE}
    posterior = pd.read_parquet(calibration / POSTERIOR_FILE.name)
    screen_path = calibration / SCREENING_FILE.name
    screening = pd.read_csv(screen_path) if screen_path.exists() else None
    vectors = [{**v, **base}
               for v in posterior_draws(draws, 1, calibration / POSTERIOR_FILE.name)]
    runs = _runs({**base, **point}, vectors, seeds, workers, scheduler, progress)
    table = fit_table(runs)
    predictions = prediction_table(runs)
    info = calibration_info(calibration)
    priors = calibration_priors(info)
    shrink = contraction(posterior, screening, priors)
    # the point's own provenance (a refinement says how it was found)
    info.update({k: v for k, v in point_info.items()
                 if k == "point" or k.startswith(("refine_", "point_"))})
    info = json.dumps(info)
    ess, _, chains = sample_ess(calibration)
    ess_chains = calibration_info(calibration).get("ess_min")
    checks = fit_checks(table, ess, len(posterior), chains)
    out = Path(out)
    new = staging(out)
    try:
        table.to_csv(new / "fit.csv", index=False)
        checks.to_csv(new / "checks.csv", index=False)
        predictions.to_csv(new / "predictions.csv", index=False)
        shrink.to_csv(new / "contraction.csv", index=False)
        pairs = correlations(posterior)
        pairs.to_csv(new / "correlations.csv", index=False)
        runs.to_parquet(new / "runs.parquet", index=False)
        _figures(new, runs, posterior, table,
                 "calibrated point" if point else "declared values", priors)
        fit_cols = table[["indicator", "period", "low", "high", "point_mean", "sd_over_seeds",
                          "posterior_mean", "sd_over_posterior", "predictive_q05",
                          "predictive_q95", "point_in_band", "share_of_draws_in_band",
                          "observed_in_predictive_90"]]
        informed = shrink[shrink["informed"]]
        text = [
            "# Fit report", "",
            f"Calibration: {info}", "",
            f"Posterior sample: {len(posterior)} weighted particles, effective sample size "
            f"{ess:.1f} ("
            + ("the smaller of the sample and the chains' effective size, from their "
               "autocorrelation, for the least mixed parameter" if chains is not None
               else "the smaller of the sample's and the SMC particles' effective size, "
               "from their genealogy, for the least mixed parameter"
               if ess_chains is not None else "Kish, (sum w)^2 / sum w^2") + ").", "",
            f"## Checks: {int(checks['passed'].sum())} of {len(checks)} passed", "",
            f"Each posterior draw is judged by its mean over {DRAW_SEEDS} seeds; the point "
            f"by its mean over {seeds}.", "",
            _md(checks.assign(passed=checks["passed"].map({True: "yes", False: "NO"}))),
            "",
            f"## The figures ({int(table['point_in_band'].sum())} of {len(table)} in band "
            f"at the {'calibrated point' if point else 'declared values'}, mean of "
            f"{seeds} seeds)", "",
            f"The point runs on seeds {CHECK_FIRST_SEED}-{CHECK_FIRST_SEED + seeds - 1}, "
            "which no fit used (the refinement's seeds are in its provenance above); each "
            f"posterior draw on seeds {CHECK_FIRST_SEED}-{CHECK_FIRST_SEED + DRAW_SEEDS - 1}"
            " (its figure the mean over them). A "
            "figure of a period of several years is the sum of its years' flows in each "
            "run.", "",
            _md(fit_cols), "",
            "![posterior predictive](posterior-predictive.png)", "",
            f"## What the figures taught ({len(informed)} of {len(shrink)} uncertain "
            "parameters contracted by 30 % or more)", "",
            "Contraction is 1 - posterior variance / prior variance. Place: as the "
            "screening (`calibration/screening.csv`) put it. A lever strength (`lever`) "
            "keeps its literature prior and is estimated with the rest; a parameter the "
            "figures cannot reach (`prior`) was not estimated, has its prior as posterior "
            "(contraction 0) and is drawn from it in experiments. A `held` parameter "
            "stays at its declared value.", "",
            _md(shrink[["parameter", "prior", *(["place"] if "place" in shrink else []),
                        "estimated", "median", "q05", "q95", "contraction"]]), "",
            "![prior and posterior](prior-posterior.png)", "",
            "## Which parameters trade off", "",
            "The pairs of estimated parameters most correlated over the posterior "
            "(Spearman's rank correlation; `correlations.csv`): what the figures fix is a "
            "combination of the two, not each alone.", "",
            _md(pairs, floats="{:.2f}"), "",
            "## Predictions (not fitted) in 2020", "",
            _md(predictions), "",
        ]
        (new / "report.md").write_text("\n".join(text), "utf-8")
        (new / "manifest.json").write_text(json.dumps(manifest_of(
            "fit report", calibration=str(calibration), seeds=seeds, draws=draws,
            written=provenance.timestamp()), indent=2) + "\n")
        publish(new, out, "fit report")
    finally:
        if new.exists():
            shutil.rmtree(new, ignore_errors=True)
    return out
