package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/lanfind/lanfind/iface"
	tt "github.com/lanfind/lanfind/internal/termtext"
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

type jsonIface struct {
	Name     string      `json:"name"`
	Index    int         `json:"index"`
	Flags    []string    `json:"flags"`
	MTU      int         `json:"mtu"`
	MAC      string      `json:"mac"`
	Addrs    []jsonIfAdr `json:"addrs"`
	Selected bool        `json:"selected"`
	Reason   string      `json:"reason,omitempty"`
	Targets  []string    `json:"targets"`
}

type jsonIfAdr struct {
	Prefix    string `json:"prefix"`
	Broadcast string `json:"broadcast,omitempty"`
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
	sel, selErr := iface.Select(all, opts.ifaces, opts.excludes)
	if selErr != nil && len(opts.ifaces) > 0 {
		err := runtimeError(selErr)
		if ee, ok := err.(*exitError); ok {
			ee.hint = "run \"lanfind iface\" without --iface to see every interface " +
				"and why each is or is not used"
		}
		return err
	}
	out := describeIfaces(all, sel, opts.common)
	if opts.json {
		if out == nil {
			out = []jsonIface{}
		}
		err = tt.WriteJSON(s.Out, out)
	} else {
		err = writeIfaceTable(s, out)
	}
	if err != nil {
		return runtimeError(err)
	}
	if selErr != nil {
		// Showing the interfaces worked; say why lanfind would not run here.
		fmt.Fprintf(s.Err, "lanfind: warning: %s\n", selErr)
	}
	return nil
}

// describeIfaces returns every interface of all, and whether and how
// lanfind uses it with o, having selected sel.
func describeIfaces(all, sel []iface.Interface, o common) []jsonIface {
	selected := map[int]bool{}
	for _, i := range sel {
		selected[i.Index] = true
	}
	targets := map[int][]string{}
	for _, t := range iface.Targets(sel, iface.TargetOptions{
		Group:       o.group,
		Port:        o.port,
		NoBroadcast: o.noBroadcast,
		NoMulticast: o.noMulticast,
	}) {
		targets[t.IfIndex] = append(targets[t.IfIndex], t.Dst.String())
	}
	var out []jsonIface
	for _, i := range all {
		j := jsonIface{
			Name:     i.Name,
			Index:    i.Index,
			Flags:    strings.Split(i.Flags.String(), "|"),
			MTU:      i.MTU,
			MAC:      i.HardwareAddr.String(),
			Addrs:    []jsonIfAdr{},
			Selected: selected[i.Index],
			Targets:  []string{},
		}
		if i.Flags == 0 {
			j.Flags = []string{}
		}
		if !j.Selected {
			j.Reason = notSelectedReason(i, o)
		}
		for _, a := range i.Addrs {
			ja := jsonIfAdr{Prefix: a.Prefix.String()}
			if a.Broadcast.IsValid() {
				ja.Broadcast = a.Broadcast.String()
			}
			j.Addrs = append(j.Addrs, ja)
		}
		j.Targets = append(j.Targets, targets[i.Index]...)
		out = append(out, j)
	}
	return out
}

// writeIfaceTable prints the interfaces as a table.
func writeIfaceTable(s streams, out []jsonIface) error {
	tw := tabwriter.NewWriter(s.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tINDEX\tFLAGS\tADDRESS\tBROADCAST\tUSED")
	for _, j := range out {
		used := "yes"
		if !j.Selected {
			used = "no: " + j.Reason
		}
		addrs, brds := []string{}, []string{}
		for _, a := range j.Addrs {
			addrs = append(addrs, a.Prefix)
			brds = append(brds, tt.OrDash(a.Broadcast))
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n",
			tt.Clean(j.Name, 16),
			j.Index,
			strings.Join(j.Flags, ","),
			tt.OrDash(strings.Join(addrs, ",")),
			tt.OrDash(strings.Join(brds, ",")),
			used)
	}
	return tw.Flush()
}

// notSelectedReason says why i, an interface Select passed over, is not used.
func notSelectedReason(i iface.Interface, o common) string {
	switch ok, why := i.Usable(); {
	case iface.MatchName(o.excludes, i.Name):
		return "excluded by --exclude-iface"
	case !ok:
		return why
	default:
		return "not named by --iface"
	}
}
