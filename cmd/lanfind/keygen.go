package main

import (
	"context"

	"github.com/urfave/cli/v2"

	"github.com/lanfind/lanfind/seal"
)

func keygenCommand() *cli.Command {
	return &cli.Command{
		Name:      "keygen",
		Usage:     "write a new random shared key to FILE, for --secret-file",
		UsageText: "lanfind keygen FILE",
		Description: "Writes 32 random bytes in hex to FILE, " +
			"readable by its owner only (mode 0600), and refuses to\n" +
			"overwrite an existing file. " +
			"Copy FILE to every host that should see the sealed services.",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErrorf("keygen takes one FILE, got %d arguments", c.NArg())
			}
			s := quietStreams(c)
			return runKeygen(c.Context, s, keygenOptions{file: c.Args().First()})
		},
	}
}

type keygenOptions struct {
	file string // where the key goes
}

// runKeygen writes a new key to opts.file. It writes nothing else.
func runKeygen(_ context.Context, _ streams, opts keygenOptions) error {
	if opts.file == "-" {
		// Not standard output: the key would sit in a terminal's
		// scrollback or a pipe's buffer, and not in a 0600 file.
		return usageErrorf("keygen writes a FILE readable by its owner only, " +
			"not standard output (\"-\")")
	}
	if err := seal.WriteKeyFile(opts.file); err != nil {
		return &exitError{code: exitFailure, msg: ownText(err)}
	}
	return nil
}
