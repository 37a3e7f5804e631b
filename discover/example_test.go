package discover_test

import (
	"context"
	"fmt"
	"log"
	"os/signal"
	"syscall"
	"time"

	"github.com/lanfind/lanfind/discover"
)

// Find the address of the service named "db".
// (Needs a network, so the examples compile but do not run as tests; a lab
// test runs them between network namespaces.)
func ExampleListener_Resolve() {
	l, err := discover.New(discover.Config{Name: "db"})
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	r, err := l.Resolve(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.AddrPort())
}

// List every service on the LAN once the answers have settled.
func ExampleListener_Collect() {
	l, err := discover.New(discover.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	rs, err := l.Collect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range rs {
		fmt.Printf("%s %s %v\n", r.Name, r.Type, r.AddrPort())
	}
}

// Print changes to the http services on the LAN until SIGINT or SIGTERM.
func ExampleListener_Run() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	l, err := discover.New(discover.Config{Type: "http"})
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	err = l.Run(ctx, func(ev discover.Event) {
		fmt.Println(ev.Kind, ev.Reason, ev.Service.Name, ev.Service.AddrPort())
	})
	if err != nil {
		log.Fatal(err)
	}
}
