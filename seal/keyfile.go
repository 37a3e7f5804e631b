package seal

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Key file format
//
// A key file is text with one key per line. Leading and trailing spaces
// are ignored, and so are empty lines and lines starting with "#". A key
// is its material, at least MinKeySize (32) bytes, written as hex (as
// WriteKeyFile does: 64 hex digits for 32 random bytes) or as standard
// base64, padded or not. The first key seals and opens; the following
// keys (for example the previous key during a rotation) only open.

// maxKeyFileSize bounds what LoadKeyFile reads: a key file is a few lines.
const maxKeyFileSize = 64 << 10

// ParseKey decodes one line of a key file, hex or standard base64, and
// derives the Key. Errors never contain the text.
func ParseKey(text string) (Key, error) {
	text = strings.TrimSpace(text)
	var material []byte
	var err error
	if isHex(text) {
		material, err = hex.DecodeString(text)
	} else {
		material, err = base64.StdEncoding.DecodeString(text)
		if err != nil {
			material, err = base64.RawStdEncoding.DecodeString(text)
		}
	}
	if err != nil {
		return Key{}, errorf("key is neither hex nor base64")
	}
	return NewKey(material)
}

func isHex(s string) bool {
	if s == "" || len(s)%2 != 0 {
		return false
	}
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// LoadKeyFile reads the keys of a key file (format above): the first key
// seals, every key opens. warning is non-empty when the file can be read
// by users other than its owner; the keys are still returned, and the
// caller should show the warning. An empty file, a key shorter than
// [MinKeySize] bytes or a line that is neither hex nor base64 is an error
// naming the file and line, never the key.
func LoadKeyFile(path string) (keys Keys, warning string, err error) {
	// Refuse a named pipe or device before opening it: open would block
	// until a writer came. The opened file is checked again below.
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		return nil, "", errorf("key file %s: not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, "", errorf("key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, "", errorf("key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, "", errorf("key file %s: not a regular file", path)
	}
	switch perm := fi.Mode().Perm(); {
	case perm&0o044 != 0:
		warning = fmt.Sprintf("key file %s is readable by other users (mode %04o); run: chmod 600 %s", path, perm, path)
	case perm&0o022 != 0:
		// Not a secret leak, but whoever may write it may swap the key.
		warning = fmt.Sprintf("key file %s is writable by other users (mode %04o); run: chmod 600 %s", path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return nil, "", errorf("key file: %w", err)
	}
	if len(data) > maxKeyFileSize {
		return nil, "", errorf("key file %s: larger than %d bytes", path, maxKeyFileSize)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, maxKeyFileSize+1)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, err := ParseKey(line)
		if err != nil {
			why := err.Error()
			if ke := (*keyError)(nil); errors.As(err, &ke) {
				why = ke.reason
			}
			return nil, "", errorf("key file %s line %d: %s", path, n, why)
		}
		keys = append(keys, k)
	}
	if err := sc.Err(); err != nil {
		return nil, "", errorf("key file %s: %w", path, err)
	}
	if len(keys) == 0 {
		return nil, "", errorf("key file %s: no key in it (generate one with: lanfind keygen FILE)", path)
	}
	return keys, warning, nil
}

// WriteKeyFile creates a key file at path holding one fresh key of 32
// random bytes in hex, readable and writable by its owner only (mode
// 0600). It refuses to overwrite an existing file.
func WriteKeyFile(path string) error {
	var material [MinKeySize]byte
	rand.Read(material[:]) // never fails on supported systems (crypto/rand docs)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return errorf("key file %s: %w; not overwriting it", path, os.ErrExist)
	}
	if err != nil {
		return errorf("create key file: %w", err)
	}
	_, err = f.WriteString(hex.EncodeToString(material[:]) + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return errorf("write key file: %w", err)
	}
	return nil
}

// keyError is an error about a key or a key file: "seal: " and its reason,
// matching the error it wraps, if any.
type keyError struct {
	reason string
	err    error
}

func (e *keyError) Error() string { return "seal: " + e.reason }
func (e *keyError) Unwrap() error { return e.err }

// Reason returns the error's text without the package prefix, for a
// program that reports a key file it was given as its own problem.
func (e *keyError) Reason() string { return e.reason }

// errorf returns a *keyError with the text of fmt.Errorf(format, args...),
// wrapping what that wraps.
func errorf(format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &keyError{reason: err.Error(), err: errors.Unwrap(err)}
}
