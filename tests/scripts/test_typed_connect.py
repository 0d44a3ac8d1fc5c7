"""The typed `connect()` in client.py is what scripts/typed_connect.py writes from the
registry: a registry change without rerunning it fails here, naming the fix."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import typed_connect  # noqa: E402

CLIENT = ROOT / typed_connect.CLIENT


def test_the_typed_connect_blocks_are_what_the_registry_says() -> None:
    current = CLIENT.read_text()
    assert typed_connect.rendered(current) == current, (
        f"the typed connect() in {typed_connect.CLIENT} is stale: run `{typed_connect.FIX}`"
    )


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    for name in ("overlays/sms_status/_registry.py", "overlays/sms_status/client.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def test_a_registry_change_makes_the_check_fail_until_rewritten(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = copy / "overlays" / "sms_status" / "_registry.py"
    registry.write_text(
        registry.read_text().replace(
            "        # new providers: above this line",
            '        ProviderEntry("zeta", "Zeta", history=True),\n'
            "        # new providers: above this line",
        )
    )
    assert typed_connect.main(["--check"], root=copy) == 1
    assert "stale" in capsys.readouterr().out
    assert typed_connect.main([], root=copy) == 0
    assert typed_connect.main(["--check"], root=copy) == 0
    text = (copy / typed_connect.CLIENT).read_text()
    assert '"zeta"]' in text  # the last key (whatever provider was added before it)
    assert "    import sms_status_zeta\n" in text
    assert 'provider: Literal["zeta"], **arguments: Unpack[ConnectArguments]' in text
    assert "AsyncHistoryClient[sms_status_zeta.AuthenticatedClient]" in text


def test_lost_markers_are_an_error_not_a_silent_no_op(copy: Path) -> None:
    client = copy / typed_connect.CLIENT
    client.write_text(client.read_text().replace("# -- end of the generated provider keys --", ""))
    with pytest.raises(ValueError, match="markers"):
        typed_connect.main([], root=copy)
