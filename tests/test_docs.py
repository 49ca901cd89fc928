"""The README is a guide and the docs cannot drift: every figure they quote is what its
documented command produced (`docs/regenerate.py` stores it and rewrites the quotes), the
model's results have not moved since, the README's first experiment prints what the README
shows, and no link leaves the repository."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT

spec = importlib.util.spec_from_file_location("regenerate", ROOT / "docs" / "regenerate.py")
regenerate = importlib.util.module_from_spec(spec)
sys.modules["regenerate"] = regenerate      # its dataclasses look their module up there
spec.loader.exec_module(regenerate)
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
REGENERATE = "regenerate with `uv run python docs/regenerate.py {}`"


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _prose(text: str, spans: bool = True) -> str:
    """The text without code blocks (and, with ``spans``, code spans)."""
    text = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
    return re.sub(r"`[^`\n]*`", "", text) if spans else text


def test_the_readme_is_a_short_guide_with_a_table_of_contents():
    text = README.read_text()
    assert len(text.splitlines()) <= 400
    headings = {_slug(h) for h in re.findall(r"^#+ (.+)$", _prose(text, spans=False),
                                             flags=re.MULTILINE)}
    contents = text.split("**Contents:**", 1)[1].split("\n\n", 1)[0]
    anchors = re.findall(r"\]\(#([^)]+)\)", contents)
    assert len(anchors) >= 8 and set(anchors) <= headings, set(anchors) - headings
    for command in ("uv run xianghe run", "uv run pytest"):
        assert command in text.split("## A first experiment")[0]


@pytest.mark.parametrize("page", [*PAGES, ROOT / "docs" / "report" / "report.md"],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_no_link_leaves_the_repository(page):
    """Every link is a relative path to a file of the repository (a web source is cited as
    text, not linked), and every in-page anchor names a heading."""
    text = _prose(page.read_text())
    for target in re.findall(r"!?\[[^\]]*\]\(([^)\s]+)\)", text):
        assert not re.match(r"[a-z][\w+.-]*:", target), f"{target}: leaves the repository"
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        assert resolved.exists(), f"{target}: no such file"
        assert ROOT in (resolved, *resolved.parents), f"{target}: outside the repository"
        if anchor and resolved.suffix == ".md":
            headings = {_slug(h) for h in re.findall(
                r"^#+ (.+)$", _prose(resolved.read_text(), spans=False), flags=re.MULTILINE)}
            assert anchor in headings, f"{target}: no such heading"
    assert not re.search(r"https?://(?!127\.0\.0\.1|HOST|HEAD)", text), \
        f"{page.name}: a bare web address is a link; cite it as `code`"


def test_every_quoted_figure_is_what_its_command_produced():
    stored = regenerate.stored()
    seen = set()
    for page in PAGES:
        text = page.read_text()
        # an inline quote opening a line would open a raw HTML block instead of its text
        assert not re.search(r"^<!--q [\w-]+\.\w+-->.", text, flags=re.MULTILINE), page.name
        wrong = regenerate.mismatches(text, stored)
        sources = {s for s, _, _ in regenerate.quoted(text)}
        assert not wrong, (f"{page.name}: {wrong[:3]}; "
                           + REGENERATE.format(" ".join(sorted(sources))))
        seen |= sources
    assert seen == set(regenerate.SOURCES), set(regenerate.SOURCES) - seen


def test_the_quoted_results_are_the_models_results_now():
    """A quote of a result is stale once the model's results move (the regression baseline
    regenerated, a new calibration) or the code and inputs its command's output rests on
    change: its source is fingerprinted with them."""
    for name, record in regenerate.stored().items():
        source = regenerate.SOURCES[name]
        if source.results:
            assert record["fingerprint"] == regenerate.fingerprint(source.depends), (
                f"{name}: made on other results, code or inputs; " + REGENERATE.format(name))


def test_the_quote_check_fails_on_a_changed_figure():
    stored = regenerate.stored()
    text = README.read_text()
    source, key, shown = regenerate.quoted(text)[0]
    changed = text.replace(shown, shown.replace("0", "1", 1), 1)
    assert changed != text and regenerate.mismatches(changed, stored)


def test_the_first_experiment_prints_what_the_readme_shows():
    """The README's first command, run again, prints the rows the README quotes."""
    run = subprocess.run([sys.executable, "-m", "runs.cli", *regenerate.FIRST_EXPERIMENT,
                          "--quiet"], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert run.returncode == 0, run.stderr
    quoted = regenerate.stored()["first-experiment"]["quotes"]["seeds"]
    assert regenerate.excerpt(run.stdout) == quoted, REGENERATE.format("first-experiment")


def test_the_parameter_table_is_the_declared_one():
    """docs/parameters.md's table is `xianghe params --markdown`: the docs follow the
    declarations."""
    table = subprocess.run([sys.executable, "-m", "runs.cli", "params", "--markdown"],
                           capture_output=True, text=True, cwd=ROOT, timeout=120).stdout
    assert table in (ROOT / "docs" / "parameters.md").read_text()


def test_every_indicator_is_documented_with_its_unit_and_aggregation():
    """docs/indicators.md has a row for each indicator the model measures, with the unit
    and the yearly aggregation it is declared with."""
    from model.indicators import INDICATORS

    rows = {line.split("`")[1]: [c.strip() for c in line.split("|")[1:-1]]
            for line in (ROOT / "docs" / "indicators.md").read_text().splitlines()
            if line.startswith("| `")}
    for i in INDICATORS:
        assert i.name in rows, i.name
        assert rows[i.name][1:3] == [i.unit, i.aggregation], (i.name, rows[i.name][1:3])
