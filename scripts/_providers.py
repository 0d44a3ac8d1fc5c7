"""The provider registry (`overlays/sms_status/_registry.py`) for scripts and the noxfile.

Loaded by file path, so it works before anything is installed (the noxfile runs outside any
project venv). Also the one place that knows which files under specs/ are specs.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
REGISTRY_FILE = Path("overlays") / "sms_status" / "_registry.py"


def load_registry(root: Path = ROOT) -> ModuleType:
    """The registry module of the repository at `root` (a fresh load each call)."""
    name = f"_sms_status_registry_{abs(hash(str(root)))}"
    spec = importlib.util.spec_from_file_location(name, root / REGISTRY_FILE)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the provider registry {root / REGISTRY_FILE}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def provider_keys(root: Path = ROOT) -> tuple[str, ...]:
    keys: tuple[str, ...] = load_registry(root).PROVIDERS
    return keys


def spec_files(root: Path = ROOT) -> list[Path]:
    """Every OpenAPI document under specs/ (linter configs such as redocly.yaml are not)."""
    return [
        path
        for path in sorted((root / "specs").glob("*.yaml"))
        if re.search(r"^openapi:", path.read_text(), re.MULTILINE)
    ]


def unregistered_specs(root: Path = ROOT) -> list[str]:
    """Keys of specs that no registry entry names: generation would otherwise skip them."""
    keys = set(provider_keys(root))
    return [path.stem for path in spec_files(root) if path.stem not in keys]
