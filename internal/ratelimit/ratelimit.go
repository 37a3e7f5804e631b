// Package ratelimit limits how often something may happen per key (such as
// a reply to a source address) with one token bucket per key.
//
// A [Limiter]'s table has a size cap and forgets keys that have been idle
// long enough for their bucket to be full again, so a flood of distinct
// keys costs bounded memory. A key is never forgotten before that: when the
// table is full of keys used recently, a new key shares one overflow bucket
// with every other key that finds no room, instead of pushing out a key
// whose bucket is empty (which would give that key a full bucket again, so
// that cycling through more keys than the cap would lift every key's
// limit). The cap should exceed the number of keys expected to be active at
// once.
package ratelimit

import (
	"container/list"
	"time"
)

// Limiter is a table of token buckets, one per key: each holds at most
// burst tokens and gains rate tokens per second; [Limiter.AllowN] takes
// some. A token may stand for an event, a datagram or a byte.
// The zero value is not usable; call [New]. A Limiter is not safe for
// concurrent use.
type Limiter[K comparable] struct {
	rate  float64       // tokens per second
	burst float64       // bucket size
	idle  time.Duration // after this long unused, a bucket is full again
	max   int
	now   func() time.Time

	order    *list.List // of *bucket[K], least recently used at the front
	index    map[K]*list.Element
	overflow bucket[K] // shared by the keys that find the table full
}

type bucket[K comparable] struct {
	key    K
	tokens float64
	last   time.Time // of the last Allow for key
}

// New returns a limiter that allows each key burst tokens at once and rate
// tokens per second on average, and holds at most max keys. now is the
// clock (nil: time.Now). rate must be positive; burst and max below 1 mean 1.
func New[K comparable](rate float64, burst, max int, now func() time.Time) *Limiter[K] {
	if rate <= 0 {
		panic("ratelimit: rate must be positive")
	}
	burst, max = maxOf(burst, 1), maxOf(max, 1)
	if now == nil {
		now = time.Now
	}
	return &Limiter[K]{
		rate:     rate,
		burst:    float64(burst),
		idle:     time.Duration(float64(burst) / rate * float64(time.Second)),
		max:      max,
		now:      now,
		order:    list.New(),
		index:    make(map[K]*list.Element),
		overflow: bucket[K]{tokens: float64(burst)},
	}
}

// maxOf is the builtin max, which the parameter named max shadows in New.
func maxOf(a, b int) int { return max(a, b) }

// AllowN reports whether k may spend n tokens now, and if so takes them
// from k's bucket. n larger than the burst is never allowed; n below 1
// means 1.
func (l *Limiter[K]) AllowN(k K, n int) bool {
	cost := float64(max(n, 1))
	now := l.now()
	l.expire(now)
	var b *bucket[K]
	switch e, ok := l.index[k]; {
	case ok:
		b = e.Value.(*bucket[K])
		l.refill(b, now)
		l.order.MoveToBack(e)
	case l.order.Len() >= l.max:
		// Every key held was used too recently to forget: share the
		// overflow bucket rather than reset someone's.
		b = &l.overflow
		l.refill(b, now)
	default:
		b = &bucket[K]{key: k, tokens: l.burst}
		l.index[k] = l.order.PushBack(b)
	}
	if now.After(b.last) {
		b.last = now
	}
	if b.tokens < cost {
		return false
	}
	b.tokens -= cost
	return true
}

// refill adds the tokens b earned since its last use, up to the burst.
func (l *Limiter[K]) refill(b *bucket[K], now time.Time) {
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(l.burst, b.tokens+d.Seconds()*l.rate)
	}
}

// Len reports how many keys the limiter holds.
func (l *Limiter[K]) Len() int { return l.order.Len() }

// expire forgets keys idle long enough that their buckets are full again:
// they are no different from keys never seen.
func (l *Limiter[K]) expire(now time.Time) {
	for e := l.order.Front(); e != nil; e = l.order.Front() {
		if now.Sub(e.Value.(*bucket[K]).last) < l.idle {
			return
		}
		l.remove(e)
	}
}

func (l *Limiter[K]) remove(e *list.Element) {
	delete(l.index, e.Value.(*bucket[K]).key)
	l.order.Remove(e)
}
