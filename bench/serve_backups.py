#!/usr/bin/env python3
"""Backups of several clusters through `bulkhead serve`, beside the same
backups one after another with the CLI.

    testenv/testenv run --no-s3 -- python3 bench/serve_backups.py [--apps-per-cluster 4] [--objects 1000] [--runs 3]

Each of the test environment's clusters (three by default) gets
`--apps-per-cluster` apps, each a namespace of `--objects` objects of
bench/backup.py's mix, created once and kept for reruns. The fleet backs
every app up by one policy into one local repository. In the same run:

- the peer: `bulkhead backup create --cluster C --app A` for each
  (cluster, app), one after another, into a fresh repository: what a cron
  job running the CLI does;
- `bulkhead serve --standalone` on the same fleet, into a fresh repository,
  timed from its start until `/metrics` counts every backup succeeded, with
  `--per-cluster 2` and `--per-repository` as large as the backups.

The goal from issue 30: serve is bounded only by the per-cluster limits,
so with C clusters its time approaches the sequential time divided by
min(C × per-cluster, the cores the backups can use). Median of `--runs`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import backup  # noqa: E402
import common  # noqa: E402

PASSWORD = "bench-password"


def fleet_yaml(clusters: list[dict], apps: list[tuple[str, str]], repo: Path) -> str:
    providers = "".join(
        f"    - {{name: {c['provider']}, kind: {c['providerKind']}, regions: [{{name: {c['region']}, zones: [{', '.join(c['zones'])}]}}]}}\n"
        for c in clusters)
    cluster_text = "".join(
        f"    - {{name: {c['name']}, location: {c['provider']}/{c['region']}, access: {{kubeconfig: {c['kubeconfig']}, context: {c['context']}}}}}\n"
        for c in clusters)
    app_text = "".join(
        f"    - {{name: {app}, manifests: apps/{app}, namespace: {app}, placement: {{clusters: {{names: [{cluster}]}}}}, backup: {{policy: bench}}}}\n"
        for cluster, app in apps)
    return ("apiVersion: bulkhead.dev/v1alpha1\nkind: Fleet\nmetadata: {name: bench}\nspec:\n"
            f"  providers:\n{providers}  clusters:\n{cluster_text}  apps:\n{app_text}"
            f"  dr:\n    repositories:\n      - {{name: bench, url: {repo}, passwordEnv: BENCH_REPO_PASSWORD}}\n"
            "    policies:\n      - {name: bench, schedule: \"0 0 1 1 *\", repository: bench, keep: {last: 1000}}\n")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def succeeded(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return 0
    m = re.search(r'^bulkhead_job_runs_total\{kind="backup",outcome="succeeded"\} (\S+)$', text, re.M)
    failed = re.search(r'^bulkhead_job_runs_total\{kind="backup",outcome="(failed|timed-out)"\} (\S+)$', text, re.M)
    if failed:
        raise SystemExit(f"a backup under serve did not succeed:\n{text[-3000:]}")
    return int(float(m.group(1))) if m else 0


def serve_once(bulkhead: str, fleet: Path, work: Path, total: int, per_cluster: int) -> float:
    shutil.rmtree(work / "repo", ignore_errors=True)
    shutil.rmtree(work / "state", ignore_errors=True)
    port = free_port()
    start = time.perf_counter()
    proc = subprocess.Popen([bulkhead, "serve", "--standalone", "--state", str(work / "state"), "--listen", f"127.0.0.1:{port}",
                             "--jitter", "0s", "--drift-every", "0", "--check-every", "0",
                             "--per-cluster", str(per_cluster), "--per-repository", str(min(64, max(total, 1))),
                             "--for", "1800s", str(fleet)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while succeeded(port) < total:
            if proc.poll() is not None:
                raise SystemExit(f"serve exited {proc.returncode}: {proc.stderr.read().decode()[-2000:]}")
            time.sleep(0.1)
        return time.perf_counter() - start
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def sequential_once(bulkhead: str, fleet: Path, work: Path, apps: list[tuple[str, str]]) -> float:
    shutil.rmtree(work / "repo", ignore_errors=True)
    start = time.perf_counter()
    for cluster, app in apps:
        subprocess.run([bulkhead, "backup", "create", "--cluster", cluster, "--app", app, str(fleet)],
                       check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--apps-per-cluster", type=int, default=4)
    p.add_argument("--objects", type=int, default=1000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--per-cluster", type=int, default=2)
    a = p.parse_args()
    state = os.environ.get("BULKHEAD_TESTENV")
    if not state:
        raise SystemExit("run it inside the test environment: testenv/testenv run --no-s3 -- python3 bench/serve_backups.py")
    clusters = json.loads((Path(state) / "env.json").read_text())["clusters"]
    items = backup.objects(a.objects)
    apps = []
    for c in clusters:
        api = backup.Api(c)
        for i in range(a.apps_per_cluster):
            ns = f"bench-serve-{i}"
            common.log(f"loading {a.objects} objects into {c['name']}/{ns} (kept for reruns)")
            backup.create_all(api, ns, items, parallel=32)
            apps.append((c["name"], ns))
    # App names are unique in a fleet: one per (cluster, namespace).
    named = [(cluster, f"{ns}-{i}") for i, (cluster, ns) in enumerate(apps)]
    work = common.WORK / "serve-backups"
    shutil.rmtree(work, ignore_errors=True)
    fleet = work / "fleet"
    for _, app in named:
        (fleet / "apps" / app).mkdir(parents=True)
    text = fleet_yaml(clusters, named, work / "repo")
    for (cluster, ns), (_, app) in zip(apps, named):
        text = text.replace(f"namespace: {app},", f"namespace: {ns},")
    (fleet / "fleet.yaml").write_text(text)
    os.environ["BENCH_REPO_PASSWORD"] = PASSWORD
    bulkhead = str(common.bulkhead_release())
    total = len(named)
    seq, srv = [], []
    for run in range(a.runs):
        seq.append(sequential_once(bulkhead, fleet, work, named))
        common.log(f"run {run + 1}: {total} backups one after another: {seq[-1]:.1f} s")
        srv.append(serve_once(bulkhead, fleet, work, total, a.per_cluster))
        common.log(f"run {run + 1}: {total} backups through serve: {srv[-1]:.1f} s")
    s, v = statistics.median(seq), statistics.median(srv)
    body = f"""## Backups through `serve` against the CLI one after another (`bench/serve_backups.py`)

{len(clusters)} test-environment clusters, {a.apps_per_cluster} apps each ({total} backups), each app a namespace of
{a.objects:,} objects (bench/backup.py's mix), into one local repository. Median of {a.runs} runs, each
into a fresh repository. Machine: {common.machine()}.

| how | median | range | backups/s |
|---|---|---|---|
| `bulkhead backup create --cluster --app`, one after another (the peer) | {s:.1f} s | {min(seq):.1f}–{max(seq):.1f} s | {total / s:.2f} |
| `bulkhead serve --standalone --per-cluster {a.per_cluster}`, start to the last success | {v:.1f} s | {min(srv):.1f}–{max(srv):.1f} s | {total / v:.2f} |

serve takes {v / s:.2f}× the sequential time with up to {len(clusters) * a.per_cluster} backups at once
({len(clusters)} clusters × {a.per_cluster}); on {os.cpu_count()} cores the backups share the processors
with the clusters' own API servers, which bounds the gain more than the limits do.
Rerun: `testenv/testenv run --no-s3 -- python3 bench/serve_backups.py`.
"""
    common.write_section("serve-backups", body)


if __name__ == "__main__":
    main()
