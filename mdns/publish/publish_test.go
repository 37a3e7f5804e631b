package publish

import (
	"testing"
	"unicode/utf8"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/lanfind/lanfind/mdns"
)

func TestRenamed(t *testing.T) {
	long := "ééééééééééééééééééééééééééééééé" // 62 bytes
	for _, tc := range []struct {
		base string
		n    int
		want string
	}{
		{"db", 2, "db (2)"},
		{"db", 10, "db (10)"},
		{long, 2, "ééééééééééééééééééééééééééééé (2)"}, // 29 × 2 bytes + 4
	} {
		got := renamed(tc.base, tc.n)
		if got != tc.want || len(got) > 63 || !utf8.ValidString(got) {
			t.Errorf("renamed(%q, %d) = %q (%d bytes), want %q", tc.base, tc.n, got, len(got), tc.want)
		}
	}
}

func TestCompareSets(t *testing.T) {
	srv := func(port uint16) mdns.Record {
		return mdns.Record{Name: "x._a._tcp.local.", Type: dnsmessage.TypeSRV, Port: port, Target: "h.local."}
	}
	a := []mdns.Record{srv(1)}
	b := []mdns.Record{srv(2)}
	if compareSets(a, b) >= 0 || compareSets(b, a) <= 0 {
		t.Errorf("compareSets does not order by data")
	}
	if compareSets(a, []mdns.Record{srv(1)}) != 0 {
		t.Errorf("equal sets compare unequal")
	}
	if compareSets(a, append(a, srv(3))) >= 0 {
		t.Errorf("a prefix does not compare lower")
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		s  Service
		ok bool
	}{
		{Service{Name: "db", Type: mdns.ServiceType{Name: "postgresql", Proto: "tcp"}}, true},
		{Service{Name: "a.b", Type: mdns.ServiceType{Name: "http", Proto: "tcp"}}, true},
		{Service{Name: "", Type: mdns.ServiceType{Name: "http", Proto: "tcp"}}, false},
		{Service{Name: "a\x00b", Type: mdns.ServiceType{Name: "http", Proto: "tcp"}}, false},
		{Service{Name: "db", Type: mdns.ServiceType{Name: "postgresql_x", Proto: "tcp"}}, false},
		{Service{Name: "db", Type: mdns.ServiceType{Name: "http", Proto: "sctp"}}, false},
		{Service{Name: "db", Type: mdns.ServiceType{Name: "http", Proto: "tcp"}, Meta: map[string]string{"a=b": ""}}, false},
	} {
		if err := tc.s.Validate(); (err == nil) != tc.ok {
			t.Errorf("Validate(%+v) = %v, want ok=%v", tc.s, err, tc.ok)
		}
	}
}
