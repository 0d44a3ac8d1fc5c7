"""`python -m sms_status` and the `sms-status` console script.

Every install gets the command, but click and rich come with the `cli` extra: without them
the command says what to install instead of dying with a ModuleNotFoundError.
"""

from __future__ import annotations

import importlib
import sys

CLI_EXTRA_MISSING = 'sms-status needs the cli extra: pip install "sms-status[cli]"'
EXIT_USAGE = 3
"""The command line's usage/environment exit code (see `sms_status.cli._exit`)."""


def main() -> None:
    try:
        for module in ("click", "rich"):
            importlib.import_module(module)
    except ImportError:
        print(CLI_EXTRA_MISSING, file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from None
    from sms_status.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
