package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The lab is a private LAN of named network namespaces: a switch namespace
// holding the bridge, and hosts joined to it by veth pairs. Every namespace
// name starts with nsPrefix, "lfb" and the harness's process ID, so that
// several harnesses can run at once and a crashed run's leftovers can be
// told from a running one's and removed. Interface names are private to
// the namespaces and start with prefix.
const (
	prefix = "lfb-"
	bridge = prefix + "br0"
	hostIf = prefix + "eth0" // the host end of each veth, inside the host
	subnet = "10.78.0."      // hosts are 10.78.0.(10+i)/24
	// IPv6-only labs: hosts are fd00:78::(10+i)/64
	subnet6 = "fd00:78::"
)

var (
	nsPrefix = fmt.Sprintf("lfb%d-", os.Getpid())
	switchNS = nsPrefix + "sw"
	// nsName matches the lab namespaces of any harness; group 1 is its
	// process ID.
	nsName = regexp.MustCompile(`^lfb([0-9]+)-`)
)

// Lab is a running lab.
type Lab struct {
	Hosts []*Host

	mu    sync.Mutex
	procs []*Proc // every process started, killed at Close
}

// Host is one namespace of the lab.
type Host struct {
	lab  *Lab
	NS   string     // namespace name
	Name string     // host name given to lanfind (h00, h01, ...)
	Addr netip.Addr // address on hostIf
}

// run runs a command in the root namespace and returns its error with the
// combined output.
func run(args ...string) error {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// cleanupLeftovers kills the processes left in the lab namespaces of this
// harness or of one that no longer runs, and deletes the namespaces. The
// labs of running harnesses are left alone.
func cleanupLeftovers() {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		m := nsName.FindStringSubmatch(f[0])
		if m == nil {
			continue
		}
		if pid, _ := strconv.Atoi(m[1]); pid != os.Getpid() && syscall.Kill(pid, 0) == nil {
			continue // another harness's lab
		}
		if pids, err := exec.Command("ip", "netns", "pids", f[0]).Output(); err == nil {
			for p := range strings.FieldsSeq(string(pids)) {
				if pid, err := strconv.Atoi(p); err == nil && pid != os.Getpid() {
					syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
		run("ip", "netns", "del", f[0])
	}
}

// NewLab builds a lab of n IPv4 hosts, each with the kernel's link-local
// IPv6 address too (duplicate address detection off).
func NewLab(n int) (*Lab, error) { return newLab(n, false) }

// NewLab6 builds a lab of n IPv6-only hosts: no IPv4 address, a unique
// local address and the link-local one, duplicate address detection off
// so both are usable at once.
func NewLab6(n int) (*Lab, error) { return newLab(n, true) }

func newLab(n int, v6 bool) (*Lab, error) {
	if n > 200 {
		return nil, fmt.Errorf("lab: %d hosts, max 200", n)
	}
	cleanupLeftovers()
	l := &Lab{}
	cmds := [][]string{
		{"ip", "netns", "add", switchNS},
		{"ip", "-n", switchNS, "link", "add", bridge, "type", "bridge", "mcast_snooping", "0"},
		{"ip", "-n", switchNS, "link", "set", bridge, "up"},
	}
	for i := range n {
		h := &Host{lab: l, NS: fmt.Sprintf("%sh%02d", nsPrefix, i), Name: fmt.Sprintf("h%02d", i),
			Addr: netip.MustParseAddr(fmt.Sprintf("%s%d", subnet, 10+i))}
		if v6 {
			h.Addr = netip.MustParseAddr(fmt.Sprintf("%s%x", subnet6, 10+i))
		}
		l.Hosts = append(l.Hosts, h)
		sw := fmt.Sprintf("%ss%02d", prefix, i)
		cmds = append(cmds,
			[]string{"ip", "netns", "add", h.NS},
			[]string{"ip", "link", "add", sw, "netns", switchNS, "type", "veth", "peer", "name", hostIf, "netns", h.NS},
			[]string{"ip", "-n", switchNS, "link", "set", sw, "master", bridge, "up"},
			[]string{"ip", "-n", h.NS, "link", "set", "lo", "up"},
		)
		if v6 {
			cmds = append(cmds,
				[]string{"ip", "netns", "exec", h.NS, "sh", "-c",
					"echo 0 > /proc/sys/net/ipv6/conf/" + hostIf + "/accept_dad"},
				[]string{"ip", "-n", h.NS, "addr", "add", h.Addr.String() + "/64",
					"dev", hostIf, "nodad"},
				[]string{"ip", "-n", h.NS, "link", "set", hostIf, "up"},
			)
			continue
		}
		// The kernel's link-local IPv6 address is usable at once (no
		// duplicate address detection), as on a host up for a while:
		// with detection it appeared a second or two after the link, so
		// the first measurements ran IPv4-only and an announcer started
		// at once sent the burst of an interface gaining an address.
		cmds = append(cmds,
			[]string{"ip", "netns", "exec", h.NS, "sh", "-c",
				"echo 0 > /proc/sys/net/ipv6/conf/" + hostIf + "/accept_dad"},
			[]string{"ip", "-n", h.NS, "addr", "add", h.Addr.String() + "/24", "brd", "+", "dev", hostIf},
			[]string{"ip", "-n", h.NS, "link", "set", hostIf, "up"},
			[]string{"ip", "-n", h.NS, "route", "add", "224.0.0.0/4", "dev", hostIf},
		)
	}
	for _, c := range cmds {
		if err := run(c...); err != nil {
			l.Close()
			return nil, fmt.Errorf("lab: %w", err)
		}
	}
	return l, nil
}

// Close kills every process the lab started and deletes its namespaces.
func (l *Lab) Close() {
	l.mu.Lock()
	procs := l.procs
	l.procs = nil
	l.mu.Unlock()
	for _, p := range procs {
		p.Kill()
	}
	for _, p := range procs {
		p.Wait(5 * time.Second)
	}
	for _, h := range l.Hosts {
		run("ip", "netns", "del", h.NS)
	}
	run("ip", "netns", "del", switchNS)
}

// Do runs fn on a thread that has entered h's namespace. Sockets and
// processes fn creates belong to h. If the thread cannot return to the
// original namespace it is discarded.
func (h *Host) Do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer unix.Close(orig)
		target, err := unix.Open("/run/netns/"+h.NS, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer unix.Close(target)
		if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("setns %s: %w", h.NS, err)
			return
		}
		ferr := fn()
		if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
			errc <- errors.Join(ferr, fmt.Errorf("setns back: %w", err))
			return // still locked: the runtime ends the thread
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// Cmd runs a command inside h with `ip netns exec` (for setup tools).
func (h *Host) Cmd(args ...string) error {
	return run(append([]string{"ip", "netns", "exec", h.NS}, args...)...)
}

// Snmp returns the Udp counters of h's namespace from /proc/net/snmp.
func (h *Host) Snmp() (map[string]int64, error) {
	var b []byte
	err := h.Do(func() (err error) {
		b, err = os.ReadFile("/proc/thread-self/net/snmp")
		return err
	})
	if err != nil {
		return nil, err
	}
	var keys []string
	out := map[string]int64{}
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "Udp:" {
			continue
		}
		if keys == nil {
			keys = f[1:]
			continue
		}
		for i, v := range f[1:] {
			if i < len(keys) {
				out[keys[i]], _ = strconv.ParseInt(v, 10, 64)
			}
		}
	}
	return out, nil
}

// Proc is a process started in a lab host.
type Proc struct {
	Cmd   *exec.Cmd
	Label string
	Start time.Time

	ready     chan struct{} // closed when stderr shows readyMark
	readyOnce sync.Once
	lines     chan Line // stdout lines, when asked for
	done      chan struct{}
	waitErr   error

	mu   sync.Mutex
	tail []string // last stderr lines
}

// Line is one line of output with the time it was read.
type Line struct {
	At   time.Time
	Text string
}

// StartOpts are options for Host.Start.
type StartOpts struct {
	ReadyMark string   // stderr substring that marks the process ready
	Lines     bool     // deliver stdout lines on Proc.Lines
	Env       []string // added to the environment
	// OwnMounts gives the process a private mount namespace (for
	// daemons that bind-mount their own runtime directories).
	OwnMounts bool
}

// Start starts bin with args inside h. The process is killed when the
// harness dies (Pdeathsig) and at Lab.Close.
func (h *Host) Start(bin string, args []string, o StartOpts) (*Proc, error) {
	p := &Proc{Label: h.Name + " " + strings.Join(args[:min(2, len(args))], " "),
		ready: make(chan struct{}), done: make(chan struct{})}
	p.Cmd = exec.Command(bin, args...)
	p.Cmd.Env = append(childEnv(), o.Env...)
	p.Cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if o.OwnMounts {
		p.Cmd.SysProcAttr.Unshareflags = syscall.CLONE_NEWNS // and Go makes / private
	}
	stderr, err := p.Cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	var stdout io.ReadCloser
	if o.Lines {
		if stdout, err = p.Cmd.StdoutPipe(); err != nil {
			return nil, err
		}
		p.lines = make(chan Line, 4096)
	}
	err = h.Do(func() error {
		p.Start = time.Now()
		return p.Cmd.Start()
	})
	if err != nil {
		return nil, fmt.Errorf("%s: start: %w", p.Label, err)
	}
	h.lab.mu.Lock()
	h.lab.procs = append(h.lab.procs, p)
	h.lab.mu.Unlock()

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			t := sc.Text()
			if o.ReadyMark != "" && strings.Contains(t, o.ReadyMark) {
				p.readyOnce.Do(func() { close(p.ready) })
			}
			p.mu.Lock()
			if len(p.tail) >= 20 {
				p.tail = p.tail[1:]
			}
			p.tail = append(p.tail, t)
			p.mu.Unlock()
		}
	}()
	if o.Lines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(p.lines)
			sc := bufio.NewScanner(stdout)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			for sc.Scan() {
				select {
				case p.lines <- Line{time.Now(), sc.Text()}:
				default: // the reader fell 4096 lines behind: count it as lost
					lostLines.Add(1)
				}
			}
		}()
	}
	go func() {
		wg.Wait() // pipes first, as os/exec requires
		p.waitErr = p.Cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// childEnv is the environment of lab processes: ours without LANFIND_*.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LANFIND_") {
			env = append(env, kv)
		}
	}
	return append(env, "NO_COLOR=1")
}

// Lines returns the stdout lines channel (nil unless asked for).
func (p *Proc) Lines() <-chan Line { return p.lines }

// Ready waits up to d for the ready mark.
func (p *Proc) Ready(d time.Duration) error {
	select {
	case <-p.ready:
		return nil
	case <-p.done:
		return fmt.Errorf("%s exited before it was ready: %v; stderr: %s", p.Label, p.waitErr, p.Tail())
	case <-time.After(d):
		return fmt.Errorf("%s not ready within %v; stderr: %s", p.Label, d, p.Tail())
	}
}

// Tail returns the last stderr lines.
func (p *Proc) Tail() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.tail, " | ")
}

// Signal sends sig to the process unless it has exited.
func (p *Proc) Signal(sig syscall.Signal) {
	select {
	case <-p.done:
	default:
		p.Cmd.Process.Signal(sig)
	}
}

// Kill kills the process.
func (p *Proc) Kill() { p.Signal(syscall.SIGKILL) }

// Wait waits up to d for the process to exit and reports whether it did.
func (p *Proc) Wait(d time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(d):
		return false
	}
}

// Pid returns the process ID.
func (p *Proc) Pid() int { return p.Cmd.Process.Pid }

// Timed runs bin with args inside h and returns its wall time (from just
// before fork to exit, so process start is included) and stdout.
func (h *Host) Timed(ctx context.Context, bin string, args ...string) (time.Duration, []byte, error) {
	return h.TimedEnv(ctx, nil, bin, args...)
}

// TimedEnv is Timed with env added to the environment.
func (h *Host) TimedEnv(ctx context.Context, env []string, bin string, args ...string) (time.Duration, []byte, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(childEnv(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	var t0 time.Time
	if err := h.Do(func() error {
		t0 = time.Now()
		return cmd.Start()
	}); err != nil {
		return 0, nil, err
	}
	err := cmd.Wait()
	wall := time.Since(t0)
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 { // 1: nothing found, a valid outcome
			return wall, stdout.Bytes(), fmt.Errorf("%s %s: %v: %s", h.Name, strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
		}
	}
	return wall, stdout.Bytes(), nil
}

// procStat returns a process's RSS in bytes and its cumulative CPU time.
func procStat(pid int) (rss int64, cpu time.Duration, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			kb, _ := strconv.ParseInt(f[0], 10, 64)
			rss = kb << 10
		}
	}
	b, err = os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// Fields after the command name, which is in parentheses.
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return rss, 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64) // field 14
	st, _ := strconv.ParseInt(f[12], 10, 64) // field 15
	const clkTck = 100                       // USER_HZ on Linux
	return rss, time.Duration(ut+st) * time.Second / clkTck, nil
}
