"""Write the typed `connect()` of overlays/sms_status/client.py from the provider registry.

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
FIX = "python3 scripts/typed_connect.py"
LINE_LENGTH = 100
"""pyproject.toml's [tool.ruff] line-length: the blocks are written as ruff formats them."""


def _begin(name: str) -> str:
    return f"# -- generated from the registry by scripts/typed_connect.py: {name} --\n"


def _end(name: str) -> str:
    return f"# -- end of the generated {name} --\n"


def _keys(registry: dict[str, Any]) -> str:
    imports = "".join(
        f"    import {entry.package}\n"
        for entry in sorted(registry.values(), key=lambda e: e.package)
    )
    literal = ", ".join(f'"{key}"' for key in registry)
    return (
        "if TYPE_CHECKING:  # each only types `client.api`; a provider's extra may be absent\n"
        f"{imports}\n"
        f"ProviderKey = Literal[{literal}]\n"
        '"""Every provider key (`sms_status.PROVIDERS`, as a type): a typo fails type '
        'checking."""\n'
    )


def _overload(function: str, provider: str, arguments: str, returns: str) -> str:
    """One `@overload`, laid out as `ruff format` lays it out (one line when it fits)."""
    parameters = f"provider: {provider}, **arguments: Unpack[{arguments}]"
    line = f"def {function}({parameters}) -> {returns}: ..."
    if len(line) <= LINE_LENGTH:
        return f"@overload\n{line}\n"
    return f"@overload\ndef {function}(\n    {parameters}\n) -> {returns}: ...\n"


def _overloads(registry: dict[str, Any], function: str, arguments: str, prefix: str) -> str:
    out = ""
    for key, entry in registry.items():
        kind = "HistoryClient" if entry.history else "StatusClient"
        returns = f"{prefix}{kind}[{entry.package}.AuthenticatedClient]"
        out += _overload(function, f'Literal["{key}"]', arguments, returns)
    return out + _overload(function, "ProviderKey", arguments, f"{prefix}StatusClient")


def blocks(root: Path = ROOT) -> dict[str, str]:
    """Each generated block's name and text, from the registry at `root`."""
    registry: dict[str, Any] = load_registry(root).REGISTRY
    return {
        "provider keys": _keys(registry),
        "connect overloads": _overloads(registry, "connect", "ConnectArguments", ""),
        "connect_async overloads": _overloads(
            registry, "connect_async", "AsyncConnectArguments", "Async"
        ),
    }


def rendered(text: str, root: Path = ROOT) -> str:
    """`text` (client.py) with every block written afresh; ValueError when a marker is lost."""
    for name, body in blocks(root).items():
        begin, end = _begin(name), _end(name)
        if text.count(begin) != 1 or text.count(end) != 1:
            raise ValueError(f"{CLIENT}: the markers of the generated block {name!r} are missing")
        head, rest = text.split(begin)
        _, tail = rest.split(end)
        text = head + begin + body + end + tail
    return text


def main(argv: list[str] | None = None, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only say whether it is stale")
    args = parser.parse_args(argv)
    path = root / CLIENT
    current = path.read_text()
    fresh = rendered(current, root)
    if fresh == current:
        return 0
    if args.check:
        print(f"{CLIENT}: the typed connect() is stale (the registry changed): run `{FIX}`")
        return 1
    path.write_text(fresh)
    print(f"rewrote the typed connect() in {CLIENT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
