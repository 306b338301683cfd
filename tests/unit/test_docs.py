"""The documentation builds strictly, and the README's links and commands hold."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from markdown.extensions.toc import slugify

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
# Markdown links: the README has no images or code spans around its links to confuse this.
LINK = re.compile(r"\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*$", re.MULTILINE)
TEST_COMMAND = (
    "python3 -m venv .venv && . .venv/bin/activate && pip install -q -e '.[test]' && python -m pytest -q"
)


def test_the_docs_build_strictly(tmp_path):
    # A broken link, a missing anchor or a page left out of the nav is a warning, and --strict
    # makes any warning fail the build.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--quiet",
            "--config-file",
            str(ROOT / "mkdocs.yml"),
            "--site-dir",
            str(tmp_path / "site"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "architecture" / "index.html").is_file()


def _anchors(page: Path) -> set[str]:
    return {slugify(re.sub(r"[`*]", "", title), "-") for title in HEADING.findall(page.read_text())}


def test_every_readme_link_reaches_a_docs_page():
    targets = [
        target
        for target in LINK.findall(README.read_text())
        if not target.startswith(("http://", "https://", "mailto:"))
    ]
    assert any(target.startswith("docs/") for target in targets), "the README links the docs"
    for target in targets:
        path, _, anchor = target.partition("#")
        page = (ROOT / path).resolve() if path else README
        assert page.is_file(), f"README links {target}, which does not exist"
        assert page == README or page.parent == ROOT / "docs", f"{target} is not a docs page"
        if anchor:
            assert anchor in _anchors(page), f"README links {target}: no such heading"


def test_the_readme_is_short_and_starts_with_the_two_commands():
    text = README.read_text()
    assert len(text.splitlines()) <= 150
    commands = re.findall(r"```sh\n(.+?)\n```", text)[:2]
    assert commands[0].endswith("pip install -q -e . && weir serve")
    # CI runs exactly the command the README gives for the test suite.
    assert commands[1] == TEST_COMMAND
    assert TEST_COMMAND in (ROOT / ".ci" / "run").read_text().splitlines()


def test_the_catalog_page_is_what_the_registry_holds():
    """docs/catalog.md is generated (``weir catalog --markdown``): it must not drift."""
    from server.connectors.catalog_page import markdown
    from server.connectors.registry import CONNECTORS

    page = (ROOT / "docs" / "catalog.md").read_text()
    assert page == markdown(CONNECTORS.values()), "run: weir catalog --markdown > docs/catalog.md"
    assert len(CONNECTORS) >= 40
    assert sum(1 for c in CONNECTORS.values() if c.SPEC.streams or hasattr(c, "discover")) >= 20
