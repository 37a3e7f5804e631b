package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/lanfind/lanfind/internal/doctor"
	"github.com/lanfind/lanfind/internal/termtext"
)

// doctorCommand is "lanfind doctor": see package internal/doctor for the
// checks and what a finding says.
func doctorCommand() *cli.Command {
	return &cli.Command{
		Name:      "doctor",
		Usage:     "check this host for what keeps lanfind from working, in plain words",
		UsageText: "lanfind doctor [--peer NAME [--type T]] [--timeout D] [--iface IF]... [--json]",
		Description: "Checks the interfaces, the lanfind port, local firewall rules, " +
			"multicast membership, and\n" +
			"whether this host hears its own probe on each interface (it sends a few queries).\n" +
			"With --peer NAME it also explains why the service NAME is not seen.\n" +
			"Each line starts with ok:, note: or problem:. " +
			"Exit status: 0 when no problem was found,\n" +
			"1 when one was, 2 on a bad command line.",
		Flags: commonFlags(
			&cli.StringFlag{
				Name:  "peer",
				Usage: "explain why the service `NAME` is or is not seen",
			},
			&cli.StringFlag{Name: "type", Usage: "with --peer: the service's `TYPE`"},
			&cli.DurationFlag{
				Name: "timeout",
				Usage: "listen for `D` " +
					"(with --peer: longer than the default announce interval)",
				DefaultText: "1s, or 6s with --peer",
			},
			flagJSON,
			flagSocket,
		),
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageErrorf("doctor takes no arguments, got %q (use --peer NAME)",
					c.Args().First())
			}
			o, s, err := bindShared(c, c.App.ErrWriter, slog.LevelWarn)
			if err != nil {
				return s.exit(err)
			}
			opts := doctorOptions{
				common:  o,
				peer:    c.String("peer"),
				typ:     c.String("type"),
				timeout: c.Duration("timeout"),
				json:    c.Bool("json"),
				socket:  socketPath(c),
			}
			return s.exit(runDoctor(c.Context, s, opts))
		},
	}
}

// doctorOptions is what "lanfind doctor" is asked to do.
type doctorOptions struct {
	common
	peer, typ string
	timeout   time.Duration // 0: the default
	json      bool
	socket    string // --socket: a resident serve's, "" for none
}

func runDoctor(ctx context.Context, s streams, opts doctorOptions) error {
	if err := checkName("--peer", opts.peer, false); err != nil {
		return err
	}
	if err := checkName("--type", opts.typ, false); err != nil {
		return err
	}
	if opts.typ != "" && opts.peer == "" {
		return usageErrorf("--type needs --peer")
	}
	if opts.timeout < 0 {
		return usageErrorf("--timeout %v: want a positive duration such as 2s", opts.timeout)
	}
	fs, err := doctor.Run(ctx, doctor.Config{
		Port:              opts.port,
		Group:             opts.group,
		Interfaces:        opts.ifaces,
		ExcludeInterfaces: opts.excludes,
		NoBroadcast:       opts.noBroadcast,
		NoMulticast:       opts.noMulticast,
		NoIPv4:            opts.noIPv4,
		NoIPv6:            opts.noIPv6,
		Keys:              opts.keys,
		Peer:              opts.peer,
		Type:              opts.typ,
		Listen:            opts.timeout,
		Logger:            s.Log,
	})
	if err != nil {
		return runtimeError(err)
	}
	fs = append(fs, residentFinding(ctx, opts.socket))
	if err := writeFindings(s, fs, opts.json); err != nil {
		return runtimeError(err)
	}
	if doctor.Problems(fs) > 0 {
		return &exitError{code: exitFailure}
	}
	return nil
}

// writeFindings prints fs as JSON, or one line per finding (and its hint)
// and a summary.
func writeFindings(s streams, fs []doctor.Finding, asJSON bool) error {
	if asJSON {
		if fs == nil {
			fs = []doctor.Finding{}
		}
		return termtext.WriteJSON(s.Out, fs)
	}
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "%s: %s\n", f.Level, f.Message)
		if f.Hint != "" {
			fmt.Fprintf(&b, "  hint: %s\n", f.Hint)
		}
	}
	fmt.Fprintf(&b, "summary: %s\n", doctor.Summary(fs))
	_, err := s.Out.Write([]byte(b.String()))
	return err
}
