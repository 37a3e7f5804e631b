package output

import (
	"bytes"
	"io"
	"sync"
	"time"
)

// CoalesceDelay is how long a [Coalescer] holds what was written before it
// writes it out: short enough that a person or a pipe reading watch lines
// sees no delay, long enough that a burst of events costs one write.
const CoalesceDelay = 20 * time.Millisecond

// maxHeld is how much a Coalescer holds before it writes at once.
const maxHeld = 64 << 10

// Coalescer passes what is written to it on to another writer in batches:
// CoalesceDelay after the first write of a batch, or once 64 KiB are held.
// A flood of watch events then costs a few writes a second, not one
// system call per line. A failed write is returned by the next Write and
// by Flush. It is safe for concurrent use.
type Coalescer struct {
	w io.Writer
	// mu guards the fields below.
	mu    sync.Mutex
	held  bytes.Buffer
	timer *time.Timer // pending flush; nil when nothing is held
	err   error
}

// NewCoalescer returns a Coalescer writing to w. Its owner must call
// Flush when done.
func NewCoalescer(w io.Writer) *Coalescer { return &Coalescer{w: w} }

// Write holds p for the next batch. It fails with the error of an earlier
// batch that could not be written.
func (c *Coalescer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	c.held.Write(p)
	switch {
	case c.held.Len() >= maxHeld:
		c.flushLocked()
	case c.timer == nil:
		c.timer = time.AfterFunc(CoalesceDelay, func() { c.Flush() })
	}
	return len(p), nil
}

// Flush writes out what is held now and returns the first write error.
func (c *Coalescer) Flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flushLocked()
	return c.err
}

func (c *Coalescer) flushLocked() {
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	if c.held.Len() == 0 || c.err != nil {
		return
	}
	_, c.err = c.w.Write(c.held.Bytes())
	c.held.Reset()
}
