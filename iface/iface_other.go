//go:build !linux

package iface

import (
	"fmt"
	"net"
)

// System returns the lister for this host: the standard library's interface
// list, with each broadcast address derived from the netmask. close does
// nothing.
func System() (l Lister, close func(), err error) {
	return stdlib{}, func() {}, nil
}

// stdlib lists interfaces with package net.
type stdlib struct{}

func (stdlib) Interfaces() ([]Interface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("iface: list interfaces: %w", err)
	}
	out := make([]Interface, 0, len(ifs))
	for _, ni := range ifs {
		addrs, err := ni.Addrs()
		if err != nil {
			return nil, fmt.Errorf("iface: list addresses of %s: %w", ni.Name, err)
		}
		out = append(out, fromNet(ni, addrs))
	}
	sortByIndex(out)
	return out, nil
}
