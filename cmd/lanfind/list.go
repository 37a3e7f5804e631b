package main

import (
	"context"
	"time"

	"github.com/urfave/cli/v2"
)

func listCommand() *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list the services on the local network",
		UsageText: "lanfind list [--timeout D] [--wait N] [--name N] [--type T] [--iface IF]... " +
			"[--json | --format TEMPLATE]",
		Description: "Queries the network and prints every matching instance " +
			"as soon as the answers have settled\n" +
			"(usually a fraction of a second); --timeout is only the upper bound. " +
			"With --wait N it prints\n" +
			"as soon as N instances are up instead, waiting up to --timeout for them.\n" +
			"With --mdns the DNS-SD services come from a warm \"lanfind serve --mdns\" on this\n" +
			"host when one answers on --socket, else from a browse of its own.\n" +
			"Exit status: 0 when at least one instance (with --wait: N instances) matched, " +
			"1 when fewer did,\n" +
			"2 on error.",
		Flags: commonFlags(
			flagTimeout,
			flagWait,
			flagMaxEntries,
			&cli.StringFlag{Name: "name", Usage: "only services named `NAME`"},
			&cli.StringFlag{Name: "type", Usage: "only services of type `TYPE`"},
			flagJSON,
			flagFormat,
			flagNoColor,
			flagFamily,
			flagPreferIPv6,
			flagMDNS,
			flagSocket,
		),
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageErrorf("list takes no arguments, got %q (use --name)", c.Args().First())
			}
			o, s, err := bindSearch(c)
			if err != nil {
				return s.exit(err)
			}
			opts := listOptions{
				searchOptions: o,
				name:          c.String("name"),
			}
			return s.exit(runList(c.Context, s, opts))
		},
	}
}

// listOptions are list's flags.
type listOptions struct {
	searchOptions
	name string // --name
}

func runList(ctx context.Context, s streams, opts listOptions) error {
	l, searchCtx, done, err := openSearch(ctx, s, opts.searchOptions, "--name", opts.name)
	if err != nil {
		return searchError(err)
	}
	defer done()
	start := time.Now()
	rs, err := collectAll(searchCtx, s, opts.searchOptions, l, opts.name)
	s.Log.Debug("list done", "found", len(rs), "elapsed", time.Since(start))
	logStats(s.Log, l)
	if err != nil {
		return searchError(err)
	}
	p := opts.printer
	if err := p.List(rs); err != nil {
		return searchError(err)
	}
	switch {
	case opts.wait > 0 && len(rs) < opts.wait:
		return fewerThan(len(rs), opts.wait, within(ctx, opts.timeout))
	case len(rs) == 0 && p.Scripted():
		// A script's empty result: "[]" or no lines, and on stderr only
		// why keyed mode may hide services.
		if h := keyHint(l, len(opts.keys) > 0); h != "" {
			return &exitError{code: exitNotFound, hint: h}
		}
		return errNotFound
	case len(rs) == 0:
		// The table has no header without rows: say why the screen stays
		// empty. Collect gives up before the timeout once its repeated
		// queries stay unanswered, so the message names no duration.
		e := notFound(opts.name, opts.typ, "")
		e.hint = keyHint(l, len(opts.keys) > 0)
		if e.hint == "" && opts.name == "" && opts.typ == "" {
			e.hint = `run "lanfind doctor" here and on a host that announces to see why`
		}
		return e
	}
	return nil
}
