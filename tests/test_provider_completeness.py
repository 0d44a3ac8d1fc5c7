"""Every registered provider has every piece, and nothing provider-shaped is unregistered.

The registry (`overlays/sms_status/_registry.py`) is the one list of providers; this test is
what makes it the truth. Each failure names the missing piece and the fix. The test reads
files only (no imports of the provider modules), relative to its own repository, so the
scaffold test runs it unchanged in a temporary copy of the repository.
"""

from __future__ import annotations

import ast
import json
import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from _providers import load_registry, unregistered_specs  # noqa: E402

REGISTRY: dict[str, Any] = load_registry(ROOT).REGISTRY
SCAFFOLD = "`python3 scripts/uv.py run --frozen nox -s new_provider -- {key}` (for a new key)"
OVERLAY = ROOT / "overlays" / "sms_status"


def _module_file(module: str) -> Path:
    return ROOT / "overlays" / Path(*module.split(".")).with_suffix(".py")


def _top_level_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def _dict_keys(path: Path, name: str) -> set[str]:
    """The string keys of the top-level dict literal `name = {...}` in `path`."""
    for node in ast.parse(path.read_text()).body:
        target = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        if isinstance(target, ast.Name) and target.id == name:
            value = node.value  # type: ignore[union-attr]
            if isinstance(value, ast.Dict):
                return {k.value for k in value.keys if isinstance(k, ast.Constant)}
    return set()


def _keywords(path: Path, name: str) -> set[str]:
    """The keyword names of the call assigned to the top-level `name` (`PROVIDER = X(...)`)."""
    for node in ast.parse(path.read_text()).body:
        target = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        value = getattr(node, "value", None)
        if isinstance(target, ast.Name) and target.id == name and isinstance(value, ast.Call):
            return {k.arg for k in value.keywords if k.arg is not None}
    return set()


@dataclass
class Problems:
    key: str
    found: list[str] = field(default_factory=list)

    def check(self, ok: bool, missing: str, fix: str) -> None:
        if not ok:
            self.found.append(f"{self.key}: {missing}\n    fix: {fix}")

    def report(self) -> str:
        return f"{len(self.found)} piece(s) missing:\n" + "\n".join(self.found)


def _literal_keys(annotation: ast.expr) -> set[str]:
    """The strings of `Literal["a", "b"]` (one string or a tuple of them)."""
    if not (
        isinstance(annotation, ast.Subscript) and getattr(annotation.value, "id", "") == "Literal"
    ):
        return set()
    inner = annotation.slice
    items = inner.elts if isinstance(inner, ast.Tuple) else [inner]
    return {i.value for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str)}


def _check_typed_connect(entry: Any, check: Any) -> None:
    """`ProviderKey` and one `connect`/`connect_async` overload per key: a type cannot be read
    from the registry, so the copy in client.py is held to it here."""
    client = OVERLAY / "client.py"
    tree = ast.parse(client.read_text())
    provider_key: set[str] | None = None
    overloads: dict[str, set[str]] = {"connect": set(), "connect_async": set()}
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and [getattr(t, "id", "") for t in node.targets] == [
            "ProviderKey"
        ]:
            provider_key = _literal_keys(node.value)
        elif isinstance(node, ast.FunctionDef) and node.name in overloads and node.args.args:
            annotation = node.args.args[0].annotation
            if annotation is not None:
                overloads[node.name] |= _literal_keys(annotation)
        elif isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
    if provider_key is None:  # the typed connect() is optional; without it nothing to check
        return
    fix = "`python3 scripts/typed_connect.py` writes them from the registry"
    check(
        entry.key in provider_key,
        f"ProviderKey in overlays/sms_status/client.py lacks {entry.key!r}",
        f'add "{entry.key}" to the Literal ({fix})',
    )
    for function, keys in overloads.items():
        check(
            entry.key in keys,
            f"no `{function}` overload for Literal[{entry.key!r}] in overlays/sms_status/client.py",
            f"add one returning the client typed by {entry.package}.AuthenticatedClient ({fix})",
        )
    check(
        entry.package in imported,
        f"client.py does not import {entry.package} under TYPE_CHECKING",
        f"add `import {entry.package}` to its TYPE_CHECKING block ({fix})",
    )


CAPABILITIES = {
    # registry field: (the Provider(...) keyword that implements it, what it is)
    "batch_lookup": ("batch", "BatchLookup"),
    "history": ("history", "HistoryLookup"),
    "successor": ("successor", "Successor"),
}


def _check_capabilities(entry: Any, check: Any) -> None:
    """What the registry says a provider can do is what its module's `PROVIDER` wires up
    (the CLI, the typed `connect` and the tests read the registry, not the module)."""
    overlay = _module_file(entry.overlay_module)
    if not overlay.is_file():
        return  # named by its own check
    wired = _keywords(overlay, "PROVIDER")
    for field_name, (keyword, kind) in CAPABILITIES.items():
        claimed = bool(getattr(entry, field_name, None))
        check(
            claimed == (keyword in wired),
            f"the registry says {field_name}={getattr(entry, field_name, None)!r} but "
            f"{overlay.relative_to(ROOT)} {'does not pass' if claimed else 'passes'} "
            f"{keyword}= to Provider",
            f"make them agree: the registry entry's {field_name}, or PROVIDER's {keyword}= "
            f"(a {kind})",
        )


def _check_webhooks(entry: Any, check: Any) -> None:
    """A provider that pushes reports (`webhooks=` in its registry entry) owns them: its
    overlay module verifies and reads them beside its polling reader, its sandbox fake
    renders, signs and retries them, and its integration tests parse one the sandbox sent."""
    kind = getattr(entry, "webhooks", "none")
    if kind == "none":
        return
    signed = kind == "signed"
    pieces = (
        # module, the functions it defines (signed, always), the PROVIDER class, the fix
        (
            _module_file(entry.overlay_module),
            ("verify_webhook", "read_webhook"),
            "Provider",
            "define read_webhook (payload -> Pushed, secondary fields through `soft`), "
            "verify_webhook (the documented signature; unsigned: verify=unsigned, as "
            "providers/namirial.py), and pass webhook=Webhook(...) (see providers/telecom23.py)",
        ),
        (
            _module_file(entry.sandbox_module),
            ("sign_webhook", "render_webhook"),
            "ProviderDef",
            "define render_webhook (a step -> payloads), sign_webhook (the documented "
            "credentials), and pass webhook=FakeWebhook(...) (see testing/telecom23.py)",
        ),
    )
    for module, (signing, always), cls, fix in pieces:
        if not module.is_file():
            continue  # named by its own check
        needed = {always, signing} if signed else {always}
        missing = sorted(needed - _top_level_names(module))
        if "webhook" not in _keywords(module, "PROVIDER"):
            missing.append(f"{cls}(webhook=...)")
        check(
            not missing,
            f"{module.relative_to(ROOT)} lacks its {kind} webhook: {', '.join(missing)}",
            fix,
        )
    tests = ROOT / "tests" / "providers" / entry.key / f"test_{entry.key}_integration.py"
    check(
        not tests.is_file() or "sandbox_webhooks" in tests.read_text(),
        f"tests/providers/{entry.key}/test_{entry.key}_integration.py never receives a "
        "webhook from the sandbox",
        "add a test that parses one with the `sandbox_webhooks` fixture (see "
        "tests/providers/roycetalk/test_roycetalk_integration.py)",
    )


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _config(entry: Any) -> dict[str, Any]:
    path = ROOT / entry.generator_config
    if not path.is_file():
        return {}
    return yaml.safe_load(path.read_text()) or {}


@pytest.mark.parametrize("key", list(REGISTRY))
def test_registered_provider_has_every_piece(key: str) -> None:
    entry = REGISTRY[key]
    problems = Problems(key)
    check = problems.check

    spec = ROOT / entry.spec
    check(spec.is_file(), f"no spec {entry.spec}", f"write it, or run {SCAFFOLD.format(key=key)}")
    if spec.is_file():
        check(
            "openapi" in (yaml.safe_load(spec.read_text()) or {}),
            f"{entry.spec} is not an OpenAPI document (no `openapi:` key)",
            "start it with `openapi: 3.1.0` (see specs/README.md)",
        )

    config = _config(entry)
    check(
        config.get("project_name_override") == entry.distribution
        and config.get("package_name_override") == entry.package,
        f"{entry.generator_config} must set project_name_override: {entry.distribution} "
        f"and package_name_override: {entry.package}",
        f"create or fix {entry.generator_config} (copy generator/seven.yaml)",
    )
    version = config.get("package_version_override")
    check(
        isinstance(version, str),
        f"{entry.generator_config} has no package_version_override (the distribution's version)",
        f'add package_version_override: "0.1.0" to {entry.generator_config}',
    )

    generated = ROOT / entry.generated
    regenerate = "run `python3 scripts/uv.py run --frozen nox -s generate` and commit generated/"
    check(
        (generated / "pyproject.toml").is_file()
        and (generated / entry.package / "py.typed").is_file()
        and (generated / "PROVENANCE.json").is_file(),
        f"{entry.generated}/ is missing or incomplete (pyproject.toml, {entry.package}/, "
        "PROVENANCE.json)",
        regenerate,
    )
    if (generated / "PROVENANCE.json").is_file():
        provenance = json.loads((generated / "PROVENANCE.json").read_text())
        check(
            provenance.get("spec") == entry.spec,
            f"{entry.generated} not made from {entry.spec}",
            regenerate,
        )

    overlay = _module_file(entry.overlay_module)
    check(
        overlay.is_file() and {"PROVIDER", "STATUSES"} <= _top_level_names(overlay),
        f"no overlay module {overlay.relative_to(ROOT)} defining PROVIDER and STATUSES",
        "write it after overlays/sms_status/providers/roycetalk.py (the `Provider` docstring "
        "lists every field)",
    )

    sandbox = _module_file(entry.sandbox_module)
    check(
        sandbox.is_file() and "PROVIDER" in _top_level_names(sandbox),
        f"no sandbox fake {sandbox.relative_to(ROOT)} defining PROVIDER (a ProviderDef)",
        "write it after overlays/sms_status/testing/roycetalk.py",
    )
    check(
        key in _dict_keys(OVERLAY / "testing" / "_keys.py", "DEMO_KEYS"),
        "no demo API key for the sandbox",
        f"add {key!r} to DEMO_KEYS in overlays/sms_status/testing/_keys.py",
    )
    plugin = _top_level_names(OVERLAY / "testing" / "pytest_plugin.py")
    fixtures = [entry.sandbox_fixture] + ([f"{key}_client"] if "_client" in plugin else [])
    check(
        set(fixtures) <= plugin,
        f"no pytest fixture(s) {', '.join(sorted(set(fixtures) - plugin))}",
        "add them to overlays/sms_status/testing/pytest_plugin.py beside the others",
    )

    _check_capabilities(entry, check)
    _check_webhooks(entry, check)
    _check_typed_connect(entry, check)

    pyproject = _pyproject()
    extras: dict[str, list[str]] = pyproject["project"]["optional-dependencies"]
    pin = f"{entry.distribution}=={version}"
    check(
        pin in extras.get(entry.extra, []),
        f"the extra {entry.extra!r} in pyproject.toml does not pin {pin}",
        f'add `{entry.extra} = ["{pin}"]` to '
        "[project.optional-dependencies] (after a version change: `nox -s bump`)",
    )
    check(
        any(key in r.partition("[")[2].rstrip("]").split(",") for r in extras.get("all", [])),
        f"the extra 'all' does not include {key}",
        f"add {key} to `sms-status[...]` in the `all` extra of pyproject.toml",
    )
    check(
        entry.generated in pyproject["tool"]["uv"]["workspace"]["members"],
        f"{entry.generated} is not a uv workspace member",
        f'add "{entry.generated}" to [tool.uv.workspace] members in pyproject.toml',
    )
    check(
        pyproject["tool"]["uv"]["sources"].get(entry.distribution) == {"workspace": True},
        f"no [tool.uv.sources] entry for {entry.distribution}",
        f"add `{entry.distribution} = {{ workspace = true }}` to [tool.uv.sources]",
    )
    check(
        f'name = "{entry.distribution}"' in (ROOT / "uv.lock").read_text(),
        f"uv.lock does not know {entry.distribution}",
        "run `python3 scripts/uv.py lock` and commit uv.lock",
    )
    check(
        (ROOT / "tests" / "providers" / key / f"test_{key}_integration.py").is_file(),
        f"no integration tests tests/providers/{key}/test_{key}_integration.py",
        "write them against the sandbox fixture "
        "(see tests/providers/roycetalk/test_roycetalk_integration.py)",
    )
    row = next(
        (
            line
            for line in (ROOT / "README.md").read_text().splitlines()
            if line.startswith(f"| `{key}` |")
        ),
        None,
    )
    check(
        row is not None,
        "no row in the README's table of providers",
        f"add `| `{key}` | {entry.name} | <endpoint> |` to the table at the top of README.md",
    )
    # A path the row names is one of the spec's: the scaffold's skeleton endpoint stayed.
    paths = (yaml.safe_load(spec.read_text()) or {}).get("paths", {}) if spec.is_file() else {}
    named = re.findall(r"`GET (/[^`?]*)", row or "")
    check(
        all(path in paths for path in named),
        f"the README's row names an endpoint the spec lacks: {named}",
        "write the provider's status endpoint into its README row",
    )
    changelog = ROOT / "CHANGELOG.md"
    check(
        changelog.is_file() and entry.distribution in changelog.read_text(),
        f"CHANGELOG.md never mentions {entry.distribution}",
        f"add an entry for {entry.distribution} under [Unreleased] in CHANGELOG.md",
    )

    assert not problems.found, problems.report()


def test_every_spec_is_registered() -> None:
    stray = unregistered_specs(ROOT)
    assert not stray, (
        f"specs without a registry entry (generation, drift and spec lint would skip them): "
        f"{', '.join(stray)}\n    fix: add ProviderEntry(...) to REGISTRY in "
        f"overlays/sms_status/_registry.py, or run {SCAFFOLD.format(key=stray[0])}"
    )


@pytest.mark.parametrize(
    ("where", "found"),
    [
        ("generated/", lambda: {p.name for p in (ROOT / "generated").iterdir() if p.is_dir()}),
        ("generator/", lambda: {p.stem for p in (ROOT / "generator").glob("*.yaml")} - {"common"}),
        (
            "overlays/sms_status/providers/",
            lambda: {p.stem for p in (OVERLAY / "providers").glob("*.py")} - {"__init__"},
        ),
    ],
)
def test_nothing_provider_shaped_is_unregistered(where: str, found: Any) -> None:
    stray = sorted(found() - set(REGISTRY) - {"__pycache__"})
    assert not stray, (
        f"{where} has pieces of unregistered providers: {', '.join(stray)}\n"
        "    fix: register them in REGISTRY (overlays/sms_status/_registry.py), or delete them"
    )
