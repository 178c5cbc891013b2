#!/usr/bin/env bash
# Seeds each fuzz target's corpus from the project's own fixtures (the broken
# fleets, the audit fixtures, the example), so fuzzing starts from inputs
# that reach deep into the parsers. The corpus folders are not committed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
seed() { # target, files...
  local dir="$here/corpus/$1"; shift
  mkdir -p "$dir"
  for f in "$@"; do [[ -f $f ]] && cp "$f" "$dir/$(sha1sum "$f" | cut -c1-16)"; done
}
mapfile -t fleets < <(find "$root/tests/fleets" "$root/examples" -name fleet.yaml)
mapfile -t manifests < <(find "$root/tests" "$root/examples" -path '*/apps/*' \( -name '*.yaml' -o -name '*.yml' \); find "$root/tests/audit" -name '*.yaml')
seed fleet_file "${fleets[@]}"
seed yaml_documents "${fleets[@]}" "${manifests[@]}"
seed manifests "${manifests[@]}"
seed net_lock "$root/examples/multicloud/net.lock.json"
printf 'prefix,owner\n10.0.0.0/8,corp # all\n\nfd00::/48,lab\n' > "$here/corpus/ranges-sample.csv"
seed net_ranges "$here/corpus/ranges-sample.csv"
rm "$here/corpus/ranges-sample.csv"
printf '%s\n' 500m 2 1.5Gi 1e3 +7 0.001 > "$here/corpus/quantities.txt"
mkdir -p "$here/corpus/quantity"
while read -r q; do printf '%s' "$q" > "$here/corpus/quantity/$q"; done < "$here/corpus/quantities.txt"
rm "$here/corpus/quantities.txt"
# etcd: small snapshots, values and delta segments the crate's own test writes.
BULKHEAD_FUZZ_SEEDS="$here/corpus" cargo test -q --manifest-path "$root/Cargo.toml" -p bulkhead-etcd --test offline_formats fuzz_seeds >/dev/null
mkdir -p "$here/corpus/traffic_status"
printf '%s' 'cluster=eu-1 answers=out probes=down down=2 seen=3 of=3 reason=connect: timed out' > "$here/corpus/traffic_status/down"
printf '%s' 'cluster=a answers=in probes=up down=0 seen=1 of=1 reason=HTTP 200' > "$here/corpus/traffic_status/up"
echo "seeded: $(ls "$here/corpus" | tr '\n' ' ')"
