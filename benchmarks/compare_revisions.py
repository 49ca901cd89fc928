"""One run to 2021 at two or more git revisions, taking turns on this machine.

Checks each revision out into a temporary worktree, then for ``--turns`` turns runs each
revision in a fresh process (a warm-up run, then the median of ``--runs`` runs, seeds 1 on)
and prints every turn's median and the median over turns: a comparison alternated on the
same machine, so that a busy moment does not favour one side. It measures; it asserts
nothing.

    uv run python benchmarks/compare_revisions.py 2542f5f HEAD [--agents 10000]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ONE_REVISION = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
from model import XiangheModel
agents, runs = int(sys.argv[2]), int(sys.argv[3])
XiangheModel({"talent_agents": agents}, seed=99).run_until_year(2021)
times = []
for seed in range(1, runs + 1):
    started = time.perf_counter()
    XiangheModel({"talent_agents": agents}, seed=seed).run_until_year(2021)
    times.append(time.perf_counter() - started)
print(sorted(times)[len(times) // 2])
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("revisions", nargs="+", help="git revisions, e.g. 2542f5f HEAD")
    ap.add_argument("--agents", type=int, default=50_000, help="talent agents")
    ap.add_argument("--turns", type=int, default=4)
    ap.add_argument("--runs", type=int, default=5, help="timed runs a turn")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        trees = {}
        for k, rev in enumerate(args.revisions):
            tree = Path(tmp) / f"rev{k}"
            subprocess.run(["git", "worktree", "add", "--detach", "-q", str(tree), rev],
                           cwd=ROOT, check=True)
            trees[rev] = tree
        try:
            found = {rev: [] for rev in trees}
            for _ in range(args.turns):
                for rev, tree in trees.items():
                    out = subprocess.run([sys.executable, "-c", ONE_REVISION, str(tree),
                                          str(args.agents), str(args.runs)], cwd=tree,
                                         capture_output=True, text=True, check=True)
                    found[rev].append(float(out.stdout.strip()))
        finally:
            for tree in trees.values():
                subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT)
    print(f"one run to 2021, {args.agents:,} talent agents; {args.turns} turns, each the "
          f"median of {args.runs} runs in a fresh process")
    for rev, times in found.items():
        print(f"{rev:>12}  median {statistics.median(times):.3f} s   turns "
              + " ".join(f"{t:.3f}" for t in times))


if __name__ == "__main__":
    main()
