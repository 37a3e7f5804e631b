package beacon

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// Size returns the number of bytes s takes in a message body, including
// its 2-byte record length. A message carrying services ss is
// HeaderSize + 1 + the sum of ss[i].Size() bytes; see [Beacon.Size].
// Size does not validate s.
func (s *Service) Size() int {
	return 2 + recordSize(s)
}

// recordSize returns the size of s's record after the record length.
func recordSize(s *Service) int {
	n := 8 + 2 + 4 // instance, port, ttl
	n += 1 + len(s.Name) + 1 + len(s.Type) + 1 + len(s.Host)
	n++ // addr count
	for _, a := range s.Addrs {
		n += 1 + addrLen(a)
	}
	n++ // meta count
	for k, v := range s.Meta {
		n += 1 + len(k) + 2 + len(v)
	}
	return n
}

// Size returns the number of bytes [Beacon.Marshal] produces for b: the
// header plus, for KindQuery, the query body (an empty one if Query is
// nil) or, for other kinds, the service records. Size does not validate b.
// To pack services into datagrams, add them while Size stays at most
// MaxSize and len(Services) at most MaxServices.
func (b *Beacon) Size() int {
	n := HeaderSize
	if b.Kind == KindQuery {
		n += 1 + 1 + 1 + 1 // attempt, name length, type length, known count
		if q := b.Query; q != nil {
			n += len(q.Name) + len(q.Type) + 8*len(q.Known)
		}
		return n
	}
	n++ // record count
	for i := range b.Services {
		n += b.Services[i].Size()
	}
	return n
}

// addrLen returns the size of a on the wire: 4 bytes for IPv4, 16 for
// everything else (IPv6, including IPv4-mapped IPv6).
func addrLen(a netip.Addr) int {
	if a.Is4() {
		return 4
	}
	return 16
}

// Validate reports whether b can be marshalled: a known kind, no undefined
// flags, a body that fits the kind, every field within its limit and a
// total size of at most MaxSize. The error names the offending field, e.g.
// `beacon: service "db": meta "k": value is 300 bytes, max 255`, and
// matches ErrKind, ErrMalformed or ErrTooBig.
func (b *Beacon) Validate() error {
	_, err := b.validate()
	return err
}

// validate is Validate that also returns b's size.
func (b *Beacon) validate() (int, error) {
	if !b.Kind.known() {
		return 0, errorf(ErrKind, "unknown message kind %d", uint8(b.Kind))
	}
	if extra := b.Flags &^ flagsDefined; extra != 0 {
		return 0, errorf(ErrMalformed, "%s: undefined flags %#04x", b.Kind, uint16(extra))
	}
	if b.Kind == KindQuery || b.Kind == KindReply {
		if b.RequestID == 0 {
			return 0, errorf(ErrMalformed, "%s: request ID is 0", b.Kind)
		}
	}
	if b.Kind == KindQuery {
		if b.Query == nil {
			return 0, errorf(ErrMalformed, "query: Query is nil")
		}
		if len(b.Services) != 0 {
			return 0, errorf(ErrMalformed, "query: has %d services, want none", len(b.Services))
		}
		if err := validateQuery(b.Query); err != nil {
			return 0, err
		}
	} else {
		if b.Query != nil {
			return 0, errorf(ErrMalformed, "%s: has a Query", b.Kind)
		}
		if n := len(b.Services); n == 0 || n > MaxServices {
			return 0, errorf(ErrMalformed, "%s: has %d services, want 1..%d", b.Kind, n, MaxServices)
		}
		for i := range b.Services {
			if err := validateService(b.Kind, i, &b.Services[i]); err != nil {
				return 0, err
			}
		}
	}
	n := b.Size()
	if n > MaxSize {
		return 0, errorf(ErrTooBig, "message is %d bytes, max %d", n, MaxSize)
	}
	return n, nil
}

func validateQuery(q *Query) error {
	if len(q.Name) > MaxNameLen {
		return errorf(ErrMalformed, "query: name is %d bytes, max %d", len(q.Name), MaxNameLen)
	}
	if len(q.Type) > MaxTypeLen {
		return errorf(ErrMalformed, "query: type is %d bytes, max %d", len(q.Type), MaxTypeLen)
	}
	if len(q.Known) > MaxKnown {
		return errorf(ErrMalformed, "query: %d known IDs, max %d", len(q.Known), MaxKnown)
	}
	return nil
}

// validateService checks s, the i'th service of a message of kind k.
func validateService(k Kind, i int, s *Service) error {
	// Name the service by its name when that is usable, else by index.
	label := func() string {
		if len(s.Name) == 0 || len(s.Name) > MaxNameLen {
			return fmt.Sprintf("service[%d]", i)
		}
		return fmt.Sprintf("service %q", s.Name)
	}
	if len(s.Name) == 0 {
		return errorf(ErrMalformed, "%s: name is empty", label())
	}
	if len(s.Name) > MaxNameLen {
		return errorf(ErrMalformed, "%s: name is %d bytes, max %d", label(), len(s.Name), MaxNameLen)
	}
	if len(s.Type) > MaxTypeLen {
		return errorf(ErrMalformed, "%s: type is %d bytes, max %d", label(), len(s.Type), MaxTypeLen)
	}
	if len(s.Host) > MaxHostLen {
		return errorf(ErrMalformed, "%s: host is %d bytes, max %d", label(), len(s.Host), MaxHostLen)
	}
	if k == KindGoodbye {
		if s.TTL != 0 {
			return errorf(ErrMalformed, "%s: goodbye with ttl %v, want 0", label(), s.TTL)
		}
	} else if s.TTL <= 0 || s.TTL > MaxTTL {
		return errorf(ErrMalformed, "%s: ttl is %v, want 1ms..%v", label(), s.TTL, MaxTTL)
	}
	if len(s.Addrs) > MaxAddrs {
		return errorf(ErrMalformed, "%s: %d addrs, max %d", label(), len(s.Addrs), MaxAddrs)
	}
	for j, a := range s.Addrs {
		if !a.IsValid() {
			return errorf(ErrMalformed, "%s: addr[%d] is the zero Addr", label(), j)
		}
		if a.Zone() != "" {
			return errorf(ErrMalformed, "%s: addr %v has a zone", label(), a)
		}
	}
	if len(s.Meta) > MaxMeta {
		return errorf(ErrMalformed, "%s: %d meta pairs, max %d", label(), len(s.Meta), MaxMeta)
	}
	for k, v := range s.Meta {
		if len(k) == 0 {
			return errorf(ErrMalformed, "%s: meta key is empty", label())
		}
		if len(k) > MaxKeyLen {
			return errorf(ErrMalformed, "%s: meta key %q is %d bytes, max %d", label(), k, len(k), MaxKeyLen)
		}
		if len(v) > MaxValueLen {
			return errorf(ErrMalformed, "%s: meta %q: value is %d bytes, max %d", label(), k, len(v), MaxValueLen)
		}
	}
	return nil
}

// AppendBinary validates b (see [Beacon.Validate]) and appends its wire
// form to dst, implementing [encoding.BinaryAppender]. On error it returns
// dst unchanged. Meta pairs are written in sorted key order, so equal
// Beacons give equal bytes.
func (b *Beacon) AppendBinary(dst []byte) ([]byte, error) {
	n, err := b.validate()
	if err != nil {
		return dst, err
	}
	dst = slices.Grow(dst, n)
	dst = append(dst, Magic[:]...)
	dst = append(dst, Version, byte(b.Kind))
	dst = binary.BigEndian.AppendUint16(dst, uint16(b.Flags))
	dst = binary.BigEndian.AppendUint64(dst, b.Sender)
	dst = binary.BigEndian.AppendUint32(dst, b.Seq)
	dst = binary.BigEndian.AppendUint64(dst, b.RequestID)
	if b.Kind == KindQuery {
		q := b.Query
		dst = append(dst, q.Attempt)
		dst = appendString8(dst, q.Name)
		dst = appendString8(dst, q.Type)
		dst = append(dst, byte(len(q.Known)))
		for _, id := range q.Known {
			dst = binary.BigEndian.AppendUint64(dst, id)
		}
		return dst, nil
	}
	dst = append(dst, byte(len(b.Services)))
	for i := range b.Services {
		dst = appendService(dst, &b.Services[i])
	}
	return dst, nil
}

// appendService appends s's record, length first. s must be valid.
func appendService(dst []byte, s *Service) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(recordSize(s)))
	dst = binary.BigEndian.AppendUint64(dst, s.Instance)
	dst = binary.BigEndian.AppendUint16(dst, s.Port)
	dst = binary.BigEndian.AppendUint32(dst, ttlMillis(s.TTL))
	dst = appendString8(dst, s.Name)
	dst = appendString8(dst, s.Type)
	dst = appendString8(dst, s.Host)
	dst = append(dst, byte(len(s.Addrs)))
	for _, a := range s.Addrs {
		if a.Is4() {
			b := a.As4()
			dst = append(dst, 4)
			dst = append(dst, b[:]...)
		} else {
			b := a.As16()
			dst = append(dst, 16)
			dst = append(dst, b[:]...)
		}
	}
	dst = append(dst, byte(len(s.Meta)))
	// Sort the keys for deterministic output; Validate capped their
	// number, so the array stays on the stack.
	var arr [MaxMeta]string
	keys := arr[:0]
	for k := range s.Meta {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := s.Meta[k]
		dst = appendString8(dst, k)
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(v)))
		dst = append(dst, v...)
	}
	return dst
}

// ttlMillis converts a valid TTL to whole milliseconds, rounding up.
func ttlMillis(d time.Duration) uint32 {
	return uint32((d + time.Millisecond - 1) / time.Millisecond)
}

// appendString8 appends s with a 1-byte length. len(s) must be at most 255.
func appendString8(dst []byte, s string) []byte {
	dst = append(dst, byte(len(s)))
	return append(dst, s...)
}

// Marshal returns the wire form of b; see [Beacon.AppendBinary].
func (b *Beacon) Marshal() ([]byte, error) {
	return b.AppendBinary(nil)
}
