package announce

import (
	"net/netip"
	"time"

	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/internal/ratelimit"
)

// Reply limits: how much an announcer sends in answer to queries, so that
// nobody can use it to amplify a flood (small queries with a forged source
// address, aimed at a victim on the link).
//
// One query is answered with at most [MaxReplyDatagrams] datagrams of at
// most [beacon.MaxSize] bytes each. The replies to one source address are
// limited in bytes by a token bucket: [ReplyBurstBytes] at once and
// [ReplyBytesPerSecond] on average. A query whose reply would exceed what
// its source has left is not answered and is counted in Stats.Limited. A
// copy of a query already answered (the same query by broadcast and by
// multicast) and a query that matches nothing cost nothing. So however fast
// one announcer is queried, it sends any single address at most
// ReplyBurstBytes at once and ReplyBytesPerSecond after that, and
// [SlipsPerSecond] single datagrams besides (see slip).
//
// Bytes rather than replies are limited because a reply's size varies a
// hundredfold: a script that resolves one name in a loop gets a hundred
// small replies a second, while replies of several full datagrams are held
// to a few a second.
const (
	// MaxReplyDatagrams caps the datagrams that answer one query: 4
	// datagrams hold up to 128 service records (beacon.MaxServices each).
	// The records left out come with the repeats: each attempt's answer
	// starts further into the list (see rotate), so a querier always gets
	// the rest. A reply is thus at most 4800 bytes, to a query of at
	// least 32.
	MaxReplyDatagrams = 4
	// ReplyBytesPerSecond is how many reply bytes per second one source
	// address gets on average: 64 KiB/s, half a megabit, a small share of
	// any LAN link, yet a few full listings of a 50-service host a second.
	ReplyBytesPerSecond = 64 << 10
	// ReplyBurstBytes is how many reply bytes one source address gets at
	// once (128 KiB): enough for several lanfind processes on one host
	// that start together, each listing everything.
	ReplyBurstBytes = 128 << 10
	// maxSources caps the reply limiter's table. Queries are answered only
	// from on-link sources, so this exceeds the hosts of a /20. A source is
	// forgotten only once idle long enough for its budget to be full again
	// (2 s); while the table is full, new sources share one more budget of
	// the same size, so churning through more sources than the cap cannot
	// give any one address a fresh budget. A source enters the table only
	// once it has answered ARP (probe.go): forged sources that no host
	// owns cannot fill it and crowd genuine queriers into that budget, and
	// filling it with addresses that do answer takes more neighbours than
	// Linux keeps by default (gc_thresh3, 1024).
	maxSources = 4096
)

func newReplyLimiter(now func() time.Time) *ratelimit.Limiter[netip.Addr] {
	return ratelimit.New[netip.Addr](ReplyBytesPerSecond, ReplyBurstBytes, maxSources, now)
}

func newSlipLimiter(now func() time.Time) *ratelimit.Limiter[netip.Addr] {
	return ratelimit.New[netip.Addr](SlipsPerSecond, SlipsPerSecond, maxSources, now)
}

// allowReply reports whether a reply of n bytes to src may be sent now,
// and counts it in Stats.Limited if not.
func (s *Sender) allowReply(src netip.Addr, n int) bool {
	ok := s.takeBudget(src, n)
	if !ok {
		s.noteLimited(src, n)
	}
	return ok
}

// noteLimited counts a query refused for its source's budget.
func (s *Sender) noteLimited(src netip.Addr, n int) {
	s.stats.limited.Add(1)
	s.log.Debug("dropped query: its source exceeds the reply rate",
		"src", src.String(), "bytes", n, "rate", ReplyBytesPerSecond)
}

// Slips: queries forged from a victim's address spend the victim's byte
// budget, so that its own queries would be refused as well. As DNS
// response-rate limiting answers some limited queries with a truncated
// response, a repeat of a request this Sender refused before, from the
// same address and port, gets a slip when the budget is empty: the
// datagram at the head of its answer, one of at most SlipsPerSecond to
// that address. Successive slips to one request start one datagram
// further into the records (rotate), so a querier that keeps repeating
// gets everything. A blind forger sends first attempts, which never slip;
// only one that also forges repeats of its own requests competes for the
// slips (see SECURITY.md).
const (
	// SlipsPerSecond is how many slips one source address gets a second,
	// each a datagram of at most beacon.MaxSize bytes.
	SlipsPerSecond = 4
	// refusedMemory is how long a refused request is remembered for its
	// repeats to slip.
	refusedMemory = 5 * time.Second
	// maxRefused caps the refused requests remembered: a flood of refused
	// queries faster than maxRefused in refusedMemory pushes out the
	// oldest, and a querier's next repeat is remembered again.
	maxRefused = 8192
)

// flowKey names a request from one source address and port.
type flowKey struct {
	src             netip.AddrPort
	sender, request uint64
}

// slip reports whether b, a query from src over its budget, gets a slip,
// and remembers its request as refused if not.
func (s *Sender) slip(src netip.AddrPort, b *beacon.Beacon) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	refusedBefore := s.refused.Seen(flowKey{src, b.Sender, b.RequestID})
	if !refusedBefore || b.Query.Attempt == 0 || !s.slips.AllowN(src.Addr(), 1) {
		return false
	}
	s.stats.slipped.Add(1)
	return true
}

// takeBudget takes n bytes from src's reply budget, if there is enough.
// Answering a repeated query twice takes it again for the copy, uncounted
// when refused: the query is answered once.
func (s *Sender) takeBudget(src netip.Addr, n int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limiter.AllowN(src, n)
}

// replyBytes is the size of the reply that carries recs: the datagrams
// pack makes of them, at most MaxReplyDatagrams, each holding at most
// budget bytes of message and, when keyed, sealed to beacon.MaxSize -
// budget bytes more.
func replyBytes(recs []beacon.Service, budget int) int {
	total, datagrams, size, count := 0, 0, 0, 0
	for i := range recs {
		n := recs[i].Size()
		if count == 0 || count == beacon.MaxServices || size+n > budget {
			if datagrams == MaxReplyDatagrams {
				break
			}
			total += size
			datagrams++
			size, count = beacon.HeaderSize+1, 0
		}
		size += n
		count++
	}
	return total + size + datagrams*(beacon.MaxSize-budget)
}

// capReply keeps the first MaxReplyDatagrams of a reply's datagrams. The
// records left out are answered when the querier repeats its query: the
// answer to each attempt starts further into the list (rotate).
func capReply(ps [][]byte) [][]byte {
	return ps[:min(len(ps), MaxReplyDatagrams)]
}

// logTables logs, at debug level, how full the Sender's tables are: the
// query IDs kept to answer each query once, and the reply limiter's
// sources (capped at maxSources).
func (s *Sender) logTables() {
	s.mu.Lock()
	ids, sources := s.queries.Len(), s.limiter.Len()
	s.mu.Unlock()
	s.log.Debug("tables",
		"query_ids", ids, "reply_sources", sources, "max_reply_sources", maxSources)
}
