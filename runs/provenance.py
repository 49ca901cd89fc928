"""Where a result came from: package versions, the git revision, the time."""

from __future__ import annotations

import subprocess
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

# The packages whose versions a result records beside the project's own.
PACKAGES = ("xianghe", "mesa", "numpy", "pandas", "scipy", "dask", "distributed", "pyabc")


def package_version() -> str:
    return version("xianghe")


def versions() -> dict[str, str]:
    """Installed versions of the project and the packages its results depend on."""
    found = {}
    for name in PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def git_revision() -> str:
    """The commit the code was run from, or ``unknown`` outside a git checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).resolve().parent, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def timestamp(seconds: float | None = None) -> str:
    """Local time, ISO 8601 with its offset."""
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(seconds))
