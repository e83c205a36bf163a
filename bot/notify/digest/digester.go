// Package digest makes failure digests. Digester.Collect is the one path
// of every digest (the schedule's, `pooltasks digest`'s and `/pooltasks
// digest`'s): resolve the pools, read the window, sum up what failed.
// Digester.Post delivers one; Digester.Run posts one per window, keeping
// the end of the last window posted in a Store.
package digest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/pooltasks/pooltasks/bot/blocks"
	"github.com/pooltasks/pooltasks/bot/notify/loop"
	"github.com/pooltasks/pooltasks/bot/notify/state"
	"github.com/pooltasks/pooltasks/commands"
	"github.com/pooltasks/pooltasks/pooltask"
)

// Config configures scheduled digests (POOLTASKS_DIGEST_*) and the
// defaults of digests posted once.
type Config struct {
	Channel string        // where digests go
	Every   time.Duration // window length, e.g. 24h or 1h
	At      time.Duration // windows end at UTC midnight + At + k·Every
	Pools   []string      // pool values (ids or names) of the schedule; empty means all
	Quiet   bool          // post nothing when nothing failed
	// Partial is how long after its window's end a scheduled digest waits
	// for a target of several that does not answer, trying again, before
	// it is posted without it (saying so); DefaultPartial when zero.
	Partial time.Duration
}

// DefaultPartial is how long a scheduled digest waits for a target that
// does not answer. The loop's backoff (5 s, doubling) tries it about six
// times in five minutes, which outlasts a throttling burst, a gateway's
// 5xx or an endpoint's rolling restart; an hourly digest is then at most
// five minutes late. A longer outage is said in the digest, the window is
// not held back for it, and the target's failures are alerted as it comes
// back.
const DefaultPartial = 5 * time.Minute

// maxSeparateCatchUp is how many missed windows are posted one by one;
// more are posted as one combined digest.
const maxSeparateCatchUp = 3

// key identifies the configuration's windows in the Store: a change of
// channel, length, alignment or pools starts a new series (pools in any
// order are the same pools).
func (c Config) key() string {
	return fmt.Sprintf("%s|%s|%s|%s", c.Channel, c.Every, c.At, strings.Join(slices.Sorted(slices.Values(c.Pools)), ","))
}

// windowKey identifies one window's digest in channel: the Key of its
// record (Slack message metadata) and of its intent in the Store.
func (c Config) windowKey(channel string, start, end time.Time) string {
	c.Channel = channel
	return c.key() + "|" + start.UTC().Format(time.RFC3339) + "|" + end.UTC().Format(time.RFC3339)
}

// historySlack is how much earlier than its intent a post is looked for in
// the channel's history: Slack's clock and ours may differ.
const historySlack = 5 * time.Minute

// legacyKey is key as it was before pools were sorted; its state is taken
// over once.
func (c Config) legacyKey() string {
	return fmt.Sprintf("%s|%s|%s|%s", c.Channel, c.Every, c.At, strings.Join(c.Pools, ","))
}

// Store keeps the end of the last window each schedule posted (its
// watermark), the window it is posting (its intent), and whether Slack
// refused chart blocks; *state.Store is one.
type Store interface {
	DigestWatermark(ctx context.Context, key string) (time.Time, bool, error)
	// SetDigestWatermark also forgets key's intent if it ends by end.
	SetDigestWatermark(ctx context.Context, key string, end time.Time) error
	DigestIntent(ctx context.Context, key string) (state.Intent, bool, error)
	SetDigestIntent(ctx context.Context, key string, in state.Intent) error
	ChartsRefused(ctx context.Context) (bool, error)
	SetChartsRefused(ctx context.Context) error
	// Mutes returns the mutes in force at now and those that ended lately,
	// to mark the failures that were not alerted.
	Mutes(ctx context.Context, now time.Time) ([]pooltask.Mute, error)
}

// Digester makes failure digests. Collect is the one path by which every
// digest is made (the schedule's, `pooltasks digest`'s and `/pooltasks
// digest`'s); Post also delivers one; Run posts them on a schedule.
type Digester struct {
	cfg   Config
	deps  loop.Deps
	store Store
}

// New returns a Digester. store may be nil but for Run.
func New(cfg Config, deps loop.Deps, store Store) *Digester {
	return &Digester{cfg: cfg, deps: deps.WithDefaults(), store: store}
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
// (the watermark) is saved after each post, so a restart neither skips nor
// repeats a window; windows missed while the bot was down are posted when
// it comes back, one by one for up to three, as one combined digest for
// more. On the very first run the current window is the first one posted.
//
// A failure (the API, Slack, the store) never ends Run: it is logged and
// shown in loop.Health, and the step is tried again after a backoff.
//
// Each window is posted once, even across a crash: its intent is saved
// before it is posted (no post without it), its post carries its key in
// Slack's message metadata, and the watermark saved after it forgets the
// intent. A window posted whose watermark waits to be saved is not posted
// again by this process; after a restart, an intent left over is looked
// for in the channel's history first (see recover).
func (d *Digester) Run(ctx context.Context) error {
	if d.cfg.Every <= 0 || d.cfg.Channel == "" {
		return errors.New("digest: channel and a positive period are required")
	}
	if d.store == nil {
		return errors.New("digest: a store is required to run on a schedule")
	}
	s := &schedule{d: d, key: d.cfg.key()}
	clock := d.deps.Clock
	d.deps.Run(ctx, loop.Digests, func(ctx context.Context) (time.Duration, error) {
		return s.step(ctx, clock.Now())
	}, "channel", d.cfg.Channel)
	return nil
}

// schedule is the state of Run: the watermark as this process knows it,
// whether it was read from the store yet, and whether the store has it.
// With several targets, each has a watermark of its own too: the end of
// the last window whose digest had its tasks (under key|TARGET), so that a
// target that answers again is said with the time its tasks are in no
// digest; down are the targets the last window was posted without that
// did not answer since.
type schedule struct {
	d       *Digester
	key     string
	mark    time.Time
	loaded  bool
	saved   bool
	targets map[string]time.Time
	unsaved map[string]bool // targets whose watermark the store does not have yet
	down    []*loop.TargetError
}

// targetNames are the targets of several the digests read, nil with one.
func (d *Digester) targetNames() []string {
	if ts, ok := d.deps.Lister.(loop.Targets); ok {
		return ts.Names()
	}
	return nil
}

// load reads the watermark from the store, and settles the intent the
// last run left (see recover).
func (s *schedule) load(ctx context.Context, now time.Time) error {
	d := s.d
	mark, ok, err := d.store.DigestWatermark(ctx, s.key)
	saved := true
	if err == nil && !ok {
		mark, ok, err = d.store.DigestWatermark(ctx, d.cfg.legacyKey())
		saved = false // under the new key
	}
	if err != nil {
		return &loop.StepError{What: "reading the digest watermark", Err: err}
	}
	if !ok {
		// First start (or a store that lost everything): nothing was
		// missed, the next window is the first.
		mark = WindowEnd(now, d.cfg.Every, d.cfg.At)
		d.deps.Log.Info("digest schedule started", "channel", d.cfg.Channel, "next", mark.Add(d.cfg.Every))
	}
	s.mark, s.saved = mark, saved
	s.targets, s.unsaved = map[string]time.Time{}, map[string]bool{}
	for _, name := range d.targetNames() {
		tm, ok, err := d.store.DigestWatermark(ctx, s.key+"|"+name)
		if err != nil {
			return &loop.StepError{What: "reading the digest watermark of target " + name, Err: err}
		}
		if !ok {
			// A target new to the schedule has missed nothing yet.
			tm, s.unsaved[name] = mark, true
		}
		s.targets[name] = tm
	}
	if err := s.recover(ctx); err != nil {
		return err
	}
	s.loaded = true
	return nil
}

// recover settles the window the last run was posting when it stopped,
// if it did not save its watermark: the post is looked for in the
// channel's history (by the key in its metadata). Found, the watermark
// moves past it; not found, it is posted as any window. An intent for a
// later window than the watermark says the windows before it were posted
// (an intent is saved only once the windows before it went out). A history
// that cannot be read (no scope, not in the channel) is logged, and the
// window posted again: twice rather than never.
func (s *schedule) recover(ctx context.Context) error {
	d := s.d
	in, ok, err := d.store.DigestIntent(ctx, s.key)
	if err != nil {
		return &loop.StepError{What: "reading the digest being posted when pooltasks stopped", Err: err}
	}
	if !ok || !in.End.After(s.mark) {
		return nil
	}
	name := windowName(in.Start, in.End)
	ts, err := d.deps.Poster.FindRecorded(ctx, d.cfg.Channel, loop.Record{Type: loop.DigestRecord, Key: in.Key}, in.At.Add(-historySlack))
	if he, ok := errors.AsType[*loop.HistoryError](err); ok {
		d.deps.Log.WarnContext(ctx, "the digest of "+name+" was being posted when pooltasks stopped, and whether it went out cannot be checked: posting it (again, if it did)",
			"channel", d.cfg.Channel, "why", he.Error())
		ts, err = "", nil
	}
	if err != nil {
		return &loop.StepError{What: "looking in " + d.cfg.Channel + "'s history for the digest of " + name + ", which was being posted when pooltasks stopped", Err: err}
	}
	switch {
	case ts != "":
		d.deps.Log.InfoContext(ctx, "the digest of "+name+" went out before pooltasks stopped; not posting it again", "channel", d.cfg.Channel, "ts", ts)
		s.mark, s.saved = in.End, false
		s.posted(in.End, in.Missing)
	case in.Start.After(s.mark):
		s.mark, s.saved = in.Start, false
	}
	return nil
}

// step posts the windows that ended by now and saves the watermark. It
// returns how long to wait for the next window. With several targets, a
// window whose tasks of a target cannot be read is tried again until
// Config.Partial after its end, then posted without them, saying so; the
// step fails naming the target until it answers again.
func (s *schedule) step(ctx context.Context, now time.Time) (time.Duration, error) {
	d := s.d
	if !s.loaded {
		if err := s.load(ctx, now); err != nil {
			return 0, err
		}
	}
	latest := WindowEnd(now, d.cfg.Every, d.cfg.At)
	for _, w := range d.windows(s.mark, latest) {
		q := pooltask.ListOptions{Start: w[0], End: w[1]}
		dg, err := d.Collect(ctx, q, d.cfg.Pools)
		if err != nil {
			return 0, &loop.StepError{What: "reading the tasks of the digest of " + windowName(w[0], w[1]), Err: err}
		}
		if deadline := w[1].Add(cmp.Or(d.cfg.Partial, DefaultPartial)); len(dg.Unread) > 0 && now.Before(deadline) {
			return deadline.Sub(now), unreadErr(dg.Unread)
		}
		var missing []string
		for _, u := range dg.Unread {
			missing = append(missing, u.Target)
		}
		dg.Back = s.back(w[0], missing)
		in := state.Intent{Key: d.cfg.windowKey(d.cfg.Channel, w[0], w[1]), At: now, Start: w[0], End: w[1], Missing: missing}
		if err := d.store.SetDigestIntent(ctx, s.key, in); err != nil {
			return 0, &loop.StepError{What: "saving that the digest of " + windowName(w[0], w[1]) +
				" is about to be posted (it is not posted before that is saved, or a crash could post it twice)", Err: err}
		}
		if _, err := d.send(ctx, d.cfg.Channel, dg); err != nil {
			return 0, &loop.StepError{What: "posting the digest of " + windowName(w[0], w[1]), Err: err}
		}
		s.mark, s.saved, s.down = w[1], false, dg.Unread
		s.posted(w[1], missing)
		if err := s.save(ctx); err != nil {
			return 0, &loop.StepError{What: fmt.Sprintf("the digest of %s was posted in %s, but saving its watermark failed "+
				"(it is saved at the next try; a restart before then finds the post in the channel's history)", windowName(w[0], w[1]), d.cfg.Channel), Err: err}
		}
	}
	if err := s.save(ctx); err != nil {
		return 0, &loop.StepError{What: "saving the digest watermark " + s.mark.Format(time.RFC3339), Err: err}
	}
	next := WindowEnd(now, d.cfg.Every, d.cfg.At).Add(d.cfg.Every).Sub(now)
	if len(s.down) > 0 {
		// Said until they answer again: asked for one task at each try
		// (Run tries again after its backoff).
		s.down = s.probe(ctx, s.down)
		if len(s.down) > 0 {
			return next, unreadErr(s.down)
		}
	}
	return next, nil
}

// probe returns the targets of down that still do not answer, each with
// its latest error.
func (s *schedule) probe(ctx context.Context, down []*loop.TargetError) []*loop.TargetError {
	ts, ok := s.d.deps.Lister.(loop.Targets)
	if !ok {
		return nil
	}
	var still []*loop.TargetError
	for _, e := range down {
		if _, err := ts.Target(e.Target).ListTasks(ctx, pooltask.ListOptions{Limit: 1}); err != nil {
			still = append(still, &loop.TargetError{Target: e.Target, Err: err})
		}
	}
	return still
}

// unreadErr is the error of the targets a digest could not read.
func unreadErr(down []*loop.TargetError) error {
	errs := make([]error, len(down))
	for i, e := range down {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// posted moves the watermark of each target but missing to end: the
// window posted had their tasks.
func (s *schedule) posted(end time.Time, missing []string) {
	for _, name := range s.d.targetNames() {
		if !slices.Contains(missing, name) {
			s.targets[name], s.unsaved[name] = end, true
		}
	}
}

// back are the targets but missing whose tasks are in no digest from
// their watermark to start: they answer again after windows posted
// without them.
func (s *schedule) back(start time.Time, missing []string) []blocks.TargetGap {
	var out []blocks.TargetGap
	for _, name := range s.d.targetNames() {
		mark, ok := s.targets[name]
		if !ok || slices.Contains(missing, name) || !mark.Before(start) {
			continue
		}
		c := commands.Command{Verb: commands.VerbDigest, Target: name, Query: pooltask.ListOptions{Start: mark, End: start}}
		out = append(out, blocks.TargetGap{Target: name, Start: mark, End: start, Command: c.Canonical()})
	}
	return out
}

func (s *schedule) save(ctx context.Context) error {
	if !s.saved {
		if err := s.d.store.SetDigestWatermark(ctx, s.key, s.mark); err != nil {
			return err
		}
		s.saved = true
	}
	for _, name := range slices.Sorted(maps.Keys(s.unsaved)) {
		if err := s.d.store.SetDigestWatermark(ctx, s.key+"|"+name, s.targets[name]); err != nil {
			return err
		}
		delete(s.unsaved, name)
	}
	return nil
}

// windowName is a window for a log line or an error.
func windowName(start, end time.Time) string {
	return start.UTC().Format(time.RFC3339) + "–" + end.UTC().Format(time.RFC3339)
}

// windows are the windows from mark to latest (both boundaries): one by
// one for up to maxSeparateCatchUp, else one combined window.
func (d *Digester) windows(mark, latest time.Time) [][2]time.Time {
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
		d.deps.Log.Info("digest catching up with one combined post", "windows", len(windows), "start", mark, "end", latest)
		windows = [][2]time.Time{{mark, latest}}
	}
	return windows
}

// checkWindow refuses an empty digest window before any API call.
func checkWindow(start, end time.Time) error {
	if !end.After(start) {
		return fmt.Errorf("digest window %s–%s is empty", start.Format(time.RFC3339), end.Format(time.RFC3339))
	}
	return nil
}

// Collect makes the digest of q's window [q.Start, q.End), limited to q's
// script (ScriptID), script name and task type and to pools (values: ids
// or names, resolved by the one pool rule; empty means every pool). A pool
// value that names no single pool is left out and said in the digest's
// Warnings; when all are, or when the pools API fails, Collect fails.
func (d *Digester) Collect(ctx context.Context, q pooltask.ListOptions, pools []string) (*Digest, error) {
	if err := checkWindow(q.Start, q.End); err != nil {
		return nil, err
	}
	res, err := loop.ResolveTargets(ctx, d.deps.Lister, pools)
	if err != nil {
		return nil, fmt.Errorf("digest pools: %w", err)
	}
	for _, p := range res.Problems {
		d.deps.Log.WarnContext(ctx, "digest pool left out", "problem", p)
	}
	dg, err := collectDigest(ctx, res.Scopes, q)
	if err != nil {
		return nil, err
	}
	dg.Unread = append(res.Down, dg.Unread...)
	dg.PoolLabels, dg.Warnings, dg.Target = res.Labels, res.Problems, wholeTarget(pools)
	if d.store != nil {
		// A failure while its pool was muted was not alerted: the digest
		// says so. Without the mutes it is listed unmarked.
		mutes, err := d.store.Mutes(ctx, d.deps.Clock.Now())
		if err != nil {
			d.deps.Log.WarnContext(ctx, "digest: mutes not read; muted failures are not marked", "err", err)
		}
		dg.markMuted(mutes)
	}
	return dg, nil
}

// Post collects the digest of q and the configured pools (see Collect) and
// posts it in channel (the configured channel when empty), for
// `pooltasks digest`. It returns the message as it was posted; a quiet
// config with nothing failed posts nothing and returns an empty Message.
// When targets of several could not be read, the digest of the others is
// posted (saying so) and returned with an error naming those targets, for
// which loop.Partial is true.
func (d *Digester) Post(ctx context.Context, channel string, q pooltask.ListOptions) (blocks.Message, error) {
	if channel == "" {
		channel = d.cfg.Channel
	}
	if channel == "" {
		return blocks.Message{}, errors.New("digest: no channel to post in")
	}
	dg, err := d.Collect(ctx, q, d.cfg.Pools)
	if err != nil {
		return blocks.Message{}, err
	}
	msg, err := d.send(ctx, channel, dg)
	if err != nil || len(dg.Unread) == 0 {
		return msg, err
	}
	return msg, fmt.Errorf("posted without the targets that did not answer: %w", unreadErr(dg.Unread))
}

// send posts a digest collected in channel (see Post).
func (d *Digester) send(ctx context.Context, channel string, dg *Digest) (blocks.Message, error) {
	log := d.deps.Log
	// A pool left out, or a target, is said, quiet or not.
	if d.cfg.Quiet && dg.AllClear() && len(dg.Warnings) == 0 && len(dg.Unread) == 0 && len(dg.Back) == 0 {
		log.InfoContext(ctx, "digest all clear, quiet", "channel", channel, "start", dg.Start, "end", dg.End)
		return blocks.Message{}, nil
	}
	native := true
	if d.store != nil {
		refused, err := d.store.ChartsRefused(ctx)
		if err != nil { // charts are tried: a refusal falls back to text
			log.WarnContext(ctx, "reading whether Slack refuses chart blocks", "err", err)
		}
		native = !refused
	}
	msg := dg.Render(native)
	// A post that started is finished even when ctx ends (SIGTERM): cut
	// off, Slack may have taken it while Run does not save the watermark,
	// and the next start posts the window again. loop.PostTimeout keeps the
	// shutdown within Kubernetes' grace period.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), loop.PostTimeout)
	defer cancel()
	rec := loop.Record{Type: loop.DigestRecord, Key: d.cfg.windowKey(channel, dg.Start, dg.End)}
	_, err := d.deps.Poster.PostRecorded(ctx, channel, rec, msg.Text, msg.Blocks)
	if err != nil && native && loop.IsInvalidBlocks(err) {
		log.WarnContext(ctx, "slack refused chart blocks; using text charts from now on", "channel", channel)
		if d.store != nil {
			if serr := d.store.SetChartsRefused(ctx); serr != nil {
				log.ErrorContext(ctx, "saving that Slack refuses chart blocks", "err", serr)
			}
		}
		msg = dg.Render(false)
		_, err = d.deps.Poster.PostRecorded(ctx, channel, rec, msg.Text, msg.Blocks)
	}
	if err != nil {
		return blocks.Message{}, err
	}
	log.InfoContext(ctx, "digest posted", "channel", channel, "start", dg.Start, "end", dg.End, "failed_tasks", dg.FailedTasks, "tasks", dg.Tasks)
	return msg, nil
}
