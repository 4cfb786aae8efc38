// Package app builds pipelines from configuration and runs Vigil's
// commands: argument parsing, wiring of sources, processors and sinks, the
// run's lifecycle and its summary.
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"sort"
	"strings"

	"github.com/vigil-siem/vigil/internal/logtype"
)

// Exit codes of every command.
const (
	ExitOK      = 0 // everything was processed
	ExitFailure = 1 // some file or record failed
	ExitUsage   = 2 // bad arguments or configuration
)

// Version is the release version, set at build time with
// -ldflags "-X github.com/vigil-siem/vigil/internal/app.Version=v1.2.3".
var Version = "dev"

// command is one subcommand.
type command struct {
	name    string
	summary string
	usage   string
	run     func(ctx context.Context, env *Env, args []string) int
}

// Env holds the standard streams of a command.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

func commands() []command {
	return []command{
		{name: "load", summary: "load log files into a sink", usage: loadUsage, run: runLoad},
		{name: "demo", summary: "sample data in the embedded store, served in the console", usage: demoUsage, run: runDemo},
		{name: "search", summary: "search the embedded store", usage: searchUsage, run: runSearch},
		{name: "serve", summary: "serve the web console and HTTP API over the embedded store", usage: serveUsage, run: runServe},
		{name: "hunt", summary: "run a rule over stored history", usage: huntUsage, run: runHunt},
		{name: "setup", summary: "install index templates, ISM policies and dashboards in OpenSearch", usage: setupUsage, run: runSetup},
		{name: "retention", summary: "delete data older than an age", usage: retentionUsage, run: runRetention},
		{name: "rules", summary: "evaluate, check and test detection rules", usage: rulesUsage, run: runRules},
		{name: "version", summary: "print the version", usage: "usage: vigil version\n", run: runVersion},
		{name: "help", summary: "show help for a command", usage: "usage: vigil help [COMMAND]\n", run: nil},
	}
}

// Main runs the command line args and returns the exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	env := &Env{Stdin: stdin, Stdout: stdout, Stderr: stderr}
	if len(args) == 0 {
		printUsage(stderr)
		return ExitUsage
	}
	name := args[0]
	switch name {
	case "-h", "--help", "-help":
		printUsage(stdout)
		return ExitOK
	case "--version", "-version":
		return runVersion(ctx, env, nil)
	case "help":
		return runHelp(env, args[1:])
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, env, args[1:])
		}
	}
	fmt.Fprintf(stderr, "vigil: unknown command %q\n\n", name)
	printUsage(stderr)
	return ExitUsage
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "Vigil loads AWS security logs, normalized to ECS, into a searchable store.")
	fmt.Fprintln(w, "\nusage: vigil COMMAND [flags] [args]\n\ncommands:")
	cmds := commands()
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].name < cmds[j].name })
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'vigil help COMMAND' for a command's flags.")
}

func runHelp(env *Env, args []string) int {
	if len(args) == 0 {
		printUsage(env.Stdout)
		return ExitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			fmt.Fprint(env.Stdout, c.usage)
			return ExitOK
		}
	}
	fmt.Fprintf(env.Stderr, "vigil help: unknown command %q\n", args[0])
	return ExitUsage
}

func runVersion(_ context.Context, env *Env, _ []string) int {
	v := Version
	if bi, ok := debug.ReadBuildInfo(); ok && v == "dev" {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v = "dev-" + s.Value[:12]
			}
		}
	}
	fmt.Fprintf(env.Stdout, "vigil %s\n", v)
	return ExitOK
}

// parseInterleaved parses flags that may come before or after positional
// arguments, as users expect ("vigil load DIR --sink ndjson:-"). A "--"
// ends flag parsing.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if len(args) > 0 && len(rest) < len(args) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string { return strings.Join(*m, ",") }

// Set adds one value.
func (m *multiFlag) Set(v string) error {
	if v == "" {
		return errors.New("empty value")
	}
	*m = append(*m, v)
	return nil
}

// checkTypes rejects a --type value that names no log type of reg nor one
// of also (types that exist without a configuration, such as the store's
// alerts), listing the known names.
func checkTypes(reg *logtype.Registry, names []string, also ...string) error {
	for _, n := range names {
		if _, ok := reg.Get(n); !ok && !slices.Contains(also, n) {
			return fmt.Errorf("--type %q: unknown log type (known: %s)", n, strings.Join(append(reg.Names(), also...), ", "))
		}
	}
	return nil
}
