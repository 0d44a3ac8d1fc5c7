"""4. Import time: `import sms_status`, and with one provider client constructed, vs `import httpx`.

Each case runs in a fresh `python -X importtime` process, several times, cases interleaved.
Two numbers per run: the sum of the top-level cumulative import times `-X importtime` reports,
and the wall time of the whole statement measured inside the process (it includes building
the client). Bytecode is compiled first: this environment may set PYTHONDONTWRITEBYTECODE,
and the overlay is installed editable, so nothing would be cached otherwise.
"""

from __future__ import annotations

import compileall
import json
import statistics
import subprocess
import sys

from benchmarks._common import ROOT, Row, Section, Target, child_env, set_ratio

HTTPX = "floor: import httpx"
HTTPX_CLIENT = "floor: import httpx + httpx.Client()"
OURS = "ours: import sms_status"
OURS_CLIENT = "ours: import sms_status + connect('telecom23')"
OURS_AFTER_HTTPX = "ours: import sms_status + connect('telecom23'), after import httpx"
CASES = {
    HTTPX: "import httpx",
    HTTPX_CLIENT: "import httpx; httpx.Client()",
    OURS: "import sms_status",
    OURS_CLIENT: "import sms_status; sms_status.connect('telecom23', api_key='x')",
    OURS_AFTER_HTTPX: "import sms_status; sms_status.connect('telecom23', api_key='x')",
}
SETUP = {OURS_AFTER_HTTPX: "import httpx"}
"""Run before the timed statement, in the same process: what is timed is the time added."""
FLOORS = {HTTPX: HTTPX, HTTPX_CLIENT: HTTPX_CLIENT, OURS: HTTPX, OURS_CLIENT: HTTPX_CLIENT}
PROVIDER_MODULES = ("sms_status_", "sms_status.providers.")

PROBE = """
{setup}
import time
_t = time.perf_counter()
{statement}
_wall = time.perf_counter() - _t
import json, sys
print(json.dumps({{"wall": _wall, "modules": sorted(sys.modules)}}))
"""


def _run(
    statement: str, *, setup: str = "", importtime: bool = True
) -> tuple[float, float, list[str]]:
    """(top-level -X importtime sum in ms, statement wall in ms, modules loaded)."""
    flags = ["-X", "importtime"] if importtime else []
    result = subprocess.run(  # noqa: S603 - fixed statements
        [sys.executable, *flags, "-c", PROBE.format(setup=setup, statement=statement)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=child_env(),
        check=True,
    )
    top_level = 0
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = (part for part in line.split(":", 1)[1].split("|"))
        if cumulative.strip().isdigit() and not name.startswith("  "):  # not nested
            top_level += int(cumulative)
    data = json.loads(result.stdout.strip().splitlines()[-1])
    return top_level / 1000, data["wall"] * 1000, data["modules"]


def _compile() -> None:
    """Bytecode for the overlay, the generated clients and every module the cases import."""
    for tree in ("overlays", "generated"):
        compileall.compile_dir(ROOT / tree, quiet=1)
    for statement in CASES.values():  # the children may write bytecode too (see child_env)
        _run(statement)


def run(*, repetitions: int = 11) -> Section:
    section = Section("4. Import time (fresh process each run)")
    _compile()
    importtime: dict[str, list[float]] = {name: [] for name in CASES}
    wall: dict[str, list[float]] = {name: [] for name in CASES}
    modules: dict[str, list[str]] = {}
    for _ in range(repetitions):
        for name, statement in CASES.items():
            setup = SETUP.get(name, "")
            if not setup:  # -X importtime would count the setup's imports too
                importtime[name].append(_run(statement)[0])
            _, elapsed, modules[name] = _run(statement, setup=setup, importtime=False)
            wall[name].append(elapsed)
    rows = {
        name: Row(
            section.title,
            name,
            "ms",
            wall[name],
            note=(
                f"`{SETUP[name]}` first, in the same process, and not timed"
                if name in SETUP
                else f"-X importtime, top-level sum: {statistics.median(importtime[name]):.1f} ms"
            )
            + f"; {len(modules[name])} modules loaded",
        )
        for name in CASES
    }
    for name, floor in FLOORS.items():
        set_ratio([rows[name]], rows[floor])
    section.rows = list(rows.values())

    def over(name: str, floor: str) -> tuple[float, str]:
        # The median of per-run differences: a case and its floor run in the same round,
        # so a slow spell of the machine shifts both (two medians apart swing with it).
        diffs = sorted(ours - base for ours, base in zip(wall[name], wall[floor], strict=True))
        extra = statistics.median(diffs)
        return extra, (
            f"{extra:+.1f} ms, median of {len(diffs)} paired runs (each {diffs[0]:+.1f} to "
            f"{diffs[-1]:+.1f}; medians {rows[name].median:.1f} vs {rows[floor].median:.1f} ms)"
        )

    import_over, import_text = over(OURS, HTTPX)
    client_over, client_text = over(OURS_CLIENT, HTTPX_CLIENT)
    _, bare_text = over(OURS_CLIENT, HTTPX)
    # The time a client adds to `import httpx`, timed in the process that imported httpx:
    # this VM's speed swings between processes (`import httpx` alone took 105-210 ms in one
    # run), which two processes' difference carries, paired or not.
    added = sorted(wall[OURS_AFTER_HTTPX])
    added_median = statistics.median(added)
    section.targets += [
        Target(
            "import time: `import sms_status`",
            "≤ 50 ms over `import httpx`",
            import_text,
            import_over <= 50,
        ),
        Target(
            "import time: with a telecom23 client constructed",
            "≤ 50 ms over httpx (like for like: `import httpx; httpx.Client()`)",
            client_text,
            client_over <= 50,
        ),
        Target(
            "import time: with a client, vs bare `import httpx`",
            "≤ 50 ms over `import httpx`",
            f"+{added_median:.1f} ms timed after `import httpx` in the same process (median "
            f"of {len(added)} runs, each +{added[0]:.1f} to +{added[-1]:.1f}); across processes "
            f"{bare_text}; httpx itself loads httpcore and h11 only when a client is built",
            added_median <= 50,
        ),
    ]
    bare = modules[OURS]
    connected = modules[OURS_CLIENT]
    providers = sorted({m for m in connected if m.startswith(PROVIDER_MODULES)})
    eager = [m for m in bare if m in ("httpx", "asyncio") or m.startswith(PROVIDER_MODULES)]
    others = [p for p in providers if "telecom23" not in p]
    top = [p for p in providers if p.count(".") <= 1 or p.startswith("sms_status.providers.")]
    section.targets.append(
        Target(
            "providers load lazily",
            "`import sms_status` loads no provider (nor httpx); connect loads only its own",
            f"after import: {', '.join(eager) or 'none of them'}; after connect('telecom23'): "
            f"{', '.join(top)}; asyncio loaded by the sync client: {'asyncio' in connected}",
            not eager and not others,
        )
    )
    section.notes.append(
        f"{repetitions} runs of each case, interleaved, each in a fresh process: once under "
        "`-X importtime` (its top-level sum is in the notes column) and once plain (the median "
        "column: wall time of the statement, measured inside the process, including building "
        "the client). The first two targets compare a case with its floor round by round (the "
        "median of the differences); the third times a client's imports in a process that "
        "imported httpx first. httpx here also imports click and rich for its CLI, because "
        "the `cli` extra installs them: the floors pay that too."
    )
    return section
