package announce_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/lanfind/lanfind/announce"
	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/iface"
)

// failingLister fails the test if New lists interfaces.
type failingLister struct{ t *testing.T }

func (l failingLister) Interfaces() ([]iface.Interface, error) {
	l.t.Error("New listed interfaces before rejecting a bad service")
	return nil, errors.New("test: must not list interfaces")
}

// TestBadServiceBeforeInterfaces: a service with a bad field is refused
// before New lists interfaces (so also when none would be usable).
func TestBadServiceBeforeInterfaces(t *testing.T) {
	many := map[string]string{}
	for i := range beacon.MaxMeta + 1 {
		many[string(rune('a'+i%26))+strings.Repeat("x", i/26+1)] = ""
	}
	for _, tc := range []struct {
		name string
		svc  announce.Service
		want string
	}{
		{"long type", announce.Service{Name: "a", Type: strings.Repeat("t", 64)}, "type is 64 bytes, max 63"},
		{"long key", announce.Service{Name: "a", Meta: map[string]string{strings.Repeat("k", 64): ""}}, "is 64 bytes, max 63"},
		{"long value", announce.Service{Name: "a", Meta: map[string]string{"k": strings.Repeat("v", 256)}}, "value is 256 bytes, max 255"},
		{"empty key", announce.Service{Name: "a", Meta: map[string]string{"": "v"}}, "key"},
		{"too many pairs", announce.Service{Name: "a", Meta: many}, "33"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := announce.New(announce.Config{Services: []announce.Service{tc.svc}, Hostname: "h", Lister: failingLister{t}})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, beacon.ErrMalformed) {
				t.Fatalf("got %v, want an error matching beacon.ErrMalformed containing %q",
					err, tc.want)
			}
		})
	}
}
