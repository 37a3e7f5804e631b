package endpoint

import (
	"testing"
	"time"
)

// TestDamper checks the hold-down of bursts on a flapping interface: a
// burst is wanted every 200 ms for 30 s, and goes when the damper allows.
func TestDamper(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tests := []struct {
		name  string
		every time.Duration // a burst is wanted this often
		until time.Duration
		want  []time.Duration // when bursts go, from t0
	}{
		{"flapping", 200 * time.Millisecond, 40 * time.Second,
			[]time.Duration{0, time.Second, 3 * time.Second, 7 * time.Second, 15 * time.Second, 31 * time.Second}},
		{"calm", 10 * time.Second, 35 * time.Second,
			[]time.Duration{0, 10 * time.Second, 20 * time.Second, 30 * time.Second}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d Damper
			var got []time.Duration
			for at := time.Duration(0); at <= tc.until; at += tc.every {
				now := t0.Add(at)
				if !d.Next(now).After(now) {
					d.Sent(now)
					got = append(got, at)
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("bursts at %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("bursts at %v, want %v", got, tc.want)
				}
			}
		})
	}
}
