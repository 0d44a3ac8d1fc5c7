"""Write the typed `connect()` of overlays/sms_status/client.py, and the sandbox's typed
`Sandbox.connect()` (testing/_sandbox_clients.py), from the provider registry.

`sms_status.connect("namirial", ...)` is typed `HistoryClient[sms_status_namirial
.AuthenticatedClient]` by one `@overload` per provider, and `ProviderKey` lists every key:
types cannot be read from the registry at run time, so they are written from it, between
marker comments, by this script (`nox -s new_provider` runs it for a new provider).
`tests/scripts/test_typed_connect.py` fails when the blocks are stale.

    python3 scripts/typed_connect.py            # rewrite the blocks
    python3 scripts/typed_connect.py --check    # exit 1 (and name the fix) when stale
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _providers import load_registry

ROOT = Path(__file__).resolve().parent.parent
CLIENT = Path("overlays") / "sms_status" / "client.py"
SANDBOX_CLIENTS = Path("overlays") / "sms_status" / "testing" / "_sandbox_clients.py"
FIX = "python3 scripts/typed_connect.py"
LINE_LENGTH = 100
"""pyproject.toml's [tool.ruff] line-length: the blocks are written as ruff formats them."""


def _begin(name: str, indent: str = "") -> str:
    return f"{indent}# -- generated from the registry by scripts/typed_connect.py: {name} --\n"


def _end(name: str, indent: str = "") -> str:
    return f"{indent}# -- end of the generated {name} --\n"


def _imports(registry: dict[str, Any]) -> str:
    return (
        "if TYPE_CHECKING:  # each only types `client.api`; a provider's extra may be absent\n"
        + "".join(
            f"    import {entry.package}\n"
            for entry in sorted(registry.values(), key=lambda e: e.package)
        )
    )


def _keys(registry: dict[str, Any]) -> str:
    literal = ", ".join(f'"{key}"' for key in registry)
    return (
        f"{_imports(registry)}\n"
        f"ProviderKey = Literal[{literal}]\n"
        '"""Every provider key (`sms_status.PROVIDERS`, as a type): a typo fails type '
        'checking."""\n'
    )


def _overload(function: str, parameters: str, returns: str, indent: str = "") -> str:
    """One `@overload`, laid out as `ruff format` lays it out (one line when it fits)."""
    line = f"{indent}def {function}({parameters}) -> {returns}: ..."
    if len(line) <= LINE_LENGTH:
        return f"{indent}@overload\n{line}\n"
    return (
        f"{indent}@overload\n{indent}def {function}(\n"
        f"{indent}    {parameters}\n{indent}) -> {returns}: ...\n"
    )


def _overloads(registry: dict[str, Any], function: str, arguments: str, prefix: str) -> str:
    out = ""
    for key, entry in registry.items():
        kind = "HistoryClient" if entry.history else "StatusClient"
        returns = f"{prefix}{kind}[{entry.package}.AuthenticatedClient]"
        parameters = f'provider: Literal["{key}"], **arguments: Unpack[{arguments}]'
        out += _overload(function, parameters, returns)
    parameters = f"provider: ProviderKey, **arguments: Unpack[{arguments}]"
    return out + _overload(function, parameters, f"{prefix}StatusClient")


def _sandbox_overloads(registry: dict[str, Any], function: str, options: str, prefix: str) -> str:
    """`Sandbox.connect()`'s: on the sandbox's key (`SandboxClients[Literal[key]]`)."""
    out = ""
    for key, entry in registry.items():
        kind = "HistoryClient" if entry.history else "StatusClient"
        returns = f"{prefix}{kind}[{entry.package}.AuthenticatedClient]"
        parameters = f'self: SandboxClients[Literal["{key}"]], **options: Unpack[{options}]'
        out += _overload(function, parameters, returns, "    ")
    parameters = f"self, **options: Unpack[{options}]"
    return out + _overload(function, parameters, f"{prefix}StatusClient", "    ")


def blocks(root: Path = ROOT) -> dict[Path, dict[str, tuple[str, str]]]:
    """Per file, each generated block's name, its markers' indent and its text, from the
    registry at `root`."""
    registry: dict[str, Any] = load_registry(root).REGISTRY
    return {
        CLIENT: {
            "provider keys": ("", _keys(registry)),
            "connect overloads": ("", _overloads(registry, "connect", "ConnectArguments", "")),
            "connect_async overloads": (
                "",
                _overloads(registry, "connect_async", "AsyncConnectArguments", "Async"),
            ),
        },
        SANDBOX_CLIENTS: {
            "sandbox provider imports": ("", _imports(registry)),
            "sandbox connect overloads": (
                "    ",
                _sandbox_overloads(registry, "connect", "SandboxClientOptions", ""),
            ),
            "sandbox connect_async overloads": (
                "    ",
                _sandbox_overloads(registry, "connect_async", "AsyncSandboxClientOptions", "Async"),
            ),
        },
    }


def rendered(text: str, root: Path = ROOT, path: Path = CLIENT) -> str:
    """`text` (the file at `path`) with every block written afresh; ValueError when a marker
    is lost."""
    for name, (indent, body) in blocks(root)[path].items():
        begin, end = _begin(name, indent), _end(name, indent)
        if text.count(begin) != 1 or text.count(end) != 1:
            raise ValueError(f"{path}: the markers of the generated block {name!r} are missing")
        head, rest = text.split(begin)
        _, tail = rest.split(end)
        text = head + begin + body + end + tail
    return text


def main(argv: list[str] | None = None, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only say whether it is stale")
    args = parser.parse_args(argv)
    stale = False
    for path in blocks(root):
        current = (root / path).read_text()
        fresh = rendered(current, root, path)
        if fresh == current:
            continue
        stale = True
        if args.check:
            print(f"{path}: the typed connect() is stale (the registry changed): run `{FIX}`")
        else:
            (root / path).write_text(fresh)
            print(f"rewrote the typed connect() in {path}")
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
