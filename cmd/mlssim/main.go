// Command mlssim is the mlslab command line: conformance against the IETF
// test vectors, simulation runs and sweeps, plots and tables.
//
// Usage:
//
//	mlssim <command> [flags] [args]
//
// Run `mlssim help` for the list of commands and `mlssim <command> --help`
// for one command's flags and an example.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/mlslab/mlslab/sim"
)

// command is one subcommand. run returns the process exit status: 0 success,
// 1 a failure of the work itself (e.g. a vector case failed), 2 bad usage or
// bad input.
type command struct {
	name    string
	summary string
	run     func(args []string) int
}

var commands = map[string]command{}

// stdout and stderr are where commands write; tests replace them.
var (
	stdout io.Writer = os.Stdout
	stderr io.Writer = os.Stderr
)

func register(c command) {
	if _, dup := commands[c.name]; dup {
		panic("mlssim: duplicate command " + c.name)
	}
	commands[c.name] = c
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: mlssim <command> [flags] [args]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'mlssim <command> --help' for details.")
}

func main() {
	os.Exit(realMain(os.Args[1:]))
}

func realMain(args []string) int {
	// Read the build stamp now: without VCS stamping it is the checkout's
	// HEAD, which a long run must record as it was when the run started.
	sim.Version()
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "help", "-h", "--help", "-help":
		usage(stdout)
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "mlssim: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
	return c.run(args[1:])
}
