package main

// Lab tests of "lanfind announce --config": reload on SIGHUP, readiness
// notification, many services in one process.

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lanfind/lanfind/internal/netnstest"
)

// notifySocket listens where NOTIFY_SOCKET points, as systemd would, and
// returns its path and a function that returns the next state sent.
func notifySocket(t *testing.T) (string, func(what string) string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return path, func(what string) string {
		t.Helper()
		l.SetReadDeadline(time.Now().Add(waitTimeout))
		buf := make([]byte, 4096)
		n, err := l.Read(buf)
		if err != nil {
			t.Fatalf("notify socket: no state for %s: %v", what, err)
		}
		return string(buf[:n])
	}
}

// writeFile replaces path's contents, as an editor that writes a new file
// and renames it over the old one does.
func writeFile(t *testing.T, path, text string) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// expectEvents reads len(want) events and fails t unless they are want in
// any order; each is "KIND NAME" or "down (REASON) NAME", with ":PORT"
// appended when the port matters.
func (p *proc) expectEvents(t *testing.T, want ...string) []event {
	t.Helper()
	var got []string
	var evs []event
	for range want {
		ev := p.nextEvent(t)
		evs = append(evs, ev)
		kind := ev.Event
		if ev.Reason != "" {
			kind += " (" + ev.Reason + ")"
		}
		got = append(got, fmt.Sprintf("%s %s:%d", kind, ev.Service.Name, ev.Service.Port))
	}
	slices.Sort(got)
	w := slices.Clone(want)
	slices.Sort(w)
	if !slices.Equal(got, w) {
		t.Fatalf("%s: got events %q, want %q", p.desc, got, w)
	}
	return evs
}

// TestNSReload runs "announce --config" under a fake service manager and
// rewrites its file: SIGHUP announces added services at once, says goodbye
// for removed ones and updates changed ones; a bad file is logged and the
// old services stay; a changed interval asks for a restart.
func TestNSReload(t *testing.T) {
	// Not parallel: t.Setenv gives the announcer its NOTIFY_SOCKET.
	lab := netnstest.New(t, 2)
	h0, h1 := lab.Hosts[0], lab.Hosts[1]
	sock, nextState := notifySocket(t)
	t.Setenv("NOTIFY_SOCKET", sock)
	cfg := filepath.Join(t.TempDir(), "lanfind.toml")
	// A long interval, so that what the watch sees within a second or two
	// came from the reload, not from a periodic beacon.
	writeFile(t, cfg, `interval = "20s"
[[service]]
name = "db"
type = "postgres"
port = 5432
[[service]]
name = "web"
port = 80
`)
	w := startWatch(t, h0, "--json")
	a := startAnnouncer(t, h1, "--config", cfg)
	if got, want := nextState("start"), "READY=1\nSTATUS=announcing 2 services"; got != want {
		t.Fatalf("notify at start: got %q, want %q", got, want)
	}
	evs := w.expectEvents(t, "up db:5432", "up web:80")
	dbInstance := evs[slices.IndexFunc(evs, func(e event) bool { return e.Service.Name == "db" })].Service.Instance

	// web goes, db changes, api comes.
	writeFile(t, cfg, `interval = "20s"
[[service]]
name = "db"
type = "postgres"
port = 5433
meta = { version = "17" }
[[service]]
name = "api"
port = 9000
`)
	begin := time.Now()
	a.signal(t, syscall.SIGHUP)
	evs = w.expectEvents(t, "down (goodbye) web:80", "update db:5433", "up api:9000")
	if d := time.Since(begin); d > 2*time.Second {
		t.Errorf("reload events took %v, want them at once (the interval is 20s)", d)
	}
	for _, ev := range evs {
		if ev.Service.Name == "db" && (ev.Service.Instance != dbInstance || ev.Service.Meta["version"] != "17") {
			t.Errorf("changed db: got instance %s meta %v, want instance %s and version=17", ev.Service.Instance, ev.Service.Meta, dbInstance)
		}
	}
	// RELOADING=1 carries the time of the reload, as Type=notify-reload
	// wants (systemd 253 and later).
	if got, want := nextState("reload"), "RELOADING=1\nMONOTONIC_USEC="; !strings.HasPrefix(got, want) {
		t.Fatalf("notify on SIGHUP: got %q, want %q and the time", got, want)
	} else if usec, err := strconv.ParseUint(strings.TrimSpace(strings.TrimPrefix(got, want)), 10, 64); err != nil || usec == 0 {
		t.Fatalf("notify on SIGHUP: got %q, want MONOTONIC_USEC a positive integer", got)
	}
	if got, want := nextState("reload done"), "READY=1\nSTATUS=announcing 2 services"; got != want {
		t.Fatalf("notify after reload: got %q, want %q", got, want)
	}
	// The log says what the reload did, service by service.
	for msg, want := range map[string]string{
		"reload: added":   "name=api type=\"\" port=9000",
		"reload: removed": "name=web type=\"\" port=80",
		"reload: changed": "name=db type=postgres port=5433 what=\"port 5432 -> 5433, meta version added\"",
		"reloaded":        "services=2 added=1 removed=1 changed=1",
	} {
		if line := a.waitLog(t, msg); !strings.HasSuffix(line, " "+want) {
			t.Errorf("%s: got log line %q, want it to end %q", a.desc, line, want)
		}
	}

	// A bad file: an error on stderr, the old services stay.
	writeFile(t, cfg, `[[service]]
name = "db"
port = 70000
`)
	a.signal(t, syscall.SIGHUP)
	nextState("bad reload")
	if got, want := nextState("bad reload done"), "READY=1\nSTATUS=announcing 2 services"; got != want {
		t.Fatalf("notify after a failed reload: got %q, want %q", got, want)
	}
	_, line := a.waitLine(t, a.stderr, 0, "reload error", func(s string) bool { return strings.HasPrefix(s, "lanfind: error: reload: ") })
	if want := "lanfind: error: reload: " + cfg + ":3:1: port: want an integer 0 to 65535, got 70000"; line != want {
		t.Errorf("reload error: got %q, want %q", line, want)
	}
	got := names(list(t, h0))
	if want := []string{"api", "db"}; !slices.Equal(got, want) {
		t.Errorf("after a failed reload: list got %q, want %q", got, want)
	}

	// A changed interval needs a restart; the services still reload.
	writeFile(t, cfg, `interval = "1s"
[[service]]
name = "api"
port = 9000
`)
	a.signal(t, syscall.SIGHUP)
	w.expectEvents(t, "down (goodbye) db:5433")
	a.waitLine(t, a.stderr, 0, "restart warning", func(s string) bool {
		return s == "lanfind: warning: reload: "+cfg+": interval changed from 20s to 1s; restart lanfind to apply it"
	})

	// SIGTERM: goodbye, STOPPING=1, exit 0.
	a.signal(t, syscall.SIGTERM)
	w.expectEvents(t, "down (goodbye) api:9000")
	for {
		s := nextState("stop")
		if s == "STOPPING=1" {
			break
		}
		if !strings.HasPrefix(s, "RELOADING=1") && !strings.HasPrefix(s, "READY=1") {
			t.Fatalf("notify: got %q, want STOPPING=1 at the end", s)
		}
	}
	if code := a.wait(t); code != 0 {
		t.Fatalf("%s: exit %d, want 0", a.desc, code)
	}
}

// TestNSManyServices announces 50 services from one process, given by a
// config file and by --service, and lists all of them from another host.
func TestNSManyServices(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 2)
	h0, h1 := lab.Hosts[0], lab.Hosts[1]
	var b strings.Builder
	var want []string
	for i := range 48 {
		fmt.Fprintf(&b, "[[service]]\nname = \"svc-%02d\"\ntype = \"http\"\nport = %d\nmeta = { path = \"/\", version = \"1.2.3\" }\n", i, 8000+i)
		want = append(want, fmt.Sprintf("svc-%02d", i))
	}
	cfg := filepath.Join(t.TempDir(), "many.toml")
	writeFile(t, cfg, b.String())
	want = append(want, "x-flag-1", "x-flag-2")
	startAnnouncer(t, h1, "--config", cfg, "--service", "x-flag-1:1", "--service", "x-flag-2:2:tcp")
	r := runCode(t, h0, 0, "list", "--json", "-v")
	got := names(decodeList(t, r))
	if !slices.Equal(got, want) {
		t.Fatalf("%s: got %d services %q, want %d", r.desc, len(got), got, len(want))
	}
	// The replies came packed: far fewer datagrams than services.
	st := stats(t, r.desc, r.stderr)
	if n := st["accepted"]; n == 0 || n > 50/4 {
		t.Errorf("%s: %d datagrams accepted for 50 services, want several services per datagram (at most %d)", r.desc, n, 50/4)
	}
}

// TestNSConfigSettings checks that a configuration file's top-level
// settings apply: interfaces and discovery_port.
func TestNSConfigSettings(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 2)
	h0, h1 := lab.Hosts[0], lab.Hosts[1]
	dir := t.TempDir()
	bad := filepath.Join(dir, "ifaces.toml")
	writeFile(t, bad, "interfaces = [\"nosuch0\"]\n[[service]]\nname = \"db\"\n")
	r := runCode(t, h1, 2, "announce", "--config", bad)
	if !strings.Contains(r.stderr, `no interface named "nosuch0"`) {
		t.Errorf("%s: stderr %q, want the file's interface named", r.desc, r.stderr)
	}
	cfg := filepath.Join(dir, "port.toml")
	writeFile(t, cfg, "discovery_port = 28999\ninterfaces = [\"eth0\"]\n[[service]]\nname = \"db\"\nport = 5432\n")
	startAnnouncer(t, h1, "--config", cfg)
	if got := names(list(t, h0, "--discovery-port", "28999")); !slices.Equal(got, []string{"db"}) {
		t.Errorf("list on port 28999: got %q, want [db]", got)
	}
	r = runCode(t, h0, 1, "list", "--json", "--timeout", "500ms")
	if got := names(decodeList(t, r)); len(got) != 0 {
		t.Errorf("list on the default port: got %q, want nothing", got)
	}
}

// TestNSReloadConfigDir runs "announce --config-dir DIR": a file dropped
// into the directory, or taken out of it, takes effect on SIGHUP.
func TestNSReloadConfigDir(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 2)
	h0, h1 := lab.Hosts[0], lab.Hosts[1]
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "20-web.toml"), "interval = \"20s\"\n[[service]]\nname = \"web\"\nport = 80\n")
	w := startWatch(t, h0, "--json")
	a := startAnnouncer(t, h1, "--config-dir", dir)
	w.expectEvents(t, "up web:80")

	// A package drops in its own file; another file goes.
	writeFile(t, filepath.Join(dir, "10-db.toml"), "[[service]]\nname = \"db\"\nport = 5432\n")
	writeFile(t, filepath.Join(dir, "30-api.toml"), "[[service]]\nname = \"api\"\nport = 9000\n")
	a.signal(t, syscall.SIGHUP)
	w.expectEvents(t, "up db:5432", "up api:9000")
	if err := os.Remove(filepath.Join(dir, "30-api.toml")); err != nil {
		t.Fatal(err)
	}
	// A file that is not *.toml is not read.
	writeFile(t, filepath.Join(dir, "40-x.toml.disabled"), "[[service]]\nname = \"x\"\n")
	a.signal(t, syscall.SIGHUP)
	w.expectEvents(t, "down (goodbye) api:9000")
	a.waitLine(t, a.stderr, 0, "reload summary", func(s string) bool {
		return isLog(s, "reloaded") && strings.Contains(s, " services=2 added=0 removed=1 changed=0")
	})
	if got, want := names(list(t, h0)), []string{"db", "web"}; !slices.Equal(got, want) {
		t.Errorf("list after the reloads: got %q, want %q", got, want)
	}
}
