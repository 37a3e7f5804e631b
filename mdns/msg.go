package mdns

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"golang.org/x/net/dns/dnsmessage"
)

// Protocol constants (RFC 6762).
const (
	// Port is the mDNS UDP port.
	Port = 5353
	// MaxMessage is the largest mDNS message sent or accepted (RFC 6762
	// §17: 9000 bytes of payload).
	MaxMessage = 9000
	// MaxQuestions is the most questions Parse keeps from one message.
	MaxQuestions = 64
	// MaxRecords is the most records Parse keeps from one message, over
	// all three sections.
	MaxRecords = 256
	// classMask removes the QU / cache-flush bit from a class.
	classMask = 0x7fff
	// topBit is the QU bit of a question class and the cache-flush bit
	// of a record class.
	topBit = 0x8000
)

// GroupV4 is the IPv4 mDNS group, 224.0.0.251; GroupV6 the IPv6 one,
// ff02::fb (link-local scope).
var (
	GroupV4 = netip.AddrFrom4([4]byte{224, 0, 0, 251})
	GroupV6 = netip.MustParseAddr("ff02::fb")
)

// Errors returned by Parse.
var (
	// ErrMalformed is wrapped by every error about a message that is not
	// a well-formed DNS message or breaks mDNS rules.
	ErrMalformed = errors.New("mdns: malformed message")
	// ErrEscaped reports a name with a dot or backslash inside a label,
	// which AppendPack cannot pack.
	ErrEscaped = errors.New("mdns: name has an escaped dot or backslash")
	// ErrTooLarge reports a message longer than MaxMessage.
	ErrTooLarge = errors.New("mdns: message too large")
)

// Question is one question of a query.
type Question struct {
	// Name is the queried name, with its trailing dot, as on the wire
	// (compare with [EqualNames]).
	Name string
	Type dnsmessage.Type
	// Unicast reports whether the QU bit asks for a unicast response.
	Unicast bool
}

// Record is one resource record of the types lanfind uses. Only the data
// fields of its Type are set.
type Record struct {
	// Name is the owner name, with its trailing dot.
	Name string
	Type dnsmessage.Type
	// Flush reports whether the cache-flush bit is set: the sender owns
	// the whole record set (Name, Type).
	Flush bool
	// TTL is the time to live in seconds; 0 is a goodbye.
	TTL uint32

	// Target is the PTR target or the SRV target, with its trailing dot.
	Target string
	// Priority, Weight and Port are the SRV fields.
	Priority, Weight, Port uint16
	// Text is the TXT record's strings.
	Text []string
	// Addr is the A or AAAA address.
	Addr netip.Addr
}

// Key identifies a record by its owner name (case-insensitively), type
// and data, ignoring TTL and the cache-flush bit: two records with equal
// keys are the same record (RFC 6762 §10.2).
func (r *Record) Key() string {
	var b strings.Builder
	b.WriteString(strings.ToLower(r.Name))
	fmt.Fprintf(&b, "\x00%d\x00", r.Type)
	switch r.Type {
	case dnsmessage.TypePTR:
		b.WriteString(strings.ToLower(r.Target))
	case dnsmessage.TypeSRV:
		fmt.Fprintf(&b, "%d %d %d %s", r.Priority, r.Weight, r.Port, strings.ToLower(r.Target))
	case dnsmessage.TypeTXT:
		for _, s := range r.Text {
			fmt.Fprintf(&b, "%d:%s", len(s), s)
		}
	case dnsmessage.TypeA, dnsmessage.TypeAAAA:
		b.WriteString(r.Addr.String())
	}
	return b.String()
}

// SetKey identifies a record set: owner name (case-insensitively) and type.
func (r *Record) SetKey() string {
	return fmt.Sprintf("%s\x00%d", strings.ToLower(r.Name), r.Type)
}

// Message is a parsed or to-be-built mDNS message.
type Message struct {
	ID uint16
	// Response reports whether QR is set; Truncated whether TC is.
	Response  bool
	Truncated bool
	Questions []Question
	// Answers are the answers of a response or the known answers of a
	// query; Authorities the proposed records of a probe.
	Answers     []Record
	Authorities []Record
	Additionals []Record
}

// Records returns the records of all three sections, answers first.
func (m *Message) Records() []Record {
	return slices.Concat(m.Answers, m.Authorities, m.Additionals)
}

// EqualNames reports whether two DNS names are equal, ignoring ASCII case
// and a trailing dot.
func EqualNames(a, b string) bool {
	return strings.EqualFold(strings.TrimSuffix(a, "."), strings.TrimSuffix(b, "."))
}

// Parse parses an mDNS message. It copies what it keeps. It returns an
// error wrapping ErrTooLarge or ErrMalformed for a message the caller
// should drop; a message with a nonzero opcode or rcode is malformed (RFC
// 6762 §18.3, §18.11). Records of other types than PTR, SRV, TXT, A and
// AAAA are skipped, as are questions and records beyond the limits.
//
// Names are decoded here rather than by dnsmessage, which refuses a whole
// message when one label contains a dot (as DNS-SD instance labels may,
// "Web.Site"): a dot or backslash inside a label is written escaped, "\."
// and "\\" (RFC 6763 §4.3), so that every name string maps to one
// sequence of labels.
func Parse(p []byte) (Message, error) {
	if len(p) > MaxMessage {
		return Message{}, fmt.Errorf("%w: %d bytes, max %d", ErrTooLarge, len(p), MaxMessage)
	}
	d := decoder{msg: p}
	if len(p) < 12 {
		return Message{}, fmt.Errorf("%w: %d bytes, shorter than a header", ErrMalformed, len(p))
	}
	flags := binary.BigEndian.Uint16(p[2:])
	if op, rcode := flags>>11&0xf, flags&0xf; op != 0 || rcode != 0 {
		return Message{}, fmt.Errorf("%w: opcode %d rcode %d", ErrMalformed, op, rcode)
	}
	m := Message{
		ID:        binary.BigEndian.Uint16(p),
		Response:  flags&0x8000 != 0,
		Truncated: flags&0x0200 != 0,
	}
	var counts [4]int
	for i := range counts {
		counts[i] = int(binary.BigEndian.Uint16(p[4+2*i:]))
	}
	d.off = 12
	for range counts[0] {
		name, err := d.name()
		if err != nil {
			return Message{}, fmt.Errorf("%w: question: %v", ErrMalformed, err)
		}
		b, err := d.take(4)
		if err != nil {
			return Message{}, fmt.Errorf("%w: question %s: %v", ErrMalformed, name, err)
		}
		if len(m.Questions) < MaxQuestions {
			m.Questions = append(m.Questions, Question{
				Name:    name,
				Type:    dnsmessage.Type(binary.BigEndian.Uint16(b)),
				Unicast: binary.BigEndian.Uint16(b[2:])&topBit != 0,
			})
		}
	}
	kept := 0
	sections := []*[]Record{&m.Answers, &m.Authorities, &m.Additionals}
	for i, dst := range sections {
		for range counts[i+1] {
			r, ok, err := d.record()
			if err != nil {
				return Message{}, fmt.Errorf("%w: %s: %v", ErrMalformed, sectionNames[i], err)
			}
			if ok && kept < MaxRecords {
				*dst = append(*dst, r)
				kept++
			}
		}
	}
	return m, nil
}

var sectionNames = [3]string{"answer", "authority", "additional"}

// decoder reads a DNS message.
type decoder struct {
	msg []byte
	off int
}

var errShort = errors.New("message ends early")

func (d *decoder) take(n int) ([]byte, error) {
	if len(d.msg)-d.off < n {
		return nil, errShort
	}
	b := d.msg[d.off : d.off+n]
	d.off += n
	return b, nil
}

// maxName is the longest name on the wire (RFC 1035 §3.1).
const maxName = 255

// name reads a possibly compressed name at d.off and returns it with
// escaped dots and backslashes inside labels and a trailing dot.
func (d *decoder) name() (string, error) {
	var b strings.Builder
	off, wire, jumps := d.off, 0, 0
	end := -1 // where d.off continues after the first pointer
	for {
		if off >= len(d.msg) {
			return "", errShort
		}
		c := int(d.msg[off])
		switch c & 0xc0 {
		case 0x00:
			off++
			if c == 0 {
				if end < 0 {
					end = off
				}
				d.off = end
				if b.Len() == 0 {
					return ".", nil
				}
				return b.String(), nil
			}
			if off+c > len(d.msg) {
				return "", errShort
			}
			if wire += c + 1; wire > maxName {
				return "", errors.New("name too long")
			}
			for _, ch := range d.msg[off : off+c] {
				if ch == '.' || ch == '\\' {
					b.WriteByte('\\')
				}
				b.WriteByte(ch)
			}
			b.WriteByte('.')
			off += c
		case 0xc0:
			if off+1 >= len(d.msg) {
				return "", errShort
			}
			if jumps++; jumps > 32 {
				return "", errors.New("too many compression pointers")
			}
			if end < 0 {
				end = off + 2
			}
			ptr := (c&0x3f)<<8 | int(d.msg[off+1])
			if ptr >= off {
				return "", errors.New("compression pointer points forward")
			}
			off = ptr
		default:
			return "", fmt.Errorf("label type %#x", c&0xc0)
		}
	}
}

// record reads one record; ok is false for a type Parse skips.
func (d *decoder) record() (r Record, ok bool, err error) {
	if r.Name, err = d.name(); err != nil {
		return r, false, err
	}
	h, err := d.take(10)
	if err != nil {
		return r, false, fmt.Errorf("%s: %w", r.Name, err)
	}
	r.Type = dnsmessage.Type(binary.BigEndian.Uint16(h))
	class := binary.BigEndian.Uint16(h[2:])
	r.Flush = class&topBit != 0
	r.TTL = binary.BigEndian.Uint32(h[4:])
	n := int(binary.BigEndian.Uint16(h[8:]))
	start := d.off
	data, err := d.take(n)
	if err != nil {
		return r, false, fmt.Errorf("%s %v data: %w", r.Name, r.Type, err)
	}
	if class&classMask != uint16(dnsmessage.ClassINET) {
		return r, false, nil
	}
	bad := func(format string, args ...any) (Record, bool, error) {
		return r, false, fmt.Errorf("%s %v: "+format, append([]any{r.Name, r.Type}, args...)...)
	}
	switch r.Type {
	case dnsmessage.TypePTR, dnsmessage.TypeSRV:
		sub := decoder{msg: d.msg[:start+n], off: start}
		if r.Type == dnsmessage.TypeSRV {
			f, err := sub.take(6)
			if err != nil {
				return bad("%v", err)
			}
			r.Priority = binary.BigEndian.Uint16(f)
			r.Weight = binary.BigEndian.Uint16(f[2:])
			r.Port = binary.BigEndian.Uint16(f[4:])
		}
		if r.Target, err = sub.name(); err != nil {
			return bad("target: %v", err)
		}
		if sub.off != start+n {
			return bad("%d bytes after the target", start+n-sub.off)
		}
	case dnsmessage.TypeTXT:
		for i := 0; i < len(data); {
			l := int(data[i])
			if i+1+l > len(data) {
				return bad("text string overruns the record")
			}
			if l > 0 {
				r.Text = append(r.Text, string(data[i+1:i+1+l]))
			}
			i += 1 + l
		}
	case dnsmessage.TypeA:
		if n != 4 {
			return bad("%d bytes, want 4", n)
		}
		r.Addr = netip.AddrFrom4([4]byte(data))
	case dnsmessage.TypeAAAA:
		if n != 16 {
			return bad("%d bytes, want 16", n)
		}
		r.Addr = netip.AddrFrom16([16]byte(data))
	default:
		return r, false, nil
	}
	return r, true, nil
}

// AppendPack appends m's wire form to dst. Names are compressed. It
// fails for a name dnsmessage cannot pack (a label over 63 bytes, an
// empty label) or a message over MaxMessage bytes.
func (m *Message) AppendPack(dst []byte) ([]byte, error) {
	start := len(dst)
	h := dnsmessage.Header{ID: m.ID, Response: m.Response, Truncated: m.Truncated, Authoritative: m.Response}
	b := dnsmessage.NewBuilder(dst, h)
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return dst[:start], err
	}
	for _, q := range m.Questions {
		if strings.Contains(q.Name, "\\") {
			return dst[:start], fmt.Errorf("mdns: question %q: %w", q.Name, ErrEscaped)
		}
		n, err := dnsmessage.NewName(q.Name)
		if err != nil {
			return dst[:start], fmt.Errorf("mdns: question %q: %w", q.Name, err)
		}
		c := uint16(dnsmessage.ClassINET)
		if q.Unicast {
			c |= topBit
		}
		if err := b.Question(dnsmessage.Question{Name: n, Type: q.Type, Class: dnsmessage.Class(c)}); err != nil {
			return dst[:start], fmt.Errorf("mdns: question %q: %w", q.Name, err)
		}
	}
	sections := []struct {
		start func() error
		recs  []Record
	}{
		{b.StartAnswers, m.Answers},
		{b.StartAuthorities, m.Authorities},
		{b.StartAdditionals, m.Additionals},
	}
	for _, s := range sections {
		if err := s.start(); err != nil {
			return dst[:start], err
		}
		for i := range s.recs {
			if err := packRecord(&b, &s.recs[i]); err != nil {
				return dst[:start], err
			}
		}
	}
	out, err := b.Finish()
	if err != nil {
		return dst[:start], fmt.Errorf("mdns: pack: %w", err)
	}
	if len(out)-start > MaxMessage {
		return dst[:start], fmt.Errorf("%w: %d bytes, max %d", ErrTooLarge, len(out)-start, MaxMessage)
	}
	return out, nil
}

func packRecord(b *dnsmessage.Builder, r *Record) error {
	if strings.Contains(r.Name, "\\") || strings.Contains(r.Target, "\\") {
		return fmt.Errorf("mdns: record %q: %w", r.Name, ErrEscaped)
	}
	n, err := dnsmessage.NewName(r.Name)
	if err != nil {
		return fmt.Errorf("mdns: record %q: %w", r.Name, err)
	}
	c := uint16(dnsmessage.ClassINET)
	if r.Flush {
		c |= topBit
	}
	h := dnsmessage.ResourceHeader{Name: n, Class: dnsmessage.Class(c), TTL: r.TTL}
	switch r.Type {
	case dnsmessage.TypePTR:
		t, err := dnsmessage.NewName(r.Target)
		if err == nil {
			err = b.PTRResource(h, dnsmessage.PTRResource{PTR: t})
		}
		return wrapRecord(r, err)
	case dnsmessage.TypeSRV:
		t, err := dnsmessage.NewName(r.Target)
		if err == nil {
			err = b.SRVResource(h, dnsmessage.SRVResource{Priority: r.Priority, Weight: r.Weight, Port: r.Port, Target: t})
		}
		return wrapRecord(r, err)
	case dnsmessage.TypeTXT:
		txt := r.Text
		if len(txt) == 0 {
			txt = []string{""} // RFC 6763 §6.1: an empty TXT record holds one empty string
		}
		return wrapRecord(r, b.TXTResource(h, dnsmessage.TXTResource{TXT: txt}))
	case dnsmessage.TypeA:
		if !r.Addr.Is4() {
			return fmt.Errorf("mdns: record %q: A record with address %v", r.Name, r.Addr)
		}
		return wrapRecord(r, b.AResource(h, dnsmessage.AResource{A: r.Addr.As4()}))
	case dnsmessage.TypeAAAA:
		if !r.Addr.Is6() || r.Addr.Is4In6() {
			return fmt.Errorf("mdns: record %q: AAAA record with address %v", r.Name, r.Addr)
		}
		return wrapRecord(r, b.AAAAResource(h, dnsmessage.AAAAResource{AAAA: r.Addr.As16()}))
	}
	return fmt.Errorf("mdns: record %q: cannot pack type %v", r.Name, r.Type)
}

func wrapRecord(r *Record, err error) error {
	if err != nil {
		return fmt.Errorf("mdns: record %q %v: %w", r.Name, r.Type, err)
	}
	return nil
}
