//go:build linux

// Package mdnslab runs real mDNS implementations inside hosts of the
// namespace lab (internal/netnstest): avahi-daemon with a private D-Bus,
// avahi-browse against that bus, and python-zeroconf scripts. Lab tests of
// the mDNS querier and responder use it to check lanfind against peers it
// did not write. It is a test helper: it imports testing and must not be
// imported by production code.
//
// Each avahi-daemon runs in a private mount namespace (unshare -m) of its
// lab host, as the avahi user as in a real installation (its sockets then
// share port 5353 with a test's root sockets through SO_REUSEADDR but not
// in one SO_REUSEPORT group), with a tmpfs on /run/avahi-daemon (its PID
// file and socket)
// and a temporary directory bind-mounted on /etc/avahi/services (its static
// services), a configuration file that allows only eth0 and IPv4, and its
// own dbus-daemon listening on a socket in the test's temporary directory.
// Nothing is shared with the machine's own Avahi or D-Bus, and nothing is
// sent outside the lab.
package mdnslab

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanfind/lanfind/internal/netnstest"
	"github.com/lanfind/lanfind/internal/requiretest"
)

// Service is a static Avahi service.
type Service struct {
	Name string // instance label
	Type string // "_ipp._tcp"
	Port int
	TXT  []string
}

// Avahi is an avahi-daemon running in a lab host.
type Avahi struct {
	Host *netnstest.Host
	// Bus is the D-Bus address of its private bus.
	Bus string
	dir string
	log *Lines
}

const busConf = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
`

const avahiConf = `[server]
host-name=%s
domain-name=local
use-ipv4=%s
use-ipv6=%s
allow-interfaces=eth0
enable-dbus=yes
ratelimit-interval-usec=1000000
ratelimit-burst=1000
[wide-area]
enable-wide-area=no
[publish]
publish-hinfo=no
publish-workstation=no
publish-aaaa-on-ipv4=no
[reflector]
[rlimits]
`

// StartAvahi starts dbus-daemon and avahi-daemon (host name hostName) in
// h, publishing services, and waits until Avahi says its startup is
// complete. Cleanup stops both.
func StartAvahi(t testing.TB, h *netnstest.Host, hostName string, services ...Service) *Avahi {
	t.Helper()
	return startAvahi(t, h, hostName, "yes", "no", services)
}

// StartAvahi6 is StartAvahi with Avahi on IPv6 only (ff02::fb).
func StartAvahi6(t testing.TB, h *netnstest.Host, hostName string, services ...Service) *Avahi {
	t.Helper()
	return startAvahi(t, h, hostName, "no", "yes", services)
}

func startAvahi(t testing.TB, h *netnstest.Host, hostName, v4, v6 string, services []Service) *Avahi {
	t.Helper()
	requiretest.Need(t, "avahi-daemon", "dbus-daemon", "unshare")
	dir := t.TempDir()
	// avahi-daemon, no longer root, reaches the bus socket and reads its
	// services under dir.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bus := filepath.Join(dir, "bus")
	write(t, filepath.Join(dir, "bus.conf"), fmt.Sprintf(busConf, bus))
	write(t, filepath.Join(dir, "avahi.conf"), fmt.Sprintf(avahiConf, hostName, v4, v6))
	if err := os.Mkdir(filepath.Join(dir, "services"), 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range services {
		write(t, filepath.Join(dir, "services", fmt.Sprintf("s%d.service", i)), serviceFile(s))
	}
	dbus := exec.Command("dbus-daemon", "--config-file="+filepath.Join(dir, "bus.conf"), "--nofork", "--nopidfile")
	if err := h.Start(t, dbus); err != nil {
		t.Fatal(err)
	}
	go dbus.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(bus); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("mdnslab: %s: dbus-daemon made no socket", h.Name)
		}
		time.Sleep(10 * time.Millisecond)
	}
	a := &Avahi{Host: h, Bus: "unix:path=" + bus, dir: dir}
	script := `set -e
mkdir -p /run/avahi-daemon
mount -t tmpfs tmpfs /run/avahi-daemon
mount --bind "$1/services" /etc/avahi/services
chown avahi: /run/avahi-daemon
exec avahi-daemon -f "$1/avahi.conf" --no-chroot --no-rlimits --no-proc-title --debug`
	cmd := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", dir)
	cmd.Env = append(os.Environ(), "DBUS_SYSTEM_BUS_ADDRESS="+a.Bus)
	a.log = Pipe(t, h, cmd, true)
	if _, err := a.log.Wait(15*time.Second, "Server startup complete"); err != nil {
		t.Fatalf("mdnslab: %s: avahi-daemon: %v\n%s", h.Name, err, a.log.All())
	}
	return a
}

func write(t testing.TB, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func serviceFile(s Service) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" standalone='no'?>
<!DOCTYPE service-group SYSTEM "avahi-service.dtd">
<service-group>
`)
	fmt.Fprintf(&b, "  <name>%s</name>\n  <service>\n    <type>%s</type>\n    <port>%d</port>\n",
		html.EscapeString(s.Name), html.EscapeString(s.Type), s.Port)
	for _, r := range s.TXT {
		fmt.Fprintf(&b, "    <txt-record>%s</txt-record>\n", html.EscapeString(r))
	}
	b.WriteString("  </service>\n</service-group>\n")
	return b.String()
}

// Browse runs avahi-browse with args (for example "-rpt", "_http._tcp")
// against a's bus, in a's host, and returns its output.
func (a *Avahi) Browse(t testing.TB, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "avahi-browse", args...)
	cmd.Env = append(os.Environ(), "DBUS_SYSTEM_BUS_ADDRESS="+a.Bus)
	var out strings.Builder
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := a.Host.Start(t, cmd); err != nil {
		return "", err
	}
	err := cmd.Wait()
	return out.String(), err
}

// StartBrowse starts a continuous avahi-browse with args against a's bus
// and returns its output lines.
func (a *Avahi) StartBrowse(t testing.TB, args ...string) *Lines {
	t.Helper()
	cmd := exec.Command("avahi-browse", args...)
	cmd.Env = append(os.Environ(), "DBUS_SYSTEM_BUS_ADDRESS="+a.Bus)
	return Pipe(t, a.Host, cmd, false)
}

// Log returns avahi-daemon's output so far.
func (a *Avahi) Log() string { return a.log.All() }

// Python starts /usr/bin/python3 with script and args in h and returns
// its output lines (stdout and stderr). Cleanup kills it.
func Python(t testing.TB, h *netnstest.Host, script string, args ...string) *Lines {
	t.Helper()
	requiretest.Need(t, "/usr/bin/python3")
	cmd := exec.Command("/usr/bin/python3", append([]string{"-u", "-c", script}, args...)...)
	return Pipe(t, h, cmd, true)
}

// Lines collects a process's output lines with their arrival times.
type Lines struct {
	// mu guards lines and at; cond signals a new line.
	mu    sync.Mutex
	cond  *sync.Cond
	lines []string
	at    []time.Time
	done  bool
	Cmd   *exec.Cmd
	stdin io.WriteCloser
}

// Pipe starts cmd in h and collects its stdout (and stderr if both).
func Pipe(t testing.TB, h *netnstest.Host, cmd *exec.Cmd, both bool) *Lines {
	t.Helper()
	r, w := io.Pipe()
	cmd.Stdout = w
	if both {
		cmd.Stderr = w
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	l := &Lines{Cmd: cmd, stdin: stdin}
	l.cond = sync.NewCond(&l.mu)
	if err := h.Start(t, cmd); err != nil {
		t.Fatal(err)
	}
	go func() {
		cmd.Wait()
		w.Close()
	}()
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			l.mu.Lock()
			l.lines = append(l.lines, sc.Text())
			l.at = append(l.at, time.Now())
			l.cond.Broadcast()
			l.mu.Unlock()
		}
		l.mu.Lock()
		l.done = true
		l.cond.Broadcast()
		l.mu.Unlock()
	}()
	return l
}

// CloseStdin closes the process's standard input.
func (l *Lines) CloseStdin() error { return l.stdin.Close() }

// Wait waits up to d for a line containing substr and returns it with
// its arrival time.
func (l *Lines) Wait(d time.Duration, substr string) (time.Time, error) {
	return l.WaitFrom(0, d, substr)
}

// Len returns the number of lines so far.
func (l *Lines) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.lines)
}

// WaitFrom is Wait looking only at lines from index from on.
func (l *Lines) WaitFrom(from int, d time.Duration, substr string) (time.Time, error) {
	deadline := time.Now().Add(d)
	timer := time.AfterFunc(d, func() {
		l.mu.Lock()
		l.cond.Broadcast()
		l.mu.Unlock()
	})
	defer timer.Stop()
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := from; ; {
		for ; i < len(l.lines); i++ {
			if strings.Contains(l.lines[i], substr) {
				return l.at[i], nil
			}
		}
		if l.done {
			return time.Time{}, fmt.Errorf("no line with %q before the process ended", substr)
		}
		if !time.Now().Before(deadline) {
			return time.Time{}, fmt.Errorf("no line with %q within %v", substr, d)
		}
		l.cond.Wait()
	}
}

// All returns every line so far, joined.
func (l *Lines) All() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// Resolved is one "=" line of avahi-browse -p output.
type Resolved struct {
	Iface, Name, Type, Host, Addr, Port string
	TXT                                 string
}

// ParseBrowse returns the resolved ("=") lines of avahi-browse -rp output,
// with names unescaped (avahi-browse writes \DDD for special bytes).
func ParseBrowse(out string) []Resolved {
	var rs []Resolved
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(line, ";")
		if len(f) < 10 || f[0] != "=" {
			continue
		}
		rs = append(rs, Resolved{Iface: f[1], Name: Unescape(f[3]), Type: f[4], Host: f[6], Addr: f[7], Port: f[8], TXT: strings.Join(f[9:], ";")})
	}
	return rs
}

// Unescape undoes avahi's label escaping: \DDD (decimal) and \c.
func Unescape(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 >= len(s) {
			b = append(b, s[i])
			continue
		}
		if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			b = append(b, byte(int(s[i+1]-'0')*100+int(s[i+2]-'0')*10+int(s[i+3]-'0')))
			i += 3
			continue
		}
		b = append(b, s[i+1])
		i++
	}
	return string(b)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
