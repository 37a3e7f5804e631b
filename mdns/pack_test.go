package mdns_test

import (
	"bytes"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/lanfind/lanfind/mdns"
)

var httpType = mdns.ServiceType{Name: "http", Proto: "tcp"}

// announcement is what a responder sends for instance label of type
// _http._tcp: PTR, SRV, TXT and the host's address.
func announcement(label string) mdns.Message {
	inst := mdns.InstanceName(label, httpType)
	return mdns.Message{
		Response: true,
		Answers: []mdns.Record{
			{Name: httpType.FQDN(), Type: dnsmessage.TypePTR, TTL: 120, Target: inst},
			{Name: mdns.ServicesName, Type: dnsmessage.TypePTR, TTL: 120, Target: httpType.FQDN()},
			{Name: inst, Type: dnsmessage.TypeSRV, Flush: true, TTL: 120, Port: 8080, Target: "host.local."},
			{Name: inst, Type: dnsmessage.TypeTXT, Flush: true, TTL: 120, Text: []string{"path=/"}},
			{Name: "host.local.", Type: dnsmessage.TypeA, Flush: true, TTL: 120, Addr: netip.MustParseAddr("10.0.0.1")},
		},
	}
}

// TestPackDottedInstance packs an instance whose label holds a dot and a
// backslash: the label is one label on the wire, is shown escaped, and
// comes back unescaped from SplitInstance.
func TestPackDottedInstance(t *testing.T) {
	for _, label := range []string{"web.site", `back\slash`, "a.b.c", ".", `\.`, strings.Repeat(".", 63)} {
		m := announcement(label)
		b, err := m.AppendPack(nil)
		if err != nil {
			t.Fatalf("%q: %v", label, err)
		}
		wire := append([]byte{byte(len(label))}, label...)
		if !bytes.Contains(b, wire) {
			t.Errorf("%q: message lacks the label as one label % x:\n% x", label, wire, b)
		}
		got, err := mdns.Parse(b)
		if err != nil {
			t.Fatalf("%q: %v", label, err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("%q: got %+v, want %+v", label, got, m)
		}
		l, typ, ok := mdns.SplitInstance(got.Answers[0].Target)
		if !ok || l != label || typ != httpType {
			t.Errorf("%q: SplitInstance(%q) = %q %v %v", label, got.Answers[0].Target, l, typ, ok)
		}
		checkPointers(t, b)
	}
	if got, want := mdns.InstanceName("Web.Site", httpType), `Web\.Site._http._tcp.local.`; got != want {
		t.Errorf("InstanceName = %q, want %q", got, want)
	}
	if err := mdns.ValidInstanceLabel("web.site"); err != nil {
		t.Errorf("ValidInstanceLabel(web.site): %v", err)
	}
}

// checkPointers checks that every name in b is a run of labels ending in
// the root or in a compression pointer to an earlier label, walking the
// message as RFC 1035 lays it out.
func checkPointers(t *testing.T, b []byte) {
	t.Helper()
	starts := map[int]bool{} // offsets where a label or name starts
	off := 12
	name := func() {
		for b[off] != 0 {
			if b[off]&0xc0 == 0xc0 {
				ptr := int(b[off]&0x3f)<<8 | int(b[off+1])
				if !starts[ptr] || ptr >= off {
					t.Fatalf("pointer at %d to %d: not an earlier label", off, ptr)
				}
				off += 2
				return
			}
			starts[off] = true
			off += int(b[off]) + 1
		}
		off++
	}
	qd := int(b[4])<<8 | int(b[5])
	rr := int(b[6])<<8 | int(b[7]) + int(b[8])<<8 | int(b[9]) + int(b[10])<<8 | int(b[11])
	for range qd {
		name()
		off += 4
	}
	for range rr {
		name()
		typ := dnsmessage.Type(int(b[off])<<8 | int(b[off+1]))
		n := int(b[off+8])<<8 | int(b[off+9])
		off += 10
		end := off + n
		switch typ {
		case dnsmessage.TypePTR:
			name()
		case dnsmessage.TypeSRV:
			off += 6
			name()
		default:
			off = end
		}
		if off != end {
			t.Fatalf("record data ends at %d, want %d", off, end)
		}
	}
	if off != len(b) {
		t.Fatalf("message ends at %d, want %d", off, len(b))
	}
}

// TestPackCompresses checks that repeated names are pointers: the
// announcement of a 50-byte label is much shorter than its names.
func TestPackCompresses(t *testing.T) {
	m := announcement(strings.Repeat("x", 50))
	b, err := m.AppendPack(nil)
	if err != nil {
		t.Fatal(err)
	}
	names := 0
	for _, r := range m.Answers {
		names += len(r.Name) + len(r.Target)
	}
	if len(b) >= names {
		t.Errorf("packed %d bytes, no shorter than its %d bytes of names", len(b), names)
	}
	checkPointers(t, b)
}

// TestPackDNSMessage checks that dnsmessage reads what AppendPack writes
// (names without a dot inside a label, which dnsmessage cannot hold) as
// the same message.
func TestPackDNSMessage(t *testing.T) {
	m := sample()
	m.ID = 7
	m.Truncated = true
	m.Questions = []mdns.Question{{Name: "_ipp._tcp.local.", Type: dnsmessage.TypePTR, Unicast: true}}
	m.Answers[0].Target = "Office Printer._ipp._tcp.local."
	m.Authorities = []mdns.Record{{Name: "x._ipp._tcp.local.", Type: dnsmessage.TypeTXT, TTL: 9}}
	b, err := m.AppendPack(nil)
	if err != nil {
		t.Fatal(err)
	}
	var d dnsmessage.Message
	if err := d.Unpack(b); err != nil {
		t.Fatalf("dnsmessage: %v", err)
	}
	if d.ID != 7 || !d.Response || !d.Authoritative || !d.Truncated || d.OpCode != 0 || d.RCode != 0 {
		t.Errorf("header %+v", d.Header)
	}
	if len(d.Questions) != 1 || d.Questions[0].Name.String() != "_ipp._tcp.local." ||
		d.Questions[0].Type != dnsmessage.TypePTR || d.Questions[0].Class != dnsmessage.ClassINET|0x8000 {
		t.Errorf("questions %+v", d.Questions)
	}
	var got []mdns.Record
	for _, sec := range [][]dnsmessage.Resource{d.Answers, d.Authorities, d.Additionals} {
		for _, r := range sec {
			g := mdns.Record{Name: r.Header.Name.String(), Type: r.Header.Type, TTL: r.Header.TTL,
				Flush: r.Header.Class&0x8000 != 0}
			switch b := r.Body.(type) {
			case *dnsmessage.PTRResource:
				g.Target = b.PTR.String()
			case *dnsmessage.SRVResource:
				g.Priority, g.Weight, g.Port, g.Target = b.Priority, b.Weight, b.Port, b.Target.String()
			case *dnsmessage.TXTResource:
				for _, s := range b.TXT {
					if s != "" {
						g.Text = append(g.Text, s)
					}
				}
			case *dnsmessage.AResource:
				g.Addr = netip.AddrFrom4(b.A)
			case *dnsmessage.AAAAResource:
				g.Addr = netip.AddrFrom16(b.AAAA)
			}
			got = append(got, g)
		}
	}
	if want := m.Records(); !reflect.DeepEqual(got, want) {
		t.Errorf("dnsmessage read\n%+v\nwant\n%+v", got, want)
	}
}

// TestPackLimits checks the errors for names that cannot be packed: each
// names the limit it breaks.
func TestPackLimits(t *testing.T) {
	long := strings.Repeat("a", 63)
	for _, tc := range []struct{ name, err string }{
		{strings.Repeat("a", 64) + ".local.", "label of 64 bytes, max 63"},
		{strings.Repeat(`\.`, 64) + ".local.", "label of 64 bytes, max 63"},
		{strings.Repeat(long+".", 4) + "local.", "max 255"},
		{"a..local.", "empty label"},
		{".local.", "empty label"},
		{`a.local\`, "backslash at the end"},
		{"", "empty name"},
	} {
		m := mdns.Message{Questions: []mdns.Question{{Name: tc.name, Type: dnsmessage.TypeA}}}
		b, err := m.AppendPack([]byte("xy"))
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("AppendPack(%q): %v, want an error with %q", tc.name, err, tc.err)
		}
		if string(b) != "xy" {
			t.Errorf("AppendPack(%q) left %q after an error", tc.name, b)
		}
	}
	// The longest name packs: 3 labels of 63 and one of 61, 255 bytes.
	ok := strings.Repeat(long+".", 3) + strings.Repeat("b", 61) + "."
	m := mdns.Message{Questions: []mdns.Question{{Name: ok, Type: dnsmessage.TypeA}}}
	b, err := m.AppendPack(nil)
	if err != nil || len(b) != 12+255+4 {
		t.Fatalf("AppendPack(255-byte name): %d bytes, %v", len(b), err)
	}
	if got, err := mdns.Parse(b); err != nil || got.Questions[0].Name != ok {
		t.Errorf("Parse(255-byte name): %v %v", got.Questions, err)
	}
	// A wire name one byte longer (labels of 63, 63, 63, 62) is refused
	// by Parse too.
	p := []byte{0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0}
	for _, n := range []int{63, 63, 63, 62} {
		p = append(append(p, byte(n)), strings.Repeat("c", n)...)
	}
	p = append(p, 0, 0, 1, 0, 1)
	if _, err := mdns.Parse(p); err == nil || !strings.Contains(err.Error(), "name too long") {
		t.Errorf("Parse(256-byte name): %v, want name too long", err)
	}
	for _, label := range []string{"", strings.Repeat("a", 64)} {
		if err := mdns.ValidInstanceLabel(label); err == nil || !strings.Contains(err.Error(), "want 1 to 63") {
			t.Errorf("ValidInstanceLabel(%d bytes) = %v, want an error naming 63", len(label), err)
		}
	}
}

// FuzzPack packs the announcement of any instance label: a label
// ValidInstanceLabel accepts packs, parses back to the same message and
// splits back to itself, and dnsmessage reads the message where it can
// hold its names; any other label gives an error, not a panic.
func FuzzPack(f *testing.F) {
	for _, s := range []string{"db", "web.site", `a\b`, "Office Printer", "é.ü", strings.Repeat("x.", 32)} {
		f.Add(s, "host", uint16(80), "k=v")
	}
	f.Fuzz(func(t *testing.T, label, host string, port uint16, txt string) {
		m := announcement(label)
		m.Answers[2].Port = port
		m.Answers[2].Target = mdns.EscapeLabel(host) + "." + mdns.Domain
		m.Answers[3].Text = []string{txt}
		if txt == "" {
			m.Answers[3].Text = nil
		}
		m.Answers[4].Name = m.Answers[2].Target
		b, err := m.AppendPack(nil)
		valid := mdns.ValidInstanceLabel(label) == nil && host != "" && len(host) <= 63 && len(txt) <= 255
		if !valid {
			return
		}
		if err != nil {
			t.Fatalf("AppendPack(%q, %q): %v", label, host, err)
		}
		got, err := mdns.Parse(b)
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("got %+v, want %+v", got, m)
		}
		if l, _, ok := mdns.SplitInstance(got.Answers[0].Target); !ok || l != label {
			t.Fatalf("SplitInstance(%q) = %q %v, want %q", got.Answers[0].Target, l, ok, label)
		}
		checkPointers(t, b)
		// dnsmessage reads it too when no label holds a dot.
		if !strings.Contains(label+host, ".") {
			var d dnsmessage.Message
			if err := d.Unpack(b); err != nil || len(d.Answers) != len(m.Answers) {
				t.Fatalf("dnsmessage: %v, %d answers", err, len(d.Answers))
			}
		}
	})
}
