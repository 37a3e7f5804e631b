//go:build linux

package netnstest

import (
	"strings"
	"testing"
)

func TestDecide(t *testing.T) {
	for _, tc := range []struct {
		name   string
		goos   string
		euid   int
		env    string
		want   verdict
		reason string // substring
	}{
		{"root", "linux", 0, "", verdictRun, ""},
		{"root required", "linux", 0, "require", verdictRun, ""},
		{"user", "linux", 1000, "", verdictSkip, "needs root (effective uid 1000)"},
		{"user required", "linux", 1000, "require", verdictFail, "LANFIND_LAB=require, but network namespace lab needs root (effective uid 1000); run go test -exec sudo"},
		{"darwin", "darwin", 0, "", verdictSkip, "needs Linux, not darwin"},
		{"darwin required", "darwin", 0, "require", verdictFail, "LANFIND_LAB=require, but network namespace lab needs Linux, not darwin"},
		{"bad value", "linux", 0, "1", verdictFail, `LANFIND_LAB="1": want "require" or unset`},
		{"bad value user", "linux", 1000, "yes", verdictFail, `LANFIND_LAB="yes"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, reason := decide(tc.goos, tc.euid, tc.env)
			if got != tc.want {
				t.Errorf("verdict: got %d, want %d (reason %q)", got, tc.want, reason)
			}
			if tc.reason == "" && reason != "" || !strings.Contains(reason, tc.reason) {
				t.Errorf("reason: got %q, want %q", reason, tc.reason)
			}
		})
	}
}

func TestSpecValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec Spec
		err  string // substring; "" for valid
	}{
		{"one segment", Spec{Segments: 1, Hosts: [][]int{{0}, {0}}}, ""},
		{"two segments", Spec{Segments: 2, Hosts: [][]int{{0, 1}, {1}, {}}}, ""},
		{"no segments", Spec{Hosts: [][]int{{0}}}, "0 segments"},
		{"segment out of range", Spec{Segments: 2, Hosts: [][]int{{0}, {2}}}, "host 1: eth0 on segment 2, want 0 to 1"},
		{"negative segment", Spec{Segments: 2, Hosts: [][]int{{-1}}}, "segment -1"},
		{"twice on a segment", Spec{Segments: 2, Hosts: [][]int{{1, 0, 1}}}, "host 0: two interfaces on segment 1"},
		{"too many hosts", Spec{Segments: 1, Hosts: make([][]int, 246)}, "246 hosts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.spec.validate()
			if tc.err == "" {
				if err != nil {
					t.Errorf("got %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("got %v, want %q", err, tc.err)
			}
		})
	}
}
