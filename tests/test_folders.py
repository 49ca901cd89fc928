"""One rule for every output folder: a command writes into a folder only if it is new, empty
or holds its own kind of output, refuses anything else with one line before touching a
file, and, replacing its own output, keeps every file the user put beside it. Real files
and real processes throughout."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers import GRID, ROOT, command
from tests.helpers import one_line as _refused

SMALL = ["--set", "talent_agents=3000", "--quiet"]


def _run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(command(*args), capture_output=True, text=True, cwd=cwd,
                          timeout=600)


def _users_files(folder: Path) -> dict[Path, bytes]:
    """A user's file at the top and one in a subfolder, and a hidden temporary-looking one
    deep down: the names a careless cleaner would take for its own."""
    files = {folder / "notes.txt": b"precious", folder / "sub" / "data.csv": b"1,2,3",
             folder / "deep" / "a" / ".user.tmp": b"mine too"}
    for path, content in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return files


def _intact(files: dict[Path, bytes]) -> None:
    for path, content in files.items():
        assert path.read_bytes() == content, path


@pytest.mark.parametrize("args", [
    ("run", "--until", "2014", *SMALL),
    ("compare", "baseline", "permits", "--replicates", "2", "--until", "2014", "--workers",
     "1", *SMALL),
], ids=["run", "compare"])
def test_a_folder_of_the_users_is_refused_and_left_alone(tmp_path, args):
    folder = tmp_path / "existing"
    files = _users_files(folder)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    _refused(_run(*args, "--out", str(folder)), "is not empty", "nothing in it was touched")
    _intact(files)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_replacing_a_run_keeps_the_files_the_user_put_beside_it(tmp_path):
    folder = tmp_path / "out"
    first = _run("run", "--until", "2014", *SMALL, "--out", str(folder))
    assert first.returncode == 0, first.stderr
    files = _users_files(folder)
    inode = (folder / "notes.txt").stat().st_ino
    again = _run("run", "permits", "--until", "2015", *SMALL, "--out", str(folder))
    assert again.returncode == 0, again.stderr
    _intact(files)
    assert (folder / "notes.txt").stat().st_ino == inode      # the same file, not a copy
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["kind"] == "run" and manifest["scenario"] == "permits"
    assert "notes.txt" not in manifest["files"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


@pytest.mark.parametrize("out", [".", ""], ids=["dot", "empty"])
def test_the_current_folder_is_refused(tmp_path, out):
    files = _users_files(tmp_path)
    _refused(_run("run", "--until", "2014", *SMALL, "--out", out, cwd=tmp_path), "--out")
    _intact(files)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deep", "notes.txt", "sub"]


def test_the_root_is_refused_at_once_without_a_walk():
    started = time.monotonic()
    _refused(_run("run", "--until", "2014", *SMALL, "--out", "/"), "--out /")
    assert time.monotonic() - started < 20      # a walk of / takes minutes, and fails


@pytest.mark.parametrize("kind", ["sweep", "report"])
def test_a_refused_sweep_or_report_leaves_the_users_hidden_files(tmp_path, kind):
    folder = tmp_path / "rg"
    files = _users_files(folder)
    if kind == "sweep":
        design = tmp_path / "grid.toml"
        design.write_text(GRID)
        run = _run("sweep", str(design), "--out", str(folder), "--workers", "1", "--quiet")
    else:
        run = _run("report", "--measures", "permits", "--seeds", "2", "--draws", "0",
                   "--out", str(folder), *SMALL)
    _refused(run, str(folder))
    _intact(files)


def test_another_commands_output_is_named(tmp_path):
    folder = tmp_path / "out"
    assert _run("run", "--until", "2014", *SMALL, "--out", str(folder)).returncode == 0
    design = tmp_path / "grid.toml"
    design.write_text(GRID)
    _refused(_run("sweep", str(design), "--out", str(folder), "--quiet"),
             "holds the output of `xianghe run --out`")


def test_a_name_too_long_is_one_line(tmp_path):
    _refused(_run("run", "--until", "2014", *SMALL, "--out", str(tmp_path / ("x" * 300))),
             "--out", "allowed")


def test_leftovers_are_only_the_projects_own_names(tmp_path):
    """A killed command's staging folder (marked, or empty under the name only mkdtemp
    gives) goes; a user's look-alike does not."""
    from runs.folders import STAGING_MARK, clean_leftovers

    folder = tmp_path / "out"
    (folder / "results").mkdir(parents=True)
    ours = tmp_path / ".out.new-dead"
    ours.mkdir()
    (ours / STAGING_MARK).touch()
    theirs = tmp_path / ".out.new-mine"
    theirs.mkdir()
    unmarked = tmp_path / ".out.new-k3x_9qzp"   # killed between mkdtemp and the mark
    unmarked.mkdir()
    filled = tmp_path / ".out.new-ab12cd34"     # the same shape, with a user's file in it
    filled.mkdir()
    (filled / "notes.txt").write_text("mine")
    (folder / "results" / ".part-1.tmp").write_bytes(b"half")
    (folder / "results" / "keep.tmp").write_bytes(b"mine")
    (folder / "deep").mkdir()
    (folder / "deep" / ".part-2.tmp").write_bytes(b"not where we write")
    clean_leftovers(folder)
    assert not ours.exists() and theirs.exists()
    assert not unmarked.exists() and (filled / "notes.txt").read_text() == "mine"
    assert not (folder / "results" / ".part-1.tmp").exists()
    assert (folder / "results" / "keep.tmp").exists()
    assert (folder / "deep" / ".part-2.tmp").exists()
    os.rmdir(theirs)
    shutil.rmtree(filled)


@pytest.mark.parametrize("method", ["abc-mcmc", "history-matching", "emulation"])
def test_a_work_folder_of_every_method_that_keeps_one_can_be_resumed(tmp_path, method):
    # `calibrate --resume --work` after a kill: the folder holds only the settings and
    # the waves' runs, and every method that writes them must be able to continue there.
    from runs import folders

    work = tmp_path / "work"
    (work / "wave-1").mkdir(parents=True)
    (work / "settings.json").write_text(json.dumps({"method": method}), "utf-8")
    assert folders.accept(work, "calibration work", "--work") == "own"
    (work / "settings.json").write_text(json.dumps({"method": "mine"}), "utf-8")
    with pytest.raises(Exception, match="holds no output of `xianghe calibrate --work`"):
        folders.accept(work, "calibration work", "--work")
