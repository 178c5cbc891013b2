// kubectl of the pinned Kubernetes release (k8s.io/kubectl v0.36.3, the
// staging module k8s.io/kubernetes v1.36.3 builds its kubectl from), built
// by bench/plan.py as the peer of `bulkhead plan`: the same entry point as
// k8s.io/kubernetes/cmd/kubectl, in a module of its own because
// k8s.io/kubernetes cannot be required with its staging modules resolved.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
)

func main() {
	command := cmd.NewDefaultKubectlCommand()
	os.Exit(cli.Run(command))
}
