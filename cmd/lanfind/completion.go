package main

import (
	"context"
	"io"
	"slices"

	"github.com/urfave/cli/v2"

	"github.com/lanfind/lanfind/internal/clidoc"
	"github.com/lanfind/lanfind/internal/clilog"
)

// completionHints says what lanfind's flags and arguments take, for the
// completion scripts.
var completionHints = clidoc.Hints{
	IfaceFlags:  []string{"iface", "exclude-iface"},
	FlagChoices: map[string][]string{"log-format": clilog.Formats},
	ArgChoices:  map[string][]string{"completion": clidoc.Shells},
	FileArgs:    []string{"keygen", "check-config"},
	ArgNames:    map[string]string{"resolve": "service name"},
}

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script for bash, zsh or fish",
		UsageText: "lanfind completion bash|zsh|fish",
		Description: "Load it in the current shell, " +
			"or install it where your shell looks for completions:\n" +
			"  bash: source <(lanfind completion bash)   " +
			"or   lanfind completion bash >/etc/bash_completion.d/lanfind\n" +
			"  zsh:  source <(lanfind completion zsh)   " +
			"or   lanfind completion zsh >\"${fpath[1]}/_lanfind\"\n" +
			"  fish: lanfind completion fish >~/.config/fish/completions/lanfind.fish",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 || !slices.Contains(clidoc.Shells, c.Args().First()) {
				return usageErrorf("completion takes one shell: bash, zsh or fish")
			}
			s := quietStreams(c)
			opts := completionOptions{
				app:   c.App,
				shell: c.Args().First(),
			}
			return runCompletion(c.Context, s, opts)
		},
	}
}

// completionOptions are what completion describes: the app, as it runs,
// for the shell.
type completionOptions struct {
	app   *cli.App
	shell string
}

func runCompletion(_ context.Context, s streams, opts completionOptions) error {
	script, err := clidoc.Completion(opts.app, completionHints, opts.shell)
	if err == nil {
		_, err = io.WriteString(s.Out, script)
	}
	return runtimeError(err)
}
