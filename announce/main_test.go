package announce_test

import (
	"testing"

	"github.com/lanfind/lanfind/internal/leaktest"
)

// TestMain fails the run when goroutines running lanfind code outlive the
// tests: every goroutine a Sender starts must be gone once its Close returns.
func TestMain(m *testing.M) { leaktest.Main(m) }
