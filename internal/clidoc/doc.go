// Package clidoc owns what a urfave/cli application says about itself
// outside its help: shell completion scripts for bash, zsh and fish
// ([Completion]) and the manual page ([Man]).
//
// Both are generated from the *cli.App at run time, so they always
// describe the commands and flags of the binary that prints them; what a
// cli.Flag cannot tell (which flags take an interface name, the fixed
// choices of a value, the exit status, examples) comes in [Hints] and
// [Page]. Nothing is computed in init.
//
// It may import github.com/urfave/cli/v2 and github.com/cpuguy83/go-md2man
// (the renderer urfave/cli itself uses for its man pages), and no lanfind
// package: it knows nothing about services or networks.
package clidoc
