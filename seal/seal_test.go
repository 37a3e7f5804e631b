package seal_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lanfind/lanfind/beacon"
	"github.com/lanfind/lanfind/seal"
)

func mustKey(t testing.TB, fill byte) seal.Key {
	t.Helper()
	k, err := seal.NewKey(bytes.Repeat([]byte{fill}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func message(t testing.TB) []byte {
	t.Helper()
	b := beacon.Beacon{Kind: beacon.KindAnnounce, Sender: 7, Seq: 3,
		Services: []beacon.Service{{Instance: 9, Name: "db", Type: "postgres", Port: 5432, TTL: 15 * time.Second, Host: "nas"}}}
	p, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)

func TestRoundTrip(t *testing.T) {
	ks := seal.Keys{mustKey(t, 1)}
	msg := message(t)
	prefix := []byte("prefix")
	p, err := ks.Seal(bytes.Clone(prefix), msg, t0)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(p, prefix) {
		t.Fatal("Seal did not append to dst")
	}
	p = p[len(prefix):]
	if len(p) != len(msg)+seal.Overhead {
		t.Fatalf("got %d bytes, want %d", len(p), len(msg)+seal.Overhead)
	}
	if !seal.LooksSealed(p) || beacon.LooksLikeBeacon(p) {
		t.Fatal("sealed datagram: want LooksSealed and not LooksLikeBeacon")
	}
	for _, clear := range [][]byte{[]byte("db"), []byte("postgres"), []byte("nas"), beacon.Magic[:]} {
		if bytes.Contains(p, clear) {
			t.Errorf("sealed datagram contains %q in clear", clear)
		}
	}
	got, sent, err := ks.Open(p)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if !bytes.Equal(got, msg) || !sent.Equal(t0) {
		t.Fatalf("got %x sent %v, want %x sent %v", got, sent, msg, t0)
	}
	// A fresh nonce every time: sealing twice differs.
	p2, _ := ks.Seal(nil, msg, t0)
	if bytes.Equal(p, p2) {
		t.Fatal("two seals of one message are equal, want fresh nonces")
	}
}

func TestOpenRejects(t *testing.T) {
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	ks := seal.Keys{k1}
	p, err := ks.Seal(nil, message(t), t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := (seal.Keys{k2}).Open(p); !errors.Is(err, seal.ErrUnknownKey) {
		t.Errorf("wrong key: got %v, want ErrUnknownKey", err)
	}
	if _, _, err := seal.Keys(nil).Open(p); !errors.Is(err, seal.ErrNoKey) {
		t.Errorf("no keys: got %v, want ErrNoKey", err)
	}
	// Every single flipped bit anywhere (magic, version, reserved, key
	// ID, nonce, ciphertext, tag) makes it fail.
	for i := range p {
		for bit := range 8 {
			q := bytes.Clone(p)
			q[i] ^= 1 << bit
			if _, _, err := ks.Open(q); err == nil {
				t.Fatalf("byte %d bit %d flipped: opened, want an error", i, bit)
			}
		}
	}
	// A forged datagram with the right key ID but no key.
	forged := bytes.Clone(p)
	for i := seal.HeaderSize; i < len(forged); i++ {
		forged[i] = 0x55
	}
	if _, _, err := ks.Open(forged); !errors.Is(err, seal.ErrAuth) {
		t.Errorf("forged: got %v, want ErrAuth", err)
	}
	for n := range len(p) {
		if _, _, err := ks.Open(p[:n]); err == nil {
			t.Fatalf("truncated to %d bytes: opened, want an error", n)
		}
	}
	if _, _, err := ks.Open(append(bytes.Clone(p), 0)); err == nil {
		t.Fatal("one byte appended: opened, want an error")
	}
	v2 := bytes.Clone(p)
	v2[4] = 2
	if _, _, err := ks.Open(v2); !errors.Is(err, seal.ErrVersion) {
		t.Errorf("version 2: got %v, want ErrVersion", err)
	}
}

func TestRotation(t *testing.T) {
	oldKey, newKey := mustKey(t, 1), mustKey(t, 2)
	old := seal.Keys{oldKey}
	rotating := seal.Keys{newKey, oldKey} // current first, previous second
	fromOld, _ := old.Seal(nil, message(t), t0)
	if _, _, err := rotating.Open(fromOld); err != nil {
		t.Fatalf("previous key: %v, want it to open", err)
	}
	fromRotating, _ := rotating.Seal(nil, message(t), t0)
	if _, _, err := (seal.Keys{newKey}).Open(fromRotating); err != nil {
		t.Fatalf("sealed with the current key: %v, want it to open with the new key alone", err)
	}
	if _, _, err := old.Open(fromRotating); err == nil {
		t.Fatal("sealed by a rotating ring: opened with the previous key, want the current key used")
	}
}

func TestSealLimits(t *testing.T) {
	ks := seal.Keys{mustKey(t, 1)}
	p, err := ks.Seal(nil, make([]byte, seal.MaxPayload), t0)
	if err != nil || len(p) != beacon.MaxSize {
		t.Fatalf("MaxPayload: got %d bytes, %v; want %d", len(p), err, beacon.MaxSize)
	}
	if _, err := ks.Seal(nil, make([]byte, seal.MaxPayload+1), t0); !errors.Is(err, beacon.ErrTooBig) {
		t.Fatalf("MaxPayload+1: got %v, want ErrTooBig", err)
	}
	if _, err := seal.Keys(nil).Seal(nil, nil, t0); !errors.Is(err, seal.ErrNoKey) {
		t.Fatalf("no key: got %v, want ErrNoKey", err)
	}
	if _, err := seal.NewKey(make([]byte, 31)); err == nil {
		t.Fatal("31 bytes of material: got a key, want an error")
	}
}

func writeFile(t *testing.T, text string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(path, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // beat the umask
		t.Fatal(err)
	}
	return path
}

func TestLoadKeyFile(t *testing.T) {
	hex32 := strings.Repeat("ab", 32)
	b64 := "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=" // 32 bytes of 0xab
	tests := []struct {
		name, text string
		keys       int
		err        string
	}{
		{"hex", hex32 + "\n", 1, ""},
		{"base64 is the same key", b64, 1, ""},
		{"two keys, comments and blanks", "# current\n" + hex32 + "\n\n  " + strings.Repeat("cd", 40) + "  \n", 2, ""},
		{"empty", "", 0, "no key in it"},
		{"only comments", "# nothing\n\n", 0, "no key in it"},
		{"short hex", strings.Repeat("ab", 31), 0, "line 1: key is 31 bytes, want at least 32"},
		{"short base64", "c2hvcnQ=", 0, "line 1: key is 5 bytes, want at least 32"},
		{"garbage", "not a key!", 0, "line 1: key is neither hex nor base64"},
		{"bad second line", hex32 + "\nzz!\n", 0, "line 2: key is neither hex nor base64"},
	}
	var first seal.Key
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, tc.text, 0o600)
			ks, warn, err := seal.LoadKeyFile(path)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), path) {
					t.Fatalf("got %v, want an error naming the file and containing %q", err, tc.err)
				}
				if strings.Contains(err.Error(), "ab") && strings.Contains(tc.text, hex32) {
					t.Fatalf("error %q may show key material", err)
				}
				return
			}
			if err != nil || warn != "" || len(ks) != tc.keys {
				t.Fatalf("got %d keys, warning %q, error %v; want %d keys", len(ks), warn, err, tc.keys)
			}
			if first.ID() == 0 {
				first = ks[0]
			} else if ks[0].ID() != first.ID() {
				t.Fatalf("key ID %x, want %x: hex and base64 of the same bytes must be the same key", ks[0].ID(), first.ID())
			}
		})
	}
	if _, _, err := seal.LoadKeyFile(filepath.Join(t.TempDir(), "missing")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: got %v, want ErrNotExist", err)
	}
	if _, _, err := seal.LoadKeyFile(t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("directory: got %v, want not a regular file", err)
	}
}

func TestLoadKeyFilePermissions(t *testing.T) {
	for _, tc := range []struct {
		mode os.FileMode
		warn bool
	}{{0o600, false}, {0o400, false}, {0o640, true}, {0o604, true}, {0o644, true}, {0o620, true}, {0o602, true}, {0o700, false}} {
		path := writeFile(t, strings.Repeat("ab", 32), tc.mode)
		ks, warn, err := seal.LoadKeyFile(path)
		if err != nil || len(ks) != 1 {
			t.Fatalf("mode %04o: got %v, want the key", tc.mode, err)
		}
		if got := warn != ""; got != tc.warn || (tc.warn && !strings.Contains(warn, "chmod 600")) {
			t.Errorf("mode %04o: got warning %q, want one: %v", tc.mode, warn, tc.warn)
		}
	}
}

func TestWriteKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k")
	if err := seal.WriteKeyFile(path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("got mode %v (%v), want 0600", fi.Mode(), err)
	}
	ks, warn, err := seal.LoadKeyFile(path)
	if err != nil || warn != "" || len(ks) != 1 {
		t.Fatalf("reading it back: %d keys, %q, %v", len(ks), warn, err)
	}
	before, _ := os.ReadFile(path)
	if err := seal.WriteKeyFile(path); err == nil || !errors.Is(err, os.ErrExist) {
		t.Fatalf("second write: got %v, want ErrExist", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("the existing key file changed")
	}
	other := filepath.Join(t.TempDir(), "k2")
	if err := seal.WriteKeyFile(other); err != nil {
		t.Fatal(err)
	}
	ks2, _, _ := seal.LoadKeyFile(other)
	if ks2[0].ID() == ks[0].ID() {
		t.Fatal("two generated keys are equal")
	}
}

func FuzzOpen(f *testing.F) {
	ks := seal.Keys{mustKey(f, 1), mustKey(f, 2)}
	p, _ := ks.Seal(nil, message(f), t0)
	f.Add(p)
	f.Add(p[:seal.Overhead])
	f.Add(message(f))
	f.Add([]byte("LNFS\x01"))
	f.Fuzz(func(t *testing.T, in []byte) {
		msg, sent, err := ks.Open(in)
		if err != nil {
			return
		}
		// Whatever opens seals and opens again to the same thing.
		again, err := ks.Seal(nil, msg, sent)
		if err != nil {
			t.Fatalf("re-seal: %v", err)
		}
		msg2, sent2, err := ks.Open(again)
		if err != nil || !bytes.Equal(msg, msg2) || !sent.Equal(sent2) {
			t.Fatalf("re-open: got %x %v %v, want %x %v", msg2, sent2, err, msg, sent)
		}
	})
}

func TestValidate(t *testing.T) {
	if err := (seal.Keys{mustKey(t, 1), {}}).Validate(); err == nil || !strings.Contains(err.Error(), "key 1 is the zero Key") {
		t.Fatalf("got %v, want an error about key 1", err)
	}
	if err := seal.Keys(nil).Validate(); err != nil {
		t.Fatalf("no keys: got %v, want nil (unkeyed)", err)
	}
}

func BenchmarkSeal(b *testing.B) {
	ks := seal.Keys{mustKey(b, 1)}
	msg := message(b)
	buf := make([]byte, 0, beacon.MaxSize)
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, err := ks.Seal(buf[:0], msg, t0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	ks := seal.Keys{mustKey(b, 1)}
	p, _ := ks.Seal(nil, message(b), t0)
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		if _, _, err := ks.Open(p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenForged measures what a flood of forged datagrams under the
// right key ID costs a receiver.
func BenchmarkOpenForged(b *testing.B) {
	ks := seal.Keys{mustKey(b, 1)}
	p, _ := ks.Seal(nil, message(b), t0)
	p[len(p)-1] ^= 1
	for b.Loop() {
		if _, _, err := ks.Open(p); err == nil {
			b.Fatal("opened")
		}
	}
}
