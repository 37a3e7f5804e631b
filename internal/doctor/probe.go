package doctor

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/iface"
	"github.com/lanfind/lanfind/internal/endpoint"
	"github.com/lanfind/lanfind/internal/termtext"
	"github.com/lanfind/lanfind/internal/udp"
)

// probeName is the service name doctor queries for when no --peer is
// given: nobody announces it, so the probe makes no announcer answer.
const probeName = "lanfind-doctor-probe"

// checkMulticast joins the group on each selected multicast-capable
// interface and, where the system lists memberships (groups lists them,
// by device), checks the kernel has them.
func checkMulticast(r *report, conn udp.Conn, sel []iface.Interface, group netip.Addr,
	groups func() (map[string][]netip.Addr, error)) {
	joined := map[int]bool{}
	any := false
	for _, i := range sel {
		if i.Flags&iface.FlagMulticast == 0 {
			continue
		}
		any = true
		hint := "lanfind still works by broadcast there; check the interface's multicast settings"
		if group.Is6() {
			hint = "IPv6 has no broadcast: lanfind does not work over IPv6 there; " +
				"check the interface's multicast settings"
		}
		if err := conn.JoinGroup(i.Index, group); err != nil {
			r.add(LevelProblem, "multicast", hint,
				"cannot join %s on %s: %v", group, termtext.Clean(i.Name, 16), err)
			continue
		}
		joined[i.Index] = true
	}
	if !any {
		r.add(LevelNote, "multicast", "",
			"no interface in use is multicast-capable: lanfind uses broadcast only")
		return
	}
	listed, listErr := groups() // after joining: the kernel's view of the joins
	for _, i := range sel {
		if !joined[i.Index] {
			continue
		}
		name := termtext.Clean(i.Name, 16)
		switch {
		case listErr != nil:
			r.add(LevelOK, "multicast", "", "joined %s on %s", group, name)
		case slices.Contains(listed[i.Name], group):
			r.add(LevelOK, "multicast", "", "joined %s on %s (the kernel lists the membership)",
				group, name)
		default:
			r.add(LevelProblem, "multicast", "",
				"joined %s on %s, but the kernel does not list the membership", group, name)
		}
	}
}

// target names one destination of the probe: (arrival) interface and
// destination address.
type target struct {
	ifIndex int
	dst     netip.Addr
}

// sighting is one service record heard from another host.
type sighting struct {
	at      time.Time
	kind    beacon.Kind
	src     netip.Addr
	ifIndex int
	svc     beacon.Service
	// answer: the record came in a reply to the probe's own query, so
	// the query -> reply path to its host works.
	answer bool
}

// probe sends queries on every destination lanfind would use and listens on
// the lanfind port: for its own queries (the self check) and, with --peer,
// for the named service on every interface.
type probe struct {
	cfg      Config
	ifs      map[int]iface.Interface // every interface, by index
	selected map[int]bool
	targets  []iface.Target
	sender   uint64
	request  uint64
	start    time.Time

	heard  map[target]bool      // own probe, by where it arrived
	others map[int][]netip.Addr // other lanfind hosts, by arrival interface
	names  map[string]bool      // every service name heard
	peer   []sighting           // records named cfg.Peer; see sight
	// peerInstances counts the distinct instances in peer.
	peerInstances int
	// drops are what the endpoint dropped while the probe listened:
	// foreign traffic, what this version cannot read, and keyed-mode drops.
	drops endpoint.DropStats
}

// newProbe returns a probe of the interfaces and destinations of plan.
func newProbe(plan *endpoint.Plan, cfg Config) *probe {
	p := &probe{
		cfg:      cfg,
		ifs:      map[int]iface.Interface{},
		selected: map[int]bool{},
		targets:  plan.Targets,
		sender:   endpoint.RandomID(),
		request:  endpoint.RandomID(),
		heard:    map[target]bool{},
		others:   map[int][]netip.Addr{},
		names:    map[string]bool{},
	}
	for _, i := range plan.All {
		p.ifs[i.Index] = i
	}
	for _, i := range plan.Selected {
		p.selected[i.Index] = true
	}
	return p
}

// attempts are when the probe's query is sent, from the start: a repeat
// covers a lost copy on a busy LAN.
var attempts = []time.Duration{0, 300 * time.Millisecond, time.Second}

// run sends the probe's queries out of out, sealed by ep's codec, and takes
// in what ep reads from in and out until the listening time is over, ctx
// ends, or (without a peer to look for) the probe came back by every
// destination. in and out are sockets of ep; they stay open.
func (p *probe) run(ctx context.Context, ep *endpoint.Endpoint, in, out *endpoint.Conn) {
	r := startReading(ep, slices.Concat(in.Sockets(), out.Sockets())...)
	defer func() {
		r.Close()
		p.drops = ep.Drops.Load()
	}()
	p.start = time.Now()
	deadline := time.NewTimer(p.cfg.Listen)
	defer deadline.Stop()
	next := time.NewTimer(0)
	defer next.Stop()
	sent := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-deadline.C:
			return
		case <-next.C:
			p.send(ep, out, sent)
			sent++
			if sent < len(attempts) {
				next.Reset(attempts[sent] - time.Since(p.start))
			}
		case pkt := <-r.pkts:
			p.receive(pkt)
			if p.cfg.Peer == "" && len(p.heard) >= len(p.targets) && p.allHeard() {
				return
			}
		}
	}
}

func (p *probe) allHeard() bool {
	for _, t := range p.targets {
		if !p.heard[target{t.IfIndex, t.Dst.Addr()}] {
			return false
		}
	}
	return true
}

func (p *probe) send(ep *endpoint.Endpoint, out *endpoint.Conn, attempt int) {
	name := p.cfg.Peer
	if name == "" {
		name = probeName
	}
	b := beacon.Beacon{
		Kind:      beacon.KindQuery,
		Sender:    p.sender,
		Seq:       uint32(attempt + 1),
		RequestID: p.request,
		Query:     &beacon.Query{Attempt: uint8(attempt), Name: name},
	}
	msg, err := ep.Codec.Encode(&b)
	if err != nil {
		p.cfg.Logger.Error("doctor: marshal probe", "err", err)
		return
	}
	for _, t := range p.targets {
		if _, err := out.WriteTo(msg, t.Dst, t.IfIndex); err != nil {
			p.cfg.Logger.Warn("doctor: send probe", "iface", t.IfName, "dst", t.Dst, "err", err)
		}
	}
}

// receive takes in one lanfind message; the endpoint has counted and
// dropped everything else.
func (p *probe) receive(pkt packet) {
	b, meta := &pkt.d.Beacon, pkt.d.Meta
	if b.Sender == p.sender {
		if b.Kind == beacon.KindQuery && b.RequestID == p.request {
			p.heard[target{meta.IfIndex, meta.Dst}] = true
		}
		return
	}
	src := pkt.d.Src.Addr().Unmap()
	if srcs := p.others[meta.IfIndex]; len(srcs) < maxOthers && !slices.Contains(srcs, src) {
		p.others[meta.IfIndex] = append(srcs, src)
	}
	for _, s := range b.Services {
		if len(p.names) < maxNames {
			p.names[s.Name] = true
		}
		if p.cfg.Peer != "" && s.Name == p.cfg.Peer {
			p.sight(sighting{
				at:      pkt.at,
				kind:    b.Kind,
				src:     src,
				ifIndex: meta.IfIndex,
				svc:     s,
				answer:  b.Kind == beacon.KindReply && b.RequestID == p.request,
			})
		}
	}
}

// What the probe keeps of what it hears, so that a flood of forged
// datagrams (any source address, name or instance ID) costs doctor bounded
// memory and time and a report of bounded length.
const (
	maxOthers        = 256  // other hosts' addresses per interface
	maxNames         = 1024 // service names
	maxPeerInstances = 16   // instances of --peer reported
	maxSightings     = 1024 // records of --peer, all instances
)

// sight records s, a record of the --peer service, within the caps above.
func (p *probe) sight(s sighting) {
	if len(p.peer) >= maxSightings {
		return
	}
	if !slices.ContainsFunc(p.peer,
		func(o sighting) bool { return o.svc.Instance == s.svc.Instance }) {
		if p.peerInstances >= maxPeerInstances {
			return
		}
		p.peerInstances++
	}
	p.peer = append(p.peer, s)
}

func (p *probe) ifName(index int) string {
	if i, ok := p.ifs[index]; ok {
		return termtext.Clean(i.Name, 16)
	}
	return fmt.Sprintf("interface %d", index)
}

func (p *probe) report(r *report) {
	p.reportSelf(r)
	p.reportOthers(r)
	if p.cfg.Peer != "" {
		p.reportPeer(r)
	}
}

// reportSelf says, per interface, whether the probe came back by each
// destination.
func (p *probe) reportSelf(r *report) {
	var order []int
	byIf := map[int][]iface.Target{}
	for _, t := range p.targets {
		if _, ok := byIf[t.IfIndex]; !ok {
			order = append(order, t.IfIndex)
		}
		byIf[t.IfIndex] = append(byIf[t.IfIndex], t)
	}
	for _, idx := range order {
		var ok, missing []string
		for _, t := range byIf[idx] {
			how := "broadcast to " + t.Dst.Addr().String()
			if t.Dst.Addr().IsMulticast() {
				how = "multicast to " + t.Dst.Addr().String()
			}
			if p.heard[target{idx, t.Dst.Addr()}] {
				ok = append(ok, how)
			} else {
				missing = append(missing, how)
			}
		}
		name := p.ifName(idx)
		if len(ok) > 0 {
			r.add(LevelOK, "self", "", "%s hears its own probe: %s", name, strings.Join(ok, ", "))
		}
		if len(missing) > 0 {
			r.add(LevelProblem, "self",
				"a local firewall (see above) or a sandbox may drop it; other hosts may not hear "+
					"this one either",
				"%s did not hear its own probe sent by %s within %v", name,
				strings.Join(missing, ", "), p.cfg.Listen)
		}
	}
}

// reportOthers says which other lanfind hosts were heard, and what was
// dropped.
func (p *probe) reportOthers(r *report) {
	idxs := make([]int, 0, len(p.others))
	for idx := range p.others {
		idxs = append(idxs, idx)
	}
	slices.Sort(idxs)
	for _, idx := range idxs {
		srcs := p.others[idx]
		slices.SortFunc(srcs, netip.Addr.Compare)
		list := make([]string, 0, 5)
		for _, a := range srcs[:min(len(srcs), 5)] {
			list = append(list, a.String())
		}
		switch {
		case len(srcs) >= maxOthers:
			list = append(list, fmt.Sprintf("and at least %d more", len(srcs)-5))
		case len(srcs) > 5:
			list = append(list, fmt.Sprintf("and %d more", len(srcs)-5))
		}
		used := ""
		if !p.selected[idx] {
			used = ", which lanfind does not use"
		}
		r.add(LevelNote, "self", "", "heard lanfind traffic from %s on %s%s: %s",
			plural(len(srcs), "other host"), p.ifName(idx), used, strings.Join(list, ", "))
	}
	if n := p.drops.Malformed + p.drops.Unsupported; n > 0 {
		r.add(LevelNote, "self", "",
			"dropped %s with lanfind's magic that this version cannot read (a newer lanfind?)",
			plural(int(n), "datagram"))
	}
	p.reportKeys(r)
	if p.drops.Foreign > 0 {
		r.add(LevelNote, "self", "",
			"%s on UDP port %d were not lanfind's: another program uses this port on the LAN",
			plural(int(p.drops.Foreign), "datagram"), p.cfg.Port)
	}
}

// reportKeys explains the keyed-mode drops: traffic that lanfind on this
// host ignores because the two ends do not share a key, or their clocks
// disagree. Sealed traffic heard without a key is a problem on a keyed
// LAN, but only a note on one that mixes keyed and clear services (clear
// lanfind traffic from other hosts was heard too): there the keyed ones
// are not meant for this host, or doctor is run without the key on
// purpose.
func (p *probe) reportKeys(r *report) {
	sealedLevel, sealedMsg := LevelProblem, "sealed with a shared key were heard, and this host has "+
		"no key: they are ignored"
	if len(p.others) > 0 {
		sealedLevel, sealedMsg = LevelNote, "sealed with a shared key were heard, and this host has "+
			"no key: they are ignored; clear lanfind traffic was heard too, so the LAN mixes keyed "+
			"and clear services, and without a key lanfind sees only the clear ones"
	}
	for _, k := range []struct {
		n     uint64 // datagrams dropped for this reason
		level string
		hint  string
		what  string // what is counted, for plural
		msg   string // the message after the count
	}{{
		n:     p.drops.Sealed,
		level: sealedLevel,
		hint:  "run with --secret-file and the LAN's key file to see them",
		what:  "datagram",
		msg:   sealedMsg,
	}, {
		n:     p.drops.Rejected,
		level: LevelProblem,
		hint: "use the same --secret-file on both hosts " +
			"(during a rotation, a file holding the new and the previous key)",
		what: "datagram",
		msg: "failed authentication: they were sealed with a key this host does not have, " +
			"or altered",
	}, {
		n:     p.drops.Stale,
		level: LevelProblem,
		hint: "synchronise the clocks (NTP); " +
			"sealed datagrams are accepted within 30s of this host's clock",
		what: "datagram",
		msg: "opened with the key but were sent outside the replay window: " +
			"a clock is off, or someone replays old traffic",
	}, {
		n:     p.drops.Unsealed,
		level: LevelNote,
		what:  "clear datagram",
		msg:   "without a seal were ignored: with --secret-file lanfind takes only sealed traffic",
	}} {
		if k.n > 0 {
			r.add(k.level, "keys", k.hint, "%s %s", plural(int(k.n), k.what), k.msg)
		}
	}
}

// reportPeer explains why the --peer service is or is not seen: heard
// fine, heard but filtered (interface or type), heard saying goodbye, heard
// with a TTL shorter than its beacon interval (it expires), heard but not
// authenticated, or not heard at all.
func (p *probe) reportPeer(r *report) {
	name := fmt.Sprintf("%q", termtext.Clean(p.cfg.Peer, 63))
	if p.cfg.Type != "" {
		name += fmt.Sprintf(" of type %q", termtext.Clean(p.cfg.Type, 63))
	}
	// Per instance: the latest sighting says whether it said goodbye; the
	// latest one on an interface lanfind uses is how lanfind sees it.
	latest, latestUsed := map[uint64]sighting{}, map[uint64]sighting{}
	var order []uint64
	for _, s := range p.peer {
		inst := s.svc.Instance
		if _, ok := latest[inst]; !ok {
			order = append(order, inst)
		}
		latest[inst] = s
		if p.selected[s.ifIndex] {
			latestUsed[inst] = s
		}
	}
	var per report // findings per instance, before knowing whether one is fine
	found := false
	for _, inst := range order {
		s, used := latestUsed[inst]
		if !used {
			s = latest[inst]
		}
		where := fmt.Sprintf("from %s on %s", s.src, p.ifName(s.ifIndex))
		switch {
		case latest[inst].kind == beacon.KindGoodbye:
			per.add(LevelProblem, "peer", "start lanfind announce again on that host",
				"%s said goodbye %s %v ago: its announcer stopped", name, where,
				time.Since(latest[inst].at).Round(time.Millisecond))
		case !used:
			per.add(LevelProblem, "peer",
				"name that interface with --iface, or remove the --exclude-iface pattern that "+
					"matches it",
				"%s is heard %s, which lanfind does not use (%s)", name, where,
				iface.NotSelectedReason(p.ifs[s.ifIndex], p.cfg.ExcludeInterfaces))
		case p.cfg.Type != "" && s.svc.Type != p.cfg.Type:
			per.add(LevelProblem, "peer",
				fmt.Sprintf("use --type %q, or no --type", termtext.Clean(s.svc.Type, 63)),
				"a service named %q is heard %s, but its type is %q",
				termtext.Clean(p.cfg.Peer, 63), where, termtext.Clean(s.svc.Type, 63))
		default:
			if gap, ttl, ok := p.expires(inst); ok {
				per.add(LevelProblem, "peer",
					"give its announcer a --ttl of at least three --interval",
					"%s is heard %s, but its beacons came %v apart while its TTL is %v: listeners "+
						"forget it between beacons (expired)", name, where,
					gap.Round(time.Millisecond), ttl)
				continue
			}
			if !p.answered(inst) {
				// What list and resolve do: ask, and wait for the
				// unicast answer. Beacons go out; queries do not get in.
				per.add(LevelProblem, "peer",
					fmt.Sprintf("list and resolve ask by query and wait for the answer: "+
						"let UDP port %d in on that host (run \"lanfind doctor\" there)", p.cfg.Port),
					"%s: beacons heard %s, queries not answered: check the firewall on %s",
					name, where, s.src)
				continue
			}
			found = true
			per.add(LevelOK, "peer", "", "%s is heard %s: port %d, host %q, TTL %v", name, where,
				s.svc.Port, termtext.Clean(s.svc.Host, 63), s.svc.TTL)
		}
	}
	for _, f := range per.findings {
		if found && f.Level == LevelProblem {
			// Another instance is fine: lanfind finds the service.
			f.Level, f.Hint = LevelNote, ""
		}
		r.findings = append(r.findings, f)
	}
	if len(order) > 0 {
		return
	}
	hint := fmt.Sprintf("check that \"lanfind announce\" runs there, on the same subnet "+
		"(broadcast and multicast do not cross routers), with the same --discovery-port (%d) and "+
		"--group (%s), and that no firewall on that host drops UDP port %d",
		p.cfg.Port, p.cfg.Group, p.cfg.Port)
	msg := fmt.Sprintf("no beacon from %s was heard on any interface within %v", name, p.cfg.Listen)
	var near []string
	for n := range p.names {
		if strings.EqualFold(n, p.cfg.Peer) {
			near = append(near, fmt.Sprintf("%q", termtext.Clean(n, 63)))
		}
	}
	slices.Sort(near)
	switch {
	case len(near) > 0:
		msg += "; names differ in case only: " + strings.Join(near, ", ")
	case len(p.names) > 0:
		msg += fmt.Sprintf("; %s heard, so this host does hear the LAN",
			plural(len(p.names), "other service"))
	}
	r.add(LevelProblem, "peer", hint, "%s", msg)
}

// answered reports whether instance inst answered one of the probe's
// queries.
func (p *probe) answered(inst uint64) bool {
	return slices.ContainsFunc(p.peer, func(s sighting) bool { return s.svc.Instance == inst && s.answer })
}

// expires reports whether instance inst was heard announcing with gaps
// longer than its TTL, and the longest gap.
func (p *probe) expires(inst uint64) (gap, ttl time.Duration, ok bool) {
	var last time.Time
	for _, s := range p.peer {
		if s.svc.Instance != inst || s.kind != beacon.KindAnnounce {
			continue
		}
		if !last.IsZero() && s.at.Sub(last) > gap {
			gap = s.at.Sub(last)
		}
		last, ttl = s.at, s.svc.TTL
	}
	return gap, ttl, ttl > 0 && gap > ttl
}
