"""The ``xianghe`` command line (CONTRACT.md).

Bad input exits with status 2 and one line on stderr naming what is wrong and what is
allowed; all checks happen before anything is written.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

from model.params import FIRST_YEAR, LAST_YEAR, PARAMS, ParamError, lookup, resolve

from . import scenario as scenarios
from .scenario import InputError

# Seeds finished by an interrupted `run --out DIR`, kept in DIR until the run completes.
CHECKPOINTS = ".checkpoints"


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
    if not FIRST_YEAR <= args.until <= LAST_YEAR:
        raise InputError(f"--until {args.until}: allowed: a year in [{FIRST_YEAR}, {LAST_YEAR}]")
    if args.replicates < 1:
        raise InputError(f"--replicates {args.replicates}: allowed: an integer of 1 or more")
    if args.seed < 0:
        raise InputError(f"--seed {args.seed}: allowed: an integer of 0 or more")
    if args.out is not None and Path(args.out).exists() and not Path(args.out).is_dir():
        raise InputError(f"--out {args.out}: exists and is not a folder")
    sc = scenarios.load(args.scenario)
    params = {**sc.params, **_parse_set(args.set)}
    resolve(params)
    from .simulate import indicators_for, run_replicates, write_outputs

    started = time.perf_counter()
    checkpoints = Path(args.out) / CHECKPOINTS if args.out is not None else None
    results = run_replicates(params, args.seed, args.replicates, args.until,
                             progress=not args.quiet, checkpoints=checkpoints)
    mean, per_seed = indicators_for(results, args.until)
    if args.out is not None:
        seeds = list(range(args.seed, args.seed + args.replicates))
        write_outputs(Path(args.out), sc, params, seeds, args.until, results,
                      time.perf_counter() - started)
        shutil.rmtree(checkpoints, ignore_errors=True)
    if args.json:
        doc = {"scenario": sc.name, "seed": args.seed, "until": args.until,
               "replicates": args.replicates, "indicators": mean, "per_seed": per_seed}
        print(json.dumps(doc, allow_nan=False))
    else:
        width = max(len(n) for n in mean)
        print(f"{sc.name}: {args.until}, mean of {args.replicates} seed(s) from {args.seed}")
        for name, value in mean.items():
            print(f"  {name:<{width}}  {_human(value)}")
    if args.out is not None:
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


def _human(x: float) -> str:
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
        print("| name | default | unit | range | role | group | meaning | source |")
        print("|---|---|---|---|---|---|---|---|")
    for p in PARAMS.values():
        rng = "true/false" if p.kind == "bool" else f"{p.low:g} – {p.high:g}"
        default = str(p.default).lower() if p.kind == "bool" else f"{p.default:g}"
        if args.markdown:
            print(f"| `{p.name}` | {default} | {p.unit} | {rng} | {p.role} | {p.group} | "
                  f"{p.meaning} | {p.source} |")
        else:
            print(f"{p.name:<36} {default:>10} {p.unit:<22} {rng:<18} {p.role:<11} "
                  f"{p.meaning}")
    return 0


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
    run.add_argument("--out", help="folder for the quarterly tables, plots and manifest")
    run.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(func=_cmd_run)

    sc = sub.add_parser("scenarios", help="list the scenarios")
    sc.set_defaults(func=_cmd_scenarios)

    params = sub.add_parser("params", help="list every parameter")
    params.add_argument("--markdown", action="store_true", help="as a Markdown table")
    params.set_defaults(func=_cmd_params)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (InputError, ParamError) as err:
        print(f"xianghe: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader (``| head``) went away: not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())

