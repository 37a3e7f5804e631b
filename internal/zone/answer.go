package zone

import (
	"bytes"
	"errors"
	"net/netip"
	"slices"
	"sync"

	"golang.org/x/net/dns/dnsmessage"
)

// request is what the server uses of a query.
type request struct {
	header   dnsmessage.Header
	question dnsmessage.Question
	hasQ     bool // question was parsed
	edns     bool // the request had an OPT record
	udpSize  int  // the size the client offers over UDP
}

// parseRequest parses a query. ok is false when msg must be dropped (too
// short for a header, or a response); otherwise rcode is the error to
// answer with, or RCodeSuccess.
func parseRequest(msg []byte, req *request) (rcode dnsmessage.RCode, ok bool) {
	*req = request{}
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil || h.Response {
		return 0, false
	}
	req.header = h
	req.udpSize = MinUDPSize
	if h.OpCode != 0 {
		return dnsmessage.RCodeNotImplemented, true
	}
	q, err := p.Question()
	if err != nil {
		return dnsmessage.RCodeFormatError, true
	}
	req.question, req.hasQ = q, true
	if err := p.SkipQuestion(); !errors.Is(err, dnsmessage.ErrSectionDone) {
		return dnsmessage.RCodeFormatError, true // not exactly one question
	}
	if p.SkipAllAnswers() != nil || p.SkipAllAuthorities() != nil {
		return dnsmessage.RCodeFormatError, true
	}
	for {
		rh, err := p.AdditionalHeader()
		if errors.Is(err, dnsmessage.ErrSectionDone) {
			break
		}
		if err != nil {
			return dnsmessage.RCodeFormatError, true
		}
		if rh.Type == dnsmessage.TypeOPT {
			if req.edns { // RFC 6891 §6.1.1: more than one OPT
				return dnsmessage.RCodeFormatError, true
			}
			req.edns = true
			req.udpSize = min(max(int(rh.Class), MinUDPSize), MaxUDPSize)
		}
		if err := p.SkipAdditional(); err != nil {
			return dnsmessage.RCodeFormatError, true
		}
	}
	if c := q.Class; c != dnsmessage.ClassINET && c != dnsmessage.ClassANY {
		return dnsmessage.RCodeRefused, true
	}
	return dnsmessage.RCodeSuccess, true
}

// AppendAnswer appends the response to the query msg to dst and returns
// it; ok is false when msg must be dropped (see [Records] for the rules).
// tcp says the answer goes over TCP, where it may be larger. It counts the
// request's answer in Stats but not the request itself.
//
// [Records]: https://pkg.go.dev/github.com/lanfind/lanfind/internal/zone#hdr-Records
func (s *Server) AppendAnswer(dst, msg []byte, tcp bool) (out []byte, ok bool) {
	a := answers.Get().(*answer)
	defer a.free()
	rcode, ok := parseRequest(msg, &a.req)
	if !ok {
		s.stats.dropped.Add(1)
		return dst, false
	}
	a.rcode = rcode
	limit := MaxTCPSize
	if !tcp {
		limit = a.req.udpSize
	}
	if rcode == dnsmessage.RCodeSuccess {
		s.mu.RLock()
		defer s.mu.RUnlock()
		s.lookup(a)
	}
	out, err := s.build(dst, a, len(a.records))
	if err == nil && len(out)-len(dst) > limit {
		if tcp {
			// Leave records out until the answer fits.
			for n := len(a.records); err == nil && n > 0 && len(out)-len(dst) > limit; {
				n /= 2
				out, err = s.build(dst, a, n)
			}
		} else {
			a.truncated = true
			out, err = s.build(dst, a, 0)
			s.stats.truncated.Add(1)
		}
	}
	if err != nil {
		// Every name and record was checked when made: a bug.
		s.log.Error("zone: pack answer", "err", err)
		s.stats.errors.Add(1)
		return dst, false
	}
	s.count(a.rcode)
	return out, true
}

func (s *Server) count(rcode dnsmessage.RCode) {
	c := &s.stats
	switch rcode {
	case dnsmessage.RCodeSuccess:
		c.noError.Add(1)
	case dnsmessage.RCodeNameError:
		c.nxDomain.Add(1)
	case dnsmessage.RCodeRefused:
		c.refused.Add(1)
	case dnsmessage.RCodeFormatError:
		c.formErr.Add(1)
	case dnsmessage.RCodeNotImplemented:
		c.notImp.Add(1)
	}
}

// answer is a response being made.
type answer struct {
	req           request
	rcode         dnsmessage.RCode
	authoritative bool
	soaAnswer     bool     // the answer is the zone's SOA
	records       []record // the answer section
	truncated     bool

	seen map[[16]byte]bool // addresses in records, once there are many
}

// answers recycles answers, so that answering allocates nothing in the
// common case: the server answers tens of thousands of queries a second.
var answers = sync.Pool{New: func() any { return new(answer) }}

// maxPooled caps the records of an answer kept for reuse.
const maxPooled = 64

// free empties a and returns it to the pool; a must not be used
// afterwards.
func (a *answer) free() {
	records := a.records[:0]
	if cap(records) > maxPooled {
		records = nil
	}
	clear(records[:cap(records)]) // keep no entry alive
	*a = answer{records: records}
	answers.Put(a)
}

// record is one answer record: an entry and which of its records.
type record struct {
	typ dnsmessage.Type
	e   *entry
	i   int // index into e.a or e.aaaa
}

// addr returns the address of an A or AAAA record (A as IPv4-mapped), and
// a value no address has for other records.
func (r record) addr() [16]byte {
	switch r.typ {
	case dnsmessage.TypeA:
		return netip.AddrFrom4(r.e.a[r.i].A).As16()
	case dnsmessage.TypeAAAA:
		return r.e.aaaa[r.i].AAAA
	}
	return [16]byte{0: 0xff, 1: 0xff} // not a unicast address
}

// lookup fills a with the answer to its question. The caller holds s.mu
// for reading until a has been built.
func (s *Server) lookup(a *answer) {
	q := &a.req.question
	var buf [255]byte
	name := buf[:q.Name.Length]
	for i, c := range q.Name.Data[:q.Name.Length] {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		name[i] = c
	}
	var rel []byte
	switch n, apex := len(name), len(s.apex); {
	case string(name) == s.apex:
		a.authoritative = true
		a.soaAnswer = q.Type == dnsmessage.TypeSOA || q.Type == dnsmessage.TypeALL
		return
	case n > apex && name[n-apex-1] == '.' && string(name[n-apex:]) == s.apex:
		a.authoritative = true
		rel = name[:n-apex-1]
	default:
		a.rcode = dnsmessage.RCodeRefused
		return
	}
	first, rest, _ := bytes.Cut(rel, []byte("."))
	switch {
	case len(rest) == 0 && protoOf(first) >= 0:
		if len(s.srv[protoOf(first)]) == 0 {
			a.rcode = dnsmessage.RCodeNameError
		}
	case len(rest) == 0 && !bytes.HasPrefix(first, []byte("_")):
		es := s.hosts[string(first)]
		if len(es) == 0 {
			a.rcode = dnsmessage.RCodeNameError
			return
		}
		for _, e := range es {
			if q.Type == dnsmessage.TypeA || q.Type == dnsmessage.TypeALL {
				for i, r := range e.a {
					a.addAddr(dnsmessage.TypeA, e, i, netip.AddrFrom4(r.A).As16())
				}
			}
			if q.Type == dnsmessage.TypeAAAA || q.Type == dnsmessage.TypeALL {
				for i, r := range e.aaaa {
					a.addAddr(dnsmessage.TypeAAAA, e, i, r.AAAA)
				}
			}
			if q.Type == dnsmessage.TypeTXT || q.Type == dnsmessage.TypeALL {
				a.records = append(a.records, record{typ: dnsmessage.TypeTXT, e: e})
			}
		}
	case protoOf(rest) >= 0 && bytes.HasPrefix(first, []byte("_")):
		es := s.srv[protoOf(rest)][string(first)]
		if len(es) == 0 {
			a.rcode = dnsmessage.RCodeNameError
			return
		}
		if q.Type == dnsmessage.TypeSRV || q.Type == dnsmessage.TypeALL {
			for _, e := range es {
				a.records = append(a.records, record{typ: dnsmessage.TypeSRV, e: e})
			}
		}
	default:
		a.rcode = dnsmessage.RCodeNameError
	}
}

// addAddr adds the A or AAAA record i of e, unless another instance (on
// the same host) gave the same address already.
func (a *answer) addAddr(typ dnsmessage.Type, e *entry, i int, addr [16]byte) {
	if len(a.records) >= 8 && a.seen == nil { // many: a set is faster
		a.seen = map[[16]byte]bool{}
		for _, r := range a.records {
			a.seen[r.addr()] = true
		}
	}
	if a.seen != nil {
		if a.seen[addr] {
			return
		}
		a.seen[addr] = true
	} else if slices.ContainsFunc(a.records, func(r record) bool { return r.addr() == addr }) {
		return
	}
	a.records = append(a.records, record{typ: typ, e: e, i: i})
}

// build appends a's response with its first n records to dst.
func (s *Server) build(dst []byte, a *answer, n int) ([]byte, error) {
	h := dnsmessage.Header{
		ID:               a.req.header.ID,
		Response:         true,
		OpCode:           a.req.header.OpCode,
		Authoritative:    a.authoritative,
		Truncated:        a.truncated,
		RecursionDesired: a.req.header.RecursionDesired,
		RCode:            a.rcode,
	}
	b := dnsmessage.NewBuilder(dst, h)
	if n > 2 {
		// Worth its allocations only when names repeat often.
		b.EnableCompression()
	}
	if a.req.hasQ {
		if err := b.StartQuestions(); err != nil {
			return dst, err
		}
		if err := b.Question(a.req.question); err != nil {
			return dst, err
		}
	}
	if !a.truncated {
		if err := s.buildRecords(&b, a, n); err != nil {
			return dst, err
		}
	}
	if a.req.edns {
		if err := b.StartAdditionals(); err != nil {
			return dst, err
		}
		var rh dnsmessage.ResourceHeader
		if err := rh.SetEDNS0(MaxUDPSize, dnsmessage.RCodeSuccess, false); err != nil {
			return dst, err
		}
		if err := b.OPTResource(rh, dnsmessage.OPTResource{}); err != nil {
			return dst, err
		}
	}
	return b.Finish()
}

// buildRecords adds the answer and authority sections.
func (s *Server) buildRecords(b *dnsmessage.Builder, a *answer, n int) error {
	owner := a.req.question.Name
	if err := b.StartAnswers(); err != nil {
		return err
	}
	if a.soaAnswer {
		return b.SOAResource(s.soaHeader(), s.soa)
	}
	for _, r := range a.records[:n] {
		rh := dnsmessage.ResourceHeader{
			Name:  owner,
			Class: dnsmessage.ClassINET,
			TTL:   r.e.ttl,
		}
		var err error
		switch r.typ {
		case dnsmessage.TypeA:
			err = b.AResource(rh, r.e.a[r.i])
		case dnsmessage.TypeAAAA:
			err = b.AAAAResource(rh, r.e.aaaa[r.i])
		case dnsmessage.TypeTXT:
			err = b.TXTResource(rh, r.e.txt)
		case dnsmessage.TypeSRV:
			err = b.SRVResource(rh, dnsmessage.SRVResource{
				Priority: 0,
				Weight:   1,
				Port:     r.e.port,
				Target:   r.e.target,
			})
		}
		if err != nil {
			return err
		}
	}
	if !a.authoritative || len(a.records) > 0 ||
		(a.rcode != dnsmessage.RCodeSuccess && a.rcode != dnsmessage.RCodeNameError) {
		return nil
	}
	// NXDOMAIN or no data: the SOA says how long to remember that
	// (RFC 2308 §3).
	if err := b.StartAuthorities(); err != nil {
		return err
	}
	return b.SOAResource(s.soaHeader(), s.soa)
}

// soaHeader is the header of the zone's SOA record.
func (s *Server) soaHeader() dnsmessage.ResourceHeader {
	return dnsmessage.ResourceHeader{
		Name:  s.origin,
		Class: dnsmessage.ClassINET,
		TTL:   s.soa.MinTTL,
	}
}
