package discover

import (
	"bytes"
	"strings"
	"testing"

	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/internal/endpoint"
	"github.com/lanfind/lanfind/seal"
)

func TestFitQuery(t *testing.T) {
	k, err := seal.NewKey(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	known := make([]uint64, beacon.MaxKnown)
	for i := range known {
		known[i] = uint64(i + 1)
	}
	long := strings.Repeat("n", beacon.MaxNameLen)
	for _, tc := range []struct {
		name      string
		keys      seal.Keys
		wantKnown int
	}{
		// 28 header + 1 attempt + 64 name + 64 type + 1 count = 158;
		// 1200-158 = 1042 bytes for 130 IDs (all 128 fit).
		{"unkeyed", nil, beacon.MaxKnown},
		// 1148-158 = 990 bytes: 123 IDs.
		{"keyed", seal.Keys{k}, 123},
	} {
		l := &Listener{ep: &endpoint.Endpoint{Codec: endpoint.Codec{Keys: tc.keys}}}
		b := beacon.Beacon{Kind: beacon.KindQuery, Sender: 1, Seq: 1, RequestID: 1,
			Query: &beacon.Query{Name: long, Type: long, Known: known}}
		l.fitQuery(&b)
		p, err := l.ep.Codec.Encode(&b)
		if err != nil || len(p) > beacon.MaxSize || len(b.Query.Known) != tc.wantKnown {
			t.Errorf("%s: got %d bytes with %d known answers (%v), want at most %d bytes with %d",
				tc.name, len(p), len(b.Query.Known), err, beacon.MaxSize, tc.wantKnown)
		}
	}
}
