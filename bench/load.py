"""Load test of `qa serve`: N concurrent clients over loopback for a fixed time.

Builds (once, cached in $XDG_CACHE_HOME/qa-bench) a synthetic KB of --entries entries the way
bench/speed.py does (real texts of ../shared/data with real vectors plus noise), starts
`qa serve --workers W` on it, then keeps --concurrency requests in flight for --seconds with aiohttp.
Questions are real English queries of ../shared/data (a quarter of clinc150's are out of scope, so
the server also logs unanswered questions while under load), sent in a shuffled rotation, so no
question repeats within ~9.6k requests (the worst case for the server's cache of question vectors); with
--zipf S they are drawn with popularity 1/rank^S instead, as real FAQ traffic repeats itself.

Prints one JSON line: requests/s, latency p50/p90/p99 (ms), and the error count.

    python bench/load.py [--entries 10000] [--workers 2] [--concurrency 8] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import IO

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.speed import DATA, base_texts, synthetic_kb  # noqa: E402


def cached_kb(n: int) -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "qa-bench"
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"load-{n}.db"
    if not path.exists():
        from qa.encoders import registry

        texts, _ = base_texts()
        print(f"building a {n}-entry KB in {path} (once) ...", file=sys.stderr, flush=True)
        base = {i: registry.create(i).embed(texts) for i in registry.AUTO}
        tmp = path.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        synthetic_kb(tmp, n, texts, base).close()
        tmp.rename(path)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(db: Path, workers: int, log: IO[bytes]) -> tuple[subprocess.Popen, str]:
    port = free_port()
    qa = str(Path(sys.executable).parent / "qa")
    cmd = [qa, "serve", "--db", str(db), "--port", str(port), "--workers", str(workers)]
    proc = subprocess.Popen(cmd, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 300
    while time.time() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            sys.exit(f"qa serve exited: {log.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(base + "/health", timeout=2) as r:
                if r.status == 200:
                    return proc, base
        except OSError:
            time.sleep(0.5)
    proc.kill()
    sys.exit("qa serve did not start in 300 s")


async def run_load(base: str, questions: list[str], concurrency: int, seconds: float, warmup: float) -> dict:
    import aiohttp

    latencies: list[float] = []
    errors: dict[str, int] = {}
    counter = 0
    conn = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(base, connector=conn) as session:

        async def one(q: str, record: bool) -> None:
            t = time.perf_counter()
            try:
                async with session.post("/ask", json={"question": q}) as r:
                    await r.read()
                    ok = r.status == 200
                    key = f"http {r.status}"
            except aiohttp.ClientError as e:
                ok, key = False, type(e).__name__
            if record:
                latencies.append(time.perf_counter() - t)
                if not ok:
                    errors[key] = errors.get(key, 0) + 1

        async def client(stop: float, record: bool) -> None:
            nonlocal counter
            while time.perf_counter() < stop:
                counter += 1
                await one(questions[counter % len(questions)], record)

        await asyncio.gather(*(client(time.perf_counter() + warmup, False) for _ in range(concurrency)))
        t0 = time.perf_counter()
        await asyncio.gather(*(client(t0 + seconds, True) for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    ms = np.array(latencies) * 1000
    return {
        "requests": len(latencies),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p90_ms": round(float(np.percentile(ms, 90)), 1),
        "p99_ms": round(float(np.percentile(ms, 99)), 1),
        "max_ms": round(float(ms.max()), 1),
        "errors": sum(errors.values()),
        "error_kinds": errors,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--entries", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--warmup", type=float, default=3)
    ap.add_argument("--distinct", type=int, default=0, help="Use only this many distinct questions (0: all).")
    ap.add_argument(
        "--zipf",
        type=float,
        default=0.0,
        help="Draw questions with popularity ~ 1/rank^S, as FAQ traffic repeats (0: each once, in turn).",
    )
    ap.add_argument("--db", type=Path, help="Serve this KB instead of the synthetic one.")
    args = ap.parse_args()
    if args.db is None and not DATA.is_dir():
        sys.exit(f"No data at {DATA}: pass --db KB")
    db = args.db or cached_kb(args.entries)
    if DATA.is_dir():
        _, questions = base_texts()
    else:
        questions = ["what is qa?", "how do I import a CSV file?", "怎么导出知识库？", "what's the weather"]
    questions = [questions[i] for i in np.random.default_rng(1).permutation(len(questions))]
    if args.distinct:
        questions = questions[: args.distinct]
    distinct = len(questions)
    if args.zipf:
        weights = 1.0 / np.arange(1, len(questions) + 1) ** args.zipf
        picks = np.random.default_rng(2).choice(len(questions), 200_000, p=weights / weights.sum())
        questions = [questions[i] for i in picks]
    with tempfile.TemporaryFile() as log:
        proc, base = start_server(db, args.workers, log)
        try:
            result = asyncio.run(run_load(base, questions, args.concurrency, args.seconds, args.warmup))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(
        json.dumps(
            {
                "measure": "serve_load",
                "entries": args.entries if args.db is None else str(args.db),
                "workers": args.workers,
                "concurrency": args.concurrency,
                "seconds": args.seconds,
                "distinct_questions": distinct,
                "zipf": args.zipf,
                "cpus": os.cpu_count(),
                **result,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
