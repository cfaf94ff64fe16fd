#!/usr/bin/env python3
"""`make bench`: measures akl on this machine, side by side with what users run today, and
writes bench/RESULTS.md, bench/results.json and the table the README quotes.

Every figure comes from this run, on this machine, against the same fake Akeyless
(tests/fake, with injected latency); nothing is hard-coded.

  resolve   akl env for 1, 10, 50 and 200 static secrets and a mixed set, at 0 and 20 ms
            per request, against (1) the official Python SDK the way Akeyless's own
            integrations use it: log in, then describe-item and a fetch per secret, one
            after another; (2) the ci_base flow: one CLI process per call, one after another,
            with our `akeyless` command standing in for the Akeyless CLI (the real CLI is a
            far larger binary, so this flatters the old flow); (3) the floor: two round trips.
  plan      the fetch plan's targets at 20 ms per request, each beside its floor: 10 static +
            5 dynamic + 5 rotated, 100 mixed (40/30/30), 1 dynamic added to 50 statics, a
            folder of 200 secrets; and the CPU time and memory of 10,000 references
  memory    peak RSS of akl env
  size      the stripped binary, and the image over its base
  mask      100 MB of output with 100 secrets through akl run, against a pipe through cat
"""

import json
import os
import platform
import random
import ssl
import statistics
import string
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "target/x86_64-unknown-linux-musl"
AKL = TARGET / "release/akl"
# Every client meets the same fake, built with the release profile.
FAKE = TARGET / "release/fake-akeyless"
# The same virtualenv (and marker) as the SDK conformance test.
SDK = "akeyless==5.0.40"
VENV = TARGET / "tmp/sdk-venv"
ACCESS_ID = "p-gitlab0jwt01"
LATENCIES = (0, 20)
SIZES = (1, 10, 50, 200)
RUNS = {"akl": 9, "sdk": 3, "legacy": 3}
MASK_RUNS = 9
# The fetch plan's sets: dynamic and rotated items available, the folder's size, the
# reference count of the CPU row.
PLAN_DYNAMIC = 30
FOLDER = 200
MANY = 10_000


def sh(*argv, **kwargs):
    return subprocess.run(argv, check=True, capture_output=True, text=True, **kwargs).stdout


# ---------------------------------------------------------------- the fake and its control


class Fake:
    def __init__(self, work):
        fixture = json.loads((ROOT / "tests/fake/fixtures/default.json").read_text())
        for i in range(max(SIZES)):
            fixture["items"].append({"name": f"/ci/bench/s{i:03}", "type": "static",
                                     "value": f"bench-secret-{i:03}-{'x' * 20}"})
        for i in range(PLAN_DYNAMIC):
            fixture["items"].append({"name": f"/ci/bench/d{i:03}", "type": "dynamic", "producer": "sql"})
            fixture["items"].append({"name": f"/ci/bench/r{i:03}", "type": "rotated",
                                     "value": {"username": f"u{i}", "password": f"bench-rotated-{i:03}-{'y' * 16}"}})
        for i in range(FOLDER):
            fixture["items"].append({"name": f"/ci/folder/f{i:03}", "type": "static",
                                     "value": f"bench-folder-{i:03}-{'z' * 20}"})
        for i in range(MANY):
            fixture["items"].append({"name": f"/ci/many/s{i:05}", "type": "static",
                                     "value": f"bench-many-{i:05}-{'m' * 12}"})
        config = work / "fixture.json"
        config.write_text(json.dumps(fixture))
        state = work / "fake"
        self.proc = subprocess.Popen([str(FAKE), "--config", str(config), "--state-dir", str(state)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ready = self.proc.stdout.readline()
        if "ready" not in ready:
            sys.exit(f"bench: the fake did not start: {ready}{self.proc.stderr.read()}")
        self.url = ready.split()[2]
        self.ca = str(state / "ca.pem")
        self.jwt = (state / "jwt").read_text().strip()
        self.tls = ssl.create_default_context(cafile=self.ca)

    def control(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        with urllib.request.urlopen(req, context=self.tls) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def latency(self, ms):
        self.control("PUT", "/_fake/faults", {"faults": [], "latency_ms": ms})

    def clear(self):
        self.control("DELETE", "/_fake/log")

    def requests(self):
        return sum(self.control("GET", "/_fake/log")["counts"].values())

    def stop(self):
        self.proc.kill()
        self.proc.wait()


# ---------------------------------------------------------------- the three clients


def reference_sets():
    sets = {}
    for n in SIZES:
        sets[f"{n} static"] = [(f"S_{i:03}", f"akeyless://ci/bench/s{i:03}") for i in range(n)]
    sets["mixed (10 static, 2 dynamic, 2 rotated)"] = (
        [(f"S_{i:03}", f"akeyless://ci/bench/s{i:03}") for i in range(10)]
        + [("DB_USER", "akeyless://ci/mysql#user"), ("DB_PASS", "akeyless://ci/mysql#password"),
           ("AWS", "akeyless://ci/aws"), ("ADMIN", "akeyless://ci/rotated-db#password"),
           ("CUSTOM", "akeyless://ci/rotated-custom")]
    )
    return sets


def item(reference):
    return "/" + reference.removeprefix("akeyless://").split("#")[0]


def base_env(fake, work):
    return {"PATH": os.environ["PATH"], "HOME": str(work / "home"), "AKEYLESS_GATEWAY_URL": fake.url,
            "AKEYLESS_CA_CERT": fake.ca, "AKEYLESS_ACCESS_ID": ACCESS_ID, "AKEYLESS_JWT": fake.jwt}


def timed(argv, env, expect=None):
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0 or (expect is not None and proc.stdout.strip() != str(expect)):
        sys.exit(f"bench: {argv[0]} failed ({proc.returncode}): {proc.stderr[-800:]}{proc.stdout[-200:]}")
    return elapsed


def measure(fake, runs, argv, env, expect=None):
    fake.clear()
    times = [timed(argv, env, expect) for _ in range(runs)]
    return {"ms": statistics.median(times) * 1000, "requests": fake.requests() / runs}


def akl_env(fake, work, refs):
    env = base_env(fake, work) | dict(refs) | {"AKEYLESS_ENV_FILE": str(work / "out.env")}
    return [str(AKL), "env"], env


def sdk_client(fake, work, refs):
    env = base_env(fake, work) | {"BENCH_NAMES": "\n".join(item(r) for _, r in refs)}
    return [str(VENV / "bin/python"), str(ROOT / "bench/sdk_client.py")], env


def legacy_flow(fake, work, refs):
    """The ci_base script's shape: a token from `akeyless auth`, then per variable one
    describe-item process and one fetch process."""
    lines = ["set -e",
             "TOKEN=$(akeyless auth --access-id \"$AKEYLESS_ACCESS_ID\" --access-type jwt --json --jq-expression=.token)",
             "export AKEYLESS_TOKEN=$TOKEN"]
    for var, ref in refs:
        name = item(ref)
        lines += [f"kind=$(akeyless describe-item --name {name} --jq-expression=.item_type)",
                  "case $kind in",
                  f"  STATIC_SECRET) value=$(akeyless get-secret-value --name {name}) ;;",
                  f"  DYNAMIC_SECRET) value=$(akeyless get-dynamic-secret-value --name {name}) ;;",
                  f"  ROTATED_SECRET) value=$(akeyless get-rotated-secret-value --name {name}) ;;",
                  "esac",
                  f"export {var}=\"$value\""]
    script = work / "legacy.sh"
    script.write_text("\n".join(lines) + "\n")
    bindir = work / "bin"
    bindir.mkdir(exist_ok=True)
    link = bindir / "akeyless"
    if not link.exists():
        link.symlink_to(AKL)
    env = base_env(fake, work) | {"PATH": f"{bindir}:{os.environ['PATH']}"}
    return ["sh", str(script)], env


def ensure_sdk():
    marker = VENV / f".installed-{SDK}"
    if marker.exists():
        return
    subprocess.run(["rm", "-rf", str(VENV)], check=True)
    sh(sys.executable, "-m", "venv", str(VENV))
    sh(str(VENV / "bin/python"), "-m", "pip", "install", "--quiet", SDK)
    marker.write_text("")


def bench_resolve(fake, work):
    rows = []
    for latency in LATENCIES:
        fake.latency(latency)
        for label, refs in reference_sets().items():
            row = {"set": label, "latency_ms": latency, "floor_ms": 2 * latency}
            row["akl"] = measure(fake, RUNS["akl"], *akl_env(fake, work, refs))
            row["sdk"] = measure(fake, RUNS["sdk"], *sdk_client(fake, work, refs), expect=len(refs))
            row["legacy"] = measure(fake, RUNS["legacy"], *legacy_flow(fake, work, refs))
            rows.append(row)
            print(f"  {label} at {latency} ms: akl {row['akl']['ms']:.0f} ms, SDK {row['sdk']['ms']:.0f} ms, "
                  f"ci_base flow {row['legacy']['ms']:.0f} ms", file=sys.stderr)
    fake.latency(0)
    return rows


def plan_sets():
    s = lambda i: (f"S_{i:03}", f"akeyless://ci/bench/s{i:03}")
    d = lambda i: (f"D_{i:03}", f"akeyless://ci/bench/d{i:03}")
    r = lambda i: (f"R_{i:03}", f"akeyless://ci/bench/r{i:03}")
    return {
        "50 static": [s(i) for i in range(50)],
        "1 dynamic + 50 static": [s(i) for i in range(50)] + [d(0)],
        "10 static + 5 dynamic + 5 rotated": [s(i) for i in range(10)] + [d(i) for i in range(5)]
        + [r(i) for i in range(5)],
        "100 mixed (40 static, 30 dynamic, 30 rotated)": [s(i) for i in range(40)]
        + [d(i) for i in range(30)] + [r(i) for i in range(30)],
        f"a folder of {FOLDER} secrets": [("F", "akeyless://ci/folder/*")],
    }


def bench_plan(fake, work, latency=20):
    """Each set at `latency` per request, with the round trips it cannot do without."""
    fake.latency(latency)
    rtt = latency
    rows = {}
    for label, refs in plan_sets().items():
        row = measure(fake, RUNS["akl"], *akl_env(fake, work, refs))
        rows[label] = row | {"latency_ms": latency}
        print(f"  {label}: {row['ms']:.0f} ms, {row['requests']:.1f} requests", file=sys.stderr)
    fake.latency(0)
    # The floors: the round trips each set needs at least (log in, the batch, then what
    # the batch could not answer; a folder: log in, the walk, the batch).
    floors = {"50 static": 2, "1 dynamic + 50 static": 3, "10 static + 5 dynamic + 5 rotated": 3,
              "100 mixed (40 static, 30 dynamic, 30 rotated)": 3, f"a folder of {FOLDER} secrets": 3}
    for label, row in rows.items():
        row["floor_ms"] = floors[label] * rtt
    # 10,000 references at 0 ms: CPU time and peak memory of the process.
    refs = [(f"M_{i:05}", f"akeyless://ci/many/s{i:05}") for i in range(MANY)]
    argv, env = akl_env(fake, work, refs)
    many = {"references": MANY, "cpu_ms": statistics.median(cpu_ms(argv, env) for _ in range(9)),
            "max_rss_kib": max(max_rss_kib(argv, env) for _ in range(5))}
    print(f"  {MANY} references: {many['cpu_ms']:.0f} ms CPU, {many['max_rss_kib'] / 1024:.1f} MiB", file=sys.stderr)
    return {"rows": rows, "many": many, "rtt_ms": rtt}


def plan_targets(plan):
    rows, rtt = plan["rows"], plan["rtt_ms"]
    mixed20 = rows["10 static + 5 dynamic + 5 rotated"]["ms"]
    mixed100 = rows["100 mixed (40 static, 30 dynamic, 30 rotated)"]["ms"]
    added = rows["1 dynamic + 50 static"]["ms"] - rows["50 static"]["ms"]
    folder = rows[f"a folder of {FOLDER} secrets"]
    many = plan["many"]
    return [
        ("10 static + 5 dynamic + 5 rotated at 20 ms: within 3 round trips + 25 ms "
         f"({3 * rtt + 25} ms)", f"{mixed20:.0f} ms", mixed20 <= 3 * rtt + 25),
        ("100 mixed (40/30/30) at 20 ms: within 7 round trips + 60 ms "
         f"({7 * rtt + 60} ms)", f"{mixed100:.0f} ms", mixed100 <= 7 * rtt + 60),
        ("1 dynamic added to 50 statics at 20 ms: at most one more round trip "
         f"({rtt} ms)", f"{added:+.0f} ms", added <= rtt),
        (f"a folder of {FOLDER} secrets at 20 ms, against its floor (auth + walk + batch, "
         f"{folder['floor_ms']} ms)", f"{folder['ms']:.0f} ms, {folder['requests']:.0f} requests",
         folder["ms"] <= folder["floor_ms"] + 25),
        (f"{MANY:,} references: under 50 ms of CPU", f"{many['cpu_ms']:.0f} ms", many["cpu_ms"] < 50),
        (f"{MANY:,} references: under 10 MB RSS", f"{many['max_rss_kib'] / 1024:.1f} MiB",
         many["max_rss_kib"] * 1024 < 10e6),
    ]


def plan_table(plan):
    lines = ["| set | akl env | requests | floor | over the floor |", "|---|---|---|---|---|"]
    for label, r in plan["rows"].items():
        lines.append(f"| {label} | **{r['ms']:.0f} ms** | {r['requests']:.0f} | {r['floor_ms']} ms "
                     f"({r['floor_ms'] // plan['rtt_ms']} round trips) | {r['ms'] - r['floor_ms']:+.0f} ms |")
    return lines


def cpu_ms(argv, env):
    """User and system CPU time of one run, to the microsecond, as the kernel accounts the
    child. posix_spawn starts it without copying this Python process (a fork would, and
    the copy's teardown at exec would be counted as the child's)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        pid = os.posix_spawn(argv[0], argv, env, file_actions=[
            (os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)])
    finally:
        os.close(devnull)
    _, status, usage = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"bench: {argv[0]} failed ({os.waitstatus_to_exitcode(status)})")
    return (usage.ru_utime + usage.ru_stime) * 1000


def max_rss_kib(argv, env=None):
    """Peak resident memory of argv's own process, by GNU time (which forks from a small
    process, so nothing of this Python process is counted)."""
    out = subprocess.run(["/usr/bin/time", "-f", "%M", *argv], env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, check=True)
    return int(out.stderr.strip().splitlines()[-1])


def bench_memory(fake, work):
    sets = reference_sets()
    return {label: max_rss_kib(*akl_env(fake, work, sets[label]))
            for label in ("200 static", "mixed (10 static, 2 dynamic, 2 rotated)")}


def bench_size():
    def image_bytes(name):
        return int(sh("docker", "image", "inspect", "--format", "{{.Size}}", name).strip())
    image, base = image_bytes("ci_base-rs:alpine"), image_bytes("akl-test-base:latest")
    return {"binary_bytes": AKL.stat().st_size, "image_bytes": image, "base_bytes": base,
            "image_over_base_bytes": image - base}


# ---------------------------------------------------------------- masking


def make_output(path, megabytes, secrets, rng):
    """Log-like text lines with the secrets scattered through it."""
    alphabet = (string.ascii_letters + string.digits + " .,:;=/-_[]{}\"'").encode()
    pool = [bytes(rng.choice(alphabet) for _ in range(rng.randint(20, 120))) + b"\n" for _ in range(4096)]
    target, placed, written = megabytes * 1_000_000, 0, 0
    every = target // len(secrets)
    next_secret = every // 2
    with open(path, "wb") as f:
        while written < target:
            chunk = b"".join(rng.choice(pool) for _ in range(256))
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
        akl = [str(AKL), "run", "--env-file", str(env_file), "--", "cat", str(data)]
        cat = ["sh", "-c", f"cat '{data}' | cat"]
        cat_time = statistics.median(timed(cat, None) for _ in range(MASK_RUNS))
        akl_time = statistics.median(timed(akl, None) for _ in range(MASK_RUNS))
        out = subprocess.run(akl, capture_output=True, check=True).stdout
        results[megabytes] = {
            "bytes": size, "secrets_in_output": placed, "masked_occurrences": out.count(b"[MASKED]"),
            "leaked": sum(1 for s in secrets if s.encode() in out),
            "cat_mb_per_s": size / cat_time / 1e6, "akl_mb_per_s": size / akl_time / 1e6,
            "ratio": cat_time / akl_time, "akl_max_rss_kib": max_rss_kib(akl),
        }
        data.unlink()
    return results


# ---------------------------------------------------------------- report


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown")
    commit = sh("git", "rev-parse", "--short", "HEAD", cwd=ROOT).strip()
    dirty = sh("git", "status", "--porcelain", cwd=ROOT).strip()
    return {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "commit": commit + ("+changes" if dirty else ""), "cpu": cpu, "cores": os.cpu_count(),
            "kernel": platform.release()}


def targets(resolve, memory, size, mask):
    row = next(r for r in resolve if r["set"] == "50 static" and r["latency_ms"] == 20)
    over_floor = row["akl"]["ms"] - row["floor_ms"]
    speedup = row["sdk"]["ms"] / row["akl"]["ms"]
    rss = max(memory.values())
    return [
        ("50 static at 20 ms: within 50 ms of the two-round-trip floor", f"{over_floor:+.0f} ms", over_floor <= 50),
        ("50 static at 20 ms: at least 20x faster than the SDK client", f"{speedup:.0f}x", speedup >= 20),
        ("peak RSS of akl env under 10 MB", f"{rss / 1024:.1f} MiB", rss < 10 * 1024),
        ("binary under 3.5 MB", f"{size['binary_bytes'] / 1e6:.2f} MB", size["binary_bytes"] < 3.5e6),
        ("image under 4 MB over its base", f"{size['image_over_base_bytes'] / 1e6:.2f} MB",
         size["image_over_base_bytes"] < 4e6),
        ("masking at least half of cat's throughput (100 MB)", f"{mask[100]['ratio']:.2f}", mask[100]["ratio"] >= 0.5),
    ]


def resolve_table(resolve):
    lines = ["| secrets | latency | akl env | requests | SDK client | requests | ci_base flow | requests | floor | akl vs SDK |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in resolve:
        lines.append(f"| {r['set']} | {r['latency_ms']} ms | **{r['akl']['ms']:.0f} ms** | {r['akl']['requests']:.0f} | "
                     f"{r['sdk']['ms']:.0f} ms | {r['sdk']['requests']:.0f} | {r['legacy']['ms']:.0f} ms | "
                     f"{r['legacy']['requests']:.0f} | {r['floor_ms']} ms | {r['sdk']['ms'] / r['akl']['ms']:.0f}x |")
    return lines


def markdown(info, resolve, plan, memory, size, mask, checks):
    out = ["# Benchmark results", "",
           f"`make bench` on {info['date']}, commit `{info['commit']}`: {info['cpu']}, {info['cores']} cores, "
           f"Linux {info['kernel']}. Every figure comes from this one run against the fake Akeyless "
           "(`tests/fake`) with the latency shown injected before every answer.", "",
           "## Targets", "", "| target | measured | met |", "|---|---|---|"]
    out += [f"| {name} | {value} | {'yes' if ok else '**no**'} |" for name, value, ok in checks]
    out += ["", "## Resolve time", "",
            f"Wall time of the whole process, median of {RUNS['akl']} runs for akl and {RUNS['sdk']} for the "
            "others; requests per run as the fake counted them. *SDK client*: the official Python SDK "
            f"({SDK}) logging in, then describe-item and a fetch per secret, one after another, process start "
            "included. *ci_base flow*: one CLI process per call, one after another, with this project's "
            "`akeyless` command standing in for the Akeyless CLI, which is far larger and slower to start, "
            "so this flatters the old flow. *Floor*: two round trips at the injected latency.", ""]
    out += resolve_table(resolve)
    out += ["", "## The fetch plan", "",
            f"akl env at {plan['rtt_ms']} ms per request, median of {RUNS['akl']} runs, beside the round trips "
            "each set cannot do without: log in, the batch, then one wave for what the batch could not answer "
            "(a folder: log in, the walk, the batch). Requests as the fake counted them; an all-static set "
            "may show a fraction more, the look at the items' folder that the batch usually makes unneeded.", ""]
    out += plan_table(plan)
    many = plan["many"]
    out += ["", f"{many['references']:,} references at 0 ms: **{many['cpu_ms']:.0f} ms** of CPU (user + system, "
            f"median of 5), **{many['max_rss_kib'] / 1024:.1f} MiB** peak RSS."]
    out += ["", "## Memory and size", "", "| what | measured |", "|---|---|"]
    out += [f"| peak RSS, akl env, {label} | {kib / 1024:.1f} MiB |" for label, kib in memory.items()]
    out += [f"| stripped static binary | {size['binary_bytes'] / 1e6:.2f} MB ({size['binary_bytes']} bytes) |",
            f"| image over its base (`ci_base-rs:alpine` on the busybox test base, no apk packages) | "
            f"{size['image_over_base_bytes'] / 1e6:.2f} MB |", "",
            "## Masking throughput (`akl run`)", "",
            "The same output, 100 secrets scattered through it, through `akl run` (masking on) and through a"
            f" plain pipe into `cat`; medians of {MASK_RUNS} runs.", "",
            "| output | `cat` pipe | `akl run` | akl / cat | akl peak RSS | secrets masked, leaked |",
            "|---|---|---|---|---|---|"]
    for r in mask.values():
        out.append(f"| {r['bytes'] / 1e6:.0f} MB | {r['cat_mb_per_s']:.0f} MB/s | {r['akl_mb_per_s']:.0f} MB/s | "
                   f"{r['ratio']:.2f} | {r['akl_max_rss_kib'] / 1024:.1f} MiB | {r['masked_occurrences']} of "
                   f"{r['secrets_in_output']}, {r['leaked']} |")
    return "\n".join(out) + "\n"


def quote_in_readme(info, resolve, checks):
    readme = ROOT / "README.md"
    text = readme.read_text()
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    if start not in text or end not in text:
        return
    rows = [r for r in resolve if r["latency_ms"] == 20]
    table = "\n".join([f"Measured by `make bench` on {info['date']} (commit `{info['commit']}`), at 20 ms per request; "
                       "the full results, including 0 ms, memory and masking, are in "
                       "[bench/RESULTS.md](bench/RESULTS.md).", ""] + resolve_table(rows)[:2] + resolve_table(rows)[2:]
                      + ["", "| target | measured | met |", "|---|---|---|"]
                      + [f"| {n} | {v} | {'yes' if ok else '**no**'} |" for n, v, ok in checks])
    before, rest = text.split(start, 1)
    _, after = rest.split(end, 1)
    readme.write_text(f"{before}{start}\n{table}\n{end}{after}")


def plan_only():
    """`bench.py plan`: the fetch plan's rows alone, printed, nothing written."""
    with tempfile.TemporaryDirectory(prefix="akl-bench-") as tmp:
        work = Path(tmp)
        (work / "home").mkdir()
        fake = Fake(work)
        try:
            plan = bench_plan(fake, work)
        finally:
            fake.stop()
    print("\n".join(plan_table(plan)))
    for name, value, ok in plan_targets(plan):
        print(f"{'met' if ok else 'NOT MET'}: {name}: {value}")


def main():
    for path in (AKL, FAKE):
        if not path.exists():
            sys.exit(f"bench: {path} is missing; `make bench` builds it")
    if sys.argv[1:] == ["plan"]:
        return plan_only()
    started = time.time()
    ensure_sdk()
    info = machine()
    with tempfile.TemporaryDirectory(prefix="akl-bench-") as tmp:
        work = Path(tmp)
        (work / "home").mkdir()
        fake = Fake(work)
        try:
            print("resolve time...", file=sys.stderr)
            resolve = bench_resolve(fake, work)
            print("fetch plan...", file=sys.stderr)
            plan = bench_plan(fake, work)
            memory = bench_memory(fake, work)
        finally:
            fake.stop()
        size = bench_size()
        print("masking...", file=sys.stderr)
        mask = bench_mask(work)
    checks = targets(resolve, memory, size, mask) + plan_targets(plan)
    results = {"machine": info, "resolve": resolve, "plan": plan, "memory_kib": memory, "size": size,
               "mask": {str(k): v for k, v in mask.items()},
               "targets": [{"target": n, "measured": v, "met": ok} for n, v, ok in checks],
               "seconds": round(time.time() - started)}
    (ROOT / "bench/results.json").write_text(json.dumps(results, indent=2) + "\n")
    report = markdown(info, resolve, plan, memory, size, mask, checks)
    (ROOT / "bench/RESULTS.md").write_text(report)
    quote_in_readme(info, resolve, checks)
    print(report)
    print(f"bench: {results['seconds']} s", file=sys.stderr)
    leaks = [mb for mb, r in mask.items() if r["leaked"]]
    if leaks:
        sys.exit(f"bench: masking leaked secrets at {leaks} MB")


if __name__ == "__main__":
    main()
