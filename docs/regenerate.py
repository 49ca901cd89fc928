"""Regenerate every figure the README and docs/ quote, from the commands that make them.

    uv run python docs/regenerate.py                 # every source (about 30 minutes here)
    uv run python docs/regenerate.py report fit      # some sources
    uv run python docs/regenerate.py --list          # the sources and their commands
    uv run python docs/regenerate.py --stale         # those whose results, code or inputs moved
    uv run python docs/regenerate.py --docs-only     # rewrite the quotes from what is stored

A *source* runs documented commands (`xianghe ...`, a benchmark script), writes the files the
docs show (`docs/report/`, `calibration/report/`, the PNGs in `docs/`) and stores the text
the docs quote from them in `docs/figures/SOURCE.json`: the commands, when and where they
ran, a fingerprint of the results the model gives now and of the code and inputs its
output rests on, and the quotes, ``{key: text}``.
Then every quote marked in the README and docs/ as ``<!--q SOURCE.KEY-->text<!--/q-->`` is
rewritten with the stored text (a quoted code block sits between the markers, on lines of
their own). ``tests/test_docs.py`` fails when a marked quote differs from the stored text,
when a source's fingerprint is not what the project holds now (its results, code or inputs
moved: regenerate it), and when the first experiment of the README, run again, prints
something else.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ROOT / "docs" / "figures"
# The files whose content fixes what every command prints: the results of the stored
# regression runs (regenerated whenever results move on purpose) and the calibration; each
# source adds the code and inputs that shape its own output (Source.depends).
FINGERPRINTED = ("tests/data/regression-baseline.json", "calibration/calibrated.toml",
                 "calibration/posterior.parquet")
COMPARING = ("runs/cli.py", "runs/analysis.py", "runs/experiments.py", "runs/scenarios/*.toml")
QUOTE = re.compile(r"<!--q ([\w-]+)\.(\w+)-->(.*?)<!--/q-->", re.DOTALL)
DOCUMENTS = ("README.md", "docs/*.md")
# The rows of a comparison the README's excerpts keep.
EXCERPT_ROWS = ("firms_relocated", "firms_operating", "relocated_tax_yuan",
                "relocated_workers_employed", "checkpoint_peak_delay_min",
                "public_spending_yuan", "worker_surplus_yuan")


def fingerprint(depends: tuple[str, ...] = ()) -> str:
    """What a source's quotes rest on: the model's results (:data:`FINGERPRINTED`) and the
    files ``depends`` names (globs from the project's root), by content."""
    digest = hashlib.sha256()
    files = [ROOT / n for n in FINGERPRINTED]
    files += sorted(p for pattern in depends for p in ROOT.glob(pattern))
    for path in files:
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def xianghe(*args: str, cwd: Path = ROOT) -> str:
    """Run ``xianghe ARGS`` as the README does (the environment's script) and return what
    it printed on stdout; a failure stops the regeneration with its stderr."""
    script = Path(sys.executable).with_name("xianghe")
    done = subprocess.run([str(script), *args, *(["--quiet"] if _quiet(args) else [])],
                          capture_output=True, text=True, cwd=cwd)
    if done.returncode != 0:
        raise SystemExit(f"xianghe {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def _quiet(args: tuple[str, ...]) -> bool:
    return args[0] in ("run", "compare", "sweep", "elasticities", "report", "calibrate",
                       "discover", "optimize")


def script(path: str, *args: str) -> str:
    done = subprocess.run([sys.executable, str(ROOT / path), *args], capture_output=True,
                          text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{path} failed:\n{done.stderr}")
    return done.stdout


def excerpt(output: str, rows: tuple[str, ...] = EXCERPT_ROWS) -> str:
    """A comparison's header and the rows named, as `xianghe compare` printed them."""
    lines = output.rstrip("\n").splitlines()
    first = next(i for i, line in enumerate(lines) if line.split()[:1] == ["indicator"])
    kept = [line for line in lines[first + 1:] if line.split()[:1] and line.split()[0] in rows]
    return "\n".join([*lines[:first + 1], *kept, "  ..."])


# ---------------------------------------------------------------------------- the sources

@dataclass(frozen=True)
class Source:
    name: str
    commands: tuple[str, ...]
    make: Callable[[Path], dict[str, str]]
    depends: tuple[str, ...] = ()   # code and inputs its output rests on, beside the results
    results: bool = True     # its quotes are model results (fingerprinted), not timings


FIRST_EXPERIMENT = ("compare", "baseline", "subsidies", "--replicates", "10")


def first_experiment(tmp: Path) -> dict[str, str]:
    return {"seeds": excerpt(xianghe(*FIRST_EXPERIMENT)),
            "draws": excerpt(xianghe("compare", "baseline", "subsidies", "--replicates", "2",
                                     "--draws", "20"))}


def compare_package(tmp: Path) -> dict[str, str]:
    out = xianghe("compare", "baseline", "report-package", "--replicates", "10", "--out",
                  str(tmp / "cmp"))
    shutil.copy(tmp / "cmp" / "effects.png", ROOT / "docs" / "compare-effects.png")
    return {"output": excerpt(out, (*EXCERPT_ROWS, "projects_failed", "land_blocked_projects",
                                    "mean_signed_investment_yuan"))}


def compare_draws(tmp: Path) -> dict[str, str]:
    """The permits measure over 20 posterior draws x 2 seeds against 40 seeds at the point."""
    over = json.loads(xianghe("compare", "baseline", "permits", "--draws", "20",
                              "--replicates", "2", "--json"))
    point = json.loads(xianghe("compare", "baseline", "permits", "--replicates", "40",
                               "--json"))
    rows = {e["indicator"]: e for e in over["effects"]}
    at = {e["indicator"]: e for e in point["effects"]}
    shown = {"firms_relocated": ("firms relocated", 1), "firms_operating": ("firms producing", 1),
             "projects_failed": ("projects failed", 1),
             "relocated_tax_yuan": ("relocated tax, m yuan", 1e6),
             "worker_surplus_yuan": ("workers' surplus, m yuan", 1e6)}

    def cell(e, div):
        return (f"{e['effect'] / div:+.1f} [{e['ci_low'] / div:.1f}, {e['ci_high'] / div:.1f}]"
                .replace("-", "−"))

    table = ["| indicator, 2030 | 20 draws × 2 seeds (seeds and parameters) | share of "
             "variance from the parameters | 40 seeds, calibrated point (seeds only) |",
             "|---|---|---|---|"]
    for name, (label, div) in shown.items():
        share = rows[name]["share_param"]
        table.append(f"| {label} | {cell(rows[name], div)} | "
                     f"{'–' if share is None else f'{share:.2f}'} | {cell(at[name], div)} |")
    comparable = [n for n, e in rows.items() if e["ci_low"] is not None
                  and at[n]["ci_low"] is not None and at[n]["ci_high"] != at[n]["ci_low"]]
    wider = sum(rows[n]["ci_high"] - rows[n]["ci_low"] > at[n]["ci_high"] - at[n]["ci_low"]
                for n in comparable)
    return {"table": "\n".join(table), "wider": f"{wider} of the {len(comparable)}"}


# The README's table of the new stage: the columns of `annual.csv`, as it heads them.
STAGE_COLUMNS = {
    "relocations_signed": "Xianghe: relocations", "new_projects_signed": "Xianghe: new projects",
    "projects_signed_tongzhou": "Tongzhou", "projects_signed_sanhe": "Sanhe",
    "projects_signed_dachang": "Dachang", "area_projects_signed": "four counties",
    "industrial_land_price_yuan_m2": "land, Xianghe",
    "industrial_land_price_tongzhou_yuan_m2": "land, Tongzhou",
    "industrial_land_price_sanhe_yuan_m2": "land, Sanhe",
    "industrial_land_price_dachang_yuan_m2": "land, Dachang",
}


def stage_table(annual) -> str:
    """Projects signed a year by origin and county and the land prices, mean over seeds."""
    means = annual.groupby("year")[list(STAGE_COLUMNS)].mean()
    rows = ["| year | " + " | ".join(STAGE_COLUMNS.values()) + " |",
            "|---|" + "---:|" * len(STAGE_COLUMNS)]
    for year, r in means.iterrows():
        cells = [f"{r[c]:.1f}" if "signed" in c else f"{r[c]:,.0f}" for c in STAGE_COLUMNS]
        rows.append(f"| {year} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def baseline(tmp: Path) -> dict[str, str]:
    xianghe("run", "--replicates", "10", "--until", "2030", "--out", str(tmp / "base"))
    shutil.copy(tmp / "base" / "indicators.png", ROOT / "docs" / "baseline-indicators.png")
    shutil.copy(tmp / "base" / "new-stage.png", ROOT / "docs" / "baseline-new-stage.png")
    import pandas as pd

    annual = pd.read_parquet(tmp / "base" / "annual.parquet")

    q = pd.read_parquet(tmp / "base" / "quarterly.parquet")
    wide = q.pivot_table(index=["seed", "year", "quarter"], columns="indicator", values="value")
    by_year = wide.groupby(level="year").mean()
    signed = annual.groupby("year")["firms_signed"].mean()
    peak = wide["checkpoint_event_delay_min"].groupby(level=["year", "quarter"]).mean().max()
    return {"event_delay_peak": f"{peak:.0f}",
            "event_delay_2030": f"{by_year.loc[2030, 'checkpoint_event_delay_min']:.0f}",
            "peak_delay_2030": f"{by_year.loc[2030, 'checkpoint_peak_delay_min']:.0f}",
            "intensity_2030": f"{100 * by_year.loc[2030, 'development_intensity']:.1f} %",
            "bus_load_2020": f"{by_year.loc[2020, 'bus_load']:.2f}",
            # a flow: the year's sum, from annual.parquet (the quarterly table's mean is a
            # quarter's)
            "signed_2025_2030": f"{signed.loc[2025:2030].mean():.1f}",
            "stage_table": stage_table(annual)}


def sweep(tmp: Path) -> dict[str, str]:
    out = tmp / "grid"
    started = time.perf_counter()
    line = xianghe("sweep", "runs/designs/subsidy-lanes-grid.toml", "--out", str(out),
                   "--workers", "2").strip()
    seconds = time.perf_counter() - started
    xianghe("plot", str(out), "--indicator", "firms_relocated", "--by",
            "investment_subsidy_rate", "--heatmap", "investment_subsidy_rate",
            "checkpoint_lanes")
    xianghe("plot", str(out), "--indicator", "checkpoint_peak_delay_min", "--by",
            "checkpoint_lanes")
    plots = out / "plots"
    shutil.copy(plots / "heatmap-firms_relocated-2030-investment_subsidy_rate-checkpoint_lanes.png",
                ROOT / "docs" / "sweep-heatmap.png")
    shutil.copy(plots / "lines-checkpoint_peak_delay_min-by-checkpoint_lanes.png",
                ROOT / "docs" / "sweep-lines.png")
    runs = int(re.search(r"(\d+) run\(s\) ok", line)[1])
    return {"runs": f"{runs} runs, {_minutes(seconds)} on two workers"}


def morris(tmp: Path) -> dict[str, str]:
    out = tmp / "morris"
    xianghe("sweep", "runs/designs/levers-morris.toml", "--out", str(out), "--workers", "2")
    indices = xianghe("sensitivity", str(out), "--indicator", "firms_relocated")
    shutil.copy(out / "plots" / "sensitivity-firms_relocated-2030.png",
                ROOT / "docs" / "sensitivity-morris.png")
    return {"indices": indices.rstrip("\n")}


def elasticities(tmp: Path) -> dict[str, str]:
    out = {"output": xianghe("elasticities", "--workers", "2").rstrip("\n"),
           "draws": xianghe("elasticities", "--draws", "20", "--seeds", "2", "--workers",
                            "2").rstrip("\n"),
           "prior": xianghe("elasticities", "--prior-draws", "20", "--seeds", "2",
                            "--workers", "2").rstrip("\n")}
    return {**out, **_additionality(out["output"], out["prior"])}


def _additionality(point: str, prior: str) -> dict[str, str]:
    """The README's sentence on additionality: each measure's 5-95 % over the prior draws,
    and how many measures' calibrated-point value lies inside its range."""
    cell = r"(\S+) to (\S+) \(\S+\), (?:\d+% in|none)"
    ranges = {m[1]: (float(m[4]), float(m[5])) for m in
              re.finditer(rf"^  (\w+)\s+{cell}\s+{cell}", prior, flags=re.MULTILINE)}
    at = {m[1]: float(m[2]) for m in re.finditer(
        r"^  (\w+)\s+\S+\s+\S+%\s+\S+\s+(\S+)\s", point, flags=re.MULTILINE)}
    inside = [n for n, (lo, hi) in ranges.items() if n in at and lo <= at[n] <= hi]
    outside = [n for n in ranges if n in at and n not in inside]
    return {"prior_additionality": ", ".join(f"{n} {lo:.2f} to {hi:.2f}"
                                             for n, (lo, hi) in ranges.items()),
            "point_inside": f"{len(inside)} of {len(ranges)}",
            "point_outside": ", ".join(f"{n} ({at[n]:.2f})" for n in outside) or "none"}


def report(tmp: Path) -> dict[str, str]:
    out, discovery, search = tmp / "report", tmp / "discovery", tmp / "optimization"
    xianghe("discover", "--workers", "2", "--out", str(discovery))
    xianghe("optimize", "--workers", "2", "--out", str(search))
    xianghe("report", "--out", str(out), "--robustness", str(discovery), "--robustness",
            str(search))
    target = ROOT / "docs" / "report"
    for sub in ("figures", "tables"):
        shutil.rmtree(target / sub, ignore_errors=True)
        (target / sub).mkdir(parents=True)
    for png in (out / "figures").glob("*.png"):
        shutil.copy(png, target / "figures" / png.name)
    for csv in (out / "tables").glob("*.csv"):
        if csv.stem != "runs":          # the runs are large: regenerate them with the command
            shutil.copy(csv, target / "tables" / csv.name)
    for name in ("report.md", "manifest.json"):
        shutil.copy(out / name, target / name)
    text = (out / "report.md").read_text()
    summary = text.split("## Summary", 1)[1].split("\n## ", 1)[0]
    findings = summary.split("**What the model cannot say.**")[0].split("\n\n", 3)[-1].strip()
    manifest = json.loads((out / "manifest.json").read_text())
    import pandas as pd

    oos = pd.read_csv(out / "tables" / "out_of_sample.csv")
    misses = [f"- `{r.indicator}` {r.year}: {_g(r.model)} in the model (5-95 % of the draws "
              f"{_g(r.q05)}-{_g(r.q95)}) against {r.published}"
              for r in oos.itertuples() if r.consistent is False or r.consistent == "False"]
    runs = len(manifest["seeds"]) * (manifest["draws"] or 1) * (len(manifest["measures"]) + 2)
    found = json.loads((discovery / "manifest.json").read_text())
    searched = json.loads((search / "manifest.json").read_text())
    return {"findings": findings, "misses": "\n".join(misses),
            "runs": f"{runs} runs, {_minutes(manifest['seconds'])}",
            "discovery": found["summary"], "discovery_time": _minutes(found["seconds"]),
            "optimization": searched["summary"],
            "optimization_time": _minutes(searched["seconds"])}


def fit(tmp: Path) -> dict[str, str]:
    xianghe("calibrate", "--report", "--workers", "2")
    import pandas as pd

    folder = ROOT / "calibration" / "report"
    table = pd.read_csv(folder / "fit.csv")
    from calibration.fit_report import CHECK_FIRST_SEED

    first, last = CHECK_FIRST_SEED, CHECK_FIRST_SEED + int(table["seeds"].max()) - 1
    rows = [f"| figure | period | band | calibrated point, mean of seeds {first}-{last} (sd) | "
            "posterior predictive mean (sd over the draws) | 5-95 % of the draws | draws in "
            "band |", "|---|---|---|---|---|---|---|"]
    for r in table.itertuples():
        rows.append(f"| `{r.indicator}` | {r.period} | {_g(r.low)} – {_g(r.high)} | "
                    f"**{_g(r.point_mean)}** ({_g(r.sd_over_seeds)}) | {_g(r.posterior_mean)} "
                    f"({_g(r.sd_over_posterior)}) | {_g(r.predictive_q05)} – "
                    f"{_g(r.predictive_q95)} | {100 * r.share_of_draws_in_band:.0f} % |")
    checks = pd.read_csv(folder / "checks.csv")
    check_rows = ["| check | passed | detail |", "|---|---|---|"] + [
        f"| {c.check} | {'yes' if c.passed else '**no**'} | {c.detail} |"
        for c in checks.itertuples()]
    contraction = pd.read_csv(folder / "contraction.csv")
    strong = contraction[contraction["contraction"] >= 0.3].sort_values("contraction",
                                                                         ascending=False)
    text = (folder / "report.md").read_text()
    ess = re.search(r"effective sample size ([\d.]+)", text)[1]
    from calibration.estimation import CALIBRATION, calibration_info

    meta = calibration_info(CALIBRATION)
    predictions = pd.read_csv(folder / "predictions.csv")
    predictions = predictions[predictions["named_prediction"]]
    in_band = int(table["point_in_band"].astype(bool).sum())
    places = pd.read_csv(ROOT / "calibration" / "screening.csv")["fit"].value_counts()
    return {
        **{place: str(int(places.get(place, 0))) for place in ("estimated", "lever", "held",
                                                               "prior")},
        "figures": "\n".join(rows),
        "checks": "\n".join(check_rows),
        "checks_passed": f"{int(checks['passed'].sum())} of {len(checks)}",
        "in_band": f"{in_band} of {len(table)}",
        "ess": f"{ess} of {meta['population']}",
        "calibration": (_chains(meta) if "chains" in meta else
            f"{meta['generations']} generations, {meta['simulations']:,} particles "
            f"of {len(meta['seeds'])} seeds each, {_minutes(meta['wall_seconds'])}, "
            f"final epsilon {meta['final_epsilon']:.1f} half-bands"),
        "contracted": ", ".join(f"`{r.parameter}` ({r.contraction:.2f})"
                                for r in strong.itertuples()),
        "pairs": ", ".join(f"`{r.a}` and `{r.b}` ({r.spearman:+.2f})" for r in
                           pd.read_csv(folder / "correlations.csv").head(6).itertuples()),
        "confirmed": (f"{meta['confirmed']['kept']} of {meta['confirmed']['particles']} "
                      f"particles kept on seeds 1-{meta['confirmed']['seeds']}"
                      if "confirmed" in meta else "not confirmed"),
        "predictions": ", ".join(f"`{r.indicator}` {_g(r.point_mean)}"
                                 for r in predictions.itertuples()),
    }


def _chains(meta: dict) -> str:
    """What the ABC-MCMC chains did, from the posterior's provenance."""
    second = meta.get("second_stage_seeds") or []
    text = (f"{meta['chains']} chains of {meta['steps']} steps ({meta['sampling_steps']} after "
            f"the burn-in)" + (f" from {meta['starts_in_band']} of {meta['starts']} starts"
                               if meta.get("starts", 1) > 1 else "") +
            f", {meta['simulations']:,} particles of {len(meta['seeds'])} seeds each"
            + (f", those in band on to seed {second[-1]}" if second else "")
            + f", {_minutes(meta['wall_seconds'])}; acceptance {meta['acceptance_rate']:.0%} "
            "after the burn-in")
    if "acceptance_walk" in meta:
        text += (f" ({meta['acceptance_walk']:.0%} of the random-walk steps, scale "
                 f"{meta['proposal_scale']:.3g} prior sd; {meta['acceptance_redraw']:.0%} of "
                 "the single-parameter draws from the prior)")
    else:
        text += f", proposal scale {meta['proposal_scale']:.3g} prior sd"
    text += (f"; effective sample size of the chains "
             f"{meta.get('ess_min_chains', meta['ess_min']):.1f} for the least mixed "
             f"parameter (`{meta['ess_min_parameter']}`)")
    if "rhat_max" in meta:
        text += f", split R-hat up to {meta['rhat_max']:.2f} (`{meta['rhat_max_parameter']}`)"
    return text


def coverage(tmp: Path) -> dict[str, str]:
    out = tmp / "coverage"
    started = time.perf_counter()
    printed = xianghe("calibrate", "--coverage", "--workers", "2", "--out",
                      str(out)).replace(str(out), "out/coverage")
    seconds = time.perf_counter() - started
    shutil.copy(out / "coverage.png", ROOT / "docs" / "coverage.png")
    shutil.copy(out / "coverage.csv", ROOT / "docs" / "figures" / "coverage.csv")
    import pandas as pd

    table = pd.read_csv(out / "coverage.csv")
    settings = json.loads((out / "settings.json").read_text())
    rows = ["| parameter | coverage of the 90 % interval (95 % interval of that share) | "
            "rank histogram: KS p-value | interval width / prior's | verdict |",
            "|---|---|---|---|---|"]
    for r in table.sort_values("coverage").itertuples():
        verdict = r.verdict if r.verdict == "calibrated" else f"**{r.verdict}**"
        rows.append(f"| `{r.parameter}` | {r.coverage:.2f} ({r.coverage_low:.2f}-"
                    f"{r.coverage_high:.2f}) | {r.rank_ks_p:.2g} | {r.width_vs_prior:.2f} | "
                    f"{verdict} |")
    counts = table["verdict"].value_counts()
    return {"table": "\n".join(rows),
            "printed": printed.strip(),
            "runs": (f"{settings['reference']:,} reference runs and {settings['datasets']} "
                     f"data sets, each on {len(settings['seeds'])} seeds, "
                     f"{_minutes(seconds)} on 2 workers here"),
            "summary": (f"{int(counts.get('calibrated', 0))} of {len(table)} calibrated, "
                        f"{int(counts.get('under-covers', 0))} under-cover, "
                        f"{int(counts.get('over-covers', 0))} over-cover; mean coverage "
                        f"{table['coverage'].mean():.2f}")}


def benchmarks(tmp: Path) -> dict[str, str]:
    import importlib.util

    spec = importlib.util.spec_from_file_location("benchmarks_all",
                                                  ROOT / "benchmarks" / "all.py")
    every = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(every)
    out = every.measure()
    page = re.search(r"median (\d+) ms, range (\d+)-(\d+) ms", out["page_step.py"])
    return {"machine": f"{machine()}; {time.strftime('%Y-%m-%d')}",
            "side_by_side": out["side by side"],
            "agent_step": out["agent_step.py"].rstrip("\n"),
            "run_2021": out["run_2021.py"].rstrip("\n"),
            "sweep_throughput": out["sweep_throughput.py"].rstrip("\n"),
            "page_step": out["page_step.py"].rstrip("\n"),
            "page_step_ms": (f"{page[1]} ms (median of 10 steps, {page[2]}-{page[3]} ms)"
                             if page else "not measured (no browser)"),
            "cli_latency": script("benchmarks/cli_latency.py").rstrip("\n"),
            "scale_invariance": script("benchmarks/scale_invariance.py").rstrip("\n")}


def seed_noise(tmp: Path) -> dict[str, str]:
    out = script("benchmarks/seed_noise.py").rstrip("\n")
    table = {line.split()[0]: line.split()[1:] for line in out.splitlines()[2:]}
    shares = table["all"]          # k = 1, 2, 5, 8 (its sd and mean are blank)
    return {"table": out, "all_1": shares[0], "all_2": shares[1], "all_8": shares[-1],
            "sd_relocated": table["firms_relocated_2020"][0]}


SOURCES = {s.name: s for s in (
    Source("first-experiment", (" ".join(("xianghe", *FIRST_EXPERIMENT)),
                                "xianghe compare baseline subsidies --replicates 2 --draws 20"),
           first_experiment, COMPARING),
    Source("compare-package", ("xianghe compare baseline report-package --replicates 10 "
                               "--out DIR",), compare_package, (*COMPARING, "runs/plots.py")),
    Source("compare-draws", ("xianghe compare baseline permits --draws 20 --replicates 2 --json",
                             "xianghe compare baseline permits --replicates 40 --json"),
           compare_draws, COMPARING),
    Source("baseline", ("xianghe run --replicates 10 --until 2030 --out DIR",), baseline,
           ("runs/experiments.py", "runs/plots.py")),
    Source("sweep", ("xianghe sweep runs/designs/subsidy-lanes-grid.toml --out DIR --workers 2",
                     "xianghe plot DIR ..."), sweep,
           ("runs/designs/subsidy-lanes-grid.toml", "runs/design.py", "runs/plots.py")),
    Source("morris", ("xianghe sweep runs/designs/levers-morris.toml --out DIR --workers 2",
                      "xianghe sensitivity DIR --indicator firms_relocated"), morris,
           ("runs/designs/levers-morris.toml", "runs/design.py", "runs/analysis.py",
            "runs/plots.py")),
    Source("elasticities", ("xianghe elasticities --workers 2",
                            "xianghe elasticities --draws 20 --seeds 2 --workers 2",
                            "xianghe elasticities --prior-draws 20 --seeds 2 --workers 2"),
           elasticities, ("runs/elasticities.py", "runs/scenarios/*.toml")),
    Source("report", ("xianghe discover --workers 2 --out D",
                      "xianghe optimize --workers 2 --out O",
                      "xianghe report --out DIR --robustness D --robustness O"), report,
           ("runs/report.py", "runs/analysis.py", "runs/scenarios/*.toml",
            "runs/discover.py", "runs/optimize.py", "runs/robustness.py",
            "calibration/out_of_sample.toml", "calibration/targets.toml")),
    Source("fit", ("xianghe calibrate --report --workers 2",), fit,
           ("calibration/fit_report.py", "calibration/estimation.py",
            "calibration/screening.csv", "calibration/targets.toml")),
    Source("coverage", ("xianghe calibrate --coverage --workers 2 --out DIR",), coverage,
           ("calibration/coverage.py", "calibration/history_matching.py",
            "calibration/screening.csv", "calibration/targets.toml")),
    Source("seed-noise", ("python benchmarks/seed_noise.py",), seed_noise,
           ("benchmarks/seed_noise.py", "calibration/targets.toml")),
    Source("benchmarks", ("python benchmarks/all.py", "python benchmarks/cli_latency.py",
                          "python benchmarks/scale_invariance.py"), benchmarks,
           ("benchmarks/*.py", "runs/app.py"), results=False),
)}


def _g(x) -> str:
    """A number as the docs print it: four significant figures, thousands separated."""
    x = float(x)
    if x != x:
        return "–"
    if x == 0 or 1e-3 <= abs(x) < 1e6:
        return f"{x:,.4g}" if abs(x) < 1000 else f"{x:,.0f}"
    return f"{x:.3g}"


def _minutes(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{rest} s"


# ---------------------------------------------------------------------------- the docs

def documents() -> list[Path]:
    return [p for pattern in DOCUMENTS for p in sorted(ROOT.glob(pattern))]


def stored() -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(FIGURES.glob("*.json"))}


def render(text: str, quote: str) -> str:
    """The text between a quote's markers: inline as it is; a block (markers on lines of
    their own) on lines of its own, fenced if it was (the fence's language kept)."""
    fence = re.match(r"\s*(```[\w-]*)\n", text)
    if fence:
        return f"\n{fence[1]}\n{quote}\n```\n"
    if text.startswith("\n"):
        return f"\n{quote}\n"
    return quote


def rewrite(path: Path, sources: dict[str, dict]) -> bool:
    """Put the stored quotes between the markers of ``path``; True if it changed."""
    text = path.read_text()

    def put(m: re.Match) -> str:
        source, key, old = m[1], m[2], m[3]
        if source not in sources or key not in sources[source]["quotes"]:
            raise SystemExit(f"{path.relative_to(ROOT)}: no stored quote {source}.{key}; "
                             f"regenerate {source}")
        return f"<!--q {source}.{key}-->{render(old, sources[source]['quotes'][key])}<!--/q-->"

    new = QUOTE.sub(put, text)
    if new != text:
        path.write_text(new)
    return new != text


def quoted(text: str) -> list[tuple[str, str, str]]:
    """(source, key, text as the document shows it, fences removed) of every quote."""
    out = []
    for m in QUOTE.finditer(text):
        body = m[3]
        block = re.fullmatch(r"\s*```[\w-]*\n(.*)\n```\s*", body, re.DOTALL)
        if block:
            body = block[1]
        elif body.startswith("\n") and body.endswith("\n"):
            body = body[1:-1]
        out.append((m[1], m[2], body))
    return out


def mismatches(text: str, sources: dict[str, dict]) -> list[str]:
    """Every quote of ``text`` that differs from what its source stored, a line each."""
    out = []
    for source, key, shown in quoted(text):
        stored_text = sources.get(source, {}).get("quotes", {}).get(key)
        if stored_text is None:
            out.append(f"{source}.{key}: no such stored quote")
        elif shown != stored_text:
            out.append(f"{source}.{key}: the docs show {shown[:60]!r}, the command gave "
                       f"{stored_text[:60]!r}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", nargs="*", help=f"sources (default all): {', '.join(SOURCES)}")
    parser.add_argument("--list", action="store_true", help="list the sources and commands")
    parser.add_argument("--docs-only", action="store_true",
                        help="run nothing: rewrite the docs' quotes from what is stored")
    parser.add_argument("--stale", action="store_true",
                        help="only the sources whose results, code or inputs changed since "
                             "they were made")
    args = parser.parse_args(argv)
    if args.stale:
        made = stored()
        args.sources = [n for n, s in SOURCES.items() if s.results and (
            n not in made or made[n]["fingerprint"] != fingerprint(s.depends))]
        print(f"stale: {', '.join(args.sources) or 'none'}", file=sys.stderr)
        if not args.sources:
            args.docs_only = True
    if args.list:
        for s in SOURCES.values():
            print(f"{s.name:<18} " + "; ".join(s.commands))
        return 0
    unknown = [n for n in args.sources if n not in SOURCES]
    if unknown:
        parser.error(f"unknown source {unknown[0]!r}; allowed: {', '.join(SOURCES)}")
    if not args.docs_only:
        FIGURES.mkdir(parents=True, exist_ok=True)
        for name in args.sources or SOURCES:
            source = SOURCES[name]
            print(f"{name}: {'; '.join(source.commands)}", file=sys.stderr, flush=True)
            started = time.perf_counter()
            with tempfile.TemporaryDirectory() as tmp:
                quotes = source.make(Path(tmp))
            record = {"source": name, "commands": list(source.commands),
                      "measured": time.strftime("%Y-%m-%d"), "machine": machine(),
                      "seconds": round(time.perf_counter() - started, 1),
                      "fingerprint": fingerprint(source.depends) if source.results else None,
                      "quotes": quotes}
            (FIGURES / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")
            print(f"  {len(quotes)} quote(s), {record['seconds']} s", file=sys.stderr)
    sources = stored()
    for path in documents():
        if rewrite(path, sources):
            print(f"rewrote {path.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
