package sdnotify

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/lanfind/lanfind/internal/clilog"
)

// TestNotifier sends states to unixgram sockets the test owns, by path
// and by abstract name, as systemd's NOTIFY_SOCKET names them.
func TestNotifier(t *testing.T) {
	for _, tc := range []struct{ name, socket string }{
		{"path", filepath.Join(t.TempDir(), "notify")},
		{"abstract", "@lanfind-test-notify-" + strings.ReplaceAll(t.Name(), "/", "-")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "abstract" && runtime.GOOS != "linux" {
				t.Skip("abstract unix sockets are Linux only")
			}
			l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: tc.socket, Net: "unixgram"})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			var logs bytes.Buffer
			n := New(tc.socket, debugLog(t, &logs))
			ready := "READY=1\nSTATUS=announcing 3 services"
			for _, state := range []string{ready, "RELOADING=1", "STOPPING=1"} {
				n.Notify(state)
				l.SetReadDeadline(time.Now().Add(5 * time.Second))
				buf := make([]byte, 256)
				k, err := l.Read(buf)
				if err != nil {
					t.Fatalf("read %q: %v (logs: %s)", state, err, logs.String())
				}
				if got := string(buf[:k]); got != state {
					t.Fatalf("got datagram %q, want %q", got, state)
				}
			}
		})
	}
}

// TestNotifierFailures checks that a missing or odd NOTIFY_SOCKET costs a
// warning, never an error or a hang.
func TestNotifierFailures(t *testing.T) {
	var logs bytes.Buffer
	log := debugLog(t, &logs)
	New("", log).Notify("READY=1") // no service manager: silent
	if logs.Len() != 0 {
		t.Fatalf("without NOTIFY_SOCKET: got logs %q, want none", logs.String())
	}
	New(filepath.Join(t.TempDir(), "nobody"), log).Notify("READY=1")
	if !strings.HasPrefix(logs.String(), "lanfind: warning: notify the service manager") {
		t.Fatalf("socket nobody listens on: got logs %q, want a warning", logs.String())
	}
	logs.Reset()
	New("vsock:2:1234", log).Notify("READY=1")
	if !strings.Contains(logs.String(), "lanfind: warning: NOTIFY_SOCKET is neither") || strings.Count(logs.String(), "\n") != 1 {
		t.Fatalf("unsupported NOTIFY_SOCKET: got logs %q, want one warning", logs.String())
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
