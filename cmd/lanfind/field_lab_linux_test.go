package main

// Lab tests (tier 4) of what a first-time user met in the field (issue 13):
// warnings and output that only show once lanfind really announces or
// listens.

import (
	"strings"
	"testing"

	"github.com/lanfind/lanfind/internal/netnstest"
)

// TestNSAnnounceWithoutPort checks that announce --name without --port
// warns that listeners get port 0, and that --port 0, which says the
// service has none, does not.
func TestNSAnnounceWithoutPort(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 1)
	h := lab.Hosts[0]
	const warning = `lanfind: warning: service "db" has no --port: listeners get port 0 ` +
		`(give --port N, or --port 0 if it has none)`
	p := startAnnouncer(t, h, "--name", "db", "--type", "postgres")
	if got := p.stderr.String(); !strings.Contains(got, warning+"\n") {
		t.Errorf("%s: got stderr %q, want the line %q", p.desc, got, warning)
	}
	p = startAnnouncer(t, h, "--name", "db", "--type", "postgres", "--port", "0")
	if got := p.stderr.String(); strings.Contains(got, "warning") {
		t.Errorf("%s: got stderr %q, want no warning", p.desc, got)
	}
}
