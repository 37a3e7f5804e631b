package main

// Lab tests of the output options: --format, --wait, address ranking and
// output that hostile names cannot use to take over a terminal.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lanfind/lanfind/announce"
	"github.com/lanfind/lanfind/internal/netnstest"
)

func TestNSFormatAndWait(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 3)
	h0, h1, h2 := lab.Hosts[0], lab.Hosts[1], lab.Hosts[2]
	startAnnouncer(t, h1, "--name", "db", "--type", "postgres", "--port", "5432", "--meta", "version=16", "--hostname", "nas")
	db := addrPort(h1, 5432)

	r := runCode(t, h0, 0, "list", "--format", "{{.Name}} {{.Type}} {{.Addr}}:{{.Port}} {{.Host}} {{.Meta.version}} {{join .Addrs \",\"}}")
	if want := "db postgres " + db + " nas 16 " + h1.Addr("eth0").String() + "\n"; r.stdout != want {
		t.Errorf("%s: got %q, want %q", r.desc, r.stdout, want)
	}
	r = runCode(t, h0, 0, "resolve", "db", "--format", "{{.Addr}}:{{.Port}}")
	if r.stdout != db+"\n" {
		t.Errorf("%s: got %q, want %q", r.desc, r.stdout, db+"\n")
	}
	r = runCode(t, h0, 0, "resolve", "db", "--wait", "1", "--timeout", "5s")
	if r.stdout != db+"\n" {
		t.Errorf("%s: got %q, want %q", r.desc, r.stdout, db+"\n")
	}

	// --wait 2 waits past the settled answers for a second instance that
	// starts later, and returns as soon as it is up.
	l := start(t, h0, "list", "--wait", "2", "--timeout", "20s", "-v", "--format", "{{.Name}} {{.Addr}}")
	l.waitLog(t, "sent query")
	startAnnouncer(t, h2, "--name", "web", "--port", "8080")
	if code := l.wait(t); code != 0 {
		t.Fatalf("%s: got exit %d, want 0\nstderr:\n%s", l.desc, code, l.stderr)
	}
	if got, want := l.stdout.String(), "db "+h1.Addr("eth0").String()+"\nweb "+h2.Addr("eth0").String()+"\n"; got != want {
		t.Errorf("%s: got %q, want %q", l.desc, got, want)
	}

	// Fewer than --wait by the timeout: what was found, and exit 1.
	r = runCode(t, h0, 1, "list", "--wait", "3", "--timeout", "1s", "--format", "{{.Name}}")
	if r.stdout != "db\nweb\n" {
		t.Errorf("%s: got %q, want %q", r.desc, r.stdout, "db\nweb\n")
	}
	if want := "lanfind: error: 2 of the 3 instances --wait asked for answered within 1s\n"; r.stderr != want {
		t.Errorf("%s: got stderr %q, want %q", r.desc, r.stderr, want)
	}
	if r.elapsed < time.Second {
		t.Errorf("%s: returned after %v, before its 1s timeout", r.desc, r.elapsed)
	}
	// Interrupted before the timeout: the message does not claim the
	// timeout ran out.
	l = start(t, h0, "list", "--wait", "3", "--timeout", "1m", "-v", "--format", "{{.Name}}")
	l.waitLog(t, "sent query")
	l.signal(t, syscall.SIGINT)
	if code := l.wait(t); code != 1 {
		t.Errorf("%s: SIGINT: got exit %d, want 1", l.desc, code)
	}
	// (2 of 3 once the answers are in; the signal may come first.)
	if want := regexp.MustCompile(`\nlanfind: error: [012] of the 3 instances --wait asked for answered before the interrupt\n$`); !want.MatchString(l.stderr.String()) {
		t.Errorf("%s: got stderr %q, want it to match %s", l.desc, l.stderr.String(), want)
	}
	r = runCode(t, h0, 1, "list", "--wait", "3", "--timeout", "500ms", "--json")
	if got := names(decodeList(t, r)); !slices.Equal(got, []string{"db", "web"}) {
		t.Errorf("%s: got %v, want [db web]", r.desc, got)
	}
	r = runCode(t, h0, 1, "resolve", "web", "--wait", "2", "--timeout", "500ms")
	if want := addrPort(h2, 8080) + "\n"; r.stdout != want {
		t.Errorf("%s: got %q, want %q", r.desc, r.stdout, want)
	}

	// watch --format: one line per event, with .Event and .Reason.
	w := start(t, h0, "watch", "--name", "db", "--format", "{{.Event}}|{{.Reason}}|{{.Name}}")
	if got := w.nextLine(t, "event"); got != "up||db" {
		t.Errorf("%s: got %q, want %q", w.desc, got, "up||db")
	}
}

// TestNSHostileNames announces a service whose name, type, host name and
// metadata are full of terminal escape sequences, and checks that no
// output of list, watch or resolve carries them to the terminal.
func TestNSHostileNames(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 2)
	h0, h1 := lab.Hosts[0], lab.Hosts[1]
	evil := "\x1b[2J\x1b[Hpwned\x1b]0;title\x07\u009b31m\u202e"
	s, err := announce.New(announce.Config{
		Services: []announce.Service{{Name: evil, Type: "\x1b[31mred", Port: 80,
			Meta: map[string]string{"k\x1b[1m": "\x1b]8;;http://evil/\x1b\\x", "bad": "\xff\xfe"}}},
		Hostname:     "\x1b[5mhost\r\n",
		Interval:     200 * time.Millisecond,
		ListenPacket: h1.ListenPacket,
		Lister:       h1.Lister(t),
	})
	if err != nil {
		t.Fatalf("announce.New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("announce Run: %v", err)
		}
	})

	noControl := func(desc, out string) {
		t.Helper()
		if out == "" {
			t.Errorf("%s: no output", desc)
		}
		for _, bad := range []string{"\x1b", "\u009b", "\u202e", "\r", "\a", "\xff"} {
			if strings.Contains(out, bad) {
				t.Errorf("%s: output holds %q: %q", desc, bad, out)
			}
		}
	}
	r := runCode(t, h0, 0, "list")
	noControl(r.desc, r.stdout)
	if !strings.Contains(r.stdout, `\x1b[2J\x1b[Hpwned`) {
		t.Errorf("%s: got %q, want the name with visible escapes", r.desc, r.stdout)
	}
	r = runCode(t, h0, 0, "list", "--format", "{{.Name}} {{.Type}} {{.Host}} {{.Meta}}")
	noControl(r.desc, r.stdout)
	if n := strings.Count(r.stdout, "\n"); n != 1 {
		t.Errorf("%s: got %d lines, want 1: %q", r.desc, n, r.stdout)
	}
	r = runCode(t, h0, 0, "list", "--json")
	noControl(r.desc, r.stdout)
	ss := decodeList(t, r)
	if len(ss) != 1 || ss[0].Name != evil || ss[0].Meta["bad"] != "\uFFFD\uFFFD" {
		t.Errorf("%s: got %+v, want the exact name and invalid UTF-8 replaced", r.desc, ss)
	}
	if !json.Valid([]byte(r.stdout)) {
		t.Errorf("%s: invalid JSON %q", r.desc, r.stdout)
	}
	w := start(t, h0, "watch")
	noControl(w.desc, w.nextLine(t, "event"))
}

// TestNSAddrsRanked: an announcer on two segments reports both addresses;
// a listener on the second segment gets its own segment's address first.
func TestNSAddrsRanked(t *testing.T) {
	t.Parallel()
	// h0 on segment 1 only; h1 on segments 0 (eth0) and 1 (eth1).
	lab := netnstest.NewLab(t, netnstest.Spec{Segments: 2, Hosts: [][]int{{1}, {0, 1}}})
	h0, h1 := lab.Hosts[0], lab.Hosts[1]
	startAnnouncer(t, h1, "--name", "db", "--port", "5432")
	ss := list(t, h0)
	if len(ss) != 1 {
		t.Fatalf("got %d services, want 1", len(ss))
	}
	near, far := h1.Addr("eth1").String(), h1.Addr("eth0").String()
	if want := []string{near, far}; ss[0].Addr != near || !slices.Equal(ss[0].Addrs, want) {
		t.Errorf("got addr %s addrs %v, want %s %v", ss[0].Addr, ss[0].Addrs, near, want)
	}
}

// TestNSWatchTerminal runs "lanfind watch" on a pseudo-terminal (made by
// script(1)): it draws the live table, in colour unless NO_COLOR is set,
// and quits on q. Nothing answers the terminal's queries here, so this
// also checks that no start-up query waits for an answer.
func TestNSWatchTerminal(t *testing.T) {
	t.Parallel()
	scriptBin, err := exec.LookPath("script")
	if err != nil {
		t.Skip("no script(1) to make a pseudo-terminal")
	}
	lab := netnstest.New(t, 2)
	h0, h1 := lab.Hosts[0], lab.Hosts[1]
	startAnnouncer(t, h1, "--name", "db", "--type", "postgres", "--port", "5432")
	bin := lanfindPath(t)
	for _, noColor := range []bool{false, true} {
		p, out, stdin := startOnTerminal(t, h0, fmt.Sprintf("lanfind watch on a terminal (NO_COLOR %v)", noColor),
			noColor, "watch", "-v")
		// tcell moves the cursor over spaces: look for words.
		waitOutput(t, p, out, addrPort(h1, 5432))
		s := quitTerminal(t, p, out, stdin)
		if green := strings.Contains(s, "\x1b[32mup"); green == noColor {
			t.Errorf("%s: coloured state %v, want %v; output:\n%q", p.desc, green, !noColor, s)
		}
		// -v logs wait until the table is gone.
		if i, j := strings.LastIndex(s, addrPort(h1, 5432)), strings.Index(s, "sent query"); j < i {
			t.Errorf("%s: log at %d, before the end of the table at %d; output:\n%q", p.desc, j, i, s)
		}
		if !strings.Contains(s, "STATE") || !strings.Contains(s, "postgres") || !strings.Contains(s, "lanfind") {
			t.Errorf("%s: no table in output:\n%q", p.desc, s)
		}

		// list's table on a terminal: a bold header unless NO_COLOR.
		ctx, cancel := context.WithTimeout(t.Context(), cmdTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, scriptBin, "-qec", bin+" list", "/dev/null")
		cmd.Env = append(os.Environ(), "TERM=xterm-256color", "NO_COLOR=", "GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=20")
		if noColor {
			cmd.Env = append(cmd.Env, "NO_COLOR=1")
		}
		var listOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &listOut, &listOut
		if err := h0.Start(t, cmd); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("lanfind list on a terminal: %v\n%q", err, listOut.String())
		}
		s = listOut.String()
		if bold := strings.Contains(s, "\x1b[1mNAME\x1b[0m"); bold == noColor || !strings.Contains(s, "postgres") {
			t.Errorf("lanfind list on a terminal (NO_COLOR %v): got %q", noColor, s)
		}
		if noColor && strings.Contains(s, "\x1b") {
			t.Errorf("lanfind list on a terminal with NO_COLOR: escape sequence in %q", s)
		}
	}
}

// waitOutput waits until b holds want anywhere, complete line or not.
// startOnTerminal starts lanfind with args on h on a pseudo-terminal made
// by script(1) (skipping the test without it), in colour unless noColor:
// the live table's way. It returns the process, its output and its input
// (write "q" to quit).
func startOnTerminal(t *testing.T, h *netnstest.Host, what string, noColor bool, args ...string) (
	*proc, *lineBuffer, io.Writer) {
	t.Helper()
	scriptBin, err := exec.LookPath("script")
	if err != nil {
		t.Skip("no script(1) to make a pseudo-terminal")
	}
	ctx, cancel := context.WithTimeout(t.Context(), cmdTimeout)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, scriptBin, "-qfec", lanfindPath(t)+" "+strings.Join(args, " "), "/dev/null")
	cmd.Env = append(os.Environ(), "TERM=xterm-256color", "NO_COLOR=", "GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=20")
	if noColor {
		cmd.Env = append(cmd.Env, "NO_COLOR=1")
	}
	cmd.WaitDelay = time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out := newLineBuffer()
	cmd.Stdout, cmd.Stderr = out, out
	p := &proc{desc: h.Name + ": " + what, cmd: cmd, stdout: out, stderr: newLineBuffer(), done: make(chan struct{})}
	if err := h.Start(t, cmd); err != nil {
		t.Fatal(err)
	}
	go func() {
		cmd.Wait()
		close(p.done)
	}()
	return p, out, stdin
}

// quitTerminal types q at a live table started by startOnTerminal, checks
// that it ends with exit 0 and no crash, and returns its output.
func quitTerminal(t *testing.T, p *proc, out *lineBuffer, stdin io.Writer) string {
	t.Helper()
	if _, err := stdin.Write([]byte("q")); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t); code != 0 {
		t.Errorf("%s: got exit %d, want 0; output:\n%q", p.desc, code, out)
	}
	s := out.String()
	checkCrash(t, p.desc, s)
	return s
}

func waitOutput(t *testing.T, p *proc, b *lineBuffer, want string) {
	t.Helper()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	for {
		_, changed := b.lines()
		if strings.Contains(b.String(), want) {
			return
		}
		select {
		case <-changed:
		case <-p.done:
			if !strings.Contains(b.String(), want) {
				t.Fatalf("%s: exited without printing %q; output:\n%q", p.desc, want, b)
			}
			return
		case <-timer.C:
			t.Fatalf("%s: no %q within %v; output:\n%q", p.desc, want, waitTimeout, b)
		}
	}
}
