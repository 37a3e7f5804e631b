package beacon_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/seal"
)

// unhex decodes hex that may contain spaces, newlines and comments from
// "#" to the end of a line.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	var sb strings.Builder
	for line := range strings.Lines(s) {
		line, _, _ = strings.Cut(line, "#")
		sb.WriteString(strings.Join(strings.Fields(line), ""))
	}
	b, err := hex.DecodeString(sb.String())
	if err != nil {
		t.Fatalf("bad test hex %q: %v", s, err)
	}
	return b
}

// rec returns a service record in hex: the record length, computed from
// the fields, then the fields.
func rec(fields ...string) string {
	body := strings.Join(strings.Fields(strings.Join(fields, "")), "")
	return fmt.Sprintf("%04x", len(body)/2) + body
}

// hdr returns a header in hex with sender 0xaa and seq 1.
func hdr(kind byte, requestID uint64) string {
	return fmt.Sprintf("4c4e4644 01 %02x 0000 00000000000000aa 00000001 %016x ", kind, requestID)
}

const reqID = 0x1112131415161718

// golden lists beacons with their exact wire form.
var golden = []struct {
	name string
	b    beacon.Beacon
	hex  string
}{
	{
		name: "query with known answers",
		b: beacon.Beacon{
			Kind:      beacon.KindQuery,
			Sender:    0x0102030405060708,
			Seq:       9,
			RequestID: reqID,
			Query: &beacon.Query{
				Attempt: 1,
				Name:    "db",
				Type:    "pg",
				Known:   []uint64{0xa1a2a3a4a5a6a7a8, 0xff},
			},
		},
		hex: `4c4e4644 01 04 0000 0102030405060708 00000009 1112131415161718
			01                  # attempt
			02 6462             # name "db"
			02 7067             # type "pg"
			02 a1a2a3a4a5a6a7a8 00000000000000ff
		`,
	},
	{
		name: "query for anything",
		b: beacon.Beacon{
			Kind:      beacon.KindQuery,
			Sender:    0xaa,
			Seq:       1,
			RequestID: reqID,
			Query:     &beacon.Query{},
		},
		hex: hdr(4, reqID) + "00 00 00 00",
	},
	{
		name: "announce with two services",
		b: beacon.Beacon{
			Kind:   beacon.KindAnnounce,
			Sender: 0xaa,
			Seq:    1,
			Services: []beacon.Service{
				{
					Instance: 0x1111111111111111,
					Name:     "db",
					Type:     "pg",
					Port:     5432,
					TTL:      30 * time.Second,
					Host:     "nas",
					Addrs: []netip.Addr{
						netip.MustParseAddr("192.168.1.10"),
						netip.MustParseAddr("fd00::1"),
					},
					Meta: map[string]string{"ver": "16", "role": "primary"},
				},
				{
					Instance: 0x2222222222222222,
					Name:     "web",
					Type:     "http",
					Port:     80,
					TTL:      1500 * time.Millisecond,
				},
			},
		},
		hex: `4c4e4644 01 01 0000 00000000000000aa 00000001 0000000000000000
			02                     # record count
			0046                   # record length 70
			1111111111111111 1538  # instance, port 5432
			00007530               # ttl 30000ms
			02 6462  02 7067  03 6e6173                        # "db", "pg", "nas"
			02 04 c0a8010a  10 fd000000000000000000000000000001
			02 04 726f6c65 0007 7072696d617279  03 766572 0002 3136  # role=primary, ver=16
			001a                   # record length 26
			2222222222222222 0050 000005dc
			03 776562  04 68747470  00                         # "web", "http", ""
			00 00                  # no addrs, no meta
		`,
	},
	{
		name: "goodbye",
		b: beacon.Beacon{
			Kind:   beacon.KindGoodbye,
			Sender: 0xaa,
			Seq:    1,
			Services: []beacon.Service{{
				Instance: 0x1111111111111111,
				Name:     "db",
				Type:     "pg",
				Port:     5432,
			}},
		},
		hex: hdr(3, 0) + `01
			0017 1111111111111111 1538 00000000 02 6462 02 7067 00 00 00`,
	},
	{
		name: "reply",
		b: beacon.Beacon{
			Kind:      beacon.KindReply,
			Sender:    0xbb,
			Seq:       7,
			RequestID: reqID,
			Services: []beacon.Service{{
				Instance: 0x3333333333333333,
				Name:     "printer",
				Type:     "ipp",
				Port:     631,
				TTL:      2 * time.Minute,
				Host:     "office.lan",
				Addrs:    []netip.Addr{netip.MustParseAddr("::ffff:10.0.0.5")},
				Meta:     map[string]string{"empty": ""},
			}},
		},
		hex: `4c4e4644 01 02 0000 00000000000000bb 00000007 1112131415161718
			01
			0040 3333333333333333 0277 0001d4c0                   # length 64, port 631, ttl 120000ms
			07 7072696e746572  03 697070  0a 6f66666963652e6c616e  # "printer", "ipp", "office.lan"
			01 10 00000000000000000000ffff0a000005                 # ::ffff:10.0.0.5
			01 05 656d707479 0000                                  # empty=""
		`,
	},
}

func TestGolden(t *testing.T) {
	for _, tc := range golden {
		t.Run(tc.name, func(t *testing.T) {
			want := unhex(t, tc.hex)
			prefix := []byte("prefix")
			got, err := tc.b.AppendBinary(prefix[:len(prefix):len(prefix)])
			if err != nil {
				t.Fatalf("AppendBinary: %v", err)
			}
			if !bytes.HasPrefix(got, prefix) {
				t.Fatalf("AppendBinary lost dst: got %q..., want prefix %q", got[:min(len(got), len(prefix))], prefix)
			}
			if got := got[len(prefix):]; !bytes.Equal(got, want) {
				t.Fatalf("AppendBinary:\ngot  %x\nwant %x", got, want)
			}
			m, err := tc.b.Marshal()
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if !bytes.Equal(m, want) {
				t.Errorf("Marshal:\ngot  %x\nwant %x", m, want)
			}
			if got := tc.b.Size(); got != len(want) {
				t.Errorf("Size: got %d, want %d", got, len(want))
			}
			if !beacon.LooksLikeBeacon(want) {
				t.Errorf("LooksLikeBeacon: got false, want true")
			}
			p, err := beacon.Parse(want)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(p, tc.b) {
				t.Errorf("Parse:\ngot  %+v\nwant %+v", p, tc.b)
			}
		})
	}
}

// TestParseCopies checks that the parsed beacon does not share memory with
// the read buffer.
func TestParseCopies(t *testing.T) {
	for _, tc := range golden {
		t.Run(tc.name, func(t *testing.T) {
			buf := unhex(t, tc.hex)
			p, err := beacon.Parse(buf)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			clear(buf)
			if !reflect.DeepEqual(p, tc.b) {
				t.Errorf("after reusing the buffer:\ngot  %+v\nwant %+v", p, tc.b)
			}
		})
	}
}

func TestServiceSize(t *testing.T) {
	for _, tc := range golden {
		if tc.b.Kind == beacon.KindQuery {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			n := beacon.HeaderSize + 1
			for i := range tc.b.Services {
				n += tc.b.Services[i].Size()
			}
			if got := tc.b.Size(); got != n {
				t.Errorf("got Beacon.Size %d, want HeaderSize+1+sum(Service.Size) = %d", got, n)
			}
		})
	}
}

// announce returns a valid announcement with one service, for tests to
// modify.
func announce() beacon.Beacon {
	return beacon.Beacon{
		Kind:   beacon.KindAnnounce,
		Sender: 0xaa,
		Seq:    1,
		Services: []beacon.Service{{
			Instance: 1,
			Name:     "db",
			Type:     "pg",
			Port:     5432,
			TTL:      time.Minute,
			Host:     "nas",
			Addrs:    []netip.Addr{netip.MustParseAddr("10.0.0.1")},
			Meta:     map[string]string{"k": "v"},
		}},
	}
}

func TestTTLRoundsUp(t *testing.T) {
	tests := []struct {
		ttl, want time.Duration
	}{
		{time.Nanosecond, time.Millisecond},
		{1500 * time.Microsecond, 2 * time.Millisecond},
		{time.Second, time.Second},
		{beacon.MaxTTL, beacon.MaxTTL},
	}
	for _, tc := range tests {
		t.Run(tc.ttl.String(), func(t *testing.T) {
			b := announce()
			b.Services[0].TTL = tc.ttl
			m, err := b.Marshal()
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			p, err := beacon.Parse(m)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := p.Services[0].TTL; got != tc.want {
				t.Errorf("got TTL %v, want %v", got, tc.want)
			}
		})
	}
}

func TestMetaSorted(t *testing.T) {
	b := announce()
	b.Services[0].Meta = map[string]string{}
	for i := range beacon.MaxMeta {
		b.Services[0].Meta[fmt.Sprintf("key%02d", i)] = "v"
	}
	first, err := b.Marshal()
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	for range 20 {
		m, err := b.Marshal()
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		if !bytes.Equal(m, first) {
			t.Fatalf("Marshal is not deterministic:\ngot  %x\nwant %x", m, first)
		}
	}
	if i, j := bytes.Index(first, []byte("key00")), bytes.Index(first, []byte("key31")); i < 0 || j < i {
		t.Errorf("got key00 at %d and key31 at %d, want key00 first", i, j)
	}
}

func TestEmptyCollections(t *testing.T) {
	b := announce()
	b.Services[0].Addrs = []netip.Addr{}
	b.Services[0].Meta = map[string]string{}
	withEmpty, err := b.Marshal()
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	b.Services[0].Addrs = nil
	b.Services[0].Meta = nil
	withNil, err := b.Marshal()
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	if !bytes.Equal(withEmpty, withNil) {
		t.Errorf("empty and nil collections differ:\ngot  %x\nwant %x", withEmpty, withNil)
	}
	p, err := beacon.Parse(withEmpty)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if s := p.Services[0]; s.Addrs != nil || s.Meta != nil {
		t.Errorf("got Addrs %#v, Meta %#v, want nil, nil", s.Addrs, s.Meta)
	}
}

func TestLooksLikeBeacon(t *testing.T) {
	good := unhex(t, golden[0].hex)
	tests := []struct {
		name string
		in   []byte
		want bool
	}{
		{"nil", nil, false},
		{"magic only", []byte("LNFD"), false},
		{"header minus one", good[:beacon.HeaderSize-1], false},
		{"header", good[:beacon.HeaderSize], true},
		{"query", good, true},
		{"bad magic", append([]byte("LNFE"), good[4:]...), false},
		{"future version", append(append([]byte("LNFD"), 9), good[5:]...), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := beacon.LooksLikeBeacon(tc.in); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// Record fields in hex, for building bad records.
const (
	fixed   = "0000000000000001 1538 0000ea60 " // instance 1, port 5432, ttl 60s
	names   = "02 6462 02 7067 03 6e6173 "      // "db", "pg", "nas"
	noAddrs = "00 "
	noMeta  = "00 "
)

func TestParseErrors(t *testing.T) {
	okRec := rec(fixed, names, noAddrs, noMeta)
	valid := unhex(t, hdr(1, 0)+"01"+okRec)
	tooBig := append(valid[:len(valid):len(valid)], make([]byte, beacon.MaxSize+1-len(valid))...)
	tests := []struct {
		name string
		hex  string // used when in is nil
		in   []byte
		want error
	}{
		{name: "empty", in: []byte{}, want: beacon.ErrShort},
		{name: "short header", in: valid[:beacon.HeaderSize-1], want: beacon.ErrShort},
		{name: "bad magic", hex: "4c4e4645" + hdr(1, 0)[8:] + "01" + okRec, want: beacon.ErrMagic},
		{name: "text", in: []byte("hello, this is not a beacon at all"), want: beacon.ErrMagic},
		{name: "version 0", hex: "4c4e4644 00" + hdr(1, 0)[11:] + "01" + okRec, want: beacon.ErrVersion},
		{name: "version 2", hex: "4c4e4644 02" + hdr(1, 0)[11:] + "01" + okRec, want: beacon.ErrVersion},
		{name: "too big", in: tooBig, want: beacon.ErrTooBig},
		{name: "kind 0", hex: hdr(0, 0) + "01" + okRec, want: beacon.ErrKind},
		{name: "kind 5", hex: hdr(5, 0) + "01" + okRec, want: beacon.ErrKind},

		{name: "query: request ID 0", hex: hdr(4, 0) + "00 00 00 00", want: beacon.ErrMalformed},
		{name: "query: no body", hex: hdr(4, reqID), want: beacon.ErrShort},
		{name: "query: no name length", hex: hdr(4, reqID) + "00", want: beacon.ErrShort},
		{name: "query: truncated name", hex: hdr(4, reqID) + "00 03 6162", want: beacon.ErrShort},
		{name: "query: no type length", hex: hdr(4, reqID) + "00 00", want: beacon.ErrShort},
		{name: "query: truncated type", hex: hdr(4, reqID) + "00 00 02 61", want: beacon.ErrShort},
		{name: "query: no known count", hex: hdr(4, reqID) + "00 00 00", want: beacon.ErrShort},
		{name: "query: truncated known", hex: hdr(4, reqID) + "00 00 00 02 0000000000000001 00000000", want: beacon.ErrShort},
		{name: "query: too many known", hex: hdr(4, reqID) + "00 00 00 81" + strings.Repeat("0000000000000001", 129), want: beacon.ErrMalformed},
		{name: "query: name too long", hex: hdr(4, reqID) + "00 40" + strings.Repeat("61", 64) + "00 00", want: beacon.ErrMalformed},
		{name: "query: type too long", hex: hdr(4, reqID) + "00 00 40" + strings.Repeat("61", 64) + "00", want: beacon.ErrMalformed},

		{name: "reply: request ID 0", hex: hdr(2, 0) + "01" + okRec, want: beacon.ErrMalformed},
		{name: "no record count", hex: hdr(1, 0), want: beacon.ErrShort},
		{name: "zero records", hex: hdr(1, 0) + "00", want: beacon.ErrMalformed},
		{name: "too many records", hex: hdr(1, 0) + "21" + strings.Repeat(okRec, 33), want: beacon.ErrMalformed},
		{name: "missing record", hex: hdr(1, 0) + "02" + okRec, want: beacon.ErrShort},
		{name: "truncated record length", hex: hdr(1, 0) + "01 00", want: beacon.ErrShort},
		{name: "record length past end", hex: hdr(1, 0) + "01 0100" + fixed + names + noAddrs + noMeta, want: beacon.ErrShort},
		{name: "record shorter than fields", hex: hdr(1, 0) + "01 000a" + fixed + names + noAddrs + noMeta, want: beacon.ErrShort},
		{name: "truncated instance", hex: hdr(1, 0) + "01" + rec("00000000"), want: beacon.ErrShort},
		{name: "truncated port", hex: hdr(1, 0) + "01" + rec("0000000000000001 15"), want: beacon.ErrShort},
		{name: "truncated ttl", hex: hdr(1, 0) + "01" + rec("0000000000000001 1538 0000"), want: beacon.ErrShort},
		{name: "no name", hex: hdr(1, 0) + "01" + rec(fixed), want: beacon.ErrShort},
		{name: "truncated name", hex: hdr(1, 0) + "01" + rec(fixed, "03 6462"), want: beacon.ErrShort},
		{name: "empty name", hex: hdr(1, 0) + "01" + rec(fixed, "00 02 7067 00", noAddrs, noMeta), want: beacon.ErrMalformed},
		{name: "name too long", hex: hdr(1, 0) + "01" + rec(fixed, "40"+strings.Repeat("61", 64), "02 7067 00", noAddrs, noMeta), want: beacon.ErrMalformed},
		{name: "type too long", hex: hdr(1, 0) + "01" + rec(fixed, "02 6462 40"+strings.Repeat("61", 64), "00", noAddrs, noMeta), want: beacon.ErrMalformed},
		{name: "truncated host", hex: hdr(1, 0) + "01" + rec(fixed, "02 6462 02 7067 05 6e6173"), want: beacon.ErrShort},
		{name: "announce with ttl 0", hex: hdr(1, 0) + "01" + rec("0000000000000001 1538 00000000", names, noAddrs, noMeta), want: beacon.ErrMalformed},
		{name: "ttl above max", hex: hdr(1, 0) + "01" + rec("0000000000000001 1538 05265c01", names, noAddrs, noMeta), want: beacon.ErrMalformed},
		{name: "goodbye with ttl", hex: hdr(3, 0) + "01" + rec(fixed, names, noAddrs, noMeta), want: beacon.ErrMalformed},
		{name: "no addr count", hex: hdr(1, 0) + "01" + rec(fixed, names), want: beacon.ErrShort},
		{name: "too many addrs", hex: hdr(1, 0) + "01" + rec(fixed, names, "11"+strings.Repeat("04 0a000001", 17), noMeta), want: beacon.ErrMalformed},
		{name: "addr length 5", hex: hdr(1, 0) + "01" + rec(fixed, names, "01 05 0a00000100", noMeta), want: beacon.ErrMalformed},
		{name: "addr length 0", hex: hdr(1, 0) + "01" + rec(fixed, names, "01 00", noMeta), want: beacon.ErrMalformed},
		{name: "no addr length", hex: hdr(1, 0) + "01" + rec(fixed, names, "01"), want: beacon.ErrShort},
		{name: "truncated addr", hex: hdr(1, 0) + "01" + rec(fixed, names, "01 10 fd00"), want: beacon.ErrShort},
		{name: "no meta count", hex: hdr(1, 0) + "01" + rec(fixed, names, noAddrs), want: beacon.ErrShort},
		{name: "too many meta", hex: hdr(1, 0) + "01" + rec(fixed, names, noAddrs, "21"), want: beacon.ErrMalformed},
		{name: "empty meta key", hex: hdr(1, 0) + "01" + rec(fixed, names, noAddrs, "01 00 0000"), want: beacon.ErrMalformed},
		{name: "meta key too long", hex: hdr(1, 0) + "01" + rec(fixed, names, noAddrs, "01 40"+strings.Repeat("61", 64)+"0000"), want: beacon.ErrMalformed},
		{name: "truncated meta key", hex: hdr(1, 0) + "01" + rec(fixed, names, noAddrs, "01 03 6b"), want: beacon.ErrShort},
		{name: "no meta value length", hex: hdr(1, 0) + "01" + rec(fixed, names, noAddrs, "01 01 6b 00"), want: beacon.ErrShort},
		{name: "meta value too long", hex: hdr(1, 0) + "01" + rec(fixed, names, noAddrs, "01 01 6b 0100"+strings.Repeat("61", 256)), want: beacon.ErrMalformed},
		{name: "truncated meta value", hex: hdr(1, 0) + "01" + rec(fixed, names, noAddrs, "01 01 6b 0003 6162"), want: beacon.ErrShort},
		{name: "missing meta pair", hex: hdr(1, 0) + "01" + rec(fixed, names, noAddrs, "02 01 6b 0001 76"), want: beacon.ErrShort},
		{name: "duplicate meta key", hex: hdr(1, 0) + "01" + rec(fixed, names, noAddrs, "02 01 6b 0001 76 01 6b 0001 77"), want: beacon.ErrMalformed},
		{name: "second record bad", hex: hdr(1, 0) + "02" + okRec + rec(fixed, "00 02 7067 00", noAddrs, noMeta), want: beacon.ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			if in == nil {
				in = unhex(t, tc.hex)
			}
			got, err := beacon.Parse(in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got error %v, want %v", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "beacon: ") {
				t.Errorf("got error text %q, want prefix %q", err, "beacon: ")
			}
			if !reflect.DeepEqual(got, beacon.Beacon{}) {
				t.Errorf("got %+v with the error, want the zero Beacon", got)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	svc := func(f func(s *beacon.Service)) beacon.Beacon {
		b := announce()
		f(&b.Services[0])
		return b
	}
	long := func(n int) string { return strings.Repeat("x", n) }
	query := beacon.Beacon{Kind: beacon.KindQuery, RequestID: reqID, Query: &beacon.Query{}}
	tests := []struct {
		name     string
		b        beacon.Beacon
		want     error
		wantText string // checked when set
	}{
		{name: "kind 0", b: beacon.Beacon{}, want: beacon.ErrKind},
		{name: "kind 9", b: beacon.Beacon{Kind: 9}, want: beacon.ErrKind},
		{name: "undefined flag", b: func() beacon.Beacon { b := announce(); b.Flags = 2; return b }(), want: beacon.ErrMalformed},
		{name: "query without Query", b: beacon.Beacon{Kind: beacon.KindQuery, RequestID: reqID}, want: beacon.ErrMalformed},
		{name: "query with request ID 0", b: beacon.Beacon{Kind: beacon.KindQuery, Query: &beacon.Query{}}, want: beacon.ErrMalformed},
		{name: "query with services", b: func() beacon.Beacon { b := query; b.Services = announce().Services; return b }(), want: beacon.ErrMalformed},
		{name: "query name too long", b: func() beacon.Beacon { b := query; b.Query = &beacon.Query{Name: long(64)}; return b }(), want: beacon.ErrMalformed},
		{name: "query type too long", b: func() beacon.Beacon { b := query; b.Query = &beacon.Query{Type: long(64)}; return b }(), want: beacon.ErrMalformed},
		{name: "query too many known", b: func() beacon.Beacon { b := query; b.Query = &beacon.Query{Known: make([]uint64, 129)}; return b }(), want: beacon.ErrMalformed},
		{name: "announce with Query", b: func() beacon.Beacon { b := announce(); b.Query = &beacon.Query{}; return b }(), want: beacon.ErrMalformed},
		{name: "announce without services", b: beacon.Beacon{Kind: beacon.KindAnnounce}, want: beacon.ErrMalformed},
		{name: "announce too many services", b: func() beacon.Beacon {
			b := announce()
			for range beacon.MaxServices {
				b.Services = append(b.Services, beacon.Service{Name: "a", Type: "b", TTL: time.Second})
			}
			return b
		}(), want: beacon.ErrMalformed},
		{name: "reply with request ID 0", b: func() beacon.Beacon { b := announce(); b.Kind = beacon.KindReply; return b }(), want: beacon.ErrMalformed},
		{name: "empty name", b: svc(func(s *beacon.Service) { s.Name = "" }), want: beacon.ErrMalformed, wantText: "beacon: service[0]: name is empty"},
		{name: "name too long", b: svc(func(s *beacon.Service) { s.Name = long(64) }), want: beacon.ErrMalformed, wantText: "beacon: service[0]: name is 64 bytes, max 63"},
		{name: "type too long", b: svc(func(s *beacon.Service) { s.Type = long(64) }), want: beacon.ErrMalformed},
		{name: "host too long", b: svc(func(s *beacon.Service) { s.Host = long(256) }), want: beacon.ErrMalformed},
		{name: "announce ttl 0", b: svc(func(s *beacon.Service) { s.TTL = 0 }), want: beacon.ErrMalformed},
		{name: "negative ttl", b: svc(func(s *beacon.Service) { s.TTL = -time.Second }), want: beacon.ErrMalformed},
		{name: "ttl above max", b: svc(func(s *beacon.Service) { s.TTL = beacon.MaxTTL + 1 }), want: beacon.ErrMalformed},
		{name: "goodbye with ttl", b: func() beacon.Beacon { b := announce(); b.Kind = beacon.KindGoodbye; return b }(), want: beacon.ErrMalformed,
			wantText: `beacon: service "db": goodbye with ttl 1m0s, want 0`},
		{name: "too many addrs", b: svc(func(s *beacon.Service) { s.Addrs = make([]netip.Addr, 17) }), want: beacon.ErrMalformed},
		{name: "zero addr", b: svc(func(s *beacon.Service) { s.Addrs = []netip.Addr{{}} }), want: beacon.ErrMalformed},
		{name: "addr with zone", b: svc(func(s *beacon.Service) { s.Addrs = []netip.Addr{netip.MustParseAddr("fe80::1%eth0")} }), want: beacon.ErrMalformed},
		{name: "too many meta", b: svc(func(s *beacon.Service) {
			for i := range beacon.MaxMeta {
				s.Meta[fmt.Sprint(i)] = ""
			}
		}), want: beacon.ErrMalformed},
		{name: "empty meta key", b: svc(func(s *beacon.Service) { s.Meta[""] = "v" }), want: beacon.ErrMalformed},
		{name: "meta key too long", b: svc(func(s *beacon.Service) { s.Meta[long(64)] = "v" }), want: beacon.ErrMalformed},
		{name: "meta value too long", b: svc(func(s *beacon.Service) { s.Meta["k"] = long(300) }), want: beacon.ErrMalformed,
			wantText: `beacon: service "db": meta "k": value is 300 bytes, max 255`},
		{name: "too big", b: svc(func(s *beacon.Service) {
			for i := range 5 {
				s.Meta[fmt.Sprint(i)] = long(255)
			}
		}), want: beacon.ErrTooBig, wantText: "beacon: message is 1362 bytes, max 1200"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.b.Validate()
			if !errors.Is(err, tc.want) {
				t.Fatalf("Validate: got error %v, want %v", err, tc.want)
			}
			if tc.wantText != "" && err.Error() != tc.wantText {
				t.Errorf("Validate: got error text %q, want %q", err, tc.wantText)
			}
			dst := []byte("prefix")
			got, err := tc.b.AppendBinary(dst)
			if !errors.Is(err, tc.want) {
				t.Errorf("AppendBinary: got error %v, want %v", err, tc.want)
			}
			if !bytes.Equal(got, dst) {
				t.Errorf("AppendBinary: got %q on error, want dst %q unchanged", got, dst)
			}
			if m, err := tc.b.Marshal(); !errors.Is(err, tc.want) || m != nil {
				t.Errorf("Marshal: got %x, %v, want nil, %v", m, err, tc.want)
			}
		})
	}
}

func TestValidateLimits(t *testing.T) {
	// Values exactly at the limits are valid.
	b := announce()
	s := &b.Services[0]
	s.Name = strings.Repeat("n", beacon.MaxNameLen)
	s.Type = strings.Repeat("t", beacon.MaxTypeLen)
	s.Host = strings.Repeat("h", 100)
	s.TTL = beacon.MaxTTL
	s.Addrs = make([]netip.Addr, beacon.MaxAddrs)
	for i := range s.Addrs {
		s.Addrs[i] = netip.AddrFrom4([4]byte{10, 0, 0, byte(i)})
	}
	s.Meta = map[string]string{strings.Repeat("k", beacon.MaxKeyLen): strings.Repeat("v", beacon.MaxValueLen)}
	for i := 1; len(s.Meta) < beacon.MaxMeta; i++ {
		s.Meta[fmt.Sprint(i)] = ""
	}
	q := beacon.Beacon{Kind: beacon.KindQuery, RequestID: reqID, Query: &beacon.Query{
		Name:  strings.Repeat("n", beacon.MaxNameLen),
		Type:  strings.Repeat("t", beacon.MaxTypeLen),
		Known: make([]uint64, beacon.MaxKnown),
	}}
	many := beacon.Beacon{Kind: beacon.KindAnnounce}
	for i := range beacon.MaxServices {
		many.Services = append(many.Services, beacon.Service{Instance: uint64(i), Name: "a", Type: "b", TTL: time.Second})
	}
	for _, tc := range []struct {
		name string
		b    beacon.Beacon
	}{{"service", b}, {"query", q}, {"services", many}} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := tc.b.Marshal()
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if len(m) > beacon.MaxSize {
				t.Errorf("got %d bytes, want at most %d", len(m), beacon.MaxSize)
			}
			p, err := beacon.Parse(m)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(p, tc.b) {
				t.Errorf("Parse:\ngot  %+v\nwant %+v", p, tc.b)
			}
		})
	}
}

func TestForwardCompatible(t *testing.T) {
	svc0 := rec(fixed, names, "01 04 0a000001", "01 01 6b 0001 76")
	want := beacon.Beacon{
		Kind:   beacon.KindAnnounce,
		Sender: 0xaa,
		Seq:    1,
		Services: []beacon.Service{{
			Instance: 1, Name: "db", Type: "pg", Port: 5432, TTL: time.Minute, Host: "nas",
			Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.1")},
			Meta:  map[string]string{"k": "v"},
		}},
	}
	two := want
	two.Services = []beacon.Service{want.Services[0], want.Services[0]}
	unknownFlag := "4c4e4644 01 01 8002 00000000000000aa 00000001 0000000000000000"
	tests := []struct {
		name string
		hex  string
		want beacon.Beacon
	}{
		{"plain", hdr(1, 0) + "01" + svc0, want},
		{"bytes after the body", hdr(1, 0) + "01" + svc0 + "deadbeef", want},
		{"bytes after a query", golden[0].hex + "\n0102030405", golden[0].b},
		{"bytes after the last record field", hdr(1, 0) + "01" + rec(fixed, names, "01 04 0a000001", "01 01 6b 0001 76", "cafe"), want},
		{"bytes after a field, then a record", hdr(1, 0) + "02" + rec(fixed, names, "01 04 0a000001", "01 01 6b 0001 76", "cafe") + svc0, two},
		{"unknown flags", unknownFlag + "01" + svc0, want},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := beacon.Parse(unhex(t, tc.hex))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestKindString(t *testing.T) {
	tests := []struct {
		k    beacon.Kind
		want string
	}{
		{beacon.KindAnnounce, "announce"},
		{beacon.KindReply, "reply"},
		{beacon.KindGoodbye, "goodbye"},
		{beacon.KindQuery, "query"},
		{0, "Kind(0)"},
		{200, "Kind(200)"},
	}
	for _, tc := range tests {
		if got := tc.k.String(); got != tc.want {
			t.Errorf("Kind(%d).String(): got %q, want %q", uint8(tc.k), got, tc.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, tc := range golden {
		f.Add(unhex(f, tc.hex))
	}
	f.Add(unhex(f, hdr(1, 0)+"01"+rec(fixed, names, "01 04 0a000001", "01 01 6b 0001 76", "cafe")+"beef"))
	f.Add(unhex(f, hdr(3, 0)+"01"+rec(fixed, names, noAddrs, noMeta)))
	f.Add(unhex(f, hdr(1, 0)+"01"+rec(fixed, names, noAddrs, "02 01 6b 0001 76 01 6b 0001 77")))
	f.Add([]byte{})
	f.Add([]byte("LNFD"))
	f.Add([]byte("hello, this is not a beacon at all"))
	f.Add(bytes.Repeat([]byte{0xff}, 64))
	// Sealed datagrams (package seal) are not beacons: Parse rejects them
	// by their magic.
	k, err := seal.NewKey(bytes.Repeat([]byte{7}, seal.MinKeySize))
	if err != nil {
		f.Fatal(err)
	}
	for _, tc := range golden[:2] {
		p, err := seal.Keys{k}.Seal(nil, unhex(f, tc.hex), time.Unix(0, 0))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		b, err := beacon.Parse(in)
		if err != nil {
			if !beacon.LooksLikeBeacon(in) && !errors.Is(err, beacon.ErrShort) && !errors.Is(err, beacon.ErrMagic) {
				t.Fatalf("LooksLikeBeacon false but Parse error %v", err)
			}
			return
		}
		if !beacon.LooksLikeBeacon(in) {
			t.Fatalf("Parse succeeded but LooksLikeBeacon is false")
		}
		if err := b.Validate(); err != nil {
			t.Fatalf("Validate of a parsed beacon: %v", err)
		}
		m, err := b.Marshal()
		if err != nil {
			t.Fatalf("Marshal of a parsed beacon: %v", err)
		}
		// Marshal drops only ignored bytes, so it never grows a version 1
		// message. (A minor revision that appends a field may.)
		if len(m) > beacon.MaxSize || len(m) > len(in) {
			t.Fatalf("got %d marshalled bytes from %d, want at most min(%d, input)", len(m), len(in), beacon.MaxSize)
		}
		if n := b.Size(); n != len(m) {
			t.Fatalf("got Size %d, want %d", n, len(m))
		}
		b2, err := beacon.Parse(m)
		if err != nil {
			t.Fatalf("Parse of marshalled beacon: %v\n%x", err, m)
		}
		if !reflect.DeepEqual(b, b2) {
			t.Fatalf("round trip:\ngot  %+v\nwant %+v", b2, b)
		}
		m2, err := b2.Marshal()
		if err != nil {
			t.Fatalf("second Marshal: %v", err)
		}
		if !bytes.Equal(m, m2) {
			t.Fatalf("second Marshal:\ngot  %x\nwant %x", m2, m)
		}
	})
}

// typical is a typical announcement: one service with two addresses and
// a little metadata.
var typical = beacon.Beacon{
	Kind:   beacon.KindAnnounce,
	Sender: 0x5eed,
	Seq:    42,
	Services: []beacon.Service{{
		Instance: 0x1234,
		Name:     "db",
		Type:     "postgres",
		Port:     5432,
		TTL:      30 * time.Second,
		Host:     "nas.lan",
		Addrs:    []netip.Addr{netip.MustParseAddr("192.168.1.10"), netip.MustParseAddr("fd00::10")},
		Meta:     map[string]string{"version": "16.2", "role": "primary"},
	}},
}

func BenchmarkMarshal(b *testing.B) {
	buf := make([]byte, 0, beacon.MaxSize)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = typical.AppendBinary(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkParse(b *testing.B) {
	m, err := typical.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(m)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := beacon.Parse(m); err != nil {
			b.Fatal(err)
		}
	}
}

func TestEmptyTypeRoundTrips(t *testing.T) {
	b := beacon.Beacon{Kind: beacon.KindAnnounce, Sender: 1, Seq: 2,
		Services: []beacon.Service{{Instance: 3, Name: "db", TTL: time.Second}}}
	p, err := b.Marshal()
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	got, err := beacon.Parse(p)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if !reflect.DeepEqual(got, b) {
		t.Fatalf("got %+v, want %+v", got, b)
	}
}

func TestServiceSameAs(t *testing.T) {
	base := func() beacon.Service {
		return beacon.Service{
			Instance: 1,
			Name:     "db",
			Type:     "postgres",
			Port:     5432,
			TTL:      15 * time.Second,
			Host:     "nas",
			Addrs:    []netip.Addr{netip.MustParseAddr("10.0.0.2")},
			Meta:     map[string]string{"v": "16"},
		}
	}
	tests := []struct {
		name   string
		change func(*beacon.Service)
		want   bool
	}{
		{"identical", func(*beacon.Service) {}, true},
		{"other instance", func(s *beacon.Service) { s.Instance = 2 }, true},
		{"meta removed", func(s *beacon.Service) { s.Meta = map[string]string{} }, false},
		{"port", func(s *beacon.Service) { s.Port = 5433 }, false},
		{"ttl", func(s *beacon.Service) { s.TTL = 0 }, false},
		{"host", func(s *beacon.Service) { s.Host = "nas2" }, false},
		{"addrs", func(s *beacon.Service) { s.Addrs = nil }, false},
		{"meta value", func(s *beacon.Service) { s.Meta["v"] = "17" }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := base(), base()
			tc.change(&b)
			if got := a.SameAs(&b); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestFlagAlsoIPv4 checks that the "also IPv4" flag of a query survives
// encoding and parsing, in header byte 7 as the package comment says.
func TestFlagAlsoIPv4(t *testing.T) {
	b := beacon.Beacon{Kind: beacon.KindQuery, Flags: beacon.FlagAlsoIPv4, Sender: 1, Seq: 2,
		RequestID: 3, Query: &beacon.Query{Attempt: 1}}
	p, err := b.AppendBinary(nil)
	if err != nil {
		t.Fatalf("AppendBinary: %v", err)
	}
	if p[6] != 0 || p[7] != 1 {
		t.Errorf("flags bytes %02x %02x, want 00 01", p[6], p[7])
	}
	got, err := beacon.Parse(p)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got.Flags != beacon.FlagAlsoIPv4 {
		t.Errorf("Flags %#x, want %#x", got.Flags, beacon.FlagAlsoIPv4)
	}
}
