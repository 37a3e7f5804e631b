package doctor

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/iface"
	"github.com/lanfind/lanfind/internal/endpoint"
	"github.com/lanfind/lanfind/internal/termtext"
	"github.com/lanfind/lanfind/seal"
)

// How long the probe listens by default.
const (
	DefaultListen     = time.Second
	DefaultPeerListen = 6 * time.Second // longer than the default announce interval
)

// Config says what to check. The zero value checks this host with
// lanfind's defaults.
type Config struct {
	// The settings lanfind runs with on this host, with the defaults
	// announce and discover give them: the port (28471), the multicast
	// group (239.255.70.70), the interfaces (every usable one, see
	// [iface.Select]), both ways of sending, and no keys.
	Port              uint16
	Group             netip.Addr
	Interfaces        []string
	ExcludeInterfaces []string
	NoBroadcast       bool
	NoMulticast       bool
	Group6            netip.Addr // IPv6 group; invalid: ff02::efff:4646
	NoIPv4            bool       // leave IPv4 out, as --no-ipv4
	NoIPv6            bool       // leave IPv6 out, as --no-ipv6
	Keys              seal.Keys  // seal the probe and open what is heard
	// Peer names a service whose visibility to explain. Defaults to none.
	Peer string
	// Type, with Peer, is the service's type. Defaults to any.
	Type string
	// Listen is how long the probe listens. Defaults to [DefaultListen],
	// or [DefaultPeerListen] with Peer.
	Listen time.Duration
	// Lister lists interfaces. Defaults to the system lister.
	Lister iface.Lister
	// Logger receives debug logs. Nil discards them.
	Logger *slog.Logger
}

// Levels of a finding.
const (
	LevelOK      = "ok"
	LevelNote    = "note"
	LevelProblem = "problem"
)

// Finding is one line of the doctor's report; its JSON form is documented.
type Finding struct {
	Level   string `json:"level"`   // ok, note or problem
	Check   string `json:"check"`   // iface, bridge, port, ipv6, firewall, multicast, self, keys, peer
	Message string `json:"message"` // plain words
	Hint    string `json:"hint,omitempty"`
}

// Problems returns how many of fs are problems.
func Problems(fs []Finding) int {
	n := 0
	for _, f := range fs {
		if f.Level == LevelProblem {
			n++
		}
	}
	return n
}

// Summary returns the last line of a report of fs, such as "no problem
// found (2 notes)".
func Summary(fs []Finding) string {
	notes := 0
	for _, f := range fs {
		if f.Level == LevelNote {
			notes++
		}
	}
	if n := Problems(fs); n > 0 {
		return fmt.Sprintf("%s found (%s)", plural(n, "problem"), plural(notes, "note"))
	}
	return fmt.Sprintf("no problem found (%s)", plural(notes, "note"))
}

// report collects findings.
type report struct{ findings []Finding }

func (r *report) add(level, check, hint, format string, args ...any) {
	r.findings = append(r.findings, Finding{
		Level:   level,
		Check:   check,
		Message: fmt.Sprintf(format, args...),
		Hint:    hint,
	})
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func withDefaults(cfg Config) Config {
	if cfg.Port == 0 {
		cfg.Port = beacon.DefaultPort
	}
	if !cfg.Group.IsValid() {
		cfg.Group = beacon.DefaultGroup
	}
	if !cfg.Group6.IsValid() {
		cfg.Group6 = beacon.DefaultGroup6
	}
	if cfg.Listen <= 0 {
		cfg.Listen = DefaultListen
		if cfg.Peer != "" {
			cfg.Listen = DefaultPeerListen
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg
}

// Run checks this host as cfg says and returns the findings, in order. It
// fails only when it cannot list the interfaces; everything else that goes
// wrong is a finding.
func Run(ctx context.Context, cfg Config) ([]Finding, error) {
	cfg = withDefaults(cfg)
	lister := cfg.Lister
	if lister == nil {
		l, closeLister, err := iface.System()
		if err != nil {
			return nil, err
		}
		defer closeLister()
		lister = l
	}
	all, err := lister.Interfaces()
	if err != nil {
		return nil, err
	}
	var r report
	all = iface.Families(all, !cfg.NoIPv4, !cfg.NoIPv6)
	sel := checkInterfaces(&r, all, cfg)
	if len(sel) > 0 && !cfg.NoMulticast {
		checkBridges(&r, sel, cfg.NoBroadcast)
	}
	if len(sel) > 0 {
		checkNetwork(ctx, &r, all, cfg)
	}
	checkMDNS(&r)
	return r.findings, nil
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
// likely belongs to, and the prefix that says so, or "" when it does not
// look like one.
func containerKind(name string) (what, prefix string) {
	for _, c := range containerPrefixes {
		if strings.HasPrefix(name, c.prefix) {
			return c.what, c.prefix
		}
	}
	return "", ""
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
		return iface.NoAddress
	}
	return strings.Join(as, ", ")
}

// checkInterfaces reports on every interface and returns the selected ones.
func checkInterfaces(r *report, all []iface.Interface, cfg Config) []iface.Interface {
	sel, selErr := iface.Select(all, cfg.Interfaces, cfg.ExcludeInterfaces)
	selected := map[int]bool{}
	running := 0
	for _, i := range sel {
		selected[i.Index] = true
		if i.Flags&iface.FlagRunning != 0 {
			running++
		}
	}
	for _, i := range all {
		name := termtext.Clean(i.Name, 16)
		if !selected[i.Index] {
			reason := iface.NotSelectedReason(i, cfg.ExcludeInterfaces)
			switch {
			case reason == "no broadcast or multicast" && looksLikeTunnel(i):
				r.add(LevelNote, "iface", "",
					"%s is not used: a point-to-point link (a VPN tunnel?) without broadcast or "+
						"multicast; beacons do not cross it", name)
			case reason == "loopback":
				r.add(LevelNote, "iface", "",
					"%s is not used: loopback (lanfind uses it only when named with --iface)", name)
			default:
				r.add(LevelNote, "iface", "", "%s is not used: %s", name, reason)
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
		container, prefix := containerKind(i.Name)
		switch {
		case i.Flags&iface.FlagRunning == 0 && running == 0:
			r.add(LevelProblem, "iface",
				"check the cable, Wi-Fi association or the link's other end",
				"%s is used but has no carrier: nothing it sends leaves this host", desc)
		case i.Flags&iface.FlagRunning == 0:
			r.add(LevelNote, "iface", "", "%s is used but has no carrier (cable unplugged?)", desc)
		case container != "":
			r.add(LevelNote, "iface", fmt.Sprintf("to skip it: --exclude-iface '%s*'", prefix),
				"%s is used, but it looks like %s: only local containers or VMs are on it", desc,
				container)
		case looksLikeTunnel(i):
			r.add(LevelNote, "iface", fmt.Sprintf("to skip it: --exclude-iface %s", name),
				"%s is used, but it looks like a VPN tunnel: whether beacons cross it depends on "+
					"the VPN", desc)
		default:
			r.add(LevelOK, "iface", "", "%s is used", desc)
		}
	}
	if selErr != nil {
		r.add(LevelProblem, "iface",
			"run \"lanfind iface\" for the list; --iface and --exclude-iface choose interfaces",
			"%v", selErr)
		r.add(LevelNote, "iface", "",
			"skipped the port, firewall, multicast and self checks: no interface to check")
		return nil
	}
	return sel
}

// checkNetwork runs the checks that open sockets: the port, firewall,
// multicast membership, the self probe and the peer. Its sockets are
// those of an endpoint, as announce's and discover's are, over the
// interfaces all listed and checkInterfaces reported on.
func checkNetwork(ctx context.Context, r *report, all []iface.Interface, cfg Config) {
	port := cfg.Port
	ep, err := endpoint.New(endpoint.Config{
		Port:              port,
		Group:             cfg.Group,
		Group6:            cfg.Group6,
		NoIPv4:            cfg.NoIPv4,
		NoIPv6:            cfg.NoIPv6,
		Interfaces:        cfg.Interfaces,
		ExcludeInterfaces: cfg.ExcludeInterfaces,
		NoBroadcast:       cfg.NoBroadcast,
		NoMulticast:       cfg.NoMulticast,
		Lister:            iface.Static(all),
		Logger:            cfg.Logger,
		Keys:              cfg.Keys,
		KeepOtherIface:    true, // what is heard there is reported
	})
	if err != nil {
		r.add(LevelProblem, "self", "", "skipped the port, multicast and self checks: %v", err)
		checkFirewall(ctx, r, port)
		return
	}
	defer ep.Close()
	// Read the socket table before binding, so it does not list ours.
	owners, ownersErr := udpSocketsOn(port)
	plan := ep.Plan()
	in, err := ep.Listen(endpoint.Socket{Port: port})
	if !cfg.NoIPv4 && plan.Uses(endpoint.IPv4) {
		if err4 := ep.FamilyErr(endpoint.IPv4); err4 != nil {
			reportPortBlocked(r, port, owners, ownersErr, err4)
		} else {
			reportPortShared(r, port, owners, ownersErr)
		}
	}
	if !cfg.NoIPv6 {
		reportIPv6(r, plan, port, ep.FamilyErr(endpoint.IPv6))
	}
	checkFirewall(ctx, r, port)
	if err != nil {
		r.add(LevelNote, "self", "", "skipped the multicast and self checks: they need UDP port %d",
			port)
		return
	}
	plan = ep.Plan() // without a family that failed
	for _, f := range ep.Families() {
		if cfg.NoMulticast || !plan.Uses(f) {
			continue
		}
		members := endpoint.Members(plan.Selected, f)
		if f == endpoint.IPv6 {
			checkMulticast(r, in.Socket(f), members, plan.Group6, igmp6Groups)
		} else {
			checkMulticast(r, in.Socket(f), members, plan.Group, igmpGroups)
		}
	}
	out, err := ep.Listen(endpoint.Socket{})
	if err != nil {
		r.add(LevelProblem, "self", "", "cannot open a socket to send the probe: %v", err)
		return
	}
	p := newProbe(plan, cfg)
	cfg.Logger.Debug("doctor: listening", "port", port, "for", cfg.Listen)
	p.run(ctx, ep, in, out)
	p.report(r)
}

// reportIPv6 says whether lanfind can use IPv6: a socket that failed (err)
// is a problem where a selected interface has an IPv6 address (IPv4 goes
// on working), a note elsewhere.
func reportIPv6(r *report, plan *endpoint.Plan, port uint16, err error) {
	var with []string
	for _, i := range plan.Selected {
		if i.Has6() {
			with = append(with, termtext.Clean(i.Name, 16))
		}
	}
	switch {
	case err != nil && len(with) > 0:
		r.add(LevelProblem, "ipv6",
			"lanfind works over IPv4 only here; --no-ipv6 says so without this problem",
			"cannot open the IPv6 socket on [::]:%d: %v", port, err)
	case err != nil:
		r.add(LevelNote, "ipv6", "", "IPv6 not available (%v): lanfind works over IPv4 only", err)
	case len(with) == 0:
		r.add(LevelNote, "ipv6", "",
			"no interface in use has an IPv6 address: lanfind works over IPv4 only")
	default:
		r.add(LevelOK, "ipv6", "", "UDP port %d can be bound on IPv6; interfaces with IPv6: %s",
			port, strings.Join(with, ", "))
	}
}
