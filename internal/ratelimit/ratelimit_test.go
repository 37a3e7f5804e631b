package ratelimit_test

import (
	"testing"
	"time"

	"github.com/lanfind/lanfind/internal/ratelimit"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
func allowN[K comparable](l *ratelimit.Limiter[K], k K, n int) (allowed int) {
	for range n {
		if l.AllowN(k, 1) {
			allowed++
		}
	}
	return allowed
}

func TestBurstAndRate(t *testing.T) {
	c := &clock{time.Unix(1000, 0)}
	l := ratelimit.New[string](10, 5, 100, c.now)
	if got := allowN(l, "a", 100); got != 5 {
		t.Fatalf("a burst of 100 at once: got %d allowed, want the burst of 5", got)
	}
	if got := allowN(l, "b", 3); got != 3 {
		t.Fatalf("another key: got %d allowed, want 3 (keys have their own buckets)", got)
	}
	c.advance(250 * time.Millisecond) // 2.5 tokens
	if got := allowN(l, "a", 100); got != 2 {
		t.Fatalf("after 250ms at 10/s: got %d allowed, want 2", got)
	}
	c.advance(50 * time.Millisecond) // 0.5 left + 0.5
	if got := allowN(l, "a", 100); got != 1 {
		t.Fatalf("after 50ms more: got %d allowed, want 1 (fractions add up)", got)
	}
	// A steady flood for 10 s gets the rate, plus nothing it saved up.
	allowed := 0
	for range 1000 {
		c.advance(10 * time.Millisecond)
		allowed += allowN(l, "a", 1)
	}
	if allowed < 99 || allowed > 100 {
		t.Fatalf("a flood of 100/s for 10s at a rate of 10/s: got %d allowed, want 100", allowed)
	}
	// Idle for long: the bucket refills to the burst, not beyond.
	c.advance(time.Hour)
	if got := allowN(l, "a", 100); got != 5 {
		t.Fatalf("after an hour idle: got %d allowed, want the burst of 5", got)
	}
}

func TestTableIsCappedAndExpires(t *testing.T) {
	c := &clock{time.Unix(1000, 0)}
	l := ratelimit.New[int](10, 5, 50, c.now) // a bucket is full again after 500ms
	for k := range 1000 {
		l.AllowN(k, 1)
		if l.Len() > 50 {
			t.Fatalf("after %d keys: %d held, want at most 50", k+1, l.Len())
		}
	}
	// Keys 0-49 hold the table; keys 50-999 shared the overflow bucket,
	// whose burst of 5 is long spent.
	if got := allowN(l, 49, 10); got != 4 {
		t.Fatalf("key 49 after one use: got %d more allowed, want 4", got)
	}
	if got := allowN(l, 999, 10); got != 0 {
		t.Fatalf("key 999, one of 950 sharing the overflow bucket: got %d more allowed, want 0", got)
	}
	c.advance(499 * time.Millisecond)
	l.AllowN(-1, 1)
	if l.Len() != 50 {
		t.Fatalf("before the idle time: %d held, want 50", l.Len())
	}
	c.advance(time.Millisecond)
	l.AllowN(-2, 1)
	if l.Len() != 1 {
		t.Fatalf("after 500ms: %d held, want 1 (-2; -1 found the table full, and the rest were idle long enough to be full again)", l.Len())
	}
}

// TestChurnDoesNotResetAKey is the attack on a limiter that forgets the
// least recently used key when full: spend a victim's bucket, push it out
// with more fresh keys than the cap, and it comes back with a full bucket.
// For the reply limiter that means one address (say a forged victim's on a
// large subnet) gets ever more replies.
func TestChurnDoesNotResetAKey(t *testing.T) {
	c := &clock{time.Unix(1000, 0)}
	l := ratelimit.New[int](10, 5, 50, c.now)
	const victim = -1
	total := 0
	for round := range 20 {
		total += allowN(l, victim, 100)
		for k := range 100 {
			l.AllowN(round*100+k, 1)
		}
		c.advance(10 * time.Millisecond)
		if l.Len() > 50 {
			t.Fatalf("%d keys held, want at most 50", l.Len())
		}
	}
	// 200ms: the burst of 5 and 10/s, 2 more.
	if total > 7 {
		t.Fatalf("victim got %d tokens in 200ms among a churn of 2000 keys, want at most 7 (burst 5 + 10/s)", total)
	}
	// The overflow bucket is limited too.
	c.advance(time.Second)
	over := 0
	for k := range 1000 {
		if l.AllowN(10000+k, 1) {
			over++
		}
	}
	if over > 5+50 {
		t.Fatalf("1000 new keys at once got %d tokens, want at most %d (free room and the overflow burst)", over, 5+50)
	}
}

func TestAllowN(t *testing.T) {
	c := &clock{time.Unix(1000, 0)}
	l := ratelimit.New[string](1000, 3000, 10, c.now) // e.g. bytes
	for _, tc := range []struct {
		n    int
		want bool
	}{{1200, true}, {1200, true}, {1200, false}, {600, true}, {1, false}, {3001, false}} {
		if got := l.AllowN("a", tc.n); got != tc.want {
			t.Fatalf("AllowN(%d) = %v, want %v", tc.n, got, tc.want)
		}
	}
	c.advance(3 * time.Second)
	if l.AllowN("a", 3001) || !l.AllowN("a", 3000) {
		t.Fatal("after refilling: want more than the burst refused and the whole burst allowed")
	}
}

func TestClockGoingBack(t *testing.T) {
	c := &clock{time.Unix(1000, 0)}
	l := ratelimit.New[string](1, 2, 10, c.now)
	allowN(l, "a", 2)
	c.advance(-time.Hour)
	if l.AllowN("a", 1) {
		t.Fatal("allowed after the clock went back, want the bucket still empty")
	}
}

func BenchmarkAllowN(b *testing.B) {
	l := ratelimit.New[int](64<<10, 128<<10, 1024, nil)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		l.AllowN(i%2048, 100) // half the keys evict the other half
		i++
	}
}
