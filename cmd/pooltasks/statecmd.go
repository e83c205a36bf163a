package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/pooltasks/pooltasks/bot/notify/state"
	"github.com/pooltasks/pooltasks/bot/notify/state/redisstore"
)

func init() { register(newStateCmd) }

// documentStore is a store whose whole content moves as one
// state.Document: the file store and the Redis store.
type documentStore interface {
	Export(context.Context) (*state.Document, error)
	Import(context.Context, *state.Document) error
	Close() error
}

func newStateCmd(a *app) *cobra.Command {
	c := &cobra.Command{
		Use:   "state COMMAND",
		Short: "Export the saved state as one JSON document, or import one (to move it between the file store and Redis)",
		Long: "State moves everything pooltasks saves (digest watermarks, alert memory, watches, " +
			"actions, approvals, living alerts, mutes) out of the configured store and into " +
			"another: the file store in POOLTASKS_STATE_DIR, or Redis when POOLTASKS_REDIS_URL is set.",
		Example: "  POOLTASKS_STATE_DIR=/var/lib/pooltasks pooltasks state export --to state.json\n" +
			"  POOLTASKS_REDIS_URL=redis://redis:6379 pooltasks state import --from state.json",
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErrorf("state needs a subcommand: export or import")
			}
			return unknownSubcommand(c, args[0])
		},
		RunE: func(*cobra.Command, []string) error { return nil },
	}
	var to string
	export := &cobra.Command{
		Use:   "export",
		Short: "Write everything the configured store keeps as one JSON document",
		Long: "Export writes everything the configured store keeps (POOLTASKS_STATE_DIR, or Redis " +
			"with POOLTASKS_REDIS_URL) as one versioned JSON document, to standard output or --to. " +
			"It reads only: a running pooltasks may keep going.",
		Example: "  pooltasks state export --to state.json",
		Args:    noArgs,
		RunE:    func(c *cobra.Command, _ []string) error { return runStateExport(c.Context(), a, to) },
	}
	export.Flags().StringVar(&to, "to", "", "file to write (default standard output)")
	var from string
	var force bool
	imp := &cobra.Command{
		Use:   "import",
		Short: "Write a document made by export into the configured store",
		Long: "Import reads a document made by state export (from standard input or --from) and " +
			"makes it the whole content of the configured store. It refuses a store that keeps " +
			"anything unless --force (which replaces it), and a state directory a running " +
			"pooltasks holds: stop it first.",
		Example: "  pooltasks state import --from state.json\n" +
			"  pooltasks state import --from state.json --force",
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runStateImport(c.Context(), a, from, force) },
	}
	imp.Flags().StringVar(&from, "from", "", "file to read (default standard input)")
	imp.Flags().BoolVar(&force, "force", false, "replace what the store keeps")
	c.AddCommand(export, imp)
	return c
}

// openDocumentStore opens the configured store; lock takes the file
// store's directory lock (for a write).
func openDocumentStore(ctx context.Context, a *app, lock bool) (documentStore, error) {
	if _, _, err := prepare(a.cfg, 0, a.stderr); err != nil {
		return nil, err
	}
	if a.cfg.RedisURL != "" {
		return redisstore.Open(ctx, a.cfg.RedisURL, a.cfg.RedisPrefix)
	}
	s, err := state.Open(a.cfg.StateDir, state.Options{Lock: lock, Program: "pooltasks " + version})
	if _, ok := errors.AsType[*state.LockedError](err); ok {
		return nil, fmt.Errorf("%w: a running pooltasks scheduler holds it; stop it before importing", err)
	}
	if _, ok := errors.AsType[*state.NewerError](err); ok {
		return nil, usageErrorf("%v", err)
	}
	if err != nil {
		return nil, err
	}
	if l := s.Lost(); l != nil {
		s.Close()
		return nil, fmt.Errorf("state in %s is unreadable: %s", l.Dir, l.Why)
	}
	if why := s.Recovered(); why != "" {
		fmt.Fprintf(a.stderr, "pooltasks: state in %s: %s\n", s.Dir(), why)
	}
	return s, nil
}

func runStateExport(ctx context.Context, a *app, to string) error {
	s, err := openDocumentStore(ctx, a, false)
	if err != nil {
		return err
	}
	defer s.Close()
	d, err := s.Export(ctx)
	if err != nil {
		return fmt.Errorf("exporting the state: %w", err)
	}
	d.WrittenBy = "pooltasks " + version
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the state: %w", err)
	}
	b = append(b, '\n')
	if to == "" {
		_, err = a.stdout.Write(b)
		return err
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		return fmt.Errorf("writing the state: %w", err)
	}
	return nil
}

func runStateImport(ctx context.Context, a *app, from string, force bool) error {
	var b []byte
	var err error
	name := "standard input"
	if from == "" {
		b, err = io.ReadAll(a.stdin)
	} else {
		name = from
		b, err = os.ReadFile(from)
	}
	if err != nil {
		return fmt.Errorf("reading the state: %w", err)
	}
	d, err := state.DecodeDocument(b)
	if ne, ok := errors.AsType[*state.NewerError](err); ok {
		by := ne.WrittenBy
		if by == "" {
			by = "a newer pooltasks"
		}
		return usageErrorf("%s was exported by %s (state version %d; this pooltasks knows version %d): import it with that version or newer",
			name, by, ne.Version, state.NewDocument().Version)
	}
	if err != nil {
		return usageErrorf("%s is not a state document made by `pooltasks state export`: %v", name, err)
	}
	s, err := openDocumentStore(ctx, a, true)
	if err != nil {
		return err
	}
	defer s.Close()
	if !force {
		have, err := s.Export(ctx)
		if err != nil {
			return fmt.Errorf("reading the state: %w", err)
		}
		if !have.Empty() {
			return fmt.Errorf("the store (%s) is not empty: give --force to replace what it keeps", describeStore(a))
		}
	}
	if err := s.Import(ctx, d); err != nil {
		return fmt.Errorf("importing the state: %w", err)
	}
	return nil
}

func describeStore(a *app) string {
	if a.cfg.RedisURL != "" {
		return "redis, prefix " + a.cfg.RedisPrefix
	}
	return "state directory " + a.cfg.StateDir
}
