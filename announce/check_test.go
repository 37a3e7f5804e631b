package announce_test

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lanfind/lanfind/announce"
)

func TestChecks(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string // "" for nil
	}{
		{"interval min", announce.CheckInterval(announce.MinInterval), ""},
		{"interval short", announce.CheckInterval(time.Millisecond), "want at least 10ms"},
		{"interval long", announce.CheckInterval(announce.MaxInterval + 1), "want at most 12h0m0s"},
		{"ttl two intervals", announce.CheckTTL(2*time.Second, time.Second), ""},
		{"ttl short", announce.CheckTTL(time.Second, time.Second), "want at least two intervals (2s)"},
		{"ttl long", announce.CheckTTL(25*time.Hour, time.Second), "want at most 24h0m0s"},
		{"name", announce.CheckName("db"), ""},
		{"name empty", announce.CheckName(""), "is required"},
		{"name long", announce.CheckName(strings.Repeat("n", 64)), "64 bytes, want at most 63"},
		{"name control", announce.CheckName("a\x1bb"), "control characters are not allowed"},
		{"type empty", announce.CheckType(""), ""},
		{"type DEL", announce.CheckType("a\x7f"), "control characters are not allowed"},
		{"name C1", announce.CheckName("a\u009bb"), "control characters are not allowed"},
		{"name bidi", announce.CheckName("a\u202eb"), "bidirectional overrides are not allowed (U+202E)"},
		{"type isolate", announce.CheckType("a\u2066"), "bidirectional overrides are not allowed (U+2066)"},
		{"name bad UTF-8", announce.CheckName("a\xff"), "invalid UTF-8 is not allowed"},
		{"name non-ASCII", announce.CheckName("café db"), ""},
		{"host long", announce.CheckHostname(strings.Repeat("h", 256)), "256 bytes, want at most 255"},
		{"host control", announce.CheckHostname("h\r\n"), "control characters are not allowed"},
		{"host bidi", announce.CheckHostname("h\u200f"), "bidirectional overrides are not allowed (U+200F)"},
		{"meta key bidi", announce.CheckMetaKey("k\u202d"), "bidirectional overrides are not allowed (U+202D)"},
		{"meta value control", announce.CheckMetaValue("a\x1b[2Jb"), "value: control characters are not allowed"},
		{"meta value bidi", announce.CheckMetaValue("x\u2067"), "value: bidirectional overrides are not allowed (U+2067)"},
		{"meta value plain", announce.CheckMetaValue("v=1 ü"), ""},
		{"meta key empty", announce.CheckMetaKey(""), "0 bytes, want 1 to 63"},
		{"meta key control", announce.CheckMetaKey("a\nb"), "control characters are not allowed"},
		{"meta value long", announce.CheckMetaValue(strings.Repeat("v", 256)), "value is 256 bytes, want at most 255"},
	} {
		got := ""
		if tc.err != nil {
			got = tc.err.Error()
		}
		if !strings.HasPrefix(got, tc.want) || (tc.want == "") != (got == "") {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestDuplicates(t *testing.T) {
	svcs := []announce.Service{
		{Name: "db", Type: "pg"}, {Name: "db"}, {Name: "db", Type: "pg", Port: 2}, {Name: "web"}, {Name: "db"},
	}
	got := maps.Collect(announce.Duplicates(svcs))
	want := map[int]int{2: 0, 4: 1}
	if !maps.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range announce.Duplicates(svcs) {
		if i != 2 {
			t.Fatalf("stopping after the first duplicate: got %d, want 2", i)
		}
		break
	}
	if n := len(slices.Collect(maps.Keys(maps.Collect(announce.Duplicates(nil))))); n != 0 {
		t.Fatalf("nil: got %d duplicates, want 0", n)
	}
}
