package iface

import (
	"fmt"
	"net"
	"net/netip"
	"path"
	"slices"
	"strings"
)

// Flags describes an interface's link state and capabilities.
type Flags uint32

// Interface flags.
const (
	FlagUp Flags = 1 << iota
	FlagRunning
	FlagBroadcast
	FlagMulticast
	FlagLoopback
	FlagPointToPoint
)

var flagNames = []string{
	"up",
	"running",
	"broadcast",
	"multicast",
	"loopback",
	"pointtopoint",
}

// String returns the set flags' names joined with "|", e.g.
// "up|broadcast|multicast", or "0" when none is set. Unknown bits are shown
// in hexadecimal.
func (f Flags) String() string {
	if f == 0 {
		return "0"
	}
	var names []string
	for i, name := range flagNames {
		if f&(1<<i) != 0 {
			names = append(names, name)
		}
	}
	if rest := f &^ (1<<len(flagNames) - 1); rest != 0 {
		names = append(names, fmt.Sprintf("%#x", uint32(rest)))
	}
	return strings.Join(names, "|")
}

// fromNetFlags converts the standard library's flags, which the netlink
// package reuses for its link attributes.
func fromNetFlags(nf net.Flags) Flags {
	var f Flags
	for _, m := range []struct {
		n net.Flags
		f Flags
	}{
		{net.FlagUp, FlagUp},
		{net.FlagRunning, FlagRunning},
		{net.FlagBroadcast, FlagBroadcast},
		{net.FlagMulticast, FlagMulticast},
		{net.FlagLoopback, FlagLoopback},
		{net.FlagPointToPoint, FlagPointToPoint},
	} {
		if nf&m.n != 0 {
			f |= m.f
		}
	}
	return f
}

// AddrFlags describes the state of an IPv6 address (RFC 4862): whether
// duplicate address detection (DAD) has finished and whether the address
// is still preferred. IPv4 addresses have none set.
type AddrFlags uint8

// Address flags.
const (
	// AddrTentative: DAD has not finished. The kernel neither sends
	// from nor receives on the address yet; it becomes usable (and the
	// change is reported) when DAD ends.
	AddrTentative AddrFlags = 1 << iota
	// AddrDeprecated: the preferred lifetime has run out. The address
	// still works but should not be handed out for new connections while
	// a preferred one exists.
	AddrDeprecated
	// AddrDADFailed: DAD found another host with the address. It is
	// never usable.
	AddrDADFailed
)

var addrFlagNames = []string{"tentative", "deprecated", "dadfailed"}

// String returns the set flags' names joined with "|" as "ip addr"
// spells them, or "" when none is set.
func (f AddrFlags) String() string {
	var names []string
	for i, name := range addrFlagNames {
		if f&(1<<i) != 0 {
			names = append(names, name)
		}
	}
	return strings.Join(names, "|")
}

// Addr is one IPv4 or IPv6 address of an interface.
type Addr struct {
	// Prefix is the interface address with its prefix length, e.g.
	// 10.77.0.10/24 or fd00:77::10/64. IPv6 addresses carry no zone.
	Prefix netip.Prefix
	// Broadcast is the subnet's directed broadcast address: the address's
	// broadcast attribute, or computed from the prefix when absent. It is
	// invalid (the zero Addr) for /31 and /32 prefixes and for IPv6,
	// which has no broadcast.
	Broadcast netip.Addr
	// Flags is the state of an IPv6 address; zero for IPv4.
	Flags AddrFlags
}

// String returns the address in the style of "ip addr", e.g.
// "10.77.0.10/24 brd 10.77.0.255" or "fe80::1/64 tentative", leaving out
// "brd" when there is no broadcast address.
func (a Addr) String() string {
	s := a.Prefix.String()
	if a.Broadcast.IsValid() {
		s += " brd " + a.Broadcast.String()
	}
	if a.Flags != 0 {
		s += " " + strings.ReplaceAll(a.Flags.String(), "|", " ")
	}
	return s
}

// Usable reports whether the address can be sent from and received on:
// it is valid and, for IPv6, neither tentative nor DAD-failed.
func (a Addr) Usable() bool {
	return a.Prefix.IsValid() && a.Flags&(AddrTentative|AddrDADFailed) == 0
}

// Is6 reports whether the address is an IPv6 address.
func (a Addr) Is6() bool { return a.Prefix.Addr().Is6() }

// IsSubnetAddr reports whether a is an address of ad's subnet that no
// single host owns: its directed broadcast address (ad.Broadcast, or the
// one [BroadcastOf] computes) or its network address (host bits zero; for
// IPv4 prefixes up to /30, which older kernels route as a broadcast, and
// for IPv6 prefixes up to /126, the subnet-router anycast address). A
// datagram from one is forged, and an answer sent back to one would reach
// every host of the subnet (or a router).
func (ad Addr) IsSubnetAddr(a netip.Addr) bool {
	a = a.Unmap().WithZone("")
	p := ad.Prefix
	return a.IsValid() && (ad.Broadcast == a || BroadcastOf(p) == a ||
		p.Bits() <= p.Addr().BitLen()-2 && p.Masked().Addr() == a)
}

// BroadcastOf returns the directed broadcast address of the IPv4 subnet p
// (RFC 919, RFC 922): p's address with all host bits set. It returns the zero
// Addr when p is invalid, not IPv4 (IPv4-mapped IPv6 included) or longer than
// /30, since /31 and /32 prefixes have no broadcast address.
func BroadcastOf(p netip.Prefix) netip.Addr {
	if !p.IsValid() || !p.Addr().Is4() || p.Bits() > 30 {
		return netip.Addr{}
	}
	a := p.Addr().As4()
	for i := range a {
		// Host bits within byte i: all bits at positions >= p.Bits().
		hostBits := min(max(8*(i+1)-p.Bits(), 0), 8)
		a[i] |= byte(1<<hostBits - 1)
	}
	return netip.AddrFrom4(a)
}

// newAddr builds an Addr from a netmask-style address as both the netlink
// package and the standard library report them. brd is the configured
// broadcast address, nil or unspecified when absent. ok is false unless
// ipnet is IPv4 or IPv6 with a canonical mask.
func newAddr(ipnet *net.IPNet, brd net.IP) (a Addr, ok bool) {
	if ipnet == nil {
		return Addr{}, false
	}
	ip, ok := netip.AddrFromSlice(ipnet.IP)
	if !ok {
		return Addr{}, false
	}
	ones, bits := ipnet.Mask.Size()
	if ip.Is6() && !ip.Is4In6() {
		if bits != 128 {
			return Addr{}, false
		}
		return Addr{Prefix: netip.PrefixFrom(ip, ones)}, true
	}
	ip = ip.Unmap()
	switch {
	case bits == 32:
	case bits == 128 && ones >= 96:
		ones -= 96
	default:
		return Addr{}, false
	}
	a.Prefix = netip.PrefixFrom(ip, ones)
	if b, ok := netip.AddrFromSlice(brd); ok && !b.Unmap().IsUnspecified() && b.Unmap().Is4() {
		a.Broadcast = b.Unmap()
	} else {
		a.Broadcast = BroadcastOf(a.Prefix)
	}
	return a, true
}

// Interface is a network interface and its IPv4 and IPv6 addresses.
type Interface struct {
	Index        int
	Name         string
	Flags        Flags
	MTU          int
	HardwareAddr net.HardwareAddr
	Addrs        []Addr
}

// String returns a one-line summary for logs, e.g.
// "eth0 (2) up|running|broadcast|multicast 10.77.0.10/24 brd 10.77.0.255".
func (i Interface) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%d) %v", i.Name, i.Index, i.Flags)
	for _, a := range i.Addrs {
		b.WriteString(" ")
		b.WriteString(a.String())
	}
	return b.String()
}

// Usable reports whether lanfind uses i when no interface is named: i must
// be up, not a loopback, broadcast- or multicast-capable and have a usable
// address ([Addr.Usable]; an IPv6 link-local address is enough). When it is
// not usable, reason says why: "down", "loopback", "no broadcast or
// multicast" or "no address" (see [NoAddress]).
func (i Interface) Usable() (ok bool, reason string) {
	switch {
	case i.Flags&FlagUp == 0:
		return false, "down"
	case i.Flags&FlagLoopback != 0:
		return false, "loopback"
	case i.Flags&(FlagBroadcast|FlagMulticast) == 0:
		return false, "no broadcast or multicast"
	case !i.hasAddr():
		return false, NoAddress
	}
	return true, ""
}

// NoAddress is the reason [Interface.Usable] gives for an interface with
// no usable IPv4 or IPv6 address.
const NoAddress = "no address"

func (i Interface) hasAddr() bool {
	return slices.ContainsFunc(i.Addrs, Addr.Usable)
}

// Has4 reports whether i has an IPv4 address.
func (i Interface) Has4() bool {
	return slices.ContainsFunc(i.Addrs, func(a Addr) bool { return a.Usable() && !a.Is6() })
}

// Has6 reports whether i has a usable IPv6 address (link-local included):
// whether it can send and receive IPv6 multicast.
func (i Interface) Has6() bool {
	return slices.ContainsFunc(i.Addrs, func(a Addr) bool { return a.Usable() && a.Is6() })
}

// Contains reports whether a lies inside one of i's prefixes, that is
// whether a is on-link for i. IPv4-mapped IPv6 addresses are unmapped first
// and zones ignored; an IPv6 link-local address is on-link for i when its
// zone is empty, i's name or i's index.
func (i Interface) Contains(a netip.Addr) bool {
	return OnLink(i, a)
}

// Advertised returns the addresses of i that lanfind lists for it: the
// IPv4 ones, and the usable IPv6 ones, the link-local one only where i has
// nothing wider, and a deprecated one only where it has no preferred one.
func (i Interface) Advertised() []netip.Addr {
	wide := func(a Addr) bool { return !a.Prefix.Addr().IsLinkLocalUnicast() }
	preferred := func(a Addr) bool { return a.Flags&AddrDeprecated == 0 }
	var v6 []Addr
	for _, a := range i.Addrs {
		if a.Is6() && a.Usable() {
			v6 = append(v6, a)
		}
	}
	if slices.ContainsFunc(v6, wide) {
		v6 = slices.DeleteFunc(v6, func(a Addr) bool { return !wide(a) })
	}
	if slices.ContainsFunc(v6, preferred) {
		v6 = slices.DeleteFunc(v6, func(a Addr) bool { return !preferred(a) })
	}
	var out []netip.Addr
	for _, a := range i.Addrs {
		if !a.Is6() || slices.Contains(v6, a) {
			out = append(out, a.Prefix.Addr())
		}
	}
	return out
}

// Source6 returns the IPv6 address lanfind sends from out of i: the first
// IPv6 address it advertises ([Interface.Advertised]) where that is wider
// than link-local, else the zero Addr (the kernel's choice, link-local,
// which i then advertises). The kernel alone would pick the link-local
// address for link-local-scope destinations (RFC 6724 rule 2), an address
// a keyed listener does not find in the records.
func (i Interface) Source6() netip.Addr {
	for _, a := range i.Advertised() {
		if a.Is6() && !a.IsLinkLocalUnicast() {
			return a
		}
	}
	return netip.Addr{}
}

// Families returns a copy of all with only the addresses of the families
// kept: IPv4 when v4, IPv6 when v6. An interface left with no address is
// not [Interface.Usable]; that is how a family is switched off.
func Families(all []Interface, v4, v6 bool) []Interface {
	out := cloneAll(all)
	for k := range out {
		out[k].Addrs = slices.DeleteFunc(out[k].Addrs, func(a Addr) bool {
			return a.Is6() && !v6 || !a.Is6() && !v4
		})
	}
	return out
}

// clone returns a copy of i that shares no memory with it.
func (i Interface) clone() Interface {
	i.HardwareAddr = slices.Clone(i.HardwareAddr)
	i.Addrs = slices.Clone(i.Addrs)
	return i
}

func cloneAll(all []Interface) []Interface {
	if all == nil {
		return nil
	}
	out := make([]Interface, len(all))
	for k, i := range all {
		out[k] = i.clone()
	}
	return out
}

// SelectError is returned by [Select] when the interfaces asked for cannot
// be used: a configuration problem rather than a failure of the system, or,
// when [SelectError.Temporary], the interfaces' current state.
type SelectError struct {
	msg       string // without the "iface: " prefix
	temporary bool
}

func (e *SelectError) Error() string { return "iface: " + e.msg }

// Reason returns the error's text without the package prefix, for a
// program that reports it as its own: 'no interface named "eth9"'.
func (e *SelectError) Reason() string { return e.msg }

// Temporary reports whether the selection failed only because of the
// interfaces' current state: an interface it would take is down or has no
// address yet (a cable not plugged in, Wi-Fi not yet associated, late
// DHCP, IPv6 duplicate address detection still running), so the same
// selection may succeed later. A name or glob that picks no interface at
// all, a malformed pattern, or exclusions that leave nothing are not
// temporary.
func (e *SelectError) Temporary() bool { return e.temporary }

// mayComeUp reports whether one of all that pattern matches (every one
// when pattern is "") and no exclude matches is unusable only for its
// current state, down or without an address, which may change.
func mayComeUp(all []Interface, pattern string, excludes []string) bool {
	return slices.ContainsFunc(all, func(i Interface) bool {
		if ok, _ := path.Match(pattern, i.Name); pattern != "" && !ok {
			return false
		}
		ok, reason := i.Usable()
		return !ok && (reason == "down" || reason == NoAddress) && !MatchName(excludes, i.Name)
	})
}

// Select chooses the interfaces lanfind works on from all, as a Lister
// returned them.
//
// With no names it takes every [Interface.Usable] interface. With names it
// takes what they name: a plain name picks that interface, which must exist,
// be up and have a usable address (a loopback interface is allowed when
// named); a glob (a [path.Match] pattern with *, ? or [...], such as "eth*")
// picks every usable interface whose name it matches, and must match at
// least one. Then it drops every interface whose name matches one of
// excludes (globs or plain names; an exclude that matches nothing is fine).
//
// It fails with a [*SelectError] when a pattern is malformed, a name or glob
// picks nothing, or nothing is left; the error lists each interface passed
// over and why. The result is sorted by index (stably), has no duplicates
// and shares no memory with all.
func Select(all []Interface, names, excludes []string) ([]Interface, error) {
	for _, p := range slices.Concat(names, excludes) {
		if _, err := path.Match(p, ""); err != nil {
			return nil, &SelectError{msg: fmt.Sprintf("bad interface pattern %q: %v", p, err)}
		}
	}
	var picked []Interface
	var why []string // interfaces passed over, "name: reason"
	if len(names) == 0 {
		for _, i := range all {
			if ok, reason := i.Usable(); ok {
				picked = append(picked, i)
			} else {
				why = append(why, i.Name+": "+reason)
			}
		}
		if len(picked) == 0 {
			if len(all) == 0 {
				why = []string{"no interfaces"}
			}
			return nil, &SelectError{
				msg:       fmt.Sprintf("no usable interface (%s)", strings.Join(why, "; ")),
				temporary: mayComeUp(all, "", excludes),
			}
		}
	} else {
		seen := make(map[int]bool, len(names))
		add := func(i Interface) {
			if !seen[i.Index] {
				seen[i.Index] = true
				picked = append(picked, i)
			}
		}
		for _, name := range names {
			if !IsGlob(name) {
				i, err := named(all, name)
				if err != nil {
					return nil, err
				}
				add(i)
				continue
			}
			var matched, usable int
			var skipped []string
			for _, i := range all {
				if ok, _ := path.Match(name, i.Name); !ok {
					continue
				}
				matched++
				if ok, reason := i.Usable(); !ok {
					skipped = append(skipped, i.Name+": "+reason)
					continue
				}
				usable++
				add(i)
			}
			switch {
			case matched == 0:
				return nil, &SelectError{msg: fmt.Sprintf("no interface matches %q", name)}
			case usable == 0:
				return nil, &SelectError{
					msg:       fmt.Sprintf("no usable interface matches %q (%s)", name, strings.Join(skipped, "; ")),
					temporary: mayComeUp(all, name, excludes),
				}
			}
		}
	}
	var out []Interface
	var excluded []string
	for _, i := range picked {
		if MatchName(excludes, i.Name) {
			excluded = append(excluded, i.Name)
			continue
		}
		out = append(out, i.clone())
	}
	if len(out) == 0 {
		if len(names) == 0 {
			for _, n := range excluded {
				why = append(why, n+": excluded")
			}
			return nil, &SelectError{
				msg:       fmt.Sprintf("no usable interface (%s)", strings.Join(why, "; ")),
				temporary: mayComeUp(all, "", excludes),
			}
		}
		return nil, &SelectError{
			msg: fmt.Sprintf("every interface selected is excluded (%s)", strings.Join(excluded, ", ")),
		}
	}
	sortByIndex(out)
	return out, nil
}

// named returns the interface called name, which must be up with a usable
// address.
func named(all []Interface, name string) (Interface, error) {
	k := slices.IndexFunc(all, func(i Interface) bool { return i.Name == name })
	if k < 0 {
		return Interface{}, &SelectError{msg: fmt.Sprintf("no interface named %q", name)}
	}
	i := all[k]
	if i.Flags&FlagUp == 0 {
		return Interface{}, &SelectError{msg: fmt.Sprintf("%s is down", name), temporary: true}
	}
	if !i.hasAddr() {
		return Interface{}, &SelectError{
			msg:       fmt.Sprintf("%s has no address", name),
			temporary: true,
		}
	}
	return i, nil
}

// IsGlob reports whether the interface pattern p is a glob, that is whether
// it has one of the [path.Match] metacharacters *, ? or [ (or an escaping
// backslash), rather than being a plain name.
func IsGlob(p string) bool { return strings.ContainsAny(p, `*?[\`) }

// MatchName reports whether name matches one of patterns, each a plain
// interface name or a [path.Match] glob. A malformed pattern matches
// nothing ([Select] reports it).
func MatchName(patterns []string, name string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

// Lister lists the interfaces of one network namespace (or host).
// Implementations are safe for concurrent use.
type Lister interface {
	Interfaces() ([]Interface, error)
}

// Static is a fixed list of interfaces, for tests.
type Static []Interface

var _ Lister = Static(nil)

// Interfaces returns a deep copy of s, so callers may modify the result.
// It is safe for concurrent use as long as nobody modifies s itself.
func (s Static) Interfaces() ([]Interface, error) {
	return cloneAll(s), nil
}
