package instlock

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
)

// HeldError is the error of a claim another process holds.
type HeldError struct {
	Instance uint64
	PID      int // the holder's process ID; 0 if unknown
}

func (e *HeldError) Error() string {
	if e.PID == 0 {
		return fmt.Sprintf("instance %016x is announced by another process on this host", e.Instance)
	}
	return fmt.Sprintf("instance %016x is announced by another process on this host (pid %d)",
		e.Instance, e.PID)
}

// TakeOverWait is how long a take-over waits for the holder to let go.
const TakeOverWait = 3 * time.Second

// Claims are the instance IDs one process announces.
type Claims struct {
	// onTakeOver is called, on its own goroutine, when process pid takes
	// over instance; the caller stops announcing it and calls Release.
	onTakeOver func(instance uint64, pid int)

	mu   sync.Mutex
	held map[uint64]*claim
	wg   sync.WaitGroup
}

// New returns an empty set of claims. onTakeOver is called when another
// process takes over one of them (see [Claims.Claim]); it must stop
// announcing the instance, then call [Claims.Release].
func New(onTakeOver func(instance uint64, pid int)) *Claims {
	return &Claims{onTakeOver: onTakeOver, held: map[uint64]*claim{}}
}

// Claim claims instance for this process. When another process holds it,
// Claim returns a [*HeldError], unless takeOver is set: then it asks the
// holder to stop announcing the instance and waits up to [TakeOverWait]
// for it to do so. Claiming an instance already held by c does nothing.
func (c *Claims) Claim(instance uint64, takeOver bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held[instance] != nil {
		return nil
	}
	cl, err := listen(instance)
	var held *HeldError
	if errors.As(err, &held) && takeOver {
		cl, err = takeOverFrom(instance)
	}
	if err != nil {
		return err
	}
	c.held[instance] = cl
	if cl != nil {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			cl.serve(func(pid int) { c.onTakeOver(instance, pid) })
		}()
	}
	return nil
}

// Held returns the instances c holds, in no order.
func (c *Claims) Held() []uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Collect(maps.Keys(c.held))
}

// Release gives up the claim of instance, if c holds it.
func (c *Claims) Release(instance uint64) {
	c.mu.Lock()
	cl := c.held[instance]
	delete(c.held, instance)
	c.mu.Unlock()
	if cl != nil {
		cl.close()
	}
}

// Close releases every claim and waits for their goroutines.
func (c *Claims) Close() {
	c.mu.Lock()
	held := c.held
	c.held = map[uint64]*claim{}
	c.mu.Unlock()
	for _, cl := range held {
		if cl != nil {
			cl.close()
		}
	}
	c.wg.Wait()
}

// takeOverFrom asks the holder of instance to let go and claims it once
// it has.
func takeOverFrom(instance uint64) (*claim, error) {
	if err := askTakeOver(instance); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(TakeOverWait)
	for {
		cl, err := listen(instance)
		var held *HeldError
		if !errors.As(err, &held) || time.Now().After(deadline) {
			if held != nil {
				return nil, fmt.Errorf("%w; it did not let go within %v", held, TakeOverWait)
			}
			return cl, err
		}
		time.Sleep(20 * time.Millisecond)
	}
}
