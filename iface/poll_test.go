package iface

import (
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// changing is a Lister whose interfaces a test replaces at runtime.
type changing struct {
	mu  sync.Mutex // guards ifs
	ifs []Interface
}

func (c *changing) Interfaces() ([]Interface, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return cloneAll(c.ifs), nil
}

func (c *changing) set(ifs []Interface) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ifs = ifs
}

// TestPollChanges checks the fallback watcher: a change is reported within
// one poll interval, no change reports nothing, and closing done closes
// the channel.
func TestPollChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		eth0 := Interface{Index: 2, Name: "eth0", Flags: FlagUp | FlagBroadcast,
			Addrs: []Addr{{Prefix: netip.MustParsePrefix("10.0.0.1/24")}}}
		l := &changing{ifs: []Interface{eth0}}
		ch := make(chan struct{})
		done := make(chan struct{})
		if err := pollChanges(l, time.Second, ch, done); err != nil {
			t.Fatal(err)
		}
		got := func() bool {
			synctest.Wait()
			select {
			case <-ch:
				return true
			default:
				return false
			}
		}

		time.Sleep(3 * time.Second)
		if got() {
			t.Fatal("notified without a change")
		}
		eth0.Addrs = append(eth0.Addrs, Addr{Prefix: netip.MustParsePrefix("10.0.1.1/24")})
		l.set([]Interface{eth0})
		time.Sleep(time.Second)
		if !got() {
			t.Fatal("no notification one interval after a change")
		}
		time.Sleep(3 * time.Second)
		if got() {
			t.Fatal("notified twice for one change")
		}
		l.set(nil)
		l.set([]Interface{eth0}) // changed and back between two polls: nothing to report
		time.Sleep(time.Second)
		if got() {
			t.Fatal("notified although the list is as before")
		}
		close(done)
		synctest.Wait()
		if _, open := <-ch; open {
			t.Fatal("channel still open after done")
		}
	})
}
