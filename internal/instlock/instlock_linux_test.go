package instlock

import (
	"errors"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"
)

// TestClaim claims one instance from two sets, as two processes would:
// the second is refused with the holder's PID, then takes over, which the
// first hears about.
func TestClaim(t *testing.T) {
	inst := rand.Uint64() // not one another test process holds
	taken := make(chan int, 1)
	var first *Claims
	first = New(func(instance uint64, pid int) {
		if instance != inst {
			t.Errorf("take-over of %x, want %x", instance, inst)
		}
		first.Release(instance)
		taken <- pid
	})
	defer first.Close()
	if err := first.Claim(inst, false); err != nil {
		t.Fatal(err)
	}
	if err := first.Claim(inst, false); err != nil {
		t.Fatalf("claiming again what one holds: %v", err)
	}

	second := New(func(uint64, int) { t.Error("second: unexpected take-over") })
	defer second.Close()
	err := second.Claim(inst, false)
	var held *HeldError
	if !errors.As(err, &held) || held.Instance != inst || held.PID != os.Getpid() {
		t.Fatalf("second claim: got %v, want a HeldError naming pid %d", err, os.Getpid())
	}
	if !strings.Contains(err.Error(), "announced by another process on this host (pid ") {
		t.Errorf("error text: %q", err)
	}

	start := time.Now()
	if err := second.Claim(inst, true); err != nil {
		t.Fatalf("take-over: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("take-over took %v, want it as soon as the holder lets go", d)
	}
	select {
	case pid := <-taken:
		if pid != os.Getpid() {
			t.Errorf("take-over by pid %d, want %d", pid, os.Getpid())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the holder never heard of the take-over")
	}
	// Now the first is refused, and a release frees the instance.
	if err := first.Claim(inst, false); !errors.As(err, &held) {
		t.Fatalf("first after the take-over: got %v, want a HeldError", err)
	}
	second.Release(inst)
	if err := first.Claim(inst, false); err != nil {
		t.Fatalf("after the release: %v", err)
	}
}

// TestTakeOverRefused: a holder that does not let go makes a take-over
// fail after TakeOverWait, naming it.
func TestTakeOverRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("waits TakeOverWait")
	}
	inst := rand.Uint64()
	stubborn := New(func(uint64, int) {})
	defer stubborn.Close()
	if err := stubborn.Claim(inst, false); err != nil {
		t.Fatal(err)
	}
	err := New(nil).Claim(inst, true)
	var held *HeldError
	if !errors.As(err, &held) || !strings.Contains(err.Error(), "did not let go within 3s") {
		t.Fatalf("got %v, want a HeldError that says it did not let go", err)
	}
}
