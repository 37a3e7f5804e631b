package main

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// rssFile returns this process's resident pages of mapped files, in kB.
func rssFile(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "RssFile:"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				t.Fatalf("RssFile %q: %v", v, err)
			}
			return kb
		}
	}
	t.Fatal("no RssFile in /proc/self/status")
	return 0
}

// TestReleaseStartupDropsExecutablePages: after releaseStartup the
// process keeps fewer pages of its executable resident (and goes on
// running: they come back on use).
func TestReleaseStartupDropsExecutablePages(t *testing.T) {
	before := rssFile(t)
	releaseStartup()
	after := rssFile(t)
	t.Logf("RssFile %d kB -> %d kB", before, after)
	if after >= before {
		t.Fatalf("RssFile %d kB after releaseStartup, %d kB before: want fewer", after, before)
	}
}
