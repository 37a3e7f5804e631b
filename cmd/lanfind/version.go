package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/urfave/cli/v2"

	tt "github.com/lanfind/lanfind/internal/termtext"
)

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:      "version",
		Usage:     "print lanfind's version, commit and Go version",
		UsageText: "lanfind version [--json]",
		Description: "The module version, the VCS commit it was built from " +
			"(marked dirty when the tree had\n" +
			"uncommitted changes) and the Go toolchain, from the binary's build information.\n" +
			"\"unknown\" means the build did not record it (e.g. go build -buildvcs=false).",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print one JSON object"}},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageErrorf("version takes no arguments, got %q", c.Args().First())
			}
			s := quietStreams(c)
			return runVersion(c.Context, s, versionOptions{json: c.Bool("json")})
		},
	}
}

// versionInfo is what "lanfind version" prints; the JSON field names are
// part of the documented output.
type versionInfo struct {
	Version    string `json:"version"`     // module version, "(devel)" for a build from a checkout
	Commit     string `json:"commit"`      // VCS revision or "unknown"
	Dirty      *bool  `json:"dirty"`       // uncommitted changes; null when unknown
	CommitTime string `json:"commit_time"` // RFC 3339, "" when unknown
	Go         string `json:"go"`          // toolchain, e.g. go1.26.8
	Platform   string `json:"platform"`    // GOOS/GOARCH
}

// readVersion extracts versionInfo from build information; ok is false
// when the binary carries none.
func readVersion(bi *debug.BuildInfo, ok bool) versionInfo {
	v := versionInfo{
		Version:  "unknown",
		Commit:   "unknown",
		Go:       runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH,
	}
	if !ok || bi == nil {
		return v
	}
	if bi.Main.Version != "" {
		v.Version = bi.Main.Version
	}
	if bi.GoVersion != "" {
		v.Go = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Commit = s.Value
		case "vcs.time":
			v.CommitTime = s.Value
		case "vcs.modified":
			dirty := s.Value == "true"
			v.Dirty = &dirty
		}
	}
	return v
}

// versionOptions are version's flags.
type versionOptions struct {
	json bool
}

func runVersion(_ context.Context, s streams, opts versionOptions) error {
	v := readVersion(debug.ReadBuildInfo())
	if opts.json {
		return runtimeError(tt.WriteJSON(s.Out, v))
	}
	commit := v.Commit
	switch {
	case v.Commit == "unknown":
		commit += " (not recorded in this build)"
	case v.Dirty != nil && *v.Dirty:
		commit += " (dirty: built with uncommitted changes)"
	}
	if v.CommitTime != "" {
		commit += ", " + v.CommitTime
	}
	_, err := fmt.Fprintf(s.Out, "lanfind %s\ncommit: %s\ngo: %s %s\n",
		v.Version, commit, v.Go, v.Platform)
	return runtimeError(err)
}
