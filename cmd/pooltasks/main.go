// Command pooltasks is the Slack chat-ops bot for Huawei Cloud Workspace
// script execution tasks, and its command-line companions: query, watch,
// digest, doctor, sim and version (see `pooltasks help`).
//
// main only wires: it reads the environment once into a Config, runs the
// command line and turns its error into an exit code. The command tree is
// built with cobra in cli.go; each subcommand lives in its own file and
// registers itself with register.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/pooltasks/pooltasks/commands"
	"github.com/pooltasks/pooltasks/config"
	"github.com/pooltasks/pooltasks/redact"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// A value Load cannot read is a problem of Validate: doctor lists it
	// with every other check, serve and digest refuse to start.
	cfg := config.Load(os.LookupEnv)
	err := run(ctx, os.Args[1:], cfg, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// run runs the command line args. Its error is shown to the user: no
// configured secret is in its text (see redacted).
func run(ctx context.Context, args []string, cfg config.Config, stdout, stderr io.Writer) error {
	root := newRoot(&app{cfg: cfg, stdout: stdout, stderr: stderr, stdin: os.Stdin, terminal: stdinTerminal()})
	root.SetArgs(args)
	return redacted(root.ExecuteContext(ctx), cfg)
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
