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
			opts := docOptions{
				app:   c.App,
				shell: c.Args().First(),
			}
			return runCompletion(c.Context, s, opts)
		},
	}
}

func manCommand() *cli.Command {
	return &cli.Command{
		Name:      "man",
		Usage:     "print the manual page (roff)",
		UsageText: "lanfind man",
		Description: "Read it with: lanfind man | man -l -\n" +
			"Install it with: lanfind man >/usr/local/share/man/man1/lanfind.1",
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageErrorf("man takes no arguments, got %q", c.Args().First())
			}
			s := quietStreams(c)
			return runMan(c.Context, s, docOptions{app: c.App})
		},
	}
}

// docOptions are what completion and man describe: the app, as it runs,
// and for completion the shell.
type docOptions struct {
	app   *cli.App
	shell string
}

func runCompletion(_ context.Context, s streams, opts docOptions) error {
	script, err := clidoc.Completion(opts.app, completionHints, opts.shell)
	if err == nil {
		_, err = io.WriteString(s.Out, script)
	}
	return runtimeError(err)
}

func runMan(_ context.Context, s streams, opts docOptions) error {
	page, err := clidoc.Man(opts.app, manPage)
	if err == nil {
		_, err = io.WriteString(s.Out, page)
	}
	return runtimeError(err)
}

// manPage is what lanfind's manual page says besides its commands and
// flags.
var manPage = clidoc.Page{
	Section: 1,
	ExitStatus: []clidoc.Item{
		{Name: "0", Text: "Success; list and resolve: found (with --wait: as many as asked for); " +
			"doctor: no problem found."},
		{Name: "1", Text: "A runtime failure; list and resolve: nothing matched, " +
			"or fewer than --wait; doctor: a problem found; check-config: the file is invalid or unreadable."},
		{Name: "2", Text: "A bad command line or configuration; list and resolve: any error."},
	},
	Environment: []clidoc.Item{
		{Name: "NO_COLOR", Text: "when set and not empty, no colour even on a terminal " +
			"(https://no-color.org)."},
		{Name: "TERM", Text: "dumb: no colour."},
		{Name: "NOTIFY_SOCKET", Text: "announce tells the service manager there " +
			"(systemd's sd_notify protocol) that it is ready, reloading or stopping."},
	},
	Examples: []clidoc.Item{
		{Name: "lanfind announce --name db --type postgres --port 5432",
			Text: "Announce a PostgreSQL server as db until interrupted."},
		{Name: "lanfind list", Text: "List the services on the local network."},
		{Name: "psql -h \"$(lanfind resolve db --format '{{.Addr}}')\"",
			Text: "Connect to the service db, from a script."},
		{Name: "lanfind list --json --timeout 1s",
			Text: "List the services as JSON, waiting at most a second."},
		{Name: "lanfind doctor --peer db",
			Text: "Explain why the service db is not seen from this host."},
	},
}
