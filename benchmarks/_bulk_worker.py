"""One bulk contender in a fresh process, so its peak RSS is its own.

    python -m benchmarks._bulk_worker CONTENDER BASE_URL API_KEY N [--concurrency C]
        [--sniffio-standin]

Contenders (telecom23): `ours` (`connect_async(...).get_statuses`, pacing off, the default
transport), `ours-httpx` / `ours-aiohttp` (the same on a named `http_backend`), `ours-paced`
(the provider's default token bucket), `raw` (`httpx.AsyncClient`, C workers, `json.loads`),
`raw-aiohttp` (`aiohttp.ClientSession`, C workers, `json.loads`: the fastest floor),
`raw-sharded` (the same C workers spread over C/4 clients of 4 connections each: what a
sharded pool would save), `seq` (the seed pages' loop: `requests.get` + `.json()` per id,
one after another). Prints one
JSON line: wall and CPU seconds, peak RSS (bytes) and the RSS before the run, results checked.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from typing import Any

from benchmarks._serve import message_id

KEY = "telecom23"
PATH = "/api/v1/sms/status/"


def install_sniffio_standin() -> bool:
    """Make `import sniffio` succeed if sniffio is not installed (see benchmarks/README).

    httpcore's async primitives call `current_async_library()`, which does `import sniffio`
    on every call; without sniffio installed each of those is a failed import that searches
    the whole of sys.path. This stand-in answers as sniffio 1.3 does under asyncio, to show
    what installing sniffio (the proposed fix) is worth. Returns whether it was needed.
    """
    import importlib.util
    import types

    if importlib.util.find_spec("sniffio") is not None:
        return False

    module = types.ModuleType("sniffio")

    class AsyncLibraryNotFoundError(RuntimeError):
        pass

    def current_async_library() -> str:
        try:
            if asyncio.current_task() is not None:
                return "asyncio"
        except RuntimeError:
            pass
        raise AsyncLibraryNotFoundError("unknown async library, or not in async context")

    module.AsyncLibraryNotFoundError = AsyncLibraryNotFoundError  # type: ignore[attr-defined]
    module.current_async_library = current_async_library  # type: ignore[attr-defined]
    sys.modules["sniffio"] = module
    return True


def rss_now() -> int:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize()


async def run_ours(
    base: str, key: str, ids: list[str], concurrency: int, paced: bool, backend: str | None = None
) -> int:
    import sms_status

    options: dict[str, Any] = {} if paced else {"rate_limiter": None}
    if backend is not None:
        options["http_backend"] = backend
    async with sms_status.connect_async(
        KEY, api_key=key, base_url=base, concurrency=concurrency, **options
    ) as client:
        reports = await client.get_statuses(ids)
    return sum(1 for r in reports if r.error is None and r.is_final)


async def run_raw(base: str, key: str, ids: list[str], concurrency: int, shards: int = 1) -> int:
    """C workers sharing one `httpx.AsyncClient` — or, with `shards`, spread over that many
    clients (so each connection pool holds C / shards connections)."""
    import httpx

    results: list[Any] = [None] * len(ids)
    positions = iter(range(len(ids)))
    clients = [httpx.AsyncClient(base_url=base, headers={"X-API-Key": key}) for _ in range(shards)]

    async def worker(client: httpx.AsyncClient) -> None:
        for i in positions:
            response = await client.get(f"{PATH}{ids[i]}")
            results[i] = json.loads(response.content)

    workers = min(concurrency, len(ids))
    await asyncio.gather(*(worker(clients[w % shards]) for w in range(workers)))
    for client in clients:
        await client.aclose()
    return sum(1 for r in results if r is not None and r.get("status") is True)


async def run_raw_aiohttp(base: str, key: str, ids: list[str], concurrency: int) -> int:
    """C workers sharing one `aiohttp.ClientSession` (its connector keeps C connections)."""
    import aiohttp

    results: list[Any] = [None] * len(ids)
    positions = iter(range(len(ids)))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(
        base_url=base, headers={"X-API-Key": key}, connector=connector
    ) as session:

        async def worker() -> None:
            for i in positions:
                async with session.get(f"{PATH}{ids[i]}") as response:
                    results[i] = json.loads(await response.read())

        await asyncio.gather(*(worker() for _ in range(min(concurrency, len(ids)))))
    return sum(1 for r in results if r is not None and r.get("status") is True)


def run_seq(base: str, key: str, ids: list[str]) -> int:
    import requests

    ok = 0
    for mid in ids:
        response = requests.get(f"{base}{PATH}{mid}", headers={"X-API-Key": key}, timeout=10)
        if response.status_code == 200 and response.json()["status"] is True:
            ok += 1
    return ok


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "contender",
        choices=(
            "ours",
            "ours-httpx",
            "ours-aiohttp",
            "ours-paced",
            "raw",
            "raw-aiohttp",
            "raw-sharded",
            "seq",
        ),
    )
    parser.add_argument("base_url")
    parser.add_argument("api_key")
    parser.add_argument("n", type=int)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--sniffio-standin", action="store_true")
    args = parser.parse_args()
    standin = install_sniffio_standin() if args.sniffio_standin else False
    # Import what the contender needs before the clock starts.
    import httpx  # noqa: F401
    import requests  # noqa: F401

    if args.contender.endswith("aiohttp"):
        import aiohttp  # noqa: F401
        import httpx_aiohttp  # noqa: F401
    import sms_status.client  # noqa: F401
    from sms_status._registry import load_provider

    load_provider(KEY)

    ids = [message_id(KEY, i) for i in range(args.n)]
    before = rss_now()
    wall, cpu = time.perf_counter(), time.process_time()
    if args.contender == "seq":
        ok = run_seq(args.base_url, args.api_key, ids)
    elif args.contender == "raw-aiohttp":
        ok = asyncio.run(run_raw_aiohttp(args.base_url, args.api_key, ids, args.concurrency))
    elif args.contender in ("raw", "raw-sharded"):
        shards = max(1, args.concurrency // 4) if args.contender == "raw-sharded" else 1
        ok = asyncio.run(run_raw(args.base_url, args.api_key, ids, args.concurrency, shards))
    else:
        paced = args.contender == "ours-paced"
        backend = args.contender.removeprefix("ours-") if "-http" in args.contender else None
        ok = asyncio.run(
            run_ours(args.base_url, args.api_key, ids, args.concurrency, paced, backend)
        )
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(
        json.dumps(
            {
                "wall": wall,
                "cpu": cpu,
                "peak_rss": peak,
                "rss_before": before,
                "ok": ok,
                "n": args.n,
                "sniffio_standin": standin,
            }
        )
    )


if __name__ == "__main__":
    main()
