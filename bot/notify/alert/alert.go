// Package alert posts each task that newly reached FAILED, once, keeping
// the tasks already alerted in a Store.
package alert

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/pooltasks/pooltasks/bot/blocks"
	"github.com/pooltasks/pooltasks/bot/notify/loop"
	"github.com/pooltasks/pooltasks/bot/notify/state"
	"github.com/pooltasks/pooltasks/pooltask"
)

// Config configures new-failure alerts (POOLTASKS_ALERT_*).
type Config struct {
	Channel string
	Every   time.Duration // poll period; default one minute
	Pools   []string      // limit to these pools (ids or names); empty means all
	// Horizon is how far back a poll looks (by task start) and how long
	// alerted ids are remembered; default 24h.
	Horizon time.Duration
	// MaxKnown bounds the remembered ids; default 5000. A poll that sees
	// more failed tasks keeps them all.
	MaxKnown int
	// MinFailed and MinRatio are the thresholds a failed task must reach,
	// both, to be alerted (POOLTASKS_ALERT_MIN_FAILED, _MIN_RATIO; see
	// reaches). Zero: any.
	MinFailed int
	MinRatio  float64
	// Actions are the actions enabled (POOLTASKS_ACTIONS): with retry, a
	// root offers Retry.
	Actions []pooltask.Action
}

// reaches reports whether a failed task reaches both thresholds, each
// inclusive: at least MinFailed failed desktops, and a failed share
// failed ÷ (success + failed + skip) of at least MinRatio (0 for a task
// without desktops counted). One that does not is left alone, and
// looked at again at each poll: digests still count it.
func (c Config) reaches(t pooltask.Task) bool {
	share := 0.0
	if all := t.SuccessNum + t.FailedNum + t.SkipNum; all > 0 {
		share = float64(t.FailedNum) / float64(all)
	}
	return t.FailedNum >= c.MinFailed && share >= c.MinRatio
}

// stormSize is the most alerts one poll posts one by one; more become one
// grouped message.
const stormSize = 5

// maxAlertTasks bounds the failed tasks one poll reads.
const maxAlertTasks = 2000

// key identifies the alerts' state in the Store: another channel or other
// pools (in any order the same) start afresh.
func (c Config) key() string {
	return c.Channel + "|" + strings.Join(slices.Sorted(slices.Values(c.Pools)), ",")
}

// legacyKey is key as it was before pools were sorted; its state is taken
// over once.
func (c Config) legacyKey() string {
	return c.Channel + "|" + strings.Join(c.Pools, ",")
}

// Bounds of the alerted-id memory.
const (
	DefaultHorizon = 24 * time.Hour
	DefaultMax     = 5000
)

// Store remembers the tasks already alerted; *state.Store is one.
type Store interface {
	// AlertKnown returns the ids known under key, and false when the key
	// has no state yet (a first start).
	AlertKnown(ctx context.Context, key string) (map[string]time.Time, bool, error)
	// AddAlertKnown adds ids (task id → start) under key, dropping those
	// that started before horizon and the oldest beyond max, and forgets
	// the intents whose tasks are all known or saved before horizon.
	AddAlertKnown(ctx context.Context, key string, ids map[string]time.Time, horizon time.Time, max int) error
	// AlertIntents returns the alert posts of key about to be made that
	// AddAlertKnown has not forgotten yet.
	AlertIntents(ctx context.Context, key string) ([]state.Intent, error)
	// AddAlertIntent saves that an alert post of key is about to be made.
	AddAlertIntent(ctx context.Context, key string, in state.Intent) error

	// PutAlert keeps a living alert (its root's channel and ts, its task,
	// its story); Alerts returns those of a channel, oldest first.
	PutAlert(ctx context.Context, a pooltask.Alert) error
	Alerts(ctx context.Context, channel string) ([]pooltask.Alert, error)
	// UpdateAlert changes a living alert with change, atomically, and
	// returns it as saved; change returns false to keep it as it was.
	UpdateAlert(ctx context.Context, channel, ts string, change func(*pooltask.Alert) bool) (pooltask.Alert, error)
	// Watches returns the watches saved: a retry of an alert that none
	// follows is read by the alerter (see retry.go).
	Watches(ctx context.Context) ([]state.Watch, error)

	// Mutes returns the mutes in force at now and those that ended lately.
	Mutes(ctx context.Context, now time.Time) ([]pooltask.Mute, error)
	// MutedFailures returns what a mute kept from channel (the failures,
	// whether their summary was posted there or about to be), and whether
	// anything was recorded.
	MutedFailures(ctx context.Context, channel, muteID string) (state.MutedTasks, bool, error)
	AddMutedFailures(ctx context.Context, channel, muteID string, taskIDs []string) error
	// SetMuteTelling saves that a mute's summary is about to be posted
	// (the first time stays); SetMuteTold that it was.
	SetMuteTelling(ctx context.Context, channel, muteID string, at time.Time) error
	SetMuteTold(ctx context.Context, channel, muteID string) error
}

// historySlack is how much earlier than its intent a post is looked for in
// the channel's history: Slack's clock and ours may differ.
const historySlack = 5 * time.Minute

// Alerter posts each task that newly reached FAILED, once.
type Alerter struct {
	cfg   Config
	deps  loop.Deps
	store Store

	// memories are what Poll knows of each target's alerted tasks ("" is
	// the one target of a Lister of one): each target has its own, so
	// that a target that does not answer keeps the others' going, and its
	// failures are alerted when it answers again.
	memories map[string]*memory
	// started is the time of this process's first poll: the failures
	// already there then are not alerted.
	started time.Time
}

// memory is what an Alerter knows of one target's alerted tasks in the
// Store.
type memory struct {
	// key is the target's key in the store: the route's key (Config.key)
	// for the one target of a Lister of one, as it always was; the
	// route's key and "|TARGET" for a target of several.
	key string
	// older are the keys whose state is taken over when key has none.
	older []string
	// primed is set once the failures already there at the first start
	// are known, saved or not; stored once the store has the key.
	primed, stored bool
	// unsaved are the tasks known (alerted, or there at the first start)
	// that the store refused to remember: they are not alerted again, and
	// saved at each poll until the store takes them.
	unsaved map[string]time.Time
	// settled are the intents left by an earlier run that were looked for
	// in the channel's history already.
	settled map[string]bool
	// known are the tasks known at this poll; max is this poll's bound of
	// the store's memory.
	known map[string]time.Time
	max   int
}

// New returns an Alerter.
func New(cfg Config, deps loop.Deps, store Store) *Alerter {
	if cfg.Every <= 0 {
		cfg.Every = time.Minute
	}
	if cfg.Horizon <= 0 {
		cfg.Horizon = DefaultHorizon
	}
	if cfg.MaxKnown <= 0 {
		cfg.MaxKnown = DefaultMax
	}
	return &Alerter{cfg: cfg, deps: deps.WithDefaults(), store: store, memories: map[string]*memory{}}
}

// memory returns the memory of target ("" for the one target of a Lister
// of one).
func (a *Alerter) memory(target string) *memory {
	m := a.memories[target]
	if m != nil {
		return m
	}
	m = &memory{key: a.cfg.key(), unsaved: map[string]time.Time{}, settled: map[string]bool{}}
	if target != "" {
		// Before each target had its own, the route's key held them all.
		m.older = []string{m.key}
		m.key += "|" + target
	}
	if legacy := a.cfg.legacyKey(); legacy != a.cfg.key() {
		m.older = append(m.older, legacy)
	}
	a.memories[target] = m
	return m
}

// Routes are the Alerters of every alert route (POOLTASKS_ALERT_CHANNEL
// and each entry of POOLTASKS_ALERT_ROUTES), one per channel: a failure in
// pools that several routes name is alerted once in each of their
// channels, and a storm is grouped per route.
type Routes []*Alerter

// Run polls every route in turn, every period of the first, until ctx
// ends. The first poll of a route without saved state takes the tasks
// already failed as known and alerts none of them. A poll that fails is
// logged, shown in loop.Health and tried again after a backoff (a failing
// route does not keep the others from polling); Run ends only with ctx.
func (rs Routes) Run(ctx context.Context) error {
	if len(rs) == 0 {
		return errors.New("alerts: no route")
	}
	for _, a := range rs {
		if a.cfg.Channel == "" || a.store == nil {
			return errors.New("alerts: a channel and a store are required")
		}
	}
	channels := make([]string, len(rs))
	for i, a := range rs {
		channels[i] = a.cfg.Channel
	}
	rs[0].deps.Run(ctx, loop.Alerts, func(ctx context.Context) (time.Duration, error) {
		var errs []error
		for _, a := range rs {
			if err := a.Poll(ctx); err != nil {
				errs = append(errs, fmt.Errorf("alerts to %s: %w", a.cfg.Channel, err))
			}
		}
		err := errors.Join(errs...)
		if err != nil && !loop.Partial(err) {
			return 0, err // the backoff
		}
		// A target that does not answer keeps the others' alerts at their
		// pace (loop.Deps.Run).
		return rs[0].cfg.Every, err
	}, "channels", strings.Join(channels, ","))
	return nil
}

// Poll looks once for newly failed tasks and alerts them. It is what Run
// does every period; it is not safe for concurrent use. A task alerted
// whose memory the store refused is kept here, and is not alerted again:
// Poll then fails saying so, and saves it at the next try. With several
// targets, a target that does not answer is left out of the poll (its
// failures are alerted when it answers again, each target remembering
// its own) and Poll fails naming it (a *loop.TargetError) once it did
// everything else.
func (a *Alerter) Poll(ctx context.Context) (err error) {
	now := a.deps.Clock.Now()
	if a.started.IsZero() {
		a.started = now
	}
	since := now.Add(-a.cfg.Horizon)
	failed, targets, scope, down, err := a.listFailed(ctx, since, now)
	if err != nil {
		return err
	}
	defer func() {
		for _, d := range down {
			err = errors.Join(err, d)
		}
	}()
	var ready []*memory // the targets whose failures are alerted at this poll
	for _, target := range targets {
		m := a.memory(target)
		// The bound never drops an id the poll still sees: that task
		// would be alerted again at the next poll.
		m.max = a.cfg.MaxKnown
		for _, t := range failed {
			if t.Target == target {
				m.max++
			}
		}
		ok, err := a.ready(ctx, m, failed, target, since, now)
		if err != nil {
			return err
		}
		if ok {
			ready = append(ready, m)
		}
	}
	// Alerts go out even while the store refuses: what they alerted is
	// kept here meanwhile.
	saveErr := a.save(ctx, since)
	defer func() {
		if err == nil && saveErr != nil {
			err = &loop.StepError{What: fmt.Sprintf("remembering %d alerted tasks (tried again at the next poll; a restart before then alerts them again)", a.unsavedCount()), Err: saveErr}
		}
	}()
	// Mutes end, and are summed up, whether or not anything failed now.
	mutes, err := a.store.Mutes(ctx, now)
	if err != nil {
		return &loop.StepError{What: "reading the mutes", Err: err}
	}
	defer func() {
		if err == nil {
			err = a.tellEndedMutes(ctx, mutes, scope, now)
		}
	}()
	retries, err := a.retries(ctx)
	if err != nil {
		return err
	}
	var fresh []pooltask.Task
	silenced := map[string][]pooltask.Task{} // mute id → tasks it kept from this channel
	for _, t := range failed {
		m := a.memories[t.Target]
		if !slices.Contains(ready, m) {
			continue
		}
		if _, ok := m.known[t.ID]; ok || retries[t.ID] || !a.cfg.reaches(t) {
			continue
		}
		if mu, ok := muting(mutes, t, now); ok {
			silenced[mu.ID()] = append(silenced[mu.ID()], t)
			continue
		}
		fresh = append(fresh, t)
	}
	for id, tasks := range silenced {
		ids := make([]string, len(tasks))
		for i, t := range tasks {
			ids[i] = t.ID
		}
		if err := a.store.AddMutedFailures(ctx, a.cfg.Channel, id, ids); err != nil {
			return &loop.StepError{What: "remembering the failures a mute kept back", Err: err}
		}
		for _, t := range tasks {
			a.memories[t.Target].unsaved[t.ID] = now
		}
		if saveErr = a.save(ctx, since); saveErr != nil {
			return nil
		}
		a.deps.Log.Info("failures not alerted: their pool is muted", "channel", a.cfg.Channel, "mute", id, "tasks", len(ids))
	}
	defer func() {
		if err == nil {
			err = a.followUp(ctx, now)
		}
	}()
	if len(fresh) == 0 {
		return nil
	}
	sort.SliceStable(fresh, func(i, j int) bool { return fresh[i].Start.Before(fresh[j].Start) })
	remember := func(tasks []pooltask.Task) {
		for _, t := range tasks {
			a.memories[t.Target].unsaved[t.ID] = taskTime(t, now)
		}
		saveErr = a.save(ctx, since)
	}
	// Each post is saved as an intent before it is made (no post without
	// it; in the memory of each target it names) and carries the intent's
	// key in its metadata, so that a restart before its tasks are
	// remembered finds it (see recover). A post that started is finished
	// even when ctx ends (SIGTERM), or Slack may have it while its task is
	// not remembered; no new post starts once ctx ended.
	intend := func(id string, tasks []pooltask.Task) (loop.Record, error) {
		rec := loop.Record{Type: loop.AlertRecord, Key: a.cfg.key() + "|" + id}
		for _, m := range ready {
			in := state.Intent{Key: rec.Key, At: now, Tasks: map[string]time.Time{}}
			for _, t := range tasks {
				if a.memories[t.Target] == m {
					in.Tasks[t.ID] = taskTime(t, now)
				}
			}
			if len(in.Tasks) == 0 {
				continue
			}
			if err := a.store.AddAlertIntent(ctx, m.key, in); err != nil {
				return loop.Record{}, &loop.StepError{What: fmt.Sprintf("saving that %d failed tasks are about to be alerted "+
					"(they are not alerted before that is saved, or a crash could alert them twice)", len(tasks)), Err: err}
			}
		}
		return rec, nil
	}
	post := func(rec loop.Record, m blocks.Message) (string, error) {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), loop.PostTimeout)
		defer cancel()
		return a.deps.Poster.PostRecorded(pctx, a.cfg.Channel, rec, m.Text, m.Blocks)
	}
	msgs := 0
	if len(fresh) > stormSize {
		// The parts of a storm carry one key: finding one after a restart
		// takes the whole storm as alerted.
		rec, err := intend(fmt.Sprintf("storm:%s+%d", fresh[0].ID, len(fresh)), fresh)
		if err != nil {
			return err
		}
		for _, m := range blocks.AlertStorm(fresh) {
			if _, err := post(rec, m); err != nil {
				return fmt.Errorf("posting grouped alert: %w", err)
			}
			msgs++
		}
		remember(fresh)
	} else {
		// Remember each task once its message went out, so a failure later
		// in the poll neither loses nor repeats alerts.
		for _, t := range fresh {
			rec, err := intend(t.ID, []pooltask.Task{t})
			if err != nil {
				return err
			}
			al := pooltask.Alert{Channel: a.cfg.Channel, Task: t, Posted: now}
			recs, recErr := a.failedRecords(ctx, t)
			if recErr == nil {
				al.Reasons = pooltask.Reasons(recs.Records)
			}
			text, bs := blocks.AlertRoot(al, a.cfg.Actions)
			ts, err := post(rec, blocks.Message{Text: text, Blocks: bs})
			if err != nil {
				return fmt.Errorf("posting alert: %w", err)
			}
			msgs++
			remember([]pooltask.Task{t})
			al.TS = ts
			if err := a.store.PutAlert(ctx, al); err != nil {
				// Posted, but its buttons will say it is not a living alert.
				a.deps.Log.WarnContext(ctx, "alert posted but not kept: its buttons will not work", "task", t.ID, "err", err)
			}
		}
	}
	a.deps.Log.Info("alerted failed tasks", "channel", a.cfg.Channel, "tasks", len(fresh), "messages", msgs)
	return nil
}

// ready reads a target's memory of alerted tasks (m.known), taking over
// the state of an older key, and settles the intents an earlier run left
// (recover). At the target's first start, its failures already there when
// this process started polling are taken as known and none of them is
// alerted (a target that did not answer then has its failures since
// alerted), and when the store lost its memory, every failure there.
func (a *Alerter) ready(ctx context.Context, m *memory, failed []pooltask.Task, target string, since, now time.Time) (bool, error) {
	known, primed, err := a.store.AlertKnown(ctx, m.key)
	if err != nil {
		return false, &loop.StepError{What: "reading the alerted tasks", Err: err}
	}
	for _, key := range m.older {
		if primed {
			break
		}
		old, ok, err := a.store.AlertKnown(ctx, key)
		if err != nil {
			return false, &loop.StepError{What: "reading the alerted tasks", Err: err}
		}
		if ok {
			if err := a.store.AddAlertKnown(ctx, m.key, old, since, m.max); err != nil {
				return false, err
			}
			known, primed = old, true
		}
	}
	baseline := a.started
	if !primed && m.stored {
		// The store had the key and lost it (a Redis restarted empty):
		// a fresh start, not a flood of alerts for every failure there.
		a.deps.Log.Warn("the alerted tasks were lost from the store; taking the failures there as known again", "target", target)
		m.primed, m.stored, baseline = false, false, now
	}
	m.stored = m.stored || primed
	if !primed && !m.primed {
		known = map[string]time.Time{}
		later := 0
		for _, t := range failed {
			switch {
			case t.Target != target:
			case t.Start.After(baseline):
				later++ // failed since, while the target did not answer
			default:
				known[t.ID] = taskTime(t, now)
				m.unsaved[t.ID] = known[t.ID]
			}
		}
		m.primed = true
		a.deps.Log.Info("alerts started; failures already there are taken as known", "known", len(known), "target", target)
		if err := a.saveOne(ctx, m, since); err != nil {
			return false, &loop.StepError{What: "remembering the failed tasks already there at the first start", Err: err}
		}
		if later == 0 {
			return false, nil
		}
	}
	m.primed = true
	if known == nil {
		known = map[string]time.Time{}
	}
	for id, at := range m.unsaved {
		known[id] = at
	}
	m.known = known
	return true, a.recover(ctx, m)
}

// recover settles the intents an earlier run left (a crash between an
// alert's post and the save of its tasks): each is looked for in the
// channel's history by the key in its metadata. Found, its tasks are known
// (added to m.known and saved with the poll's); not found, its tasks are
// alerted as any new failure. A history that cannot be read (no scope,
// not in the channel) is logged, and its tasks alerted again: twice
// rather than never.
func (a *Alerter) recover(ctx context.Context, m *memory) error {
	known := m.known
	intents, err := a.store.AlertIntents(ctx, m.key)
	if err != nil {
		return &loop.StepError{What: "reading the alerts being posted when pooltasks stopped", Err: err}
	}
	for _, in := range intents {
		if m.settled[in.Key] {
			continue
		}
		pending := false
		for id := range in.Tasks {
			if _, ok := known[id]; !ok {
				pending = true
			}
		}
		if !pending {
			m.settled[in.Key] = true
			continue
		}
		ts, err := a.deps.Poster.FindRecorded(ctx, a.cfg.Channel, loop.Record{Type: loop.AlertRecord, Key: in.Key}, in.At.Add(-historySlack))
		if he, ok := errors.AsType[*loop.HistoryError](err); ok {
			a.deps.Log.WarnContext(ctx, "an alert was being posted when pooltasks stopped, and whether it went out cannot be checked: alerting its tasks (again, if it did)",
				"channel", a.cfg.Channel, "tasks", len(in.Tasks), "why", he.Error())
			ts, err = "", nil
		}
		if err != nil {
			return &loop.StepError{What: fmt.Sprintf("looking in %s's history for an alert of %d tasks that was being posted when pooltasks stopped", a.cfg.Channel, len(in.Tasks)), Err: err}
		}
		m.settled[in.Key] = true
		if ts == "" {
			continue
		}
		a.deps.Log.InfoContext(ctx, "an alert went out before pooltasks stopped; not posting it again", "channel", a.cfg.Channel, "tasks", len(in.Tasks), "ts", ts)
		for id, at := range in.Tasks {
			known[id], m.unsaved[id] = at, at
		}
	}
	return nil
}

// post posts a message in the channel (in the thread rec.Thread when not
// empty) that carries rec. A post that started is finished even when ctx
// ends (SIGTERM), or Slack may have it while its outcome is not saved, and
// the next start looks for it; no new post starts once ctx ended.
func (a *Alerter) post(ctx context.Context, rec loop.Record, text string, bs []slack.Block) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), loop.PostTimeout)
	defer cancel()
	return a.deps.Poster.PostRecorded(pctx, a.cfg.Channel, rec, text, bs)
}

// posted reports whether the post of rec, whose intent was saved at at
// and whose outcome was not, went out (a crash, or a post cut off, between
// the two): it is looked for in the channel's history, or its thread's.
// One that cannot be checked (no scope, not in the channel) is logged and
// taken as not posted: posted twice rather than never.
func (a *Alerter) posted(ctx context.Context, rec loop.Record, at time.Time, what string) (bool, error) {
	ts, err := a.deps.Poster.FindRecorded(ctx, a.cfg.Channel, rec, at.Add(-historySlack))
	if he, ok := errors.AsType[*loop.HistoryError](err); ok {
		a.deps.Log.WarnContext(ctx, what+" was being posted when pooltasks stopped, and whether it went out cannot be checked: posting it (again, if it did)",
			"channel", a.cfg.Channel, "why", he.Error())
		return false, nil
	}
	if err != nil {
		return false, &loop.StepError{What: "looking in " + a.cfg.Channel + "'s history for " + what + ", which was being posted when pooltasks stopped", Err: err}
	}
	if ts != "" {
		a.deps.Log.InfoContext(ctx, what+" went out before pooltasks stopped; not posting it again", "channel", a.cfg.Channel, "ts", ts)
	}
	return ts != "", nil
}

// muting is the mute that keeps t from being alerted: one of its pool in
// force now, or when it ended (a failure seen after a mute ended, but that
// happened during it, is told in the mute's summary).
func muting(mutes []pooltask.Mute, t pooltask.Task, now time.Time) (pooltask.Mute, bool) {
	at := t.End
	if at.IsZero() {
		at = t.Start
	}
	for _, m := range mutes {
		if m.PoolID == t.PoolID && (m.Active(now) || m.Covers(at)) {
			return m, true
		}
	}
	return pooltask.Mute{}, false
}

// failedRecords reads the failed desktops of t (one page of up to 100),
// for the reasons on the root and the thread.
func (a *Alerter) failedRecords(ctx context.Context, t pooltask.Task) (pooltask.RecordPage, error) {
	if a.deps.Records == nil {
		return pooltask.RecordPage{}, errors.New("no record reader")
	}
	page, err := a.deps.Records(t.Target).ListRecords(ctx, pooltask.RecordOptions{TaskID: t.ID, Status: "FAILED", Limit: 100})
	if err != nil {
		a.deps.Log.WarnContext(ctx, "failed desktops of an alerted task not read", "task", t.ID, "err", err)
	}
	return page, err
}

// enrichWindow is how long after its root a thread reply is still tried.
const enrichWindow = time.Hour

// followUp posts the thread reply of each living alert of the channel that
// lacks one (right after its root, or at the next poll when the records
// could not be read), tells on its root how a retry taken from it ended
// when no watch told it (see retry.go), and edits the root of each that a
// later run of the same work on the same pool recovered.
func (a *Alerter) followUp(ctx context.Context, now time.Time) error {
	living, err := a.store.Alerts(ctx, a.cfg.Channel)
	if err != nil {
		return &loop.StepError{What: "reading the living alerts", Err: err}
	}
	// A target that does not answer is said (a *loop.TargetError) once the
	// others' alerts were followed up.
	down := a.followRetries(ctx, living, now)
	if down != nil && !loop.Partial(down) {
		return down
	}
	var open []pooltask.Alert
	for _, al := range living {
		if !al.Enriched && now.Sub(al.Posted) < enrichWindow && a.deps.Records != nil {
			switch err := a.enrich(ctx, al, now); {
			case loop.Partial(err):
				down = errors.Join(down, err)
			case err != nil:
				return err
			}
		}
		if al.RecoveredBy == "" && now.Sub(al.Posted) < a.cfg.Horizon {
			open = append(open, al)
		}
	}
	return errors.Join(down, a.recoveries(ctx, open))
}

// enrich posts the thread reply of a living alert: its failed desktops and
// the end of the first one's output. Like the root, the reply is posted
// once: its intent is saved on the alert before it is posted (Enriching),
// the reply carries its key in its metadata, and its outcome is saved
// after (Enriched); an intent without outcome is looked for in the root's
// thread before the reply is posted again.
func (a *Alerter) enrich(ctx context.Context, al pooltask.Alert, now time.Time) error {
	rec := loop.Record{Type: loop.AlertRecord, Key: "thread:" + al.Task.ID, Thread: al.TS}
	what := "the thread reply of the alert of task " + al.Task.ID
	if !al.Enriching.IsZero() {
		found, err := a.posted(ctx, rec, al.Enriching, what)
		if err != nil {
			return err
		}
		if found {
			return a.enriched(ctx, al)
		}
	}
	recs, err := a.failedRecords(ctx, al.Task)
	if err != nil {
		err = &loop.StepError{What: "reading the failed desktops of task " + al.Task.ID + " for its alert's thread", Err: err}
		if al.Task.Target != "" {
			err = &loop.TargetError{Target: al.Task.Target, Err: err}
		}
		return err
	}
	if len(recs.Records) == 0 {
		// Nothing to add to the root's counts: no reply.
		return a.enriched(ctx, al)
	}
	v := blocks.ThreadView{Task: al.Task, Failed: recs.Records, Total: recs.Total}
	first, err := a.deps.Records(al.Task.Target).GetRecord(ctx, recs.Records[0].ID)
	switch ae, isAPI := errors.AsType[*pooltask.APIError](err); {
	case isAPI:
		v.OutputErr = ae.Code + ": " + ae.Message
	case err != nil:
		v.OutputErr = "the API did not answer"
	default:
		v.First = first
	}
	if _, err := a.store.UpdateAlert(ctx, al.Channel, al.TS, func(x *pooltask.Alert) bool {
		if !x.Enriching.IsZero() {
			return false // the first intent stays: the reply is younger
		}
		x.Enriching = now
		return true
	}); err != nil {
		return &loop.StepError{What: "saving that " + what + " is about to be posted (it is not posted before that is saved, or a crash could post it twice)", Err: err}
	}
	text, bs := blocks.AlertThread(v)
	if _, err := a.post(ctx, rec, text, bs); err != nil {
		return fmt.Errorf("posting %s: %w", what, err)
	}
	return a.enriched(ctx, al)
}

// enriched saves that al's thread reply went out (or that it has none).
func (a *Alerter) enriched(ctx context.Context, al pooltask.Alert) error {
	if _, err := a.store.UpdateAlert(ctx, al.Channel, al.TS, func(x *pooltask.Alert) bool { x.Enriched = true; return true }); err != nil {
		return &loop.StepError{What: "remembering that the thread reply of the alert of task " + al.Task.ID + " was posted", Err: err}
	}
	return nil
}

// recoveries edits the root of each open alert that a later run of the same
// work on the same pool, finished with no failed desktop, recovered.
func (a *Alerter) recoveries(ctx context.Context, open []pooltask.Alert) (err error) {
	if len(open) == 0 {
		return nil
	}
	// Each target is read by itself: one that does not answer keeps the
	// others' recoveries going, and its own are looked for at a later
	// poll.
	pools := map[string]map[string]bool{} // target → pool ids
	since := map[string]time.Time{}
	for _, al := range open {
		tg := al.Task.Target
		if pools[tg] == nil {
			pools[tg], since[tg] = map[string]bool{}, al.Task.Start
		}
		pools[tg][al.Task.PoolID] = true
		if al.Task.Start.Before(since[tg]) {
			since[tg] = al.Task.Start
		}
	}
	var done []pooltask.Task
	var down []error
	for _, tg := range slices.Sorted(maps.Keys(pools)) {
		ids := slices.Sorted(maps.Keys(pools[tg]))
		got, _, err := loop.ListPools(ctx, a.deps.Lister, pooltask.ListOptions{Status: pooltask.FilterSuccess, Start: since[tg], Target: tg}, ids, maxAlertTasks)
		switch {
		case err != nil && tg != "":
			down = append(down, &loop.TargetError{Target: tg, Err: fmt.Errorf("listing finished tasks for recoveries: %w", err)})
		case err != nil:
			return fmt.Errorf("listing finished tasks for recoveries: %w", err)
		}
		done = append(done, got...)
	}
	defer func() {
		if err == nil {
			err = errors.Join(down...)
		}
	}()
	for _, al := range open {
		var by *pooltask.Task
		for i, t := range done {
			if pooltask.Recovers(t, al.Task) && (by == nil || t.Start.Before(by.Start)) {
				by = &done[i]
			}
		}
		if by == nil {
			continue
		}
		at := by.End
		if at.IsZero() {
			at = a.deps.Clock.Now()
		}
		changed := false
		saved, err := a.store.UpdateAlert(ctx, al.Channel, al.TS, func(x *pooltask.Alert) bool {
			changed = x.RecoveredBy == ""
			if changed {
				x.RecoveredBy, x.RecoveredAt = by.ID, at
			}
			return changed
		})
		if err != nil {
			return &loop.StepError{What: "remembering a recovered alert", Err: err}
		}
		if !changed { // recovered meanwhile (by its retry), and edited then
			continue
		}
		if err := a.Edit(ctx, saved); err != nil {
			return err
		}
		a.deps.Log.Info("alert recovered", "channel", al.Channel, "task", al.Task.ID, "recovered_by", by.ID)
	}
	return nil
}

// Edit renders a living alert's root again from its saved state and
// updates it in place (chat.update).
func (a *Alerter) Edit(ctx context.Context, al pooltask.Alert) error {
	return EditRoot(ctx, a.deps.Poster, al, a.cfg.Actions)
}

// Updater edits a message in place (chat.update); every loop.Poster is one.
type Updater interface {
	UpdateMessage(ctx context.Context, channel, ts, text string, blocks []slack.Block) error
}

// EditRoot renders a living alert's root from its saved state and updates
// it in place (chat.update): what the alerter does when a task recovers or
// a retry ends, and the bot when someone acknowledges, snoozes or retries
// it. The edit is finished even when ctx ends.
func EditRoot(ctx context.Context, p Updater, al pooltask.Alert, enabled []pooltask.Action) error {
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), loop.PostTimeout)
	defer cancel()
	text, bs := blocks.AlertRoot(al, enabled)
	if err := p.UpdateMessage(pctx, al.Channel, al.TS, text, bs); err != nil {
		return fmt.Errorf("editing the alert of task %s: %w", al.Task.ID, err)
	}
	return nil
}

// tellEndedMutes posts, once per mute, what happened while a pool of this
// route was muted, when the mute is over (ended, or expired: on time even
// across a restart, at the first poll after). Like an alert, the summary
// is posted once: its intent is saved before (SetMuteTelling), it carries
// its key in its metadata, its outcome is saved after (SetMuteTold), and
// an intent without outcome is looked for in the channel's history before
// the summary is posted again.
func (a *Alerter) tellEndedMutes(ctx context.Context, mutes []pooltask.Mute, scope poolScope, now time.Time) error {
	for _, m := range mutes {
		if m.Active(now) || now.Before(m.Start) || !scope.has(m.PoolID) {
			continue
		}
		kept, seen, err := a.store.MutedFailures(ctx, a.cfg.Channel, m.ID())
		if err != nil {
			return &loop.StepError{What: "reading what a mute kept back", Err: err}
		}
		if kept.Told || (!seen && now.Sub(m.End()) > a.cfg.Horizon) {
			continue // told, or ended long before this route knew of it
		}
		rec := loop.Record{Type: loop.AlertRecord, Key: "mute:" + m.ID()}
		what := "the summary of the mute of " + m.Label()
		found := false
		if kept.Telling.IsZero() {
			if err := a.store.SetMuteTelling(ctx, a.cfg.Channel, m.ID(), now); err != nil {
				return &loop.StepError{What: "saving that " + what + " is about to be posted (it is not posted before that is saved, or a crash could post it twice)", Err: err}
			}
		} else if found, err = a.posted(ctx, rec, kept.Telling, what); err != nil {
			return err
		}
		if !found {
			text, bs := blocks.MuteSummary(m, kept.Tasks)
			if _, err := a.post(ctx, rec, text, bs); err != nil {
				return fmt.Errorf("posting %s: %w", what, err)
			}
		}
		if err := a.store.SetMuteTold(ctx, a.cfg.Channel, m.ID()); err != nil {
			return &loop.StepError{What: "remembering that a mute's summary was posted", Err: err}
		}
		a.deps.Log.Info("mute over, summary posted", "channel", a.cfg.Channel, "pool", m.PoolID, "failed_meanwhile", len(kept.Tasks))
	}
	return nil
}

// save writes the known tasks the store does not have yet, of every
// target.
func (a *Alerter) save(ctx context.Context, since time.Time) error {
	var errs []error
	for _, m := range a.memories {
		if err := a.saveOne(ctx, m, since); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// saveOne writes the known tasks of one target the store does not have
// yet.
func (a *Alerter) saveOne(ctx context.Context, m *memory, since time.Time) error {
	if len(m.unsaved) == 0 && m.stored {
		return nil
	}
	if !m.primed {
		return nil // nothing read yet: the key is not started
	}
	if err := a.store.AddAlertKnown(ctx, m.key, m.unsaved, since, m.max); err != nil {
		return err
	}
	m.unsaved, m.stored = map[string]time.Time{}, true
	return nil
}

// unsavedCount is how many known tasks the store does not have yet.
func (a *Alerter) unsavedCount() int {
	n := 0
	for _, m := range a.memories {
		n += len(m.unsaved)
	}
	return n
}

// taskTime is the time an alerted id is remembered by: its start, which is
// what the poll's window selects on.
func taskTime(t pooltask.Task, now time.Time) time.Time {
	if t.Start.IsZero() {
		return now
	}
	return t.Start
}

// poolScope is the pools a route covers at one poll.
type poolScope struct {
	all bool
	ids map[string]bool
}

func (s poolScope) has(poolID string) bool { return s.all || s.ids[poolID] }

// listFailed lists the failed tasks of the route's pools in each target
// by itself, and returns them with the targets read (each failure
// naming its target when there are several), the pools they cover, and
// the targets that did not answer.
func (a *Alerter) listFailed(ctx context.Context, since, now time.Time) ([]pooltask.Task, []string, poolScope, []*loop.TargetError, error) {
	// A pool that names no pool is left out (and said so each poll) rather
	// than stop the alerts of the others.
	res, err := loop.ResolveTargets(ctx, a.deps.Lister, a.cfg.Pools)
	var none *loop.NoPoolError
	if errors.As(err, &none) && !slices.ContainsFunc(a.cfg.Pools, func(p string) bool { return !strings.Contains(p, "*") }) {
		// Globs alone that match no pool yet: nothing to alert until one
		// comes, which is no failure of the loop.
		a.deps.Log.DebugContext(ctx, "no pool of the route yet", "channel", a.cfg.Channel, "pools", a.cfg.Pools)
		return nil, nil, poolScope{}, nil, nil
	}
	if err != nil {
		return nil, nil, poolScope{}, nil, fmt.Errorf("alert pools: %w", err)
	}
	for _, p := range res.Problems {
		a.deps.Log.WarnContext(ctx, "alert pool left out", "problem", p)
	}
	scope := poolScope{all: len(a.cfg.Pools) == 0, ids: map[string]bool{}}
	for _, sc := range res.Scopes {
		for _, id := range sc.Pools.IDs {
			scope.ids[id] = true
		}
	}
	tasks, _, down, err := loop.ListTargets(ctx, res.Scopes, pooltask.ListOptions{Status: pooltask.FilterFailed, Start: since}, maxAlertTasks)
	if err != nil {
		return nil, nil, poolScope{}, nil, fmt.Errorf("listing failed tasks: %w", err)
	}
	var targets []string
	for _, sc := range res.Scopes {
		if !slices.ContainsFunc(down, func(d *loop.TargetError) bool { return d.Target == sc.Target }) {
			targets = append(targets, sc.Target)
		}
	}
	var out []pooltask.Task
	for _, t := range tasks {
		if t.Status == pooltask.StatusFailed {
			out = append(out, t)
		}
	}
	return out, targets, scope, append(res.Down, down...), nil
}
