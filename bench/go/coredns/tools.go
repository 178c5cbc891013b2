//go:build tools

// CoreDNS, the server k8gb answers with, built from its Go module for
// bench/traffic.py (a module of its own: its dependency tree is large and
// shares nothing with the other peers').
package tools

import _ "github.com/coredns/coredns"
