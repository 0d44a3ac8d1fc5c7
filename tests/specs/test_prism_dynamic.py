"""Spec and overlay agree on what is valid: Prism's dynamic mock (`prism mock -d`) invents
answers that fit each spec, and the SDK must read every one — a report, or the provider's
own error (seven's numeric codes, an error envelope), never MalformedResponseError.

Prism is pinned in tools/prism (package-lock.json); the first run installs it with `npm ci`.
The answers are random on purpose (no --seed: Prism then repeats one answer for every
request); a failure prints the body that was not read.
"""

from __future__ import annotations

import fcntl
import os
import re
import selectors
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sms_status
from sms_status import StatusReport
from sms_status.errors import MalformedResponseError, SmsStatusError

ROOT = Path(__file__).resolve().parents[2]
PRISM_DIR = ROOT / "tools" / "prism"
PRISM = PRISM_DIR / "node_modules" / ".bin" / "prism"
REQUESTS_PER_OPERATION = 25
READY_TIMEOUT = 60.0

Operation = Callable[[Any], object]

# Every lookup the overlay makes, with ids that fit each spec's parameters (Prism checks them).
OPERATIONS: dict[str, dict[str, Operation]] = {
    "telecom23": {
        "status": lambda c: c.get_status("api_42_1743667200123456789_a3f8b2c1d9e45f67"),
    },
    "namirial": {
        "status": lambda c: c.get_status("011d9d6e-b5b9-4cb9-be13-2bc336a923ce"),
        "by_phone": lambda c: c.history_by_phone("+1234567890", count=5),
        "by_reference": lambda c: c.history_by_reference("user-12345-verification", count=5),
    },
    "roycetalk": {
        "status": lambda c: c.get_status("f2672215-c20b-452a-9b6b-1ba51884c55e"),
    },
    "lisoloo": {
        "status": lambda c: c.get_status("507f1f77bcf86cd799439011"),
    },
    "seven": {
        "status": lambda c: c.get_statuses(["77232007287", "77232007195"]),
        "logbook": lambda c: c.get_statuses(["77232007287"]),
    },
}
CLIENT_OPTIONS: dict[str, dict[str, Any]] = {"logbook": {"lookup": "logbook"}}


@pytest.fixture(scope="session")
def prism() -> Path:
    """The pinned Prism, installed once (a lock keeps parallel workers from racing)."""
    lock_path = Path(tempfile.gettempdir()) / "sms-status-prism-install.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not PRISM.exists():
            npm = shutil.which("npm")
            if npm is None:
                pytest.fail("npm is needed for Prism: install Node.js (apt-get install npm)")
            subprocess.run(
                [npm, "ci", "--prefix", str(PRISM_DIR), "--no-audit", "--no-fund", "--quiet"],
                check=True,
                timeout=600,
            )
    return PRISM


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def mock_server(prism: Path) -> Iterator[Callable[[str], str]]:
    """`start(key)`: a dynamic Prism mock of specs/<key>.yaml; returns its base URL."""
    started: list[subprocess.Popen[bytes]] = []

    def start(key: str) -> str:
        port = _free_port()
        process = subprocess.Popen(
            [
                *(str(prism), "mock", "-d", f"specs/{key}.yaml"),
                *("--host", "127.0.0.1", "--port", str(port)),
                "--json-schema-faker-fillProperties=false",
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, "NO_COLOR": "1"},
        )
        started.append(process)
        _wait_until_listening(process, port)
        return f"http://127.0.0.1:{port}"

    yield start
    for process in started:
        process.terminate()
    for process in started:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_listening(process: subprocess.Popen[bytes], port: int) -> None:
    """Read Prism's log until it says it listens (or it dies, or the deadline passes).
    Raw reads: a buffered reader could hold the line while select() waits for more."""
    assert process.stdout is not None
    fd = process.stdout.fileno()
    ready = re.compile(rf"listening on http://127\.0\.0\.1:{port}".encode())
    deadline = time.monotonic() + READY_TIMEOUT
    seen = b""
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while (left := deadline - time.monotonic()) > 0:
            if not selector.select(timeout=left):
                break
            chunk = os.read(fd, 65536)
            if not chunk:
                pytest.fail(f"Prism exited early:\n{seen.decode(errors='replace')}")
            seen += chunk
            if ready.search(seen):
                return
    pytest.fail(
        f"Prism not listening after {READY_TIMEOUT:.0f} s:\n{seen.decode(errors='replace')}"
    )


def _errors_in(result: object) -> list[SmsStatusError]:
    reports = result if isinstance(result, list) else [result]
    return [r.error for r in reports if isinstance(r, StatusReport) and r.error is not None]


@pytest.mark.slow  # 6-20 s each on 2 busy cores: Prism's start-up and 25-75 requests
@pytest.mark.parametrize("key", sorted(OPERATIONS))
def test_the_sdk_reads_every_answer_prism_invents(
    key: str, mock_server: Callable[[str], str]
) -> None:
    base_url = mock_server(key)
    unread: list[str] = []
    read = 0
    for name, operation in OPERATIONS[key].items():
        options = CLIENT_OPTIONS.get(name, {})
        with sms_status.connect(
            key, api_key="prism-key", base_url=base_url, rate_limiter=None, **options
        ) as client:
            for _ in range(REQUESTS_PER_OPERATION):
                try:
                    result = operation(client)
                except MalformedResponseError as exc:
                    unread.append(f"{name}: {exc} | body: {exc.body_excerpt}")
                    continue
                except SmsStatusError:
                    read += 1  # the provider's own error, read as such
                    continue
                malformed = [e for e in _errors_in(result) if isinstance(e, MalformedResponseError)]
                unread += [f"{name}: {e} | body: {e.body_excerpt}" for e in malformed]
                read += not malformed
    assert not unread, f"{key}: {len(unread)} spec-valid answers not read:\n" + "\n".join(
        unread[:5]
    )
    assert read == REQUESTS_PER_OPERATION * len(OPERATIONS[key])
