package output

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"
)

// countWriter counts the writes it gets and keeps their bytes.
type countWriter struct {
	mu     sync.Mutex // guards the fields below
	writes int
	buf    bytes.Buffer
	err    error
}

func (w *countWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes++
	if w.err != nil {
		return 0, w.err
	}
	return w.buf.Write(p)
}

// TestCoalescer: a burst of lines leaves in one write, after
// CoalesceDelay or at Flush; a failed write is returned by the next Write.
func TestCoalescer(t *testing.T) {
	w := &countWriter{}
	c := NewCoalescer(w)
	for range 1000 {
		if _, err := c.Write([]byte("up db 10.0.0.1:5432\n")); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		w.mu.Lock()
		n, size := w.writes, w.buf.Len()
		w.mu.Unlock()
		if size == 20000 {
			if n != 1 {
				t.Fatalf("1000 lines in %d writes, want 1", n)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 5s: %d bytes written, want 20000", size)
		}
		time.Sleep(CoalesceDelay / 4) // polling the fake writer
	}
	w.mu.Lock()
	w.err = errors.New("broken pipe")
	w.mu.Unlock()
	c.Write([]byte("x\n"))
	if err := c.Flush(); err == nil {
		t.Fatal("Flush after a failed write: got nil, want the error")
	}
	if _, err := c.Write([]byte("y\n")); err == nil {
		t.Fatal("Write after a failed write: got nil, want the error")
	}
}
