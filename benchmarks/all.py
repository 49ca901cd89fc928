"""Every benchmark, one after another, and their headline figures side by side.

Runs agent_step.py, run_2021.py, sweep_throughput.py and page_step.py in turn (each in
its own process, so none slows another), prints what each printed, then one table: the
cost per agent-step against Mesa's Boltzmann example and the bare numpy floor, one run to
2021, sweep runs a second on 2 workers, the page's step and peak memory per agent. It
measures; it asserts nothing.

    uv run python benchmarks/all.py          # about five minutes
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ("agent_step.py", "run_2021.py", "sweep_throughput.py", "page_step.py")


def _run(script: str) -> str:
    done = subprocess.run([sys.executable, str(HERE / script)], cwd=HERE.parent,
                          capture_output=True, text=True)
    if done.returncode != 0:
        return f"{script} failed: {done.stderr.strip().splitlines()[-1:]}"
    return done.stdout


def _case(out: str, model: str, agents: str) -> list[str] | None:
    """A row of agent_step.py's table: agents, steps, us/agent-step, build, RSS columns."""
    m = re.search(rf"^{model}\s+{agents}\s+(.*)$", out, re.M)
    return m.group(1).split() if m else None


def headline(outputs: dict[str, str]) -> list[tuple[str, str]]:
    """The figures the performance issue names, as (what, value) rows."""
    rows = []
    step = outputs["agent_step.py"]
    for agents in ("10,000", "100,000", "1,000,000"):
        own, mesa, floor = (_case(step, k, agents)
                            for k in ("xianghe", "mesa-boltzmann", "numpy-floor"))
        if own:
            parts = [f"xianghe {own[1]}"]
            parts += [f"Mesa Boltzmann {mesa[1]}"] if mesa else []
            parts += [f"numpy floor {floor[1]} ({float(own[1]) / float(floor[1]):.1f}x)"]\
                if floor else []
            rows.append((f"us per agent-step at {agents} agents", ", ".join(parts)))
    big = _case(step, "xianghe", "1,000,000")
    if big:
        rows.append(("peak memory per agent (1,000,000 agents)",
                     f"{float(big[5]) * 2**20 / 1e6:.0f} bytes above the imports"))
    m = re.search(r"one run: median ([\d.]+) s, range ([\d.]+-[\d.]+) s",
                  outputs["run_2021.py"])
    if m:
        rows.append(("one run to 2021, 50,000 agents", f"{m.group(1)} s ({m.group(2)} s)"))
    m = re.search(r"workers=2:\s+([\d.]+) runs/minute", outputs["sweep_throughput.py"])
    if m:
        rows.append(("sweep on 2 workers, runs to 2025",
                     f"{float(m.group(1)) / 60:.2f} runs/s"))
    m = re.search(r"median (\d+) ms, range (\d+-\d+) ms", outputs["page_step.py"])
    if m:
        rows.append(("page step, click to new map", f"{m.group(1)} ms ({m.group(2)} ms)"))
    return rows


def side_by_side(outputs: dict[str, str]) -> str:
    rows = headline(outputs)
    width = max((len(what) for what, _ in rows), default=0)
    return "\n".join(f"{what:<{width}}  {value}" for what, value in rows)


def measure() -> dict[str, str]:
    """What each benchmark printed, by script, and the side-by-side table."""
    outputs = {}
    for script in SCRIPTS:
        print(f"running {script} ...", file=sys.stderr, flush=True)
        outputs[script] = _run(script)
    return {**outputs, "side by side": side_by_side(outputs)}


def main() -> None:
    for name, out in measure().items():
        print(f"== {name}\n{out.rstrip()}\n")


if __name__ == "__main__":
    main()
