// Package dedup remembers recently seen message keys so that copies of one
// datagram — sent by broadcast and by multicast, or received on several
// interfaces — are handled once.
//
// A [Cache] has a size cap and an age limit, so a flood of distinct keys
// costs bounded memory: the oldest keys are forgotten first.
package dedup

import (
	"container/list"
	"time"
)

// Cache is a set of comparable keys, each forgotten after MaxAge or when
// more than Max keys are held (oldest first). The zero value is not usable;
// call [New]. A Cache is not safe for concurrent use.
type Cache[K comparable] struct {
	max    int
	maxAge time.Duration
	now    func() time.Time

	order *list.List // of entry[K], oldest at the front
	index map[K]*list.Element
}

type entry[K comparable] struct {
	key  K
	seen time.Time
}

// New returns a cache holding at most max keys for at most maxAge each. now
// is the clock (nil: time.Now).
func New[K comparable](max int, maxAge time.Duration, now func() time.Time) *Cache[K] {
	if max < 1 {
		max = 1
	}
	if now == nil {
		now = time.Now
	}
	return &Cache[K]{max: max, maxAge: maxAge, now: now, order: list.New(), index: make(map[K]*list.Element)}
}

// Seen reports whether k was added within the age limit, and adds it if not.
func (c *Cache[K]) Seen(k K) bool {
	now := c.now()
	c.expire(now)
	if _, ok := c.index[k]; ok {
		return true
	}
	c.index[k] = c.order.PushBack(entry[K]{key: k, seen: now})
	for c.order.Len() > c.max {
		c.remove(c.order.Front())
	}
	return false
}

// Len reports how many keys the cache holds.
func (c *Cache[K]) Len() int { return c.order.Len() }

func (c *Cache[K]) expire(now time.Time) {
	for e := c.order.Front(); e != nil; e = c.order.Front() {
		if now.Sub(e.Value.(entry[K]).seen) < c.maxAge {
			return
		}
		c.remove(e)
	}
}

func (c *Cache[K]) remove(e *list.Element) {
	delete(c.index, e.Value.(entry[K]).key)
	c.order.Remove(e)
}
