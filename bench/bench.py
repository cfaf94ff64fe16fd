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
  mask      akl run over outputs of 10 and 100 MB (100 and 1,000 secrets, short ones, JWTs sharing a
            prefix, binary, one huge line) against a pipe through cat; how long a partial line
            waits; peak RSS with a 10 MiB value; how long registering a value takes with
            10,000 secrets masked. `bench.py --mask [LABEL-PART...]` runs only these.
"""

import http.client
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
# The slow cases that were quadratic: this many `#key` fields of one JSON secret, and two
# missing names among this many.
FIELDS = 2_000
LATENCY_RUNS = 5
# Generated masking outputs are kept here between runs; bump DATA_VERSION when they change.
CACHE = TARGET / "tmp/bench-mask"
DATA_VERSION = "v1"


def sh(*argv, **kwargs):
    return subprocess.run(argv, check=True, capture_output=True, text=True, **kwargs).stdout


# ---------------------------------------------------------------- the fake and its control


def fields_secret():
    return {f"key_{i:04}": f"bench-field-{i:04}-{'f' * 24}" for i in range(FIELDS)}


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
        fixture["items"].append({"name": "/ci/fields/json", "type": "static",
                                 "value": json.dumps(fields_secret())})
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


def round_trip_ms(fake, names=("/ci/bench/s000",), runs=15):
    """One round trip as this fake answers it at the latency set: a get-secret-value of
    `names` (one, by default) on a kept-alive HTTPS connection, after a login; the median of
    `runs`. The injected latency is its bulk; the rest is what any request costs here (the
    fake's timer, TLS, the loopback) and what answering these names costs the fake."""
    host, port = fake.url.split("//")[1].rsplit(":", 1)
    conn = http.client.HTTPSConnection(host, int(port), context=fake.tls)

    def post(command, body):
        conn.request("POST", "/" + command, json.dumps(body), {"Content-Type": "application/json"})
        resp = conn.getresponse()
        data = resp.read()
        if resp.status != 200:
            sys.exit(f"bench: {command} answered {resp.status}")
        return json.loads(data)

    try:
        token = post("auth", {"access-type": "jwt", "access-id": ACCESS_ID, "jwt": fake.jwt})["token"]
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            post("get-secret-value", {"names": list(names), "token": token})
            times.append((time.perf_counter() - start) * 1000)
        return statistics.median(times)
    finally:
        conn.close()


def bench_plan(fake, work, latency=20):
    """Each set at `latency` per request, with the round trips it cannot do without, each
    as long as the bench measures one in the same run."""
    fake.latency(latency)
    rtt = round_trip_ms(fake)
    # What the extra wave of "1 dynamic + 50 static" asks again: the 50 static names (not
    # a target's yardstick; it shows what answering them adds to a round trip here).
    rtt50 = round_trip_ms(fake, [item(ref) for _, ref in plan_sets()["50 static"]])
    print(f"  one round trip at {latency} ms: {rtt:.1f} ms (50 names: {rtt50:.1f} ms)", file=sys.stderr)
    # Round-robin, one run of each set in turn: a machine that slows down for a while
    # slows every set alike, and the differences the targets compare stay fair.
    sets = {label: akl_env(fake, work, refs) for label, refs in plan_sets().items()}
    times = {label: [] for label in sets}
    requests = dict.fromkeys(sets, 0)
    for _ in range(RUNS["akl"]):
        for label, (argv, env) in sets.items():
            fake.clear()
            times[label].append(timed(argv, env))
            requests[label] += fake.requests()
    rows = {}
    for label in sets:
        rows[label] = {"ms": statistics.median(times[label]) * 1000,
                       "requests": requests[label] / RUNS["akl"], "latency_ms": latency}
        print(f"  {label}: {rows[label]['ms']:.0f} ms, {rows[label]['requests']:.1f} requests", file=sys.stderr)
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
    # The slow cases, at 0 ms: every field of one JSON secret by its own reference (each
    # used to parse the whole secret again), and two missing names among many (their batch
    # used to be asked again name by name).
    refs = [(f"K_{i:04}", f"akeyless://ci/fields/json#{key}") for i, key in enumerate(fields_secret())]
    argv, env = akl_env(fake, work, refs)
    slow = {"fields": FIELDS, "fields_kb": len(json.dumps(fields_secret())) / 1000,
            "fields_cpu_ms": statistics.median(cpu_ms(argv, env) for _ in range(5))}
    refs = [(f"M_{i:05}", f"akeyless://ci/many/s{i:05}") for i in range(FIELDS)]
    refs += [("GONE_A", "akeyless://ci/many/gone-a"), ("GONE_B", "akeyless://ci/many/zz-gone-b")]
    argv, env = akl_env(fake, work, refs)
    env["AKEYLESS_ALLOW_MISSING"] = "true"
    fake.clear()
    timed(argv, env)
    slow["missing_requests"] = fake.requests()
    print(f"  {FIELDS} fields: {slow['fields_cpu_ms']:.0f} ms CPU; 2 missing among {FIELDS}: "
          f"{slow['missing_requests']} requests", file=sys.stderr)
    return {"rows": rows, "many": many, "slow": slow, "rtt_ms": rtt, "rtt_50_ms": rtt50,
            "latency_ms": latency}


def plan_targets(plan):
    rows, rtt = plan["rows"], plan["rtt_ms"]
    mixed20 = rows["10 static + 5 dynamic + 5 rotated"]["ms"]
    mixed100 = rows["100 mixed (40 static, 30 dynamic, 30 rotated)"]["ms"]
    added = rows["1 dynamic + 50 static"]["ms"] - rows["50 static"]["ms"]
    folder = rows[f"a folder of {FOLDER} secrets"]
    many, slow = plan["many"], plan["slow"]
    return [
        ("10 static + 5 dynamic + 5 rotated at 20 ms: within 3 round trips + 25 ms "
         f"({3 * rtt + 25:.0f} ms)", f"{mixed20:.0f} ms", mixed20 <= 3 * rtt + 25),
        ("100 mixed (40/30/30) at 20 ms: within 7 round trips + 60 ms "
         f"({7 * rtt + 60:.0f} ms)", f"{mixed100:.0f} ms", mixed100 <= 7 * rtt + 60),
        ("1 dynamic added to 50 statics at 20 ms: at most one more round trip "
         f"({rtt:.1f} ms)", f"{added:+.1f} ms", added <= rtt),
        (f"a folder of {FOLDER} secrets at 20 ms, against its floor (auth + walk + batch, "
         f"{folder['floor_ms']:.0f} ms) + 25 ms", f"{folder['ms']:.0f} ms, {folder['requests']:.0f} requests",
         folder["ms"] <= folder["floor_ms"] + 25),
        (f"{MANY:,} references: under 50 ms of CPU", f"{many['cpu_ms']:.0f} ms", many["cpu_ms"] < 50),
        (f"{MANY:,} references: under 10 MB RSS", f"{many['max_rss_kib'] / 1024:.1f} MiB",
         many["max_rss_kib"] * 1024 < 10e6),
        (f"{slow['fields']:,} `#key` fields of one {slow['fields_kb']:.0f} KB JSON secret: under 50 ms of CPU",
         f"{slow['fields_cpu_ms']:.0f} ms", slow["fields_cpu_ms"] < 50),
        (f"2 missing names among {slow['fields']:,} (AKEYLESS_ALLOW_MISSING): under 100 requests",
         f"{slow['missing_requests']} requests", slow["missing_requests"] < 100),
    ]


def plan_table(plan):
    lines = ["| set | akl env | requests | floor | over the floor |", "|---|---|---|---|---|"]
    for label, r in plan["rows"].items():
        trips = round(r["floor_ms"] / plan["rtt_ms"])
        lines.append(f"| {label} | **{r['ms']:.0f} ms** | {r['requests']:.0f} | {r['floor_ms']:.0f} ms "
                     f"({trips} round trips) | {r['ms'] - r['floor_ms']:+.0f} ms |")
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

# An HS256 JWT's first 36 bytes, the same in every such token (`{"alg":"HS256","typ":"JWT"}`).
JWT_HEADER = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
ALNUM = string.ascii_letters + string.digits
LOG_ALPHABET = (string.ascii_letters + string.digits + " .,:;=/-_[]{}\"'").encode()


def random_secrets(rng, count, low, high=None):
    return ["".join(rng.choice(ALNUM) for _ in range(rng.randint(low, high or low))) for _ in range(count)]


def b64url(raw):
    import base64
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def jwt(rng):
    claims = json.dumps({"sub": f"project_path:group/app-{rng.randrange(10**6)}", "iat": 1764000000 + rng.randrange(10**6),
                         "jti": "".join(rng.choice(ALNUM) for _ in range(16))}, separators=(",", ":"))
    return f"{JWT_HEADER}.{b64url(claims.encode())}.{b64url(rng.randbytes(32))}"


def text_pool(rng):
    return [bytes(rng.choice(LOG_ALPHABET) for _ in range(rng.randint(20, 120))) + b"\n" for _ in range(4096)]


def jwt_pool(rng):
    """Log lines that each carry a JWT other than the secrets, all with the same header."""
    return [f"2026-11-28T07:{i % 60:02}:00Z INFO GET /api/v1/items/{i} auth=Bearer {jwt(rng)} 200\n".encode()
            for i in range(4096)]


def binary_pool(rng):
    return [rng.randbytes(rng.randint(20, 120)) for _ in range(4096)]


def one_line_pool(rng):
    return [line[:-1] + b" " for line in text_pool(rng)]


POOLS = {"text": text_pool, "jwt": jwt_pool, "binary": binary_pool, "one line": one_line_pool}


def make_output(path, megabytes, secrets, rng, pool=None):
    """Output built from `pool`'s lines (log-like text by default) with the secrets
    scattered through it."""
    pool = pool or text_pool(rng)
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


def secret_sets(rng):
    """The secrets of each masking row, drawn once so rows can share them."""
    return {
        "100 x 24": random_secrets(rng, 100, 24),
        "1000 x 24": random_secrets(rng, 1000, 24),
        "1000 jwt": [jwt(rng) for _ in range(1000)],
        "100 x 6-8": random_secrets(rng, 100, 6, 8),
        "1000 x 6-8": random_secrets(rng, 1000, 6, 8),
    }


# label, secret set, output, megabytes
MASK_ROWS = [
    ("100 secrets, text log, 10 MB", "100 x 24", "text", 10),
    ("100 secrets, text log", "100 x 24", "text", 100),
    ("1,000 secrets, text log", "1000 x 24", "text", 100),
    ("1,000 secrets, binary output", "1000 x 24", "binary", 100),
    ("1,000 secrets, one 100 MB line", "1000 x 24", "one line", 100),
    ("1,000 JWTs, text log", "1000 jwt", "text", 100),
    ("1,000 JWTs sharing a 36-byte prefix, log of other JWTs", "1000 jwt", "jwt", 100),
    ("100 secrets of 6-8 characters, text log", "100 x 6-8", "text", 100),
    ("1,000 secrets of 6-8 characters, text log", "1000 x 6-8", "text", 100),
]
# The short-secret rows are compared with the long-secret row of the same count.
SHORT_VS_LONG = {"100 secrets of 6-8 characters, text log": "100 secrets, text log",
                 "1,000 secrets of 6-8 characters, text log": "1,000 secrets, text log"}


def env_file_for(work, name, secrets):
    path = work / f"{name.replace(' ', '_')}.env"
    path.write_text("".join(f"export SECRET_{i:04}='{s}'\n" for i, s in enumerate(secrets)))
    return path


def timed_quiet(argv):
    """Wall time of argv with its stdout and stderr on /dev/null (one file: akl run then
    gives its command one pipe for both, as in a CI job)."""
    start = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"bench: {argv} failed ({proc.returncode})")
    return elapsed


def leaks(out, secrets):
    """How many secrets show in clear where they were placed (after `token=`)."""
    wanted = {s.encode() for s in secrets}
    lengths = sorted({len(s) for s in wanted})
    count, at = 0, out.find(b"token=")
    while at >= 0:
        at += len(b"token=")
        count += any(out[at:at + n] in wanted for n in lengths)
        at = out.find(b"token=", at)
    return count


def mask_case(work, label, secrets, output, megabytes):
    """A masking row's output (cached) and the two commands it times."""
    # Each row draws its own output, so a cached file is the one a fresh run would make.
    rng = random.Random(f"{DATA_VERSION} {label}")
    CACHE.mkdir(parents=True, exist_ok=True)
    data = CACHE / f"{DATA_VERSION}-{label.replace(' ', '_').replace(',', '')}.out"
    placed_file = data.with_suffix(".placed")
    if not data.exists() or not placed_file.exists():
        placed_file.write_text(str(make_output(data, megabytes, secrets, rng, POOLS[output](rng))))
    env_file = env_file_for(work, label, secrets)
    return {"label": label, "secrets": secrets, "output": output, "data": data,
            "placed": int(placed_file.read_text()),
            "akl": [str(AKL), "run", "--env-file", str(env_file), "--", "cat", str(data)],
            "floor": ["sh", "-c", f"cat '{data}' | cat"]}


def bench_mask_rows(cases):
    """Every row's floor and akl run, the rows in turn, MASK_RUNS times: a machine that
    slows down for a while slows every row alike, so the rows compare fairly (short
    secrets against long ones above all)."""
    times = {c["label"]: {"floor": [], "akl": []} for c in cases}
    for _ in range(MASK_RUNS):
        for c in cases:
            times[c["label"]]["floor"].append(timed_quiet(c["floor"]))
            times[c["label"]]["akl"].append(timed_quiet(c["akl"]))
    rows = {}
    for c in cases:
        size = c["data"].stat().st_size
        floor_s = statistics.median(times[c["label"]]["floor"])
        akl_s = statistics.median(times[c["label"]]["akl"])
        out = subprocess.run(c["akl"], capture_output=True, check=True).stdout
        rows[c["label"]] = {
            "label": c["label"], "bytes": size, "secrets": len(c["secrets"]), "output": c["output"],
            "secrets_in_output": c["placed"], "masked_occurrences": out.count(b"[MASKED]"),
            "leaked": leaks(out, c["secrets"]),
            "floor_mb_per_s": size / floor_s / 1e6, "akl_mb_per_s": size / akl_s / 1e6,
            "ratio": floor_s / akl_s, "akl_max_rss_kib": max_rss_kib(c["akl"])}
    return rows


def first_seen(argv, text, stamp, env=None):
    """Milliseconds from the command's timestamp (written just before it prints `text`)
    to the moment all of `text` reached us."""
    import select
    stamp.unlink(missing_ok=True)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    seen, buf = None, b""
    while True:
        ready, _, _ = select.select([proc.stdout], [], [], 10)
        if not ready:
            break
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:
            break
        buf += chunk
        if seen is None and text.encode() in buf:
            seen = time.time_ns()
    proc.wait()
    if seen is None:
        sys.exit(f"bench: {text!r} never appeared in {buf[-300:]!r}")
    return (seen - int(stamp.read_text())) / 1e6


LATENCY_HOLD_S = 1.5
LATENCY_ROWS = [("partial line `Uploading artifact app.jar: 42`", "Uploading artifact app.jar: 42"),
                ("prompt `Enter the deploy target`", "Enter the deploy target")]


def bench_latency(work, secrets):
    """How long a partial line that could still be the start of a secret waits when the
    command writes nothing more (it sleeps LATENCY_HOLD_S after printing it)."""
    env_file = env_file_for(work, "latency", secrets)
    stamp = work / "stamp"
    rows = []
    for label, text in LATENCY_ROWS:
        script = f"date +%s%N > '{stamp}'; printf '%s' '{text}'; sleep {LATENCY_HOLD_S}"
        akl = [str(AKL), "run", "--env-file", str(env_file), "--", "sh", "-c", script]
        floor = statistics.median(first_seen(["sh", "-c", script], text, stamp) for _ in range(LATENCY_RUNS))
        ms = statistics.median(first_seen(akl, text, stamp) for _ in range(LATENCY_RUNS))
        rows.append({"label": label, "secrets": len(secrets), "akl_ms": ms, "floor_ms": floor})
    return rows


def bench_big_value(work):
    """Peak RSS of akl run while its command registers one 10 MiB value (`akl mask
    --whole`, as `akl env` and `akeyless_env.sh` register what they fetch) and prints it:
    the process's own high-water mark, read by the command at its end."""
    rng = random.Random(7)
    value = work / "big-value"
    value.write_text("".join(rng.choice(ALNUM) for _ in range(10 << 20)))
    script = f"akl mask --whole < '{value}' && cat '{value}' && sleep 0.2 && grep VmHWM /proc/$PPID/status"
    env = {"PATH": f"{AKL.parent}:{os.environ['PATH']}", "HOME": str(work / "home")}
    out = subprocess.run([str(AKL), "run", "--no-resolve", "--", "sh", "-c", script], env=env,
                         capture_output=True, check=True).stdout
    hwm = int(out.split(b"VmHWM:")[1].split()[0])
    leaked = value.read_bytes()[:64] in out
    value.unlink()
    return {"bytes": 10 << 20, "akl_max_rss_kib": hwm, "masked": b"[MASKED]" in out, "leaked": leaked}


REGISTERED = 1_000
REGISTERED_SECRETS = 10_000
# Run as akl run's command: registers REGISTERED values one at a time over the masker's
# socket (the protocol of src/run/channel.rs, without an `akl mask` process each, whose
# start with 10,000 variables in its environment would be most of the time), timing each
# until it is acknowledged, then prints them all and the timings.
REGISTER_CLIENT = r"""
import json, os, socket, struct, sys, time
times, values = [], []
for i in range(int(sys.argv[1])):
    value = f"registered-while-running-{i:05}-{os.getpid()}".encode()
    start = time.perf_counter()
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(os.environ["AKL_MASK_SOCKET"])
        s.sendall(b"AKL-MASK/1\n" + struct.pack(">I", len(value)) + value)
        s.shutdown(socket.SHUT_WR)
        assert s.makefile("rb").readline() == b"+\n"
    times.append(time.perf_counter() - start)
    values.append(value.decode())
print(" ".join(values))
print("timings " + json.dumps(times))
"""


def bench_registration(work):
    """How long a value registered while the command runs takes to be acknowledged, one at
    a time, with 10,000 secrets masked (the set a scanner is rebuilt from, were it rebuilt
    whole for each)."""
    secrets = random_secrets(random.Random(11), REGISTERED_SECRETS, 24)
    env_file = env_file_for(work, "registration", secrets)
    out = subprocess.run([str(AKL), "run", "--env-file", str(env_file), "--", sys.executable, "-c",
                          REGISTER_CLIENT, str(REGISTERED)], capture_output=True, check=True).stdout.decode()
    printed, timings = out.rsplit("timings ", 1)
    times = json.loads(timings)
    return {"secrets": REGISTERED_SECRETS, "values": REGISTERED, "median_ms": statistics.median(times) * 1000,
            "mean_ms": statistics.mean(times) * 1000, "max_ms": max(times) * 1000, "masked": printed.count("[MASKED]"),
            "leaked": printed.count("registered-while-running-")}


def bench_mask(work, only=()):
    """Every masking row, or those whose label contains one of `only` ("latency", "big"
    and "registration" select the latency rows, the 10 MiB value and the registrations)."""
    sets = secret_sets(random.Random(42))
    cases = [mask_case(work, label, sets[which], output, megabytes)
             for label, which, output, megabytes in MASK_ROWS
             if not only or any(o in label for o in only)]
    rows = bench_mask_rows(cases)
    for label, r in rows.items():
        print(f"  {label}: {r['akl_mb_per_s']:.0f} MB/s (floor {r['floor_mb_per_s']:.0f} MB/s), "
              f"{r['akl_max_rss_kib'] / 1024:.1f} MiB, {r['masked_occurrences']} masked, {r['leaked']} leaked",
              file=sys.stderr)
    latency = bench_latency(work, sets["1000 x 24"]) if not only or "latency" in only else []
    for r in latency:
        print(f"  {r['label']}: {r['akl_ms']:.0f} ms (floor {r['floor_ms']:.0f} ms)", file=sys.stderr)
    big = bench_big_value(work) if not only or "big" in only else None
    if big:
        print(f"  10 MiB value: {big['akl_max_rss_kib'] / 1024:.1f} MiB, masked {big['masked']}, "
              f"leaked {big['leaked']}", file=sys.stderr)
    registration = bench_registration(work) if not only or "registration" in only else None
    if registration:
        print(f"  registration: median {registration['median_ms']:.2f} ms, mean {registration['mean_ms']:.2f} ms, "
              f"max {registration['max_ms']:.1f} ms, "
              f"{registration['masked']} masked, {registration['leaked']} leaked", file=sys.stderr)
    return {"throughput": rows, "latency": latency, "big_value": big, "registration": registration}


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
    ] + mask_targets(mask)


def mask_targets(mask):
    rows = mask["throughput"]

    def speed(label):
        r = rows[label]
        return f"{r['akl_mb_per_s']:.0f} MB/s ({r['ratio']:.2f} of the {r['floor_mb_per_s']:.0f} MB/s floor)"

    checks = []
    base = rows.get("100 secrets, text log")
    if base:
        checks.append(("masking at least half of the floor's throughput (100 secrets, 100 MB)", f"{base['ratio']:.2f}",
                       base["ratio"] >= 0.5))
    shared = rows.get("1,000 JWTs sharing a 36-byte prefix, log of other JWTs")
    if shared:
        checks.append(("masking at least 500 MB/s: 1,000 JWTs sharing a 36-byte prefix, log of other JWTs",
                       speed(shared["label"]), shared["akl_mb_per_s"] >= 500))
    for short, long in SHORT_VS_LONG.items():
        if short in rows and long in rows:
            share = rows[short]["akl_mb_per_s"] / rows[long]["akl_mb_per_s"]
            checks.append((f"secrets of 6-8 characters at least 70% of the throughput of 24 ({rows[short]['secrets']:,} secrets)",
                           f"{share:.0%} ({rows[short]['akl_mb_per_s']:.0f} vs {rows[long]['akl_mb_per_s']:.0f} MB/s)",
                           share >= 0.7))
    for label in ("1,000 secrets, text log", "1,000 secrets, binary output", "1,000 secrets, one 100 MB line"):
        if label in rows:
            r = rows[label]
            checks.append((f"{label}: at least 600 MB/s, under 5 MiB RSS",
                           f"{speed(label)}, {r['akl_max_rss_kib'] / 1024:.1f} MiB",
                           r["akl_mb_per_s"] >= 600 and r["akl_max_rss_kib"] < 5 * 1024))
    for r in mask["latency"]:
        checks.append((f"{r['label']} (1,000 secrets) appears within 100 ms when nothing follows",
                       f"{r['akl_ms']:.0f} ms (floor {r['floor_ms']:.0f} ms)", r["akl_ms"] - r["floor_ms"] <= 100))
    big = mask["big_value"]
    if big:
        checks.append(("a 10 MiB value registered and printed: akl run under 25 MiB RSS",
                       f"{big['akl_max_rss_kib'] / 1024:.1f} MiB", big["akl_max_rss_kib"] < 25 * 1024))
    reg = mask.get("registration")
    if reg:
        checks.append((f"{reg['values']:,} values registered one at a time while {reg['secrets']:,} secrets are masked: "
                       "each acknowledged within 2 ms on average",
                       f"{reg['mean_ms']:.2f} ms (median {reg['median_ms']:.2f} ms, slowest {reg['max_ms']:.1f} ms)",
                       reg["mean_ms"] <= 2))
    return checks


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
            f"akl env at {plan['latency_ms']} ms per request, median of {RUNS['akl']} runs (the sets in turn), beside the round trips "
            "each set cannot do without: log in, the batch, then one wave for what the batch could not answer "
            "(a folder: log in, the walk, the batch). A round trip is what the bench measures one to be in the "
            f"same run: **{plan['rtt_ms']:.1f} ms**, the median of 15 get-secret-value requests on a kept-alive "
            f"HTTPS connection to the fake at {plan['latency_ms']} ms (the injected latency, and what any request "
            "costs on this machine: the fake's timer, TLS, the loopback). Requests as the fake counted them; an "
            "all-static set may show a fraction more, the look at the items' folder that the batch usually makes "
            "unneeded. The same request for the 50 names that the extra wave of *1 dynamic + 50 static* asks "
            f"again takes **{plan['rtt_50_ms']:.1f} ms** (the fake answering 50 values); the target still counts "
            "the one-name round trip.", ""]
    out += plan_table(plan)
    many = plan["many"]
    out += ["", f"{many['references']:,} references at 0 ms: **{many['cpu_ms']:.0f} ms** of CPU (user + system, "
            f"median of 9), **{many['max_rss_kib'] / 1024:.1f} MiB** peak RSS (the highest of 5)."]
    slow = plan["slow"]
    out += ["", f"Cases that were quadratic, at 0 ms: {slow['fields']:,} references to the `#key` fields of one "
            f"{slow['fields_kb']:.0f} KB JSON secret, **{slow['fields_cpu_ms']:.0f} ms** of CPU (median of 5); "
            f"{slow['fields']:,} references with 2 missing names among them (`AKEYLESS_ALLOW_MISSING`), "
            f"**{slow['missing_requests']} requests** in all."]
    out += ["", "## Memory and size", "", "| what | measured |", "|---|---|"]
    out += [f"| peak RSS, akl env, {label} | {kib / 1024:.1f} MiB |" for label, kib in memory.items()]
    out += [f"| stripped static binary | {size['binary_bytes'] / 1e6:.2f} MB ({size['binary_bytes']} bytes) |",
            f"| image over its base (`ci_base-rs:alpine` on the busybox test base, no apk packages) | "
            f"{size['image_over_base_bytes'] / 1e6:.2f} MB |", "",
            "## Masking (`akl run`)", ""]
    out += mask_markdown(mask)
    return "\n".join(out) + "\n"


def mask_markdown(mask):
    out = ["Each output through `akl run -- cat FILE` (masking on) and through the floor, `cat FILE | cat`, "
           f"both writing to /dev/null; medians of {MASK_RUNS} runs, every row's in turn. The secrets sit after `token=` once every "
           "1/n of the output; *leaked* counts those that came through in clear.", "",
           "| output | floor | `akl run` | akl / floor | akl peak RSS | masked, of placed | leaked |",
           "|---|---|---|---|---|---|---|"]
    for r in mask["throughput"].values():
        out.append(f"| {r['label']} | {r['floor_mb_per_s']:.0f} MB/s | **{r['akl_mb_per_s']:.0f} MB/s** | "
                   f"{r['ratio']:.2f} | {r['akl_max_rss_kib'] / 1024:.1f} MiB | {r['masked_occurrences']} of "
                   f"{r['secrets_in_output']} | {r['leaked']} |")
    if mask["latency"]:
        out += ["", f"Latency: the command stamps the time, prints a partial line and sleeps {LATENCY_HOLD_S} s; the "
                "figure is the time until all of the line was read from `akl run` with 1,000 secrets (the floor: "
                f"the same command without akl). Medians of {LATENCY_RUNS} runs.", "",
                "| partial line | floor | `akl run` |", "|---|---|---|"]
        out += [f"| {r['label']} | {r['floor_ms']:.0f} ms | **{r['akl_ms']:.0f} ms** |" for r in mask["latency"]]
    big = mask["big_value"]
    if big:
        out += ["", "A 10 MiB value (random letters and digits) registered with `akl mask --whole` by the command, "
                f"which then prints it: akl run's own peak RSS is **{big['akl_max_rss_kib'] / 1024:.1f} MiB** "
                f"(masked: {'yes' if big['masked'] else 'no'}, leaked: {'yes' if big['leaked'] else 'no'})."]
    reg = mask.get("registration")
    if reg:
        out += ["", f"{reg['values']} values registered one at a time by the command over the masker's socket, "
                f"with {reg['secrets']:,} secrets of 24 characters masked: each acknowledged in **{reg['mean_ms']:.2f} ms** "
                f"on average (median {reg['median_ms']:.2f} ms; the slowest {reg['max_ms']:.1f} ms, when the recently "
                f"added patterns join the rest). Printed afterwards, {reg['masked']} were masked and {reg['leaked']} leaked."]
    return out


def quote_in_readme(info, resolve, plan, checks):
    readme = ROOT / "README.md"
    text = readme.read_text()
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    if start not in text or end not in text:
        return
    rows = [r for r in resolve if r["latency_ms"] == 20]
    table = "\n".join([f"Measured by `make bench` on {info['date']} (commit `{info['commit']}`), at 20 ms per request; "
                       "the full results, including 0 ms, memory and masking, are in "
                       "[bench/RESULTS.md](bench/RESULTS.md).", ""] + resolve_table(rows)[:2] + resolve_table(rows)[2:]
                      + [""] + plan_table(plan)
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
    if sys.argv[1:2] == ["--mask"]:
        # The masking rows alone, printed and not recorded: `bench.py --mask [LABEL-PART...]`.
        if not AKL.exists():
            sys.exit(f"bench: {AKL} is missing; run `make build`")
        with tempfile.TemporaryDirectory(prefix="akl-bench-") as tmp:
            (Path(tmp) / "home").mkdir()
            mask = bench_mask(Path(tmp), sys.argv[2:])
        print("\n".join(mask_markdown(mask)))
        for name, value, ok in mask_targets(mask):
            print(f"{'ok ' if ok else 'NO '} {name}: {value}")
        return
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
               "mask": mask,
               "targets": [{"target": n, "measured": v, "met": ok} for n, v, ok in checks],
               "seconds": round(time.time() - started)}
    (ROOT / "bench/results.json").write_text(json.dumps(results, indent=2) + "\n")
    report = markdown(info, resolve, plan, memory, size, mask, checks)
    (ROOT / "bench/RESULTS.md").write_text(report)
    quote_in_readme(info, resolve, plan, checks)
    print(report)
    print(f"bench: {results['seconds']} s", file=sys.stderr)
    leaks = [label for label, r in mask["throughput"].items() if r["leaked"]]
    if mask["big_value"] and mask["big_value"]["leaked"]:
        leaks.append("10 MiB value")
    if mask["registration"] and mask["registration"]["leaked"]:
        leaks.append("values registered while running")
    if leaks:
        sys.exit(f"bench: masking leaked secrets: {', '.join(leaks)}")


if __name__ == "__main__":
    main()
