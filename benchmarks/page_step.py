"""How long the interactive page takes to step, as its user sees it.

Serves the page (`xianghe viz`), opens it in Debian's Chromium through Playwright, steps
the model a few times untimed, then times ``--steps`` steps in the browser itself: from
the Step button's click to the new map in the page (the charts come in the same update).
The default scale (50,000 talent agents). It measures; it asserts nothing
(tests/test_viz.py prints the same figure).

    uv run python benchmarks/page_step.py [--steps 10]
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("XIANGHE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
MAP = ".vue-grid-item img"            # the region map, a PNG redrawn each step
SERVER_START_S = 120

# Click the Step button and resolve with the milliseconds until the map's picture changes.
STEP_TIMED = """(button, sel) => new Promise((done, fail) => {
    const img = document.querySelector(sel), before = img.src;
    const watch = new MutationObserver(() => {
        const now = document.querySelector(sel);
        if (now !== null && now.src !== before) {
            watch.disconnect(); done(performance.now() - started);
        }
    });
    watch.observe(document.body, {attributes: true, subtree: true, childList: true});
    setTimeout(() => { watch.disconnect(); fail(new Error("no new map in 30 s")); }, 30000);
    const started = performance.now();
    button.click();
})"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(*args: str) -> tuple[subprocess.Popen, str]:
    """The page server on a free port (``args``: more options of ``xianghe viz``), once it
    answers (RuntimeError, with what it printed, if it stops or does not answer within
    ``SERVER_START_S``)."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "runs.cli", "viz", "--port", str(port),
                             *args],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + SERVER_START_S
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("the page server did not come up: "
                                   + proc.communicate()[0].decode(errors="replace")) from None
            time.sleep(0.5)


def step_times(url: str, steps: int, warm_up: int = 2) -> list[float]:
    """Milliseconds of each timed step."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1100})
        page.goto(url, wait_until="networkidle")
        button = page.get_by_role("button", name="Step")
        button.wait_for(timeout=60_000)
        page.locator(MAP).first.wait_for(timeout=60_000)
        times = [button.evaluate(STEP_TIMED, MAP) for _ in range(warm_up + steps)]
        browser.close()
    return times[warm_up:]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=10)
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"no browser at {CHROMIUM} (XIANGHE_CHROMIUM): "
                         "apt-get install chromium")
    proc, url = serve()
    try:
        times = step_times(url, args.steps)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print(f"python {platform.python_version()}, {platform.machine()}; the page at the default "
          f"scale, {args.steps} steps after 2 untimed")
    print(f"page step, click to new map (in the browser): median "
          f"{statistics.median(times):.0f} ms, range {min(times):.0f}-{max(times):.0f} ms")


if __name__ == "__main__":
    main()
