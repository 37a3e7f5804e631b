package publish

import (
	"math/rand/v2"
	"slices"
	"time"

	"github.com/lanfind/lanfind/iface"
	"github.com/lanfind/lanfind/internal/mdnsnet"
	"github.com/lanfind/lanfind/mdns"
)

// Multipacket known-answer suppression (RFC 6762 §7.2).
const (
	// A truncated query is answered truncatedDelayMin to
	// truncatedDelayMax after it arrived.
	truncatedDelayMin = 400 * time.Millisecond
	truncatedDelayMax = 500 * time.Millisecond
	// maxTruncated is the most truncated queries (one per source address
	// and port) that wait at once; a further one is answered at once.
	maxTruncated = 32
)

// collect handles a query that is part of a multipacket query: one with
// the TC bit, which waits for the known answers that follow, or one
// from a source whose truncated query waits, whose questions and known
// answers join it. It reports whether it took pk; if not, pk is
// answered at once.
func (p *Publisher) collect(pk mdnsnet.Packet, now time.Time) bool {
	q, ok := p.truncated[pk.Src]
	if !ok {
		if !pk.Msg.Truncated || len(pk.Msg.Questions) == 0 {
			return false
		}
		if len(p.truncated) >= maxTruncated {
			p.stats.truncatedOverflow.Add(1)
			p.log.Debug("mdns: too many truncated queries waiting, answering at once", "from", pk.Src)
			return false
		}
		p.stats.truncated.Add(1)
		q = p.newQuery(pk)
		q.dup = map[string]bool{}
		q.at = now.Add(truncatedDelayMin + rand.N(truncatedDelayMax-truncatedDelayMin))
		p.truncated[pk.Src] = q
		return true
	}
	if q.ifc.Index != pk.Iface.Index {
		return false
	}
	// Keep only the known answers that could leave one of ours out, so
	// that what a query holds is bounded by what this Publisher owns.
	p.addKnown(q, pk.Msg.Answers, p.ownedKeys(q.ifc))
	for _, qu := range pk.Msg.Questions {
		if len(q.questions) < mdns.MaxQuestions && !slices.Contains(q.questions, qu) {
			q.questions = append(q.questions, qu)
		}
	}
	q.probe = q.probe || len(pk.Msg.Authorities) > 0
	return true
}

// ownedKeys returns the keys of p.owned(ifc).
func (p *Publisher) ownedKeys(ifc iface.Interface) map[string]bool {
	ours := map[string]bool{}
	for _, r := range p.owned(ifc) {
		ours[r.Key()] = true
	}
	return ours
}

// answerTruncated answers the truncated queries whose wait is over.
func (p *Publisher) answerTruncated(now time.Time) {
	for src, q := range p.truncated {
		if now.Before(q.at) {
			continue
		}
		delete(p.truncated, src)
		p.answer(q, now)
	}
}

// suppressDuplicates handles a response of another responder (§7.4): a
// record of ours in it, with at least the TTL we would give it, is not
// multicast again by an answer waiting on the same interface.
func (p *Publisher) suppressDuplicates(pk mdnsnet.Packet) {
	keys := map[string]bool{}
	for _, r := range pk.Msg.Answers {
		if r.TTL >= p.ttl {
			keys[r.Key()] = true
		}
	}
	if len(keys) == 0 {
		return
	}
	var ours map[string]bool
	if len(p.truncated) > 0 {
		ours = p.ownedKeys(pk.Iface)
	}
	for _, d := range p.pending {
		if d.ifc.Index != pk.Iface.Index {
			continue
		}
		n := len(d.recs)
		d.recs = slices.DeleteFunc(d.recs, func(r mdns.Record) bool { return keys[r.Key()] })
		p.stats.duplicates.Add(uint64(n - len(d.recs)))
	}
	for _, q := range p.truncated {
		if q.ifc.Index != pk.Iface.Index {
			continue
		}
		for k := range keys {
			if ours[k] {
				q.dup[k] = true
			}
		}
	}
}
