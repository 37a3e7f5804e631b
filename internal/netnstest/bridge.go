//go:build linux

package netnstest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
)

// brStateForwarding is the kernel's BR_STATE_FORWARDING (linux/if_bridge.h).
const brStateForwarding = 3

// portStates returns the STP state of each bridge port in the namespace of
// sh, by port name. The netlink package does not parse the state, so this
// dumps the AF_BRIDGE link table itself and reads IFLA_BRPORT_STATE from
// each port's IFLA_PROTINFO.
func portStates(sh *nl.SocketHandle) (map[string]uint8, error) {
	req := nl.NewNetlinkRequest(syscall.RTM_GETLINK, syscall.NLM_F_DUMP)
	req.Sockets = map[int]*nl.SocketHandle{syscall.NETLINK_ROUTE: sh}
	req.AddData(nl.NewIfInfomsg(syscall.AF_BRIDGE))
	msgs, err := req.Execute(syscall.NETLINK_ROUTE, syscall.RTM_NEWLINK)
	if err != nil {
		return nil, err // may be netlink.ErrDumpInterrupted
	}
	states := make(map[string]uint8)
	for _, m := range msgs {
		ifi := nl.DeserializeIfInfomsg(m)
		attrs, err := nl.ParseRouteAttr(m[ifi.Len():])
		if err != nil {
			return nil, fmt.Errorf("parse bridge link: %w", err)
		}
		var name string
		state, ok := uint8(0), false
		for _, a := range attrs {
			switch a.Attr.Type & nl.NLA_TYPE_MASK {
			case syscall.IFLA_IFNAME:
				name = strings.TrimRight(string(a.Value), "\x00")
			case syscall.IFLA_PROTINFO:
				infos, err := nl.ParseRouteAttr(a.Value)
				if err != nil {
					return nil, fmt.Errorf("parse bridge port info: %w", err)
				}
				for _, info := range infos {
					if info.Attr.Type&nl.NLA_TYPE_MASK == nl.IFLA_BRPORT_STATE && len(info.Value) > 0 {
						state, ok = info.Value[0], true
					}
				}
			}
		}
		if name != "" && ok {
			states[name] = state
		}
	}
	return states, nil
}

// waitForwarding waits until every named bridge port forwards.
func waitForwarding(sh *nl.SocketHandle, ports []string) error {
	return poll(func() ([]string, error) {
		states, err := portStates(sh)
		if err != nil {
			return nil, err
		}
		var bad []string
		for _, p := range ports {
			if st, ok := states[p]; !ok || st != brStateForwarding {
				bad = append(bad, p)
			}
		}
		return bad, nil
	}, "bridge ports not forwarding")
}

// waitOperUp waits until every named link in h's namespace is
// operationally up (has carrier).
func waitOperUp(h *netlink.Handle, names []string) error {
	return poll(func() ([]string, error) {
		links, err := h.LinkList()
		if err != nil {
			return nil, err
		}
		var down []string
		for _, name := range names {
			k := slices.IndexFunc(links, func(l netlink.Link) bool { return l.Attrs().Name == name })
			if k < 0 || links[k].Attrs().OperState != netlink.OperUp {
				down = append(down, name)
			}
		}
		return down, nil
	}, "links not up")
}

// settleTimeout bounds waits for link state, which normally settles in well
// under a millisecond.
const settleTimeout = 5 * time.Second

// poll calls check until it reports nothing pending, with a short, growing
// pause between calls, for at most settleTimeout. A dump the kernel
// interrupted counts as pending.
func poll(check func() (pending []string, err error), what string) error {
	deadline := time.Now().Add(settleTimeout)
	pause := 20 * time.Microsecond
	for {
		pending, err := check()
		if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
			return err
		}
		if err == nil && len(pending) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return fmt.Errorf("%s after %v: %w", what, settleTimeout, err)
			}
			return fmt.Errorf("%s after %v: %v", what, settleTimeout, pending)
		}
		time.Sleep(pause)
		pause = min(2*pause, 5*time.Millisecond)
	}
}
