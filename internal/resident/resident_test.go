package resident_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/lanfind/lanfind/internal/resident"
)

// sockPath returns a socket path in a fresh directory (short: a unix
// socket path has at most 107 bytes).
func sockPath(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "lfres")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return filepath.Join(d, "sub", "serve.sock")
}

func TestListenDialAndRemove(t *testing.T) {
	path := sockPath(t)
	ln, err := resident.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	want := os.FileMode(0o600)
	if os.Geteuid() == 0 {
		want = 0o660
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("socket mode: got %v, want %v", got, want)
	}
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Close()
		}
	}()
	c, p, err := resident.Dial(t.Context(), path)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	c.Close()
	if p.PID != os.Getpid() && p.PID != 0 {
		t.Errorf("peer pid: got %d, want %d (or 0 where unknown)", p.PID, os.Getpid())
	}
	// A second resident on the same path is refused, and leaves the
	// first one's socket.
	if _, err := resident.Listen(path); !errors.Is(err, resident.ErrInUse) {
		t.Errorf("second Listen: got %v, want ErrInUse", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("after the refused Listen: %v", err)
	}
	ln.Close()
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Close: got %v, want the socket removed", err)
	}
}

// TestListenStale: a socket that nothing answers on (its process died)
// is replaced; a file that is not a socket is left alone.
func TestListenStale(t *testing.T) {
	path := sockPath(t)
	ln, err := resident.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close() // as a crash leaves it
	if _, err := os.Lstat(path); err != nil {
		t.Fatalf("stale socket: %v", err)
	}
	if _, _, err := resident.Dial(t.Context(), path); err == nil {
		t.Fatal("Dial to a stale socket succeeded")
	}
	ln, err = resident.Listen(path)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	ln.Close()

	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := resident.Listen(path); err == nil {
		t.Error("Listen over a regular file succeeded")
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the regular file: %v, want it left", err)
	}
	if _, _, err := resident.Dial(t.Context(), path); err == nil {
		t.Error("Dial to a regular file succeeded")
	}
}

// TestCheckOwner: a socket of the calling user or of root passes; one of
// another user does not.
func TestCheckOwner(t *testing.T) {
	path := sockPath(t)
	ln, err := resident.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	uid := os.Geteuid()
	if err := resident.CheckOwner(fi, uid); err != nil {
		t.Errorf("own socket: %v", err)
	}
	if uid != 0 {
		// Owned by uid, checked for another user.
		if err := resident.CheckOwner(fi, uid+1); !errors.Is(err, resident.ErrOwner) {
			t.Errorf("another user's socket: got %v, want ErrOwner", err)
		}
	}
	if uid == 0 {
		// Root may hand the socket to another user, as a spoofer's own.
		if err := os.Chown(path, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Lstat(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := resident.CheckOwner(fi, 0); !errors.Is(err, resident.ErrOwner) {
			t.Errorf("uid 65534's socket for root: got %v, want ErrOwner", err)
		}
		if err := resident.CheckOwner(fi, 65534); err != nil {
			t.Errorf("uid 65534's socket for uid 65534: %v", err)
		}
		if _, _, err := resident.Dial(context.Background(), path); !errors.Is(err, resident.ErrOwner) {
			t.Errorf("Dial to uid 65534's socket as root: got %v, want ErrOwner", err)
		}
	}
}
