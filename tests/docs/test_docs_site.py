"""The documentation site builds with --strict and documents every public name.

Builds the site as `nox -s docs` does (mkdocs-material, mkdocstrings) into a temporary
directory, then reads the HTML with the standard library's parser: each public name must have
its anchor (mkdocstrings renders only names with a docstring, so an undocumented one is absent).
"""

from __future__ import annotations

import importlib
import inspect
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sms_status import PROVIDERS

pytestmark = pytest.mark.slow  # the site build in the module fixture: 30 s

ROOT = Path(__file__).resolve().parents[2]

# Public modules whose `__all__` is the API, and the page that documents each.
MODULE_PAGES = {
    "sms_status.errors": "reference/errors",
    "sms_status.pacing": "reference/pacing",
    "sms_status.webhooks": "reference/webhooks",
    "sms_status.testing": "reference/testing",
    "sms_status.report": "reference/report",
    "sms_status.tracking": "reference/tracking",
}
CLIENT_CLASSES = ("StatusClient", "HistoryClient", "AsyncStatusClient", "AsyncHistoryClient")


class _Page(HTMLParser):
    """The ids, the title and the visible text of one HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: set[str] = set()
        self.title = ""
        self.text: list[str] = []
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids.add(str(found["id"]))
        if tag == "a" and found.get("href"):
            self.links.add(str(found["href"]))
        self._in_title = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        self.text.append(data)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def page(site: Path, name: str) -> _Page:
    parsed = _Page()
    parsed.feed((site / name / "index.html").read_text(encoding="utf-8"))
    return parsed


def test_the_home_page_introduces_the_library_and_links_the_reference(site: Path) -> None:
    home = _Page()
    home.feed((site / "index.html").read_text(encoding="utf-8"))
    assert home.title.strip().startswith("sms-status")
    assert "reference/sms_status/#sms_status.client.connect" in home.links
    assert "telecom23" in "".join(home.text)


@pytest.mark.parametrize("module_name", sorted(MODULE_PAGES))
def test_every_public_name_of_a_module_is_documented(site: Path, module_name: str) -> None:
    module = importlib.import_module(module_name)
    ids = page(site, MODULE_PAGES[module_name]).ids
    missing = [name for name in module.__all__ if f"{module_name}.{name}" not in ids]
    assert not missing, f"undocumented in {module_name}: {missing}"


def test_every_top_level_name_and_client_method_is_documented(site: Path) -> None:
    import sms_status
    from sms_status import client

    ids = page(site, "reference/sms_status").ids
    every_id = set().union(*(page(site, p).ids for p in MODULE_PAGES.values())) | ids
    modules = {"errors", "webhooks"}  # documented on their own pages (above)
    missing = [
        name
        for name in sms_status.__all__
        if name not in modules and not any(i.endswith(f".{name}") for i in every_id)
    ]
    for class_name in CLIENT_CLASSES:
        cls = getattr(client, class_name)
        for method, value in vars(cls).items():
            if method.startswith("_") or not callable(value):
                continue
            if f"sms_status.client.{class_name}.{method}" not in ids:
                missing.append(f"{class_name}.{method}")
    assert not missing, f"undocumented: {missing}"


def test_the_connect_entry_shows_its_signature_and_docstring(site: Path) -> None:
    reference = page(site, "reference/sms_status")
    text = " ".join(reference.text)
    assert "SMS_STATUS_<KEY>_API_KEY" in text
    for parameter in ("provider", "api_key", "base_url", "timeout", "max_retries"):
        assert parameter in text
    assert inspect.getdoc(sms_status_connect()) is not None


def sms_status_connect() -> object:
    import sms_status

    return sms_status.connect


@pytest.mark.parametrize("key", PROVIDERS)
def test_each_providers_facts_page_is_on_the_site(site: Path, key: str) -> None:
    facts = page(site, f"providers/{key}")
    assert facts.title.strip()
    assert any(link.startswith("http") for link in facts.links)  # its sources are cited
