package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/urfave/cli/v2"

	"github.com/lanfind/lanfind/discover"
)

func watchCommand() *cli.Command {
	return &cli.Command{
		Name:      "watch",
		Usage:     "print one line per change until interrupted",
		UsageText: "lanfind watch [--name N] [--type T] [--json]",
		Description: "Events: up (first heard), update (metadata, port or addresses changed),\n" +
			"down with reason goodbye (the announcer stopped), expired (its TTL ran out)\n" +
			"or iface-down (it was heard only through interfaces that went away).\n" +
			"--json prints one object per line: {\"event\":…,\"reason\":…,\"service\":{…as in list…}}.",
		Flags: commonFlags(
			&cli.StringFlag{Name: "name", Usage: "only services named `NAME`"},
			&cli.StringFlag{Name: "type", Usage: "only services of type `TYPE`"},
			flagJSON,
		),
		Action: runWatch,
	}
}

func runWatch(c *cli.Context) error {
	if c.Args().Present() {
		return usageErrorf("watch takes no arguments, got %q", c.Args().First())
	}
	o, err := parseCommon(c, slog.LevelWarn)
	if err != nil {
		return err
	}
	l, err := newListener(c, o, "--name", c.String("name"))
	if err != nil {
		return runtimeError(err)
	}
	defer l.Close()
	asJSON := c.Bool("json")
	w := c.App.Writer
	// A write error (a closed pipe: "lanfind watch | head -1") ends the watch.
	ctx, cancel := context.WithCancel(c.Context)
	defer cancel()
	var werr error
	err = l.Run(ctx, func(ev discover.Event) {
		if werr != nil {
			return
		}
		defer func() {
			if werr != nil {
				cancel()
			}
		}()
		if asJSON {
			werr = writeJSON(w, jsonEvent{Event: ev.Kind.String(), Reason: ev.Reason, Service: toJSON(ev.Service)})
			return
		}
		r := ev.Service
		what := ev.Kind.String()
		if ev.Reason != "" {
			what += " (" + ev.Reason + ")"
		}
		_, werr = fmt.Fprintf(w, "%-16s %s %s %s %s %s %s\n", what, clean(r.Name, 32), orDash(clean(r.Type, 24)),
			r.AddrPort(), orDash(r.Iface), orDash(clean(r.Host, 32)), orDash(metaString(r.Meta)))
	})
	logStats(o.log, l)
	if werr != nil {
		return runtimeError(werr)
	}
	return runtimeError(err)
}
