package watchtable

import (
	"bytes"
	"fmt"
	"io"
	"sync"
)

// HeldLog keeps log output while the live table is on the terminal, up to
// heldLogMax bytes; later lines are counted and dropped. Once released it
// writes what it kept to its destination, and from then on writes
// straight through. It is safe for concurrent use.
type HeldLog struct {
	to io.Writer // the destination
	// mu guards the fields below.
	mu       sync.Mutex
	released bool
	buf      bytes.Buffer
	dropped  int
}

const heldLogMax = 64 << 10

// NewHeldLog returns a HeldLog that holds what is meant for to.
func NewHeldLog(to io.Writer) *HeldLog { return &HeldLog{to: to} }

func (h *HeldLog) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.released:
		return h.to.Write(p)
	case h.buf.Len()+len(p) > heldLogMax:
		h.dropped++
	default:
		h.buf.Write(p)
	}
	return len(p), nil
}

// Release writes what was held and from then on writes through. Later
// calls do nothing.
func (h *HeldLog) Release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.released {
		return
	}
	h.released = true
	h.to.Write(h.buf.Bytes()) // stderr: nowhere to report a failure
	if h.dropped > 0 {
		fmt.Fprintf(h.to, "lanfind: warning: %d log lines dropped while the live table was shown\n",
			h.dropped)
	}
	h.buf.Reset()
}
