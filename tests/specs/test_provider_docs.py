"""Provider facts live in the repository: a docs/providers page per registered provider,
citing public pages; code and specs cite those pages, not files outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sms_status._registry import PROVIDERS

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "providers"
OUTSIDE = re.compile(r"PROVIDERS\.md|\bseed 00\d|\.\./shared/|\bAPI\.md\b")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_each_provider_has_a_facts_page_citing_public_pages(provider: str) -> None:
    page = DOCS / f"{provider}.md"
    assert page.is_file(), f"write docs/providers/{provider}.md (see docs/providers/README.md)"
    text = page.read_text()
    assert re.search(r"\]\(https://", text), f"{page}: cite the provider's public pages"
    assert f"({provider}.md)" in (DOCS / "README.md").read_text()


def test_code_and_specs_cite_no_files_outside_the_repository() -> None:
    places = [*sorted((ROOT / "overlays").rglob("*.py")), *sorted((ROOT / "specs").glob("*"))]
    places += sorted(DOCS.glob("*.md"))
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in places
        if path.is_file()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert not offenders, "cite the provider's public page instead:\n" + "\n".join(offenders)
