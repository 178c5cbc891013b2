// Command csi-mock-driver serves Kubernetes' own CSI mock driver (the one
// its e2e suite runs against the real sidecars) on a unix socket, so the
// test environment's csi-provisioner and csi-snapshotter have a driver to
// call without a kubelet or a disk. Upstream ships it as a library only;
// this is the smallest main that serves it. Volumes and snapshots live in
// the process's memory: a driver stopped and started again has none.
package main

import (
	"flag"
	"net"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/klog/v2"
	"k8s.io/kubernetes/test/e2e/storage/drivers/csi-test/driver"
	"k8s.io/kubernetes/test/e2e/storage/drivers/csi-test/mock/service"
)

func main() {
	endpoint := flag.String("endpoint", "", "unix socket to serve the driver on")
	name := flag.String("name", service.Name, "the driver's name (GetPluginInfo)")
	klog.InitFlags(nil)
	flag.Parse()
	if *endpoint == "" {
		klog.Fatal("--endpoint is required")
	}
	// A socket left by a killed driver would make Listen fail.
	_ = os.Remove(*endpoint)
	listener, err := net.Listen("unix", *endpoint)
	if err != nil {
		klog.Fatalf("listen on %s: %v", *endpoint, err)
	}
	svc := service.New(service.Config{DriverName: *name, DisableAttach: true})
	d := driver.NewCSIDriver(&driver.CSIDriverServers{Controller: svc, Identity: svc, Node: svc})
	if err := d.Start(listener, nil); err != nil {
		klog.Fatalf("serve: %v", err)
	}
	klog.Infof("%s serving on %s", *name, *endpoint)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
	d.Stop()
}
