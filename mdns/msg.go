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

// maxName is the longest name on the wire and maxLabel the longest label
// (RFC 1035 §3.1).
const (
	maxName  = 255
	maxLabel = 63
)

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
			if wire += c + 1; wire >= maxName { // with the root's 0 byte, over 255
				return "", errors.New("name too long")
			}
			writeEscaped(&b, d.msg[off:off+c])
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

// AppendPack appends m's wire form to dst. Names are written as Parse
// writes them: labels joined by dots, with `\.` and `\\` for a dot and a
// backslash inside a label (any other escaped byte stands for itself); the
// trailing dot is optional. Names are compressed (RFC 1035 §4.1.4), also
// in PTR and SRV data (RFC 6762 §18.14). AppendPack fails for an empty
// label, a label over 63 bytes, a name over 255 bytes on the wire, a TXT
// string over 255 bytes, a record type other than PTR, SRV, TXT, A and
// AAAA, or a message over MaxMessage bytes; dst is then returned unchanged.
func (m *Message) AppendPack(dst []byte) ([]byte, error) {
	start := len(dst)
	e := encoder{msg: dst, start: start}
	var flags uint16
	if m.Response {
		flags |= 0x8000 | 0x0400 // QR, AA (RFC 6762 §18.4)
	}
	if m.Truncated {
		flags |= 0x0200
	}
	counts := [4]int{len(m.Questions), len(m.Answers), len(m.Authorities), len(m.Additionals)}
	e.msg = binary.BigEndian.AppendUint16(e.msg, m.ID)
	e.msg = binary.BigEndian.AppendUint16(e.msg, flags)
	for _, n := range counts {
		if n > 0xffff {
			return dst[:start], fmt.Errorf("mdns: pack: %d entries in a section, max 65535", n)
		}
		e.msg = binary.BigEndian.AppendUint16(e.msg, uint16(n))
	}
	for _, q := range m.Questions {
		if err := e.name(q.Name); err != nil {
			return dst[:start], fmt.Errorf("mdns: question %q: %w", q.Name, err)
		}
		c := uint16(dnsmessage.ClassINET)
		if q.Unicast {
			c |= topBit
		}
		e.msg = binary.BigEndian.AppendUint16(e.msg, uint16(q.Type))
		e.msg = binary.BigEndian.AppendUint16(e.msg, c)
	}
	for _, recs := range [][]Record{m.Answers, m.Authorities, m.Additionals} {
		for i := range recs {
			if err := e.record(&recs[i]); err != nil {
				return dst[:start], fmt.Errorf("mdns: record %q %v: %w", recs[i].Name, recs[i].Type, err)
			}
		}
	}
	if n := len(e.msg) - start; n > MaxMessage {
		return dst[:start], fmt.Errorf("%w: %d bytes, max %d", ErrTooLarge, n, MaxMessage)
	}
	return e.msg, nil
}

// encoder writes a DNS message after msg[:start].
type encoder struct {
	msg   []byte
	start int
	// ptrs maps the wire form of each name suffix written so far to its
	// offset in the message, for compression.
	ptrs map[string]int
}

// maxPointer is the largest offset a compression pointer holds.
const maxPointer = 0x3fff

// name writes a name, compressed against the names written before.
func (e *encoder) name(s string) error {
	var buf [maxName + 1]byte
	w, err := appendWireName(buf[:0], s)
	if err != nil {
		return err
	}
	if e.ptrs == nil {
		e.ptrs = map[string]int{}
	}
	base := len(e.msg) - e.start
	for i := 0; w[i] != 0; i += int(w[i]) + 1 {
		if off, ok := e.ptrs[string(w[i:])]; ok {
			e.msg = append(e.msg, w[:i]...)
			e.msg = append(e.msg, 0xc0|byte(off>>8), byte(off))
			return nil
		}
		if base+i <= maxPointer {
			e.ptrs[string(w[i:])] = base + i
		}
	}
	e.msg = append(e.msg, w...)
	return nil
}

// appendWireName appends the uncompressed wire form of name (see
// AppendPack) to dst.
func appendWireName(dst []byte, name string) ([]byte, error) {
	switch name {
	case "":
		return dst, errors.New("empty name")
	case ".":
		return append(dst, 0), nil
	}
	start := len(dst)
	n := len(dst) // the length byte of the current label
	dst = append(dst, 0)
	end := func() error {
		l := len(dst) - n - 1
		switch {
		case l == 0:
			return errors.New("empty label")
		case l > maxLabel:
			return fmt.Errorf("label of %d bytes, max %d", l, maxLabel)
		}
		dst[n] = byte(l)
		n = len(dst)
		dst = append(dst, 0)
		return nil
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch c {
		case '\\':
			if i++; i == len(name) {
				return dst[:start], errors.New("backslash at the end")
			}
			c = name[i]
		case '.':
			if err := end(); err != nil {
				return dst[:start], err
			}
			continue
		}
		if len(dst)-start > maxName {
			break // too long: said below
		}
		dst = append(dst, c)
	}
	if len(dst)-n > 1 { // no trailing dot
		if err := end(); err != nil {
			return dst[:start], err
		}
	}
	if l := len(dst) - start; l > maxName {
		return dst[:start], fmt.Errorf("name of %d bytes or more, max %d", l, maxName)
	}
	return dst, nil
}

// record writes one record.
func (e *encoder) record(r *Record) error {
	if err := e.name(r.Name); err != nil {
		return err
	}
	c := uint16(dnsmessage.ClassINET)
	if r.Flush {
		c |= topBit
	}
	e.msg = binary.BigEndian.AppendUint16(e.msg, uint16(r.Type))
	e.msg = binary.BigEndian.AppendUint16(e.msg, c)
	e.msg = binary.BigEndian.AppendUint32(e.msg, r.TTL)
	at := len(e.msg)
	e.msg = append(e.msg, 0, 0) // data length, set below
	switch r.Type {
	case dnsmessage.TypePTR:
		if err := e.name(r.Target); err != nil {
			return fmt.Errorf("target: %w", err)
		}
	case dnsmessage.TypeSRV:
		e.msg = binary.BigEndian.AppendUint16(e.msg, r.Priority)
		e.msg = binary.BigEndian.AppendUint16(e.msg, r.Weight)
		e.msg = binary.BigEndian.AppendUint16(e.msg, r.Port)
		if err := e.name(r.Target); err != nil {
			return fmt.Errorf("target: %w", err)
		}
	case dnsmessage.TypeTXT:
		if len(r.Text) == 0 {
			e.msg = append(e.msg, 0) // RFC 6763 §6.1: an empty TXT record holds one empty string
		}
		for _, s := range r.Text {
			if len(s) > 255 {
				return fmt.Errorf("text string of %d bytes, max 255", len(s))
			}
			e.msg = append(e.msg, byte(len(s)))
			e.msg = append(e.msg, s...)
			if len(e.msg)-e.start > MaxMessage {
				return fmt.Errorf("%w: more than %d bytes", ErrTooLarge, MaxMessage)
			}
		}
	case dnsmessage.TypeA:
		if !r.Addr.Is4() {
			return fmt.Errorf("type A with address %v", r.Addr)
		}
		e.msg = append(e.msg, r.Addr.AsSlice()...)
	case dnsmessage.TypeAAAA:
		if !r.Addr.Is6() { // an IPv4-mapped address too, as Parse may return one
			return fmt.Errorf("type AAAA with address %v", r.Addr)
		}
		e.msg = append(e.msg, r.Addr.AsSlice()...)
	default:
		return errors.New("cannot pack this type")
	}
	n := len(e.msg) - at - 2
	if n > 0xffff {
		return fmt.Errorf("%d bytes of data, max 65535", n)
	}
	binary.BigEndian.PutUint16(e.msg[at:], uint16(n))
	return nil
}
