"""The layers of docs/architecture.md, held to the code: what may import what, no import
circle, no hand-written module over 500 lines.

Every `sms_status` import counts, deferred ones (inside a function) and TYPE_CHECKING ones
included: a deferred import is still a dependency, only a cheaper one. The test reads the
files (nothing is imported), so it also runs on a tree whose extras are not installed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OVERLAY = ROOT / "overlays"

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # (layer, the modules or packages in it), from the ground up: a module may import its
    # own layer and those below, never one above. docs/architecture.md says why.
    (
        "foundation",
        (
            "sms_status.errors",
            "sms_status.report",
            "sms_status.pacing",
            "sms_status._redact",
            "sms_status._validation",
            "sms_status._environment",
            "sms_status._version",
            "sms_status._exchange",
            "sms_status._signing",
            "sms_status._redis_kind",
        ),
    ),
    ("reading", ("sms_status._fields", "sms_status._warnings", "sms_status._generated")),
    ("transport", ("sms_status._transport",)),
    ("provider contract", ("sms_status._pushed", "sms_status._provider")),
    ("registry", ("sms_status._registry",)),
    ("providers", ("sms_status.providers",)),
    (
        "policy",
        (
            "sms_status._responses",
            "sms_status._request",
            "sms_status._successor",
            "sms_status._flows",
        ),
    ),
    ("drivers", ("sms_status._drivers",)),
    ("clients", ("sms_status._options", "sms_status._base_client", "sms_status.client")),
    ("webhooks", ("sms_status.webhooks",)),
    ("package face", ("sms_status",)),
    ("sandbox", ("sms_status.testing",)),
    ("tracking", ("sms_status.tracking",)),
    ("command line", ("sms_status.cli", "sms_status.__main__")),
)

NEVER: tuple[tuple[str, str, str], ...] = (
    # (importer, imported, why): the rules the layers imply that matter most, said plainly
    ("sms_status._transport", "sms_status.client", "a sender knows no client"),
    ("sms_status._transport", "sms_status._flows", "a sender knows no policy"),
    ("sms_status._transport", "sms_status.providers", "a sender knows no provider"),
    ("sms_status.providers", "sms_status.webhooks", "a provider owns its webhook pieces"),
    ("sms_status.providers", "sms_status.testing", "the overlay never needs the sandbox"),
    ("sms_status.providers", "sms_status.cli", "a provider is a library"),
    ("sms_status.providers", "sms_status.client", "a provider supplies tables to the core"),
    ("sms_status.webhooks", "sms_status.testing", "webhooks are verified the same anywhere"),
    ("sms_status.testing", "sms_status.cli", "the sandbox runs without the command line"),
    # inside the sandbox: its parts are handed the MessageStore, never the Sandbox
    ("sms_status.testing._webhooks", "sms_status.testing._sandbox", "it is handed the store"),
    ("sms_status.testing._answer", "sms_status.testing._sandbox", "it is handed the store"),
    ("sms_status.testing._dispatch", "sms_status.testing._sandbox", "it is handed the store"),
    ("sms_status.testing._store", "sms_status.testing._sandbox", "the store knows no sandbox"),
)

MAX_LINES = 500


def _module_name(path: Path) -> str:
    parts = path.relative_to(OVERLAY).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    base = OVERLAY.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _imports(path: Path) -> Iterator[str]:
    """Every sms_status module `path` imports (`from pkg import submodule` counts as the
    submodule; a name from a package counts as the package)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module != "sms_status" and not node.module.startswith("sms_status."):
                continue
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                yield child if _is_module(child) else node.module
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "sms_status" or alias.name.startswith("sms_status."):
                    yield alias.name


GRAPH: dict[str, set[str]] = {
    _module_name(path): set(_imports(path)) - {_module_name(path)}
    for path in sorted((OVERLAY / "sms_status").rglob("*.py"))
}


def _layer(module: str) -> int:
    """The index of the layer `module` belongs to (the longest prefix that names it)."""
    best, found = -1, None
    for index, (_, members) in enumerate(LAYERS):
        for member in members:
            if (module == member or module.startswith(member + ".")) and len(member) > best:
                best, found = len(member), index
    if found is None:
        raise AssertionError(
            f"{module} is in no layer: add it to LAYERS here and to docs/architecture.md"
        )
    return found


def test_every_module_is_in_a_layer() -> None:
    for module in GRAPH:
        _layer(module)


def test_no_module_imports_a_layer_above_its_own() -> None:
    upward = [
        f"{module} ({LAYERS[_layer(module)][0]}) imports {imported} ({LAYERS[_layer(imported)][0]})"
        for module, imported_set in sorted(GRAPH.items())
        for imported in sorted(imported_set)
        if _layer(imported) > _layer(module)
    ]
    assert not upward, "imports that run up the layers (docs/architecture.md):\n" + "\n".join(
        upward
    )


@pytest.mark.parametrize(("importer", "imported", "why"), NEVER)
def test_the_named_rules_hold(importer: str, imported: str, why: str) -> None:
    def inside(module: str, prefix: str) -> bool:
        return module == prefix or module.startswith(prefix + ".")

    offending = sorted(
        f"{module} -> {target}"
        for module, targets in GRAPH.items()
        if inside(module, importer)
        for target in targets
        if inside(target, imported)
    )
    assert not offending, f"{why}: " + ", ".join(offending)


def test_no_import_circle() -> None:
    """Tarjan's strongly connected components over every module: each must be alone."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in GRAPH.get(module, ()):
            if target not in GRAPH:
                continue
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    assert not circles, f"import circles: {circles}"


def _hand_written() -> Iterator[Path]:
    yield from sorted((OVERLAY / "sms_status").rglob("*.py"))
    yield from sorted((ROOT / "scripts").glob("*.py"))
    yield ROOT / "noxfile.py"


def _hand_written_lines(path: Path) -> int:
    """Lines of `path` outside blocks that scripts write (`# -- generated from the registry`
    ... `# -- end of the generated`): those grow with each provider added, and a new
    provider's overloads put client.py over the cap (a review's find)."""
    count, generated = 0, False
    for line in path.read_text().splitlines():
        if line.startswith("# -- generated from the registry"):
            generated = True
        elif line.startswith("# -- end of the generated"):
            generated = False
        elif not generated:
            count += 1
    return count


def test_no_hand_written_module_is_over_500_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): count
        for path in _hand_written()
        if (count := _hand_written_lines(path)) > MAX_LINES
    }
    assert not long, f"split these by what they are for (docs/architecture.md): {long}"


def test_the_architecture_page_names_every_layer() -> None:
    page = (ROOT / "docs" / "architecture.md").read_text()
    missing = [name for name, _ in LAYERS if f"**{name}**" not in page]
    assert not missing, f"docs/architecture.md does not describe the layers {missing}"
