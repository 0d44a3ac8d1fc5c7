"""What every benchmark shares: the sandbox process, result rows, statistics, the machine."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent


def child_env(**extra: str) -> dict[str, str]:
    """The environment for child processes: this one, minus PYTHONDONTWRITEBYTECODE (so the
    bytecode compiled before timing imports is used)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(extra)
    return env


class Server:
    """A sandbox served from its own process (`benchmarks._serve`)."""

    def __init__(
        self, key: str, messages: int, rate_limit: tuple[int, float] | None = None
    ) -> None:
        self.key = key
        self.messages = messages
        limit = [f"{rate_limit[0]}/{rate_limit[1]}"] if rate_limit is not None else []
        self._proc = subprocess.Popen(  # noqa: S603 - our own module
            [sys.executable, "-m", "benchmarks._serve", key, str(messages), *limit],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=child_env(),
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the {key} sandbox process failed to start")
        info = json.loads(line)
        self.base_url: str = info["base_url"]
        self.api_key: str = info["api_key"]
        self.pid = self._proc.pid

    def command(self, *words: object) -> Any:
        assert self._proc.stdin is not None
        assert self._proc.stdout is not None
        self._proc.stdin.write(" ".join(map(str, words)) + "\n")
        self._proc.stdin.flush()
        return json.loads(self._proc.stdout.readline())

    def requests(self) -> int:
        count: int = self.command("count")
        return count

    def clear(self) -> None:
        self.command("clear")

    def cpu(self) -> float:
        seconds: float = self.command("cpu")
        return seconds

    def set_rtt(self, seconds: float) -> None:
        self.command("rtt", seconds)

    def close(self) -> None:
        if self._proc.poll() is None:
            try:
                self.command("quit")
                self._proc.wait(10)
            except (OSError, ValueError, subprocess.TimeoutExpired):
                self._proc.kill()
                self._proc.wait()


@contextmanager
def serve(key: str, messages: int, rate_limit: tuple[int, float] | None = None) -> Iterator[Server]:
    server = Server(key, messages, rate_limit)
    try:
        yield server
    finally:
        server.close()


def run_json(args: Sequence[str], *, timeout: float = 600) -> Any:
    """Run `python <args>` in a fresh process and return the JSON its last stdout line holds."""
    result = subprocess.run(  # noqa: S603 - our own modules
        [sys.executable, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=child_env(),
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# -- results ---------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear between closest ranks."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class Row:
    """One line of the results table.

    `runs` holds one value per repetition (the median of that repetition's samples, or its
    single measurement); `p95` is over every sample of every repetition where there are
    samples. `floor` names the row of the same section this one is compared with.
    """

    section: str
    contender: str
    unit: str
    runs: list[float]
    p95: float | None = None
    floor: str | None = None
    ratio: float | None = None
    ratio_runs: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def spread(self) -> str:
        if len(self.runs) < 2:
            return f"{len(self.runs)} run"
        low, high = min(self.runs), max(self.runs)
        return f"{fmt(low)}–{fmt(high)} ({len(self.runs)} runs)"


@dataclass
class Target:
    name: str
    goal: str
    measured: str
    holds: bool | None
    """None: not measurable as stated here (explained in `measured`)."""


@dataclass
class Section:
    title: str
    rows: list[Row] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra_markdown: str = ""


def fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def set_ratio(rows: Sequence[Row], floor: Row) -> None:
    """Ratio of each row's median to the floor's, plus per-repetition paired ratios."""
    for row in rows:
        row.floor = floor.contender
        row.ratio = row.median / floor.median if floor.median else None
        if len(row.runs) == len(floor.runs) and len(row.runs) > 1:
            row.ratio_runs = [a / b for a, b in zip(row.runs, floor.runs, strict=True) if b]


def machine() -> dict[str, str]:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "n/a"
    memory = "n/a"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except (OSError, ValueError):
        pass
    return {
        "CPU": model,
        "cores": str(os.cpu_count()),
        "memory": memory,
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "OS": platform.platform(),
        "load average at start (1/5/15 min)": load,
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
    }


def versions(*names: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    parts = []
    for name in names:
        try:
            parts.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            parts.append(f"{name} (not installed)")
    return ", ".join(parts)
