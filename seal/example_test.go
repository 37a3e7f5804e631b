package seal_test

import (
	"bytes"
	"fmt"
	"time"

	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/seal"
)

// A key ring with the current key first and the previous one second: it
// seals with the current key and opens datagrams under either.
func ExampleKeys() {
	current, _ := seal.ParseKey("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	previous, _ := seal.NewKey(bytes.Repeat([]byte{0x42}, seal.MinKeySize))
	ring := seal.Keys{current, previous}

	b := beacon.Beacon{Kind: beacon.KindAnnounce, Sender: 1, Seq: 1,
		Services: []beacon.Service{{Instance: 1, Name: "db", Port: 5432, TTL: 15 * time.Second}}}
	msg, _ := b.Marshal()
	sent := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	p, _ := ring.Seal(nil, msg, sent)
	fmt.Printf("%d clear bytes, %d sealed\n", len(msg), len(p))

	fromOld, _ := seal.Keys{previous}.Seal(nil, msg, sent)
	for _, d := range [][]byte{p, fromOld} {
		inner, at, err := ring.Open(d)
		if err != nil {
			fmt.Println(err)
			continue
		}
		got, _ := beacon.Parse(inner)
		fmt.Println(got.Services[0].Name, got.Services[0].Port, at.UTC().Format(time.RFC3339))
	}
	_, _, err := seal.Keys{previous}.Open(p)
	fmt.Println(err != nil)
	// Output:
	// 52 clear bytes, 104 sealed
	// db 5432 2026-01-01T12:00:00Z
	// db 5432 2026-01-01T12:00:00Z
	// true
}
