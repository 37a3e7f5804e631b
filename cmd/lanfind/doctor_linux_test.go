package main

// Lab tests (tier 4) of "lanfind doctor": it sends probes, so it runs only
// inside lab namespaces.

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/internal/doctor"
	"github.com/lanfind/lanfind/internal/netnstest"
	"github.com/lanfind/lanfind/internal/requiretest"
)

// runDoctorJSON runs "lanfind doctor --json" with args in h, requires exit code
// want and returns the findings.
func runDoctorJSON(t *testing.T, h *netnstest.Host, want int, args ...string) []doctor.Finding {
	t.Helper()
	r := runCode(t, h, want, append([]string{"doctor", "--json"}, args...)...)
	var fs []doctor.Finding
	if err := json.Unmarshal([]byte(r.stdout), &fs); err != nil {
		t.Fatalf("%s: %v in %q", r.desc, err, r.stdout)
	}
	t.Logf("%s:\n%s", r.desc, formatFindings(fs))
	return fs
}

func formatFindings(fs []doctor.Finding) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "  %s [%s] %s\n", f.Level, f.Check, f.Message)
	}
	return b.String()
}

// expectFinding fails t unless fs has a finding of level and check whose
// message matches re.
func expectFinding(t *testing.T, fs []doctor.Finding, level, check, re string) {
	t.Helper()
	rx := regexp.MustCompile(re)
	for _, f := range fs {
		if f.Level == level && f.Check == check && rx.MatchString(f.Message) {
			return
		}
	}
	t.Errorf("no %s finding of check %s matching %q in:\n%s", level, check, re, formatFindings(fs))
}

// noProblems fails t if fs has a problem.
func noProblems(t *testing.T, fs []doctor.Finding) {
	t.Helper()
	for _, f := range fs {
		if f.Level == doctor.LevelProblem {
			t.Errorf("unexpected problem [%s] %s", f.Check, f.Message)
		}
	}
}

func TestNSDoctorHealthy(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 2)
	h0, h1 := lab.Hosts[0], lab.Hosts[1]
	startAnnouncer(t, h1, "--name", "db", "--type", "postgres", "--port", "5432")

	fs := runDoctorJSON(t, h0, 0)
	noProblems(t, fs)
	expectFinding(t, fs, doctor.LevelOK, "iface", `^eth0 \(up, broadcast, multicast; 10\.77\.0\.10/24\) is used$`)
	expectFinding(t, fs, doctor.LevelNote, "iface", `^lo is not used: loopback`)
	expectFinding(t, fs, doctor.LevelOK, "port", fmt.Sprintf(`^UDP port %d is free$`, beacon.DefaultPort))
	expectFinding(t, fs, doctor.LevelOK, "firewall", `^no nftables rule drops UDP port \d+$`)
	expectFinding(t, fs, doctor.LevelOK, "multicast", `^joined 239\.255\.70\.70 on eth0 \(the kernel lists the membership\)$`)
	expectFinding(t, fs, doctor.LevelOK, "self", `^eth0 hears its own probe: broadcast to 10\.77\.0\.255, multicast to 239\.255\.70\.70$`)

	// The text form: every line is a finding, a hint or the summary.
	r := runCode(t, h0, 0, "doctor")
	for line := range strings.Lines(r.stdout) {
		if !regexp.MustCompile(`^(ok|note|problem|  hint|summary): `).MatchString(line) {
			t.Errorf("%s: line %q does not start with ok:, note:, problem:, hint: or summary:", r.desc, line)
		}
	}
	// Notes: lo, and the announcer if one of its beacons came during the check.
	if !regexp.MustCompile(`\nsummary: no problem found \(\d+ notes?\)\n$`).MatchString(r.stdout) {
		t.Errorf("%s: got %q, want it to end with the summary", r.desc, r.stdout)
	}

	// A running announcer shares the port: a note, not a problem.
	fs = runDoctorJSON(t, h1, 0)
	expectFinding(t, fs, doctor.LevelNote, "port", `^UDP port \d+ is shared with pid \d+ \("lanfind announce --name db`)
}

func TestNSDoctorPortTaken(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 1)
	h := lab.Hosts[0]
	bin, err := exec.LookPath("holdport") // the test binary, as TestMain set it up
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), bin, fmt.Sprint(beacon.DefaultPort))
	out := newLineBuffer()
	cmd.Stdout, cmd.Stderr = out, out
	if err := h.Start(t, cmd); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-done })
	p := &proc{desc: "holdport", cmd: cmd, stdout: out, stderr: out, done: done}
	p.waitLine(t, out, 0, "ready", func(s string) bool { return s == "ready" })

	fs := runDoctorJSON(t, h, 1)
	expectFinding(t, fs, doctor.LevelProblem, "port",
		fmt.Sprintf(`^UDP port %d is taken by pid %d \("holdport %[1]d"\) without sharing it \(SO_REUSEADDR\): lanfind cannot listen$`, beacon.DefaultPort, cmd.Process.Pid))
	expectFinding(t, fs, doctor.LevelOK, "firewall", `^no nftables rule drops`)
	expectFinding(t, fs, doctor.LevelNote, "self", `^skipped the multicast and self checks`)

	// The other commands fail at once and point to doctor.
	r := runCode(t, h, 2, "list")
	if want := `lanfind: hint: another program holds lanfind's UDP port without sharing it; "lanfind doctor" names it`; !strings.Contains(r.stderr, "address already in use") || !strings.Contains(r.stderr, want) {
		t.Errorf("%s: got stderr %q, want the error and %q", r.desc, r.stderr, want)
	}
}

func TestNSDoctorFirewall(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("no nft command")
	}
	lab := netnstest.New(t, 1)
	h := lab.Hosts[0]
	// Inside the lab host's own namespace only: its ruleset is its own.
	for _, args := range [][]string{
		{"add", "table", "inet", "lft"},
		{"add", "chain", "inet", "lft", "input", "{ type filter hook input priority 0 ; policy accept ; }"},
		{"add", "rule", "inet", "lft", "input", "udp", "dport", fmt.Sprint(beacon.DefaultPort), "counter", "drop"},
	} {
		if out, err := h.Run(t, "nft", args...); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
	}
	fs := runDoctorJSON(t, h, 1)
	expectFinding(t, fs, doctor.LevelProblem, "firewall",
		fmt.Sprintf(`^nftables table inet lft, chain input drops UDP port %d: "udp dport %[1]d counter drop"$`, beacon.DefaultPort))
	expectFinding(t, fs, doctor.LevelProblem, "self", `^eth0 did not hear its own probe sent by broadcast to 10\.77\.0\.255, multicast to 239\.255\.70\.70 within 1s$`)
}

func TestNSDoctorPeer(t *testing.T) {
	t.Parallel()
	// h0 is on both segments; the announcer h1 only on segment 1 (h0's eth1).
	lab := netnstest.NewLab(t, netnstest.Spec{Segments: 2, Hosts: [][]int{{0, 1}, {1}}})
	h0, h1 := lab.Hosts[0], lab.Hosts[1]
	startAnnouncer(t, h1, "--name", "db", "--type", "postgres", "--port", "5432", "--hostname", "nas", "--interval", "200ms", "--ttl", "10s")
	a1 := h1.Addr("eth0").String() // 10.77.1.11

	fs := runDoctorJSON(t, h0, 0, "--peer", "db", "--timeout", "1s")
	expectFinding(t, fs, doctor.LevelOK, "peer", `^"db" is heard from `+regexp.QuoteMeta(a1)+` on eth1: port 5432, host "nas", TTL 10s$`)

	fs = runDoctorJSON(t, h0, 1, "--peer", "db", "--type", "mysql", "--timeout", "1s")
	expectFinding(t, fs, doctor.LevelProblem, "peer", `^a service named "db" is heard from `+regexp.QuoteMeta(a1)+` on eth1, but its type is "postgres"$`)

	// Heard on an interface lanfind does not use: by its periodic
	// broadcast beacons, as the query goes out of eth0 only.
	fs = runDoctorJSON(t, h0, 1, "--peer", "db", "--iface", "eth0", "--timeout", "1s")
	expectFinding(t, fs, doctor.LevelProblem, "peer", `^"db" is heard from `+regexp.QuoteMeta(a1)+` on eth1, which lanfind does not use \(not named by --iface\)$`)
	fs = runDoctorJSON(t, h0, 1, "--peer", "db", "--exclude-iface", "eth1", "--timeout", "1s")
	expectFinding(t, fs, doctor.LevelProblem, "peer", `on eth1, which lanfind does not use \(excluded by --exclude-iface\)$`)

	fs = runDoctorJSON(t, h0, 1, "--peer", "nosuch", "--timeout", "1s")
	expectFinding(t, fs, doctor.LevelProblem, "peer", `^no beacon from "nosuch" was heard on any interface within 1s; 1 other service heard, so this host does hear the LAN$`)
	fs = runDoctorJSON(t, h0, 1, "--peer", "DB", "--timeout", "1s")
	expectFinding(t, fs, doctor.LevelProblem, "peer", `names differ in case only: "db"$`)
}

// TestNSDoctorPeerFirewall: the peer's host firewall drops what comes in
// on lanfind's port, so its beacons go out but queries never reach it.
// doctor --peer tries the query -> reply path and says so (exit 1): with
// the default 5s interval, resolve and list fail there.
func TestNSDoctorPeerFirewall(t *testing.T) {
	t.Parallel()
	requiretest.Need(t, "nft")
	lab := netnstest.New(t, 2)
	h0, h1 := lab.Hosts[0], lab.Hosts[1]
	startAnnouncer(t, h1, "--name", "db", "--port", "5432", "--interval", "200ms")
	a1 := regexp.QuoteMeta(h1.Addr("eth0").String())
	fs := runDoctorJSON(t, h0, 0, "--peer", "db", "--timeout", "1s")
	expectFinding(t, fs, doctor.LevelOK, "peer", `^"db" is heard from `+a1+` on eth0: port 5432`)

	for _, args := range [][]string{
		{"add", "table", "inet", "labfw"},
		{"add", "chain", "inet", "labfw", "input", "{ type filter hook input priority 0; policy accept; }"},
		{"add", "rule", "inet", "labfw", "input", "udp", "dport", "28471", "drop"},
	} {
		if out, err := h1.Run(t, "nft", args...); err != nil {
			t.Fatalf("nft %q in %s: %v\n%s", args, h1.Name, err, out)
		}
	}
	fs = runDoctorJSON(t, h0, 1, "--peer", "db", "--timeout", "1s")
	expectFinding(t, fs, doctor.LevelProblem, "peer",
		`^"db": beacons heard from `+a1+` on eth0, queries not answered: check the firewall on `+a1+`$`)
}

// TestNSDoctorGoodbye has the announcer stop while doctor --peer listens.
func TestNSDoctorGoodbye(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 2)
	h0, h1 := lab.Hosts[0], lab.Hosts[1]
	a := startAnnouncer(t, h1, "--name", "db")
	d := start(t, h0, "doctor", "--json", "-v", "--peer", "db", "--timeout", "3s")
	d.waitLog(t, "doctor: listening")
	a.signal(t, syscall.SIGINT)
	if code := a.wait(t); code != 0 {
		t.Fatalf("%s: exit %d, want 0", a.desc, code)
	}
	if code := d.wait(t); code != 1 {
		t.Fatalf("%s: exit %d, want 1", d.desc, code)
	}
	var fs []doctor.Finding
	if err := json.Unmarshal([]byte(d.stdout.String()), &fs); err != nil {
		t.Fatalf("%s: %v in %q", d.desc, err, d.stdout)
	}
	expectFinding(t, fs, doctor.LevelProblem, "peer", `^"db" said goodbye from `+regexp.QuoteMeta(h1.Addr("eth0").String())+` on eth0 \S+ ago: its announcer stopped$`)
}

// TestNSDoctorMixedKeys: on a LAN that mixes a keyed and a clear
// announcer, doctor without the key notes the sealed traffic but finds
// nothing wrong (exit 0); TestNSDoctorKeys keeps it a problem on a LAN
// where every announcer is keyed.
func TestNSDoctorMixedKeys(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 3)
	h0, h1, h2 := lab.Hosts[0], lab.Hosts[1], lab.Hosts[2]
	key := filepath.Join(t.TempDir(), "key")
	runCode(t, h0, 0, "keygen", key)
	startAnnouncer(t, h1, "--name", "secret", "--interval", "200ms", "--secret-file", key)
	startAnnouncer(t, h2, "--name", "open", "--interval", "200ms")
	// --peer: doctor listens for the whole timeout, and hears both.
	fs := runDoctorJSON(t, h0, 0, "--peer", "open", "--timeout", "1s")
	expectFinding(t, fs, doctor.LevelNote, "keys", `^\d+ datagrams? sealed with a shared key were heard, `+
		`and this host has no key: they are ignored; clear lanfind traffic was heard too, so the LAN mixes `+
		`keyed and clear services, and without a key lanfind sees only the clear ones$`)
	noProblems(t, fs)
}

// TestNSDoctorKeys: doctor names a key problem when the announcer seals
// its traffic: no key here, another key here, and the right key (found).
func TestNSDoctorKeys(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 2)
	h0, h1 := lab.Hosts[0], lab.Hosts[1]
	dir := t.TempDir()
	key, other := filepath.Join(dir, "key"), filepath.Join(dir, "other")
	runCode(t, h0, 0, "keygen", key)
	runCode(t, h0, 0, "keygen", other)
	startAnnouncer(t, h1, "--name", "db", "--port", "5432", "--interval", "200ms", "--secret-file", key)
	a1 := regexp.QuoteMeta(h1.Addr("eth0").String())

	fs := runDoctorJSON(t, h0, 1, "--peer", "db", "--timeout", "1s")
	expectFinding(t, fs, doctor.LevelProblem, "keys", `^\d+ datagrams? sealed with a shared key were heard, and this host has no key: they are ignored$`)
	fs = runDoctorJSON(t, h0, 1, "--peer", "db", "--timeout", "1s", "--secret-file", other)
	expectFinding(t, fs, doctor.LevelProblem, "keys", `^\d+ datagrams? failed authentication: they were sealed with a key this host does not have, or altered$`)
	fs = runDoctorJSON(t, h0, 0, "--peer", "db", "--timeout", "1s", "--secret-file", key)
	expectFinding(t, fs, doctor.LevelOK, "peer", `^"db" is heard from `+a1+` on eth0: port 5432`)
}

// TestNSDoctorBridge makes a real Linux bridge in a lab host and runs
// doctor on it, with /sys mounted afresh in a mount namespace of its own so
// that /sys/class/net shows the host's interfaces: a bridge that snoops
// multicast without a querier is reported, one that is the querier is not.
func TestNSDoctorBridge(t *testing.T) {
	t.Parallel()
	requiretest.Need(t, "ip", "unshare")
	lab := netnstest.New(t, 1)
	h0 := lab.Hosts[0]
	for _, args := range [][]string{
		{"link", "add", "br0", "type", "bridge", "mcast_snooping", "1", "mcast_querier", "0"},
		// A port with carrier: one end of a veth pair.
		{"link", "add", "v0", "type", "veth", "peer", "name", "v1"},
		{"link", "set", "v0", "master", "br0"},
		{"addr", "add", "10.99.0.1/24", "dev", "br0"},
		{"link", "set", "v1", "up"},
		{"link", "set", "v0", "up"},
		{"link", "set", "br0", "up"},
	} {
		if out, err := h0.Run(t, "ip", args...); err != nil {
			t.Fatalf("ip %q: %v\n%s", args, err, out)
		}
	}
	doctorOnBridge := func() []doctor.Finding {
		t.Helper()
		r := runInWith(t, h0, func(cmd *exec.Cmd) {
			unshare, err := exec.LookPath("unshare")
			if err != nil {
				t.Fatal(err)
			}
			cmd.Args = append([]string{"unshare", "--mount", "sh", "-c",
				`mount -t sysfs sysfs /sys && exec "$0" "$@"`, cmd.Path}, cmd.Args[1:]...)
			cmd.Path = unshare
		}, "doctor", "--json", "--iface", "br0", "--timeout", "300ms")
		var fs []doctor.Finding
		if err := json.Unmarshal([]byte(r.stdout), &fs); err != nil {
			t.Fatalf("%s: %v in %q (stderr %q)", r.desc, err, r.stdout, r.stderr)
		}
		t.Logf("%s:\n%s", r.desc, formatFindings(fs))
		return fs
	}
	fs := doctorOnBridge()
	expectFinding(t, fs, doctor.LevelNote, "bridge", `^bridge br0 snoops multicast without a querier: `+
		`multicast to the group stops reaching the hosts behind it a few minutes after their last join; `+
		`broadcast is not snooped, so lanfind still works by broadcast$`)

	if out, err := h0.Run(t, "ip", "link", "set", "br0", "type", "bridge", "mcast_querier", "1"); err != nil {
		t.Fatalf("ip: %v\n%s", err, out)
	}
	fs = doctorOnBridge()
	expectFinding(t, fs, doctor.LevelOK, "bridge", `^bridge br0: multicast snooping on, querier on$`)
}
