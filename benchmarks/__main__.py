"""Run the benchmarks, print one table, write benchmarks/results.md (see benchmarks/__init__)."""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from benchmarks import (
    batching,
    bulk,
    generation,
    imports,
    percall,
    polling,
    scale,
    tracking,
    tracking_redis,
    webhooks,
)
from benchmarks._common import HERE, Row, Section, fmt, machine, versions

PACKAGES = (
    "httpx",
    "httpcore",
    "anyio",
    "h11",
    "sniffio",
    "requests",
    "urllib3",
    "aiohttp",
    "httpx-aiohttp",
    "redis",
    "uvicorn",
    "httptools",
)
SECTIONS = (
    "percall",
    "bulk",
    "batching",
    "imports",
    "generation",
    "polling",
    "scale",
    "tracking",
    "tracking_redis",
    "webhooks",
)


def _ratio(row: Row) -> str:
    if row.ratio is None:
        return ""
    text = f"{row.ratio:.2f}×"
    if row.ratio_runs:
        text += f" ({fmt(min(row.ratio_runs))}–{fmt(max(row.ratio_runs))})"
    return text


def table(sections: Sequence[Section]) -> str:
    lines = [
        "| contender | median | p95 | ratio to floor | spread (runs) | notes |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for section in sections:
        lines.append(f"| **{section.title}** | | | | | |")
        for row in section.rows:
            p95 = f"{fmt(row.p95)} {row.unit}" if row.p95 is not None else "—"
            lines.append(
                f"| {row.contender} | {fmt(row.median)} {row.unit} | {p95} | {_ratio(row)} "
                f"| {row.spread} | {row.note} |"
            )
    return "\n".join(lines)


def targets(sections: Sequence[Section]) -> str:
    lines = ["| target | goal | measured | holds |", "| --- | --- | --- | --- |"]
    for section in sections:
        for t in section.targets:
            verdict = "n/a" if t.holds is None else ("**yes**" if t.holds else "**NO**")
            lines.append(f"| {t.name} | {t.goal} | {t.measured} | {verdict} |")
    return "\n".join(lines)


def findings() -> list[str]:
    out = []
    if importlib.util.find_spec("sniffio") is None:
        out.append(
            "**sniffio is not installed** (anyio no longer depends on it), so every call of "
            "httpcore's `current_async_library()` — several per async request, from "
            "`AsyncEvent`, `AsyncLock` and `AsyncShieldCancellation` — runs `import sniffio`, "
            "fails, and searches the whole of sys.path again (a failed import is not cached; "
            f"{len(sys.path)} entries here, the workspace being installed editable: a plain "
            "install has about 5, so users pay somewhat less). pyinstrument on the raw "
            "`httpx.AsyncClient` bulk run put about a third of the client's CPU under "
            "`httpcore/_synchronization.py: current_async_library` → "
            "`importlib._bootstrap._find_spec`. It hits our async client and the raw floor "
            "alike (the ratio to the floor hides it); the sync client is unaffected. "
            "Proposed fix: add `sniffio>=1.1` to `[project] dependencies` in pyproject.toml. "
            "Rows marked “sniffio importable” run with a stand-in module that answers as "
            "sniffio does under asyncio, to show the gain (2c, 2d)."
        )
    return out


def write(path: Path, sections: Sequence[Section], runtime: float, argv: str) -> None:
    info = machine()
    parts = [
        "# Benchmark results",
        "",
        f"Written by `python -m benchmarks{argv}` (what `nox -s bench` runs) on {info['date']}; "
        f"the whole run took {runtime:.0f} s. Every HTTP contender talks to the same sandbox "
        "server on 127.0.0.1, served by uvicorn from its own process (rate limiting off). "
        "Medians over the runs shown; p95 over every sample where there are per-call samples; "
        "spread is the lowest–highest run median; ratios in brackets are per-run paired "
        "ratios (contenders interleaved within each run).",
        "",
        "## Machine",
        "",
        "| | |",
        "| --- | --- |",
        *(f"| {k} | {v} |" for k, v in info.items()),
        f"| packages | {versions(*PACKAGES)} |",
        "",
        "## Targets",
        "",
        targets(sections),
        "",
        "## Results",
        "",
        table(sections),
        "",
    ]
    found = findings()
    if found:
        parts += ["## Findings", "", *(f"- {f}" for f in found), ""]
    parts += ["## Notes", ""]
    for section in sections:
        for note in section.notes:
            parts.append(f"- {section.title.split(' ', 1)[0]} {note}")
    parts.append("")
    for section in sections:
        if section.extra_markdown:
            parts += [f"### {section.title}", "", section.extra_markdown, ""]
    path.write_text("\n".join(parts))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--only", help=f"comma-separated subset of: {', '.join(SECTIONS)}")
    parser.add_argument("--full", action="store_true", help="growth curve up to 100,000 ids")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument(
        "--output",
        type=Path,
        help="where to write the results (default: benchmarks/results.md; "
        "with --only or --quick nothing is written unless this is given)",
    )
    parser.add_argument(
        "--tracking-redis-n",
        type=int,
        help="ids section tracking_redis settles (default 100,000; 2,000 with --quick)",
    )
    args = parser.parse_args(argv)
    chosen = args.only.split(",") if args.only else list(SECTIONS)
    unknown = set(chosen) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; choose from {', '.join(SECTIONS)}")
    output = args.output or (None if args.only or args.quick else HERE / "results.md")
    plot = output.parent / "growth.png" if output else None

    sizes = (1_000, 3_000, 10_000, 30_000, 100_000) if args.full else (1_000, 3_000, 10_000)
    runners: dict[str, Callable[[], list[Section]]] = {
        "percall": lambda: [
            percall.run(**({"repetitions": 2, "calls": 100} if args.quick else {}))
        ],
        "bulk": lambda: bulk.run(
            **(
                {
                    "bulk_n": 1_000,
                    "sizes": (300, 1_000, 3_000),
                    "repetitions": 1,
                    "seq_sample": 200,
                    "fix_n": 300,
                    "rtt_seq_sample": 20,
                    "ceiling_seconds": 0.5,
                }
                if args.quick
                else {"sizes": sizes}
            ),
            plot_path=plot,
        ),
        "batching": lambda: [batching.run(**({"repetitions": 1} if args.quick else {}))],
        "imports": lambda: [imports.run(**({"repetitions": 2} if args.quick else {}))],
        "generation": lambda: [generation.run(**({"repetitions": 1} if args.quick else {}))],
        "polling": lambda: [polling.run()],
        "scale": lambda: scale.run(quick=args.quick),
        "tracking": lambda: tracking.run(quick=args.quick),
        "tracking_redis": lambda: tracking_redis.run(quick=args.quick, n=args.tracking_redis_n),
        "webhooks": lambda: webhooks.run(quick=args.quick),
    }
    started = time.perf_counter()
    sections: list[Section] = []
    for name in SECTIONS:
        if name not in chosen:
            continue
        t = time.perf_counter()
        print(f"== {name} ...", flush=True)
        sections += runners[name]()
        print(f"   {time.perf_counter() - t:.0f} s", flush=True)
    runtime = time.perf_counter() - started

    print()
    print(targets(sections))
    print()
    print(table(sections))
    for finding in findings():
        print(f"\n{finding}")
    print(f"\ntotal {runtime:.0f} s")
    if output is not None:
        given = "".join(f" {a}" for a in (sys.argv[1:] if argv is None else argv))
        write(output, sections, runtime, given)
        print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
