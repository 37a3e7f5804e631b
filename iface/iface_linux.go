package iface

import "syscall"

const flagIFFRunning = syscall.IFF_RUNNING

// System returns the lister for the calling thread's current network
// namespace: a [Netlink] on a new handle, so the namespace is fixed when
// System returns. Call close when done with it.
func System() (l Lister, close func(), err error) {
	n, err := NewNetlink(nil)
	if err != nil {
		return nil, nil, err
	}
	return n, func() { n.Close() }, nil
}
