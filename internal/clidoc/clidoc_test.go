package clidoc

import (
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// testApp is a small app with a flag of each kind completion knows.
func testApp(t *testing.T) *cli.App {
	t.Helper()
	app := &cli.App{
		Name:      "demo",
		Usage:     "a demo",
		Writer:    io.Discard,
		ErrWriter: io.Discard,
		Commands: []*cli.Command{{
			Name:      "run",
			Usage:     "run it",
			UsageText: "demo run [--nic IF] [--mode M] [--conf FILE]",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "nic", Usage: "interface `IF`", EnvVars: []string{"DEMO_NIC"}},
				&cli.StringFlag{Name: "mode", Usage: "`M` is fast or slow", Value: "fast"},
				&cli.StringFlag{Name: "conf", Usage: "read `FILE`", TakesFile: true},
				&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "say less"},
			},
			Action: func(*cli.Context) error { return nil },
		}},
	}
	// Running the app adds the help command and flags, as in the binary.
	if err := app.Run([]string{"demo", "run"}); err != nil {
		t.Fatal(err)
	}
	return app
}

var testHints = Hints{
	IfaceFlags:  []string{"nic"},
	FlagChoices: map[string][]string{"mode": {"fast", "slow"}},
}

func TestMan(t *testing.T) {
	page, err := Man(testApp(t), Page{
		Section:     1,
		ExitStatus:  []Item{{Name: "0", Text: "success"}},
		Environment: []Item{{Name: "NO_COLOR", Text: "no colour"}},
		Examples:    []Item{{Name: "demo run --mode slow", Text: "Run slowly."}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, re := range []string{
		`(?m)^\.TH demo 1$`,
		`(?m)^\.SH SYNOPSIS\n\.EX\ndemo run \[--nic IF\] \[--mode M\] \[--conf FILE\]\n\.EE$`,
		`(?m)^\.SH run$`,
		`(?m)^\\fB--nic\\fP=\\fIIF\\fP: interface IF$`,
		`(?m)^\\fB--mode\\fP=\\fIM\\fP: M is fast or slow \(default: "fast"\)$`,
		`(?m)^\\fB--quiet, -q\\fP: say less$`,
		`(?m)^\.SH EXIT STATUS\n\.TP\n\\fB0\\fP\nsuccess$`,
		`(?m)^\.SH ENVIRONMENT\n\.TP\n\\fBDEMO_NIC\\fP\nas --nic: interface IF\n\n\.TP\n\\fBNO_COLOR\\fP\n`,
		`(?m)^\.SH EXAMPLES\nRun slowly\.\n\n\.EX\ndemo run --mode slow\n\.EE$`,
	} {
		if !regexp.MustCompile(re).MatchString(page) {
			t.Errorf("man page lacks a match for %s:\n%s", re, page)
		}
	}
	if strings.Contains(page, ".SH help") || strings.Contains(page, `=""`) {
		t.Errorf("man page has a help section or an empty value:\n%s", page)
	}
}

func TestCompletionValues(t *testing.T) {
	app := testApp(t)
	bash := Bash(app, testHints)
	for _, want := range []string{
		"\t--nic)\n\t\tCOMPREPLY=($(compgen -W \"$(_demo_ifaces)\" -- \"$cur\"))\n",
		"\t--conf)\n\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n",
		"\t--mode)\n\t\tCOMPREPLY=($(compgen -W 'fast slow' -- \"$cur\"))\n",
		"\trun)\n\t\tflags='--nic --mode --conf --quiet -q --help -h'\n",
	} {
		if !strings.Contains(bash, want) {
			t.Errorf("bash script lacks %q:\n%s", want, bash)
		}
	}
	if _, err := Completion(app, testHints, "tcsh"); err == nil {
		t.Error("tcsh: got a script, want an error")
	}
}

// TestArgNames checks that an argument nothing can be offered for (a
// service name) is described to zsh, which then offers neither flags nor
// anything else, and that no script offers interface names or files for it.
func TestArgNames(t *testing.T) {
	app := testApp(t)
	h := testHints
	h.ArgNames = map[string]string{"run": "service name"}
	zsh := Zsh(app, h)
	if !strings.Contains(zsh, "\t\t\t'1:service name: ' \\\n") {
		t.Errorf("zsh script lacks the argument spec of run:\n%s", zsh)
	}
	bash := Bash(app, h)
	want := "\trun)\n\t\tflags='--nic --mode --conf --quiet -q --help -h'\n\t\t;;\n"
	if !strings.Contains(bash, want) {
		t.Errorf("bash: run offers something for its argument:\n%s", bash)
	}
	fish, err := Fish(app, h)
	if err != nil {
		t.Fatal(err)
	}
	if regexp.MustCompile(`(?m)^complete -c demo -n '__fish_seen_subcommand_from run' -(x -a|F)`).
		MatchString(fish) {
		t.Errorf("fish: run offers something for its argument:\n%s", fish)
	}
}
