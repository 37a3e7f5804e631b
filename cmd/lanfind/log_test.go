package main

import (
	"bytes"
	"log/slog"
	"testing"
)

func TestLineHandler(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(newLineHandler(&buf, slog.LevelInfo))
	log.Debug("hidden", "k", 1)
	log.Info("announcing", "iface", "eth0", "dst", "10.0.0.255:28471")
	log.With("svc", "db").Warn("instance ID conflict", "addrs", []string{"10.0.0.2", "10.0.0.3"}, "note", "a b")
	log.Error("send failed", "err", "bad\x1b[2J", "name", "\x9b\u202eevil")
	want := "lanfind: announcing iface=eth0 dst=10.0.0.255:28471\n" +
		"lanfind: warning: instance ID conflict svc=db addrs=\"[10.0.0.2 10.0.0.3]\" note=\"a b\"\n" +
		"lanfind: error: send failed err=\"bad\\x1b[2J\" name=\"\\x9b\\u202eevil\"\n"
	if got := buf.String(); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}
