package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/urfave/cli/v2"

	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/iface"
	"github.com/lanfind/lanfind/internal/output"
)

func ifaceCommand() *cli.Command {
	return &cli.Command{
		Name:      "iface",
		Usage:     "show interfaces, their addresses and which lanfind uses",
		UsageText: "lanfind iface [--iface IF]... [--exclude-iface IF]... [--json]",
		Flags:     commonFlags(flagJSON),
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageErrorf("iface takes no arguments, got %q", c.Args().First())
			}
			o, s, err := bindShared(c, c.App.ErrWriter, slog.LevelWarn)
			if err != nil {
				return s.exit(err)
			}
			opts := ifaceOptions{
				common: o,
				json:   c.Bool("json"),
			}
			return s.exit(runIface(c.Context, s, opts))
		},
	}
}

// ifaceOptions are iface's flags.
type ifaceOptions struct {
	common
	json bool
}

func runIface(_ context.Context, s streams, opts ifaceOptions) error {
	lister, closeLister, err := iface.System()
	if err != nil {
		return runtimeError(err)
	}
	defer closeLister()
	all, err := lister.Interfaces()
	if err != nil {
		return runtimeError(err)
	}
	all = iface.Families(all, !opts.noIPv4, !opts.noIPv6)
	sel, selErr := iface.Select(all, opts.ifaces, opts.excludes)
	if selErr != nil && len(opts.ifaces) > 0 {
		err := runtimeError(selErr)
		if ee, ok := err.(*exitError); ok {
			ee.hint = "run \"lanfind iface\" without --iface to see every interface " +
				"and why each is or is not used"
		}
		return err
	}
	to := iface.TargetOptions{
		Port:        opts.port,
		NoBroadcast: opts.noBroadcast,
		NoMulticast: opts.noMulticast,
	}
	if !opts.noIPv4 {
		to.Group = opts.group
	}
	if !opts.noIPv6 {
		to.Group6 = beacon.DefaultGroup6
	}
	targets := iface.Targets(sel, to)
	unused := func(i iface.Interface) string { return notSelectedReason(i, opts.common) }
	if err := output.Interfaces(s.Out, opts.json, all, sel, targets, unused); err != nil {
		return runtimeError(err)
	}
	if selErr != nil {
		// Showing the interfaces worked; say why lanfind would not run here.
		fmt.Fprintf(s.Err, "lanfind: warning: %s\n", selErr)
	}
	return nil
}

// notSelectedReason says why i, an interface Select passed over, is not used.
func notSelectedReason(i iface.Interface, o common) string {
	return iface.NotSelectedReason(i, o.excludes)
}
