"""6. Polling cost: requests `wait_for_final` sends for a message that turns final after 60 s.

Per provider, an in-process sandbox and the client share one `FakeClock` (the client gets
`clock=` and `sleep=`), so a minute of polling runs instantly. The message is stored with
`advance=60.0` and two statuses, the provider's first and final ones. Compared with the naive
loop a user writes first: poll, sleep 1 s, until final (61 requests).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sms_status._registry import PROVIDERS

from benchmarks._common import Row, Section, Target, set_ratio

if TYPE_CHECKING:
    from sms_status import StatusReport

FINALISES_AFTER = 60.0
MESSAGE = "bench-poll-1"


def _measure(key: str) -> dict[str, tuple[int, float, bool]]:
    import sms_status
    from sms_status.testing import FakeClock, Sandbox

    clock = FakeClock()
    sandbox = Sandbox(key, clock=clock, seed=False)
    statuses = sandbox.provider.default_statuses
    out: dict[str, tuple[int, float, bool]] = {}
    with sandbox.serve():
        client = sms_status.connect(
            key,
            api_key=sandbox.api_key,
            base_url=sandbox.base_url,
            clock=clock.monotonic,
            sleep=clock.sleep,
        )
        cases: dict[str, Callable[[], StatusReport]] = {
            "wait_for_final()": lambda: client.wait_for_final(MESSAGE),
            "wait_for_final(timeout=120)": lambda: client.wait_for_final(MESSAGE, timeout=120),
        }
        for name, wait in cases.items():
            sandbox.add_message(
                MESSAGE, statuses=(statuses[0], statuses[-1]), advance=FINALISES_AFTER
            )
            sandbox.clear_requests()
            start = clock.now()
            report = wait()
            out[name] = (len(sandbox.requests), clock.now() - start, report.is_final)
        # The naive loop: poll every second until final.
        sandbox.add_message(MESSAGE, statuses=(statuses[0], statuses[-1]), advance=FINALISES_AFTER)
        sandbox.clear_requests()
        start = clock.now()
        while not client.get_status(MESSAGE).is_final:
            clock.sleep(1.0)
        out["naive 1 s loop"] = (len(sandbox.requests), clock.now() - start, True)
        client.close()
    return out


def run() -> Section:
    section = Section("6. Polling: requests until a status final after 60 s of sandbox clock")
    found_final_cheaper = True
    summary = []
    for key in PROVIDERS:
        measured = _measure(key)
        naive = measured["naive 1 s loop"]
        rows = []
        for name, (requests, elapsed, final) in measured.items():
            if name == "naive 1 s loop":
                label = "floor: naive loop, poll every 1 s"
            else:
                label = f"ours: {name}"
            rows.append(
                Row(
                    section.title,
                    f"{key} — {label}",
                    "requests",
                    [float(requests)],
                    note=(
                        f"{'final' if final else 'NOT final (gave up)'} after {elapsed:.0f} s "
                        "of sandbox clock"
                    ),
                )
            )
        naive_row = rows[-1]
        set_ratio(rows, naive_row)
        section.rows += [naive_row, *rows[:-1]]
        default = measured["wait_for_final()"]
        bounded = measured["wait_for_final(timeout=120)"]
        if bounded[2]:
            found_final_cheaper &= bounded[0] < naive[0]
        summary.append(f"{key} {default[0]}{'' if default[2] else ' (gave up)'}/{bounded[0]}")
    section.targets.append(
        Target(
            "polling cost",
            "fewer requests than naive 1 s polling (issue: measure, per provider)",
            "requests with default / timeout=120 vs 61: " + ", ".join(summary),
            found_final_cheaper,
        )
    )
    section.notes.append(
        "lisoloo's default gives up after 5 s (seed 003: three tries, 2 s apart, for "
        "interactive use), so its default run returns the last, non-final report; "
        "`timeout=120` shows the cadence over the whole minute."
    )
    return section
