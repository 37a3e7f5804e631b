package main

// Lab tests (tier 4) of what a first-time user met in the field (issue 13):
// warnings and output that only show once lanfind really announces or
// listens.

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

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
	// Another name: one host announces one instance in one process.
	p = startAnnouncer(t, h, "--name", "db2", "--type", "postgres", "--port", "0")
	if got := p.stderr.String(); strings.Contains(got, "warning") {
		t.Errorf("%s: got stderr %q, want no warning", p.desc, got)
	}
}

// TestNSWatchEventTime checks that watch says when each event happened: a
// "time" field in RFC 3339 in --json, .Time in --format, and that
// {{.LastSeen}} prints no monotonic clock reading ("m=+1.234").
func TestNSWatchEventTime(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 2)
	h0, h1 := lab.Hosts[0], lab.Hosts[1]
	js := startWatch(t, h0, "--json")
	tmpl := startWatch(t, h0, "--format", "{{.Event}}|{{.Time}}|{{.LastSeen}}")
	before := time.Now()
	startAnnouncer(t, h1, "--name", "db", "--port", "5432")

	line := js.nextLine(t, "up event")
	var ev struct {
		Event string `json:"event"`
		Time  string `json:"time"`
	}
	if err := json.Unmarshal([]byte(line), &ev); err != nil {
		t.Fatalf("%s: %q: %v", js.desc, line, err)
	}
	at, err := time.Parse(time.RFC3339Nano, ev.Time)
	if err != nil || ev.Event != "up" {
		t.Fatalf("%s: got %q, want an up event with an RFC 3339 time (%v)", js.desc, line, err)
	}
	if after := time.Now(); at.Before(before.Add(-time.Second)) || at.After(after) {
		t.Errorf("%s: time %v, want between %v and %v", js.desc, at, before, after)
	}

	line = tmpl.nextLine(t, "up line")
	const layout = "2006-01-02 15:04:05.999999999 -0700 MST" // time.Time's String
	parts := strings.Split(line, "|")
	if len(parts) != 3 || parts[0] != "up" || strings.Contains(line, "m=") {
		t.Fatalf("%s: got %q, want up|TIME|LASTSEEN without a monotonic clock reading",
			tmpl.desc, line)
	}
	for _, p := range parts[1:] {
		if _, err := time.Parse(layout, p); err != nil {
			t.Errorf("%s: %q: %v", tmpl.desc, p, err)
		}
	}
}

// TestNSDoctorUnprivileged checks that doctor run by a user who may not
// read the firewall rules says so in one line: nft's several lines of
// error output used to reach the message as an escaped "\x0a".
func TestNSDoctorUnprivileged(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 1)
	h := lab.Hosts[0]
	r := runInWith(t, h, asNobody, "doctor")
	if r.code != 0 || !strings.Contains(r.stdout, "summary:") {
		t.Fatalf("%s as nobody: exit %d, want 0 and a summary\nstdout:\n%s\nstderr:\n%s",
			r.desc, r.code, r.stdout, r.stderr)
	}
	for _, out := range []string{r.stdout, r.stderr} {
		if strings.Contains(out, `\x0a`) || strings.Contains(out, `\n`) {
			t.Errorf("%s as nobody: an escaped newline in\n%s", r.desc, out)
		}
	}
	r = runInWith(t, h, asNobody, "doctor", "--json")
	var findings []struct{ Message string }
	if err := json.Unmarshal([]byte(r.stdout), &findings); err != nil {
		t.Fatalf("%s as nobody: %v in %q", r.desc, err, r.stdout)
	}
	for _, f := range findings {
		if strings.ContainsAny(f.Message, "\n\r") || strings.Contains(f.Message, `\x0a`) {
			t.Errorf("%s as nobody: message %q spans lines", r.desc, f.Message)
		}
	}
}

// TestNSErrorsReadAsLanfinds checks errors that only come once lanfind has
// its interfaces: a service whose metadata makes its beacon too big, and a
// socket that cannot be bound, read as lanfind's own ("service …", "listen
// …"), not as its packages' ("announce: beacon: …", "discover: …").
func TestNSErrorsReadAsLanfinds(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 1)
	h := lab.Hosts[0]
	args := []string{"announce", "--name", "big", "--port", "1"}
	for i := range 6 {
		args = append(args, "--meta", fmt.Sprintf("k%d=%s", i, strings.Repeat("v", 250)))
	}
	r := runCode(t, h, 2, args...)
	const want = `lanfind: error: service "big": metadata makes the beacon `
	if !strings.HasPrefix(r.stderr, want) {
		t.Errorf("%s: got stderr %q, want it to start with %q", r.desc, r.stderr, want)
	}

	// A port below 1024 that an unprivileged user may not bind.
	r = runInWith(t, h, asNobody, "list", "--discovery-port", "99", "--timeout", "200ms")
	if r.code != 2 || !strings.HasPrefix(r.stderr, "lanfind: error: listen udp") {
		t.Errorf("%s as nobody: exit %d, stderr %q; want 2 and lanfind: error: listen udp…",
			r.desc, r.code, r.stderr)
	}
	if strings.Contains(r.stderr, "discover: ") || strings.Contains(r.stderr, "udp: ") {
		t.Errorf("%s: a package prefix in %q", r.desc, r.stderr)
	}
}
