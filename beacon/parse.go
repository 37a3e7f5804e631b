package beacon

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"
)

// LooksLikeBeacon reports whether p starts with Magic and is long enough
// for the header. It is a cheap filter to run before [Parse]; it does not
// check the version or the body.
func LooksLikeBeacon(p []byte) bool {
	return len(p) >= HeaderSize && [4]byte(p[:4]) == Magic
}

// Parse parses one datagram. It checks, in order: the length against
// HeaderSize (ErrShort), the magic (ErrMagic), the version (ErrVersion),
// the length against MaxSize (ErrTooBig), the kind (ErrKind), and then the
// body, where every length is checked before use (ErrShort when the
// datagram or a record ends early, ErrMalformed when a value breaks a
// rule). On error it returns the zero Beacon.
//
// Parse ignores undefined flag bits (and clears them), bytes left in a
// record after the fields it knows, and bytes after the body. A Beacon
// that Parse returns passes [Beacon.Validate] and marshals to a datagram
// no longer than p that parses to an equal Beacon.
//
// The result does not refer to p, so the caller may reuse p at once. Its
// strings share one copy of p. Empty Addrs, Meta and Known are nil.
// Parse is safe for concurrent use.
func Parse(p []byte) (Beacon, error) {
	if len(p) < HeaderSize {
		return Beacon{}, errorf(ErrShort, "datagram is %d bytes, header needs %d", len(p), HeaderSize)
	}
	if [4]byte(p[:4]) != Magic {
		return Beacon{}, ErrMagic
	}
	if p[4] != Version {
		return Beacon{}, errorf(ErrVersion, "unsupported version %d, want %d", p[4], Version)
	}
	if len(p) > MaxSize {
		return Beacon{}, errorf(ErrTooBig, "message is %d bytes, max %d", len(p), MaxSize)
	}
	b := Beacon{
		Kind:      Kind(p[5]),
		Flags:     Flags(binary.BigEndian.Uint16(p[6:])) & flagsDefined,
		Sender:    binary.BigEndian.Uint64(p[8:]),
		Seq:       binary.BigEndian.Uint32(p[16:]),
		RequestID: binary.BigEndian.Uint64(p[20:]),
	}
	if !b.Kind.known() {
		return Beacon{}, errorf(ErrKind, "unknown message kind %d", p[5])
	}
	if (b.Kind == KindQuery || b.Kind == KindReply) && b.RequestID == 0 {
		return Beacon{}, errorf(ErrMalformed, "%s: request ID is 0", b.Kind)
	}
	d := decoder{buf: p, off: HeaderSize, end: len(p), kind: b.Kind, svc: -1}
	var err error
	if b.Kind == KindQuery {
		b.Query, err = d.query()
	} else {
		b.Services, err = d.services()
	}
	if err != nil {
		return Beacon{}, err
	}
	return b, nil
}

// decoder reads the body of one datagram.
type decoder struct {
	buf  []byte // the whole datagram
	str  string // copy of buf made on first use; parsed strings slice it
	off  int    // next byte to read
	end  int    // end of the current region: the datagram or one record
	kind Kind   // the message kind, for errors
	svc  int    // index of the record being read, -1 outside records
}

// where names the part of the message being read, for errors.
func (d *decoder) where() string {
	if d.svc < 0 {
		return d.kind.String()
	}
	return fmt.Sprintf("service[%d]", d.svc)
}

// short returns an ErrShort error for field, which needs n bytes.
func (d *decoder) short(field string, n int) error {
	return errorf(ErrShort, "%s: %s truncated at offset %d (need %d, have %d)", d.where(), field, d.off, n, d.end-d.off)
}

// bad returns an ErrMalformed error.
func (d *decoder) bad(format string, args ...any) error {
	return errorf(ErrMalformed, "%s: %s", d.where(), fmt.Sprintf(format, args...))
}

func (d *decoder) take(n int, field string) ([]byte, error) {
	if d.end-d.off < n {
		return nil, d.short(field, n)
	}
	p := d.buf[d.off : d.off+n]
	d.off += n
	return p, nil
}

func (d *decoder) uint8(field string) (uint8, error) {
	if d.end-d.off < 1 {
		return 0, d.short(field, 1)
	}
	v := d.buf[d.off]
	d.off++
	return v, nil
}

func (d *decoder) uint16(field string) (uint16, error) {
	p, err := d.take(2, field)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint16(p), nil
}

func (d *decoder) uint32(field string) (uint32, error) {
	p, err := d.take(4, field)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint32(p), nil
}

func (d *decoder) uint64(field string) (uint64, error) {
	p, err := d.take(8, field)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint64(p), nil
}

// string reads n bytes as a string backed by d.str.
func (d *decoder) string(n int, field string) (string, error) {
	if d.end-d.off < n {
		return "", d.short(field, n)
	}
	if n == 0 {
		return "", nil
	}
	if d.str == "" {
		d.str = string(d.buf)
	}
	s := d.str[d.off : d.off+n]
	d.off += n
	return s, nil
}

// string8 reads a string with a 1-byte length of minLen..maxLen.
func (d *decoder) string8(field string, minLen, maxLen int) (string, error) {
	if d.end-d.off < 1 {
		return "", d.short(field+" length", 1)
	}
	n := int(d.buf[d.off])
	d.off++
	if n < minLen {
		return "", d.bad("%s is empty", field)
	}
	if n > maxLen {
		return "", d.bad("%s is %d bytes, max %d", field, n, maxLen)
	}
	return d.string(n, field)
}

func (d *decoder) query() (*Query, error) {
	var q Query
	var err error
	if q.Attempt, err = d.uint8("attempt"); err != nil {
		return nil, err
	}
	if q.Name, err = d.string8("name", 0, MaxNameLen); err != nil {
		return nil, err
	}
	if q.Type, err = d.string8("type", 0, MaxTypeLen); err != nil {
		return nil, err
	}
	n, err := d.uint8("known count")
	if err != nil {
		return nil, err
	}
	if n > MaxKnown {
		return nil, d.bad("%d known IDs, max %d", n, MaxKnown)
	}
	if n > 0 {
		p, err := d.take(8*int(n), "known IDs")
		if err != nil {
			return nil, err
		}
		q.Known = make([]uint64, n)
		for i := range q.Known {
			q.Known[i] = binary.BigEndian.Uint64(p[8*i:])
		}
	}
	return &q, nil
}

func (d *decoder) services() ([]Service, error) {
	n, err := d.uint8("record count")
	if err != nil {
		return nil, err
	}
	if n == 0 || n > MaxServices {
		return nil, d.bad("record count is %d, want 1..%d", n, MaxServices)
	}
	ss := make([]Service, n)
	for i := range ss {
		d.svc = i
		if err := d.service(&ss[i]); err != nil {
			return nil, err
		}
	}
	d.svc = -1
	return ss, nil
}

// service reads one record, from its length on, into s.
func (d *decoder) service(s *Service) error {
	rlen, err := d.uint16("record length")
	if err != nil {
		return err
	}
	if d.end-d.off < int(rlen) {
		return d.short("record", int(rlen))
	}
	outer := d.end
	d.end = d.off + int(rlen)

	if s.Instance, err = d.uint64("instance"); err != nil {
		return err
	}
	if s.Port, err = d.uint16("port"); err != nil {
		return err
	}
	ttl, err := d.uint32("ttl")
	if err != nil {
		return err
	}
	if d.kind == KindGoodbye {
		if ttl != 0 {
			return d.bad("goodbye with ttl %dms, want 0", ttl)
		}
	} else if ttl == 0 || ttl > uint32(MaxTTL/time.Millisecond) {
		return d.bad("ttl is %dms, want 1..%d", ttl, MaxTTL/time.Millisecond)
	}
	s.TTL = time.Duration(ttl) * time.Millisecond
	if s.Name, err = d.string8("name", 1, MaxNameLen); err != nil {
		return err
	}
	if s.Type, err = d.string8("type", 0, MaxTypeLen); err != nil {
		return err
	}
	if s.Host, err = d.string8("host", 0, MaxHostLen); err != nil {
		return err
	}

	na, err := d.uint8("addr count")
	if err != nil {
		return err
	}
	if na > MaxAddrs {
		return d.bad("%d addrs, max %d", na, MaxAddrs)
	}
	if na > 0 {
		s.Addrs = make([]netip.Addr, na)
		for j := range s.Addrs {
			l, err := d.uint8("addr length")
			if err != nil {
				return err
			}
			if l != 4 && l != 16 {
				return d.bad("addr[%d] is %d bytes, want 4 or 16", j, l)
			}
			p, err := d.take(int(l), "addr")
			if err != nil {
				return err
			}
			if l == 4 {
				s.Addrs[j] = netip.AddrFrom4([4]byte(p))
			} else {
				s.Addrs[j] = netip.AddrFrom16([16]byte(p))
			}
		}
	}

	nm, err := d.uint8("meta count")
	if err != nil {
		return err
	}
	if nm > MaxMeta {
		return d.bad("%d meta pairs, max %d", nm, MaxMeta)
	}
	if nm > 0 {
		s.Meta = make(map[string]string, nm)
		for range nm {
			k, err := d.string8("meta key", 1, MaxKeyLen)
			if err != nil {
				return err
			}
			vlen, err := d.uint16("meta value length")
			if err != nil {
				return err
			}
			if vlen > MaxValueLen {
				return d.bad("meta %q: value is %d bytes, max %d", k, vlen, MaxValueLen)
			}
			v, err := d.string(int(vlen), "meta value")
			if err != nil {
				return err
			}
			if _, dup := s.Meta[k]; dup {
				return d.bad("duplicate meta key %q", k)
			}
			s.Meta[k] = v
		}
	}

	// Skip fields from newer revisions.
	d.off = d.end
	d.end = outer
	return nil
}
