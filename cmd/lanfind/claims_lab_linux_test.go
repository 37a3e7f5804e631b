package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/lanfind/lanfind/internal/netnstest"
)

// TestNSSameServiceTwiceOnOneHost starts two real announcers of one name
// and type on one host (a stale one on 5432, a new one on 5433): the
// second exits 1 naming the service and the first's PID, so list never
// flips between them; with --take-over it replaces the first, which says
// goodbye and exits 0.
func TestNSSameServiceTwiceOnOneHost(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 2)
	h0, h1 := lab.Hosts[0], lab.Hosts[1]
	db := []string{"--name", "db", "--type", "postgres", "--interval", "200ms"}
	a := startAnnouncer(t, h1, append(db, "--port", "5432")...)

	r := runCode(t, h1, 1, append([]string{"announce", "--port", "5433"}, db...)...)
	wantErr := fmt.Sprintf("lanfind: error: service \"db\" of type \"postgres\": another lanfind process "+
		"on this host (pid %d) announces it (instance ", a.cmd.Process.Pid)
	if lines := strings.Split(strings.TrimSpace(r.stderr), "\n"); len(lines) < 2 ||
		!strings.HasPrefix(lines[len(lines)-2], wantErr) ||
		!strings.Contains(lines[len(lines)-1], "lanfind: hint: stop that process, or give --take-over") {
		t.Errorf("%s: stderr %q, want an error beginning %q and a hint", r.desc, r.stderr, wantErr)
	}
	if strings.Contains(r.stderr, "msg=announcing") || strings.Contains(r.stderr, "lanfind: announcing") {
		t.Errorf("%s: it announced before failing: %q", r.desc, r.stderr)
	}
	// Another type is another service: no conflict.
	other := startAnnouncer(t, h1, "--name", "db", "--type", "mysql", "--port", "3306")
	other.signal(t, syscall.SIGTERM)
	other.wait(t)

	// list never sees 5433, however often it asks.
	for i := range 5 {
		ss := list(t, h0, "--name", "db", "--type", "postgres")
		if len(ss) != 1 || ss[0].Port != 5432 || ss[0].Conflict {
			t.Fatalf("list %d: got %+v, want one db on 5432 without conflict", i, ss)
		}
	}

	// --take-over: the first says goodbye for it and exits 0.
	w := startWatch(t, h0, "--json", "--name", "db")
	w.expectEvent(t, "up", "", "db")
	b := startAnnouncer(t, h1, append(db, "--port", "5433", "--take-over")...)
	if code := a.wait(t); code != 0 {
		t.Errorf("%s: exit %d after the take-over, want 0", a.desc, code)
	}
	line := a.waitLog(t, "another lanfind process takes this service over; stopping announcing it")
	if want := fmt.Sprintf("pid=%d", b.cmd.Process.Pid); !strings.Contains(line, want) {
		t.Errorf("%s: take-over log %q, want it to name %s", a.desc, line, want)
	}
	for i := range 3 {
		ss := list(t, h0, "--name", "db", "--type", "postgres")
		if len(ss) != 1 || ss[0].Port != 5433 || ss[0].Conflict {
			t.Fatalf("list %d after the take-over: got %+v, want one db on 5433 without conflict", i, ss)
		}
	}
}

// TestNSReloadClaimsHeldService: a reload that would add a service another
// process on the host announces fails, naming it, and keeps the services
// announced before.
func TestNSReloadClaimsHeldService(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 2)
	h0, h1 := lab.Hosts[0], lab.Hosts[1]
	other := startAnnouncer(t, h1, "--name", "api", "--port", "9000", "--interval", "200ms")
	cfg := filepath.Join(t.TempDir(), "lanfind.toml")
	writeFile(t, cfg, "interval = \"200ms\"\n[[service]]\nname = \"web\"\nport = 80\n")
	a := startAnnouncer(t, h1, "--config", cfg)
	writeFile(t, cfg, "interval = \"200ms\"\n[[service]]\nname = \"web\"\nport = 80\n"+
		"[[service]]\nname = \"api\"\nport = 9001\n")
	a.signal(t, syscall.SIGHUP)
	want := fmt.Sprintf("lanfind: error: reload: service \"api\" of type \"\": another lanfind process "+
		"on this host (pid %d) announces it", other.cmd.Process.Pid)
	a.waitLine(t, a.stderr, 0, "reload error", func(s string) bool { return strings.HasPrefix(s, want) })
	a.waitLog(t, "reload: keeping the services announced before")
	for i := range 3 {
		ss := list(t, h0)
		if got := fmt.Sprint(names(ss)); got != "[api web]" {
			t.Fatalf("list %d: got %s, want [api web]", i, got)
		}
		for _, s := range ss {
			if s.Name == "api" && (s.Port != 9000 || s.Conflict) {
				t.Fatalf("list %d: got api %+v, want port 9000 without conflict", i, s)
			}
		}
	}
}
