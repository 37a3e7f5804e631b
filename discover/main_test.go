package discover_test

import (
	"os"
	"testing"

	"github.com/lanfind/lanfind/internal/leaktest"
)

// TestMain fails the run when goroutines running lanfind code outlive the
// tests: every goroutine a Listener starts must be gone once its Close returns.
//
// With LANFIND_EXAMPLE=NAME in its environment the test binary runs only
// the example NAME and exits: the lab tests run the network examples that
// way inside namespace hosts (see example_lab_linux_test.go).
func TestMain(m *testing.M) {
	if name := os.Getenv("LANFIND_EXAMPLE"); name != "" {
		examples := map[string]func(){
			"ExampleListener_Resolve": ExampleListener_Resolve,
			"ExampleListener_Collect": ExampleListener_Collect,
			"ExampleListener_Run":     ExampleListener_Run,
		}
		f, ok := examples[name]
		if !ok {
			os.Stderr.WriteString("no example " + name + "\n")
			os.Exit(2)
		}
		f()
		os.Exit(0)
	}
	leaktest.Main(m)
}
