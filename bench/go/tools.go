//go:build tools

// Package tools pins the peers this module builds; it is never compiled into anything.
package tools

import (
	_ "github.com/yannh/kubeconform/cmd/kubeconform"
	_ "github.com/zegl/kube-score/cmd/kube-score"
)
