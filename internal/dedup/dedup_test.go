package dedup

import (
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestSeen(t *testing.T) {
	clk := &clock{t: time.Unix(1000, 0)}
	c := New[int](3, time.Second, clk.now)
	steps := []struct {
		name    string
		advance time.Duration
		key     int
		want    bool
		wantLen int
	}{
		{"first sight", 0, 1, false, 1},
		{"copy", 0, 1, true, 1},
		{"second key", 100 * time.Millisecond, 2, false, 2},
		{"third key", 0, 3, false, 3},
		{"cap evicts oldest", 0, 4, false, 3},
		{"evicted key is new again", 0, 1, false, 3},
		{"key 3 still held", 0, 3, true, 3},
		{"age expires all", 2 * time.Second, 3, false, 1},
	}
	for _, s := range steps {
		clk.t = clk.t.Add(s.advance)
		if got := c.Seen(s.key); got != s.want {
			t.Fatalf("%s: Seen(%d) = %v, want %v", s.name, s.key, got, s.want)
		}
		if got := c.Len(); got != s.wantLen {
			t.Fatalf("%s: Len() = %d, want %d", s.name, got, s.wantLen)
		}
	}
}

func TestFloodBounded(t *testing.T) {
	c := New[uint64](1000, time.Minute, nil)
	for i := range uint64(100000) {
		c.Seen(i)
	}
	if got := c.Len(); got != 1000 {
		t.Fatalf("Len() after flood = %d, want 1000", got)
	}
	if got := len(c.index); got != 1000 {
		t.Fatalf("index size after flood = %d, want 1000", got)
	}
}

func BenchmarkSeen(b *testing.B) {
	c := New[uint64](4096, time.Minute, nil)
	b.ReportAllocs()
	for i := range b.N {
		c.Seen(uint64(i % 8192))
	}
}
