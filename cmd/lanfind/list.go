package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/lanfind/lanfind/discover"
)

const defaultTimeout = 3 * time.Second

func listCommand() *cli.Command {
	return &cli.Command{
		Name:      "list",
		Usage:     "list the services on the local network",
		UsageText: "lanfind list [--timeout D] [--name N] [--type T] [--iface IF]... [--json]",
		Description: "Queries the network and prints every matching instance as soon as the answers have settled\n" +
			"(usually a fraction of a second); --timeout is only the upper bound.\n" +
			"Exit status: 0 when at least one instance matched, 1 when none did, 2 on error.",
		Flags: commonFlags(
			&cli.DurationFlag{Name: "timeout", Usage: "give up after this long", Value: defaultTimeout},
			&cli.StringFlag{Name: "name", Usage: "only services named `NAME`"},
			&cli.StringFlag{Name: "type", Usage: "only services of type `TYPE`"},
			flagJSON,
		),
		Action: runList,
	}
}

func resolveCommand() *cli.Command {
	return &cli.Command{
		Name:      "resolve",
		Usage:     "print ADDR:PORT of a service, for scripts",
		UsageText: "lanfind resolve NAME [--type T] [--timeout D] [--json]",
		Description: "Prints the address and port of the first instance named NAME the moment it answers.\n" +
			"Exit status: 0 when found, 1 when nothing answered within the timeout, 2 on error.",
		Flags: commonFlags(
			&cli.DurationFlag{Name: "timeout", Usage: "give up after this long", Value: defaultTimeout},
			&cli.StringFlag{Name: "type", Usage: "only services of type `TYPE`"},
			flagJSON,
		),
		Action: runResolve,
	}
}

// newListener checks the name filter (given as nameFlag) and --type, and
// opens a Listener for them.
func newListener(c *cli.Context, o common, nameFlag, name string) (*discover.Listener, error) {
	if err := checkName(nameFlag, name, nameFlag == "NAME"); err != nil {
		return nil, err
	}
	if err := checkName("--type", c.String("type"), false); err != nil {
		return nil, err
	}
	cfg := discover.Config{
		Name:        name,
		Type:        c.String("type"),
		Port:        o.port,
		Group:       o.group,
		Interfaces:  o.ifaces,
		NoBroadcast: o.noBroadcast,
		NoMulticast: o.noMulticast,
		Logger:      o.log,
	}
	cfg.ExcludeInterfaces = o.excludes
	return discover.New(cfg)
}

func timeoutFlag(c *cli.Context) (time.Duration, error) {
	d := c.Duration("timeout")
	if d <= 0 {
		return 0, usageErrorf("--timeout %v: want a positive duration such as 2s", d)
	}
	return d, nil
}

func logStats(log *slog.Logger, l *discover.Listener) {
	s := l.Stats()
	log.Debug("stats", "received", s.Received, "accepted", s.Accepted, "duplicates", s.Duplicates,
		"foreign", s.Foreign, "malformed", s.Malformed, "unsupported", s.Unsupported,
		"unknown_request", s.UnknownRequest, "other_iface", s.OtherIface, "table_full", s.TableFull, "queries_sent", s.QueriesSent, "send_errors", s.SendErrors)
}

func runList(c *cli.Context) error {
	if c.Args().Present() {
		return usageErrorf("list takes no arguments, got %q (use --name)", c.Args().First())
	}
	o, err := parseCommon(c, slog.LevelWarn)
	if err != nil {
		return err
	}
	timeout, err := timeoutFlag(c)
	if err != nil {
		return err
	}
	l, err := newListener(c, o, "--name", c.String("name"))
	if err != nil {
		return searchError(err)
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(c.Context, timeout)
	defer cancel()
	start := time.Now()
	rs, err := l.Collect(ctx)
	o.log.Debug("list done", "found", len(rs), "elapsed", time.Since(start))
	logStats(o.log, l)
	if err != nil {
		return searchError(err)
	}
	if c.Bool("json") {
		out := make([]jsonService, 0, len(rs))
		for _, r := range rs {
			out = append(out, toJSON(r))
		}
		if err := writeJSON(c.App.Writer, out); err != nil {
			return searchError(err)
		}
	} else if len(rs) > 0 {
		if err := writeTable(c.App.Writer, rs); err != nil {
			return searchError(err)
		}
	}
	if len(rs) == 0 {
		return errNotFound
	}
	return nil
}

func runResolve(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageErrorf("resolve takes one NAME, got %d arguments", c.NArg())
	}
	name := c.Args().First()
	o, err := parseCommon(c, slog.LevelWarn)
	if err != nil {
		return err
	}
	timeout, err := timeoutFlag(c)
	if err != nil {
		return err
	}
	l, err := newListener(c, o, "NAME", name)
	if err != nil {
		return searchError(err)
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(c.Context, timeout)
	defer cancel()
	r, err := l.Resolve(ctx)
	logStats(o.log, l)
	if errors.Is(err, discover.ErrNotFound) {
		what := fmt.Sprintf("%q", clean(name, 63))
		if t := c.String("type"); t != "" {
			what += fmt.Sprintf(" of type %q", clean(t, 63))
		}
		return &exitError{code: exitNotFound, msg: fmt.Sprintf("no service named %s answered within %v", what, timeout)}
	}
	if err != nil {
		return searchError(err)
	}
	if c.Bool("json") {
		return searchError(writeJSON(c.App.Writer, toJSON(r)))
	}
	_, err = fmt.Fprintln(c.App.Writer, r.AddrPort())
	return searchError(err)
}
