package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/lanfind/lanfind/announce"
)

// helperArg makes the bench binary run as announceHelper.
const helperArg = "_announce"

// announceHelper announces many services from one process through the
// announce package, exactly as lanfind announce does for one: it stands in
// for `lanfind announce --service ...` when the lanfind under test has no
// such flag. It logs readyMark to stderr once it runs and sends a goodbye
// on SIGTERM.
func announceHelper(args []string) int {
	fs := flag.NewFlagSet(helperArg, flag.ContinueOnError)
	hostname := fs.String("hostname", "", "host name")
	interval := fs.Duration("interval", 0, "beacon interval")
	services := fs.String("services", "", "NAME:PORT:TYPE,...")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var svcs []announce.Service
	for s := range strings.SplitSeq(*services, ",") {
		f := strings.Split(s, ":")
		if len(f) != 3 {
			fmt.Fprintf(os.Stderr, "%s: bad service %q\n", helperArg, s)
			return 2
		}
		port, err := strconv.ParseUint(f[1], 10, 16)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: bad port in %q\n", helperArg, s)
			return 2
		}
		svcs = append(svcs, announce.Service{Name: f[0], Port: uint16(port), Type: f[2]})
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	s, err := announce.New(announce.Config{Services: svcs, Hostname: *hostname, Interval: *interval, Logger: log})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer s.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := s.Run(ctx); err != nil { // logs "announcing" (readyMark) as it starts
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
