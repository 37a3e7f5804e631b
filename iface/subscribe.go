package iface

import (
	"slices"
	"time"
)

// Subscriber is a [Lister] that can report changes to the interfaces it
// lists. The system listers implement it: [Netlink] through netlink
// subscriptions bound to its namespace, the fallback on other systems by
// listing again every few seconds. [Static] does not.
type Subscriber interface {
	Lister
	// Subscribe starts watching the lister's interfaces (links, their
	// flags, and their IPv4 addresses) and returns at once, or with an
	// error when watching cannot start. After one or more changes it sends
	// on ch: one pending send stands for every change since the last one
	// was received, so a busy receiver sees one notification, never a
	// backlog, and never misses a change. When done is closed it stops,
	// closes ch, and has then left no goroutine behind; the caller owns ch
	// and done.
	Subscribe(ch chan<- struct{}, done <-chan struct{}) error
}

// pollChanges watches l by listing it every interval and comparing, for
// listers the system cannot notify about changes. It follows the contract
// of [Subscriber.Subscribe].
func pollChanges(l Lister, interval time.Duration, ch chan<- struct{}, done <-chan struct{}) error {
	last, err := l.Interfaces()
	if err != nil {
		return err
	}
	go func() {
		defer close(ch)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		pending := false
		for {
			var out chan<- struct{}
			if pending {
				out = ch
			}
			select {
			case <-done:
				return
			case out <- struct{}{}:
				pending = false
			case <-tick.C:
				cur, err := l.Interfaces()
				if err != nil {
					continue // try again next time
				}
				if !slices.EqualFunc(cur, last, equalInterface) {
					last, pending = cur, true
				}
			}
		}
	}()
	return nil
}

func equalInterface(a, b Interface) bool {
	return a.Index == b.Index && a.Name == b.Name && a.Flags == b.Flags && a.MTU == b.MTU &&
		slices.Equal(a.HardwareAddr, b.HardwareAddr) && slices.Equal(a.Addrs, b.Addrs)
}
