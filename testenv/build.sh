#!/usr/bin/env bash
# Builds the pinned upstream servers of the test environment from their Go
# modules into a cache outside the clone, and prints the folder that holds them.
#
# The cache key is a hash of the servers' pinning modules (go.mod + go.sum) and the Go
# version, so a pin change rebuilds and an unchanged pin costs nothing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache_root=${BULKHEAD_CACHE:-$HOME/.cache/bulkhead}
kube_version=v1.36.3

key=$(cat "$here"/go/{kubernetes,tools}/go.mod "$here"/go/{kubernetes,tools}/go.sum <(go version) | sha256sum | cut -c1-16)
out="$cache_root/testenv-bin/$key"
want=(kube-apiserver kube-controller-manager kube-scheduler etcd etcdctl etcdutl kwok kwokctl)

# Helm renders and installs deploy/helm's chart in the tests. It has a key
# of its own, kept beside it, so a Helm pin change rebuilds Helm alone
# (about 2 minutes) and not the servers.
helm_version=$(sed -n 's/^require helm.sh\/helm\/v4 //p' "$here/go/helm/go.mod")
helm_key=$(cat "$here"/go/helm/go.{mod,sum} <(go version) | sha256sum | cut -c1-16)
build_helm() {
  local dir=$1
  if [[ -x "$dir/helm" && "$(cat "$dir/helm.key" 2>/dev/null)" == "$helm_key" ]]; then return 0; fi
  echo "testenv: building helm $helm_version (cold: ~2 min)" >&2
  (cd "$here/go/helm" && CGO_ENABLED=0 go build -trimpath \
    -ldflags="-s -w -X helm.sh/helm/v4/internal/version.version=$helm_version" -o "$dir/" helm.sh/helm/v4/cmd/helm)
  [[ -x "$dir/helm" ]] || { echo "testenv: build produced no helm" >&2; exit 1; }
  echo "$helm_key" > "$dir/helm.key"
}

# The CSI components (snapshot-controller, csi-snapshotter, csi-provisioner
# and Kubernetes' CSI mock driver) and the snapshot CRDs, likewise under a
# key of their own, in csi/ beside the servers (cold: ~9 min).
csi_key=$(cat "$here"/go/{csi,csi-provisioner,csi-mock-driver}/go.{mod,sum} "$here"/go/csi-mock-driver/main.go \
  <(go version) | sha256sum | cut -c1-16)
build_csi() {
  local dir=$1/csi
  if [[ -x "$dir/csi-mock-driver" && "$(cat "$dir/csi.key" 2>/dev/null)" == "$csi_key" ]]; then return 0; fi
  echo "testenv: building snapshot-controller, csi-snapshotter, csi-provisioner, csi-mock-driver (cold: ~9 min)" >&2
  rm -rf "$dir" && mkdir -p "$dir/crd"
  (cd "$here/go/csi" && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$dir/" \
    github.com/kubernetes-csi/external-snapshotter/v8/cmd/snapshot-controller \
    github.com/kubernetes-csi/external-snapshotter/v8/cmd/csi-snapshotter)
  (cd "$here/go/csi-provisioner" && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$dir/" \
    github.com/kubernetes-csi/external-provisioner/v5/cmd/csi-provisioner)
  (cd "$here/go/csi-mock-driver" && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$dir/csi-mock-driver" .)
  local client
  client=$(cd "$here/go/csi" && go list -m -f '{{.Dir}}' github.com/kubernetes-csi/external-snapshotter/client/v8)
  cp "$client"/config/crd/*snapshot.storage.k8s.io_*.yaml "$dir/crd/"
  for b in snapshot-controller csi-snapshotter csi-provisioner csi-mock-driver; do
    [[ -x "$dir/$b" ]] || { echo "testenv: build produced no $b" >&2; exit 1; }
  done
  echo "$csi_key" > "$dir/csi.key"
}

complete=1
for b in "${want[@]}"; do [[ -x "$out/$b" ]] || complete=0; done
if [[ $complete == 1 ]]; then
  build_helm "$out"
  build_csi "$out"
  echo "$out"
  exit 0
fi

mkdir -p "$out.tmp"
export CGO_ENABLED=0
minor=${kube_version#v1.}; minor=${minor%%.*}
# Without these the servers report v0.0.0-master, which version-checking clients refuse.
version_flags="-X k8s.io/component-base/version.gitVersion=$kube_version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"

start=$(date +%s)
echo "testenv: building etcd, etcdctl, etcdutl, kwok, kwokctl (cold: ~1.5 min)" >&2
(cd "$here/go/tools" && go build -trimpath -ldflags="-s -w" -o "$out.tmp/" \
  go.etcd.io/etcd/server/v3 go.etcd.io/etcd/etcdctl/v3 go.etcd.io/etcd/etcdutl/v3 \
  sigs.k8s.io/kwok/cmd/kwok sigs.k8s.io/kwok/cmd/kwokctl)
# etcd's main package is the module root (`server/v3`): go build names it `server`.
for n in server v3; do
  if [[ -x "$out.tmp/$n" ]]; then mv "$out.tmp/$n" "$out.tmp/etcd"; fi
done
echo "testenv: building kube-apiserver, kube-controller-manager, kube-scheduler $kube_version (cold: ~5 min)" >&2
(cd "$here/go/kubernetes" && go build -trimpath -ldflags="-s -w $version_flags" -o "$out.tmp/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler)
for b in "${want[@]}"; do
  [[ -x "$out.tmp/$b" ]] || { echo "testenv: build produced no $b" >&2; ls "$out.tmp" >&2; exit 1; }
done
build_helm "$out.tmp"
build_csi "$out.tmp"
rm -rf "$out"; mv "$out.tmp" "$out"
# Servers of older pins are never used again: about 500 MB each.
find "$cache_root/testenv-bin" -mindepth 1 -maxdepth 1 ! -name "$key" -exec rm -rf {} +
echo "testenv: built in $(( $(date +%s) - start )) s into $out" >&2
echo "$out"
