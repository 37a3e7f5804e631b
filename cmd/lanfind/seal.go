package main

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/lanfind/lanfind/seal"
)

var flagSecretFile = &cli.StringSliceFlag{
	Name:    "secret-file",
	Usage:   "seal and authenticate all traffic with the shared key in `FILE` (repeatable for rotation: the first key seals, every key opens)",
	EnvVars: []string{"LANFIND_SECRET_FILE"},
}

// loadKeys reads the key files in order; a bad file is a usage error
// (exit 2), a file other users can read a warning.
func loadKeys(paths []string, log *slog.Logger) (seal.Keys, error) {
	var keys seal.Keys
	for _, p := range paths {
		if p == "" {
			// Fail closed: an empty name must not mean "no key".
			return nil, usageErrorf("--secret-file: empty file name (is LANFIND_SECRET_FILE set but empty?)")
		}
		ks, warning, err := seal.LoadKeyFile(p)
		if err != nil {
			return nil, usageErrorf("--secret-file: %s", strings.TrimPrefix(err.Error(), "seal: "))
		}
		if warning != "" {
			log.Warn(warning)
		}
		keys = append(keys, ks...)
	}
	if len(keys) > 0 {
		log.Debug("keyed mode", "keys", len(keys), "sealing_key_id", fmt.Sprintf("%016x", keys[0].ID()))
	}
	return keys, nil
}

func keygenCommand() *cli.Command {
	return &cli.Command{
		Name:      "keygen",
		Usage:     "write a new random shared key to FILE, for --secret-file",
		UsageText: "lanfind keygen FILE",
		Description: "Writes 32 random bytes in hex to FILE, readable by its owner only (mode 0600), and refuses to\n" +
			"overwrite an existing file. Copy FILE to every host that should see the sealed services.",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErrorf("keygen takes one FILE, got %d arguments", c.NArg())
			}
			if c.Args().First() == "-" {
				// Not standard output: the key would sit in a terminal's
				// scrollback or a pipe's buffer, and not in a 0600 file.
				return usageErrorf("keygen writes a FILE readable by its owner only, not standard output (\"-\")")
			}
			if err := seal.WriteKeyFile(c.Args().First()); err != nil {
				return &exitError{code: exitFailure, msg: strings.TrimPrefix(err.Error(), "seal: ")}
			}
			return nil
		},
	}
}
