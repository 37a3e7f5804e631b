package announce_test

import (
	"os"
	"testing"

	"github.com/lanfind/lanfind/internal/leaktest"
)

// TestMain fails the run when goroutines running lanfind code outlive the
// tests: every goroutine a Sender starts must be gone once its Close returns.
//
// With LANFIND_EXAMPLE=NAME in its environment the test binary runs only
// the example NAME and exits: the lab tests run the network examples that
// way inside namespace hosts (see example_lab_linux_test.go).
func TestMain(m *testing.M) {
	if name := os.Getenv("LANFIND_EXAMPLE"); name != "" {
		runExample(name, map[string]func(){
			"Example":              Example,
			"ExampleSender_Update": ExampleSender_Update,
		})
	}
	leaktest.Main(m)
}

func runExample(name string, examples map[string]func()) {
	f, ok := examples[name]
	if !ok {
		os.Stderr.WriteString("no example " + name + "\n")
		os.Exit(2)
	}
	f()
	os.Exit(0)
}
