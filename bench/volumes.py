#!/usr/bin/env python3
"""`bulkhead backup create` of an app with many claims, against the real CSI
snapshot machinery testenv runs (snapshot-controller, csi-snapshotter,
Kubernetes' CSI mock driver).

    testenv/testenv run --clusters 1 --no-s3 --csi -- python3 bench/volumes.py [--claims 20] [--runs 5]

One namespace of cluster 0 gets `--claims` bound claims of the CSI class,
created once and kept for reruns. In the same run, each `--runs` times:

- the peer, the driver's own time: every claim's VolumeSnapshot created at
  once by a bare client (Python's HTTP client, one POST each), then read
  every 50 ms until all are `readyToUse`. What the snapshot machinery takes
  with no backup tool around it;
- `bulkhead backup create` of the namespace into a fresh local repository:
  the whole command, and, from its report, the time from its first snapshot
  until all were ready;
- `bulkhead backup create --no-volume-snapshots`: the same backup of the
  objects alone, so the difference is what the snapshots cost.

Snapshots of a run are deleted before the next. Goal (issue 32): the time
to all snapshots ready within a second of the driver's own time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
from backup import Api  # noqa: E402

NS = "bench-volumes"
PASSWORD = "bench-password"
SNAPSHOTS = "/apis/snapshot.storage.k8s.io/v1/namespaces/" + NS + "/volumesnapshots"


def claims(api: Api, n: int, storage_class: str) -> None:
    """`n` bound claims `data-I` in NS (kept from an earlier run when there)."""
    api.ensure("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    for i in range(n):
        api.ensure(f"/api/v1/namespaces/{NS}/persistentvolumeclaims", {
            "apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": f"data-{i}", "labels": {"app": "bench"}},
            "spec": {"storageClassName": storage_class, "accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": "1Gi"}}}})
    deadline = time.monotonic() + 120
    while True:
        items = api.call("GET", f"/api/v1/namespaces/{NS}/persistentvolumeclaims")["items"]
        bound = [c for c in items if c.get("status", {}).get("phase") == "Bound"]
        if len(bound) >= n:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"only {len(bound)} of {n} claims bound after 120 s")
        time.sleep(0.2)


def delete_snapshots(api: Api) -> None:
    """Deletes every VolumeSnapshot of NS and waits until they are gone."""
    for s in api.call("GET", SNAPSHOTS)["items"]:
        try:
            api.call("DELETE", f"{SNAPSHOTS}/{s['metadata']['name']}")
        except Exception:  # noqa: BLE001 - gone already
            pass
    deadline = time.monotonic() + 120
    while api.call("GET", SNAPSHOTS)["items"]:
        if time.monotonic() > deadline:
            raise SystemExit("VolumeSnapshots of the benchmark did not go within 120 s")
        time.sleep(0.2)


def bare_snapshots(api: Api, n: int, snapshot_class: str, run: int) -> float:
    """Seconds from the first POST until all `n` snapshots are ready."""
    started = time.perf_counter()

    def create(i: int) -> None:
        api.ensure(SNAPSHOTS, {
            "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
            "metadata": {"name": f"bare-{run}-{i}"},
            "spec": {"volumeSnapshotClassName": snapshot_class, "source": {"persistentVolumeClaimName": f"data-{i}"}}})

    with ThreadPoolExecutor(max_workers=min(n, 32)) as pool:
        list(pool.map(create, range(n)))
    while True:
        items = api.call("GET", SNAPSHOTS)["items"]
        if sum(1 for s in items if s.get("status", {}).get("readyToUse")) >= n:
            return time.perf_counter() - started
        if time.perf_counter() - started > 300:
            raise SystemExit("the bare snapshots were not ready within 300 s")
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    state = os.environ.get("BULKHEAD_TESTENV")
    if not state:
        raise SystemExit("run it inside the test environment: "
                         "testenv/testenv run --clusters 1 --no-s3 --csi -- python3 bench/volumes.py")
    env = json.loads((Path(state) / "env.json").read_text())
    c0 = env["clusters"][0]
    csi = c0.get("csi")
    if not csi:
        raise SystemExit("the benchmark needs CSI in the test environment (testenv run --csi)")
    api = Api(c0)
    common.log(f"{args.claims} bound claims of {csi['storageClass']} in {c0['name']}/{NS}")
    claims(api, args.claims, csi["storageClass"])
    bulkhead = str(common.bulkhead_release())

    work = common.WORK / "volumes"
    shutil.rmtree(work, ignore_errors=True)
    (work / "fleet").mkdir(parents=True)
    (work / "fleet" / "fleet.yaml").write_text(
        "apiVersion: bulkhead.dev/v1alpha1\nkind: Fleet\nmetadata: {name: bench}\nspec:\n  providers:\n"
        f"    - {{name: {c0['provider']}, kind: {c0['providerKind']}, regions: [{{name: {c0['region']}, zones: [{', '.join(c0['zones'])}]}}]}}\n"
        "  clusters:\n"
        f"    - {{name: {c0['name']}, location: {c0['provider']}/{c0['region']}, access: {{kubeconfig: {c0['kubeconfig']}, context: {c0['context']}}}}}\n"
        f"  dr:\n    repositories:\n      - {{name: bench, url: {work / 'repo'}, passwordEnv: BENCH_REPO_PASSWORD}}\n")
    os.environ["BENCH_REPO_PASSWORD"] = PASSWORD
    backup_cmd = [bulkhead, "backup", "create", "--cluster", c0["name"], "--namespace", NS, "--output", "json",
                  str(work / "fleet")]

    bare, whole, ready, objects_only, peak = [], [], [], [], 0.0
    delete_snapshots(api)
    for run in range(args.runs):
        bare.append(bare_snapshots(api, args.claims, csi["snapshotClass"], run))
        common.log(f"run {run + 1}: bare snapshots ready in {bare[-1]:.2f} s")
        delete_snapshots(api)

        shutil.rmtree(work / "repo", ignore_errors=True)
        started = time.perf_counter()
        proc = subprocess.Popen(backup_cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = proc.communicate()
        whole.append(time.perf_counter() - started)
        if proc.returncode != 0:
            raise SystemExit(f"bulkhead backup create exited {proc.returncode}:\n{err.decode()[-2000:]}")
        report = json.loads(out)["backups"][0]
        taken = [v["snapshot"]["seconds"] for v in report["volumes"] if v.get("snapshot")]
        if len(taken) != args.claims:
            raise SystemExit(f"the backup took {len(taken)} snapshots of {args.claims} claims: {report['volumes']}")
        ready.append(max(taken))
        common.log(f"run {run + 1}: bulkhead backup {whole[-1]:.2f} s, its snapshots ready in {ready[-1]:.2f} s")
        delete_snapshots(api)

        shutil.rmtree(work / "repo", ignore_errors=True)
        t = common.measure("bulkhead backup create --no-volume-snapshots", backup_cmd + ["--no-volume-snapshots"],
                           runs=1, warmup=0)
        objects_only.append(t.seconds[0])
        peak = max(peak, t.peak_mib)

    med = statistics.median
    rng = lambda xs: f"{min(xs):.2f}–{max(xs):.2f} s"  # noqa: E731
    n = args.claims
    body = f"""## Volume snapshots in a backup (`bench/volumes.py`)

One namespace with {n} bound claims of the CSI class of the test environment (Kubernetes' CSI mock driver
with the real snapshot-controller and csi-snapshotter, all on one machine). Median of {args.runs} runs; the
snapshots of each run are deleted before the next. Machine: {common.machine()}; the API server, etcd, the
CSI processes and the benchmark share it. Run of {time.strftime('%Y-%m-%d')}.

| run | median | range | note |
|---|---|---|---|
| bare client: {n} VolumeSnapshots created at once, read every 50 ms until all ready | {med(bare):.2f} s | {rng(bare)} | the driver's own time, the reference |
| `bulkhead backup create`: first snapshot created to all ready (its report) | {med(ready):.2f} s | {rng(ready)} | {med(ready) - med(bare):+.2f} s against the reference |
| `bulkhead backup create`, whole command | {med(whole):.2f} s | {rng(whole)} | snapshots, their handles recorded, the objects written |
| `bulkhead backup create --no-volume-snapshots`, whole command | {med(objects_only):.2f} s | {rng(objects_only)} | the objects alone; peak {peak:.0f} MiB |

Goal (issue 32): all snapshots ready within a second of the driver's own time. Bulkhead reads each
snapshot every 500 ms, which is most of the difference. Both are slow for the same reason: the
snapshot-controller and csi-snapshotter run with client-go's default client-side rate limits, and
their logs show each of them waiting 1–2 s per request under 20 snapshots ("client-side throttling").
Rerun: `testenv/testenv run --clusters 1 --no-s3 --csi -- python3 bench/volumes.py --claims {n} --runs {args.runs}`.
"""
    print(body)
    common.write_section("volumes", body)


if __name__ == "__main__":
    main()
