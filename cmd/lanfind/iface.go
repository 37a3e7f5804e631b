package main

import (
	"fmt"
	"log/slog"
	"os"
	"path"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/lanfind/lanfind/iface"
)

func ifaceCommand() *cli.Command {
	return &cli.Command{
		Name:      "iface",
		Usage:     "show interfaces, their addresses and which lanfind uses",
		UsageText: "lanfind iface [--iface IF]... [--exclude-iface IF]... [--json]",
		Flags:     commonFlags(flagJSON),
		Action:    runIface,
	}
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

func runIface(c *cli.Context) error {
	if c.Args().Present() {
		return usageErrorf("iface takes no arguments, got %q", c.Args().First())
	}
	o, err := parseCommon(c, slog.LevelWarn)
	if err != nil {
		return err
	}
	lister, closeLister, err := iface.System()
	if err != nil {
		return runtimeError(err)
	}
	defer closeLister()
	all, err := lister.Interfaces()
	if err != nil {
		return runtimeError(err)
	}
	sel, selErr := iface.Select(all, o.ifaces, o.excludes)
	if selErr != nil && len(o.ifaces) > 0 {
		err := runtimeError(selErr)
		if ee, ok := err.(*exitError); ok {
			ee.hint = "run \"lanfind iface\" without --iface to see every interface and why each is or is not used"
		}
		return err
	}
	selected := map[int]bool{}
	for _, i := range sel {
		selected[i.Index] = true
	}
	targets := map[int][]string{}
	for _, t := range iface.Targets(sel, iface.TargetOptions{Group: o.group, Port: o.port, NoBroadcast: o.noBroadcast, NoMulticast: o.noMulticast}) {
		targets[t.IfIndex] = append(targets[t.IfIndex], t.Dst.String())
	}
	var out []jsonIface
	for _, i := range all {
		j := jsonIface{Name: i.Name, Index: i.Index, Flags: strings.Split(i.Flags.String(), "|"), MTU: i.MTU,
			MAC: i.HardwareAddr.String(), Addrs: []jsonIfAdr{}, Selected: selected[i.Index], Targets: []string{}}
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
	if c.Bool("json") {
		if out == nil {
			out = []jsonIface{}
		}
		if err := writeJSON(c.App.Writer, out); err != nil {
			return runtimeError(err)
		}
	} else {
		tw := tabwriter.NewWriter(c.App.Writer, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tINDEX\tFLAGS\tADDRESS\tBROADCAST\tUSED")
		for _, j := range out {
			used := "yes"
			if !j.Selected {
				used = "no: " + j.Reason
			}
			addrs, brds := []string{}, []string{}
			for _, a := range j.Addrs {
				addrs = append(addrs, a.Prefix)
				brds = append(brds, orDash(a.Broadcast))
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", clean(j.Name, 16), j.Index, strings.Join(j.Flags, ","),
				orDash(strings.Join(addrs, ",")), orDash(strings.Join(brds, ",")), used)
		}
		if err := tw.Flush(); err != nil {
			return runtimeError(err)
		}
	}
	if selErr != nil {
		// Showing the interfaces worked; say why lanfind would not run here.
		fmt.Fprintf(c.App.ErrWriter, "lanfind: warning: %s\n", selErr)
	}
	return nil
}

// ifacePatterns returns the interface names and globs given with the flag
// named flag. Each value may hold several, separated by commas, so that
// LANFIND_EXCLUDE_IFACE='docker*,veth*' works. A variable set to the empty
// string means no pattern.
func ifacePatterns(c *cli.Context, flag, env string) ([]string, error) {
	var out []string
	for _, v := range c.StringSlice(flag) {
		if e, set := os.LookupEnv(env); v == "" && set && e == "" {
			continue
		}
		for p := range strings.SplitSeq(v, ",") {
			_, err := path.Match(p, "")
			switch {
			case err != nil:
				return nil, usageErrorf("--%s %q: not a valid glob (%v)", flag, p, err)
			case p == "", strings.ContainsAny(p, "/ \t\n"), !iface.IsGlob(p) && len(p) > 15, len(p) > 64:
				return nil, usageErrorf("--%s %q: not an interface name", flag, p)
			}
			out = append(out, p)
		}
	}
	return out, nil
}

// notSelectedReason says why i, an interface Select passed over, is not used.
func notSelectedReason(i iface.Interface, o common) string {
	return iface.NotSelectedReason(i, o.excludes)
}
