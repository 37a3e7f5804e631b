package serve

import (
	"testing"

	"github.com/lanfind/lanfind/discover"
)

// TestStreamLag checks that a stream that falls streamBuffer events
// behind is cut and counted, and that the others keep theirs.
func TestStreamLag(t *testing.T) {
	s := newLiveSet(nil, false)
	_, slow, _ := s.subscribe(filter{})
	_, other, _ := s.subscribe(filter{name: "rare"})
	for i := range streamBuffer + 1 {
		s.apply(discover.Event{Kind: discover.EventUp, Service: discover.Result{Name: "db", Instance: uint64(i)}})
	}
	s.apply(discover.Event{Kind: discover.EventUp, Service: discover.Result{Name: "rare", Instance: 1 << 40}})
	n := 0
	for range slow.ch {
		n++
	}
	if n != streamBuffer {
		t.Errorf("slow stream: got %d events before it closed, want %d", n, streamBuffer)
	}
	if got := len(other.ch); got != 1 {
		t.Errorf("filtered stream: got %d events, want 1", got)
	}
	if c := s.counts(); c.open != 1 || c.dropped != 1 {
		t.Errorf("got %d open and %d dropped streams, want 1 and 1", c.open, c.dropped)
	}
	s.unsubscribe(slow) // already cut: must not close twice
	s.unsubscribe(other)
	for range maxStreams {
		if _, _, ok := s.subscribe(filter{}); !ok {
			t.Fatal("subscribe refused below maxStreams")
		}
	}
	if _, _, ok := s.subscribe(filter{}); ok {
		t.Errorf("subscribe accepted stream %d, want at most %d", maxStreams+1, maxStreams)
	}
}

// TestKeyedSkipsUnverified checks that in keyed mode an unverified
// instance never enters the set.
func TestKeyedSkipsUnverified(t *testing.T) {
	s := newLiveSet(nil, true)
	s.apply(discover.Event{Kind: discover.EventUp, Service: discover.Result{Name: "forged", Instance: 1}})
	s.apply(discover.Event{Kind: discover.EventUp, Service: discover.Result{Name: "good", Instance: 2, Verified: true}})
	got := s.snapshot(filter{})
	if len(got) != 1 || got[0].Name != "good" {
		t.Errorf("got %v, want only the verified instance", got)
	}
}
