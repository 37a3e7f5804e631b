package announce

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/internal/endpoint"
	"github.com/lanfind/lanfind/seal"
)

// TestReplyBytes: the size the limiter charges is what sendReply sends.
func TestReplyBytes(t *testing.T) {
	key, err := seal.NewKey([]byte(strings.Repeat("k", seal.MinKeySize)))
	if err != nil {
		t.Fatal(err)
	}
	for _, keys := range []seal.Keys{nil, {key}} {
		ep := &endpoint.Endpoint{Codec: endpoint.Codec{Keys: keys}}
		testReplyBytes(t, &Sender{log: slog.New(slog.DiscardHandler), id: 1, ep: ep})
	}
}

func testReplyBytes(t *testing.T, s *Sender) {
	t.Helper()
	for _, n := range []int{1, 2, 31, 32, 33, 100, 128, 129, 300} {
		for _, meta := range []int{0, 40, 300} {
			var recs []beacon.Service
			for i := range n {
				rec := beacon.Service{Instance: uint64(i + 1), Name: fmt.Sprintf("service-%d", i), Type: "t", Host: "h", TTL: 15e9}
				if meta > 0 {
					rec.Meta = map[string]string{"k": strings.Repeat("v", min(meta, 255)), "l": strings.Repeat("v", meta-min(meta, 255))}
				}
				recs = append(recs, rec)
			}
			want := 0
			for _, p := range capReply(s.pack(beacon.KindReply, 7, recs)) {
				want += len(p)
			}
			if got := replyBytes(recs, s.ep.Codec.Budget()); got != want {
				t.Errorf("keyed %v, %d records with %d bytes of metadata: replyBytes = %d, want %d (what pack makes)",
					s.ep.Codec.Keyed(), n, meta, got, want)
			}
		}
	}
}
