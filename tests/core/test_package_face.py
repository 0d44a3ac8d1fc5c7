"""`import sms_status`'s own names, and what it says of the subpackages it does not load."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("name", ["tracking", "testing"])
def test_a_subpackage_not_imported_yet_says_how_to_import_it(name: str) -> None:
    # A fresh interpreter: this test session imported them long ago.
    code = (
        "import sms_status\n"
        f"try:\n    sms_status.{name}\nexcept AttributeError as error:\n    print(error)\n"
    )
    shown = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert f"`from sms_status import {name}` loads it" in shown


def test_a_misspelt_name_is_a_plain_attribute_error() -> None:
    import sms_status

    with pytest.raises(AttributeError, match=r"has no attribute 'trackin'$"):
        sms_status.trackin  # type: ignore[attr-defined]  # noqa: B018
