package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/slack-go/slack"

	"github.com/pooltasks/pooltasks/bot"
	"github.com/pooltasks/pooltasks/bot/notify/digest"
	"github.com/pooltasks/pooltasks/bot/notify/loop"
	"github.com/pooltasks/pooltasks/config"
	"github.com/pooltasks/pooltasks/pooltask"
)

func init() {
	register(subcommand{name: "digest", summary: "post one failure digest to a Slack channel and exit (for a CronJob)", run: runDigest})
}

func runDigest(ctx context.Context, args []string, cfg config.Config, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("digest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	channel := fs.String("channel", cfg.DigestChannel, "Slack channel id to post in (default POOLTASKS_DIGEST_CHANNEL)")
	since := fs.Duration("since", 24*time.Hour, "length of the window, which ends now")
	dryRun := fs.Bool("dry-run", false, "print the digest's text and blocks as JSON instead of posting it")
	useSim := fs.Bool("sim", false, "read tasks from the built-in simulator with its demo credentials")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: pooltasks digest --channel C [--since 24h] [--dry-run] [--sim]")
		fs.PrintDefaults()
		fmt.Fprintln(fs.Output(), "\nThe pools are POOLTASKS_DIGEST_POOLS for POOLTASKS_DIGEST_CHANNEL, else the channel's binding in\n"+
			"POOLTASKS_CHANNEL_POOLS (all pools without one); POOLTASKS_DIGEST_QUIET=true posts nothing when nothing failed.")
	}
	words, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(words) > 0 {
		return usageErrorf("digest takes no arguments, got %q", words[0])
	}
	if *since <= 0 {
		return usageErrorf("--since must be positive, got %v", *since)
	}
	var needs config.Need
	if !*dryRun {
		if *channel == "" {
			return usageErrorf("give --channel (or set POOLTASKS_DIGEST_CHANNEL), or use --dry-run")
		}
		needs |= config.NeedBotToken
	}
	if !*useSim {
		needs |= config.NeedWorkspace
	}
	logger, parsed, err := prepare(cfg, needs, stderr)
	if err != nil {
		return err
	}

	client, stop, err := workspaceClient(ctx, cfg, *useSim)
	defer stop()
	if err != nil {
		return err
	}

	// A dry run takes the same path as a post, to a poster that posts
	// nothing; the message is printed instead.
	var poster loop.Poster = dryRunPoster{}
	if !*dryRun {
		// The bot's client settings: slack-go retries 429s, a stuck
		// connection times out; notify paces the posts.
		poster = loop.NewSlackPoster(bot.NewSlackClient("", cfg.SlackBotToken, cfg.SlackAPIURL))
	}
	pools, err := digestPools(cfg, parsed.Bindings, *channel)
	if err != nil {
		return err
	}
	d := digest.New(digest.Config{Channel: *channel, Pools: pools, Quiet: cfg.DigestQuiet},
		loop.Deps{Lister: client, Poster: poster, Log: logger}, nil)
	end := time.Now().UTC().Truncate(time.Minute)
	start := end.Add(-*since)
	target := *channel
	if target == "" {
		target = "dry-run" // a dry run needs no channel
	}
	msg, err := d.Post(ctx, target, pooltask.ListOptions{Start: start, End: end})
	if err != nil {
		return fmt.Errorf("digest of %s to %s: %w", start.Format(time.RFC3339), end.Format(time.RFC3339), err)
	}
	switch {
	case *dryRun:
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(struct {
			Channel string        `json:"channel,omitempty"`
			Text    string        `json:"text"`
			Blocks  []slack.Block `json:"blocks"`
		}{*channel, msg.Text, msg.Blocks})
	case len(msg.Blocks) == 0:
		fmt.Fprintf(stdout, "nothing failed from %s to %s; quiet, nothing posted\n", start.Format(time.RFC3339), end.Format(time.RFC3339))
	default:
		fmt.Fprintf(stdout, "posted the digest of %s to %s in %s\n", start.Format(time.RFC3339), end.Format(time.RFC3339), *channel)
	}
	return nil
}

// dryRunPoster posts nothing: Digester.Post returns the message it would
// have posted.
type dryRunPoster struct{}

func (dryRunPoster) PostMessage(context.Context, string, string, string, []slack.Block) (string, error) {
	return "", nil
}

func (dryRunPoster) UpdateMessage(context.Context, string, string, string, []slack.Block) error {
	return nil
}
