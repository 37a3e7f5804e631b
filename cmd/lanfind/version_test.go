package main

import (
	"reflect"
	"runtime"
	"runtime/debug"
	"testing"
)

func TestReadVersion(t *testing.T) {
	yes, no := true, false
	platform := runtime.GOOS + "/" + runtime.GOARCH
	for _, tc := range []struct {
		name string
		bi   *debug.BuildInfo
		ok   bool
		want versionInfo
	}{
		{"no build info", nil, false, versionInfo{Version: "unknown", Commit: "unknown", Go: runtime.Version(), Platform: platform}},
		{"-buildvcs=false", &debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Path: "github.com/lanfind/lanfind", Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "-buildvcs", Value: "false"}, {Key: "CGO_ENABLED", Value: "0"}}}, true,
			versionInfo{Version: "(devel)", Commit: "unknown", Go: "go1.26.1", Platform: platform}},
		{"clean checkout", &debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "0f1d623abc"},
				{Key: "vcs.time", Value: "2026-11-28T11:00:00Z"}, {Key: "vcs.modified", Value: "false"}}}, true,
			versionInfo{Version: "(devel)", Commit: "0f1d623abc", Dirty: &no, CommitTime: "2026-11-28T11:00:00Z", Go: "go1.26.1", Platform: platform}},
		{"dirty tree", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.0"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "true"}}}, true,
			versionInfo{Version: "v1.2.0", Commit: "abc", Dirty: &yes, Go: runtime.Version(), Platform: platform}},
		{"go install from a module", &debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Version: "v1.3.0"}}, true,
			versionInfo{Version: "v1.3.0", Commit: "unknown", Go: "go1.26.1", Platform: platform}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := readVersion(tc.bi, tc.ok); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
