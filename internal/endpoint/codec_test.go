package endpoint

import (
	"bytes"
	"testing"
	"time"

	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/seal"
)

func testKeys(t testing.TB, fill byte) seal.Keys {
	t.Helper()
	k, err := seal.NewKey(bytes.Repeat([]byte{fill}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return seal.Keys{k}
}

var (
	t0   = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	good = beacon.Beacon{Kind: beacon.KindAnnounce, Sender: 1, Seq: 1,
		Services: []beacon.Service{{Instance: 1, Name: "db", TTL: time.Second}}}
)

func TestCodec(t *testing.T) {
	at := func(d time.Duration) func() time.Time { return func() time.Time { return t0.Add(d) } }
	keyed := &Codec{Keys: testKeys(t, 1), Now: at(0)}
	other := &Codec{Keys: testKeys(t, 2), Now: at(0)}
	clear := &Codec{}
	sealed, err := keyed.Encode(&good)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := clear.Encode(&good)
	fromOther, _ := other.Encode(&good)
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-20] ^= 1
	junk, _ := keyed.Keys.Seal(nil, []byte("hello, not lanfind"), t0)
	tests := []struct {
		name string
		c    *Codec
		p    []byte
		want Drop
	}{
		{"keyed opens sealed", keyed, sealed, Keep},
		{"unkeyed reads clear", clear, plain, Keep},
		{"unkeyed drops sealed", clear, sealed, Sealed},
		{"keyed drops clear", keyed, plain, Unsealed},
		{"keyed drops foreign", keyed, []byte("M-SEARCH * HTTP/1.1\r\n\r\n"), Foreign},
		{"other key", keyed, fromOther, Rejected},
		{"tampered", keyed, tampered, Rejected},
		{"truncated", keyed, sealed[:len(sealed)-1], Rejected},
		{"authentic junk inside", keyed, junk, Malformed},
		{"29s late", &Codec{Keys: keyed.Keys, Now: at(29 * time.Second)}, sealed, Keep},
		{"31s late", &Codec{Keys: keyed.Keys, Now: at(31 * time.Second)}, sealed, Stale},
		{"31s early", &Codec{Keys: keyed.Keys, Now: at(-31 * time.Second)}, sealed, Stale},
		{"inside a wider window", &Codec{Keys: keyed.Keys, Now: at(time.Hour), Window: 2 * time.Hour}, sealed, Keep},
		{"outside a narrower window", &Codec{Keys: keyed.Keys, Now: at(2 * time.Second), Window: time.Second}, sealed, Stale},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, got, err := tc.c.Decode(tc.p)
			if got != tc.want {
				t.Fatalf("got drop %v (%v), want %v", got, err, tc.want)
			}
			if got == Keep && (b.Sender != 1 || len(b.Services) != 1 || b.Services[0].Name != "db") {
				t.Fatalf("got %+v, want the beacon", b)
			}
			if got != Keep && got != Foreign && err == nil {
				t.Fatal("got no error for a drop, want a reason")
			}
		})
	}
	if keyed.Budget() != beacon.MaxSize-seal.Overhead || clear.Budget() != beacon.MaxSize {
		t.Fatalf("got budgets %d and %d", keyed.Budget(), clear.Budget())
	}
}

// FuzzDecode feeds clear and sealed datagrams to an unkeyed and a keyed
// Codec: never a panic, and a keyed Codec keeps only what opens.
func FuzzDecode(f *testing.F) {
	keyed := &Codec{Keys: testKeys(f, 1), Now: func() time.Time { return t0 }}
	plain, _ := (&Codec{}).Encode(&good)
	sealed, _ := keyed.Encode(&good)
	q := beacon.Beacon{Kind: beacon.KindQuery, Sender: 2, Seq: 9, RequestID: 5, Query: &beacon.Query{Name: "db", Known: []uint64{1, 2}}}
	sealedQuery, _ := keyed.Encode(&q)
	for _, p := range [][]byte{plain, sealed, sealedQuery, sealed[:seal.Overhead], []byte("LNFS")} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		(&Codec{}).Decode(p)
		b, drop, _ := keyed.Decode(p)
		if drop != Keep {
			return
		}
		if _, _, err := keyed.Keys.Open(p); err != nil {
			t.Fatalf("kept a datagram that does not open: %v", err)
		}
		if err := b.Validate(); err != nil {
			t.Fatalf("kept an invalid beacon: %v", err)
		}
	})
}
