// Package ifacetest provides an [iface.Subscriber] whose interfaces a test
// replaces at runtime, for unprivileged tests of how announce and discover
// follow interface changes (tier 2, with internal/udp/udptest). It uses
// only channels, so it works inside a testing/synctest bubble (create it
// inside the bubble).
package ifacetest

import (
	"sync"

	"github.com/lanfind/lanfind/iface"
)

// Lister is an iface.Subscriber over a list the test sets. Its methods are
// safe for concurrent use.
type Lister struct {
	// mu guards ifs and subs.
	mu   sync.Mutex
	ifs  iface.Static
	subs map[chan struct{}]bool // each subscription's 1-buffered wake-up
}

var _ iface.Subscriber = (*Lister)(nil)

// New returns a Lister that lists ifs.
func New(ifs ...iface.Interface) *Lister {
	return &Lister{ifs: ifs, subs: map[chan struct{}]bool{}}
}

// Interfaces returns a copy of the current list.
func (l *Lister) Interfaces() ([]iface.Interface, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ifs.Interfaces()
}

// Set replaces the list and notifies every subscription.
func (l *Lister) Set(ifs ...iface.Interface) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ifs = ifs
	for wake := range l.subs {
		select {
		case wake <- struct{}{}:
		default: // a notification is pending already and stands for this one
		}
	}
}

// Subscribe follows the contract of iface.Subscriber.Subscribe.
func (l *Lister) Subscribe(ch chan<- struct{}, done <-chan struct{}) error {
	wake := make(chan struct{}, 1)
	l.mu.Lock()
	l.subs[wake] = true
	l.mu.Unlock()
	go func() {
		defer close(ch)
		defer func() {
			l.mu.Lock()
			delete(l.subs, wake)
			l.mu.Unlock()
		}()
		for {
			select {
			case <-done:
				return
			case <-wake:
			}
			select {
			case ch <- struct{}{}:
			case <-done:
				return
			}
		}
	}()
	return nil
}
