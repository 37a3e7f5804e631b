// Command pionmdns is bench's github.com/pion/mdns/v2 anchor; see the
// anchors package comment for its command line.
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/pion/mdns/v2"
	"golang.org/x/net/ipv4"

	"github.com/lanfind/lanfind/bench/anchors"
)

func main() {
	c := anchors.Parse("pionmdns")
	var opts []mdns.ServerOption
	if c.Name == "announce" {
		opts = append(opts, mdns.WithLocalNames(c.Host+".local"), mdns.WithLocalAddress(c.Addr))
		for _, s := range c.Services {
			opts = append(opts, mdns.WithService(mdns.ServiceInstance{
				Instance: s.Name,
				Service:  anchors.Type,
				Host:     c.Host + ".local.",
				Port:     s.Port,
				Text:     []mdns.TXTEntry{mdns.NewTXTFlag("bench")},
			}))
		}
	}
	a, err := net.ResolveUDPAddr("udp4", mdns.DefaultAddressIPv4)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pionmdns:", err)
		os.Exit(1)
	}
	l, err := net.ListenUDP("udp4", a)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pionmdns:", err)
		os.Exit(1)
	}
	conn, err := mdns.NewServer(ipv4.NewPacketConn(l), nil, opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pionmdns:", err)
		os.Exit(1)
	}
	defer conn.Close()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	switch c.Name {
	case "announce":
		fmt.Fprintln(os.Stderr, "announcing")
		<-ctx.Done()
	case "list", "watch":
		var mu sync.Mutex // guards seen and stdout
		seen := map[string]bool{}
		prefix := ""
		if c.Name == "watch" {
			prefix = "up "
		} else {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, c.Timeout)
			defer cancel()
		}
		conn.OnServiceDiscovered(func(ev mdns.ServiceEvent) {
			mu.Lock()
			defer mu.Unlock()
			if !seen[ev.Instance.Instance] {
				seen[ev.Instance.Instance] = true
				fmt.Printf("%s%s %s %d\n", prefix, ev.Instance.Instance, ev.Addr, ev.Instance.Port)
			}
		})
		if err := conn.Browse(ctx, anchors.Type); err != nil {
			fmt.Fprintln(os.Stderr, "pionmdns:", err)
			os.Exit(1)
		}
		<-ctx.Done()
		mu.Lock()
		defer mu.Unlock()
		if len(seen) == 0 {
			os.Exit(1)
		}
	case "resolve":
		ctx, cancel := context.WithTimeout(ctx, c.Timeout)
		defer cancel()
		found := make(chan string, 1)
		conn.OnServiceDiscovered(func(ev mdns.ServiceEvent) {
			if ev.Instance.Instance == c.Target {
				select {
				case found <- fmt.Sprintf("%s:%d", ev.Addr, ev.Instance.Port):
				default: // one line is enough
				}
			}
		})
		if err := conn.Browse(ctx, anchors.Type); err != nil {
			fmt.Fprintln(os.Stderr, "pionmdns:", err)
			os.Exit(1)
		}
		select {
		case s := <-found:
			fmt.Println(s)
		case <-ctx.Done():
			os.Exit(1)
		}
	}
}
