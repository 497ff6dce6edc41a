"""Gallery search cost: brute force (``course_lib.gallery.BruteForceSearch``) from 10^3 to 10^6.

For each gallery size N (synthetic float32 embeddings, 10 per class, as a gallery of N/10
identities), measures:

- **build**: seconds to sort and copy the gallery (once per gallery);
- **memory**: bytes of the gallery held by the search, and the peak extra memory of a query
  (tracemalloc, which sees NumPy's allocations);
- **latency**: one query at a time (median of repeats, the interactive case) and per query in
  a batch of 100 (throughput).

Then it states, from the measured single-query latencies (log-log interpolation between sizes,
extrapolation beyond the largest marked as such), the gallery size at which brute force
exceeds a 10 ms and a 100 ms budget per query: past that, an approximate nearest-neighbour
index (FAISS's IVF or HNSW indexes, ScaNN; named here, not installed or measured) is the
tool. Memory gives a second limit: the gallery alone is N x D x 4 bytes.

Writes ``build/bench_search.json`` and ``build/bench_search.md`` and prints the table.
Standalone tooling, not part of the installed package: run it from the repository root,
``make bench-search`` or ``python -m benchmarks.bench_search`` (about 2 minutes on 2 CPU
cores); ``--sizes 1000 10000`` for fewer sizes, ``--dim 128`` for another embedding size,
``--out DIR``.
No test asserts a timing.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:                  # run as a script from a checkout
    sys.path.insert(0, str(ROOT))

from benchmarks import common  # noqa: E402
from course_lib.gallery import BruteForceSearch  # noqa: E402

BUDGETS_MS = (10.0, 100.0)
PER_CLASS = 10
BATCH = 100


def _median_time(fn, repeats: int) -> tuple[float, float, float]:
    """(median, min, max) wall seconds of ``fn()`` over ``repeats`` calls after one warm-up."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), float(min(times)), float(max(times))


def _peak_extra_bytes(fn) -> int:
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return int(peak - base)


def measure(n: int, dim: int, seed: int = 0) -> dict:
    """Every figure for one gallery size."""
    rng = np.random.default_rng(seed)
    emb = rng.standard_normal((n, dim), dtype=np.float32)
    labels = rng.permutation(np.arange(n) // PER_CLASS)
    queries = rng.standard_normal((BATCH, dim), dtype=np.float32)
    t0 = time.perf_counter()
    search = BruteForceSearch(emb, labels)
    build = time.perf_counter() - t0
    del emb
    repeats = 30 if n <= 100_000 else 7
    single = _median_time(lambda: search.nearest_classes(queries[:1], k=5), repeats)
    batch = _median_time(lambda: search.nearest_classes(queries, k=5), max(3, repeats // 5))
    return {
        "n": n, "dim": dim, "classes": int(len(search.classes)),
        "build_s": build,
        "gallery_bytes": search.nbytes,
        "query_peak_extra_bytes": _peak_extra_bytes(lambda: search.nearest_classes(queries[:1])),
        "batch_peak_extra_bytes": _peak_extra_bytes(lambda: search.nearest_classes(queries)),
        "single_ms": {"median": single[0] * 1e3, "min": single[1] * 1e3, "max": single[2] * 1e3},
        "batch_per_query_ms": {k: v * 1e3 / BATCH for k, v in
                               zip(("median", "min", "max"), batch)},
    }


def crossover(rows: list[dict], budget_ms: float) -> dict:
    """Gallery size where the median single-query latency reaches ``budget_ms``."""
    n = np.array([r["n"] for r in rows], float)
    ms = np.array([r["single_ms"]["median"] for r in rows])
    if ms[0] >= budget_ms:
        return {"budget_ms": budget_ms, "n": float(n[0]), "how": "already at the smallest size"}
    above = np.flatnonzero(ms >= budget_ms)
    i = int(above[0]) if above.size else len(n) - 1     # interpolate, else extrapolate the tail
    lo = i - 1 if above.size else len(n) - 2
    slope = np.log(ms[i] / ms[lo]) / np.log(n[i] / n[lo])
    size = n[lo] * (budget_ms / ms[lo]) ** (1 / slope)
    return {"budget_ms": budget_ms, "n": float(size), "slope": float(slope),
            "how": "interpolated" if above.size else "extrapolated beyond the largest size"}


def markdown(report: dict) -> str:
    lines = [
        "# Gallery search: brute force", "",
        f"{report['machine']}; load average {report['load_before']} before, "
        f"{report['load_after']} after; {report['date']}.", "",
        f"Synthetic float32 embeddings, D = {report['dim']}, {PER_CLASS} per class; top-5 "
        "classes per query. Latency: median (min-max).", "",
        "| gallery size | classes | gallery memory | build | one query | per query, batch of 100 "
        "| peak extra memory (1 query / batch) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in report["rows"]:
        s, b = r["single_ms"], r["batch_per_query_ms"]
        lines.append(
            f"| {r['n']:,} | {r['classes']:,} | {r['gallery_bytes'] / 2**20:,.1f} MiB | "
            f"{r['build_s'] * 1e3:,.1f} ms | {s['median']:,.2f} ms ({s['min']:,.2f}-"
            f"{s['max']:,.2f}) | {b['median']:,.3f} ms | "
            f"{r['query_peak_extra_bytes'] / 2**20:,.1f} / "
            f"{r['batch_peak_extra_bytes'] / 2**20:,.1f} MiB |")
    lines += ["", "Where brute force stops being enough (one query at a time):", ""]
    for c in report["crossovers"]:
        lines.append(f"- {c['budget_ms']:g} ms per query: reached at about {c['n']:,.0f} "
                     f"gallery embeddings ({c['how']}).")
    lines += ["", report["advice"], ""]
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+",
                        default=[1_000, 10_000, 100_000, 1_000_000])
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--out", type=Path, default=ROOT / "build")
    args = parser.parse_args(argv)
    if any(s < 2 * PER_CLASS for s in args.sizes) or args.dim < 1:
        parser.error(f"sizes must be >= {2 * PER_CLASS} and dim >= 1")
    load_before = common.load_average()
    rows = []
    for n in sorted(args.sizes):
        rows.append(measure(n, args.dim))
        print(f"N={n:>9,}: one query {rows[-1]['single_ms']['median']:8.2f} ms", flush=True)
    crossovers = [crossover(rows, b) for b in BUDGETS_MS] if len(rows) >= 2 else []
    largest = rows[-1]
    growth = ""
    if len(rows) >= 2:
        a, b = rows[-2], rows[-1]
        slope = np.log(b["single_ms"]["median"] / a["single_ms"]["median"]) / np.log(b["n"] / a["n"])
        growth = f" and grows as N^{slope:.2f} between the two largest sizes"
    advice = (
        f"Brute force is exact and needs no index: keep it while one query fits the latency "
        f"budget. On this machine a query costs about {largest['single_ms']['median']:.3g} ms "
        f"at {largest['n']:,} embeddings{growth}; past the sizes above, "
        "an approximate index (FAISS IVF/HNSW or ScaNN; not measured here) answers in "
        "sub-linear time at a small loss of recall. Memory is the other limit: the gallery "
        f"alone takes N x {args.dim} x 4 bytes "
        f"({largest['gallery_bytes'] / 2**20:,.0f} MiB at {largest['n']:,}); batching queries "
        "cuts the cost per query when answers may wait.")
    report = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": common.describe(common.machine()),
        "load_before": load_before, "load_after": common.load_average(),
        "dim": args.dim, "rows": rows, "crossovers": crossovers, "advice": advice,
    }
    text = markdown(report)
    common.write_report(args.out, "bench_search", report, text)
    print(text)
    return report


if __name__ == "__main__":
    main()
