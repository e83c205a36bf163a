package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// DigestConfig configures scheduled digests (POOLTASKS_DIGEST_*).
type DigestConfig struct {
	Channel string        // where digests go
	Every   time.Duration // window length, e.g. 24h or 1h
	At      time.Duration // windows end at UTC midnight + At + k·Every
	Pools   []string      // limit to these pools; empty means all
	Quiet   bool          // post nothing when nothing failed
	// Retry is how long to wait after a failed digest before trying again;
	// default one minute.
	Retry time.Duration
}

// postTimeout bounds a digest post (and its fallback without charts),
// which is not cut short by the end of the caller's ctx.
const postTimeout = 15 * time.Second

// maxSeparateCatchUp is how many missed windows are posted one by one;
// more are posted as one combined digest.
const maxSeparateCatchUp = 3

// key identifies the configuration's windows in the Store: a change of
// channel, length, alignment or pools starts a new series (pools in any
// order are the same pools).
func (c DigestConfig) key() string {
	return fmt.Sprintf("%s|%s|%s|%s", c.Channel, c.Every, c.At, strings.Join(slices.Sorted(slices.Values(c.Pools)), ","))
}

// legacyKey is key as it was before pools were sorted; its state is taken
// over once.
func (c DigestConfig) legacyKey() string {
	return fmt.Sprintf("%s|%s|%s|%s", c.Channel, c.Every, c.At, strings.Join(c.Pools, ","))
}

// DigestStore keeps the end of the last window each schedule posted, and
// whether Slack refused chart blocks; *state.Store is one.
type DigestStore interface {
	DigestWatermark(key string) (time.Time, bool)
	SetDigestWatermark(key string, end time.Time) error
	ChartsRefused() bool
	SetChartsRefused() error
}

// Digester posts failure digests: on a schedule (Run) or once (PostOnce).
type Digester struct {
	cfg    DigestConfig
	lister Lister
	poster Poster
	store  DigestStore
	clock  Clock
	log    *slog.Logger
}

// NewDigester returns a Digester. store may be nil for PostOnce alone.
func NewDigester(cfg DigestConfig, lister Lister, poster Poster, store DigestStore, clock Clock, logger *slog.Logger) *Digester {
	if cfg.Retry <= 0 {
		cfg.Retry = time.Minute
	}
	if clock == nil {
		clock = RealClock
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Digester{cfg: cfg, lister: lister, poster: poster, store: store, clock: clock, log: logger}
}

// WindowEnd returns the last window boundary at or before t: UTC midnight
// of the Unix epoch plus at plus a multiple of every.
func WindowEnd(t time.Time, every, at time.Duration) time.Time {
	anchor := time.Unix(0, 0).UTC().Add(at)
	k := t.Sub(anchor) / every
	end := anchor.Add(k * every)
	if end.After(t) {
		end = end.Add(-every)
	}
	return end
}

// Run posts one digest per window until ctx ends. Windows are [start, end)
// aligned with WindowEnd and contiguous. The end of the last posted window
// is saved after each successful post, so a restart neither skips nor
// repeats a window; windows missed while the bot was down are posted when
// it comes back, one by one for up to three, as one combined digest for
// more. On the very first run the current window is the first one posted.
func (d *Digester) Run(ctx context.Context) error {
	if d.cfg.Every <= 0 || d.cfg.Channel == "" {
		return errors.New("digest: channel and a positive period are required")
	}
	if d.store == nil {
		return errors.New("digest: a store is required to run on a schedule")
	}
	key := d.cfg.key()
	for {
		now := d.clock.Now()
		latest := WindowEnd(now, d.cfg.Every, d.cfg.At)
		mark, ok := d.store.DigestWatermark(key)
		if !ok {
			mark, ok = d.store.DigestWatermark(d.cfg.legacyKey())
		}
		if !ok {
			// First start: nothing was missed, the next window is the first.
			if err := d.store.SetDigestWatermark(key, latest); err != nil {
				return err
			}
			mark = latest
			d.log.Info("digest schedule started", "channel", d.cfg.Channel, "next", latest.Add(d.cfg.Every))
		}
		var wait time.Duration
		if !mark.Before(latest) {
			wait = mark.Add(d.cfg.Every).Sub(now)
			if wait <= 0 { // the watermark is off the grid
				wait = WindowEnd(now, d.cfg.Every, d.cfg.At).Add(d.cfg.Every).Sub(now)
			}
		} else if err := d.catchUp(ctx, key, mark, latest); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			d.log.Error("posting digest", "channel", d.cfg.Channel, "err", err)
			wait = d.cfg.Retry
		}
		if wait > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-d.clock.After(wait):
			}
		}
	}
}

// catchUp posts the windows between mark and latest (both boundaries).
func (d *Digester) catchUp(ctx context.Context, key string, mark, latest time.Time) error {
	var windows [][2]time.Time
	for start := mark; start.Before(latest); {
		end := WindowEnd(start, d.cfg.Every, d.cfg.At).Add(d.cfg.Every)
		if end.After(latest) {
			end = latest
		}
		windows = append(windows, [2]time.Time{start, end})
		start = end
	}
	if len(windows) > maxSeparateCatchUp {
		d.log.Info("digest catching up with one combined post", "windows", len(windows), "start", mark, "end", latest)
		windows = [][2]time.Time{{mark, latest}}
	}
	for _, w := range windows {
		if _, err := d.post(ctx, d.cfg.Channel, w[0], w[1], false); err != nil {
			return err
		}
		if err := d.store.SetDigestWatermark(key, w[1]); err != nil {
			return err
		}
	}
	return nil
}

// PostOnce posts the digest of [start, end) in channel (the configured
// channel when empty), for `pooltasks digest` and `/pooltasks digest`. With
// dryRun it only builds the message. It returns the message, rendered as it
// was (or would have been) posted; a quiet config with nothing failed posts
// nothing and returns an empty Message.
func (d *Digester) PostOnce(ctx context.Context, channel string, start, end time.Time, dryRun bool) (Message, error) {
	if channel == "" {
		channel = d.cfg.Channel
	}
	if err := checkWindow(start, end); err != nil {
		return Message{}, err
	}
	return d.post(ctx, channel, start, end, dryRun)
}

// checkWindow refuses an empty digest window before any API call.
func checkWindow(start, end time.Time) error {
	if !end.After(start) {
		return fmt.Errorf("digest window %s–%s is empty", start.Format(time.RFC3339), end.Format(time.RFC3339))
	}
	return nil
}

func (d *Digester) post(ctx context.Context, channel string, start, end time.Time, dryRun bool) (Message, error) {
	pools, labels, problems, err := d.poolIDs(ctx)
	if err != nil {
		return Message{}, err
	}
	for _, p := range problems {
		d.log.WarnContext(ctx, "digest pool left out", "problem", p)
	}
	dg, err := CollectDigest(ctx, d.lister, start, end, pools)
	if err != nil {
		return Message{}, err
	}
	dg.PoolLabels, dg.Warnings = labels, problems
	if d.cfg.Quiet && dg.AllClear() && len(problems) == 0 { // a pool left out is said, quiet or not
		d.log.InfoContext(ctx, "digest all clear, quiet", "channel", channel, "start", start, "end", end)
		return Message{}, nil
	}
	native := d.store == nil || !d.store.ChartsRefused()
	msg := dg.Render(native)
	if dryRun {
		return msg, nil
	}
	if channel == "" {
		return Message{}, errors.New("digest: no channel to post in")
	}
	// A post that started is finished even when ctx ends (SIGTERM): cut
	// off, Slack may have taken it while Run does not save the watermark,
	// and the next start posts the window again. postTimeout keeps the
	// shutdown within Kubernetes' grace period.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), postTimeout)
	defer cancel()
	_, err = d.poster.PostMessage(ctx, channel, "", msg.Text, msg.Blocks)
	if err != nil && native && isInvalidBlocks(err) {
		d.log.WarnContext(ctx, "slack refused chart blocks; using text charts from now on", "channel", channel)
		if d.store != nil {
			if serr := d.store.SetChartsRefused(); serr != nil {
				d.log.ErrorContext(ctx, "saving state", "err", serr)
			}
		}
		msg = dg.Render(false)
		_, err = d.poster.PostMessage(ctx, channel, "", msg.Text, msg.Blocks)
	}
	if err != nil {
		return Message{}, err
	}
	d.log.InfoContext(ctx, "digest posted", "channel", channel, "start", start, "end", end, "failed_tasks", dg.FailedTasks, "tasks", dg.Tasks)
	return msg, nil
}

// poolIDs is the configured pools as ids and as configured, and what was
// wrong with those that do not name exactly one pool. When none does, it
// fails: a digest of no pool would report all clear, of every pool would
// show more than asked. A pools API that fails fails it too, so that the
// digest is tried again rather than posted without a pool.
func (d *Digester) poolIDs(ctx context.Context) (ids, labels []string, problems []string, err error) {
	ids, labels, problems, err = poolIDs(ctx, d.lister, d.cfg.Pools)
	if err == nil && len(d.cfg.Pools) > 0 && len(ids) == 0 {
		err = errors.New(strings.Join(problems, "; "))
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("digest pools: %w", err)
	}
	return ids, labels, problems, nil
}

// poolIDs resolves pools (ids or names) by the one pool rule: the ids, the
// entries they came from, and why the others name no single pool. A pools
// API that fails is returned as the error: a configured pool must be exact.
func poolIDs(ctx context.Context, l Lister, pools []string) (ids, labels, problems []string, err error) {
	for _, p := range pools {
		res := l.ResolvePool(ctx, p)
		if res.LookupErr != nil {
			return nil, nil, nil, res.LookupErr
		}
		if err := res.Err(); err != nil {
			problems = append(problems, err.Error())
			continue
		}
		ids, labels = append(ids, res.ID), append(labels, p)
	}
	return ids, labels, problems, nil
}
