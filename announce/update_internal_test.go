package announce

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/lanfind/lanfind/beacon"
)

// TestRecordSetChanges checks what Run is told to send after updates it
// has not yet acted on: changes accumulate, and a service removed and
// added back before Run saw it gets no goodbye.
func TestRecordSetChanges(t *testing.T) {
	rec := func(id uint64, port uint16) beacon.Service {
		return beacon.Service{Instance: id, Name: "s", Port: port}
	}
	ids := func(rs []beacon.Service) []uint64 {
		var out []uint64
		for _, r := range rs {
			out = append(out, r.Instance)
		}
		return out
	}
	var rs recordSet
	rs.init([]beacon.Service{rec(1, 1), rec(2, 2), rec(3, 3)}, nil)
	tests := []struct {
		name                    string
		set                     []beacon.Service
		added, removed, changed int
	}{
		{"remove 2, change 3, add 4", []beacon.Service{rec(1, 1), rec(3, 30), rec(4, 4)}, 1, 1, 1},
		{"add 2 back, remove 1", []beacon.Service{rec(2, 2), rec(3, 30), rec(4, 4)}, 1, 1, 0},
		{"same again", []beacon.Service{rec(2, 2), rec(3, 30), rec(4, 4)}, 0, 0, 0},
	}
	for _, tc := range tests {
		a, r, c := rs.replace(tc.set)
		if a != tc.added || r != tc.removed || c != tc.changed {
			t.Fatalf("%s: got added %d removed %d changed %d, want %d %d %d",
				tc.name, a, r, c, tc.added, tc.removed, tc.changed)
		}
	}
	if len(rs.changed) != 1 {
		t.Fatalf("got %d wake-up tokens, want 1", len(rs.changed))
	}
	gone, fresh := rs.takeChanges()
	if got, want := ids(gone), []uint64{1}; !slices.Equal(got, want) {
		t.Errorf("goodbyes: got %v, want %v (2 came back before Run saw it go)", got, want)
	}
	if got, want := ids(fresh), []uint64{2, 3, 4}; !slices.Equal(got, want) {
		t.Errorf("announcements: got %v, want %v", got, want)
	}
	if gone, fresh := rs.takeChanges(); len(gone)+len(fresh) != 0 {
		t.Errorf("second take: got %v and %v, want nothing", gone, fresh)
	}
}

// TestRecordSetAddrs: an interface change restamps every record's
// addresses without counting as a change, and records an Update built
// before the change still get the new addresses.
func TestRecordSetAddrs(t *testing.T) {
	a1, a2 := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.1.1")
	rec := func(id uint64) beacon.Service {
		return beacon.Service{Instance: id, Name: "s", Port: 1, Addrs: []netip.Addr{a1}}
	}
	var rs recordSet
	rs.init([]beacon.Service{rec(1)}, []netip.Addr{a1})
	stale := []beacon.Service{rec(1), rec(2)} // built while a1 was current
	rs.setAddrs([]netip.Addr{a1, a2})
	if got := rs.current()[0].Addrs; !slices.Equal(got, []netip.Addr{a1, a2}) {
		t.Fatalf("after setAddrs: record lists %v, want [%v %v]", got, a1, a2)
	}
	if gone, fresh := rs.takeChanges(); len(gone)+len(fresh) != 0 {
		t.Fatalf("setAddrs noted changes: gone %d fresh %d, want none", len(gone), len(fresh))
	}
	added, removed, changed := rs.replace(stale)
	if added != 1 || removed != 0 || changed != 0 {
		t.Fatalf("replace: got added %d removed %d changed %d, want 1 0 0", added, removed, changed)
	}
	for _, r := range rs.current() {
		if !slices.Equal(r.Addrs, []netip.Addr{a1, a2}) {
			t.Errorf("instance %d lists %v after replace, want [%v %v]",
				r.Instance, r.Addrs, a1, a2)
		}
	}
}
