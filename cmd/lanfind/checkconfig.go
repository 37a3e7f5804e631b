package main

import (
	"context"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/lanfind/lanfind/internal/config"
)

func checkConfigCommand() *cli.Command {
	return &cli.Command{
		Name:      "check-config",
		Usage:     "check an announce configuration file",
		UsageText: "lanfind check-config FILE|DIR",
		Description: "Parses FILE as \"lanfind announce --config FILE\" would " +
			"and runs the checks announce runs on\n" +
			"its services, without touching the network; a directory DIR as " +
			"\"--config-dir DIR\" would, every\n" +
			"*.toml file in name order. " +
			"Prints every problem as FILE:LINE:COLUMN: problem.\n" +
			"Exit status: 0 valid, 1 invalid or unreadable, 2 usage error.",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErrorf("check-config takes one FILE or DIR argument, got %d", c.NArg())
			}
			opts := checkConfigOptions{path: c.Args().First()}
			return runCheckConfig(c.Context, quietStreams(c), opts)
		},
	}
}

// checkConfigOptions is what "lanfind check-config" is asked to do.
type checkConfigOptions struct {
	path string // the file or directory to check
}

func runCheckConfig(_ context.Context, s streams, opts checkConfigOptions) error {
	load := config.Load
	if fi, err := os.Stat(opts.path); err == nil && fi.IsDir() {
		load = config.LoadDir
	}
	f, err := load(opts.path)
	if err == nil && len(f.Services) == 0 {
		err = &config.Error{
			Path:     opts.path,
			Problems: []config.Problem{{Msg: "no [[service]] table: nothing to announce"}},
		}
	}
	if err != nil {
		return configFailure(err, exitFailure)
	}
	noun := "services"
	if len(f.Services) == 1 {
		noun = "service"
	}
	_, err = fmt.Fprintf(s.Out, "%s: ok, %d %s\n", opts.path, len(f.Services), noun)
	return err
}
