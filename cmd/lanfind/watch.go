package main

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/lanfind/lanfind/discover"
	"github.com/lanfind/lanfind/internal/output"
	tt "github.com/lanfind/lanfind/internal/termtext"
	"github.com/lanfind/lanfind/internal/watchtable"
)

func watchCommand() *cli.Command {
	return &cli.Command{
		Name:      "watch",
		Usage:     "print one line per change (a live table on a terminal) until interrupted",
		UsageText: "lanfind watch [--name N] [--type T] [--json | --format TEMPLATE | --lines]",
		Description: "On a terminal: a live table that updates in place (q quits); " +
			"departures stay a few seconds\n" +
			"with their reason. Otherwise, and with --lines, --json or --format: " +
			"one line per event.\n" +
			"Events: up (first heard), update (metadata, port or addresses changed),\n" +
			"down with reason goodbye (the announcer stopped), expired (its TTL ran out)\n" +
			"or iface-down (it was heard only through interfaces that went away).\n" +
			"--json prints one object per line: " +
			"{\"event\":…,\"reason\":…,\"service\":{…as in list…},\"time\":…},\n" +
			"time being when the event happened (RFC 3339); --format templates get it as .Time.",
		Flags: commonFlags(
			flagMaxEntries,
			&cli.StringFlag{Name: "name", Usage: "only services named `NAME`"},
			&cli.StringFlag{Name: "type", Usage: "only services of type `TYPE`"},
			flagJSON,
			flagFormat,
			&cli.BoolFlag{Name: "lines", Usage: "one line per event even on a terminal"},
			flagNoColor,
			flagFamily,
			flagPreferIPv6,
			flagMDNS,
		),
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageErrorf("watch takes no arguments, got %q", c.Args().First())
			}
			opts := watchOptions{
				name: c.String("name"),
				typ:  c.String("type"),
				live: !c.Bool("json") && !c.IsSet("format") && !c.Bool("lines") &&
					tt.IsTerminal(c.App.Writer),
			}
			// The live table owns the terminal: logs meant for it wait
			// until the table is gone.
			errOut := c.App.ErrWriter
			if opts.live && tt.IsTerminal(errOut) {
				opts.held = watchtable.NewHeldLog(errOut)
				defer opts.held.Release()
				errOut = opts.held
			}
			var s streams
			var err error
			opts.common, s, err = bindShared(c, errOut, slog.LevelWarn)
			if err == nil {
				// Lines go out in batches: a flood of events must not cost
				// one write each.
				opts.out = output.NewCoalescer(s.Out)
				opts.printer, err = newPrinter(c, s.Out, opts.family)
				opts.printer = opts.printer.To(opts.out)
			}
			if err != nil {
				return s.exit(err)
			}
			return s.exit(runWatch(c.Context, s, opts))
		},
	}
}

// watchOptions are watch's flags.
type watchOptions struct {
	common
	name, typ string
	printer   output.Printer
	out       *output.Coalescer   // where printer writes; flushed when the watch ends
	live      bool                // show the live table if the terminal allows
	held      *watchtable.HeldLog // s.Err while the live table is shown; nil: not held
}

func runWatch(ctx context.Context, s streams, opts watchOptions) error {
	cfg, err := listenerConfig(s, opts.common, "--name", opts.name, opts.typ)
	if err != nil {
		return runtimeError(err)
	}
	// The live table's SEEN is the age of the last beacon or answer.
	cfg.Refreshes = opts.live
	l, err := discover.New(cfg)
	if err != nil {
		return runtimeError(err)
	}
	defer l.Close()
	defer time.AfterFunc(releaseAfter, releaseStartup).Stop()
	b, closeB, err := openMDNS(ctx, s, opts.common, opts.name, opts.typ, keepBrowsing)
	if err != nil {
		return runtimeError(err)
	}
	defer closeB()
	if opts.live {
		screen, err := watchtable.Open(opts.printer.Style())
		if err == nil {
			srcs := []watchtable.Source{l.Run}
			if b != nil {
				srcs = append(srcs, browseFeed{b: b}.Run)
			}
			err := screen.Run(ctx, srcs...)
			logStats(s.Log, l)
			return runtimeError(err)
		}
		if opts.held != nil {
			opts.held.Release()
		}
		s.Log.Debug("no live table: one line per event", "err", err)
	}
	// A write error (a closed pipe: "lanfind watch | head -1") ends the watch.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// mu serializes the printer between lanfind's and mDNS's events, and
	// guards werr.
	var mu sync.Mutex
	var werr error
	print := func(ev discover.Event) {
		mu.Lock()
		defer mu.Unlock()
		if werr != nil || ev.Kind == discover.EventRefresh { // lines are for changes
			return
		}
		if werr = opts.printer.Event(ev); werr != nil {
			cancel()
		}
	}
	var wg sync.WaitGroup
	var mdnsErr error
	if b != nil {
		wg.Go(func() {
			mdnsErr = browseFeed{b: b}.Run(ctx, print)
			if mdnsErr != nil {
				cancel()
			}
		})
	}
	err = l.Run(ctx, print)
	cancel()
	wg.Wait()
	err = errors.Join(err, mdnsErr)
	if ferr := opts.out.Flush(); werr == nil {
		werr = ferr
	}
	logStats(s.Log, l)
	if werr != nil {
		return runtimeError(werr)
	}
	return runtimeError(err)
}
