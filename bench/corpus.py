#!/usr/bin/env python3
"""Generates a large, realistic fleet for benchmarks and corpus tests.

    bench/corpus.py OUT_DIR [--clusters 200] [--apps 1000] [--seed 1]

Clusters are spread over AWS, GCP and Azure regions with three zones and
bare-metal sites with three racks, in the proportions of examples/multicloud.
Each app gets the objects people really deploy (a Deployment or StatefulSet,
its Service, and in varying proportion an HPA, a PDB, a ConfigMap, an
Ingress, a CronJob), written from templates with realistic variation: some
are hardened, some fragile (no probes, one replica, `latest` tags, no PDB),
so audits have real findings. The output is deterministic for a seed.

Only the standard library: it writes YAML by hand from plain templates.
"""

from __future__ import annotations

import argparse
import random
import shutil
from pathlib import Path

CLOUDS = [
    ("aws", "aws", ["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-1"], lambda r: [f"{r}a", f"{r}b", f"{r}c"]),
    ("gcp", "gcp", ["europe-west4", "us-central1", "asia-east1"], lambda r: [f"{r}-a", f"{r}-b", f"{r}-c"]),
    ("azure", "azure", ["westeurope", "eastus2"], lambda r: [f"{r}-1", f"{r}-2", f"{r}-3"]),
]
METAL_SITES = ["ams1", "fra2", "sv15", "ny5", "sg1"]


def providers_yaml() -> str:
    out = []
    for name, kind, regions, zones in CLOUDS:
        out.append(f"    - name: {name}\n      kind: {kind}\n      regions:")
        for r in regions:
            out.append(f"        - {{name: {r}, zones: [{', '.join(zones(r))}]}}")
    out.append("    - name: metal\n      kind: bare-metal\n      regions:")
    for s in METAL_SITES:
        out.append(f"        - {{name: {s}, zones: [{s}], racks: [r1, r2, r3]}}")
    return "\n".join(out)


def cluster_locations(n: int, rng: random.Random) -> list[tuple[str, str, str]]:
    """(name, provider, region) for n clusters: 3 of 4 in clouds, 1 of 4 on metal."""
    out = []
    for i in range(n):
        if i % 4 == 3:
            site = METAL_SITES[i % len(METAL_SITES)]
            out.append((f"metal-{site}-{i:03d}", "metal", site))
        else:
            name, _, regions, _ = CLOUDS[i % len(CLOUDS)]
            region = regions[(i // len(CLOUDS)) % len(regions)]
            out.append((f"{name}-{region}-{i:03d}", name, region))
    rng.shuffle(out)
    return out


def cluster_yaml(name: str, provider: str, region: str, i: int, rng: random.Random) -> str:
    tier = "prod" if i % 3 else "staging"
    if provider == "metal":
        storage = "        - {name: local-zfs, accessModes: [ReadWriteOnce], topology: node, default: true}"
        pools = f"        - {{name: c3-medium, count: {rng.choice([6, 9, 12])}, cpu: 24, memory: 64Gi}}"
        control = "      controlPlane: {apiServers: 3, etcd: {members: 3}}"
        network = f"      network: {{loadBalancer: auto, clusterId: {i % 255 + 1}}}"
    else:
        storage = "        - {name: standard-rwo, accessModes: [ReadWriteOnce], topology: zone, default: true}"
        pools = (f"        - {{name: general, count: {rng.choice([3, 6, 9, 12])}, cpu: 8, memory: 32Gi}}\n"
                 f"        - {{name: memory, count: 3, cpu: 8, memory: 64Gi, labels: {{pool: memory}}}}")
        control = "      controlPlane: {managed: true}"
        network = f"      network: {{clusterId: {i % 255 + 1}}}"
    return (f"    - name: {name}\n      location: {provider}/{region}\n{control}\n{network}\n"
            f"      storageClasses:\n{storage}\n      nodePools:\n{pools}\n"
            f"      labels: {{tier: {tier}, shard: s{i % 10}}}")


def deployment(app: str, rng: random.Random, hardened: bool) -> str:
    replicas = rng.choice([2, 3, 4, 6]) if hardened else rng.choice([1, 1, 2, 3])
    tag = f"{rng.randint(1, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}" if hardened or rng.random() < 0.6 else "latest"
    probes = ""
    if hardened or rng.random() < 0.5:
        probes = ("          readinessProbe:\n            httpGet: {path: /readyz, port: http}\n            periodSeconds: 5\n"
                  "          livenessProbe:\n            httpGet: {path: /healthz, port: http}\n            periodSeconds: 10\n")
    resources = ""
    if hardened or rng.random() < 0.5:
        cpu = rng.choice(["100m", "250m", "500m", "1"])
        mem = rng.choice(["128Mi", "256Mi", "512Mi", "1Gi"])
        resources = f"          resources:\n            requests: {{cpu: {cpu}, memory: {mem}}}\n            limits: {{memory: {mem}}}\n"
    spread = ""
    if hardened:
        spread = ("      topologySpreadConstraints:\n        - maxSkew: 1\n          topologyKey: topology.kubernetes.io/zone\n"
                  "          whenUnsatisfiable: ScheduleAnyway\n          labelSelector:\n"
                  f"            matchLabels: {{app.kubernetes.io/name: {app}}}\n")
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {app}
  labels: {{app.kubernetes.io/name: {app}, app.kubernetes.io/part-of: bench}}
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app.kubernetes.io/name: {app}}}
  strategy:
    type: RollingUpdate
    rollingUpdate: {{maxUnavailable: 0, maxSurge: 1}}
  template:
    metadata:
      labels: {{app.kubernetes.io/name: {app}, app.kubernetes.io/part-of: bench}}
    spec:
{spread}      containers:
        - name: {app}
          image: registry.example.com/bench/{app}:{tag}
          args: ["--listen=:8080"]
          ports:
            - {{name: http, containerPort: 8080}}
            - {{name: metrics, containerPort: 9090}}
          env:
            - {{name: LOG_LEVEL, value: info}}
            - name: CONFIG
              valueFrom:
                configMapKeyRef: {{name: {app}, key: config.yaml}}
{probes}{resources}"""


def statefulset(app: str, rng: random.Random, hardened: bool) -> str:
    replicas = 3 if hardened else rng.choice([1, 2, 3])
    anti = ""
    if hardened:
        anti = ("      affinity:\n        podAntiAffinity:\n          requiredDuringSchedulingIgnoredDuringExecution:\n"
                "            - topologyKey: topology.kubernetes.io/zone\n              labelSelector:\n"
                f"                matchLabels: {{app.kubernetes.io/name: {app}}}\n")
    return f"""apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {app}
  labels: {{app.kubernetes.io/name: {app}}}
spec:
  serviceName: {app}
  replicas: {replicas}
  selector:
    matchLabels: {{app.kubernetes.io/name: {app}}}
  template:
    metadata:
      labels: {{app.kubernetes.io/name: {app}}}
    spec:
{anti}      containers:
        - name: db
          image: postgres:17.{rng.randint(0, 6)}
          ports:
            - {{name: pg, containerPort: 5432}}
          readinessProbe:
            exec: {{command: ["pg_isready", "-U", "postgres"]}}
            periodSeconds: 5
          resources:
            requests: {{cpu: "1", memory: 4Gi}}
            limits: {{cpu: "1", memory: 4Gi}}
          volumeMounts:
            - {{name: data, mountPath: /var/lib/postgresql/data}}
  volumeClaimTemplates:
    - metadata:
        name: data
      spec:
        accessModes: [ReadWriteOnce]
        resources:
          requests: {{storage: {rng.choice([20, 50, 100, 500])}Gi}}
"""


def service(app: str, port: int, headless: bool) -> str:
    cluster_ip = "  clusterIP: None\n" if headless else ""
    return f"""apiVersion: v1
kind: Service
metadata:
  name: {app}
spec:
{cluster_ip}  selector: {{app.kubernetes.io/name: {app}}}
  ports:
    - {{name: main, port: {port}, targetPort: {port}}}
"""


def hpa(app: str, rng: random.Random) -> str:
    lo = rng.choice([1, 2, 3])
    return f"""apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {app}
spec:
  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: {app}}}
  minReplicas: {lo}
  maxReplicas: {lo * rng.choice([3, 5, 10])}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target: {{type: Utilization, averageUtilization: 70}}
"""


def pdb(app: str, rng: random.Random) -> str:
    rule = rng.choice(["maxUnavailable: 1", "minAvailable: 1", "minAvailable: 2"])
    return f"""apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {app}
spec:
  {rule}
  selector:
    matchLabels: {{app.kubernetes.io/name: {app}}}
"""


def configmap(app: str, rng: random.Random) -> str:
    return f"""apiVersion: v1
kind: ConfigMap
metadata:
  name: {app}
data:
  config.yaml: |
    listen: ":8080"
    upstream: "http://{app}-backend:{rng.randint(8000, 9000)}"
    timeout: {rng.choice([50, 80, 200, 1000])}ms
"""


def ingress(app: str) -> str:
    return f"""apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {app}
spec:
  ingressClassName: nginx
  rules:
    - host: {app}.example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service: {{name: {app}, port: {{number: 8080}}}}
"""


def cronjob(app: str, rng: random.Random) -> str:
    return f"""apiVersion: batch/v1
kind: CronJob
metadata:
  name: {app}-report
spec:
  schedule: "{rng.randint(0, 59)} {rng.randint(0, 23)} * * *"
  concurrencyPolicy: Forbid
  jobTemplate:
    spec:
      backoffLimit: 2
      template:
        spec:
          restartPolicy: OnFailure
          containers:
            - name: report
              image: registry.example.com/bench/{app}-report:1.{rng.randint(0, 9)}.0
              resources:
                requests: {{cpu: 200m, memory: 256Mi}}
"""


def app_objects(app: str, rng: random.Random, objects_per_app: int) -> list[tuple[str, str]]:
    """(file name, YAML) for one app, `objects_per_app` objects in all."""
    hardened = rng.random() < 0.5
    stateful = rng.random() < 0.15
    files = []
    if stateful:
        files.append(("statefulset.yaml", statefulset(app, rng, hardened)))
        files.append(("service.yaml", service(app, 5432, headless=True)))
    else:
        files.append(("deployment.yaml", deployment(app, rng, hardened)))
        files.append(("service.yaml", service(app, 8080, headless=False)))
    extras = [("configmap.yaml", lambda: configmap(app, rng)), ("pdb.yaml", lambda: pdb(app, rng))]
    if not stateful:
        extras += [("hpa.yaml", lambda: hpa(app, rng)), ("ingress.yaml", lambda: ingress(app))]
    extras.append(("cronjob.yaml", lambda: cronjob(app, rng)))
    rng.shuffle(extras)
    for name, make in extras[: max(0, objects_per_app - len(files))]:
        files.append((name, make()))
    return files


def generate(out: Path, clusters: int, apps: int, objects_per_app: int, seed: int) -> tuple[int, int]:
    rng = random.Random(seed)
    if out.exists():
        shutil.rmtree(out)
    (out / "apps").mkdir(parents=True)
    locations = cluster_locations(clusters, rng)
    cluster_text = "\n".join(cluster_yaml(n, p, r, i, rng) for i, (n, p, r) in enumerate(locations))
    app_text, objects, files = [], 0, 0
    for a in range(apps):
        name = f"app-{a:05d}"
        tier = rng.choice([1, 2, 2, 3, 3])
        shard = f"s{a % 10}"
        spread = "\n      spread: {across: zone, min: 2}" if tier == 1 else ""
        app_text.append(f"  - name: {name}\n    manifests: apps/{name}\n    namespace: {name}\n"
                        f"    placement:\n      clusters: {{labels: {{shard: {shard}}}}}{spread}\n"
                        f"    sla: {{tier: {tier}, rto: 15m, rpo: 1h}}\n    backup: {{policy: hourly}}")
        d = out / "apps" / name
        d.mkdir()
        for fname, text in app_objects(name, rng, objects_per_app):
            (d / fname).write_text(text)
            files += 1
            objects += 1
    apps_yaml = "\n".join("  " + line for text in app_text for line in text.split("\n"))
    fleet = f"""apiVersion: bulkhead.dev/v1alpha1
kind: Fleet
metadata: {{name: bench-{clusters}-{apps}}}
spec:
  network:
    supernets: [10.0.0.0/8, fd00:b01c::/40]
  providers:
{providers_yaml()}
  clusters:
{cluster_text}
  apps:
{apps_yaml}
  dr:
    repositories:
      - {{name: offsite, url: "s3:http://127.0.0.1:8333/bench", passwordEnv: BULKHEAD_REPO_PASSWORD}}
    policies:
      - {{name: hourly, schedule: "0 * * * *", repository: offsite, keep: {{hourly: 24, daily: 7}}}}
"""
    (out / "fleet.yaml").write_text(fleet)
    return files, objects


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", type=Path)
    p.add_argument("--clusters", type=int, default=200)
    p.add_argument("--apps", type=int, default=1000)
    p.add_argument("--objects-per-app", type=int, default=5, help="2 to 7 (default 5)")
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    files, objects = generate(a.out, a.clusters, a.apps, a.objects_per_app, a.seed)
    print(f"wrote {a.out}: {a.clusters} clusters, {a.apps} apps, {files} manifest files, {objects} objects")


if __name__ == "__main__":
    main()
