package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/lanfind/lanfind/iface"
	"github.com/lanfind/lanfind/internal/udp"
)

// doctorCommand is "lanfind doctor". It checks this host the way a user
// debugs a silent LAN and says what it finds, one finding per line:
//
//	ok: …        this part works
//	note: …      worth knowing, not a fault
//	problem: …   this keeps lanfind from working
//	  hint: …    what to do about the problem above
//
// Checks, in order: interfaces (selected and why others are not), the
// lanfind port (free, shared, or held by a process that blocks it), local
// firewall rules for the port, multicast group membership, whether this
// host hears its own probe on each interface, and, with --peer, why a named
// service is or is not seen. The probe is a query for a name nobody
// announces (or for --peer's name), sent once per destination and attempt:
// acceptable only because a user asked for the check.
func doctorCommand() *cli.Command {
	return &cli.Command{
		Name:      "doctor",
		Usage:     "check this host for what keeps lanfind from working, in plain words",
		UsageText: "lanfind doctor [--peer NAME [--type T]] [--timeout D] [--iface IF]... [--json]",
		Description: "Checks the interfaces, the lanfind port, local firewall rules, multicast membership, and\n" +
			"whether this host hears its own probe on each interface (it sends a few queries).\n" +
			"With --peer NAME it also explains why the service NAME is not seen.\n" +
			"Each line starts with ok:, note: or problem:. Exit status: 0 when no problem was found,\n" +
			"1 when one was, 2 on a bad command line.",
		Flags: commonFlags(
			&cli.StringFlag{Name: "peer", Usage: "explain why the service `NAME` is or is not seen"},
			&cli.StringFlag{Name: "type", Usage: "with --peer: the service's `TYPE`"},
			&cli.DurationFlag{Name: "timeout", Usage: "listen for `D` (with --peer: longer than the default announce interval)", DefaultText: "1s, or 6s with --peer"},
			flagJSON,
		),
		Action: runDoctor,
	}
}

// Levels of a finding.
const (
	levelOK      = "ok"
	levelNote    = "note"
	levelProblem = "problem"
)

// finding is one line of the doctor's report; the JSON form is documented.
type finding struct {
	Level   string `json:"level"`   // ok, note or problem
	Check   string `json:"check"`   // iface, port, firewall, multicast, self, peer
	Message string `json:"message"` // plain words
	Hint    string `json:"hint,omitempty"`
}

type report struct{ findings []finding }

func (r *report) add(level, check, hint, format string, args ...any) {
	r.findings = append(r.findings, finding{Level: level, Check: check, Message: fmt.Sprintf(format, args...), Hint: hint})
}

func (r *report) problems() int {
	n := 0
	for _, f := range r.findings {
		if f.Level == levelProblem {
			n++
		}
	}
	return n
}

// doctorOptions are the doctor's own flags.
type doctorOptions struct {
	common
	peer, typ string
	listen    time.Duration
	log       *slog.Logger
}

func runDoctor(c *cli.Context) error {
	if c.Args().Present() {
		return usageErrorf("doctor takes no arguments, got %q (use --peer NAME)", c.Args().First())
	}
	o, s, err := bindShared(c, c.App.ErrWriter, slog.LevelWarn)
	if err != nil {
		return s.exit(err)
	}
	d := doctorOptions{common: o, log: s.Log, peer: c.String("peer"), typ: c.String("type")}
	if err := checkName("--peer", d.peer, false); err != nil {
		return err
	}
	if err := checkName("--type", d.typ, false); err != nil {
		return err
	}
	if d.typ != "" && d.peer == "" {
		return usageErrorf("--type needs --peer")
	}
	d.listen = c.Duration("timeout")
	switch {
	case d.listen < 0:
		return usageErrorf("--timeout %v: want a positive duration such as 2s", d.listen)
	case d.listen == 0 && d.peer != "":
		d.listen = 6 * time.Second
	case d.listen == 0:
		d.listen = time.Second
	}

	var r report
	lister, closeLister, err := iface.System()
	if err != nil {
		return runtimeError(err)
	}
	all, err := lister.Interfaces()
	closeLister()
	if err != nil {
		return runtimeError(err)
	}
	sel := checkInterfaces(&r, all, d.common)
	if len(sel) > 0 {
		checkNetwork(c.Context, &r, all, sel, d)
	}
	if err := writeReport(c, &r); err != nil {
		return runtimeError(err)
	}
	if r.problems() > 0 {
		return &exitError{code: exitFailure}
	}
	return nil
}

func writeReport(c *cli.Context, r *report) error {
	if c.Bool("json") {
		fs := r.findings
		if fs == nil {
			fs = []finding{}
		}
		return writeJSON(c.App.Writer, fs)
	}
	var b strings.Builder
	notes := 0
	for _, f := range r.findings {
		fmt.Fprintf(&b, "%s: %s\n", f.Level, f.Message)
		if f.Hint != "" {
			fmt.Fprintf(&b, "  hint: %s\n", f.Hint)
		}
		if f.Level == levelNote {
			notes++
		}
	}
	switch n := r.problems(); n {
	case 0:
		fmt.Fprintf(&b, "summary: no problem found (%s)\n", plural(notes, "note"))
	default:
		fmt.Fprintf(&b, "summary: %s found (%s)\n", plural(n, "problem"), plural(notes, "note"))
	}
	_, err := c.App.Writer.Write([]byte(b.String()))
	return err
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// containerPrefixes are names of interfaces container and VM managers
// create: bridges and the host ends of veth pairs.
var containerPrefixes = []struct{ prefix, what string }{
	{"docker", "a Docker bridge"},
	{"br-", "a Docker network bridge"},
	{"veth", "the host end of a container's veth pair"},
	{"virbr", "a libvirt bridge"},
	{"vnet", "a libvirt VM interface"},
	{"lxcbr", "an LXC bridge"},
	{"lxdbr", "an LXD bridge"},
	{"podman", "a Podman bridge"},
	{"cni", "a CNI (Kubernetes) bridge"},
	{"flannel", "a flannel overlay"},
	{"cali", "a Calico interface"},
	{"kube", "a Kubernetes interface"},
}

// containerKind says which container or VM manager an interface named name
// likely belongs to, or "" when it does not look like one.
func containerKind(name string) string {
	for _, c := range containerPrefixes {
		if strings.HasPrefix(name, c.prefix) {
			return c.what
		}
	}
	return ""
}

// tunnelPrefixes are names of VPN interfaces.
var tunnelPrefixes = []string{"wg", "tun", "tap", "tailscale", "zt", "ppp", "ipsec", "vti", "gre"}

func looksLikeTunnel(i iface.Interface) bool {
	if i.Flags&iface.FlagPointToPoint != 0 {
		return true
	}
	for _, p := range tunnelPrefixes {
		if strings.HasPrefix(i.Name, p) {
			return true
		}
	}
	return false
}

func addrList(i iface.Interface) string {
	var as []string
	for _, a := range i.Addrs {
		as = append(as, a.Prefix.String())
	}
	if len(as) == 0 {
		return "no IPv4 address"
	}
	return strings.Join(as, ", ")
}

// checkInterfaces reports on every interface and returns the selected ones.
func checkInterfaces(r *report, all []iface.Interface, o common) []iface.Interface {
	sel, selErr := iface.Select(all, o.ifaces, o.excludes)
	selected := map[int]bool{}
	for _, i := range sel {
		selected[i.Index] = true
	}
	running := 0
	for _, i := range sel {
		if i.Flags&iface.FlagRunning != 0 {
			running++
		}
	}
	for _, i := range all {
		name := clean(i.Name, 16)
		if !selected[i.Index] {
			reason := notSelectedReason(i, o)
			switch {
			case reason == "no broadcast or multicast" && looksLikeTunnel(i):
				r.add(levelNote, "iface", "", "%s is not used: a point-to-point link (a VPN tunnel?) without broadcast or multicast; beacons do not cross it", name)
			case reason == "loopback":
				r.add(levelNote, "iface", "", "%s is not used: loopback (lanfind uses it only when named with --iface)", name)
			default:
				r.add(levelNote, "iface", "", "%s is not used: %s", name, reason)
			}
			continue
		}
		flags := []string{"up"}
		if i.Flags&iface.FlagBroadcast != 0 {
			flags = append(flags, "broadcast")
		}
		if i.Flags&iface.FlagMulticast != 0 {
			flags = append(flags, "multicast")
		}
		desc := fmt.Sprintf("%s (%s; %s)", name, strings.Join(flags, ", "), addrList(i))
		switch {
		case i.Flags&iface.FlagRunning == 0 && running == 0:
			r.add(levelProblem, "iface", "check the cable, Wi-Fi association or the link's other end",
				"%s is used but has no carrier: nothing it sends leaves this host", desc)
		case i.Flags&iface.FlagRunning == 0:
			r.add(levelNote, "iface", "", "%s is used but has no carrier (cable unplugged?)", desc)
		case containerKind(i.Name) != "":
			r.add(levelNote, "iface", fmt.Sprintf("to skip it: --exclude-iface '%s*'", containerPrefix(i.Name)),
				"%s is used, but it looks like %s: only local containers or VMs are on it", desc, containerKind(i.Name))
		case looksLikeTunnel(i):
			r.add(levelNote, "iface", fmt.Sprintf("to skip it: --exclude-iface %s", name),
				"%s is used, but it looks like a VPN tunnel: whether beacons cross it depends on the VPN", desc)
		default:
			r.add(levelOK, "iface", "", "%s is used", desc)
		}
	}
	if selErr != nil {
		r.add(levelProblem, "iface", "run \"lanfind iface\" for the list; --iface and --exclude-iface choose interfaces",
			"%v", selErr)
		r.add(levelNote, "iface", "", "skipped the port, firewall, multicast and self checks: no interface to check")
		return nil
	}
	return sel
}

func containerPrefix(name string) string {
	for _, c := range containerPrefixes {
		if strings.HasPrefix(name, c.prefix) {
			return c.prefix
		}
	}
	return name
}

// checkNetwork runs the checks that open sockets: the port, firewall,
// multicast membership, the self probe and --peer.
func checkNetwork(ctx context.Context, r *report, all, sel []iface.Interface, d doctorOptions) {
	port := d.port
	// Read the socket table before binding, so it does not list ours.
	owners, ownersErr := udpSocketsOn(port)
	conn, err := udp.Listen(ctx, netip.AddrPortFrom(netip.IPv4Unspecified(), port), udp.Options{})
	if err != nil {
		reportPortBlocked(r, port, owners, ownersErr, err)
	} else {
		defer conn.Close()
		reportPortShared(r, port, owners, ownersErr)
	}
	checkFirewall(ctx, r, port)
	if conn == nil {
		r.add(levelNote, "self", "", "skipped the multicast and self checks: they need UDP port %d", port)
		return
	}
	if !d.noMulticast {
		checkMulticast(r, conn, sel, d.group)
	}
	out, err := udp.Listen(ctx, netip.AddrPort{}, udp.Options{})
	if err != nil {
		r.add(levelProblem, "self", "", "cannot open a socket to send the probe: %v", err)
		return
	}
	defer out.Close()
	p := newProbe(all, sel, d)
	d.log.Debug("doctor: listening", "port", port, "for", d.listen)
	p.run(ctx, conn, out)
	p.report(r)
}
