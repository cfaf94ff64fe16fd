#!/usr/bin/env python3
"""`make bench`: measures akl on this machine and writes bench/RESULTS.md and
bench/results.json.

Every figure is measured in the same run, against the same inputs, on the same machine;
nothing is hard-coded. Sections:

  mask   100 MB of output with 100 secrets through `akl run` (masking on), against the
         same bytes through a plain pipe into `cat`; peak memory at 10 MB and at 100 MB.
"""

import json
import os
import platform
import random
import resource
import statistics
import string
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AKL = ROOT / "target/x86_64-unknown-linux-musl/release/akl"
RUNS = 9


def run_timed(argv):
    """Runs argv with stdout to /dev/null; returns its wall time in seconds."""
    start = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"bench: {argv} failed ({proc.returncode}): {proc.stderr.decode()[-500:]}")
    return elapsed


def median_time(argv):
    return statistics.median(run_timed(argv) for _ in range(RUNS))


def max_rss_kib(argv):
    """Peak resident memory of argv's own process, measured by GNU time (which forks from
    a small process, so nothing of this Python process is counted)."""
    out = subprocess.run(["/usr/bin/time", "-f", "%M", *argv], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, check=True)
    return int(out.stderr.strip().splitlines()[-1])


def make_output(path, megabytes, secrets, rng):
    """Log-like text lines with the secrets scattered through it."""
    alphabet = (string.ascii_letters + string.digits + " .,:;=/-_[]{}\"'").encode()
    line_pool = []
    for _ in range(4096):
        n = rng.randint(20, 120)
        line_pool.append(bytes(rng.choice(alphabet) for _ in range(n)) + b"\n")
    target = megabytes * 1_000_000
    placed = 0
    with open(path, "wb") as f:
        written = 0
        every = target // len(secrets)
        next_secret = every // 2
        while written < target:
            chunk = b"".join(rng.choice(line_pool) for _ in range(256))
            if written + len(chunk) >= next_secret and placed < len(secrets):
                cut = rng.randint(0, len(chunk))
                chunk = chunk[:cut] + b"token=" + secrets[placed].encode() + chunk[cut:]
                placed += 1
                next_secret += every
            f.write(chunk)
            written += len(chunk)
    return placed


def bench_mask(work):
    rng = random.Random(42)
    secrets = ["".join(rng.choice(string.ascii_letters + string.digits) for _ in range(24)) for _ in range(100)]
    env_file = work / "secrets.env"
    env_file.write_text("".join(f"export SECRET_{i:03}='{s}'\n" for i, s in enumerate(secrets)))
    results = {}
    for megabytes in (10, 100):
        data = work / f"output-{megabytes}.txt"
        placed = make_output(data, megabytes, secrets, rng)
        size = data.stat().st_size
        # The same bytes, through a pipe into cat, and through akl run.
        akl = [str(AKL), "run", "--env-file", str(env_file), "--", "cat", str(data)]
        cat_time = median_time(["sh", "-c", f"cat '{data}' | cat"])
        akl_time = median_time(akl)
        akl_rss = max_rss_kib(akl)
        # Check the masking really happened: no secret in akl's output.
        out = subprocess.run([str(AKL), "run", "--env-file", str(env_file), "--", "cat", str(data)],
                             capture_output=True, check=True).stdout
        leaked = sum(1 for s in secrets if s.encode() in out)
        masked = out.count(b"[MASKED]")
        results[megabytes] = {
            "bytes": size,
            "secrets_in_output": placed,
            "masked_occurrences": masked,
            "leaked": leaked,
            "cat_seconds": cat_time,
            "cat_mb_per_s": size / cat_time / 1e6,
            "akl_seconds": akl_time,
            "akl_mb_per_s": size / akl_time / 1e6,
            "ratio": cat_time / akl_time,
            "akl_max_rss_kib": akl_rss,
        }
        data.unlink()
    return results


def machine():
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit + ("+changes" if dirty else ""),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "kernel": platform.release(),
    }


def markdown(info, mask):
    m10, m100 = mask[10], mask[100]
    lines = [
        "# Benchmark results",
        "",
        f"Measured by `make bench` on {info['date']}, commit `{info['commit']}`, {info['cpu']}, "
        f"{info['cores']} cores, Linux {info['kernel']}. Medians of {RUNS} runs.",
        "",
        "## Masking throughput (`akl run`)",
        "",
        "The same output, 100 secrets scattered through it, sent through `akl run` (masking on)"
        " and through a plain pipe into `cat`. Target: at least half of `cat`'s throughput, with"
        " memory that does not grow with the output.",
        "",
        "| output | `cat` pipe | `akl run` | akl / cat | akl peak RSS | secrets masked, leaked |",
        "|---|---|---|---|---|---|",
    ]
    for mb, r in ((10, m10), (100, m100)):
        lines.append(
            f"| {r['bytes'] / 1e6:.0f} MB | {r['cat_mb_per_s']:.0f} MB/s | {r['akl_mb_per_s']:.0f} MB/s | "
            f"{r['ratio']:.2f} | {r['akl_max_rss_kib'] / 1024:.1f} MiB | {r['masked_occurrences']} of "
            f"{r['secrets_in_output']}, {r['leaked']} |"
        )
    lines.append("")
    return "\n".join(lines)


def main():
    if not AKL.exists():
        sys.exit(f"bench: {AKL} is missing; run `make bench`, which builds it")
    with tempfile.TemporaryDirectory(prefix="akl-bench-") as tmp:
        work = Path(tmp)
        info = machine()
        mask = bench_mask(work)
    results = {"machine": info, "mask": {str(k): v for k, v in mask.items()}}
    (ROOT / "bench/results.json").write_text(json.dumps(results, indent=2) + "\n")
    table = markdown(info, mask)
    (ROOT / "bench/RESULTS.md").write_text(table)
    print(table)
    failures = [f"masking leaked {r['leaked']} secrets at {mb} MB" for mb, r in mask.items() if r["leaked"]]
    if failures:
        sys.exit("bench: " + "; ".join(failures))


if __name__ == "__main__":
    main()
