#!/usr/bin/env python3
"""`bulkhead blast` on a large fleet, and with pairs of failures on the example.

    python3 bench/blast.py [--clusters 50] [--nodes-per-cluster 400] [--apps 5000] [--replicas 100] [--runs 5]

Single failures: a fleet of 50 clusters over 10 regions of 3 zones (a
third of them bare-metal sites with racks), 400 nodes each (20,000 nodes in
pools of several sizes, some tainted), and 5,000 Deployments and
StatefulSets of 100 replicas (500,000 pods) placed one per cluster, with
the spread rules, budgets and volumes real apps have. Every provider,
region, zone, rack, cluster and node group is failed in turn, against every
app and control plane; the whole command is timed, reading and validating
the fleet included. No other tool computes this (AWS Resilience Hub does
for one cloud, as a service), so there is no peer to run beside it; the
reference is `bulkhead validate` on the same fleet: the floor any analysis
of it pays. Pairs: `--depth 2` on examples/multicloud.

Edge: 10,000 clusters of one site each (retail and telco fleets run
thousands), a point-of-sale app on each store's cluster and an agent on
every cluster; `blast` and `check` on it.

Goals from issue 6: single failures in under 5 s and 2 GiB; depth 2 on the
example in under 1 s. From issue 13: the edge fleet's `blast` under 10 s and
1 GiB, its `check` under 15 s.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402


def generate(out: Path, clusters: int, nodes: int, apps: int, replicas: int, seed: int = 5) -> int:
    rng = random.Random(seed)
    if out.exists():
        shutil.rmtree(out)
    (out / "apps").mkdir(parents=True)
    regions = [(f"cloud{r % 2}", f"region-{r}", [f"region-{r}-{z}" for z in "abc"]) for r in range(7)]
    sites = [("metal", f"site-{s}", [f"site-{s}"]) for s in range(3)]
    providers = {}
    for p, r, zones in regions + sites:
        providers.setdefault(p, []).append((r, zones))
    prov = []
    for p, rs in providers.items():
        kind = "bare-metal" if p == "metal" else "aws"
        prov.append(f"    - name: {p}\n      kind: {kind}\n      regions:")
        for r, zones in rs:
            racks = ", racks: [r1, r2, r3, r4]" if p == "metal" else ""
            prov.append(f"        - {{name: {r}, zones: [{', '.join(zones)}]{racks}}}")
    cl = []
    places = regions + sites
    for i in range(clusters):
        p, r, _ = places[i % len(places)]
        storage = "local, accessModes: [ReadWriteOnce], topology: node" if p == "metal" else "gp3, accessModes: [ReadWriteOnce], topology: zone"
        control = "{etcd: {members: 3}}" if p == "metal" else "{managed: true}"
        general, db = nodes - nodes // 10, nodes // 10
        cl.append(f"""    - name: c{i:03d}
      location: {p}/{r}
      controlPlane: {control}
      storageClasses: [{{name: {storage}, default: true}}]
      nodePools:
        - {{name: general, count: {general}}}
        - {{name: db, count: {db}, labels: {{pool: db}}, taints: ["dedicated=db:NoSchedule"]}}
      labels: {{shard: s{i}}}""")
    app_lines = []
    for a in range(apps):
        name = f"app-{a:05d}"
        cluster = a % clusters
        tier = rng.choice([1, 2, 3])
        app_lines.append(f"""    - name: {name}
      manifests: apps/{name}
      namespace: {name}
      placement: {{clusters: {{labels: {{shard: s{cluster}}}}}}}
      sla: {{tier: {tier}, rto: 15m}}""")
        d = out / "apps" / name
        d.mkdir()
        stateful = a % 10 == 0
        spread = rng.random() < 0.6
        spread_text = f"""      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: topology.kubernetes.io/zone
          whenUnsatisfiable: {rng.choice(["DoNotSchedule", "ScheduleAnyway"])}
          labelSelector:
            matchLabels: {{app: {name}}}
""" if spread else ""
        db = "      nodeSelector: {pool: db}\n      tolerations:\n        - {key: dedicated, operator: Equal, value: db, effect: NoSchedule}\n" if stateful else ""
        claims = "  volumeClaimTemplates:\n    - metadata: {name: data}\n      spec:\n        accessModes: [ReadWriteOnce]\n        resources:\n          requests: {storage: 10Gi}\n" if stateful else ""
        kind = "StatefulSet" if stateful else "Deployment"
        service = f"  serviceName: {name}\n" if stateful else ""
        reps = 3 if stateful else replicas
        (d / "workload.yaml").write_text(f"""apiVersion: apps/v1
kind: {kind}
metadata: {{name: {name}}}
spec:
{service}  replicas: {reps}
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
{db}{spread_text}      containers:
        - name: main
          image: registry.example.com/{name}:1.0.0
{claims}""")
        (d / "pdb.yaml").write_text(f"""apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {{name: {name}}}
spec:
  maxUnavailable: {rng.choice([1, "10%", "25%"])}
  selector:
    matchLabels: {{app: {name}}}
""")
    (out / "fleet.yaml").write_text(f"""apiVersion: bulkhead.dev/v1alpha1
kind: Fleet
metadata: {{name: blast-bench}}
spec:
  providers:
{chr(10).join(prov)}
  clusters:
{chr(10).join(cl)}
  apps:
{chr(10).join(app_lines)}
""")
    return sum(3 if a % 10 == 0 else replicas for a in range(apps))


def generate_edge(out: Path, clusters: int) -> None:
    """An edge fleet: one small bare-metal cluster per store, a point-of-sale
    app on each store's own cluster, and one agent app placed on every
    cluster (the case whose cost grew with the square of the clusters)."""
    if out.exists():
        shutil.rmtree(out)
    (out / "apps" / "pos").mkdir(parents=True)
    (out / "apps" / "agent").mkdir(parents=True)
    for app, replicas in (("pos", 2), ("agent", 1)):
        (out / "apps" / app / "deployment.yaml").write_text(f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: {app}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: {app}}}}}
  template:
    metadata: {{labels: {{app: {app}}}}}
    spec:
      containers: [{{name: main, image: registry.example.com/{app}:1.0.0}}]
""")
    regions = "\n".join(f"        - {{name: store-{i:05d}, zones: [store-{i:05d}], racks: [r1]}}" for i in range(clusters))
    cl = "\n".join(f"""    - name: s{i:05d}
      location: stores/store-{i:05d}
      controlPlane: {{etcd: {{members: 1}}}}
      nodePools: [{{name: edge, count: 3}}]
      labels: {{store: s{i:05d}}}""" for i in range(clusters))
    apps = "\n".join(f"""    - name: pos-{i:05d}
      manifests: apps/pos
      namespace: pos
      placement: {{clusters: {{labels: {{store: s{i:05d}}}}}}}
      sla: {{tier: 2, rto: 30m}}""" for i in range(clusters))
    (out / "fleet.yaml").write_text(f"""apiVersion: bulkhead.dev/v1alpha1
kind: Fleet
metadata: {{name: edge-bench}}
spec:
  providers:
    - name: stores
      kind: bare-metal
      regions:
{regions}
  clusters:
{cl}
  apps:
    - name: agent
      manifests: apps/agent
      namespace: agent
      placement: {{clusters: {{}}}}
      sla: {{tier: 3}}
{apps}
""")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clusters", type=int, default=50)
    p.add_argument("--nodes-per-cluster", type=int, default=400)
    p.add_argument("--apps", type=int, default=5000)
    p.add_argument("--replicas", type=int, default=111, help="per Deployment; StatefulSets run 3 (default: 500,000 pods in all)")
    p.add_argument("--edge-clusters", type=int, default=10_000)
    p.add_argument("--runs", type=int, default=5)
    a = p.parse_args()
    bulkhead = common.bulkhead_release()
    fleet = common.WORK / "blast-fleet"
    pods = generate(fleet, a.clusters, a.nodes_per_cluster, a.apps, a.replicas)
    nodes = a.clusters * a.nodes_per_cluster
    single = common.measure("blast, single failures", [str(bulkhead), "blast", str(fleet), "-o", "json", "--fail-on", "provider"],
                            a.runs, ok_codes=(0, 1))
    floor = common.measure("validate, same fleet", [str(bulkhead), "validate", str(fleet), "-o", "json"], a.runs)
    edge = common.WORK / "edge-fleet"
    generate_edge(edge, a.edge_clusters)
    edge_blast = common.measure("blast, edge fleet", [str(bulkhead), "blast", str(edge), "-o", "json"], a.runs,
                                ok_codes=(0, 1))
    edge_check = common.measure("check, edge fleet", [str(bulkhead), "check", str(edge), "-o", "json"], a.runs,
                                ok_codes=(0, 1))
    example = common.ROOT / "examples" / "multicloud"
    pairs = common.measure("blast --depth 2, example", [str(bulkhead), "blast", str(example), "--depth", "2", "-o", "json"],
                           a.runs, ok_codes=(0, 1))
    body = f"""## Blast radius (`bench/blast.py`)

{a.clusters} clusters, {nodes:,} nodes (in pools placed over zones and racks), {a.apps:,} apps with {pods:,} pods,
generated by the script; every single failure domain against every app and control plane. Median of {a.runs} runs
after one warm-up, whole commands. Machine: {common.machine()}.

| run | median | range | peak memory | goal |
|---|---|---|---|---|
| `blast`, single failures, {a.clusters} clusters / {nodes:,} nodes / {pods:,} pods | {single.median:.2f} s | {min(single.seconds):.2f}–{max(single.seconds):.2f} s | {single.peak_mib:.0f} MiB | < 5 s, < 2 GiB |
| reference: `validate` on the same fleet (reading it is the floor) | {floor.median:.2f} s | {min(floor.seconds):.2f}–{max(floor.seconds):.2f} s | {floor.peak_mib:.0f} MiB | |
| `blast`, edge fleet: {a.edge_clusters:,} one-site clusters, an app on each and one on all | {edge_blast.median:.2f} s | {min(edge_blast.seconds):.2f}–{max(edge_blast.seconds):.2f} s | {edge_blast.peak_mib:.0f} MiB | < 10 s, < 1 GiB |
| `check`, the same edge fleet (validate, net, audit, blast) | {edge_check.median:.2f} s | {min(edge_check.seconds):.2f}–{max(edge_check.seconds):.2f} s | {edge_check.peak_mib:.0f} MiB | < 15 s |
| `blast --depth 2` on examples/multicloud (every pair of domains) | {pairs.median:.3f} s | {min(pairs.seconds):.3f}–{max(pairs.seconds):.3f} s | {pairs.peak_mib:.0f} MiB | < 1 s |

Statically, the nodes of a pool in one zone (or rack) fail alike in the worst case, so they are one row of the
matrix, standing for all of them; `--live` has a row per real node. No peer computes this analysis, so none
runs beside it. Rerun: `python3 bench/blast.py`.
"""
    common.write_section("blast", body)


if __name__ == "__main__":
    main()
