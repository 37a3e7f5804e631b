//go:build !linux

package udp

import "errors"

// Unsent reports errors.ErrUnsupported here: see the Linux version.
func Unsent(Conn) (int, error) { return 0, errors.ErrUnsupported }

// SendBuffer reports errors.ErrUnsupported here: see the Linux version.
func SendBuffer(Conn) (int, error) { return 0, errors.ErrUnsupported }
