#!/usr/bin/env python3
"""Regenerates kubernetes-<version>-strict.json, the Kubernetes API schema that
`bulkhead validate` checks manifests against.

Source: the strict JSON schemas that PyPI's `kubernetes-validate` package ships
(generated from the upstream OpenAPI document; "strict" means unknown fields are
rejected). We keep only the definitions reachable from a kind and drop the
descriptions, so the file embedded in the binary stays small.

    pip download --no-deps -d /tmp/kv kubernetes-validate==1.37.0
    (cd /tmp/kv && unzip -qo kubernetes_validate-*.whl)
    python3 gen-kubernetes-schema.py /tmp/kv/kubernetes_validate/kubernetes-json-schema v1.36.0
"""
import json
import sys
from pathlib import Path

root, version = Path(sys.argv[1]), sys.argv[2]
defs = json.loads((root / f"{version}-local-strict" / "_definitions.json").read_text())["$defs"]


def strip(node):
    # Only documentation strings go: a *field* named `description` (as
    # PriorityClass and CRDs have) is a schema, and must stay.
    if isinstance(node, dict):
        return {k: strip(v) for k, v in node.items() if not (k == "description" and isinstance(v, str))}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


def refs(node, out):
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            out.add(ref[len("#/$defs/"):])
        for v in node.values():
            refs(v, out)
    elif isinstance(node, list):
        for v in node:
            refs(v, out)


kinds = sorted(name for name, d in defs.items()
               if d.get("x-kubernetes-group-version-kind") and not name.endswith("List"))
keep, todo = set(), list(kinds)
while todo:
    name = todo.pop()
    if name in keep:
        continue
    keep.add(name)
    found = set()
    refs(defs[name], found)
    todo.extend(found - keep)

out = {"kubernetesVersion": version, "source": "kubernetes-validate (strict)",
       "$defs": {name: strip(defs[name]) for name in sorted(keep)}}
target = Path(__file__).with_name(f"kubernetes-{version.rsplit('.', 1)[0]}-strict.json")
target.write_text(json.dumps(out, separators=(",", ":"), sort_keys=True) + "\n")
print(f"{len(kinds)} kinds, {len(keep)} definitions -> {target.name} ({target.stat().st_size} bytes)")
