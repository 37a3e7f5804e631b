package main

// Helpers for the namespace-lab tests in lab_linux_test.go: build the
// lanfind binary once, run it inside lab hosts, and wait for what it prints.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/internal/netnstest"
	"github.com/lanfind/lanfind/internal/udp"
)

// Bounds on waiting. Everything in a lab happens within milliseconds; these
// only keep a broken build from hanging the test run.
const (
	waitTimeout = 5 * time.Second  // for an expected line, event or datagram
	cmdTimeout  = 20 * time.Second // for a one-shot command to exit
	procTimeout = 60 * time.Second // lifetime of a long-running process
)

// lanfindBin is the lanfind binary built for this test process.
var lanfindBin struct {
	once sync.Once
	path string
	err  error
}

// lanfindPath builds the lanfind binary once per test process and returns
// its path. When the test binary was built with -race, so is lanfind, and
// the helpers below fail a test whose lanfind reported a data race.
func lanfindPath(t *testing.T) string {
	t.Helper()
	lanfindBin.once.Do(func() {
		goBin, err := exec.LookPath("go") // go test puts its own GOROOT/bin first in PATH
		if err != nil {
			lanfindBin.err = fmt.Errorf("find the go command: %w", err)
			return
		}
		dir, err := os.MkdirTemp("", "lanfind-nstest-")
		if err != nil {
			lanfindBin.err = err
			return
		}
		processCleanups = append(processCleanups, func() { os.RemoveAll(dir) })
		// Readable and executable by everyone: some tests run it as an
		// unprivileged user (TestNSNoRoot).
		if err := os.Chmod(dir, 0o755); err != nil {
			lanfindBin.err = err
			return
		}
		path := filepath.Join(dir, "lanfind")
		args := []string{"build", "-o", path}
		if builtWithRace() {
			args = append(args, "-race")
		}
		args = append(args, "github.com/lanfind/lanfind/cmd/lanfind")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, goBin, args...).CombinedOutput()
		if err != nil {
			os.RemoveAll(dir)
			lanfindBin.err = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
			return
		}
		if err := os.Chmod(path, 0o755); err != nil {
			lanfindBin.err = err
			return
		}
		lanfindBin.path = path
	})
	if lanfindBin.err != nil {
		t.Fatal(lanfindBin.err)
	}
	return lanfindBin.path
}

// builtWithRace reports whether this test binary was built with -race.
func builtWithRace() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// lineBuffer collects a process's output and wakes waiters on every write.
type lineBuffer struct {
	// mu guards the fields below.
	mu      sync.Mutex
	buf     bytes.Buffer
	writes  int           // calls of Write: the reads of the pipe that brought data
	changed chan struct{} // closed and replaced on every Write
}

func newLineBuffer() *lineBuffer { return &lineBuffer{changed: make(chan struct{})} }

func (b *lineBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	b.writes++
	close(b.changed)
	b.changed = make(chan struct{})
	return len(p), nil
}

// lines returns the complete lines written so far, without their newlines,
// and a channel closed on the next write.
func (b *lineBuffer) lines() ([]string, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	end := strings.LastIndexByte(s, '\n')
	if end < 0 {
		return nil, b.changed
	}
	return strings.Split(s[:end], "\n"), b.changed
}

// writeCount returns how many times Write was called.
func (b *lineBuffer) writeCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.writes
}

func (b *lineBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// command returns a lanfind command, killed when ctx ends.
func command(ctx context.Context, t *testing.T, args []string) *exec.Cmd {
	t.Helper()
	cmd := exec.CommandContext(ctx, lanfindPath(t), args...)
	cmd.WaitDelay = time.Second
	// A -race binary otherwise sleeps a second at exit, in case other
	// threads are still reporting.
	cmd.Env = append(os.Environ(), "GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=20")
	return cmd
}

// proc is a long-running lanfind process in a lab host.
type proc struct {
	desc   string // "h1: lanfind announce --name db", for messages
	cmd    *exec.Cmd
	stdout *lineBuffer
	stderr *lineBuffer
	done   chan struct{} // closed when cmd.Wait has returned
	next   int           // index of the next stdout line nextEvent reads
}

// start starts lanfind with args in host h. The process is killed (by its
// PID) and waited for when t ends; its output is logged if t failed.
func start(t *testing.T, h *netnstest.Host, args ...string) *proc {
	t.Helper()
	return startWith(t, h, nil, args...)
}

// startWith is start with setup (if not nil) applied to the command
// before it starts, e.g. to run it as another user.
func startWith(t *testing.T, h *netnstest.Host, setup func(*exec.Cmd), args ...string) *proc {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), procTimeout)
	cmd := command(ctx, t, args)
	if setup != nil {
		setup(cmd)
	}
	p := &proc{
		desc:   h.Name + ": lanfind " + strings.Join(args, " "),
		cmd:    cmd,
		stdout: newLineBuffer(),
		stderr: newLineBuffer(),
		done:   make(chan struct{}),
	}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := h.Start(t, cmd); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() {
		cmd.Wait() // the exit status is read from cmd.ProcessState
		close(p.done)
	}()
	t.Cleanup(func() {
		defer cancel()
		if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			t.Errorf("%s: kill pid %d: %v", p.desc, cmd.Process.Pid, err)
		}
		state := "still running"
		select {
		case <-p.done:
			state = cmd.ProcessState.String()
		case <-time.After(waitTimeout):
			t.Errorf("%s: pid %d still running %v after SIGKILL", p.desc, cmd.Process.Pid, waitTimeout)
		}
		checkCrash(t, p.desc, p.stderr.String())
		if t.Failed() {
			t.Logf("%s (%s)\nstdout:\n%s\nstderr:\n%s", p.desc, state, p.stdout, p.stderr)
		}
	})
	return p
}

// checkCrash fails t if stderr shows a panic or a data race.
func checkCrash(t *testing.T, desc, stderr string) {
	t.Helper()
	for _, bad := range []string{"WARNING: DATA RACE", "panic:", "fatal error:"} {
		if strings.Contains(stderr, bad) {
			t.Errorf("%s: stderr has %q:\n%s", desc, bad, stderr)
		}
	}
}

// signal sends sig to the process.
func (p *proc) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("%s: send %v: %v", p.desc, sig, err)
	}
}

// wait waits for the process to exit and returns its exit code, -1 if a
// signal killed it.
func (p *proc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(waitTimeout):
		t.Fatalf("%s: still running after %v", p.desc, waitTimeout)
		return 0
	}
}

// waitLine waits until b has a complete line at index from or later that
// match accepts, and returns its index and text. It fails t after
// waitTimeout, or when the process exits without printing one.
func (p *proc) waitLine(t *testing.T, b *lineBuffer, from int, what string, match func(string) bool) (int, string) {
	t.Helper()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	exited := false
	for {
		lines, changed := b.lines()
		for i := from; i < len(lines); i++ {
			if match(lines[i]) {
				return i, lines[i]
			}
		}
		if exited {
			t.Fatalf("%s: exited (%v) without printing %s", p.desc, p.cmd.ProcessState, what)
		}
		select {
		case <-changed:
		case <-p.done:
			exited = true // look once more: Wait returns after the output is copied
		case <-timer.C:
			t.Fatalf("%s: got no %s within %v", p.desc, what, waitTimeout)
		}
	}
}

// waitLog waits for a log record with message msg on stderr.
func (p *proc) waitLog(t *testing.T, msg string) string {
	t.Helper()
	_, line := p.waitLine(t, p.stderr, 0, fmt.Sprintf("log message %q", msg),
		func(s string) bool { return isLog(s, msg) })
	return line
}

// isLog reports whether line is a log record with message msg, written by
// slog's text handler (msg=… or msg="…") or as lanfind's own diagnostics
// ("lanfind: msg …", "lanfind: debug: msg …").
func isLog(line, msg string) bool {
	if slices.Contains(strings.Fields(line), "msg="+msg) || strings.Contains(line, ` msg="`+msg+`"`) {
		return true
	}
	rest, ok := strings.CutPrefix(line, "lanfind: ")
	if !ok {
		return false
	}
	for _, level := range []string{"debug: ", "warning: ", "error: "} {
		if r, ok := strings.CutPrefix(rest, level); ok {
			rest = r
			break
		}
	}
	return rest == msg || strings.HasPrefix(rest, msg+" ")
}

// nextLine returns the next stdout line not yet returned.
func (p *proc) nextLine(t *testing.T, what string) string {
	t.Helper()
	i, line := p.waitLine(t, p.stdout, p.next, what, func(string) bool { return true })
	p.next = i + 1
	return line
}

// event is one line of "lanfind watch --json".
type event struct {
	Event   string  `json:"event"`
	Reason  string  `json:"reason"`
	Service service `json:"service"`
}

func (e event) String() string {
	s := e.Event
	if e.Reason != "" {
		s += " (" + e.Reason + ")"
	}
	return fmt.Sprintf("%s %s %s@%s:%d on %s", s, e.Service.Instance, e.Service.Name, e.Service.Addr, e.Service.Port, e.Service.Iface)
}

// nextEvent returns the next event a "watch --json" process printed.
func (p *proc) nextEvent(t *testing.T) event {
	t.Helper()
	line := p.nextLine(t, "event")
	var ev event
	if err := json.Unmarshal([]byte(line), &ev); err != nil {
		t.Fatalf("%s: event %q: %v", p.desc, line, err)
	}
	return ev
}

// expectEvent reads the next event and fails t unless it is kind (with
// reason, for down events) of the service named name.
func (p *proc) expectEvent(t *testing.T, kind, reason, name string) event {
	t.Helper()
	ev := p.nextEvent(t)
	if ev.Event != kind || ev.Reason != reason || ev.Service.Name != name {
		want := kind
		if reason != "" {
			want += " (" + reason + ")"
		}
		t.Fatalf("%s: got event %s, want %s of %s", p.desc, ev, want, name)
	}
	return ev
}

// startAnnouncer starts "lanfind announce" with args in h and returns once
// it announces (its socket is bound and it answers queries).
func startAnnouncer(t *testing.T, h *netnstest.Host, args ...string) *proc {
	t.Helper()
	p := start(t, h, append([]string{"announce"}, args...)...)
	p.waitLog(t, "announcing")
	return p
}

// startWatch starts "lanfind watch -v" with args in h and returns once it
// has sent its first query (its sockets are bound).
func startWatch(t *testing.T, h *netnstest.Host, args ...string) *proc {
	t.Helper()
	p := start(t, h, append([]string{"watch", "-v"}, args...)...)
	p.waitLog(t, "sent query")
	return p
}

// result is what a one-shot command did.
type result struct {
	desc    string
	stdout  string
	stderr  string
	code    int
	elapsed time.Duration
}

// runIn runs lanfind with args in h to completion.
func runIn(t *testing.T, h *netnstest.Host, args ...string) result {
	t.Helper()
	return runInWith(t, h, nil, args...)
}

// runInWith is runIn with setup (if not nil) applied to the command before
// it starts.
func runInWith(t *testing.T, h *netnstest.Host, setup func(*exec.Cmd), args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), cmdTimeout)
	defer cancel()
	cmd := command(ctx, t, args)
	if setup != nil {
		setup(cmd)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	r := result{desc: h.Name + ": lanfind " + strings.Join(args, " ")}
	begin := time.Now()
	if err := h.Start(t, cmd); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	r.elapsed = time.Since(begin)
	r.stdout, r.stderr = stdout.String(), stderr.String()
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("%s: still running after %v\nstderr:\n%s", r.desc, cmdTimeout, r.stderr)
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("%s: %v", r.desc, err)
	}
	t.Logf("%s: exit %d in %v", r.desc, r.code, r.elapsed.Round(time.Millisecond))
	checkCrash(t, r.desc, r.stderr)
	return r
}

// runCode runs lanfind with args in h and fails t unless it exits with
// code want.
func runCode(t *testing.T, h *netnstest.Host, want int, args ...string) result {
	t.Helper()
	r := runIn(t, h, args...)
	if r.code != want {
		t.Fatalf("%s: got exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.desc, r.code, want, r.stdout, r.stderr)
	}
	return r
}

// service is one instance in "list --json", "resolve --json" and watch
// events: the CLI's documented JSON form, declared here so that a renamed
// field fails the tests.
type service struct {
	Name       string            `json:"name"`
	Type       string            `json:"type"`
	Port       int               `json:"port"`
	Addr       string            `json:"addr"`
	Addrs      []string          `json:"addrs"`
	Iface      string            `json:"iface"`
	Host       string            `json:"host"`
	Instance   string            `json:"instance"`
	Meta       map[string]string `json:"meta"`
	TTLSeconds float64           `json:"ttl_seconds"`
	LastSeen   string            `json:"last_seen"`
	Seen       []seenPath        `json:"seen"`
	Conflict   bool              `json:"conflict"`
	Verified   bool              `json:"verified"`
	Source     string            `json:"source"`
	Proto      string            `json:"proto"`
}

type seenPath struct {
	Iface  string `json:"iface"`
	Addr   string `json:"addr"`
	Family string `json:"family"`
}

// list runs "lanfind list --json" with args in h, requires exit code 0 and
// returns the services.
func list(t *testing.T, h *netnstest.Host, args ...string) []service {
	t.Helper()
	r := runCode(t, h, 0, append([]string{"list", "--json"}, args...)...)
	return decodeList(t, r)
}

func decodeList(t *testing.T, r result) []service {
	t.Helper()
	var ss []service
	if err := json.Unmarshal([]byte(r.stdout), &ss); err != nil {
		t.Fatalf("%s: %v in output %q", r.desc, err, r.stdout)
	}
	return ss
}

// names returns the services' names in order.
func names(ss []service) []string {
	out := []string{}
	for _, s := range ss {
		out = append(out, s.Name)
	}
	return out
}

var statRE = regexp.MustCompile(`\b([a-z_]+)=([0-9]+)\b`)

// stats returns the counters of the "stats" log record a -v run of list,
// resolve or watch printed on stderr.
func stats(t *testing.T, desc, stderr string) map[string]uint64 {
	t.Helper()
	for line := range strings.Lines(stderr) {
		line = strings.TrimSuffix(line, "\n")
		if !isLog(line, "stats") {
			continue
		}
		m := map[string]uint64{}
		for _, kv := range statRE.FindAllStringSubmatch(line, -1) {
			n, err := strconv.ParseUint(kv[2], 10, 64)
			if err != nil {
				t.Fatalf("%s: stats line %q: %v", desc, line, err)
			}
			m[kv[1]] = n
		}
		return m
	}
	t.Fatalf("%s: no stats log record in stderr:\n%s", desc, stderr)
	return nil
}

// tapped is one lanfind datagram a tap received, or the error that ended it.
type tapped struct {
	b   beacon.Beacon
	src netip.AddrPort
	dst netip.Addr // broadcast, group or unicast destination
	err error
}

// startTap listens in h on the lanfind port, joined to the default group on
// eth0, and delivers every lanfind datagram it receives, with its
// destination address, on the returned channel until t ends.
func startTap(t *testing.T, h *netnstest.Host) <-chan tapped {
	t.Helper()
	c, err := udp.Listen(t.Context(), netip.AddrPortFrom(netip.IPv4Unspecified(), beacon.DefaultPort),
		udp.Options{ListenPacket: h.ListenPacket})
	if err != nil {
		t.Fatal(err)
	}
	all, err := h.Lister(t).Interfaces()
	if err != nil {
		c.Close()
		t.Fatal(err)
	}
	joined := false
	for _, ifc := range all {
		if ifc.Name == "eth0" {
			if err := c.JoinGroup(ifc.Index, beacon.DefaultGroup); err != nil {
				c.Close()
				t.Fatal(err)
			}
			joined = true
		}
	}
	if !joined {
		c.Close()
		t.Fatalf("%s: no eth0 to join %v on", h.Name, beacon.DefaultGroup)
	}
	ch := make(chan tapped, 1024)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := make([]byte, beacon.MaxSize+1)
		for {
			n, src, m, err := c.ReadFrom(buf)
			if err != nil {
				select {
				case <-stop:
				case ch <- tapped{err: err}:
				}
				return
			}
			b, err := beacon.Parse(buf[:n])
			if err != nil {
				continue // not ours to judge: only lanfind processes send here
			}
			select {
			case ch <- tapped{b: b, src: src, dst: m.Dst}:
			case <-stop:
				return
			}
		}
	})
	t.Cleanup(func() {
		close(stop)
		c.Close()
		wg.Wait()
	})
	return ch
}
