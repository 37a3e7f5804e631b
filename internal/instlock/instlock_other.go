//go:build !linux

package instlock

// claim is nothing outside Linux: there is no abstract socket namespace
// that the kernel cleans up after a crash.
type claim struct{}

func listen(uint64) (*claim, error)   { return nil, nil }
func askTakeOver(uint64) error        { return nil }
func (cl *claim) serve(func(pid int)) {}
func (cl *claim) close()              {}
