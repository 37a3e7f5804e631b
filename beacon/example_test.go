package beacon_test

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/lanfind/lanfind/beacon"
)

func Example() {
	b := beacon.Beacon{
		Kind:   beacon.KindAnnounce,
		Sender: 0x5eed,
		Seq:    1,
		Services: []beacon.Service{{
			Instance: 0x1234,
			Name:     "db",
			Type:     "postgres",
			Port:     5432,
			TTL:      30 * time.Second,
			Host:     "nas.lan",
			Addrs:    []netip.Addr{netip.MustParseAddr("192.168.1.10")},
			Meta:     map[string]string{"version": "16.2"},
		}},
	}
	buf := make([]byte, 0, beacon.MaxSize) // reused for every datagram
	buf, err := b.AppendBinary(buf)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d bytes, looks like a beacon: %v\n", len(buf), beacon.LooksLikeBeacon(buf))

	got, err := beacon.Parse(buf)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%v from %#x seq %d\n", got.Kind, got.Sender, got.Seq)
	for _, s := range got.Services {
		fmt.Printf("%s (%s) on %s port %d, ttl %v, addrs %v, meta %v\n",
			s.Name, s.Type, s.Host, s.Port, s.TTL, s.Addrs, s.Meta)
	}
	// Output:
	// 86 bytes, looks like a beacon: true
	// announce from 0x5eed seq 1
	// db (postgres) on nas.lan port 5432, ttl 30s, addrs [192.168.1.10], meta map[version:16.2]
}

// A receiver drops datagrams from newer lanfind releases quietly and
// counts everything else that fails to parse.
func ExampleParse_errors() {
	datagrams := [][]byte{
		[]byte("not lanfind traffic at all, just some bytes"),
		append([]byte("LNFD\x02"), make([]byte, 40)...),     // a future major version
		append([]byte("LNFD\x01\x01"), make([]byte, 22)...), // an announcement without a body
	}
	for _, p := range datagrams {
		if !beacon.LooksLikeBeacon(p) {
			fmt.Println("not a beacon")
			continue
		}
		_, err := beacon.Parse(p)
		switch {
		case errors.Is(err, beacon.ErrVersion), errors.Is(err, beacon.ErrKind):
			fmt.Println("from a newer lanfind:", err)
		case err != nil:
			fmt.Println("dropped:", err)
		}
	}
	// Output:
	// not a beacon
	// from a newer lanfind: beacon: unsupported version 2, want 1
	// dropped: beacon: announce: record count truncated at offset 28 (need 1, have 0)
}

// Validate reports which field is out of range, so a sender can refuse a
// bad configuration at start.
func ExampleBeacon_Validate() {
	b := beacon.Beacon{
		Kind: beacon.KindAnnounce,
		Services: []beacon.Service{{
			Name: "db",
			Type: "postgres",
			TTL:  time.Minute,
			Meta: map[string]string{"k": string(make([]byte, 300))},
		}},
	}
	fmt.Println(b.Validate())
	// Output:
	// beacon: service "db": meta "k": value is 300 bytes, max 255
}
