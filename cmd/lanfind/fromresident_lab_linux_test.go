package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lanfind/lanfind/internal/doctor"
	"github.com/lanfind/lanfind/internal/mdnslab"
	"github.com/lanfind/lanfind/internal/netnstest"
	"github.com/lanfind/lanfind/internal/requiretest"
)

// Debug lines that tell where list and resolve --mdns took their DNS-SD
// services from: a resident serve's cache, or a browser of their own
// (whose socket counters it logs as "mdns stats").
const (
	logFromResident = "--mdns: from the resident"
	logOwnBrowser   = "mdns stats"
)

// TestNSMDNSResident: Avahi publishes on h0 and h1; "serve --mdns" runs
// on h2 with a socket in a temporary directory. Once its cache is warm,
// list and resolve --mdns on h2 take the services from it without
// browsing themselves; a service that Avahi withdraws (goodbye) is gone
// from the next list; with serve stopped, its socket is gone and list
// browses itself and still finds them.
func TestNSMDNSResident(t *testing.T) {
	requiretest.Need(t, "avahi-daemon", "avahi-publish", "dbus-daemon")
	lan := netnstest.New(t, 3)
	h0, h1, h2 := lan.Hosts[0], lan.Hosts[1], lan.Hosts[2]
	mdnslab.StartAvahi(t, h0, "webhost", mdnslab.Service{Name: "web a", Type: "_http._tcp", Port: 8080},
		mdnslab.Service{Name: "Office Printer", Type: "_ipp._tcp", Port: 631})
	av1 := mdnslab.StartAvahi(t, h1, "otherhost", mdnslab.Service{Name: "web b", Type: "_http._tcp", Port: 8081})
	// A service to withdraw: avahi-publish registers it with h1's
	// avahi-daemon, which says goodbye for it when avahi-publish ends.
	pub := exec.Command("avahi-publish", "-s", "web gone", "_http._tcp", "8082")
	pub.Env = append(os.Environ(), "DBUS_SYSTEM_BUS_ADDRESS="+av1.Bus)
	published := mdnslab.Pipe(t, h1, pub, true)
	if _, err := published.Wait(10*time.Second, "Established"); err != nil {
		t.Fatalf("avahi-publish: %v\n%s", err, published.All())
	}

	dir, err := os.MkdirTemp("", "lfres")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "run", "serve.sock")
	srv := startServe(t, h2, "--mdns", "--dns", "", "--http", "127.0.0.1:0", "--socket", sock)

	listed := func() ([]string, bool) { return residentList(t, h2, sock) }
	waitListed := func(what string, want []string, viaResident bool) {
		t.Helper()
		waitResidentList(t, h2, sock, what, want, viaResident)
	}
	all := []string{"web a", "web b", "web gone"}
	// A cold resident is not asked: list browses itself at first.
	if got, via := listed(); via {
		t.Errorf("list right after serve started: from the resident (%q), want its own browse", got)
	}
	waitListed("list --mdns with a warm resident", all, true)

	r := runCode(t, h2, 0, "resolve", "-v", "--mdns", "--type", "http", "web a", "--socket", sock)
	if want := h0.Addr("eth0").String() + ":8080\n"; r.stdout != want || !strings.Contains(r.stderr, logFromResident) {
		t.Errorf("resolve --mdns: got %q (from the resident: %v), want %q from the resident",
			r.stdout, strings.Contains(r.stderr, logFromResident), want)
	}

	fs := runDoctorJSON(t, h2, 0, "--socket", sock)
	expectFinding(t, fs, doctor.LevelOK, "resident",
		fmt.Sprintf(`^a resident lanfind serve \(pid %d\) answers on `, srv.cmd.Process.Pid))

	// Goodbye: Avahi withdraws "web gone"; the resident follows it.
	if err := pub.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitListed("list --mdns after the goodbye", all[:2], true)

	srv.signal(t, syscall.SIGTERM)
	if code := srv.wait(t); code != 0 {
		t.Errorf("%s: exit %d, want 0", srv.desc, code)
	}
	if _, err := os.Lstat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket after serve stopped: %v, want it removed", err)
	}
	fs = runDoctorJSON(t, h2, 0, "--socket", sock)
	expectFinding(t, fs, doctor.LevelNote, "resident", `^no resident on `)
	got, via := listed()
	if !slices.Equal(got, all[:2]) || via {
		t.Errorf("list --mdns without the resident: got %q (from the resident: %v), want %q by its own browse",
			got, via, all[:2])
	}
}

// residentList runs list --mdns --type http in h with the resident socket
// sock and returns the names, sorted, and whether it took them from the
// resident.
func residentList(t *testing.T, h *netnstest.Host, sock string) ([]string, bool) {
	t.Helper()
	r := runIn(t, h, "list", "-v", "--json", "--mdns", "--type", "http", "--socket", sock)
	if r.code != 0 && r.code != 1 {
		t.Fatalf("%s: exit %d\n%s", r.desc, r.code, r.stderr)
	}
	ss := decodeList(t, r)
	via := strings.Contains(r.stderr, logFromResident)
	if via && strings.Contains(r.stderr, logOwnBrowser) {
		t.Fatalf("%s: took the resident's answer and browsed too:\n%s", r.desc, r.stderr)
	}
	got := names(ss)
	slices.Sort(got)
	return got, via
}

// waitResidentList runs residentList until it lists want (from the
// resident or not, as viaResident says), for up to 15 s.
func waitResidentList(t *testing.T, h *netnstest.Host, sock, what string, want []string, viaResident bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got, via := residentList(t, h, sock)
		if slices.Equal(got, want) && via == viaResident {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: got %q (from the resident: %v), want %q (%v)", what, got, via, want, viaResident)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestNSMDNSResidentActivated: serve takes the socket that the service
// manager passes (socket activation, as contrib's lanfind-serve.socket
// does; systemd-socket-activate stands in for systemd here), starts at the
// first connection, and list --mdns then takes the services from it.
func TestNSMDNSResidentActivated(t *testing.T) {
	requiretest.Need(t, "avahi-daemon", "dbus-daemon", "systemd-socket-activate")
	lan := netnstest.New(t, 2)
	h0, h1 := lan.Hosts[0], lan.Hosts[1]
	mdnslab.StartAvahi(t, h0, "webhost", mdnslab.Service{Name: "web a", Type: "_http._tcp", Port: 8080})
	dir, err := os.MkdirTemp("", "lfres")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "serve.sock")
	// No --socket: the passed socket is the one served.
	act := exec.Command("systemd-socket-activate", "-l", sock, "-E", "LANFIND_SOCKET=",
		lanfindPath(t), "serve", "-v", "--mdns", "--dns", "", "--http", "127.0.0.1:0")
	lines := mdnslab.Pipe(t, h1, act, true)
	if _, err := lines.Wait(10*time.Second, "Listening on"); err != nil {
		t.Fatalf("systemd-socket-activate: %v\n%s", err, lines.All())
	}
	// The first list starts serve, cold: it browses itself.
	if _, via := residentList(t, h1, sock); via {
		t.Error("the first list took the services from a resident that had just started")
	}
	if _, err := lines.Wait(10*time.Second, "socket="+sock); err != nil {
		t.Fatalf("serve does not serve the passed socket: %v\n%s", err, lines.All())
	}
	waitResidentList(t, h1, sock, "list --mdns through the activated resident", []string{"web a"}, true)
}
