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
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/lanfind/lanfind/internal/clilog"
	"github.com/lanfind/lanfind/internal/sdnotify"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var stderr io.Writer = os.Stderr
	if sdnotify.StderrIsJournal() {
		// Under systemd: each line with its priority, so that
		// "journalctl -p warning" shows lanfind's warnings.
		stderr = clilog.JournalWriter(os.Stderr)
	}
	code := run(ctx, os.Args, os.Stdout, stderr)
	stop()
	os.Exit(code)
}
