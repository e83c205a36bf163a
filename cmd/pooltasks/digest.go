package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/slack-go/slack"
	"github.com/spf13/cobra"

	"github.com/pooltasks/pooltasks/bot"
	"github.com/pooltasks/pooltasks/bot/blocks"
	"github.com/pooltasks/pooltasks/bot/notify/digest"
	"github.com/pooltasks/pooltasks/bot/notify/loop"
	"github.com/pooltasks/pooltasks/commands"
	"github.com/pooltasks/pooltasks/config"
	"github.com/pooltasks/pooltasks/pooltask"
)

func init() { register(newDigestCmd) }

// digestOptions are the flags of digest.
type digestOptions struct {
	channel string
	since   string
	dryRun  bool
	sim     bool
}

func newDigestCmd(a *app) *cobra.Command {
	o := digestOptions{channel: a.cfg.DigestChannel}
	c := &cobra.Command{
		Use:   "digest",
		Short: "Post one failure digest to a Slack channel and exit (for a CronJob)",
		Long: "Digest posts one failure digest, the failed tasks of the window that " +
			"ends now, to a Slack channel and exits: run it from cron or a Kubernetes " +
			"CronJob instead of the bot's scheduled digests.\n\n" +
			"The pools are POOLTASKS_DIGEST_POOLS for POOLTASKS_DIGEST_CHANNEL, else " +
			"the channel's binding in POOLTASKS_CHANNEL_POOLS (all pools without one); " +
			"POOLTASKS_DIGEST_QUIET=true posts nothing when nothing failed.\n\n" +
			"With several targets, one that does not answer is named in the digest " +
			"of the others, which is posted, and the exit status is 1 so that the " +
			"CronJob's run shows as failed.",
		Example: "  pooltasks digest --channel C0123456789 --since 24h\n" +
			"  pooltasks digest --channel C0123456789 --since monday\n" +
			"  pooltasks digest --sim --dry-run --since 72h",
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runDigest(c.Context(), a, o) },
	}
	c.Flags().StringVar(&o.channel, "channel", o.channel, "Slack channel id to post in (default POOLTASKS_DIGEST_CHANNEL)")
	c.Flags().StringVar(&o.since, "since", "24h", "start of the window, which ends now: the forms of since= in /pooltasks, e.g. 7d, yesterday, last week, monday, 09:00 (UTC)")
	c.Flags().BoolVar(&o.dryRun, "dry-run", false, "print the digest's text and blocks as JSON instead of posting it")
	c.Flags().BoolVar(&o.sim, "sim", false, "read tasks from the built-in simulator with its demo credentials")
	return c
}

func runDigest(ctx context.Context, a *app, o digestOptions) error {
	cfg, stdout, stderr := a.cfg, a.stdout, a.stderr
	end := time.Now().UTC().Truncate(time.Minute)
	start, err := commands.ParseTime(o.since, end, false)
	if err != nil {
		return usageErrorf("--since %v", err)
	}
	if !start.Before(end) {
		return usageErrorf("--since %s is not in the past: the window ends now", o.since)
	}
	var needs config.Need
	if !o.dryRun {
		if o.channel == "" {
			return usageErrorf("give --channel (or set POOLTASKS_DIGEST_CHANNEL), or use --dry-run")
		}
		needs |= config.NeedBotToken
	}
	if !o.sim {
		needs |= config.NeedWorkspace
	}
	logger, parsed, err := prepare(cfg, needs, stderr)
	if err != nil {
		return err
	}

	list, def, stop, err := workspaceTargets(ctx, cfg, parsed.Targets, o.sim)
	defer stop()
	if err != nil {
		return err
	}
	set, err := newTargets(list, def, nil)
	if err != nil {
		return err
	}
	client := set.Lister() // every target, as one

	// A dry run takes the same path as a post, to a poster that posts
	// nothing; the message is printed instead.
	var poster loop.Poster = dryRunPoster{}
	if !o.dryRun {
		// The bot's client settings: slack-go retries 429s, a stuck
		// connection times out; notify paces the posts.
		poster = loop.NewSlackPoster(bot.NewSlackClient("", cfg.SlackBotToken, cfg.SlackAPIURL))
	}
	pools, err := digestPools(cfg, parsed.Bindings, o.channel)
	if err != nil {
		return err
	}
	d := digest.New(digest.Config{Channel: o.channel, Pools: pools, Quiet: cfg.DigestQuiet},
		loop.Deps{Lister: client, Poster: poster, Log: logger}, nil)
	target := o.channel
	if target == "" {
		target = "dry-run" // a dry run needs no channel
	}
	msg, err := d.Post(ctx, target, pooltask.ListOptions{Start: start, End: end})
	if err != nil {
		err = fmt.Errorf("digest of %s to %s: %w", start.Format(time.RFC3339), end.Format(time.RFC3339), err)
		// A digest without some targets was posted (saying so) and
		// still fails the run (exit 1), so that a CronJob shows it.
		if !loop.Partial(err) {
			return err
		}
	}
	return errors.Join(printDigest(stdout, o, msg, start, end), err)
}

// printDigest prints a dry run's message, or what was posted.
func printDigest(stdout io.Writer, o digestOptions, msg blocks.Message, start, end time.Time) error {
	switch {
	case o.dryRun:
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(struct {
			Channel string        `json:"channel,omitempty"`
			Text    string        `json:"text"`
			Blocks  []slack.Block `json:"blocks"`
		}{o.channel, msg.Text, msg.Blocks})
	case len(msg.Blocks) == 0:
		fmt.Fprintf(stdout, "nothing failed from %s to %s; quiet, nothing posted\n", start.Format(time.RFC3339), end.Format(time.RFC3339))
	default:
		fmt.Fprintf(stdout, "posted the digest of %s to %s in %s\n", start.Format(time.RFC3339), end.Format(time.RFC3339), o.channel)
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

func (dryRunPoster) PostRecorded(context.Context, string, loop.Record, string, []slack.Block) (string, error) {
	return "", nil
}

func (dryRunPoster) FindRecorded(context.Context, string, loop.Record, time.Time) (string, error) {
	return "", nil
}
