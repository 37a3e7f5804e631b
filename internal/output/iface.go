package output

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/lanfind/lanfind/iface"
	tt "github.com/lanfind/lanfind/internal/termtext"
)

// Interfaces prints what "lanfind iface" shows: every interface of all,
// whether lanfind uses it (it is in sel; else unused says why not) and the
// destinations it sends to on it (targets), as a JSON array with asJSON,
// else as a table.
func Interfaces(w io.Writer, asJSON bool, all, sel []iface.Interface, targets []iface.Target,
	unused func(iface.Interface) string) error {
	out := describeIfaces(all, sel, targets, unused)
	if !asJSON {
		return writeIfaceTable(w, out)
	}
	if out == nil {
		out = []jsonIface{}
	}
	return tt.WriteJSON(w, out)
}

// jsonIface is the JSON form of one interface; the field names are part
// of the documented output.
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
	// State is an IPv6 address's state, as "ip addr" names it:
	// "tentative", "deprecated", "dadfailed" (joined with "|"); absent
	// when none.
	State string `json:"state,omitempty"`
}

// describeIfaces returns every interface of all, whether lanfind uses it
// (it is in sel, else unused says why not) and where it sends on it.
func describeIfaces(all, sel []iface.Interface, targets []iface.Target,
	unused func(iface.Interface) string) []jsonIface {
	selected := map[int]bool{}
	for _, i := range sel {
		selected[i.Index] = true
	}
	dsts := map[int][]string{}
	for _, t := range targets {
		dsts[t.IfIndex] = append(dsts[t.IfIndex], t.Dst.String())
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
			j.Reason = unused(i)
		}
		for _, a := range i.Addrs {
			ja := jsonIfAdr{Prefix: a.Prefix.String(), State: a.Flags.String()}
			if a.Broadcast.IsValid() {
				ja.Broadcast = a.Broadcast.String()
			}
			j.Addrs = append(j.Addrs, ja)
		}
		j.Targets = append(j.Targets, dsts[i.Index]...)
		out = append(out, j)
	}
	return out
}

// writeIfaceTable prints the interfaces as a table.
func writeIfaceTable(w io.Writer, out []jsonIface) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tINDEX\tFLAGS\tADDRESS\tBROADCAST\tUSED")
	for _, j := range out {
		used := "yes"
		if !j.Selected {
			used = "no: " + j.Reason
		}
		addrs, brds := []string{}, []string{}
		for _, a := range j.Addrs {
			if a.State != "" {
				a.Prefix += " (" + a.State + ")"
			}
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
