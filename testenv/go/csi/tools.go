//go:build tools

// Package tools pins the CSI components this module builds; it is never compiled into anything.
// The snapshot CRDs are read from the client module's config/crd by testenv.
package tools

import (
	_ "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	_ "github.com/kubernetes-csi/external-snapshotter/v8/cmd/csi-snapshotter"
	_ "github.com/kubernetes-csi/external-snapshotter/v8/cmd/snapshot-controller"
)
