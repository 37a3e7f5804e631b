// Command lanfind announces and finds services on the local network.
//
// Usage:
//
//	lanfind announce --name db --port 5432
//	lanfind list
//	lanfind resolve db
//	lanfind watch
//	lanfind iface
//
// Run "lanfind help" for the full reference.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
