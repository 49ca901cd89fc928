"""The ``xianghe`` command line (docs/commands.md).

Bad input exits with status 2 and one line on stderr naming what is wrong and what is
allowed; all checks happen before anything is written.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

from model.params import PARAMS, POLICY_YEAR, ParamError, levers_by_year, lookup, resolve

from . import scenario as scenarios
from .errors import InputError, check_count
from .folders import output, prepare, writing


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")


def _parse_set(items: list[str]) -> dict:
    values = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            raise InputError(f"--set {item!r}: expected NAME=VALUE")
        values[name.strip()] = lookup(name.strip()).parse(text)
    return values


def _cmd_run(args) -> int:
    from . import api

    result = api.run_result(args.scenario, seed=args.seed, replicates=args.replicates,
                            until=args.until, draws=_draw_count(args),
                            params=_parse_set(args.set), out=args.out, workers=args.workers,
                            scheduler=args.scheduler, posterior=args.posterior,
                            progress=not args.quiet, wait=args.wait,
                            start_year=getattr(args, "from"))
    sc = scenarios.load(args.scenario)
    draws = args.draws
    mean, per_seed = result.indicators(args.until)
    if args.json:
        doc = {"scenario": sc.name, "seed": args.seed, "until": args.until,
               "replicates": args.replicates, "draws": args.draws, "levers": result.levers,
               "indicators": _nulls(mean), "per_seed": [_nulls(s) for s in per_seed]}
        if draws is not None:
            doc["runs"] = [{"draw": d, "seed": s} for d in range(draws)
                           for s in range(args.seed, args.seed + args.replicates)]
        print(json.dumps(doc, allow_nan=False))
    else:
        from model import INDICATORS

        units = {i.name: i.unit for i in INDICATORS}
        width = max(len(n) for n in mean)
        over = "" if draws is None else f" over {args.draws} posterior draw(s)"
        print(f"{sc.name}: {args.until}, mean of {args.replicates} seed(s) from {args.seed}"
              + over)
        print(f"  levers {_levers_text(result.levers, args.until)}")
        for name, value in mean.items():
            print(f"  {name:<{width}}  {_human(value):>12}  {units[name]}")
    if args.out is not None:
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


def _levers_text(levers: dict, until: int | None = None, indent: int = 4) -> str:
    """The levers set, grouped by their first year and wrapped: ``from 2022: name = value,
    ...``; a year after ``until`` is marked. "none" for the measures as they were."""
    import textwrap

    if not levers:
        return "none (the measures as they were up to 2020, continued)"
    groups = []
    for year, items in levers_by_year(levers).items():
        late = " (after the run ends)" if until is not None and year > until else ""
        groups.append(f"from {year}{late}: " + ", ".join(f"{n}={v}" for n, v in items))
    return textwrap.fill("; ".join(groups), width=100, subsequent_indent=" " * indent)


def _draw_count(args) -> int:
    """``--draws D`` for the API (0: none), refusing a D below 1 as the command did."""
    if args.draws is not None and args.draws < 1:
        raise InputError(f"--draws {args.draws}: allowed: an integer of 1 or more")
    return args.draws or 0


def _posterior(args) -> Path:
    from calibration.estimation import POSTERIOR_FILE

    return Path(args.posterior) if args.posterior else POSTERIOR_FILE


def _nulls(values: dict) -> dict:
    """NaN (an indicator with nothing to measure) as JSON null."""
    return {k: None if v != v else v for k, v in values.items()}


def _human(x: float) -> str:
    if x != x:
        return "–"
    if x == 0 or 1e-3 <= abs(x) < 1e6:
        return f"{x:,.4g}" if abs(x) < 1 else f"{x:,.1f}"
    return f"{x:.4g}"


def _cmd_scenarios(args) -> int:
    for path in scenarios.available():
        sc = scenarios.load(str(path))
        print(f"{path.stem:<16} {sc.description}")
    return 0


def _cmd_params(args) -> int:
    if args.markdown:
        print("| name | default | unit | range | role | prior | group | meaning | source |")
        print("|---|---|---|---|---|---|---|---|---|")
    for p in PARAMS.values():
        rng, default = p.range_text, p.format(p.default)
        if args.markdown:
            print(f"| `{p.name}` | {default} | {p.unit} | {rng} | {p.role} | {p.prior or ''} | "
                  f"{p.group} | {p.meaning} | {p.source} |")
        else:
            print(f"{p.name:<36} {default:>10} {p.unit:<22} {rng:<18} {p.role:<11} "
                  f"{p.meaning}")
    return 0


def _workers(args, default: int | None = None) -> int:
    """--workers, checked as the API checks it; by default ``default``, else every core."""
    from .api import _workers as checked

    return checked(args.workers, default)


def _cmd_sweep(args) -> int:
    from . import api

    session = api.sweep_session(args.design, out=args.out, workers=args.workers,
                                scheduler=args.scheduler, batch=args.batch,
                                draws=_draw_count(args), posterior=args.posterior,
                                progress=not args.quiet, wait=args.wait, repair=args.repair)
    print(f"{args.out}: {session['runs_ok']} run(s) ok, {session['runs_failed']} failed "
          f"this session, {session['runs_per_minute']} runs/minute on {session['executor']}"
          + ("" if session["complete"] else " (incomplete: run again to finish)"))
    return 0


def _cmd_compare(args) -> int:
    from . import api

    result = api.comparison(args.a, args.b, seed=args.seed, replicates=args.replicates,
                            draws=_draw_count(args), until=args.until,
                            params=_parse_set(args.set), out=args.out, workers=args.workers,
                            scheduler=args.scheduler, posterior=args.posterior,
                            progress=not args.quiet, wait=args.wait,
                            start_year=getattr(args, "from"))
    from .analysis import SEEDS_ONLY     # after the input is checked: it loads pandas

    effects = result.effects
    a, b = result.names
    seeds = list(range(args.seed, args.seed + args.replicates))
    holds = _interval_words(args, len(seeds))
    if args.json:
        print(json.dumps({"a": a, "b": b, "until": args.until, "seeds": seeds,
                          "draws": args.draws,
                          "interval": {"confidence": 0.95,
                                       "holds": effects["interval_holds"].iloc[0],
                                       "says": holds},
                          "levers": result.levers,
                          "effects": effects.replace({float("nan"): None})
                          .to_dict(orient="records")}))
        return 0
    print(f"{b} (B) against {a} (A) in {args.until}, paired on seeds "
          f"{seeds[0]}..{seeds[-1]}" + ("" if args.draws is None else
                                        f" and {args.draws} posterior draws") + ":")
    print(f"  {holds}")
    for side, name in (("a", a), ("b", b)):
        print(f"  {side.upper()} sets {_levers_text(result.levers[side], args.until)}")
    width = max(len(n) for n in effects["indicator"])
    over_draws = effects["interval_holds"].iloc[0] != SEEDS_ONLY
    cells = [_alike(r.effect, r.ci_low, r.ci_high) for r in effects.itertuples()]
    brackets = [f"[{low}, {high}]" for _, low, high in cells]
    span = max(len("95 % interval"), *map(len, brackets))
    print((f"  {'indicator':<{width}}  {'unit':<10} {'A':>12} {'B':>12} {'B - A':>12}  "
           f"{'95 % interval':<{span}}" + ("  share from parameters" if over_draws else ""))
          .rstrip())
    runs = len(seeds) * (args.draws or 1)
    partial = []
    for r, (effect, _, _), bracket in zip(effects.itertuples(), cells, brackets, strict=True):
        line = (f"  {r.indicator:<{width}}  {r.unit:<10} {_human(r.a):>12} {_human(r.b):>12} "
                f"{effect:>12}  {bracket:<{span}}")
        if over_draws:
            line += f"  {_share(r.share_param):>21}"
        if r.pairs < runs:
            line += f"  ({r.pairs} of {runs} pairs)"
            partial.append(r.indicator)
        print(line.rstrip())
    if partial:
        print(f"  {', '.join(partial)}: A, B and B - A over the run pairs in which both sides "
              "had something to measure (a project signed, a start of production); the "
              "others have none on one side.")
    return 0


def _interval_words(args, seeds: int) -> str:
    """What the 95 % intervals of a comparison hold, in words."""
    if args.draws is not None:
        return (f"95 % intervals hold seed noise and parameter uncertainty ({args.draws} "
                f"posterior draws x {seeds} seeds)")
    words = (f"95 % intervals hold seed noise only ({seeds} seed pairs), at the calibrated "
             "parameters")
    if _posterior(args).exists():
        words += ("; parameter uncertainty is left out: add --draws D (20 or more) to "
                  "include it")
    return words


def _alike(effect: float, *bounds: float) -> list[str]:
    """An effect (signed) and its interval's bounds at one precision, set by the largest."""
    finite = [abs(x) for x in (effect, *bounds) if x == x and abs(x) != float("inf")]
    top = max(finite, default=0.0)
    out = []
    for i, x in enumerate((effect, *bounds)):
        if x != x:
            out.append("–")
            continue
        if top >= 1e6:
            text = f"{x:.4g}"
        elif top >= 1:
            text = f"{x:,.1f}"
        elif top == 0:
            text = "0"
        else:
            text = f"{x:.{max(2, 3 - math.floor(math.log10(top)))}f}"
        out.append(("+" if i == 0 and x > 0 else "") + text)
    return out


def _share(x: float) -> str:
    return "–" if x != x else f"{100 * x:.0f} %"


def _load_sweep(folder: str):
    from .design import Design
    from .store import MANIFEST, read_manifest, read_results, schema

    manifest = read_manifest(Path(folder))
    if manifest is None:
        raise InputError(f"{folder}: holds no sweep (no {MANIFEST}); run `xianghe sweep` first")
    try:
        d = manifest["design"]
        design = Design(d["scenario"], d["sampler"], d["samples"], d["seeds"],
                        tuple(d["years"]), d["params"], d["sampler_seed"],
                        d.get("start_year"))
    except (KeyError, TypeError):
        raise InputError(f"{folder}/{MANIFEST}: the design in it is incomplete") from None
    hint = (f"`xianghe sweep {manifest.get('design_file', 'DESIGN')} --out {folder} "
            "--repair`")
    extra = ["draw"] if manifest.get("draws") else []
    return design, read_results(Path(folder), schema(design.names, extra=extra), hint)


def _cmd_sensitivity(args) -> int:
    from .analysis import sensitivity
    from .plots import save, sensitivity_bars

    design, results = _load_sweep(args.folder)
    year = args.year or design.until
    indices = sensitivity(results, design, args.indicator, year)
    with writing(Path(args.folder) / "plots", "folder"):
        paths = save(sensitivity_bars(indices, args.indicator, year),
                     Path(args.folder) / "plots" / f"sensitivity-{args.indicator}-{year}")
    if args.json:
        records = indices.astype(object).where(indices.notna(), None).to_dict(orient="records")
        print(json.dumps({"indicator": args.indicator, "year": year,
                          "sampler": design.sampler, "indices": records}, allow_nan=False))
    else:
        print(f"{design.sampler} indices of {args.indicator} in {year}:")
        print(indices.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    print("wrote " + ", ".join(map(str, paths)), file=sys.stderr)
    return 0


def _cmd_plot(args) -> int:
    from model import NAMES

    from .plots import save, sweep_heatmap, sweep_lines

    design, results = _load_sweep(args.folder)
    if args.indicator not in NAMES:
        raise InputError(f"--indicator {args.indicator!r}: unknown; allowed: {', '.join(NAMES)}")
    for name in [args.by, *(args.heatmap or [])]:
        if name is not None and name not in design.params:
            raise InputError(f"{name!r} is not a parameter of this sweep; allowed: "
                             f"{', '.join(design.names)}")
    year = args.year or design.until
    if year not in design.years:
        raise InputError(f"--year {year}: not stored by this sweep; allowed: "
                         f"{', '.join(map(str, design.years))}")
    if args.heatmap and args.heatmap[0] == args.heatmap[1]:
        raise InputError(f"--heatmap {' '.join(args.heatmap)}: allowed: two different "
                         "parameters")
    if not ((results["status"] == "ok") & (results["year"] == year)).any():
        raise InputError(f"{args.folder}: no run finished without error for {year}; "
                         "nothing to plot")
    plots = Path(args.folder) / "plots"
    with writing(plots, "folder"):
        paths = save(sweep_lines(results, args.indicator, args.by),
                     plots / (f"lines-{args.indicator}" + (f"-by-{args.by}" if args.by else "")))
        if args.heatmap:
            x, y = args.heatmap
            paths += save(sweep_heatmap(results, args.indicator, year, x, y),
                          plots / f"heatmap-{args.indicator}-{year}-{x}-{y}")
    print("\n".join(map(str, paths)))
    return 0


# The browser tab's name, from the first byte served (the page sets it again when it
# mounts): several tabs of the page, or of Mesa's examples, stay apart.
PAGE_TITLE = "Xianghe relocation model: firms and talent between Beijing and Xianghe"
# Solara's settings for a page that must work offline: assets from the solara-assets
# package (proxied by the server), never fetched from a public CDN, no telemetry; and the
# title of the HTML it serves, which is Solara's own until the app mounts.
SERVER_ENV = {
    "SOLARA_ASSETS_PROXY": "True",
    "SOLARA_ASSETS_CDN": "http://127.0.0.1:9/",
    "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
    "SOLARA_THEME_TITLE": PAGE_TITLE,
}


def _cmd_viz(args) -> int:
    import socket

    if not 1 <= args.port <= 65535:
        raise InputError(f"--port {args.port}: allowed: an integer in [1, 65535]")
    try:
        with socket.create_server((args.host, args.port)):
            pass
    except (OSError, OverflowError) as err:
        raise InputError(f"--host {args.host} --port {args.port}: cannot serve there "
                         f"({err.strerror or err}); allowed: a local address and a free "
                         "port") from None
    env = dict(SERVER_ENV)
    if args.pareto:
        from .robustness import check

        if check(Path(args.pareto), "--pareto").get("kind") != "optimization":
            raise InputError(f"--pareto {args.pareto}: holds no search; allowed: the --out "
                             "folder of `xianghe optimize`")
        env["XIANGHE_PARETO"] = str(Path(args.pareto).resolve())
    solara = Path(sys.executable).parent / "solara"
    command = [str(solara), "run", "runs.app", "--host", args.host, "--port", str(args.port),
               "--production", "--no-open", "--no-check-version"]
    print(f"serving the page at http://{args.host}:{args.port}/ (Ctrl-C stops it)",
          file=sys.stderr)
    # Become the server, so that stopping this process stops the page.
    os.execve(solara, command, {**os.environ, **env})


def _cmd_elasticities(args) -> int:
    check_count("--seeds", args.seeds, 1)
    check_count("--seed", args.seed, 0)
    from .elasticities import LITERATURE, MEASURES

    measures = tuple(args.measures.split(",")) if args.measures else MEASURES
    for name in measures:
        if name not in MEASURES:
            raise InputError(f"--measures {name!r}: allowed: {', '.join(MEASURES)}")
    common = _parse_set(args.set)
    resolve(common)
    workers = _workers(args, default=1)
    if args.draws is not None and args.prior_draws is not None:
        raise InputError(f"--prior-draws {args.prior_draws}: allowed: --draws or "
                         "--prior-draws, not both")
    if args.draws is not None:
        check_count("--draws", args.draws, 1)
        return _elasticities_over_draws(args, measures, common, workers)
    if args.prior_draws is not None:
        check_count("--prior-draws", args.prior_draws, 1)
        return _elasticities_over_draws(args, measures, common, workers, prior=True)
    from .elasticities import NEW_PLANTS, PROBE, elasticities, new_project_elasticities

    table = elasticities(args.seed, args.seeds, common, measures, workers=workers,
                         progress=not args.quiet)
    new = new_project_elasticities(args.seed, args.seeds, common)
    if args.json:
        print(json.dumps({"seeds": list(range(args.seed, args.seed + args.seeds)),
                          "literature": {k: {"low": r.low, "high": r.high, "source": r.source}
                                         for k, r in LITERATURE.items()},
                          "measures": table.replace({float("nan"): None})
                          .to_dict(orient="records"),
                          "new_projects": {
                              "year": PROBE,
                              "literature": {k: {"low": r.low, "high": r.high,
                                                 "source": r.source}
                                             for k, r in NEW_PLANTS.items()},
                              "elasticities": new.replace({float("nan"): None})
                              .to_dict(orient="records")}}))
        return 0
    print(f"Each measure from 2022 against the baseline, seeds {args.seed}.."
          f"{args.seed + args.seeds - 1}, to 2030 (ranges from the literature in brackets):")
    ranges = {k: f"[{_human(r.low)}, {_human(r.high)}]" for k, r in LITERATURE.items()}
    print(f"  {'measure':<10} {'extra firms':>11} {'cost change':>11} "
          f"{'elasticity ' + ranges['elasticity']:>22} "
          f"{'additionality ' + ranges['additionality']:>26} {'cost/firm':>10} "
          f"{'cost/job ' + ranges['cost_per_job_yuan']:>24} {'workers gain':>12}")
    for r in table.itertuples():
        print(f"  {r.measure:<10} {r.extra_firms:>11.1f} {r.cost_change_share:>11.1%} "
              f"{_human(r.elasticity):>22} {_human(r.additionality):>26} "
              f"{_human(r.cost_per_firm_yuan):>10} {_human(r.cost_per_job_yuan):>24} "
              f"{_human(r.worker_surplus_gain_yuan):>12}")
    for key, r in LITERATURE.items():
        print(f"  {key}: {r.source}")
    print(f"\nNew investment projects' location elasticities at the baseline in {PROBE}: the "
          "number choosing a county against its own cost (seeds as above):")
    print(f"  {'county':<10} {'factor':<7} {'elasticity':>10}  {'range':<16} "
          f"{'in range':<8} {'share choosing it':>17}")
    for r in new.itertuples():
        print(f"  {r.county:<10} {r.factor:<7} {r.elasticity:>10.2f}  "
              f"{f'[{r.low:.2f}, {r.high:.2f}]':<16} {'yes' if r.in_range else 'no':<8} "
              f"{r.share_choosing:>17.1%}")
    for key, r in NEW_PLANTS.items():
        print(f"  {key}: {r.source}")
    return 0


def _cmd_calibrate(args) -> int:
    for option, value, least in (("--budget", args.budget, 1), ("--seeds", args.seeds, 1),
                                 ("--population", args.population, 2),
                                 ("--draws", args.draws, 2), ("--seed", args.seed, 0),
                                 ("--waves", args.waves, 1), ("--wave-size", args.wave_size, 2),
                                 ("--chains", args.chains, 1), ("--datasets", args.datasets, 2),
                                 ("--stage-seeds", args.stage_seeds, 1)):
        if value is not None:
            check_count(option, value, least)
    if args.coverage:
        return _coverage(args)
    if args.confirm:
        return _confirm(args)
    if args.datasets is not None:
        raise InputError(f"--datasets {args.datasets}: allowed only with --coverage (the "
                         "synthetic data sets of the coverage check)")
    # A pyabc history (--db) names its method: the contract's `calibrate --db URL --resume`.
    args.method = args.method or ("abc-smc" if args.db is not None else "abc-mcmc")
    hm = args.method != "abc-smc" and not (args.recover or args.screen or args.report
                                          or args.refine)
    if args.db is not None and hm:
        raise InputError(f"--db {args.db}: pyabc's history, allowed only with --method "
                         f"abc-smc ({args.method} keeps its runs in --work)")
    if not hm:
        _mcmc_options(args)          # abc-mcmc's options are refused with any other task
    if args.work is not None and not hm:
        raise InputError(f"--work {args.work}: allowed only for an abc-mcmc or "
                         "history-matching calibration (abc-smc keeps its history in --db)")
    args.db = args.db or "out/calibration/history.db"
    args.work = args.work or "out/calibration/work"
    if args.posterior is not None and not args.recover:
        raise InputError(f"--posterior {args.posterior}: allowed only with --recover (the "
                         "sample its true vector is drawn from)")
    from calibration import estimation

    workers = _workers(args, default=1)
    if args.recover:
        out = Path(args.out or "out/recovery")
        if (out / "history.db").exists():
            raise InputError(f"--out {out}: holds an earlier recovery (history.db); "
                             "allowed: an empty or new folder")
        prepare(out, "recovery")
        table = estimation.recover(out, budget=1200 if args.budget is None else args.budget,
                                   seeds=args.seeds or 2,
                                   population=args.population, workers=workers,
                                   scheduler=args.scheduler, seed=args.seed,
                                   posterior=_posterior(args), progress=not args.quiet)
        print(f"{out / 'recovery.csv'}: {int(table['covered'].sum())} of {len(table)} true "
              "values inside their 90 % posterior interval")
        return 0
    out = Path(args.out) if args.out else estimation.CALIBRATION
    prepare(out, "calibration")
    if args.refine or args.report:
        estimation.load_posterior(out / estimation.POSTERIOR_FILE.name)
    if args.refine:
        seeds = list(range(args.seed, args.seed + args.seeds)) if args.seeds else None
        point, d = estimation.refine_point(out, runs=800 if args.budget is None else args.budget,
                                           seeds=seeds,
                                           workers=workers, scheduler=args.scheduler,
                                           progress=not args.quiet)
        print(f"{out / estimation.CALIBRATED_FILE.name}: {len(point)} parameters, distance "
              f"{d:.3g} half-bands on the common seeds")
        return 0
    if args.report:
        from calibration.fit_report import write_report

        with output(out / "report", "fit report"):
            folder = write_report(out, out / "report", seeds=args.seeds or 20,
                                  draws=args.draws, workers=workers,
                                  scheduler=args.scheduler, progress=not args.quiet)
        import csv

        with open(folder / "checks.csv", newline="", encoding="utf-8") as f:
            checks = list(csv.DictReader(f))
        for c in checks:
            print(f"  {'passed' if c['passed'] == 'True' else 'FAILED'}: {c['check']} "
                  f"({c['detail']})")
        passed = sum(c["passed"] == "True" for c in checks)
        print(f"wrote {folder}: {passed} of {len(checks)} checks passed")
        return 0
    if args.screen:
        args.seeds = 2 if args.seeds is None else args.seeds
        seeds = list(range(args.seed, args.seed + args.seeds))
        base = _parse_set(args.set)
        resolve(base)
        df = estimation.screen(seeds, workers, args.scheduler, progress=not args.quiet,
                               base=base or None)
        with writing(out):
            out.mkdir(parents=True, exist_ok=True)
            tmp = out / f".{estimation.SCREENING_FILE.name}.new"
            df.to_csv(tmp, index=False)
            tmp.replace(out / estimation.SCREENING_FILE.name)
        counts = df["fit"].value_counts()
        print(f"{out / estimation.SCREENING_FILE.name}: of {len(df)} uncertain parameters, "
              f"{counts.get('estimated', 0)} estimated, {counts.get('lever', 0)} lever "
              f"strengths estimated with their literature priors, {counts.get('held', 0)} "
              f"held at their declared values, {counts.get('prior', 0)} beyond the "
              "figures' reach")
        return 0
    base = _parse_set(args.set)
    resolve(base)
    if hm:
        with output(Path(args.work), "calibration work", option="--work"):
            result = estimation.match(method=args.method, chains=args.chains,
                                      budget=args.budget,
                                      seeds=2 if args.seeds is None else args.seeds,
                                      population=args.population, waves=args.waves,
                                      wave_size=args.wave_size, workers=workers,
                                      scheduler=args.scheduler, work=Path(args.work),
                                      resume=args.resume, out=out, first_seed=args.seed,
                                      priors=args.priors, base=base or None,
                                      **_mcmc_options(args), progress=not args.quiet)
        kept = ("draws from the emulators' posterior" if args.method == "emulation"
                else "particles with every figure in band")
        print(f"{out}: {len(result.posterior)} {kept}, {result.simulations} particles run, "
              f"{result.seconds / 60:.1f} min; runs kept in {args.work}")
        _print_sample_checks(out, workers)
        return 0
    result = estimation.calibrate(budget=1200 if args.budget is None else args.budget,
                                  seeds=2 if args.seeds is None else args.seeds,
                                  population=args.population, workers=workers,
                                  scheduler=args.scheduler, db=args.db, resume=args.resume,
                                  out=out, first_seed=args.seed, priors=args.priors,
                                  base=base or None, progress=not args.quiet)
    print(f"{out}: {result.generations} generation(s), {result.simulations} particles, "
          f"epsilon {result.epsilon:.3g}, {result.seconds / 60:.1f} min; history {args.db}")
    return 0


def _print_sample_checks(out: Path, workers: int) -> None:
    """The checks a calibration can make of its sample at once (the fit report's first
    ones), and the command for the rest, which run the model."""
    from calibration.fit_report import sample_checks, sample_ess

    ess, particles, chains = sample_ess(out)
    checks = sample_checks(ess, particles, chains)
    for check, passed, detail in checks:
        print(f"  {'passed' if passed else 'FAILED'}: {check} ({detail})")
    print(f"{sum(c[1] for c in checks)} of {len(checks)} checks of the sample passed; the "
          "predictive checks run the draws and the point: uv run xianghe calibrate --report "
          f"--out {out} --workers {workers}")


def _mcmc_options(args) -> dict:
    """``--start`` (abc-mcmc's and emulation's), ``--stage-seeds`` and ``--burn-in``
    (abc-mcmc's alone)."""
    given = {"--start": args.start, "--stage-seeds": args.stage_seeds,
             "--burn-in": args.burn_in}
    task = args.recover or args.screen or args.report or args.refine
    keys = {"--start": "start", "--stage-seeds": "stage_seeds", "--burn-in": "burn_in"}
    for option, value in given.items():
        methods = ("abc-mcmc", "emulation") if option == "--start" else ("abc-mcmc",)
        if value is not None and (args.method not in methods or task):
            raise InputError(f"{option} {value}: allowed only for an "
                             f"{' or '.join(methods)} calibration (--method "
                             f"{'|'.join(methods)})")
    return {keys[o]: v for o, v in given.items() if v is not None}


def _elasticities_over_draws(args, measures, common: dict, workers: int,
                             prior: bool = False) -> int:
    """``elasticities --draws N``: each measure's magnitudes over posterior draws, the
    lever strengths among them (their literature priors as the figures restrict them);
    with ``prior`` (``--prior-draws N``), over the lever strengths' priors alone, the rest
    at the calibrated point."""
    from calibration.estimation import lever_prior_draws, posterior_draws

    from .elasticities import LITERATURE, elasticities, predictive

    n = args.prior_draws if prior else args.draws
    draws = lever_prior_draws(n, args.seed) if prior else posterior_draws(n, args.seed)
    table = elasticities(args.seed, args.seeds, common, measures, workers=workers,
                         progress=not args.quiet, draws=draws)
    summary = predictive(table)
    seeds = list(range(args.seed, args.seed + args.seeds))
    if args.json:
        print(json.dumps({"seeds": seeds, "over": "prior" if prior else "posterior",
                          "parameters": draws,
                          "literature": {k: {"low": r.low, "high": r.high, "source": r.source}
                                         for k, r in LITERATURE.items()},
                          "draws": table.replace({float("nan"): None}).to_dict(orient="records"),
                          "predictive": summary.replace({float("nan"): None})
                          .to_dict(orient="records")}))
        return 0
    over = (f"{n} draws of the lever strengths and the measures' own parameters from "
            "their priors (the rest at the calibrated point)" if prior else
            f"{n} posterior draws (lever strengths among them)")
    print(f"Each measure from 2022 against the baseline over {over}, "
          f"seeds {seeds[0]}..{seeds[-1]} each, to 2030: "
          "5-95 % of the draws, their median in brackets, and the share of the draws inside "
          "the literature's range")
    keys = ("elasticity", "additionality", "cost_per_job_yuan")
    heads = {"elasticity": "elasticity", "additionality": "additionality",
             "cost_per_job_yuan": "cost/job"}
    print(f"  {'measure':<12}" + "".join(
        f" {heads[k] + ' [' + _human(LITERATURE[k].low) + ', ' + _human(LITERATURE[k].high) + ']':>44}"
        for k in keys))
    for name, part in summary.groupby("measure", sort=False):
        cells = []
        for k in keys:
            r = part[part["magnitude"] == k].iloc[0]
            cells.append(f"{_human(r.q05)} to {_human(r.q95)} ({_human(r['median'])}), "
                         + (f"{r.share_in_range:.0%} in" if r.draws else "none"))
        print(f"  {name:<12}" + "".join(f" {c:>44}" for c in cells))
    for key in keys:
        print(f"  {key}: {LITERATURE[key].source}")
    return 0


def _confirm(args) -> int:
    """``calibrate --confirm``: keep the posterior's particles that stay in band on more
    seeds (calibration/confirm.py)."""
    from calibration import confirm, estimation

    for option, value in (("--method", args.method), ("--db", args.db),
                          ("--posterior", args.posterior)):
        if value is not None:
            raise InputError(f"{option} {value}: not an option of --confirm; allowed: "
                             "--seeds, --work, --workers, --scheduler, --out")
    out = Path(args.out) if args.out else estimation.CALIBRATION
    prepare(out, "calibration")
    estimation.load_posterior(out / estimation.POSTERIOR_FILE.name)
    work = Path(args.work or "out/calibration/confirm")
    with output(work, "confirmation work", option="--work"):
        kept, stage = confirm.confirm(out, work,
                                      seeds=confirm.SEEDS if args.seeds is None else args.seeds,
                                      workers=_workers(args, default=1),
                                      scheduler=args.scheduler, progress=not args.quiet)
    if len(kept) < 2:
        raise InputError(f"--seeds {stage['seeds']}: {len(kept)} of {stage['particles']} "
                         "particles keep every figure in band on them; allowed: fewer "
                         "--seeds, or a longer calibration first (nothing was written)")
    with writing(out):
        path = confirm.write_confirmed(out, kept, stage)
    worst = min(stage["in_band_share"], key=stage["in_band_share"].get)
    print(f"{path}: {stage['kept']} of {stage['particles']} particles keep every figure in "
          f"band as the mean of seeds 1-{stage['seeds']} (the figure most often out: "
          f"{worst}, in band for {stage['in_band_share'][worst]:.0%}); runs kept in {work}")
    return 0


def _coverage(args) -> int:
    """``calibrate --coverage``: the estimation's intervals checked on synthetic data."""
    from calibration import coverage

    for option, value in (("--method", args.method), ("--db", args.db), ("--work", args.work),
                          ("--posterior", args.posterior)):
        if value is not None:
            raise InputError(f"{option} {value}: not an option of --coverage; allowed: "
                             "--budget (reference runs), --datasets, --seeds, --set, "
                             "--workers, --scheduler, --out")
    reference = coverage.REFERENCE if args.budget is None else args.budget
    if reference < 30:
        raise InputError(f"--budget {reference}: the reference runs of the coverage check; "
                         "allowed: at least 30")
    base = _parse_set(args.set)
    resolve(base)
    out = Path(args.out or "out/coverage")
    with output(out, "coverage"):
        table = coverage.check(out, reference=reference,
                               datasets=coverage.DATASETS if args.datasets is None
                               else args.datasets,
                               seeds=2 if args.seeds is None else args.seeds,
                               workers=_workers(args, default=1), scheduler=args.scheduler,
                               base=base or None, progress=not args.quiet)
    under = table.loc[table["verdict"] == "under-covers", "parameter"].tolist()
    over = table.loc[table["verdict"] == "over-covers", "parameter"].tolist()
    print(f"{out / 'coverage.csv'}: 90 % intervals of {len(table)} parameters over "
          f"{int(table['datasets'].iloc[0])} synthetic data sets, coverage "
          f"{table['coverage'].min():.2f}-{table['coverage'].max():.2f}; "
          + (f"under-cover (below 80 %): {', '.join(under)}" if under else
             "every parameter's interval covers at least 80 %")
          + (f"; over-cover (above 95 %): {', '.join(over)}" if over else ""))
    import pandas as pd

    for r in pd.read_csv(out / "tolerances.csv").itertuples():
        print(f"  nearest {r.accept:.0%} of the reference ({r.kept} runs): mean coverage "
              f"{r.mean_coverage:.2f}, least {r.least_coverage:.2f} ({r.least_covered}); "
              f"{r.under_cover} under-cover, {r.over_cover} over-cover; intervals "
              f"{r.mean_width_vs_prior:.2f} of the prior's width")
    return 0


def _cmd_report(args) -> int:
    from . import api

    rep = api.report(args.measures, seeds=args.seeds, draws=args.draws, seed=args.seed,
                     from_year=getattr(args, "from"), until=args.until,
                     criterion=args.criterion, params=_parse_set(args.set), out=args.out,
                     format=args.format,
                     workers=args.workers, scheduler=args.scheduler,
                     posterior=args.posterior, progress=not args.quiet, wait=args.wait,
                     repair=args.repair, robustness=args.robustness)
    from .report import METRIC, fmt, interval_text, pct

    m = METRIC[args.criterion]
    over = "draws" if args.draws else "seeds"
    print(f"ranking by {m.label} ({m.unit}); brackets: {rep.ranking['bracket'].iloc[0]}:")
    for r in rep.ranking.itertuples():
        after = (f", above {r.next} in {pct(r.p_above_next)} of the {over}"
                 if isinstance(r.next, str) else "")
        print(f"  {r.rank}. {r.measure:<12} {fmt(r.value, m.divisor):>8} "
              f"{interval_text(r.ci_low, r.ci_high, m.divisor)}{after}")
    print(f"wrote {rep.path}", file=sys.stderr)
    return 0


def _robust_options(args) -> dict:
    """What a discovery and a search are both asked (:func:`_aim_options`,
    :func:`_states_options`, :func:`_output_options`), as keyword arguments of the API."""
    return dict(min_gain=args.min_gain, max_cost_per_job=args.max_cost_per_job,
                space=args.space, draws=args.draws, seeds=args.seeds, seed=args.seed,
                from_year=getattr(args, "from"), until=args.until,
                params=_parse_set(args.set), out=args.out, workers=args.workers,
                scheduler=args.scheduler, posterior=args.posterior,
                progress=not args.quiet, wait=args.wait, repair=args.repair)


def _cmd_discover(args) -> int:
    from . import api

    d = api.discover(args.measures, **_robust_options(args))
    print(d.summary)
    print(f"wrote {d.path}", file=sys.stderr)
    return 0


def _cmd_optimize(args) -> int:
    from . import api

    o = api.optimize(args.measures, min_share=args.min_share,
                     ranges=_parse_ranges(args.range),
                     start_years=_parse_span("--start-years", args.start_years),
                     epsilons=_parse_numbers("--epsilons", args.epsilons),
                     population=args.population, generations=args.generations,
                     **_robust_options(args))
    print(o.summary)
    print(f"wrote {o.path}", file=sys.stderr)
    return 0


def _parse_span(option: str, text: str | None) -> tuple[float, float] | None:
    """``LOW:HIGH`` as two numbers (integers where they are), or an error naming it."""
    if text is None:
        return None
    def number(part: str) -> float:
        try:
            return int(part)
        except ValueError:
            return float(part)

    parts = text.split(":")
    try:
        if len(parts) != 2:
            raise ValueError
        return number(parts[0]), number(parts[1])
    except ValueError:
        raise InputError(f"{option} {text}: allowed: LOW:HIGH, two numbers") from None


def _parse_numbers(option: str, text: str | None) -> tuple[float, ...] | None:
    """``A,B,...`` as numbers, or an error naming the option."""
    if text is None:
        return None
    try:
        return tuple(float(t) for t in text.split(","))
    except ValueError:
        raise InputError(f"{option} {text}: allowed: comma-separated numbers") from None


def _parse_ranges(items: list[str]) -> dict[str, tuple[float, float]]:
    out = {}
    for item in items:
        name, sep, span = item.partition("=")
        if not sep or not name:
            raise InputError(f"--range {item}: allowed: NAME=LOW:HIGH")
        out[name.strip()] = _parse_span(f"--range {name.strip()}", span)
    return out


def _aim_options(parser: argparse.ArgumentParser) -> None:
    """The aim of a discovery or a search: the gain, and a cost per job if given."""
    parser.add_argument("--min-gain", type=float, default=200,
                        help="the aim: at least this many more projects producing in Xianghe "
                             "at the end of --until than without (default 200)")
    parser.add_argument("--max-cost-per-job", type=float,
                        help="and, if given, a discounted public cost of at most this many "
                             "yuan per extra job")


def _states_options(parser: argparse.ArgumentParser, draws: int) -> None:
    """The states of the world a discovery or a search runs over, and its years."""
    parser.add_argument("--space", default="posterior",
                        help="the states of the world: posterior (default; draws of the "
                             "calibration's posterior, the rest from their priors) or prior "
                             "(the lever strengths and the parameters the figures cannot "
                             "inform from their priors, the rest at the calibrated point)")
    parser.add_argument("--draws", type=int, default=draws,
                        help=f"parameter draws, fixed by --seed (default {draws})")
    parser.add_argument("--seeds", type=int, default=1, help="seeds per draw (default 1)")
    parser.add_argument("--posterior", metavar="FILE",
                        help="posterior sample the draws come from "
                             "(default calibration/posterior.parquet)")
    parser.add_argument("--seed", type=int, default=1, help="first seed (default 1)")
    parser.add_argument("--from", type=int, default=2022,
                        help="year the measures start (default 2022)")
    parser.add_argument("--until", type=int, default=2030, help="last year (default 2030)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="set a parameter in every scenario (repeatable)")


def _output_options(parser: argparse.ArgumentParser, name: str, document: str) -> None:
    """Where a discovery or a search runs and writes, and how it treats its folder."""
    parser.add_argument("--workers", type=int, help="local worker processes (default: all "
                                                    "cores)")
    parser.add_argument("--scheduler", help="address of a Dask scheduler, e.g. "
                                            "tcp://host:8786")
    parser.add_argument("--out", default=f"out/{name}",
                        help=f"folder for {document}, tables, figures and runs "
                             f"(default out/{name})")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--wait", action="store_true",
                        help="wait for another command writing to --out rather than refuse")
    parser.add_argument("--repair", action="store_true",
                        help="set a damaged runs manifest aside and rebuild from the sound "
                             "runs")


def _draws_options(parser: argparse.ArgumentParser, fixed_by: str) -> None:
    parser.add_argument("--draws", type=int, metavar="D",
                        help="run over D parameter vectors drawn from the posterior, "
                             + fixed_by)
    parser.add_argument("--posterior", metavar="FILE",
                        help="posterior sample --draws draws from "
                             "(default calibration/posterior.parquet)")


def _from_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", type=int, metavar="YEAR",
                        help="first year of every lever the scenario or --set sets "
                             f"(default: the scenario's own; {POLICY_YEAR} for --set, the "
                             "first year after the figures the model is fitted to)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="xianghe", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run one scenario from 2014Q1 to the end of a year")
    run.add_argument("scenario", nargs="?", default="baseline",
                     help="name in runs/scenarios/ or a path to a TOML file (default baseline)")
    run.add_argument("--seed", type=int, default=1, help="first seed (default 1)")
    run.add_argument("--until", type=int, default=2020, help="last year run (default 2020)")
    run.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                     help="set a parameter (repeatable); see `xianghe params`")
    run.add_argument("--replicates", type=int, default=1, help="seeds seed..seed+R-1")
    _from_option(run)
    run.add_argument("--out", help="folder for the quarterly tables, plots and manifest")
    run.add_argument("--workers", type=int,
                     help="local worker processes (default 1: this process)")
    run.add_argument("--scheduler", help="address of a Dask scheduler, e.g. tcp://host:8786")
    run.add_argument("--wait", action="store_true",
                     help="wait for another command writing to --out rather than refuse")
    _draws_options(run, "fixed by --seed")
    run.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(func=_cmd_run)

    sc = sub.add_parser("scenarios", help="list the scenarios")
    sc.set_defaults(func=_cmd_scenarios)

    sw = sub.add_parser("sweep", help="run a design of experiments, locally or on Dask")
    sw.add_argument("design", help="design file (TOML)")
    sw.add_argument("--out", required=True, help="folder for results/ and manifest.json")
    sw.add_argument("--workers", type=int, help="local worker processes (default: all cores)")
    sw.add_argument("--scheduler", help="address of a Dask scheduler, e.g. tcp://host:8786")
    sw.add_argument("--batch", type=int, default=16,
                    help="runs per Parquet part file (default 16)")
    _draws_options(sw, "fixed by the design's seed")
    sw.add_argument("--quiet", action="store_true", help="no progress bar")
    sw.add_argument("--wait", action="store_true",
                    help="wait for another sweep writing to --out rather than refuse")
    sw.add_argument("--repair", action="store_true",
                    help="set damaged parts aside, remove runs stored twice, write a damaged "
                         "manifest again, then compute what is missing")
    sw.set_defaults(func=_cmd_sweep)

    cmp_ = sub.add_parser("compare", help="effect of scenario B against A, paired by seed")
    cmp_.add_argument("a", help="reference scenario")
    cmp_.add_argument("b", help="scenario compared with it")
    cmp_.add_argument("--seed", type=int, default=1, help="first seed (default 1)")
    cmp_.add_argument("--replicates", type=int, default=5,
                      help="seed pairs (default 5, as api.compare)")
    _from_option(cmp_)
    cmp_.add_argument("--until", type=int, default=2030, help="year compared (default 2030)")
    cmp_.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                      help="set a parameter in both scenarios (repeatable)")
    cmp_.add_argument("--workers", type=int, help="local worker processes (default: all cores)")
    cmp_.add_argument("--scheduler", help="address of a Dask scheduler")
    cmp_.add_argument("--out", help="folder for effects.csv, runs.parquet and the plot")
    _draws_options(cmp_, "A and B share them")
    cmp_.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    cmp_.add_argument("--quiet", action="store_true", help="no progress bar")
    cmp_.add_argument("--wait", action="store_true",
                      help="wait for another command writing to --out rather than refuse")
    cmp_.set_defaults(func=_cmd_compare)

    sens = sub.add_parser("sensitivity", help="Sobol or Morris indices from a sweep")
    sens.add_argument("folder", help="the sweep's --out folder")
    sens.add_argument("--indicator", required=True, help="indicator to explain")
    sens.add_argument("--year", type=int, help="year (default: the design's last)")
    sens.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    sens.set_defaults(func=_cmd_sensitivity)

    plot = sub.add_parser("plot", help="plots of a sweep's results (PNG and SVG)")
    plot.add_argument("folder", help="the sweep's --out folder")
    plot.add_argument("--indicator", required=True, help="indicator to plot")
    plot.add_argument("--by", help="a design parameter to colour the lines by")
    plot.add_argument("--heatmap", nargs=2, metavar=("X", "Y"),
                      help="two design parameters for a heatmap")
    plot.add_argument("--year", type=int, help="year of the heatmap (default: the last)")
    plot.set_defaults(func=_cmd_plot)

    viz = sub.add_parser("viz", help="serve the interactive page")
    viz.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    viz.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    viz.add_argument("--pareto", metavar="DIR",
                     help="offer the Pareto set of a `xianghe optimize` folder as lever "
                          "settings to load")
    viz.set_defaults(func=_cmd_viz)

    el = sub.add_parser("elasticities",
                        help="each measure's implied elasticity, additionality and cost per "
                             "firm and job, beside the literature's ranges")
    el.add_argument("--seed", type=int, default=1, help="first seed (default 1)")
    el.add_argument("--seeds", type=int, default=5, help="seed pairs (default 5)")
    el.add_argument("--measures", help="comma-separated measures (default: all six)")
    el.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="set a parameter in every scenario (repeatable)")
    el.add_argument("--workers", type=int, help="local worker processes (default 1)")
    el.add_argument("--draws", type=int,
                    help="instead of the calibrated point: N posterior draws (lever "
                         "strengths among them); prints each magnitude's 5-95 %% over "
                         "the draws and the share inside the literature's range")
    el.add_argument("--prior-draws", type=int,
                    help="instead: N draws of the lever strengths (and the measures' own "
                         "parameters) from their literature priors, the rest at the "
                         "calibrated point: the priors' predictive of each magnitude")
    el.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    el.add_argument("--quiet", action="store_true", help="no progress bar")
    el.set_defaults(func=_cmd_elasticities)

    cal = sub.add_parser("calibrate", help="estimate the posterior (history matching and "
                                           "rejection ABC, or ABC-SMC)")
    cal.add_argument("--method", choices=("abc-mcmc", "history-matching", "emulation",
                                          "abc-smc"),
                     help="abc-mcmc: chains on the prior restricted to every figure in band, "
                          "from the starts of --start (default; abc-smc where --db names a "
                          "pyabc history); history-matching: waves of "
                          "emulators cut the space no run fits, then prior draws inside are "
                          "kept when every figure is in band; emulation: waves of "
                          "emulators of the figures' means, refined where their posterior "
                          "lies, then sampled by tempered SMC on them; abc-smc: pyabc's "
                          "sequential Monte Carlo")
    cal.add_argument("--chains", type=int, default=16,
                     help="abc-mcmc's chains, each proposing one point a step (default 16)")
    cal.add_argument("--start", metavar="point|FILE",
                     help="abc-mcmc's starts (and emulation's first wave's): a posterior "
                          "sample, the chains taking its particles in turn, or point, the "
                          "calibrated point (default: the project's posterior when it holds "
                          "the estimated parameters)")
    cal.add_argument("--stage-seeds", type=int,
                     help="abc-mcmc's second stage: a point in band on the --seeds seeds runs "
                          "on to this many and is kept when it stays in band (default 8; "
                          "--seeds or fewer: one stage)")
    cal.add_argument("--burn-in", type=float,
                     help="abc-mcmc: the share of the budget before the chains' states are "
                          "kept (default 0.5)")
    cal.add_argument("--budget", type=int,
                     help="particles to run (default 1500 with abc-mcmc, half of them "
                          "burn-in, each on --seeds seeds and those in band on to "
                          "--stage-seeds; 3000 with history matching, waves included; 2200 "
                          "with emulation, its waves and final sample; 1200 "
                          "with abc-smc, "
                          "where no generation starts that the rest cannot pay for); with "
                          "--refine, model runs (default 800)")
    cal.add_argument("--seeds", type=int,
                     help="common seeds every particle runs (default 2; with --report, "
                          "seeds of the calibrated point, default 20)")
    cal.add_argument("--seed", type=int, default=1, help="first common seed (default 1)")
    cal.add_argument("--population", type=int, default=200,
                     help="particles a generation (default 200)")
    cal.add_argument("--workers", type=int, help="local worker processes (default 1)")
    cal.add_argument("--scheduler", help="address of a Dask scheduler, e.g. tcp://host:8786")
    cal.add_argument("--db",
                     help="pyabc history: a SQLite file or an SQLAlchemy URL "
                          "(default out/calibration/history.db)")
    cal.add_argument("--resume", action="store_true",
                     help="continue the calibration in --work (history matching) or --db "
                          "(abc-smc) where it stopped")
    cal.add_argument("--work",
                     help="history matching's folder of waves and runs, kept for --resume "
                          "(default out/calibration/work)")
    cal.add_argument("--waves", type=int,
                     help="history-matching waves before the final stage (default 4); "
                          "emulation's waves (default 5)")
    cal.add_argument("--wave-size", type=int,
                     help="points a wave runs (default 350; 400 with emulation)")
    cal.add_argument("--out", help="folder for calibrated.toml and posterior.parquet "
                                   "(default: the project's calibration/)")
    cal.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                     help="a value every particle runs with (repeatable), e.g. a scale")
    cal.add_argument("--priors", metavar="FILE",
                     help="TOML [priors] table replacing declared priors "
                          '(name = "kind(a, b)"); the parameters it names are estimated')
    mode = cal.add_mutually_exclusive_group()     # one task per command
    mode.add_argument("--screen", action="store_true",
                      help="instead: screen which parameters the figures reach "
                           "(writes --out/screening.csv)")
    mode.add_argument("--report", action="store_true",
                      help="instead: the fit report of the posterior in --out (--out/report/)")
    mode.add_argument("--refine", action="store_true",
                      help="instead: replace --out/calibrated.toml by a pattern search from "
                           "the posterior particle closest to the figures")
    mode.add_argument("--confirm", action="store_true",
                      help="instead: run every particle of --out/posterior.parquet on common "
                           "seeds 1..--seeds (default 8) and keep those with every figure "
                           "still in band (a second, delayed-acceptance stage; runs kept in "
                           "--work, default out/calibration/confirm)")
    mode.add_argument("--coverage", action="store_true",
                      help="instead: simulation-based calibration on synthetic data: do the "
                           "estimation's 90 %% intervals cover prior draws' truths? --budget "
                           "reference runs (default 2000), --datasets data sets (default "
                           "100); --out, default out/coverage")
    mode.add_argument("--recover", action="store_true",
                      help="instead: parameter recovery from figures the model made at a "
                           "posterior draw (--out, default out/recovery)")
    cal.add_argument("--posterior", metavar="FILE",
                     help="posterior sample --recover draws its truth from")
    cal.add_argument("--datasets", type=int,
                     help="synthetic data sets of --coverage (default 100)")
    cal.add_argument("--draws", type=int, default=20,
                     help="posterior draws of the report's predictive check (default 20)")
    cal.add_argument("--quiet", action="store_true", help="no progress bar")
    cal.set_defaults(func=_cmd_calibrate)

    rp = sub.add_parser("report", help="the policy report: every measure against the "
                                       "baseline, its cost, the ranking, out-of-sample figures")
    rp.add_argument("--measures", help="comma-separated measures (default: the six of the "
                                       "county report: targeting, permits, land, subsidies, "
                                       "talent, commuting)")
    rp.add_argument("--seeds", type=int, default=5, help="seeds per draw (default 5)")
    rp.add_argument("--draws", type=int, default=20,
                    help="posterior draws, fixed by --seed (default 20, the fewest for "
                         "statements about the parameters' uncertainty; 0: the calibrated "
                         "point only)")
    rp.add_argument("--posterior", metavar="FILE",
                    help="posterior sample the draws come from "
                         "(default calibration/posterior.parquet)")
    rp.add_argument("--seed", type=int, default=1, help="first seed (default 1)")
    rp.add_argument("--from", type=int, default=2022,
                    help="year the measures start and the window opens (default 2022)")
    rp.add_argument("--until", type=int, default=2030, help="last year (default 2030)")
    rp.add_argument("--criterion", default="firms_per_100m_yuan",
                    help="what the ranking ranks by: firms_per_100m_yuan (default), "
                         "jobs_per_100m_yuan, net_fiscal_yuan, welfare_per_yuan")
    rp.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="set a parameter in every scenario (repeatable), e.g. an assumed "
                         "unit cost")
    rp.add_argument("--workers", type=int, help="local worker processes (default: all cores)")
    rp.add_argument("--scheduler", help="address of a Dask scheduler, e.g. tcp://host:8786")
    rp.add_argument("--robustness", action="append", default=[], metavar="DIR",
                    help="add the findings of a `xianghe discover` or `xianghe optimize` "
                         "folder as a section (repeatable)")
    rp.add_argument("--out", default="out/report",
                    help="folder for the report, tables, figures and runs (default out/report)")
    rp.add_argument("--format", default="md", help="md (default) or html")
    rp.add_argument("--quiet", action="store_true", help="no progress bar")
    rp.add_argument("--wait", action="store_true",
                    help="wait for another command writing to --out rather than refuse")
    rp.add_argument("--repair", action="store_true",
                    help="set a damaged runs manifest and damaged or foreign run files aside, "
                         "then rebuild the report from the runs that are sound")
    rp.set_defaults(func=_cmd_report)

    dv = sub.add_parser("discover", help="scenario discovery: the parameter ranges where a "
                                         "measure or the package fails its aim (PRIM, CART)")
    dv.add_argument("--measures", help="comma-separated measures: one is judged alone, "
                                       "several as their package (default: the county "
                                       "report's seven, as a package)")
    _aim_options(dv)
    _states_options(dv, draws=400)
    _output_options(dv, "discovery", "discovery.md")
    dv.set_defaults(func=_cmd_discover)

    op = sub.add_parser("optimize", help="robust policy search: the settings of the levers "
                                         "that reach an aim in most states of the world at "
                                         "least cost (NSGA-II)")
    op.add_argument("--measures", help="comma-separated measures whose levers are searched "
                                       "(default: the county report's seven)")
    op.add_argument("--range", action="append", default=[], metavar="NAME=LOW:HIGH",
                    help="search a number lever over another range (repeatable; default: "
                         "from its default to three times the county report's step)")
    op.add_argument("--start-years", metavar="LOW:HIGH",
                    help="search each measure's first year too, in LOW..HIGH (default: "
                         "every measure starts --from)")
    _aim_options(op)
    op.add_argument("--min-share", type=float, default=0.8,
                    help="a setting meets the aim in at least this share of the states "
                         "(default 0.8): the cheapest Pareto member doing so on fresh "
                         "states is named")
    op.add_argument("--epsilons", metavar="COST,GAIN,SHARE",
                    help="the Pareto set's resolution: settings closer than this in cost "
                         "(yuan), gain (projects) and robustness are one (default "
                         "2.5e8,5,0.05)")
    op.add_argument("--population", type=int, default=16,
                    help="settings a generation (default 16)")
    op.add_argument("--generations", type=int, default=10,
                    help="generations of the search (default 10)")
    _states_options(op, draws=16)
    _output_options(op, "optimization", "optimization.md")
    op.set_defaults(func=_cmd_optimize)

    params = sub.add_parser("params", help="list every parameter")
    params.add_argument("--markdown", action="store_true", help="as a Markdown table")
    params.set_defaults(func=_cmd_params)
    return parser


def _show_notes() -> None:
    """A :class:`runs.errors.Note` warning becomes one line on stderr, as it happens."""
    import warnings

    from .errors import Note

    shown = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, Note):
            print(f"xianghe: note: {message}", file=sys.stderr, flush=True)
        else:
            shown(message, category, filename, lineno, file, line)

    warnings.showwarning = show


# The commands that load the simulation stack (numpy, pandas, Mesa).
SIMULATING = ("run", "compare", "sweep", "sensitivity", "plot", "elasticities", "calibrate",
              "report", "discover", "optimize")


def _bytecode_note() -> None:
    """Where Python may not write bytecode and the libraries have none, every command
    compiles them from source again, silently: say so once per command, with the cure."""
    import importlib.util

    if not sys.dont_write_bytecode:
        return
    spec = importlib.util.find_spec("pandas")
    if spec is None or spec.origin is None:
        return
    if not os.path.exists(importlib.util.cache_from_source(spec.origin)):
        print("xianghe: note: the installed libraries have no compiled bytecode and "
              "PYTHONDONTWRITEBYTECODE is set, so every command compiles them again (seconds); "
              "run `uv sync --compile-bytecode` once", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _show_notes()
    if args.command in SIMULATING:
        _bytecode_note()
    try:
        return args.func(args)
    except (InputError, ParamError) as err:
        print(f"xianghe: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("xianghe: interrupted; what had finished is kept: run the same command again "
              "to go on", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader (``| head``) went away: not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())

