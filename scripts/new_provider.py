"""Scaffold every piece of a new provider: `nox -s new_provider -- <key> ["Provider Name"]`.

Writes a working skeleton — one status endpoint, API key in `X-Api-Key`, statuses
queued/sent/delivered/failed — that generates, type-checks and passes its own integration
tests against its sandbox; then the maintainer replaces the skeleton's facts with the
provider's (docs/adding-a-provider.md). Pieces, all named by the registry:

    specs/<key>.yaml                               the OpenAPI skeleton (status enum + x-finality)
    generator/<key>.yaml                           distribution name, package name, version 0.1.0
    overlays/sms_status/_registry.py               the REGISTRY entry
    overlays/sms_status/providers/<key>.py         the overlay `Provider` (STATUSES, errors, reader,
                                                   its signed webhook: verify_webhook, read_webhook)
    overlays/sms_status/testing/<key>.py           the sandbox fake (`ProviderDef`; its webhook:
                                                   render_webhook, sign_webhook, retry policy)
    overlays/sms_status/testing/_keys.py           the sandbox's demo API key
    overlays/sms_status/testing/pytest_plugin.py   the `<key>_sandbox` (and `<key>_client`) fixture
    overlays/sms_status/client.py                  `ProviderKey` and typed `connect` overloads,
                                                   rewritten from the registry (typed_connect.py)
    tests/providers/<key>/test_<key>_integration.py  over the sandbox, a webhook too
    pyproject.toml                                 extra, `all`, workspace member, uv source
    CHANGELOG.md                                   an [Unreleased] bullet
    README.md                                      a row in the table of providers
then `scripts/generate.py <key>` (generated/<key>/) and `uv lock`.

Refuses an existing or malformed key, and touches nothing then.
"""

from __future__ import annotations

import argparse
import json
import keyword
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import typed_connect
from _providers import provider_keys
from _skeleton import (
    CLIENT_FIXTURE,
    FIXTURE,
    GENERATOR,
    INTEGRATION,
    OVERLAY,
    SANDBOX,
    SPEC,
)

ROOT = Path(__file__).resolve().parent.parent
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9]{1,30}$")
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9 .&'()-]{0,63}\Z")
REGISTRY_MARKER = "        # new providers: above this line (nox -s new_provider adds them here)\n"


def _quoted(text: str) -> str:
    """A Python string literal in ruff format's style (double quotes)."""
    return json.dumps(text, ensure_ascii=False)


def _names_taken(root: Path, key: str) -> str | None:
    """What else `key` names already (an extra, a module beside the providers', a Python
    keyword), so that scaffolding it would break pyproject.toml or an import."""
    if keyword.iskeyword(key) or keyword.issoftkeyword(key):
        return "a Python keyword"
    extras = tomllib.loads((root / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    if key in extras:
        return "an extra of pyproject.toml"
    overlay = root / "overlays" / "sms_status"
    for folder in (overlay, overlay / "providers", overlay / "testing"):
        if (folder / f"{key}.py").exists() or (folder / key).is_dir():
            return f"a module under {folder.relative_to(root)}"
    return None


def _insert_before(path: Path, marker: str, text: str) -> None:
    content = path.read_text()
    if marker not in content:
        raise SystemExit(f"{path}: cannot find where to add the entry ({marker.strip()!r})")
    path.write_text(content.replace(marker, text + marker, 1))


def _pyproject(root: Path, key: str) -> None:
    path = root / "pyproject.toml"
    text = path.read_text()
    extra = f'{key} = ["sms-status-{key}==0.1.0"]\n'  # a production install: the pin only
    text, found = re.subn(r"(\nall = \[\n)", "\n" + extra.rstrip("\n") + r"\1", text, count=1)
    text, found_all = re.subn(
        r'("sms-status\[)([a-z0-9,]+)(\]",\n\])', rf"\1\2,{key}\3", text, count=1
    )
    text, found_member = re.subn(
        r"(\[tool\.uv\.workspace\]\nmembers = \[\n(?:    \"[^\"]+\",\n)*)",
        rf'\1    "generated/{key}",\n',
        text,
        count=1,
    )
    text, found_source = re.subn(
        r"(\[tool\.uv\.sources\]\n(?:[a-z0-9-]+ = \{ workspace = true \}\n)*)",
        rf"\1sms-status-{key} = {{ workspace = true }}\n",
        text,
        count=1,
    )
    if not (found and found_all and found_member and found_source):
        raise SystemExit("pyproject.toml: extras, workspace or sources not where expected")
    path.write_text(text)


def _readme_row(root: Path, key: str, name: str) -> None:
    """A row in the README's table of providers (after its last row)."""
    path = root / "README.md"
    lines = path.read_text().splitlines(keepends=True)
    header = next((i for i, line in enumerate(lines) if line.startswith("| key |")), None)
    if header is None:
        raise SystemExit("README.md: no table of providers (a line starting '| key |')")
    end = header + 2
    while end < len(lines) and lines[end].startswith("| `"):
        end += 1
    lines.insert(end, f"| `{key}` | {name} | `GET /v1/messages/{{message_id}}/status` |\n")
    path.write_text("".join(lines))


def _changelog(root: Path, key: str, name: str) -> None:
    path = root / "CHANGELOG.md"
    text = path.read_text()
    marker = "## [Unreleased]\n\n### Added\n"
    line = f'- sms-status-{key} 0.1.0: new provider {name} (`sms_status.connect("{key}")`).\n'
    if marker in text:
        text = text.replace(marker, marker + line, 1)
    else:
        text = text.replace("## [Unreleased]\n", f"## [Unreleased]\n\n### Added\n{line}", 1)
    path.write_text(text)


def scaffold(root: Path, key: str, name: str) -> list[Path]:
    """Write every piece of `key` under `root`; return the files written or edited."""
    overlay = root / "overlays" / "sms_status"
    cls = "".join(part.capitalize() for part in re.split(r"[^a-z0-9]+", key)) or key
    values = {"key": key, "name": name, "cls": cls}
    created = {
        root / "specs" / f"{key}.yaml": SPEC,
        root / "generator" / f"{key}.yaml": GENERATOR,
        overlay / "providers" / f"{key}.py": OVERLAY,
        overlay / "testing" / f"{key}.py": SANDBOX,
        root / "tests" / "providers" / key / f"test_{key}_integration.py": INTEGRATION,
    }
    clash = [str(p.relative_to(root)) for p in created if p.exists()]
    if clash:
        raise SystemExit(f"already there, not overwriting: {', '.join(clash)}")
    for path, template in created.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(template.format(**values))
    _insert_before(
        overlay / "_registry.py",
        REGISTRY_MARKER,
        f'        ProviderEntry({_quoted(key)}, {_quoted(name)}, webhooks="signed"),\n',
    )
    demo_key = f'    "{key}": "sandbox-{key}-api-key",\n'
    _insert_before(overlay / "testing" / "_keys.py", "}\n", demo_key)
    plugin = overlay / "testing" / "pytest_plugin.py"
    fixtures = FIXTURE.format(**values)
    if "\ndef _client(" in plugin.read_text():  # the plugin also hands out ready clients
        fixtures += CLIENT_FIXTURE.format(**values)
    plugin.write_text(plugin.read_text() + fixtures)
    _pyproject(root, key)
    _changelog(root, key, name)
    _readme_row(root, key, name)
    typed_connect.main([], root=root)  # ProviderKey and the overloads, from the registry
    edited = [overlay / "_registry.py", overlay / "client.py", overlay / "testing" / "_keys.py"]
    edited.append(plugin)
    return [*created, *edited, root / "pyproject.toml", root / "CHANGELOG.md", root / "README.md"]


def _tidy(root: Path, written: list[Path]) -> None:
    """The project's ruff over the Python it wrote (import order, line length)."""
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    python = [str(p) for p in written if p.suffix == ".py"]
    if ruff is None:
        print("ruff not found: run `nox -s lint` before committing")
        return
    subprocess.run([ruff, "check", "--fix", "--quiet", *python], cwd=root, check=False)
    subprocess.run([ruff, "format", "--quiet", *python], cwd=root, check=False)


def main(argv: list[str] | None = None, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("key", help="lower-case letters and digits, e.g. acme")
    parser.add_argument("name", nargs="?", help="the provider's own name (default: the key)")
    parser.add_argument("--no-generate", action="store_true", help="skip generate and uv lock")
    args = parser.parse_args(argv)
    if not KEY_PATTERN.match(args.key):
        parser.error(f"{args.key!r}: a key is 2-31 lower-case letters and digits")
    if args.key in provider_keys(root):
        parser.error(f"{args.key!r} is already registered")
    if args.name is not None and not NAME_PATTERN.match(args.name):
        # Pasted into YAML, docstrings, Markdown: "Acme: Global SMS" broke the spec after
        # 12 files were written, and a rerun was refused as "already registered".
        parser.error(
            f"{args.name!r}: a name is letters, digits, spaces and . & ' ( ) - "
            "(it is pasted into YAML, Python docstrings and Markdown)"
        )
    taken = _names_taken(root, args.key)
    if taken:
        parser.error(f"{args.key!r} is already {taken}: choose another key")
    written = scaffold(root, args.key, args.name or args.key)
    for path in written:
        print(f"wrote {path.relative_to(root)}")
    _tidy(root, written)
    if not args.no_generate:
        scripts = root / "scripts"
        subprocess.run([sys.executable, str(scripts / "generate.py"), args.key], check=True)
        subprocess.run([sys.executable, str(scripts / "uv.py"), "lock"], check=True)
    print(
        f"\n{args.key} scaffolded. Next: replace the SKELETON facts (docs/adding-a-provider.md),"
        " then `nox -s generate` and `nox -s tests`."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
