package discover

import "github.com/lanfind/lanfind/beacon"

// fitQuery drops known answers from b, a query, until it fits the
// Listener's budget (smaller when sealing): the instances left out may
// answer again, which costs a little traffic, not correctness.
func (l *Listener) fitQuery(b *beacon.Beacon) {
	if over := b.Size() - l.codec.Budget(); over > 0 {
		n := max(len(b.Query.Known)-(over+7)/8, 0)
		b.Query.Known = b.Query.Known[:n]
	}
}
