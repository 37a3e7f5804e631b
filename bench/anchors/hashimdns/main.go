// Command hashimdns is bench's github.com/hashicorp/mdns anchor; see the
// anchors package comment for its command line.
package main

import (
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/mdns"

	"github.com/lanfind/lanfind/bench/anchors"
)

func main() {
	c := anchors.Parse("hashimdns")
	quiet := log.New(io.Discard, "", 0)
	switch c.Name {
	case "announce":
		os.Exit(announce(c, quiet))
	case "list":
		n := 0
		query(c.Timeout, quiet, func(e *mdns.ServiceEntry) {
			fmt.Printf("%s %s %d\n", instance(e.Name), e.AddrV4, e.Port)
			n++
		})
		if n == 0 {
			os.Exit(1)
		}
	case "resolve":
		query(c.Timeout, quiet, func(e *mdns.ServiceEntry) {
			if instance(e.Name) == c.Target {
				fmt.Printf("%s:%d\n", e.AddrV4, e.Port)
				os.Exit(0)
			}
		})
		os.Exit(1)
	case "watch":
		// The library has no continuous browse: query in a loop.
		seen := map[string]bool{}
		for {
			query(time.Second, quiet, func(e *mdns.ServiceEntry) {
				if !seen[e.Name] {
					seen[e.Name] = true
					fmt.Printf("up %s %s %d\n", instance(e.Name), e.AddrV4, e.Port)
				}
			})
			time.Sleep(c.Interval)
		}
	}
}

// instance returns the instance label of a service entry's name.
func instance(name string) string {
	name = strings.ReplaceAll(name, `\`, "")
	i, _, _ := strings.Cut(name, "."+anchors.Type)
	return i
}

// query browses for the bench type for d and calls fn for each entry.
func query(d time.Duration, logger *log.Logger, fn func(*mdns.ServiceEntry)) {
	entries := make(chan *mdns.ServiceEntry, 1024)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for e := range entries {
			fn(e)
		}
	}()
	p := mdns.DefaultParams(anchors.Type)
	p.Entries = entries
	p.Timeout = d
	p.DisableIPv6 = true
	p.Logger = logger
	if err := mdns.Query(p); err != nil {
		fmt.Fprintln(os.Stderr, "hashimdns:", err)
	}
	close(entries)
	<-done
}

func announce(c anchors.Command, logger *log.Logger) int {
	// One Server per service, as the library is meant to be used: its
	// client takes only one service from each response, so a Server
	// answering for several would be found as one.
	var servers []*mdns.Server
	defer func() {
		for _, s := range servers {
			s.Shutdown()
		}
	}()
	for _, s := range c.Services {
		svc, err := mdns.NewMDNSService(s.Name, anchors.Type, "local.", c.Host+".local.", int(s.Port), []net.IP{c.Addr}, []string{"bench"})
		if err != nil {
			fmt.Fprintln(os.Stderr, "hashimdns:", err)
			return 1
		}
		srv, err := mdns.NewServer(&mdns.Config{Zone: svc, Logger: logger})
		if err != nil {
			fmt.Fprintln(os.Stderr, "hashimdns:", err)
			return 1
		}
		servers = append(servers, srv)
	}
	fmt.Fprintln(os.Stderr, "announcing", len(servers), "services")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	<-sig
	return 0
}
