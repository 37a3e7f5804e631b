package main

import (
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/lanfind/lanfind/internal/clidoc"
)

// TestCompletionCoverage checks that every command and every flag of every
// command appears in each completion script and in the man page, in the
// form that shell or roff uses for it.
func TestCompletionCoverage(t *testing.T) {
	app := newApp(io.Discard, io.Discard)
	outputs := map[string]string{}
	for _, shell := range clidoc.Shells {
		script, err := clidoc.Completion(app, completionHints, shell)
		if err != nil {
			t.Fatal(err)
		}
		outputs[shell] = script
	}
	man, err := clidoc.Man(app, manPage)
	if err != nil {
		t.Fatal(err)
	}
	outputs["man"] = man
	for _, c := range app.VisibleCommands() {
		if c.Name == "help" {
			continue
		}
		cmd := regexp.QuoteMeta(c.Name)
		// Where the command appears, and where one of its flags does.
		wantCmd := map[string]string{
			"bash": `(?m)^\t` + cmd + `\)$`,
			"zsh":  `(?m)^\t\t'` + cmd + `:`,
			"fish": `-a '` + cmd + `'`,
			"man":  `(?m)^\.SH ` + cmd + `$`,
		}
		for out, re := range wantCmd {
			if !regexp.MustCompile(re).MatchString(outputs[out]) {
				t.Errorf("%s: command %s missing (want a match for %s)", out, c.Name, re)
			}
		}
		bashFlags := regexp.MustCompile(`(?m)^\t` + cmd + `\)\n\t\tflags='([^']*)'`).FindStringSubmatch(outputs["bash"])
		zshSection := section(outputs["zsh"], "\t"+c.Name+")\n", "\t\t;;\n")
		for _, f := range c.VisibleFlags() {
			for _, n := range f.Names() {
				if bashFlags == nil || !strings.Contains(" "+bashFlags[1]+" ", " "+dashed(n)+" ") {
					t.Errorf("bash: %s: flag %s missing", c.Name, dashed(n))
				}
				if !strings.Contains(zshSection, dashed(n)) {
					t.Errorf("zsh: %s: flag %s missing", c.Name, dashed(n))
				}
				opt := " -l " + n + " "
				if len(n) == 1 {
					opt = " -s " + n + " "
				}
				if !regexp.MustCompile(`(?m)^complete -c lanfind -n '__fish_seen_subcommand_from ` + cmd + `'.*` + regexp.QuoteMeta(opt)).MatchString(outputs["fish"]) {
					t.Errorf("fish: %s: flag %s missing", c.Name, dashed(n))
				}
				manFlag := regexp.MustCompile(`(?m)^\\fB(?:[^\\\n]*, )?` + regexp.QuoteMeta(dashed(n)) + `(?:,|\\fP)`)
				if !manFlag.MatchString(section(outputs["man"], ".SH "+c.Name+"\n", "\n.SH ")) {
					t.Errorf("man: %s: flag %s missing", c.Name, dashed(n))
				}
			}
		}
	}
}

// section returns the part of s from begin up to the next end, or "".
func section(s, begin, end string) string {
	_, after, ok := strings.Cut(s, begin)
	if !ok {
		return ""
	}
	if i := strings.Index(after, end); i >= 0 {
		return after[:i]
	}
	return after
}
