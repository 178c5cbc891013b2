// etcdload puts small keys into etcd at a steady rate from many clients and
// records, for each write, the revision etcd gave it and when its answer
// came: bench/etcd.py joins these with the watch's reports to measure the
// RPO of `bulkhead etcd watch`. Python's writers top out far below the
// 5,000 writes/s the benchmark asks for.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

type write struct {
	revision int64
	at       int64
}

func main() {
	endpoint := flag.String("endpoint", "http://127.0.0.1:2379", "etcd's client URL")
	rate := flag.Int("rate", 5000, "writes per second, in all")
	seconds := flag.Int("seconds", 60, "how long to write")
	clients := flag.Int("clients", 32, "concurrent writers")
	out := flag.String("out", "writes.txt", "where to record `revision unix-nanos` per write")
	flag.Parse()

	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{*endpoint}, DialTimeout: 5 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	defer cli.Close()
	value := strings.Repeat("v", 200)
	stop := time.Now().Add(time.Duration(*seconds) * time.Second)
	interval := time.Duration(float64(time.Second) * float64(*clients) / float64(*rate))
	results := make([][]write, *clients)
	var wg sync.WaitGroup
	for c := 0; c < *clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			next := time.Now().Add(time.Duration(c) * interval / time.Duration(*clients))
			for n := 0; time.Now().Before(stop); n++ {
				if d := time.Until(next); d > 0 {
					time.Sleep(d)
				}
				next = next.Add(interval)
				resp, err := cli.Put(context.Background(), fmt.Sprintf("/bench/rpo/%d/%d", c, n), value)
				if err != nil {
					log.Printf("put: %v", err)
					continue
				}
				results[c] = append(results[c], write{resp.Header.Revision, time.Now().UnixNano()})
			}
		}(c)
	}
	wg.Wait()
	f, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	w := bufio.NewWriter(f)
	total := 0
	for _, rs := range results {
		for _, r := range rs {
			fmt.Fprintf(w, "%d %d\n", r.revision, r.at)
			total++
		}
	}
	if err := w.Flush(); err != nil {
		log.Fatal(err)
	}
	f.Close()
	fmt.Printf("%d writes in %d s: %.0f/s\n", total, *seconds, float64(total)/float64(*seconds))
}
