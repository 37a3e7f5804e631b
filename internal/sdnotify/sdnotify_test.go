package sdnotify

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lanfind/lanfind/internal/clilog"
)

// listen opens a unixgram socket at name (a path or "@abstract") as
// systemd's NOTIFY_SOCKET, points NOTIFY_SOCKET at it and returns a
// function that returns the next datagram.
func listen(t *testing.T, name string) func() string {
	t.Helper()
	l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	t.Setenv("NOTIFY_SOCKET", name)
	return func() string {
		t.Helper()
		l.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 256)
		k, err := l.Read(buf)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		return string(buf[:k])
	}
}

// TestNotifier sends states to unixgram sockets the test owns, by path
// and by abstract name, as systemd's NOTIFY_SOCKET names them.
func TestNotifier(t *testing.T) {
	for _, tc := range []struct{ name, socket string }{
		{"path", filepath.Join(t.TempDir(), "notify")},
		{"abstract", "@lanfind-test-notify-" + strconv.Itoa(os.Getpid())},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "abstract" && runtime.GOOS != "linux" {
				t.Skip("abstract unix sockets are Linux only")
			}
			next := listen(t, tc.socket)
			var logs bytes.Buffer
			n := New(debugLog(t, &logs))
			n.Ready("announcing 3 services")
			if got, want := next(), "READY=1\nSTATUS=announcing 3 services"; got != want {
				t.Fatalf("ready: got %q, want %q", got, want)
			}
			// RELOADING=1 carries CLOCK_MONOTONIC in microseconds, as
			// Type=notify-reload (systemd 253 and later) requires.
			var last uint64
			for range 2 {
				n.Reloading()
				got := next()
				rest, ok := strings.CutPrefix(got, "RELOADING=1\nMONOTONIC_USEC=")
				usec, err := strconv.ParseUint(strings.TrimSuffix(rest, "\n"), 10, 64)
				if !ok || err != nil || usec < last {
					t.Fatalf("reloading: got %q, want RELOADING=1 and a MONOTONIC_USEC not before %d", got, last)
				}
				last = usec
			}
			n.Stopping()
			if got := next(); got != "STOPPING=1" {
				t.Fatalf("stopping: got %q", got)
			}
		})
	}
}

// TestWatchdog pings at half of WATCHDOG_USEC, and not at all without it
// or when WATCHDOG_PID names another process.
func TestWatchdog(t *testing.T) {
	next := listen(t, filepath.Join(t.TempDir(), "notify"))
	var logs bytes.Buffer
	n := New(debugLog(t, &logs))
	t.Setenv("WATCHDOG_USEC", "200000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	stop := n.Watchdog(context.Background())
	start := time.Now()
	for range 3 {
		if got := next(); got != "WATCHDOG=1" {
			t.Fatalf("got %q, want WATCHDOG=1", got)
		}
	}
	stop()
	// Three pings: at once, then every 100ms.
	if d := time.Since(start); d < 150*time.Millisecond || d > 2*time.Second {
		t.Errorf("three pings took %v, want about 200ms (every half of WatchdogSec=200ms)", d)
	}
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()+1))
	n.Watchdog(context.Background())() // another process's watchdog: nothing
	n.Ready("x")
	if got := next(); got != "READY=1\nSTATUS=x" {
		t.Fatalf("after a watchdog for another PID: got %q, want only READY=1", got)
	}
}

// TestNotifierFailures checks that a missing or unreachable NOTIFY_SOCKET
// costs at most a warning, never an error or a hang.
func TestNotifierFailures(t *testing.T) {
	var logs bytes.Buffer
	log := debugLog(t, &logs)
	t.Setenv("NOTIFY_SOCKET", "")
	New(log).Ready("x") // no service manager: silent
	if logs.Len() != 0 {
		t.Fatalf("without NOTIFY_SOCKET: got logs %q, want none", logs.String())
	}
	t.Setenv("NOTIFY_SOCKET", filepath.Join(t.TempDir(), "nobody"))
	New(log).Ready("x")
	if !strings.HasPrefix(logs.String(), "lanfind: warning: notify the service manager") {
		t.Fatalf("socket nobody listens on: got logs %q, want a warning", logs.String())
	}
}

// TestStderrIsJournal sets JOURNAL_STREAM to stderr's device and inode,
// as systemd does for a service whose output goes to the journal.
func TestStderrIsJournal(t *testing.T) {
	t.Setenv("JOURNAL_STREAM", "")
	if StderrIsJournal() {
		t.Fatal("without JOURNAL_STREAM: got true")
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(os.Stderr.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	t.Setenv("JOURNAL_STREAM", fmt.Sprintf("%d:%d", st.Dev, st.Ino))
	if !StderrIsJournal() {
		t.Fatal("JOURNAL_STREAM naming stderr: got false")
	}
	t.Setenv("JOURNAL_STREAM", fmt.Sprintf("%d:%d", st.Dev, st.Ino+1))
	if StderrIsJournal() {
		t.Fatal("JOURNAL_STREAM naming another file: got true")
	}
}

// debugLog returns lanfind's text logger on w at debug level.
func debugLog(t *testing.T, w io.Writer) *slog.Logger {
	t.Helper()
	log, err := clilog.New(w, "text", slog.LevelDebug)
	if err != nil {
		t.Fatal(err)
	}
	return log
}
