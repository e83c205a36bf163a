// Command pooltasks is the Slack chat-ops bot for Huawei Cloud Workspace
// script execution tasks, and its command-line companions: query, sim and
// version (see `pooltasks help`).
//
// main only wires: it reads the environment once into a Config, runs the
// subcommand and turns its error into an exit code. Subcommands live in their
// own files and register themselves with register.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/kelseyhightower/envconfig"

	"github.com/pooltasks/pooltasks/commands"
	"github.com/pooltasks/pooltasks/config"
	"github.com/pooltasks/pooltasks/redact"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var cfg config.Config
	err := envconfig.Process("", &cfg)
	if err != nil {
		err = usageErrorf("reading the environment: %v", err)
	} else {
		err = run(ctx, os.Args[1:], cfg, os.Stdout, os.Stderr)
	}
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// subcommand is one `pooltasks NAME ...`.
type subcommand struct {
	name    string
	summary string // one line for `pooltasks help`
	run     func(ctx context.Context, args []string, cfg config.Config, stdout, stderr io.Writer) error
}

// subcommands holds every subcommand by name; each file adds its own with
// register in an init function, so adding one touches no other file.
var subcommands = map[string]subcommand{}

func register(c subcommand) {
	if _, dup := subcommands[c.name]; dup {
		panic("pooltasks: subcommand registered twice: " + c.name)
	}
	subcommands[c.name] = c
}

// run dispatches args[0] to its subcommand. Its error is shown to the user:
// no configured secret is in its text (see redacted).
func run(ctx context.Context, args []string, cfg config.Config, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		printUsage(stderr)
		return usageErrorf("no subcommand given")
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		printUsage(stdout)
		return nil
	}
	c, ok := subcommands[name]
	if !ok {
		return usageErrorf("unknown subcommand %q; run `pooltasks help` for the list", name)
	}
	return redacted(c.run(ctx, args[1:], cfg, stdout, stderr), cfg)
}

// redacted is err with every configured secret replaced in its text, as the
// log handler replaces them in log lines: an error can quote an answer that
// echoed a token.
func redacted(err error, cfg config.Config) error {
	if err == nil {
		return nil
	}
	text := redact.New(cfg.Secrets()...).String(err.Error())
	if text == err.Error() {
		return err
	}
	return &redactedError{err: err, text: text}
}

// redactedError is an error whose text had a secret; errors.As still finds
// what it wraps, so the exit status stays the same.
type redactedError struct {
	err  error
	text string
}

func (e *redactedError) Error() string { return e.text }
func (e *redactedError) Unwrap() error { return e.err }

func printUsage(w io.Writer) {
	names := make([]string, 0, len(subcommands))
	for n := range subcommands {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "usage: pooltasks SUBCOMMAND [flags] [args]")
	fmt.Fprintln(w)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, subcommands[n].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Configuration comes from the environment (see README.md); `pooltasks SUBCOMMAND -h` shows its flags.")
}

// usageError is a mistake in the command line or the environment: exit
// status 2, and the message says what to change.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// exitCode reports err on stderr and maps it to the exit status: 0 ok, 2 bad
// input, 1 anything else.
func exitCode(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var ue *usageError
	var ie *commands.InputError
	var ce *config.InvalidError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "pooltasks: %v\n", err)
		return 2
	case errors.As(err, &ce):
		fmt.Fprintf(stderr, "pooltasks: %s\n", strings.ReplaceAll(err.Error(), "\n", "\npooltasks: "))
		return 2
	case errors.As(err, &ie):
		fmt.Fprintf(stderr, "pooltasks: %s\n", strings.ReplaceAll(ie.Error(), "\n", "\npooltasks: "))
		return 2
	default:
		fmt.Fprintf(stderr, "pooltasks: %v\n", err)
		return 1
	}
}

// parseFlags parses flags that may come before, between or after the
// positional words, and returns the words.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var words []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageErrorf("%s: %v", fs.Name(), err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return words, nil
		}
		// Everything after a literal "--" is a word.
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(words, rest...), nil
		}
		words = append(words, rest[0])
		args = rest[1:]
	}
}
