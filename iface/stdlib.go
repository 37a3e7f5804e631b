package iface

import (
	"cmp"
	"net"
	"slices"
)

// fromNet converts one interface of the standard library's list. Its
// broadcast addresses are computed from the netmask, since package net does
// not report them. It is the fallback lister's core, kept portable so that it
// is tested everywhere.
func fromNet(ni net.Interface, addrs []net.Addr) Interface {
	i := Interface{
		Index:        ni.Index,
		Name:         ni.Name,
		Flags:        fromNetFlags(ni.Flags),
		MTU:          ni.MTU,
		HardwareAddr: slices.Clone(ni.HardwareAddr),
	}
	for _, na := range addrs {
		ipnet, ok := na.(*net.IPNet)
		if !ok {
			continue
		}
		if a, ok := newAddr(ipnet, nil); ok {
			i.Addrs = append(i.Addrs, a)
		}
	}
	return i
}

// sortByIndex sorts interfaces by index, keeping the order of equal ones.
func sortByIndex(all []Interface) {
	slices.SortStableFunc(all, func(a, b Interface) int { return cmp.Compare(a.Index, b.Index) })
}
