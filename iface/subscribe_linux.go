package iface

import (
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Subscribe watches the links and IPv4 and IPv6 addresses of the lister's namespace
// through netlink subscriptions (RTNLGRP_LINK and the address groups),
// bound to that namespace whichever thread calls it. It follows the
// contract of [Subscriber.Subscribe]. If the kernel drops the
// subscription (for example when its socket buffer overflows during a
// storm of changes) it subscribes again and reports a change, since some
// may have been missed. It fails when the lister is closed or was made on a
// caller's handle by [NewNetlink].
func (n *Netlink) Subscribe(ch chan<- struct{}, done <-chan struct{}) error {
	n.mu.Lock()
	closed, ns := n.closed, n.ns
	var own netns.NsHandle
	var err error
	if !closed && ns.IsOpen() {
		// A descriptor of our own, so that the lister may close while the
		// subscription still needs the namespace to subscribe again.
		own, err = netns.GetFromPath(fmt.Sprintf("/proc/self/fd/%d", int(ns)))
	}
	n.mu.Unlock()
	switch {
	case closed:
		return errors.New("iface: netlink lister is closed")
	case !ns.IsOpen():
		return errors.New("iface: subscribe: the lister's namespace is unknown (made on a caller's handle)")
	case err != nil:
		return fmt.Errorf("iface: subscribe: open network namespace: %w", err)
	}
	s := &nlSub{ns: own}
	if err := s.open(); err != nil {
		own.Close()
		return fmt.Errorf("iface: subscribe: %w", err)
	}
	go s.run(ch, done)
	return nil
}

// nlSub is one Subscribe: a link and an address subscription, renewed if
// the kernel ends them.
type nlSub struct {
	ns    netns.NsHandle
	stop  chan struct{} // closes the current subscriptions' sockets
	links chan netlink.LinkUpdate
	addrs chan netlink.AddrUpdate
}

// subBuffer is the receive buffer asked for each subscription socket (the
// kernel caps it at net.core.rmem_max), so that a burst of changes while
// the reader is busy does not overflow it.
const subBuffer = 1 << 20

func (s *nlSub) open() error {
	s.stop = make(chan struct{})
	s.links = make(chan netlink.LinkUpdate, 16)
	s.addrs = make(chan netlink.AddrUpdate, 16)
	ignore := func(error) {} // an ended subscription shows as a closed channel
	// Entering a namespace (setns) needs CAP_SYS_ADMIN. An unprivileged
	// process only ever watches the namespace it runs in, so when the
	// calling thread is already there the sockets are opened in place.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ns := &s.ns
	if cur, err := netns.Get(); err == nil {
		if cur.Equal(s.ns) {
			ns = nil
		}
		cur.Close()
	}
	if err := netlink.LinkSubscribeWithOptions(s.links, s.stop, netlink.LinkSubscribeOptions{
		Namespace: ns, ErrorCallback: ignore, ReceiveBufferSize: subBuffer}); err != nil {
		close(s.stop)
		return fmt.Errorf("links: %w", err)
	}
	if err := netlink.AddrSubscribeWithOptions(s.addrs, s.stop, netlink.AddrSubscribeOptions{
		Namespace: ns, ErrorCallback: ignore, ReceiveBufferSize: subBuffer}); err != nil {
		s.addrs = nil // never started: nothing will close it
		s.close()
		return fmt.Errorf("addresses: %w", err)
	}
	return nil
}

// close ends the current subscriptions and waits until the netlink
// package's goroutines have closed their channels.
func (s *nlSub) close() {
	close(s.stop)
	for range s.links {
	}
	if s.addrs != nil {
		for range s.addrs {
		}
	}
}

func (s *nlSub) run(ch chan<- struct{}, done <-chan struct{}) {
	defer close(ch)
	defer s.ns.Close()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	backoff := 50 * time.Millisecond
	alive, pending := true, false
	for {
		var out chan<- struct{}
		if pending {
			out = ch
		}
		links, addrs := s.links, s.addrs
		if !alive {
			links, addrs = nil, nil
		}
		broken := false
		select {
		case <-done:
			if alive {
				s.close()
			}
			return
		case out <- struct{}{}:
			pending = false
		case _, ok := <-links:
			pending, broken = pending || ok, !ok
		case _, ok := <-addrs:
			// IPv4 and IPv6 alike: an IPv6 address also changes when
			// its DAD ends or its preferred lifetime runs out.
			pending, broken = pending || ok, !ok
		case <-retry.C:
			if err := s.open(); err != nil {
				backoff = min(2*backoff, 5*time.Second)
				retry.Reset(backoff)
				continue
			}
			alive, pending, backoff = true, true, 50*time.Millisecond
		}
		if broken {
			// The kernel ended a subscription (a receive error such as
			// ENOBUFS): renew both, and report a change then.
			s.close()
			alive = false
			retry.Reset(backoff)
		}
	}
}
