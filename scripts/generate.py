"""Generate `generated/<key>/` from `specs/<key>.yaml`, or check that it is up to date.

    python scripts/generate.py            # regenerate every provider into generated/
    python scripts/generate.py seven      # only some providers
    python scripts/generate.py --check    # drift: regenerate in a temp dir, diff, exit 1 if stale

The providers are those of the registry (overlays/sms_status/_registry.py); a spec under
specs/ that no registry entry names is an error, never silently skipped.

Each provider is generated into a fresh temporary directory by the pinned
openapi-python-client (always with --fail-on-warning: a broken endpoint is otherwise skipped
with exit 0) and then copied over `generated/<key>/` whole, so no stale file survives. Every
customisation is listed in generator/README.md.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import version
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _providers import provider_keys, unregistered_specs

ROOT = Path(__file__).resolve().parent.parent
PROVIDERS = provider_keys(ROOT)
GENERATOR_DIR = ROOT / "generator"
TEMPLATES = GENERATOR_DIR / "templates"
PROVENANCE = "PROVENANCE.json"
# Left behind by the generator's ruff post-hooks; not part of the output.
IGNORED = {".ruff_cache"}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _provenance(key: str) -> dict[str, object]:
    return {
        "generator": f"openapi-python-client {version('openapi-python-client')}",
        "post_hooks": f"ruff {version('ruff')}",
        "spec": f"specs/{key}.yaml",
        "spec_sha256": _sha256(ROOT / "specs" / f"{key}.yaml"),
        "config_sha256": {
            p.name: _sha256(p)
            for p in (GENERATOR_DIR / "common.yaml", GENERATOR_DIR / f"{key}.yaml")
        },
        "templates_sha256": {
            p.relative_to(TEMPLATES).as_posix(): _sha256(p)
            for p in sorted(TEMPLATES.rglob("*.jinja"))
        },
    }


def generate_one(key: str, workdir: Path) -> Path:
    """Generate one provider into `workdir/<key>` and return that directory."""
    config = yaml.safe_load((GENERATOR_DIR / "common.yaml").read_text())
    config.update(yaml.safe_load((GENERATOR_DIR / f"{key}.yaml").read_text()))
    config_path = workdir / f"{key}.config.yaml"
    config_path.write_text(yaml.safe_dump(config))
    out = workdir / key
    result = subprocess.run(
        [
            "openapi-python-client",
            "generate",
            "--path",
            str(ROOT / "specs" / f"{key}.yaml"),
            "--config",
            str(config_path),
            "--meta",
            "uv",
            "--custom-template-path",
            str(TEMPLATES),
            "--fail-on-warning",
            "--output-path",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=workdir,
        check=False,
    )
    if result.returncode != 0:
        sys.exit(f"generation of {key} failed:\n{result.stdout}\n{result.stderr}")
    for name in IGNORED:
        shutil.rmtree(out / name, ignore_errors=True)
    (out / PROVENANCE).write_text(json.dumps(_provenance(key), indent=2, sort_keys=True) + "\n")
    return out


def _files(tree: Path) -> dict[str, Path]:
    return {
        str(p.relative_to(tree)): p
        for p in sorted(tree.rglob("*"))
        if p.is_file()
        and not IGNORED.intersection(p.relative_to(tree).parts)
        and "__pycache__" not in p.parts
    }


def diff_trees(expected: Path, actual: Path, label: str) -> list[str]:
    """Unified diff lines between a fresh generation and what is committed."""
    fresh, committed = _files(expected), _files(actual)
    lines: list[str] = []
    for rel in sorted(fresh.keys() | committed.keys()):
        if rel in fresh and rel in committed:
            if committed[rel].read_bytes() == fresh[rel].read_bytes():
                continue
        else:  # said, for an empty one reads as no lines, as a missing one does (and ships)
            lines.append(f"{label}/{rel}: {'not generated' if rel in committed else 'missing'}\n")
        a = committed[rel].read_text().splitlines(keepends=True) if rel in committed else []
        b = fresh[rel].read_text().splitlines(keepends=True) if rel in fresh else []
        lines += difflib.unified_diff(a, b, f"{label}/{rel} (committed)", f"{label}/{rel} (fresh)")
        if a == b and rel in fresh and rel in committed:  # bytes differ, lines do not
            lines.append(f"{label}/{rel}: differs in its bytes (line ends?)\n")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--check", action="store_true", help="fail with a diff if generated/ is stale"
    )
    parser.add_argument(
        "--generated", type=Path, default=ROOT / "generated", help="the tree to write or check"
    )
    parser.add_argument("providers", nargs="*", default=list(PROVIDERS))
    args = parser.parse_args(argv)
    stray = unregistered_specs(ROOT)
    if stray:
        sys.exit(
            f"specs without a registry entry: {', '.join(stray)}. Add each to REGISTRY in "
            "overlays/sms_status/_registry.py (`nox -s new_provider -- <key>` scaffolds every "
            "piece; docs/adding-a-provider.md)."
        )
    unknown = [key for key in args.providers if key not in PROVIDERS]
    if unknown:
        parser.error(
            f"unknown provider(s) {', '.join(unknown)}; registered: {', '.join(PROVIDERS)}"
        )

    with tempfile.TemporaryDirectory(prefix="sms-status-gen-") as tmp:
        with ThreadPoolExecutor() as pool:
            outputs = list(pool.map(lambda k: generate_one(k, Path(tmp)), args.providers))
        if args.check:
            drift: list[str] = []
            for key, out in zip(args.providers, outputs, strict=True):
                drift += diff_trees(out, args.generated / key, f"generated/{key}")
            if drift:
                sys.stdout.writelines(drift)
                print(
                    "\ngenerated/ is stale: run "
                    "`python3 scripts/uv.py run --frozen nox -s generate` and commit the result.",
                    file=sys.stderr,
                )
                return 1
            print(f"generated/ matches the specs ({', '.join(args.providers)})")
            return 0
        for key, out in zip(args.providers, outputs, strict=True):
            target = args.generated / key
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(out, target)
            print(f"generated/{key}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
