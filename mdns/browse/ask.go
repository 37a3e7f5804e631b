package browse

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/lanfind/lanfind/mdns"
)

// Timing of a running browser's cache as a resident's (see the package
// comment, "A resident's cache").
const (
	// WarmAfter is how long Run must have run before [Browser.Warm]:
	// its queries at 0, 1 and 3 s are out (three, as many as Collect's
	// quiet queries) and the answers to the third had answerWait.
	WarmAfter = 3*time.Second + answerWait
	// AskWait is how long [Browser.Ask] waits for answers after its
	// query: a responder delays an answer with a shared record (a PTR)
	// by 20 to 120 ms.
	AskWait = 150 * time.Millisecond
	// askInterval is the least time between two of Ask's queries for one
	// type: a responder multicasts a record at most once a second, and
	// RFC 6762 §5.2 asks queriers not to repeat a question sooner.
	askInterval = time.Second
)

// Warm reports whether Run has run for at least [WarmAfter]. Safe from
// any goroutine.
func (b *Browser) Warm() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return !b.started.IsZero() && b.now().Sub(b.started) >= WarmAfter
}

// Started returns when Run started, or the zero time before. Safe from
// any goroutine.
func (b *Browser) Started() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.started
}

// Ask asks the LAN once more for the instances of types (all browsed
// types and the type enumeration when types is empty), on behalf of a
// client of the cache that Run keeps, and returns when the answers had
// [AskWait] to arrive, or when ctx ends (with its error). The query goes
// out as avahi-daemon asks for a new browser: one PTR question per type,
// without the unicast-response bit, listing every instance already known
// (known-answer suppression, continued over several datagrams with the
// TC bit): a responder then answers only what is missing. A type asked
// for within the last second is not asked again; Ask then waits for that
// query's answers. Types the browser does not browse are left out.
// Ask is safe from any goroutine while Run runs; Run puts the answers in
// the cache.
func (b *Browser) Ask(ctx context.Context, types []mdns.ServiceType) error {
	now := b.now()
	b.mu.Lock()
	var names []string
	if len(types) == 0 {
		names = b.browsedNames()
	} else {
		for _, t := range types {
			if n := t.FQDN(); b.browsing(n) {
				names = append(names, n)
			}
		}
	}
	var m mdns.Message
	last := time.Time{}
	for _, n := range names {
		if at, ok := b.askedAt[n]; ok && now.Sub(at) < askInterval {
			if at.After(last) {
				last = at
			}
			continue
		}
		b.askedAt[n] = now
		m.Questions = append(m.Questions, mdns.Question{Name: n, Type: dnsmessage.TypePTR})
	}
	if len(m.Questions) > 0 {
		m.Answers = b.knownAnswers(now, m.Questions)
	}
	b.mu.Unlock()
	if len(m.Questions) > 0 {
		b.log.Debug("mdns: ask", "questions", len(m.Questions), "known", len(m.Answers))
		if err := b.ep.Send(&m, 0); err != nil {
			return err
		}
		last = now
	}
	if last.IsZero() {
		return nil
	}
	t := time.NewTimer(last.Add(AskWait).Sub(b.now()))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// browsedNames returns the PTR names Run asks for: the types given, or the
// enumeration name and every type found.
func (b *Browser) browsedNames() []string {
	if len(b.types) > 0 {
		var names []string
		for _, t := range b.types {
			names = append(names, t.FQDN())
		}
		return names
	}
	return append([]string{mdns.ServicesName}, slices.Sorted(maps.Keys(b.found))...)
}

// knownAnswers returns the live PTR records that answer qs and have more
// than half their TTL left (RFC 6762 §7.1), with the TTL they have left.
func (b *Browser) knownAnswers(now time.Time, qs []mdns.Question) []mdns.Record {
	var known []mdns.Record
	for _, c := range b.cache {
		if c.gone || c.rec.Type != dnsmessage.TypePTR {
			continue
		}
		if !slices.ContainsFunc(qs, func(q mdns.Question) bool { return mdns.EqualNames(q.Name, c.rec.Name) }) {
			continue
		}
		left := c.expires.Sub(now)
		if left > time.Duration(c.rec.TTL)*time.Second/2 {
			r := c.rec
			r.TTL = uint32(left / time.Second)
			known = append(known, r)
		}
	}
	slices.SortFunc(known, func(x, y mdns.Record) int { return strings.Compare(x.Key(), y.Key()) })
	return known
}
