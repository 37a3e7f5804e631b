package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// Shell completion and the man page are generated from the cli.App at run
// time, so they always describe the commands and flags of the binary that
// prints them.

var completionShells = []string{"bash", "zsh", "fish"}

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script for bash, zsh or fish",
		UsageText: "lanfind completion bash|zsh|fish",
		Description: "Load it in the current shell, or install it where your shell looks for completions:\n" +
			"  bash: source <(lanfind completion bash)   or   lanfind completion bash >/etc/bash_completion.d/lanfind\n" +
			"  zsh:  source <(lanfind completion zsh)   or   lanfind completion zsh >\"${fpath[1]}/_lanfind\"\n" +
			"  fish: lanfind completion fish >~/.config/fish/completions/lanfind.fish",
		Action: runCompletion,
	}
}

func manCommand() *cli.Command {
	return &cli.Command{
		Name:        "man",
		Usage:       "print the manual page (roff)",
		UsageText:   "lanfind man",
		Description: "Read it with: lanfind man | man -l -\nInstall it with: lanfind man >/usr/local/share/man/man1/lanfind.1",
		Action:      runMan,
	}
}

func runCompletion(c *cli.Context) error {
	if c.NArg() != 1 || !slices.Contains(completionShells, c.Args().First()) {
		return usageErrorf("completion takes one shell: bash, zsh or fish")
	}
	var script string
	var err error
	switch c.Args().First() {
	case "bash":
		script = bashCompletion(c.App)
	case "zsh":
		script = zshCompletion(c.App)
	case "fish":
		script, err = fishCompletion(c.App)
	}
	if err != nil {
		return runtimeError(err)
	}
	_, err = io.WriteString(c.App.Writer, script)
	return runtimeError(err)
}

func runMan(c *cli.Context) error {
	if c.Args().Present() {
		return usageErrorf("man takes no arguments, got %q", c.Args().First())
	}
	page, err := c.App.ToManWithSection(1)
	if err != nil {
		return runtimeError(err)
	}
	_, err = io.WriteString(c.App.Writer, manValues(c.App, page))
	return runtimeError(err)
}

// manValues replaces the empty `=""` urfave/cli writes after every flag
// that takes a value (as if its default were empty) with the flag's
// placeholder from its usage text: "--timeout=D", "--iface=NAME".
func manValues(app *cli.App, page string) string {
	var pairs []string
	seen := map[string]bool{}
	for _, cmd := range app.Commands {
		for _, f := range cmd.Flags {
			df, ok := f.(cli.DocGenerationFlag)
			if !ok || !df.TakesValue() || seen[f.Names()[0]] {
				continue
			}
			seen[f.Names()[0]] = true
			placeholder := "VALUE"
			if _, rest, ok := strings.Cut(df.GetUsage(), "`"); ok {
				if name, _, ok := strings.Cut(rest, "`"); ok {
					placeholder = name
				}
			}
			pairs = append(pairs, `\fB--`+f.Names()[0]+`\fP="":`, `\fB--`+f.Names()[0]+`\fP=\fI`+placeholder+`\fP:`)
		}
	}
	return strings.NewReplacer(pairs...).Replace(page)
}

// valueKind says what a flag's value is, for completion.
type valueKind int

const (
	valueNone   valueKind = iota // a boolean flag
	valueAny                     // a value nothing can be suggested for
	valueIface                   // an interface name
	valueFile                    // a path
	valueChoice                  // one of flagChoices
)

// flagChoices are the values of flags that take one of a fixed set.
var flagChoices = map[string][]string{
	"log-format": logFormats,
}

// argChoices are the positional arguments of commands that take one of a
// fixed set.
var argChoices = map[string][]string{
	"completion": completionShells,
}

// fileArgs are the commands whose positional argument is a file.
var fileArgs = map[string]bool{"keygen": true, "check-config": true}

func init() {
	// Filled in here, as newApp is what lists the commands.
	argChoices["help"] = commandNames(newApp(io.Discard, io.Discard))
}

func kindOf(f cli.Flag) valueKind {
	name := f.Names()[0]
	switch {
	case isBool(f):
		return valueNone
	case name == "iface" || name == "exclude-iface":
		return valueIface
	case flagChoices[name] != nil:
		return valueChoice
	}
	if df, ok := f.(cli.DocGenerationFlag); ok && df.TakesValue() {
		if tf, ok := f.(interface{ IsTakesFile() bool }); ok && tf.IsTakesFile() {
			return valueFile
		}
	}
	if strings.HasSuffix(name, "-file") || name == "config" {
		return valueFile
	}
	return valueAny
}

func isBool(f cli.Flag) bool {
	_, ok := f.(*cli.BoolFlag)
	return ok
}

// dashedNames returns a flag's names as typed: --verbose, -v.
func dashedNames(f cli.Flag) []string {
	var out []string
	for _, n := range f.Names() {
		out = append(out, dashed(n))
	}
	return out
}

// flagUsage returns a flag's one-line help text, without the backquotes
// that mark its placeholder.
func flagUsage(f cli.Flag) string {
	if df, ok := f.(cli.DocGenerationFlag); ok {
		return strings.ReplaceAll(df.GetUsage(), "`", "")
	}
	return ""
}

// visibleFlags returns c's own flags, leaving out hidden ones and the help
// flag urfave/cli adds to commands once they ran.
func visibleFlags(c *cli.Command) []cli.Flag {
	var out []cli.Flag
	for _, f := range c.Flags {
		if vf, ok := f.(cli.VisibleFlag); (ok && !vf.IsVisible()) || f == cli.HelpFlag {
			continue
		}
		out = append(out, f)
	}
	return out
}

func commandNames(app *cli.App) []string {
	var out []string
	for _, c := range app.VisibleCommands() {
		out = append(out, c.Names()...)
	}
	return out
}

// bashCompletion returns a bash completion script: one case per command
// with its flags, and value completion for flags that take interfaces,
// files or a fixed set of values.
func bashCompletion(app *cli.App) string {
	var b strings.Builder
	fmt.Fprintf(&b, `# bash completion for %[1]s; generated by "%[1]s completion bash".
# Load it with: source <(%[1]s completion bash)

_%[1]s_ifaces() {
	local d
	for d in /sys/class/net/*; do
		[[ -e $d ]] && printf '%%s\n' "${d##*/}"
	done
}

_%[1]s() {
	local cur prev cmd i
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=
	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
	cmd=
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		%[2]s)
			cmd=${COMP_WORDS[i]}
			break
			;;
		esac
	done
`, app.Name, strings.Join(commandNames(app), "|"))

	// Values of the flag before the cursor.
	byKind := map[valueKind][]string{}
	choices := map[string][]string{}
	seen := map[string]bool{}
	for _, c := range app.VisibleCommands() {
		for _, f := range visibleFlags(c) {
			name := f.Names()[0]
			if seen[name] {
				continue
			}
			seen[name] = true
			k := kindOf(f)
			byKind[k] = append(byKind[k], dashedNames(f)...)
			if k == valueChoice {
				choices[strings.Join(dashedNames(f), "|")] = flagChoices[name]
			}
		}
	}
	b.WriteString("\tcase $prev in\n")
	if fs := byKind[valueIface]; len(fs) > 0 {
		fmt.Fprintf(&b, "\t%s)\n\t\tCOMPREPLY=($(compgen -W \"$(_%s_ifaces)\" -- \"$cur\"))\n\t\treturn\n\t\t;;\n", strings.Join(fs, "|"), app.Name)
	}
	if fs := byKind[valueFile]; len(fs) > 0 {
		fmt.Fprintf(&b, "\t%s)\n\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n\t\treturn\n\t\t;;\n", strings.Join(fs, "|"))
	}
	for _, fs := range sortedKeys(choices) {
		fmt.Fprintf(&b, "\t%s)\n\t\tCOMPREPLY=($(compgen -W %s -- \"$cur\"))\n\t\treturn\n\t\t;;\n", fs, shellQuote(strings.Join(choices[fs], " ")))
	}
	if fs := byKind[valueAny]; len(fs) > 0 {
		fmt.Fprintf(&b, "\t%s)\n\t\treturn # a value: nothing to suggest\n\t\t;;\n", strings.Join(fs, "|"))
	}
	b.WriteString("\tesac\n\n")

	// Flags and arguments of the command.
	b.WriteString("\tlocal flags= args= files=\n\tcase $cmd in\n")
	fmt.Fprintf(&b, "\t'')\n\t\tCOMPREPLY=($(compgen -W %s -- \"$cur\"))\n\t\treturn\n\t\t;;\n",
		shellQuote(strings.Join(append(commandNames(app), "--help"), " ")))
	for _, c := range app.VisibleCommands() {
		var flags []string
		for _, f := range visibleFlags(c) {
			flags = append(flags, dashedNames(f)...)
		}
		flags = append(flags, "--help", "-h")
		fmt.Fprintf(&b, "\t%s)\n\t\tflags=%s\n", strings.Join(c.Names(), "|"), shellQuote(strings.Join(flags, " ")))
		if a := argChoices[c.Name]; a != nil {
			fmt.Fprintf(&b, "\t\targs=%s\n", shellQuote(strings.Join(a, " ")))
		}
		if fileArgs[c.Name] {
			b.WriteString("\t\tfiles=1\n")
		}
		b.WriteString("\t\t;;\n")
	}
	b.WriteString(`	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$flags" -- "$cur"))
	elif [[ -n $args ]]; then
		COMPREPLY=($(compgen -W "$args" -- "$cur"))
	elif [[ -n $files ]]; then
		COMPREPLY=($(compgen -f -- "$cur"))
	fi
}

`)
	fmt.Fprintf(&b, "complete -F _%[1]s %[1]s\n", app.Name)
	return b.String()
}

// zshCompletion returns a zsh completion script (#compdef) that describes
// every command and, with _arguments, every flag.
func zshCompletion(app *cli.App) string {
	var b strings.Builder
	fmt.Fprintf(&b, `#compdef %[1]s
# zsh completion for %[1]s; generated by "%[1]s completion zsh".
# Install it as _%[1]s in a directory of $fpath, or load it with
# source <(%[1]s completion zsh) after compinit.

_%[1]s_ifaces() {
	local -a ifs
	ifs=(/sys/class/net/*(N:t))
	_describe -t interfaces 'network interface' ifs
}

_%[1]s() {
	local -a commands
	commands=(
`, app.Name)
	for _, c := range app.VisibleCommands() {
		for _, n := range c.Names() {
			fmt.Fprintf(&b, "\t\t%s\n", shellQuote(n+":"+zshEscape(c.Usage, ":")))
		}
	}
	b.WriteString(`	)
	if ((CURRENT == 2)); then
		_describe -t commands 'lanfind command' commands
		return
	fi
	local cmd=${words[2]}
	shift words
	((CURRENT--))
	curcontext="${curcontext%:*:*}:lanfind-$cmd:"
	case $cmd in
`)
	for _, c := range app.VisibleCommands() {
		fmt.Fprintf(&b, "\t%s)\n\t\t_arguments -s \\\n", strings.Join(c.Names(), "|"))
		for _, f := range visibleFlags(c) {
			fmt.Fprintf(&b, "\t\t\t%s \\\n", zshFlagSpec(app.Name, f))
		}
		if a := argChoices[c.Name]; a != nil {
			fmt.Fprintf(&b, "\t\t\t%s \\\n", shellQuote("1:"+c.Name+":("+strings.Join(a, " ")+")"))
		}
		if fileArgs[c.Name] {
			b.WriteString("\t\t\t'1:file:_files' \\\n")
		}
		b.WriteString("\t\t\t&& return\n\t\t;;\n")
	}
	// Autoloaded from $fpath, the file is the function's body; sourced,
	// it registers the function.
	fmt.Fprintf(&b, "\tesac\n}\n\nif [[ $funcstack[1] == _%[1]s ]]; then\n\t_%[1]s \"$@\"\nelse\n\tcompdef _%[1]s %[1]s\nfi\n", app.Name)
	return b.String()
}

// zshFlagSpec returns the _arguments spec of f, e.g.
// '(-v --verbose)'{-v,--verbose}'[log debug details]'.
func zshFlagSpec(prog string, f cli.Flag) string {
	names := dashedNames(f)
	desc := "[" + zshEscape(flagUsage(f), "[]") + "]"
	var action string
	switch k := kindOf(f); k {
	case valueIface:
		action = ":interface:_" + prog + "_ifaces"
	case valueFile:
		action = ":file:_files"
	case valueChoice:
		action = ":" + f.Names()[0] + ":(" + strings.Join(flagChoices[f.Names()[0]], " ") + ")"
	case valueAny:
		action = ":" + f.Names()[0] + ": "
	}
	repeat := ""
	if _, ok := f.(*cli.StringSliceFlag); ok {
		repeat = "*"
	}
	if len(names) == 1 {
		return shellQuote(repeat + names[0] + desc + action)
	}
	excl := ""
	if repeat == "" {
		excl = shellQuote("(" + strings.Join(names, " ") + ")")
	}
	return excl + repeat + "{" + strings.Join(names, ",") + "}" + shellQuote(desc+action)
}

// zshEscape backslash-escapes the characters of special (and backslashes)
// in s, for _arguments and _describe specs.
func zshEscape(s, special string) string {
	var b strings.Builder
	for _, r := range s {
		if r == '\\' || strings.ContainsRune(special, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// fishCompletion returns urfave/cli's fish script plus value completion
// for interface flags and fixed choices.
func fishCompletion(app *cli.App) (string, error) {
	script, err := app.ToFishCompletion()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(script)
	b.WriteString("\n# No file names unless a flag takes a file; values of flags that take an\n# interface name, a file or one of a fixed set.\n")
	fmt.Fprintf(&b, "complete -c %s -f\n", app.Name)
	for _, c := range app.VisibleCommands() {
		cond := shellQuote("__fish_seen_subcommand_from " + strings.Join(c.Names(), " "))
		for _, f := range visibleFlags(c) {
			name := f.Names()[0]
			switch kindOf(f) {
			case valueIface:
				fmt.Fprintf(&b, "complete -c %s -n %s -l %s -x -a '(__fish_print_interfaces)'\n", app.Name, cond, name)
			case valueChoice:
				fmt.Fprintf(&b, "complete -c %s -n %s -l %s -x -a %s\n", app.Name, cond, name, shellQuote(strings.Join(flagChoices[name], " ")))
			case valueFile:
				fmt.Fprintf(&b, "complete -c %s -n %s -l %s -r -F\n", app.Name, cond, name)
			}
		}
		if a := argChoices[c.Name]; a != nil {
			fmt.Fprintf(&b, "complete -c %s -n %s -x -a %s\n", app.Name, cond, shellQuote(strings.Join(a, " ")))
		}
		if fileArgs[c.Name] {
			fmt.Fprintf(&b, "complete -c %s -n %s -F\n", app.Name, cond)
		}
	}
	return b.String(), nil
}

// shellQuote quotes s in single quotes for sh, bash, zsh and fish.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// appDescription is the DESCRIPTION of "lanfind help" and of the man page.
const appDescription = `lanfind announce sends a service's beacon to the subnet broadcast address and the
multicast group 239.255.70.70 on every usable interface; lanfind list, resolve and watch
find services by querying and listening on UDP port 28471. Flags work before or after a
command's arguments; several shared ones also come from LANFIND_* environment variables.

Exit status: 0 success (list and resolve: found); 1 a runtime failure (list and resolve:
nothing matched; doctor: a problem found); 2 a bad command line or configuration.

lanfind doctor explains why a LAN looks silent; lanfind completion bash|zsh|fish prints
a completion script; lanfind man prints this page.`
