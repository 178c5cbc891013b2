#!/usr/bin/env python3
"""`bulkhead drill run`: the measured RTO of a 1,000-object app.

    testenv/testenv run --clusters 2 --no-s3 -- python3 bench/drill.py [--objects 1000] [--runs 5]

Cluster 0 gets an app of `--objects` objects in one namespace (the mix of
bench/backup.py: ConfigMaps, Secrets, Services, Deployments of 0 replicas,
custom resources), backed up once. Each run is a whole drill into cluster
1: restore into a scratch namespace, wait for the workloads, compare every
object field by field, remove the namespace, record the result; the RTO is
the drill's own measurement (start to verified). In the same run, the
reference: a bare parallel create loop (16 at once) of the same objects into
an empty namespace of cluster 1, which restores without ordering, waiting or
verifying. Goal from issue 16: a figure, median of 5, in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import backup  # noqa: E402  (its Api, object mix and create loop)
import common  # noqa: E402

NS = "bench-drill"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    state = os.environ.get("BULKHEAD_TESTENV")
    if not state:
        raise SystemExit("run it inside the test environment: testenv/testenv run --clusters 2 --no-s3 -- python3 bench/drill.py")
    env = json.loads((Path(state) / "env.json").read_text())
    if len(env["clusters"]) < 2:
        raise SystemExit("the benchmark needs two clusters (--clusters 2)")
    c0, c1 = env["clusters"][0], env["clusters"][1]
    source, target = backup.Api(c0), backup.Api(c1)
    items = backup.objects(args.objects)
    common.log(f"loading {args.objects} objects into {c0['name']}/{NS}")
    backup.create_all(source, NS, items, parallel=16)
    bulkhead = str(common.bulkhead_release())

    work = common.WORK / "drill"
    shutil.rmtree(work, ignore_errors=True)
    (work / "fleet" / "apps" / "bench").mkdir(parents=True)
    fleet = work / "fleet"
    (fleet / "fleet.yaml").write_text(
        "apiVersion: bulkhead.dev/v1alpha1\nkind: Fleet\nmetadata: {name: bench}\nspec:\n  providers:\n"
        + "".join(f"    - {{name: {c['provider']}, kind: {c['providerKind']}, regions: [{{name: {c['region']}, zones: [{', '.join(c['zones'])}]}}]}}\n" for c in (c0, c1))
        + "  clusters:\n"
        + "".join(f"    - {{name: {c['name']}, location: {c['provider']}/{c['region']}, access: {{kubeconfig: {c['kubeconfig']}, context: {c['context']}}}}}\n" for c in (c0, c1))
        + f"  apps:\n    - {{name: bench, manifests: apps/bench, namespace: {NS}, placement: {{clusters: {{names: [{c0['name']}]}}}}, sla: {{tier: 1, rto: 15m, rpo: 1h}}, backup: {{policy: hourly}}}}\n"
        + f"  dr:\n    repositories:\n      - {{name: bench, url: {work / 'repo'}, passwordEnv: BENCH_REPO_PASSWORD}}\n"
        + "    policies:\n      - {name: hourly, schedule: \"0 * * * *\", repository: bench}\n")
    os.environ["BENCH_REPO_PASSWORD"] = backup.PASSWORD
    subprocess.run([bulkhead, "backup", "create", "--app", "bench", str(fleet)], check=True, capture_output=True)

    rtos, walls, loops, verified = [], [], [], 0
    for i in range(args.runs):
        ns = f"bench-drill-loop-{i}"
        backup.delete_namespace(target, ns)
        loops.append(backup.create_all(target, ns, items, parallel=16))
        backup.delete_namespace(target, ns)
        t = common.measure("bulkhead drill run", [bulkhead, "drill", "run", "--app", "bench", "--from", c0["name"],
                                                  "--to", c1["name"], "--output", "json", str(fleet)], runs=1, warmup=0)
        out = subprocess.run([bulkhead, "drill", "history", "--app", "bench", "--output", "json", str(fleet)],
                             check=True, capture_output=True, text=True)
        last = json.loads(out.stdout)["drills"][-1]
        if not last["passed"]:
            raise SystemExit(f"drill {i} failed: {last['problems']}")
        rtos.append(last["rtoSeconds"])
        walls.append(t.seconds[0])
        verified = sum(last["objects"].values())
        common.log(f"run {i}: create loop {loops[-1]:.1f} s, drill RTO {rtos[-1]:.1f} s ({walls[-1]:.1f} s whole)")

    rto, loop, wall = statistics.median(rtos), statistics.median(loops), statistics.median(walls)
    body = f"""## Drill RTO (`bench/drill.py`)

An app of {args.objects:,} objects (the mix of bench/backup.py) backed up from cluster 0 and drilled into
cluster 1 of the test environment; median of {args.runs} runs. Machine: {common.machine()}; the API servers,
etcd and the benchmark share it.

| run | median | note |
|---|---|---|
| bare create loop (Python, 16 at once) into an empty namespace | {loop:.1f} s | the reference: writes only |
| `bulkhead drill run`: measured RTO (start to verified) | {rto:.1f} s | restore in order, wait for workloads, {verified:,} objects compared field by field |
| `bulkhead drill run`, whole command | {wall:.1f} s | plus removing the scratch namespace and recording the result |

Rerun: `testenv/testenv run --clusters 2 --no-s3 -- python3 bench/drill.py --objects {args.objects} --runs {args.runs}`.
"""
    common.write_section("drill", body)


if __name__ == "__main__":
    main()
