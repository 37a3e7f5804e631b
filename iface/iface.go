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

// Addr is one IPv4 address of an interface.
type Addr struct {
	// Prefix is the interface address with its prefix length, e.g. 10.77.0.10/24.
	Prefix netip.Prefix
	// Broadcast is the subnet's directed broadcast address: the address's
	// broadcast attribute, or computed from the prefix when absent. It is
	// invalid (the zero Addr) for /31 and /32 prefixes.
	Broadcast netip.Addr
}

// String returns the address in the style of "ip addr", e.g.
// "10.77.0.10/24 brd 10.77.0.255", leaving out "brd" when there is no
// broadcast address.
func (a Addr) String() string {
	if !a.Broadcast.IsValid() {
		return a.Prefix.String()
	}
	return a.Prefix.String() + " brd " + a.Broadcast.String()
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
// ipnet is IPv4 with a canonical mask.
func newAddr(ipnet *net.IPNet, brd net.IP) (a Addr, ok bool) {
	if ipnet == nil {
		return Addr{}, false
	}
	ip, ok := netip.AddrFromSlice(ipnet.IP)
	if !ok {
		return Addr{}, false
	}
	ip = ip.Unmap()
	if !ip.Is4() {
		return Addr{}, false
	}
	ones, bits := ipnet.Mask.Size()
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

// Interface is a network interface and its IPv4 addresses.
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
// be up, not a loopback, broadcast- or multicast-capable and have an IPv4
// address. When it is not usable, reason says why: "down", "loopback",
// "no broadcast or multicast" or "no IPv4 address".
func (i Interface) Usable() (ok bool, reason string) {
	switch {
	case i.Flags&FlagUp == 0:
		return false, "down"
	case i.Flags&FlagLoopback != 0:
		return false, "loopback"
	case i.Flags&(FlagBroadcast|FlagMulticast) == 0:
		return false, "no broadcast or multicast"
	case !i.hasIPv4():
		return false, "no IPv4 address"
	}
	return true, ""
}

func (i Interface) hasIPv4() bool {
	for _, a := range i.Addrs {
		if a.Prefix.IsValid() && a.Prefix.Addr().Is4() {
			return true
		}
	}
	return false
}

// Contains reports whether a lies inside one of i's prefixes, that is
// whether a is on-link for i. IPv4-mapped IPv6 addresses are unmapped first.
func (i Interface) Contains(a netip.Addr) bool {
	a = a.Unmap()
	for _, ad := range i.Addrs {
		if ad.Prefix.Contains(a) {
			return true
		}
	}
	return false
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
// IPv4 address yet (a cable not plugged in, Wi-Fi not yet associated, late
// DHCP), so the same selection may succeed later. A name or glob that picks
// no interface at all, a malformed pattern, or exclusions that leave nothing
// are not temporary.
func (e *SelectError) Temporary() bool { return e.temporary }

// mayComeUp reports whether one of all that pattern matches (every one
// when pattern is "") and no exclude matches is unusable only for its
// current state, down or without an IPv4 address, which may change.
func mayComeUp(all []Interface, pattern string, excludes []string) bool {
	return slices.ContainsFunc(all, func(i Interface) bool {
		if ok, _ := path.Match(pattern, i.Name); pattern != "" && !ok {
			return false
		}
		ok, reason := i.Usable()
		return !ok && (reason == "down" || reason == "no IPv4 address") && !MatchName(excludes, i.Name)
	})
}

// Select chooses the interfaces lanfind works on from all, as a Lister
// returned them.
//
// With no names it takes every [Interface.Usable] interface. With names it
// takes what they name: a plain name picks that interface, which must exist,
// be up and have an IPv4 address (a loopback interface is allowed when
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

// named returns the interface called name, which must be up with an IPv4
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
	if !i.hasIPv4() {
		return Interface{}, &SelectError{
			msg:       fmt.Sprintf("%s has no IPv4 address", name),
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
