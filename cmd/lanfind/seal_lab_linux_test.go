package main

import (
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/lanfind/lanfind/internal/netnstest"
)

// TestNSSealed runs the binary in keyed mode: a keyed announcer is found,
// verified, only by a keyed list; an unkeyed list finds nothing of it and
// counts its sealed datagrams; a keyed list counts and ignores an
// unkeyed announcer.
func TestNSSealed(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 3)
	h0, h1, h2 := lab.Hosts[0], lab.Hosts[1], lab.Hosts[2]
	key := filepath.Join(t.TempDir(), "key")
	runCode(t, h0, 0, "keygen", key)
	// Short intervals, so that the listeners below also hear beacons of
	// the mode they do not speak, and count them.
	a := startAnnouncer(t, h1, "--name", "secret", "--port", "5432", "--interval", "100ms", "--secret-file", key)
	startAnnouncer(t, h2, "--name", "open", "--port", "80", "--interval", "100ms")
	// The announcer's log says it is keyed.
	if line := a.waitLog(t, "keyed: every datagram is sealed; only listeners with the same "+
		"--secret-file see these services, and clear queries are ignored"); !strings.Contains(line, "sealing_key_id=") {
		t.Errorf("%s: keyed log line %q, want the sealing key's ID", a.desc, line)
	}

	r := runCode(t, h0, 0, "list", "--json", "-v", "--secret-file", key)
	ss := decodeList(t, r)
	if got := names(ss); !slices.Equal(got, []string{"secret"}) || !ss[0].Verified || ss[0].Port != 5432 || ss[0].Addr != h1.Addr("eth0").String() {
		t.Fatalf("%s: got %+v, want only secret, verified, from %v port 5432", r.desc, ss, h1.Addr("eth0"))
	}
	if st := stats(t, r.desc, r.stderr); st["unsealed"] == 0 || st["rejected"] != 0 || st["stale"] != 0 {
		t.Errorf("%s: got stats %v, want unsealed > 0 (the open announcer), no rejected or stale", r.desc, st)
	}

	r = runCode(t, h0, 0, "list", "--json", "-v")
	ss = decodeList(t, r)
	if got := names(ss); !slices.Equal(got, []string{"open"}) || ss[0].Verified {
		t.Fatalf("%s: got %+v, want only open, not verified", r.desc, ss)
	}
	if st := stats(t, r.desc, r.stderr); st["sealed"] == 0 {
		t.Errorf("%s: got stats %v, want sealed > 0 (the keyed announcer)", r.desc, st)
	}

	// Without the key, an empty list says why: sealed datagrams were heard.
	hint := regexp.MustCompile(`(?m)^lanfind: hint: \d+ datagrams? sealed with a shared key heard: ` +
		`services here are keyed; give --secret-file FILE with their key to see them$`)
	r = runCode(t, h0, 1, "list", "--name", "secret", "--timeout", "1s")
	if r.stdout != "" || !hint.MatchString(r.stderr) {
		t.Errorf("%s: got stdout %q stderr %q, want nothing and the --secret-file hint", r.desc, r.stdout, r.stderr)
	}
	r = runCode(t, h0, 1, "list", "--json", "--name", "secret", "--timeout", "1s")
	if r.stdout != "[]\n" || !hint.MatchString(r.stderr) {
		t.Errorf("%s: got stdout %q stderr %q, want [] and the --secret-file hint", r.desc, r.stdout, r.stderr)
	}
	r = runCode(t, h0, 1, "resolve", "secret", "--timeout", "1s")
	if !hint.MatchString(r.stderr) {
		t.Errorf("%s: got stderr %q, want the --secret-file hint", r.desc, r.stderr)
	}
	// With the key, clear services are hidden, and the hint says so.
	r = runCode(t, h0, 1, "list", "--name", "open", "--timeout", "1s", "--secret-file", key)
	if !strings.Contains(r.stderr, " without a seal heard: with --secret-file only keyed services are seen") {
		t.Errorf("%s: got stderr %q, want the hint about clear services", r.desc, r.stderr)
	}
	r = runCode(t, h0, 0, "resolve", "secret", "--secret-file", key)
	if want := addrPort(h1, 5432) + "\n"; r.stdout != want {
		t.Errorf("%s: got %q, want %q", r.desc, r.stdout, want)
	}
}
