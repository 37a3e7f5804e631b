package mdns_test

import (
	"bytes"
	"errors"
	"net/netip"
	"reflect"
	"testing"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/lanfind/lanfind/mdns"
)

func sample() mdns.Message {
	inst := mdns.InstanceName("Office.Printer", mdns.ServiceType{Name: "ipp", Proto: "tcp"})
	return mdns.Message{
		Response: true,
		Answers: []mdns.Record{
			{Name: "_ipp._tcp.local.", Type: dnsmessage.TypePTR, TTL: 120, Target: inst},
		},
		Additionals: []mdns.Record{
			{Name: "host.local.", Type: dnsmessage.TypeA, Flush: true, TTL: 120, Addr: netip.MustParseAddr("10.0.0.1")},
			{Name: "host.local.", Type: dnsmessage.TypeAAAA, Flush: true, TTL: 120, Addr: netip.MustParseAddr("fe80::1")},
			{Name: "x._ipp._tcp.local.", Type: dnsmessage.TypeSRV, Flush: true, TTL: 120, Port: 631, Target: "host.local."},
			{Name: "x._ipp._tcp.local.", Type: dnsmessage.TypeTXT, Flush: true, TTL: 120, Text: []string{"a=b", "c"}},
		},
	}
}

func TestPackParse(t *testing.T) {
	m := sample()
	m.Questions = []mdns.Question{{Name: "_ipp._tcp.local.", Type: dnsmessage.TypePTR, Unicast: true}}
	prefix := []byte("xx")
	b, err := m.AppendPack(prefix)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, prefix) {
		t.Fatalf("AppendPack did not append")
	}
	got, err := mdns.Parse(b[2:])
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Errorf("got %+v, want %+v", got, m)
	}
	// The instance label keeps its dot when split by the known suffix.
	label, typ, ok := mdns.SplitInstance(got.Answers[0].Target)
	if !ok || label != "Office.Printer" || typ.String() != "_ipp._tcp" {
		t.Errorf("SplitInstance = %q %v %v, want Office.Printer _ipp._tcp true", label, typ, ok)
	}
}

func TestParseErrors(t *testing.T) {
	if _, err := mdns.Parse(make([]byte, mdns.MaxMessage+1)); !errors.Is(err, mdns.ErrTooLarge) {
		t.Errorf("oversize: got %v, want ErrTooLarge", err)
	}
	if _, err := mdns.Parse([]byte{1, 2, 3}); !errors.Is(err, mdns.ErrMalformed) {
		t.Errorf("short: got %v, want ErrMalformed", err)
	}
	m := sample()
	b, _ := m.AppendPack(nil)
	if _, err := mdns.Parse(b[:len(b)-3]); !errors.Is(err, mdns.ErrMalformed) {
		t.Errorf("cut: got %v, want ErrMalformed", err)
	}
}

// TestParseDottedLabel parses a PTR record whose target's first label
// holds a dot, as Avahi sends for an instance named "Web.Site".
func TestParseDottedLabel(t *testing.T) {
	p := []byte{0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0}
	p = append(p, 5, '_', 'h', 't', 't', 'p', 4, '_', 't', 'c', 'p', 5, 'l', 'o', 'c', 'a', 'l', 0)
	p = append(p, 0, 12, 0, 1, 0, 0, 0, 120, 0, 11)
	p = append(p, 8, 'W', 'e', 'b', '.', 'S', 'i', 't', 'e', 0xc0, 12)
	m, err := mdns.Parse(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Answers) != 1 || m.Answers[0].Target != `Web\.Site._http._tcp.local.` {
		t.Fatalf("got %+v, want one PTR to Web\\.Site._http._tcp.local.", m.Answers)
	}
	label, _, ok := mdns.SplitInstance(m.Answers[0].Target)
	if !ok || label != "Web.Site" {
		t.Errorf("SplitInstance = %q %v, want Web.Site", label, ok)
	}
	// Packing it again gives the same bytes: the label stays one label,
	// and the target's suffix is a pointer to the owner name.
	b, err := m.AppendPack(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, p) {
		t.Errorf("AppendPack:\n got % x\nwant % x", b, p)
	}
}

func TestParseServiceType(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"_ipp._tcp", "_ipp._tcp", true},
		{"ipp", "_ipp._tcp", true},
		{"_home-assistant._tcp.local.", "_home-assistant._tcp", true},
		{"_ipp._udp", "_ipp._udp", true},
		{"_ipp._sctp", "", false},
		{"_a-very-long-service._tcp", "", false},
		{"_-x._tcp", "", false},
		{"_a--b._tcp", "", false},
		{"_123._tcp", "", false},
		{"_a_b._tcp", "", false},
		{"", "", false},
	} {
		got, err := mdns.ParseServiceType(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got.String() != tc.want) {
			t.Errorf("ParseServiceType(%q) = %v, %v; want %q ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestSplitInstance(t *testing.T) {
	for _, tc := range []struct{ in, label, typ string }{
		{"Office Printer._ipp._tcp.local.", "Office Printer", "_ipp._tcp"},
		{`a\.b._http._tcp.LOCAL`, "a.b", "_http._tcp"},
		{`a\\._HTTP._udp.local.`, `a\`, "_http._udp"},
		{`Web\.Site\._http._tcp.local.`, "", ""}, // one label "Web.Site._http"
		{"a.b._http._tcp.local.", "", ""},        // two labels before the type
		{"x._http.local.local.", "", ""},
		{`x._http._tcp.local\`, "", ""},
		{"_ipp._tcp.local.", "", ""},
		{"x._ipp._tcp.example.", "", ""},
	} {
		label, typ, ok := mdns.SplitInstance(tc.in)
		if ok != (tc.label != "") || label != tc.label || (ok && typ.String() != tc.typ) {
			t.Errorf("SplitInstance(%q) = %q %v %v, want %q %q", tc.in, label, typ, ok, tc.label, tc.typ)
		}
	}
}

func TestMeta(t *testing.T) {
	long := string(make([]byte, 300))
	got, dropped := mdns.Meta([]string{"a=1", "A=2", "b", "=x", "", "c=", "k=" + long})
	want := map[string]string{"a": "1", "b": "", "c": ""}
	if !reflect.DeepEqual(got, want) || dropped != 1 {
		t.Errorf("Meta = %v, %d; want %v, 1", got, dropped, want)
	}
	txt, err := mdns.Text(map[string]string{"z": "1", "a": ""})
	if err != nil || !reflect.DeepEqual(txt, []string{"a=", "z=1"}) {
		t.Errorf("Text = %q, %v", txt, err)
	}
}

func TestInstanceID(t *testing.T) {
	if mdns.InstanceID("A._ipp._tcp.local.") != mdns.InstanceID("a._ipp._tcp.local") {
		t.Error("InstanceID differs by case or trailing dot")
	}
	if mdns.InstanceID("a._ipp._tcp.local.") == mdns.InstanceID("b._ipp._tcp.local.") {
		t.Error("InstanceID equal for different names")
	}
}

// FuzzParse checks that Parse never panics and that every message it
// parses packs and parses back to the same message, names and all (a
// label with a dot included).
func FuzzParse(f *testing.F) {
	m := sample()
	b, err := m.AppendPack(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	q := mdns.Message{Questions: []mdns.Question{{Name: mdns.ServicesName, Type: dnsmessage.TypePTR}}}
	b, _ = q.AppendPack(nil)
	f.Add(b)
	a := announcement(`Web.Site\`)
	b, _ = a.AppendPack(nil)
	f.Add(b)
	f.Fuzz(func(t *testing.T, p []byte) {
		m, err := mdns.Parse(p)
		if err != nil {
			return
		}
		b, err := m.AppendPack(nil)
		if errors.Is(err, mdns.ErrTooLarge) {
			return // names that pointed into skipped records are written out
		}
		if err != nil {
			t.Fatalf("pack: %v", err)
		}
		m2, err := mdns.Parse(b)
		if err != nil {
			t.Fatalf("reparse: %v", err)
		}
		if !reflect.DeepEqual(m2, m) {
			t.Fatalf("reparse:\n%+v\nwant\n%+v", m2, m)
		}
	})
}
