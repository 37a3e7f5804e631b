//go:build !linux

package iface

import (
	"fmt"
	"net"
	"time"
)

// System returns the lister for this host: the standard library's interface
// list, with each broadcast address derived from the netmask. close does
// nothing.
func System() (l Lister, close func(), err error) {
	return stdlib{}, func() {}, nil
}

// stdlib lists interfaces with package net.
type stdlib struct{}

var _ Subscriber = stdlib{}

// pollInterval is how often the fallback lister is listed again to find
// changes.
const pollInterval = 5 * time.Second

// Subscribe reports changes by listing the interfaces again every few
// seconds: package net offers no change notification.
func (s stdlib) Subscribe(ch chan<- struct{}, done <-chan struct{}) error {
	return pollChanges(s, pollInterval, ch, done)
}

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
