package discover_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lanfind/lanfind/announce"
	"github.com/lanfind/lanfind/internal/netnstest"
)

// exampleCmd returns a command that runs this test binary as the example
// name only (see TestMain). Started in a lab host, the example runs exactly
// as written, with the default lister and sockets, in that host.
func exampleCmd(t *testing.T, name string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), exe)
	cmd.Env = append(os.Environ(), "LANFIND_EXAMPLE="+name, "GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0")
	cmd.WaitDelay = time.Second
	return cmd
}

// runExample runs the example name in h to completion and returns its
// stdout; it fails t unless the example exits 0 within 10 seconds.
func runExample(t *testing.T, h *netnstest.Host, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	cmd := exampleCmd(t, name)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := h.Start(t, cmd); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v\nstderr:\n%s", name, err, stderr.String())
		}
	case <-ctx.Done():
		cmd.Process.Kill()
		<-done
		t.Fatalf("%s: still running after 10s\nstderr:\n%s", name, stderr.String())
	}
	return stdout.String()
}

// announceIn announces svcs from h until t ends.
func announceIn(t *testing.T, h *netnstest.Host, svcs ...announce.Service) {
	t.Helper()
	s, err := announce.New(announce.Config{Services: svcs, ListenPacket: h.ListenPacket, Lister: h.Lister(t)})
	if err != nil {
		t.Fatalf("announce.New on %s: %v", h.Name, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run on %s: %v", h.Name, err)
		}
		s.Close()
	})
}

// TestNSExamples runs the examples of this package as they are written, in
// a namespace lab where another host announces services, and checks what
// they print.
func TestNSExamples(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, 2)
	h0, h1 := lab.Hosts[0], lab.Hosts[1]
	announceIn(t, h1,
		announce.Service{Name: "db", Type: "postgres", Port: 5432},
		announce.Service{Name: "web", Type: "http", Port: 8080})
	a1 := h1.Addr("eth0")

	if got, want := runExample(t, h0, "ExampleListener_Resolve"), fmt.Sprintf("%v:5432\n", a1); got != want {
		t.Errorf("ExampleListener_Resolve: got %q, want %q", got, want)
	}
	if got, want := runExample(t, h0, "ExampleListener_Collect"), fmt.Sprintf("db postgres %v:5432\nweb http %v:8080\n", a1, a1); got != want {
		t.Errorf("ExampleListener_Collect: got %q, want %q", got, want)
	}

	// Run prints changes until SIGTERM.
	cmd := exampleCmd(t, "ExampleListener_Run")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := h0.Start(t, cmd); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	select {
	case l := <-lines:
		if want := fmt.Sprintf("up  web %v:8080", a1); l != want {
			t.Fatalf("ExampleListener_Run: got %q, want %q", l, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("ExampleListener_Run: printed nothing within 5s\nstderr:\n%s", stderr.String())
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(5 * time.Second)
	for closed := false; !closed; { // until the example exits, closing stdout
		select {
		case l, ok := <-lines:
			if ok {
				t.Errorf("ExampleListener_Run: unexpected line %q", l)
			}
			closed = !ok
		case <-timeout:
			cmd.Process.Kill()
			t.Fatalf("ExampleListener_Run: still running 5s after SIGTERM")
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("ExampleListener_Run after SIGTERM: %v\nstderr:\n%s", err, stderr.String())
	}
}
