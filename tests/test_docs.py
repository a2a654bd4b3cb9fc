"""The README and docs/ point at things that exist: every relative link and anchor, every
``make`` target and every ``python -m`` module they name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
CODE = re.compile(r"```.*?```|`[^`\n]+`", re.S)
MAKE = re.compile(r"(?<![\w/.-])make ([a-z][a-z-]*)")
MODULE = re.compile(r"python -m ([A-Za-z_][\w.]*)")
TARGET = re.compile(r"^([a-z][a-z-]*):", re.M)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`|\*\*|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip()).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found, seen = set(), {}
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    for heading in re.findall(r"^#{1,6} (.+)$", text, re.M):
        base = slug(heading)
        n = seen.get(base, 0)
        seen[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")
    return found


def links(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    return [url for url in LINK.findall(text) if not re.match(r"[a-z]+:", url)]


def code(page: Path) -> str:
    return "\n".join(CODE.findall(page.read_text()))


def test_the_readme_fits_on_a_few_screens():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 250


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_resolves(page):
    broken = []
    for url in links(page):
        path, _, anchor = url.partition("#")
        target = (page.parent / path).resolve() if path else page
        if not target.exists():
            broken.append(f"{url}: no {target.relative_to(ROOT) if ROOT in target.parents else target}")
        elif anchor and target.suffix == ".md" and anchor not in anchors(target):
            broken.append(f"{url}: no heading #{anchor} in {target.name}")
    assert not broken, broken


def test_every_docs_page_is_linked_from_the_readme():
    linked = {(ROOT / url.partition("#")[0]).resolve() for url in links(ROOT / "README.md")}
    assert set(PAGES[1:]) <= linked, set(PAGES[1:]) - linked


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_make_target_and_module_named_exists(page):
    targets = set(TARGET.findall((ROOT / "Makefile").read_text()))
    named = code(page)
    missing = [f"make {t}" for t in MAKE.findall(named) if t not in targets]
    for module in MODULE.findall(named):
        path = ROOT / module.replace(".", "/")
        if not (path.with_suffix(".py").exists() or (path / "__main__.py").exists()):
            missing.append(f"python -m {module}")
    assert not missing, missing


def test_the_checks_catch_what_they_look_for(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Top\n\n## A `code` heading, with **bold**\n\n[ok](#a-code-heading-with-bold) "
                    "[gone](nowhere.md) [bad](#no-such) ![pic](pic.png)\n\n`make nope` `python -m batch.nope`\n")
    assert anchors(page) == {"top", "a-code-heading-with-bold"}
    assert links(page) == ["#a-code-heading-with-bold", "nowhere.md", "#no-such", "pic.png"]
    assert MAKE.findall(code(page)) == ["nope"] and MODULE.findall(code(page)) == ["batch.nope"]
