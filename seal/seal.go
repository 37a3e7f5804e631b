package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/lanfind/lanfind/beacon"
)

// Format constants.
const (
	// Version is the sealed format's major version.
	Version = 1
	// HeaderSize is the size of the clear header, nonce included.
	HeaderSize = 28
	// Overhead is how many bytes sealing adds to a clear message: the
	// header, the timestamp and the GCM tag.
	Overhead = HeaderSize + 8 + tagSize
	// MaxPayload is the largest clear message that fits a sealed datagram
	// of at most beacon.MaxSize bytes.
	MaxPayload = beacon.MaxSize - Overhead
	// MinKeySize is the least key material a Key accepts, in bytes.
	MinKeySize = 32
	// DefaultWindow is how far a sealed datagram's timestamp may be from
	// the receiver's clock, either way, before it is dropped as a replay.
	DefaultWindow = 30 * time.Second

	nonceSize = 12
	tagSize   = 16
)

// Magic starts every sealed datagram.
var Magic = [4]byte{'L', 'N', 'F', 'S'}

// Errors from Open and Seal; match them with errors.Is.
var (
	// ErrShort means the datagram is shorter than a sealed datagram can be.
	ErrShort = errors.New("seal: datagram too short")
	// ErrMagic means the datagram is not sealed lanfind traffic.
	ErrMagic = errors.New("seal: bad magic")
	// ErrVersion means a sealed format version this package does not know.
	ErrVersion = errors.New("seal: unsupported version")
	// ErrUnknownKey means no key has the datagram's key ID: another key
	// sealed it, or it is forged.
	ErrUnknownKey = errors.New("seal: unknown key ID")
	// ErrAuth means the datagram names one of the keys but does not
	// authenticate with it: forged or altered in transit.
	ErrAuth = errors.New("seal: message authentication failed")
	// ErrNoKey means Seal or Open was called on empty Keys.
	ErrNoKey = errors.New("seal: no key")
)

// Key is one shared key, derived from key material. A Key is immutable
// and safe for concurrent use. The zero Key is not usable: get one from
// [NewKey], [ParseKey] or [LoadKeyFile].
type Key struct {
	id   uint64
	aead cipher.AEAD
}

// NewKey derives a Key from material, at least [MinKeySize] bytes of
// secret randomness.
func NewKey(material []byte) (Key, error) {
	if len(material) < MinKeySize {
		return Key{}, errorf("key is %d bytes, want at least %d", len(material), MinKeySize)
	}
	salt := []byte("lanfind seal v1")
	k, err := hkdf.Key(sha256.New, material, salt, "aead key", 32)
	if err != nil {
		return Key{}, fmt.Errorf("seal: derive key: %w", err)
	}
	id, err := hkdf.Key(sha256.New, material, salt, "key id", 8)
	if err != nil {
		return Key{}, fmt.Errorf("seal: derive key id: %w", err)
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return Key{}, fmt.Errorf("seal: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return Key{}, fmt.Errorf("seal: %w", err)
	}
	return Key{id: binary.BigEndian.Uint64(id), aead: aead}, nil
}

// ID returns the key ID that sealed datagrams carry in clear.
func (k Key) ID() uint64 { return k.id }

// Validate reports an error when ks holds a zero Key (one not made by
// NewKey, ParseKey or LoadKeyFile). Empty Keys are valid: unkeyed mode.
func (ks Keys) Validate() error {
	for i, k := range ks {
		if k.aead == nil {
			return fmt.Errorf("seal: key %d is the zero Key; make keys with NewKey, ParseKey or LoadKeyFile", i)
		}
	}
	return nil
}

// Keys is a key ring. The first key seals; every key opens. Nil or empty
// Keys means unkeyed (clear) mode. Keys is safe for concurrent use as long
// as nobody modifies the slice.
type Keys []Key

// LooksSealed reports whether p starts with the sealed magic and is long
// enough to be a sealed datagram. It is a cheap test before [Keys.Open].
func LooksSealed(p []byte) bool {
	return len(p) >= Overhead && [4]byte(p[:4]) == Magic
}

// Seal appends to dst the sealed form of msg, a whole clear lanfind
// message, timestamped with now, using the first key. It fails with an
// error matching [beacon.ErrTooBig] when msg is longer than [MaxPayload].
func (ks Keys) Seal(dst, msg []byte, now time.Time) ([]byte, error) {
	if len(ks) == 0 || ks[0].aead == nil {
		return dst, ErrNoKey
	}
	if len(msg) > MaxPayload {
		return dst, fmt.Errorf("seal: message is %d bytes, max %d: %w", len(msg), MaxPayload, beacon.ErrTooBig)
	}
	k := ks[0]
	start := len(dst)
	dst = append(dst, Magic[:]...)
	dst = append(dst, Version, 0, 0, 0)
	dst = binary.BigEndian.AppendUint64(dst, k.id)
	var nonce [nonceSize]byte
	rand.Read(nonce[:]) // never fails on supported systems (crypto/rand docs)
	dst = append(dst, nonce[:]...)
	pt := make([]byte, 0, 8+len(msg))
	pt = binary.BigEndian.AppendUint64(pt, uint64(now.UnixMilli()))
	pt = append(pt, msg...)
	header := dst[start : start+HeaderSize]
	return k.aead.Seal(dst, nonce[:], pt, header), nil
}

// Open checks and decrypts a sealed datagram with whichever key its key ID
// names, and returns the clear message inside and the sender's timestamp.
// Checking the timestamp against a replay window is the caller's job. msg
// is a new slice; p is not modified.
func (ks Keys) Open(p []byte) (msg []byte, sent time.Time, err error) {
	if len(ks) == 0 {
		return nil, time.Time{}, ErrNoKey
	}
	if len(p) < 5 {
		return nil, time.Time{}, ErrShort
	}
	if [4]byte(p[:4]) != Magic {
		return nil, time.Time{}, ErrMagic
	}
	if p[4] != Version {
		return nil, time.Time{}, fmt.Errorf("seal: version %d: %w", p[4], ErrVersion)
	}
	if len(p) < Overhead {
		return nil, time.Time{}, fmt.Errorf("seal: %d bytes, want at least %d: %w", len(p), Overhead, ErrShort)
	}
	id := binary.BigEndian.Uint64(p[8:16])
	header, nonce, ct := p[:HeaderSize], p[16:HeaderSize], p[HeaderSize:]
	named := false
	for _, k := range ks {
		if k.aead == nil || k.id != id {
			continue
		}
		named = true
		pt, oerr := k.aead.Open(nil, nonce, ct, header)
		if oerr != nil {
			continue // another key with the same ID may still open it
		}
		ms := int64(binary.BigEndian.Uint64(pt[:8]))
		return pt[8:], time.UnixMilli(ms), nil
	}
	if named {
		return nil, time.Time{}, ErrAuth
	}
	return nil, time.Time{}, fmt.Errorf("seal: key ID %016x: %w", id, ErrUnknownKey)
}
