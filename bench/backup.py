#!/usr/bin/env python3
"""`bulkhead backup` and `bulkhead restore` against a loaded test-environment cluster.

    testenv/testenv run --clusters 2 --no-s3 -- python3 bench/backup.py [--objects 50000] [--runs 3]

Cluster 0 gets `--objects` objects in one namespace (40% ConfigMaps, 20%
Secrets, 10% headless Services, 10% Deployments of 0 replicas, 20% custom
resources), created once and kept for reruns. In the same run:

- the peer for reading: a bare paginated LIST of the same objects
  (`kubectl get … --chunk-size=500 -o name`), what the API server gives a
  plain client;
- `bulkhead backup create` of the namespace into a fresh local repository
  (goal: at least 90% of the bare LIST's objects/s, under 500 MiB);
- a second backup of the unchanged namespace (goal: under 1% new data);
- the peer for writing: a bare parallel create loop (16 at once, Python's
  HTTP client) of the same objects into an empty namespace of cluster 1;
- `bulkhead restore` of the snapshot into another empty namespace of
  cluster 1 (goal: at least 80% of the create loop's objects/s, under 500 MiB).

Goals from issue 14. Whole commands are timed, median of `--runs`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

NS = "bench-backup"
GROUP = "bench.bulkhead.dev"
PASSWORD = "bench-password"


class Api:
    """The few calls the benchmark makes, with the cluster's admin certificate."""

    def __init__(self, cluster: dict):
        self.server = cluster["server"]
        self.ctx = ssl.create_default_context(cafile=cluster["ca"])
        self.ctx.load_cert_chain(cluster["clientCert"], cluster["clientKey"])

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.server + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, context=self.ctx, timeout=60) as resp:
            return json.load(resp)

    def ensure(self, path: str, body: dict) -> None:
        # A loaded API server answers 429 or 500 ("etcdserver: request timed
        # out") now and then; a client retries those, a few times.
        for attempt in range(8):
            try:
                self.call("POST", path, body)
                return
            except urllib.error.HTTPError as e:
                if e.code == 409:  # already there: kept from an earlier run
                    return
                if e.code not in (429, 500, 503, 504) or attempt == 7:
                    raise SystemExit(f"POST {path}: {e.code} {e.read().decode(errors='replace')[:500]}") from e
            time.sleep(0.5 * (attempt + 1))


def objects(n: int) -> list[tuple[str, dict]]:
    """(collection path, object) for n objects of the mix."""
    out = []
    for i in range(n):
        kind = i % 10
        name = f"o{i:06d}"
        if kind < 4:
            out.append((f"/api/v1/namespaces/{{ns}}/configmaps", {
                "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": {"app": f"a{i % 50}"}},
                "data": {"config.yaml": f"replicas: {i % 7}\nmode: fast\nowner: team-{i % 13}\n", "enabled": "yes"}}))
        elif kind < 6:
            out.append((f"/api/v1/namespaces/{{ns}}/secrets", {
                "apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
                "stringData": {"password": f"secret-{i}", "user": f"user-{i % 100}"}}))
        elif kind < 7:
            out.append((f"/api/v1/namespaces/{{ns}}/services", {
                "apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
                # Headless: a test cluster's /20 Service range holds 4,094 addresses.
                "spec": {"clusterIP": "None", "selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]}}))
        elif kind < 8:
            out.append((f"/apis/apps/v1/namespaces/{{ns}}/deployments", {
                "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
                "spec": {"replicas": 0, "selector": {"matchLabels": {"app": name}},
                         "template": {"metadata": {"labels": {"app": name}},
                                      "spec": {"containers": [{"name": "app", "image": f"registry.example.com/{name}:1"}]}}}}))
        else:
            out.append((f"/apis/{GROUP}/v1/namespaces/{{ns}}/widgets", {
                "apiVersion": f"{GROUP}/v1", "kind": "Widget", "metadata": {"name": name}, "spec": {"size": i % 9}}))
    return out


CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": f"widgets.{GROUP}"},
    "spec": {"group": GROUP, "scope": "Namespaced",
             "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
             "versions": [{"name": "v1", "served": True, "storage": True,
                           "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]},
}


def create_all(api: Api, ns: str, items: list[tuple[str, dict]], parallel: int = 16) -> float:
    """Creates every object (409 tolerated); returns the seconds it took."""
    api.ensure("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    api.ensure("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", CRD)
    for _ in range(100):  # served a moment after it is created
        try:
            api.call("GET", f"/apis/{GROUP}/v1/namespaces/{ns}/widgets?limit=1")
            break
        except urllib.error.HTTPError:
            time.sleep(0.1)
    start = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        list(pool.map(lambda it: api.ensure(it[0].format(ns=ns), it[1]), items))
    return time.perf_counter() - start


def delete_namespace(api: Api, ns: str) -> None:
    try:
        api.call("DELETE", f"/api/v1/namespaces/{ns}")
    except urllib.error.HTTPError:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    state = os.environ.get("BULKHEAD_TESTENV")
    if not state:
        raise SystemExit("run it inside the test environment: testenv/testenv run --clusters 2 --no-s3 -- python3 bench/backup.py")
    env = json.loads((Path(state) / "env.json").read_text())
    if len(env["clusters"]) < 2:
        raise SystemExit("the benchmark needs two clusters (--clusters 2)")
    c0, c1 = env["clusters"][0], env["clusters"][1]
    source, target = Api(c0), Api(c1)
    items = objects(args.objects)
    common.log(f"loading {args.objects} objects into {c0['name']}/{NS} (kept for reruns)")
    load = create_all(source, NS, items, parallel=32)
    common.log(f"loaded in {load:.1f} s")
    bulkhead = str(common.bulkhead_release())

    work = common.WORK / "backup"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    fleet = work / "fleet"
    fleet.mkdir()
    (fleet / "fleet.yaml").write_text(
        "apiVersion: bulkhead.dev/v1alpha1\nkind: Fleet\nmetadata: {name: bench}\nspec:\n  providers:\n"
        + "".join(f"    - {{name: {c['provider']}, kind: {c['providerKind']}, regions: [{{name: {c['region']}, zones: [{', '.join(c['zones'])}]}}]}}\n" for c in (c0, c1))
        + "  clusters:\n"
        + "".join(f"    - {{name: {c['name']}, location: {c['provider']}/{c['region']}, access: {{kubeconfig: {c['kubeconfig']}, context: {c['context']}}}}}\n" for c in (c0, c1))
        + f"  dr:\n    repositories:\n      - {{name: bench, url: {work / 'repo'}, passwordEnv: BENCH_REPO_PASSWORD}}\n")
    os.environ["BENCH_REPO_PASSWORD"] = PASSWORD
    kubeconfig = c0["kubeconfig"]
    resources = f"configmaps,secrets,services,deployments.apps,widgets.{GROUP}"
    lst = common.measure("bare paginated LIST (kubectl, chunks of 500)",
                         ["kubectl", "--kubeconfig", kubeconfig, "--context", c0["context"], "get", resources,
                          "-n", NS, "--chunk-size=500", "-o", "name"], runs=args.runs)

    def fresh_repo() -> None:
        shutil.rmtree(work / "repo", ignore_errors=True)

    backup_cmd = [bulkhead, "backup", "create", "--cluster", c0["name"], "--namespace", NS, "--output", "json", str(fleet)]
    times, peak = [], 0.0
    for _ in range(args.runs):
        fresh_repo()
        t = common.measure("bulkhead backup create (fresh repository)", backup_cmd, runs=1, warmup=0)
        times.append(t.seconds[0])
        peak = max(peak, t.peak_mib)
    backup = common.Timing("bulkhead backup create (fresh repository)", times, peak, [0] * len(times))
    # The repository holds the last run's snapshot: back the unchanged namespace up again.
    second = subprocess.run(backup_cmd, capture_output=True, text=True, check=True)
    snap = json.loads(second.stdout)["backups"][0]["snapshot"]
    added = snap["added"] / max(snap["bytes"], 1) * 100
    common.log(f"second backup: {snap['added']} new bytes of {snap['bytes']} ({added:.2f}%)")

    # Writing: a bare create loop, then Bulkhead's restore, each into an empty namespace.
    loops, restores, rpeak = [], [], 0.0
    for i in range(args.runs):
        ns = f"bench-create-{i}"
        delete_namespace(target, ns)
        loops.append(create_all(target, ns, items, parallel=16))
        common.log(f"create loop {i}: {loops[-1]:.1f} s")
        delete_namespace(target, ns)
        ns = f"bench-restore-{i}"
        delete_namespace(target, ns)
        t = common.measure("bulkhead restore", [bulkhead, "restore", "--from", "latest", "--to", c1["name"],
                                                "--namespace", NS, "--namespace-map", f"{NS}={ns}", str(fleet)],
                           runs=1, warmup=0)
        restores.append(t.seconds[0])
        rpeak = max(rpeak, t.peak_mib)
        delete_namespace(target, ns)
    loop = common.Timing("bare create loop (16 at once)", loops, 0, [0] * len(loops))
    restore = common.Timing("bulkhead restore", restores, rpeak, [0] * len(restores))

    n = args.objects
    rate = lambda t: n / t.median  # noqa: E731
    body = f"""## Backup and restore (`bench/backup.py`)

{n:,} objects in one namespace of a test-environment cluster (40% ConfigMaps, 20% Secrets, 10% headless Services,
10% Deployments, 20% custom resources). Median of {args.runs} runs, whole commands. Machine: {common.machine()};
the API servers, etcd and the benchmark share it.

| run | median | objects/s | peak memory | goal |
|---|---|---|---|---|
| bare paginated LIST (`kubectl get … --chunk-size=500 -o name`) | {lst.median:.2f} s | {rate(lst):,.0f} | {lst.peak_mib:.0f} MiB | the reference |
| `bulkhead backup create` (fresh repository) | {backup.median:.2f} s | {rate(backup):,.0f} ({rate(backup) / rate(lst) * 100:.0f}% of the LIST) | {backup.peak_mib:.0f} MiB | ≥ 90%, < 500 MiB |
| second backup, nothing changed | | | | new data {added:.2f}% of {snap['bytes']:,} bytes (goal < 1%) |
| bare create loop (Python, 16 at once) into an empty namespace | {loop.median:.2f} s | {rate(loop):,.0f} | | the reference |
| `bulkhead restore` into an empty namespace | {restore.median:.2f} s | {rate(restore):,.0f} ({rate(restore) / rate(loop) * 100:.0f}% of the loop) | {restore.peak_mib:.0f} MiB | ≥ 80%, < 500 MiB |

Rerun: `testenv/testenv run --clusters 2 --no-s3 -- python3 bench/backup.py --objects {n} --runs {args.runs}`.
"""
    common.write_section("backup", body)


if __name__ == "__main__":
    main()
