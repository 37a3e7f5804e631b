package discover_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/lanfind/lanfind/discover"
)

// Find the address of the service named "db".
// (Needs a network, so it compiles but does not run as a test.)
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

// Print changes until the context ends.
func ExampleListener_Run() {
	l, err := discover.New(discover.Config{Type: "http"})
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = l.Run(ctx, func(ev discover.Event) {
		fmt.Println(ev.Kind, ev.Reason, ev.Service.Name, ev.Service.AddrPort())
	})
	if err != nil {
		log.Fatal(err)
	}
}
