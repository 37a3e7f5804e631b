package clidoc

import (
	"bytes"
	"slices"
	"strings"
	"text/template"

	"github.com/cpuguy83/go-md2man/v2/md2man"
	"github.com/urfave/cli/v2"
)

// Page is what the manual page says besides what the app tells about
// itself (its name, usage, description, commands and flags, and the
// environment variables its flags read).
type Page struct {
	Section     int
	ExitStatus  []Item // EXIT STATUS: Name is the status
	Environment []Item // variables no flag reads; the flags' ones are listed from the flags
	Examples    []Item // EXAMPLES: Name is the command line, Text what it does
}

// Item is one entry of a section of the manual page.
type Item struct {
	Name string
	Text string
}

// Man returns the manual page of app in roff: NAME, SYNOPSIS (the usage
// lines of every command), DESCRIPTION, COMMANDS (each with its flags),
// EXIT STATUS, ENVIRONMENT and EXAMPLES. It is written as markdown with
// manTemplate and rendered with md2man, as urfave/cli renders its own.
// The help command is left out: "lanfind help" is in the SYNOPSIS.
func Man(app *cli.App, p Page) (string, error) {
	t, err := template.New("man").Funcs(template.FuncMap{
		"md":    mdEscape,
		"flag":  mdFlag,
		"lines": lines,
	}).Parse(manTemplate)
	if err != nil {
		return "", err
	}
	var cmds []*cli.Command
	for _, c := range app.VisibleCommands() {
		if c.Name != "help" {
			cmds = append(cmds, c)
		}
	}
	var b bytes.Buffer
	err = t.Execute(&b, struct {
		App      *cli.App
		Page     Page
		Commands []*cli.Command
		Env      []Item
	}{app, p, cmds, environment(cmds, p.Environment)})
	if err != nil {
		return "", err
	}
	return string(md2man.Render(b.Bytes())), nil
}

const manTemplate = `% {{.App.Name}} {{.Page.Section}}

# NAME

{{.App.Name}} - {{md .App.Usage}}

# SYNOPSIS
{{range .Commands}}{{range $l := lines .UsageText}}
    {{$l}}{{end}}{{end}}

{{if .App.Description}}# DESCRIPTION

{{md .App.Description}}
{{end}}
# COMMANDS
{{range .Commands}}
## {{.Name}}

{{md .Usage}}
{{range $l := lines .UsageText}}
    {{$l}}{{end}}
{{if .Description}}
{{md .Description}}
{{end}}{{range .VisibleFlags}}
{{flag .}}
{{end}}{{end}}
# EXIT STATUS
{{range .Page.ExitStatus}}
**{{.Name}}**
: {{md .Text}}
{{end}}
# ENVIRONMENT
{{range .Env}}
**{{.Name}}**
: {{md .Text}}
{{end}}
# EXAMPLES
{{range .Page.Examples}}
{{md .Text}}

    {{.Name}}
{{end}}`

// lines returns the lines of s.
func lines(s string) []string { return strings.Split(strings.Trim(s, "\n"), "\n") }

// mdEscape escapes the characters of s that markdown would take for
// emphasis or code, so that text reaches the page as written.
func mdEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "`", "\\`").Replace(s)
}

// mdFlag returns a flag's paragraph: its names in bold, the placeholder of
// its value (the backquoted word of its usage) in italics, and its usage
// with its default: "**--timeout**=_D_: give up after D at most
// (default: 3s)".
func mdFlag(f cli.Flag) string {
	df, ok := f.(cli.DocGenerationFlag)
	if !ok {
		return ""
	}
	var names []string
	for _, n := range f.Names() {
		names = append(names, dashed(n))
	}
	placeholder, usage := unquoteUsage(df.GetUsage())
	s := "**" + strings.Join(names, ", ") + "**"
	if df.TakesValue() {
		s += "=_" + mdEscape(placeholder) + "_"
		def := df.GetDefaultText()
		if def == "" {
			def = df.GetValue()
		}
		if def != "" {
			usage += " (default: " + def + ")"
		}
	}
	return s + ": " + mdEscape(usage)
}

// unquoteUsage returns the placeholder of a flag's usage text (the word
// between backquotes, "VALUE" without one) and the text without the
// backquotes, as urfave/cli's help shows it.
func unquoteUsage(usage string) (placeholder, text string) {
	before, rest, ok := strings.Cut(usage, "`")
	if !ok {
		return "VALUE", usage
	}
	name, after, ok := strings.Cut(rest, "`")
	if !ok {
		return "VALUE", usage
	}
	return name, before + name + after
}

// environment returns the variables the flags of cmds read, each with the
// usage of its flag, then extra; sorted by name.
func environment(cmds []*cli.Command, extra []Item) []Item {
	seen := map[string]bool{}
	var out []Item
	for _, c := range cmds {
		for _, f := range c.VisibleFlags() {
			df, ok := f.(cli.DocGenerationFlag)
			if !ok {
				continue
			}
			for _, v := range df.GetEnvVars() {
				if seen[v] {
					continue
				}
				seen[v] = true
				_, usage := unquoteUsage(df.GetUsage())
				text := "as " + dashed(f.Names()[0]) + ": " + usage
				out = append(out, Item{Name: v, Text: text})
			}
		}
	}
	out = append(out, extra...)
	slices.SortFunc(out, func(a, b Item) int { return strings.Compare(a.Name, b.Name) })
	return out
}
