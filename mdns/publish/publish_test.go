package publish

import (
	"log/slog"
	"testing"
	"time"
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

func TestBackoff(t *testing.T) {
	p := &Publisher{log: slog.New(slog.DiscardHandler)}
	t0 := time.Unix(1000, 0)
	now := t0
	for i := range conflictLimit - 1 {
		if next := p.backoff(now); !next.Equal(now) {
			t.Fatalf("conflict %d: next probe at +%v, want at once", i+1, next.Sub(now))
		}
		now = now.Add(600 * time.Millisecond)
	}
	// The fifteenth conflict within 10 s, and every one less than 10 s
	// after the one before, wait five seconds.
	for i := range 3 {
		if next := p.backoff(now); next.Sub(now) != conflictBackoff {
			t.Fatalf("conflict %d: next probe at +%v, want +%v", conflictLimit+i, next.Sub(now), conflictBackoff)
		}
		now = now.Add(conflictBackoff + time.Second)
	}
	// A name a reload adds waits too while the back-off lasts.
	last := now.Add(-conflictBackoff - time.Second)
	if got := p.probeStart(now); !got.Equal(now) {
		t.Errorf("new name 6s after the last conflict: probe at +%v, want at once", got.Sub(now))
	}
	if got := p.probeStart(last.Add(time.Second)); !got.Equal(last.Add(conflictBackoff)) {
		t.Errorf("new name 1s after the last conflict: probe at %v after it, want %v", got.Sub(last), conflictBackoff)
	}
	// Ten seconds without a conflict end the back-off.
	now = now.Add(conflictWindow)
	if got := p.probeStart(now); !got.Equal(now) {
		t.Errorf("new name after a quiet %v: probe at +%v, want at once", conflictWindow, got.Sub(now))
	}
	if next := p.backoff(now); !next.Equal(now) {
		t.Errorf("after a quiet %v: next probe at +%v, want at once", conflictWindow, next.Sub(now))
	}
	if st := &p.stats; st.conflicts.Load() != conflictLimit+3 || st.backoffs.Load() != 3 {
		t.Errorf("counters: conflicts %d, backoffs %d; want %d and 3",
			st.conflicts.Load(), st.backoffs.Load(), conflictLimit+3)
	}
}
