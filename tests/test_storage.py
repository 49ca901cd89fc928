"""Stores that survive concurrency, full and read-only disks, kills and damaged files.

Every check compares the store with an uninterrupted run's, row for row. The disk tests
mount small tmpfs file systems (the tests run as root here) and are skipped, saying why,
where mounting is not allowed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from runs.store import read_results
from tests.helpers import GRID, ROOT, xianghe
from tests.helpers import one_line as _one_line
from tests.helpers import command as _command



@pytest.fixture(scope="module")
def design(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("design") / "grid.toml"
    path.write_text(GRID)
    return path


@pytest.fixture(scope="module")
def whole(design, tmp_path_factory) -> pd.DataFrame:
    """The uninterrupted sweep every damaged one must come back to."""
    out = tmp_path_factory.mktemp("whole") / "out"
    assert xianghe("sweep", str(design), "--out", str(out), "--workers", "1", "--batch", "1",
                   "--quiet").returncode == 0
    return read_results(out)


def _sweep(design: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return xianghe("sweep", str(design), "--out", str(out), "--workers", "1", "--batch", "1",
                   "--quiet", *extra)


def _stored(out: Path) -> pd.DataFrame:
    parts = sorted((out / "results").glob("part-*.parquet"))
    return pd.concat([pd.read_parquet(p) for p in parts]).sort_values(
        ["run_id", "year"], ignore_index=True)


def _no_leftovers(out: Path) -> None:
    assert not list(out.rglob(".*.tmp")), list(out.rglob(".*.tmp"))
    beside = [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]
    assert beside == [], beside


# --- one writer per folder ------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("wait", [False, True], ids=["refused", "waits"])
def test_two_sweeps_on_one_folder_store_each_run_once(design, whole, tmp_path, wait):
    out = tmp_path / "out"
    extra = ["--wait"] if wait else []
    procs = [subprocess.Popen(_command("sweep", str(design), "--out", str(out), "--workers",
                                       "1", "--quiet", *extra),
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    results = [p.communicate(timeout=600) + (p.returncode,) for p in procs]
    codes = sorted(code for _, _, code in results)
    if wait:
        assert codes == [0, 0], results
    else:
        assert codes == [0, 2], results
        stderr = next(err for _, err, code in results if code == 2)
        assert len(stderr.strip().splitlines()) == 1 and "in use by process" in stderr
    stored = _stored(out)
    assert not stored.duplicated(["run_id", "year"]).any()
    pd.testing.assert_frame_equal(stored, whole)

    again = _sweep(design, out)
    assert again.returncode == 0 and "0 run(s) ok" in again.stdout
    pd.testing.assert_frame_equal(_stored(out), whole)
    _no_leftovers(out)


def test_a_second_writer_is_named_and_refused_while_the_first_holds_the_folder(design,
                                                                               tmp_path):
    from runs.folders import FolderLock

    out = tmp_path / "out"
    with FolderLock(out):
        line = _one_line(_sweep(design, out), str(out), "in use by process", "--wait")
        assert str(os.getpid()) in line
    assert not out.exists()


# --- atomic outputs of run --out -------------------------------------------------------

def _run_args(out: Path, scenario: str = "baseline") -> list[str]:
    return ["run", scenario, "--quiet", "--until", "2016", "--set", "talent_agents=5000",
            "--out", str(out)]


def _whole_run_in(out: Path) -> str:
    """The folder holds one run whole: every file, and the tables agree with the manifest."""
    names = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert names == ["annual.csv", "annual.parquet", "indicators.png", "manifest.json",
                     "new-stage.png", "quarterly.csv", "quarterly.parquet"], names
    manifest = json.loads((out / "manifest.json").read_text())
    annual = pd.read_parquet(out / "annual.parquet")
    assert sorted(annual["seed"].unique()) == manifest["seeds"]
    assert pd.read_parquet(out / "quarterly.parquet")["seed"].nunique() == len(
        manifest["seeds"])
    return manifest["scenario"]


@pytest.mark.slow
def test_a_kill_at_any_moment_of_run_out_leaves_the_old_run_or_the_new(tmp_path):
    out = tmp_path / "out"
    assert xianghe(*_run_args(out)).returncode == 0
    assert _whole_run_in(out) == "baseline"
    seen = set()
    for delay in (0.0, 0.05, 0.15, 0.4, 1.0):
        proc = subprocess.Popen(_command(*_run_args(out, "commuting")), cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Kill from the moment the replacement is being built, at growing delays.
        deadline = time.monotonic() + 300
        while (proc.poll() is None and not list(tmp_path.glob(".out.new-*"))
               and time.monotonic() < deadline):
            time.sleep(0.005)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        seen.add(_whole_run_in(out))
    assert seen <= {"baseline", "commuting"}
    assert xianghe(*_run_args(out, "commuting")).returncode == 0
    assert _whole_run_in(out) == "commuting"
    assert json.loads((out / "manifest.json").read_text())["parameters"][
        "checkpoint_lanes"] == 48
    _no_leftovers(out)


# --- disks that cannot be written ------------------------------------------------------

@pytest.fixture
def mount(tmp_path):
    mounted = []

    def make(options: str) -> Path:
        point = tmp_path / f"disk{len(mounted)}"
        point.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()})")
        mounted.append(point)
        return point

    yield make
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


def test_a_read_only_disk_is_refused_before_any_simulation(design, mount):
    disk = mount("ro,size=1m")
    started = time.monotonic()
    _one_line(xianghe(*_run_args(disk / "out")), str(disk), "read-only")
    _one_line(_sweep(design, disk / "sweep"), str(disk), "read-only")
    assert time.monotonic() - started < 60
    assert list(disk.iterdir()) == []


def test_a_disk_without_room_is_refused_before_any_simulation(design, mount):
    disk = mount("size=2m")
    _one_line(xianghe(*_run_args(disk / "out")), str(disk / "out"), "MiB free")
    _one_line(_sweep(design, disk / "sweep"), str(disk / "sweep"), "MiB free")
    assert list(disk.iterdir()) == []


@pytest.mark.slow
def test_a_disk_that_fills_during_a_sweep_gives_one_line_and_resumes(design, whole, mount):
    disk = mount("size=17m")
    out = disk / "out"
    proc = subprocess.Popen(_command("sweep", str(design), "--out", str(out), "--workers", "1",
                                     "--batch", "1", "--quiet"),
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not (out / "manifest.json").exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
        time.sleep(0.01)
    filler = disk / "filler"
    with open(filler, "wb") as f:            # fill the disk to the last block
        try:
            while True:
                f.write(b"\0" * 65536)
        except OSError:
            pass
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 2, (stdout, stderr)
    assert len(stderr.strip().splitlines()) == 1 and "disk is full" in stderr, stderr
    assert not list(out.rglob(".*.tmp"))
    filler.unlink()
    assert _sweep(design, out).returncode == 0
    pd.testing.assert_frame_equal(_stored(out), whole)


# --- damaged stores -------------------------------------------------------------------

@pytest.fixture
def finished(design, tmp_path) -> Path:
    out = tmp_path / "out"
    assert _sweep(design, out).returncode == 0
    return out


def _read_commands(out: Path) -> list[list[str]]:
    return [["plot", str(out), "--indicator", "car_share"],
            ["sensitivity", str(out), "--indicator", "car_share"]]


def test_a_truncated_part_is_named_and_repaired(design, whole, finished):
    part = sorted((finished / "results").glob("part-*.parquet"))[3]
    part.write_bytes(part.read_bytes()[: part.stat().st_size // 2])
    _one_line(_sweep(design, finished), part.name, "damaged", "--repair")
    _one_line(xianghe(*_read_commands(finished)[0]), part.name, "--repair")
    repaired = _sweep(design, finished, "--repair")
    assert repaired.returncode == 0, repaired.stderr
    assert (finished / "damaged" / part.name).exists()
    pd.testing.assert_frame_equal(_stored(finished), whole)


@pytest.mark.parametrize("damage", ["garbled", "deleted"])
def test_a_damaged_manifest_is_named_and_written_again(design, whole, finished, damage):
    manifest = finished / "manifest.json"
    if damage == "garbled":
        manifest.write_text("{ not json")
    else:
        manifest.unlink()
    _one_line(_sweep(design, finished), "--repair")
    if damage == "garbled":
        _one_line(xianghe(*_read_commands(finished)[0]), "manifest.json", "--repair")
    repaired = _sweep(design, finished, "--repair")
    assert repaired.returncode == 0, repaired.stderr
    assert json.loads(manifest.read_text())["runs"] == 8
    pd.testing.assert_frame_equal(_stored(finished), whole)


def test_runs_stored_twice_are_reported_and_removed(design, whole, finished):
    part = sorted((finished / "results").glob("part-*.parquet"))[0]
    shutil.copy(part, part.with_name("part-99999999999999999999-copy.parquet"))
    _one_line(_sweep(design, finished), "stored more than once", "--repair")
    for command in _read_commands(finished):
        _one_line(xianghe(*command), "stored more than once")
    repaired = _sweep(design, finished, "--repair")
    assert repaired.returncode == 0, repaired.stderr
    pd.testing.assert_frame_equal(_stored(finished), whole)
    assert len(read_results(finished)) == len(whole)


def test_leftover_temporary_files_go_with_the_next_sweep(design, whole, finished):
    (finished / "results" / ".part-0-dead.tmp").write_bytes(b"half a part")
    (finished / ".manifest.json.tmp").write_bytes(b"")
    assert _sweep(design, finished).returncode == 0
    _no_leftovers(finished)
    pd.testing.assert_frame_equal(_stored(finished), whole)
