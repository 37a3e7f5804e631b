package endpoint

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"reflect"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/lanfind/lanfind/iface"
	"github.com/lanfind/lanfind/internal/udp"
)

// OpenLister returns l, or when l is nil the system lister for the calling
// goroutine's namespace, which close then closes. Announce and discover
// keep the lister for their lifetime, to follow interface changes.
func OpenLister(l iface.Lister) (lister iface.Lister, close func(), err error) {
	if l != nil {
		return l, func() {}, nil
	}
	return iface.System()
}

// Replan lists and selects the interfaces again with c's rules, for a
// plan p that NewPlan made from c. Unlike NewPlan it accepts that nothing
// is usable: the plan then has no interfaces and no targets, and err says
// why (for a log line). When listing fails it returns p unchanged and the
// error.
func Replan(c Config, p Plan) (Plan, error) {
	all, err := c.Lister.Interfaces()
	if err != nil {
		return p, fmt.Errorf("list interfaces: %w", err)
	}
	return c.plan(p, all)
}

// Diff returns the interfaces of now that were not in before (by index),
// gained or lost an address (IPv4 or IPv6, or an IPv6 address changed
// state: what beacons list changed) or gained carrier ([iface.FlagRunning]:
// a link set up is selected at once but passes traffic only then), and
// those of before that are no longer in now.
func Diff(before, now []iface.Interface) (added, removed []iface.Interface) {
	for _, n := range now {
		k := slices.IndexFunc(before, HasIndex(n.Index))
		if k < 0 || n.Flags&^before[k].Flags&iface.FlagRunning != 0 ||
			!sameAddrs(n.Addrs, before[k].Addrs) {
			added = append(added, n)
		}
	}
	for _, b := range before {
		if !slices.ContainsFunc(now, HasIndex(b.Index)) {
			removed = append(removed, b)
		}
	}
	return added, removed
}

// sameAddrs reports whether a and b hold the same addresses, in any order.
func sameAddrs(a, b []iface.Addr) bool {
	missing := func(x iface.Addr) bool { return !slices.Contains(b, x) }
	return len(a) == len(b) && !slices.ContainsFunc(a, missing)
}

// Rejoin makes c's group memberships follow a change of the selected
// interfaces from before to now: it joins group on the interfaces new to
// the selection and leaves it on those that left (the kernel drops the
// membership of a deleted interface itself). Failures are logged; a join
// that finds the membership still in place counts as done.
func Rejoin(c udp.Conn, before, now []iface.Interface, group netip.Addr, log *slog.Logger) {
	for _, b := range before {
		if slices.ContainsFunc(now, HasIndex(b.Index)) || b.Flags&iface.FlagMulticast == 0 {
			continue
		}
		if err := c.LeaveGroup(b.Index, group); err != nil {
			log.Debug("leave group", "group", group.String(), "iface", b.Name, "err", err)
		}
	}
	var fresh []iface.Interface
	for _, n := range now {
		if !slices.ContainsFunc(before, HasIndex(n.Index)) {
			fresh = append(fresh, n)
		}
	}
	JoinAll(c, fresh, group, log) // failures are logged; the others still work
}

// alreadyMember reports whether a join failed only because the socket is
// already a member (EADDRINUSE on Linux).
func alreadyMember(err error) bool { return errors.Is(err, syscall.EADDRINUSE) }

// Damping of bursts of interface changes.
const (
	// Settle is how long a Watcher waits after a change for more before it
	// lists the interfaces again: bringing one interface up emits several
	// netlink messages, and a flapping link many.
	Settle = 150 * time.Millisecond
	// MaxSettle bounds the wait while changes keep coming, so that a link
	// flapping faster than Settle still gets looked at.
	MaxSettle = time.Second
)

// Watcher keeps a Plan current while the interfaces change. It exists only
// when the lister is an [iface.Subscriber].
type Watcher struct {
	cfg   Config
	log   *slog.Logger
	apply func(Plan)

	events chan struct{}
	done   chan struct{}
	exited chan struct{}
	once   sync.Once
}

// Watch starts following interface changes of c.Lister for the plan p
// that NewPlan made from c: after each burst of changes (see [Settle]) it
// lists and selects again ([Replan]) and calls apply with the new plan on
// its own goroutine, one call at a time. A change since NewPlan listed
// the interfaces counts as one. It returns nil, and logs why,
// when the lister cannot report changes. Stop ends it.
func Watch(c Config, p Plan, log *slog.Logger, apply func(Plan)) *Watcher {
	sub, ok := c.Lister.(iface.Subscriber)
	if !ok {
		log.Debug("interface changes not followed: the lister cannot report them")
		return nil
	}
	w := &Watcher{
		cfg:    c,
		log:    log,
		apply:  apply,
		events: make(chan struct{}),
		done:   make(chan struct{}),
		exited: make(chan struct{}),
	}
	if err := sub.Subscribe(w.events, w.done); err != nil {
		log.Warn("interface changes not followed", "err", err)
		return nil
	}
	go w.run(p)
	return w
}

// Stop stops following changes and waits until apply is no longer called.
// It is idempotent; a nil Watcher does nothing.
func (w *Watcher) Stop() {
	if w == nil {
		return
	}
	w.once.Do(func() {
		close(w.done)
		<-w.exited
	})
}

func (w *Watcher) run(p Plan) {
	defer close(w.exited)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var first time.Time // of the burst being settled; zero when none
	var lastErr string
	// The subscription reports only changes after it started: one made
	// since NewPlan listed the interfaces (an address from DHCP while
	// the caller starts) counts as a change now.
	if all, err := w.cfg.Lister.Interfaces(); err == nil && !reflect.DeepEqual(all, p.All) {
		first = time.Now()
		timer.Reset(Settle)
	}
	for {
		select {
		case _, ok := <-w.events:
			if !ok {
				return // done was closed
			}
			now := time.Now()
			if first.IsZero() {
				first = now
			}
			timer.Reset(min(Settle, max(first.Add(MaxSettle).Sub(now), 0)))
		case <-timer.C:
			first = time.Time{}
			q, err := Replan(w.cfg, p)
			if err != nil && err.Error() != lastErr {
				w.log.Debug("interfaces changed", "err", err)
			}
			lastErr = ""
			if err != nil {
				lastErr = err.Error()
			}
			p = q
			w.apply(q)
		}
	}
}
