package resident

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// DialTimeout bounds [Dial]'s connect.
const DialTimeout = 50 * time.Millisecond

// ErrInUse is [Listen]'s error when a process answers on the socket.
var ErrInUse = errors.New("resident: another process serves on the socket")

// ErrOwner is [Dial]'s error for a socket that belongs to neither root
// nor the calling user.
var ErrOwner = errors.New("resident: socket owned by another user")

// RootPath is root's default path, and that of contrib's
// lanfind-serve.socket.
const RootPath = "/run/lanfind/serve.sock"

// DefaultPath returns where a resident of the calling user listens: see
// the package comment. It returns "" when there is no default.
func DefaultPath() string {
	if os.Geteuid() == 0 {
		return RootPath
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(d) {
		return filepath.Join(d, "lanfind", "serve.sock")
	}
	return ""
}

// modes returns the mode of a new socket directory and of the socket.
func modes() (dir, sock fs.FileMode) {
	if os.Geteuid() == 0 {
		return 0o755, 0o660
	}
	return 0o700, 0o600
}

// Listen listens on a unix socket at path (see the package comment). The
// listener removes the socket when closed.
func Listen(path string) (*net.UnixListener, error) {
	dirMode, sockMode := modes()
	if err := os.MkdirAll(filepath.Dir(path), dirMode); err != nil {
		return nil, fmt.Errorf("resident: %w", err)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("resident: %s exists and is not a socket", path)
		}
		c, err := net.DialTimeout("unix", path, DialTimeout)
		switch {
		case err == nil:
			c.Close()
			return nil, fmt.Errorf("%w %s", ErrInUse, path)
		case !errors.Is(err, syscall.ECONNREFUSED):
			// Not plainly stale (no permission, a slow resident):
			// leave it.
			return nil, fmt.Errorf("resident: %s: %w", path, err)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("resident: remove stale socket: %w", err)
		}
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("resident: %w", err)
	}
	if err := os.Chmod(path, sockMode); err != nil {
		ln.Close()
		return nil, fmt.Errorf("resident: %w", err)
	}
	return ln, nil
}

// Peer is the process at the other end of a connection.
type Peer struct {
	// PID is its process ID; 0 where the system does not say.
	PID int
	// UID is its user ID; -1 where the system does not say.
	UID int
}

// Dial connects to the resident at path, within ctx and [DialTimeout],
// after checking that path is a socket owned by root or the calling user
// (and, on Linux, that the peer runs as one of them).
func Dial(ctx context.Context, path string) (net.Conn, Peer, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, Peer{}, fmt.Errorf("resident: %w", err)
	}
	if err := CheckOwner(fi, os.Geteuid()); err != nil {
		return nil, Peer{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, DialTimeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, Peer{}, fmt.Errorf("resident: %w", err)
	}
	p, err := peer(c)
	if err == nil && p.UID != -1 && p.UID != 0 && p.UID != os.Geteuid() {
		err = fmt.Errorf("%w: peer uid %d", ErrOwner, p.UID)
	}
	if err != nil {
		c.Close()
		return nil, Peer{}, err
	}
	return c, p, nil
}

// CheckOwner checks that fi is a socket owned by root or by uid.
func CheckOwner(fi fs.FileInfo, uid int) error {
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("resident: %s is not a socket", fi.Name())
	}
	owner, ok := fileOwner(fi)
	if !ok {
		return fmt.Errorf("resident: %s: owner unknown on this system", fi.Name())
	}
	if owner != 0 && owner != uid {
		return fmt.Errorf("%w: %s belongs to uid %d", ErrOwner, fi.Name(), owner)
	}
	return nil
}
