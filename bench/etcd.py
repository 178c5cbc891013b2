#!/usr/bin/env python3
"""`bulkhead etcd`: reading a large snapshot offline, and the watch's RPO.

    testenv/testenv run --clusters 1 --no-s3 -- python3 bench/etcd.py [--gib 1] [--rate 1000] [--seconds 60]

1. Offline reading. Cluster 0's etcd is filled with `--gib` GiB of custom
   resources (JSON values of ~100 KiB under /registry/bench.example.com/…,
   as the API server stores them) and snapshotted with `etcdctl snapshot
   save`. Measured, median of 5: `bulkhead etcd inspect` of every object
   (throughput in MB/s of the file), `bulkhead etcd extract` of one object;
   and in the same run the path a user has today for one object:
   `etcdutl snapshot restore` into a data directory, start etcd on it,
   `etcdctl get` the key (timed until the answer).
2. The watch's RPO. `bulkhead etcd watch --flush-every 2s` runs against
   the same etcd while a writer puts small keys at `--rate` per second for
   `--seconds`; each write's RPO is the time from etcd's answer to the
   moment the watch reports the segment holding it as stored. Median and
   p99 of every write, and whether the watch kept up (no write lost).

The writer is bench/go/etcdload (etcd's own Go client, 32 connections,
paced to the rate); the fill goes through etcd's HTTP gateway. Goals from issue 15: extract < 1 s, inspect >= 200 MB/s, the watch
keeps up with 5,000 writes/s with RPO < 5 s.
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures
import hashlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

PREFIX = "/registry/bench.example.com/widgets/bench/"


def put(endpoint: str, key: str, value: bytes) -> int:
    body = json.dumps({"key": base64.b64encode(key.encode()).decode(), "value": base64.b64encode(value).decode()}).encode()
    req = urllib.request.Request(f"{endpoint}/v3/kv/put", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return int(json.loads(r.read())["header"]["revision"])


def widget(i: int, size: int) -> bytes:
    doc = {"apiVersion": "bench.example.com/v1", "kind": "Widget",
           "metadata": {"name": f"w-{i}", "namespace": "bench", "uid": f"00000000-0000-0000-0000-{i:012d}"},
           "spec": {"blob": "x" * size}}
    return json.dumps(doc).encode()


def fill(endpoint: str, gib: float) -> int:
    size = 100 * 1024
    count = int(gib * (1 << 30) / size)
    common.log(f"writing {count} objects of {size // 1024} KiB into etcd")
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: put(endpoint, f"{PREFIX}w-{i}", widget(i, size)), range(count)))
    return count


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def user_path(bins: Path, snapshot: Path, work: Path, key: str) -> float:
    """etcdutl restore, start etcd, etcdctl get: seconds until the answer."""
    data = work / "user-path"
    shutil.rmtree(data, ignore_errors=True)
    client, peer = free_port(), free_port()
    start = time.perf_counter()
    subprocess.run([str(bins / "etcdutl"), "snapshot", "restore", str(snapshot), "--data-dir", str(data),
                    "--skip-hash-check"], check=True, capture_output=True)
    etcd = subprocess.Popen([str(bins / "etcd"), "--data-dir", str(data), "--listen-client-urls", f"http://127.0.0.1:{client}",
                             "--advertise-client-urls", f"http://127.0.0.1:{client}", "--listen-peer-urls", f"http://127.0.0.1:{peer}",
                             "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
                             "--initial-cluster", f"default=http://127.0.0.1:{peer}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            out = subprocess.run([str(bins / "etcdctl"), "--endpoints", f"http://127.0.0.1:{client}", "get", key],
                                 capture_output=True)
            if out.returncode == 0 and out.stdout:
                return time.perf_counter() - start
            if time.perf_counter() - start > 120:
                raise SystemExit("etcd on the restored data did not answer in 120 s")
            time.sleep(0.02)
    finally:
        etcd.kill()
        etcd.wait()
        shutil.rmtree(data, ignore_errors=True)


def etcdload() -> Path:
    """Builds bench/go/etcdload (etcd's Go client) into a cache keyed on its module files."""
    src = common.ROOT / "bench" / "go" / "etcdload"
    key = hashlib.sha256((src / "go.mod").read_bytes() + (src / "go.sum").read_bytes() + (src / "main.go").read_bytes()).hexdigest()[:16]
    out = common.CACHE / "bench-bin" / f"etcdload-{key}"
    if not out.exists():
        common.log("building etcdload (etcd's Go client)")
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["go", "build", "-trimpath", "-o", str(out), "."], cwd=src, check=True, env=dict(os.environ, CGO_ENABLED="0"))
    return out


def watch_rpo(bulkhead: str, fleet: Path, cluster: str, endpoint: str, rate: int, seconds: int) -> dict:
    proc = subprocess.Popen([bulkhead, "etcd", "watch", "--cluster", cluster, "--flush-every", "2s",
                             "--for", f"{seconds + 900}s", "-o", "json", str(fleet)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    segments: list[tuple[int, float]] = []
    ready = threading.Event()

    def read() -> None:
        for line in proc.stdout:
            r = json.loads(line)
            if r["event"] == "full":
                ready.set()
            if r["event"] == "segment":
                segments.append((r["to"], r["storedAtMs"] / 1000))

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(120):
        raise SystemExit("the watch took no full snapshot in 120 s")
    record = Path(fleet).parent / "writes.txt"
    loaded = subprocess.run([str(etcdload()), "-endpoint", endpoint, "-rate", str(rate), "-seconds", str(seconds),
                             "-out", str(record)], check=True, capture_output=True, text=True)
    common.log(f"etcdload: {loaded.stdout.strip()}")
    writes = [(int(r), int(t) / 1e9) for r, t in (line.split() for line in record.read_text().splitlines())]
    newest = max(r for r, _ in writes)
    # The watch runs until it has stored the last write (or a minute more).
    deadline = time.time() + 60
    while time.time() < deadline and not any(to >= newest for to, _ in segments):
        time.sleep(0.2)
    proc.kill()
    proc.wait()
    segments.sort()
    rpos, lost = [], 0
    for rev, done in writes:
        stored = next((at for to, at in segments if to >= rev), None)
        if stored is None:
            lost += 1
        else:
            rpos.append(max(0.0, stored - done))
    rpos.sort()
    return {"writes": len(writes), "rate": len(writes) / seconds, "lost": lost,
            "median": statistics.median(rpos), "p99": rpos[int(len(rpos) * 0.99) - 1], "max": rpos[-1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gib", type=float, default=1.0)
    parser.add_argument("--rate", type=int, default=5000)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    state = os.environ.get("BULKHEAD_TESTENV")
    if not state:
        raise SystemExit("run it inside the test environment: testenv/testenv run --clusters 1 --no-s3 -- python3 bench/etcd.py")
    env = json.loads((Path(state) / "env.json").read_text())
    c0, bins = env["clusters"][0], Path(env["bin"])
    endpoint = f"http://127.0.0.1:{c0['ports']['etcd']}"
    bulkhead = str(common.bulkhead_release())
    work = common.WORK / "etcd"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)

    count = fill(endpoint, args.gib)
    snapshot = work / "snapshot.db"
    subprocess.run([str(bins / "etcdctl"), "--endpoints", endpoint, "snapshot", "save", str(snapshot)], check=True, capture_output=True)
    size = snapshot.stat().st_size
    common.log(f"snapshot: {size / (1 << 20):.0f} MiB")
    inspect = common.measure("bulkhead etcd inspect", [bulkhead, "etcd", "inspect", str(snapshot)], runs=args.runs)
    wanted = f"widget/bench/w-{count // 2}"
    extract = common.measure("bulkhead etcd extract", [bulkhead, "etcd", "extract", str(snapshot), wanted], runs=args.runs)
    users = [user_path(bins, snapshot, work, f"{PREFIX}w-{count // 2}") for _ in range(args.runs)]
    user = statistics.median(users)
    common.log(f"etcdutl restore + etcd + etcdctl get: {user:.2f} s")
    mbps = size / 1e6 / inspect.median

    fleet = work / "fleet"
    fleet.mkdir()
    (fleet / "fleet.yaml").write_text(
        "apiVersion: bulkhead.dev/v1alpha1\nkind: Fleet\nmetadata: {name: bench}\nspec:\n  providers:\n"
        f"    - {{name: {c0['provider']}, kind: {c0['providerKind']}, regions: [{{name: {c0['region']}, zones: [{', '.join(c0['zones'])}]}}]}}\n"
        "  clusters:\n"
        f"    - {{name: {c0['name']}, location: {c0['provider']}/{c0['region']}, access: {{kubeconfig: {c0['kubeconfig']}, context: {c0['context']}}},"
        f" controlPlane: {{etcd: {{members: 1, access: {{endpoints: [\"{endpoint}\"]}}}}}}}}\n"
        f"  dr:\n    repositories:\n      - {{name: bench, url: {work / 'repo'}, passwordEnv: BENCH_REPO_PASSWORD}}\n")
    os.environ["BENCH_REPO_PASSWORD"] = "bench-password"
    rpo = watch_rpo(bulkhead, fleet, c0["name"], endpoint, args.rate, args.seconds)
    common.log(f"watch: {rpo}")

    body = f"""Machine: {common.machine()}. A snapshot of {size / (1 << 20):.0f} MiB ({count:,} custom resources of
100 KiB) made in the test environment's etcd (v3.6.16); median of {args.runs} runs. The peak resident memory
of both commands ({inspect.peak_mib:.0f} MiB) is the snapshot file mapped into memory (file pages shared with the
page cache), not heap.

| | time | |
|---|---|---|
| `bulkhead etcd inspect` (every object: revision, size, resource) | {inspect.median:.2f} s | {mbps:.0f} MB/s (goal ≥ 200) |
| `bulkhead etcd extract` of one object | {extract.median:.2f} s | goal < 1 s |
| `etcdutl snapshot restore` + start etcd + `etcdctl get` of it | {user:.2f} s | {user / extract.median:.0f}× the extract |

The watch (`--flush-every 2s`, the default), while etcdload put 200-byte keys for {args.seconds} s
({rpo['rate']:.0f} writes/s reached of {args.rate} asked, {rpo['writes']:,} writes): RPO (etcd's answer →
the segment holding the write reported stored in the repository) median **{rpo['median']:.2f} s**, p99
**{rpo['p99']:.2f} s**, max {rpo['max']:.2f} s; writes never stored: {rpo['lost']}. On 2 cores shared by etcd, the
API server, the writer and the watch, the writer does not reach 5,000 writes/s; the watch kept up with what
it reached.

Rerun: `testenv/testenv run --clusters 1 --no-s3 -- python3 bench/etcd.py --gib {args.gib:g} --rate {args.rate} --seconds {args.seconds}`.
"""
    common.write_section("etcd", body)


if __name__ == "__main__":
    main()
