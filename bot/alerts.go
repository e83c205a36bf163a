package bot

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pooltasks/pooltasks/bot/blocks"
	"github.com/pooltasks/pooltasks/bot/notify/alert"
	"github.com/pooltasks/pooltasks/bot/notify/loop"
	"github.com/pooltasks/pooltasks/commands"
	"github.com/pooltasks/pooltasks/pooltask"
)

// Alerts is what the controls of living alerts (Acknowledge, Snooze) and
// the mute commands need from the shared state store (bot/notify's store:
// the file store, or Redis with replicas).
type Alerts interface {
	// Alert returns the living alert whose root is the message ts of
	// channel.
	Alert(ctx context.Context, channel, ts string) (pooltask.Alert, bool, error)
	// UpdateAlert changes it with change, atomically across replicas (so
	// that of two people acknowledging, one is first), and returns it as
	// saved; change returns false to keep it as it was.
	UpdateAlert(ctx context.Context, channel, ts string, change func(*pooltask.Alert) bool) (pooltask.Alert, error)
	// Mutes returns the mutes in force at now and those ended lately.
	Mutes(ctx context.Context, now time.Time) ([]pooltask.Mute, error)
	// PutMute mutes a pool (extending a mute in force) and returns the
	// mute as saved; EndMute ends the one in force, false when none was.
	PutMute(ctx context.Context, m pooltask.Mute) (pooltask.Mute, error)
	EndMute(ctx context.Context, poolID, by string, now time.Time) (pooltask.Mute, bool, error)
}

// operator checks that the user may change alerts and mutes: anyone the
// bot serves, or, when POOLTASKS_OPERATORS is set, its operators (the same
// as for actions: users and members of user groups).
func (b *Bot) operator(ctx context.Context, req *request) error {
	if len(b.cfg.Actions.Operators) == 0 {
		return nil
	}
	ok, err := b.act.ops.is(ctx, req.user)
	if err != nil {
		b.log.WarnContext(ctx, "operators", "err", err)
	}
	if !ok {
		return &userError{cond: condNotAllowed, detail: "Sorry, only operators may acknowledge, snooze or mute alerts, and you are not one of them.",
			hint: "Ask an operator, or the team that runs pooltasks to add you to POOLTASKS_OPERATORS."}
	}
	return nil
}

// livingAlert returns the living alert a click came from, with the checks
// every control of one makes.
func (b *Bot) livingAlert(ctx context.Context, req *request, channel, ts string) (pooltask.Alert, error) {
	if b.cfg.Alerts == nil {
		return pooltask.Alert{}, problem(condNotAvailable, "Alerts cannot be acknowledged or snoozed on this pooltasks.")
	}
	if err := b.operator(ctx, req); err != nil {
		return pooltask.Alert{}, err
	}
	al, ok, err := b.cfg.Alerts.Alert(ctx, channel, ts)
	if err != nil {
		return pooltask.Alert{}, fmt.Errorf("reading an alert: %w", err)
	}
	if !ok {
		return pooltask.Alert{}, problem(condStaleButton, "This alert is too old, or was not posted by this pooltasks.")
	}
	return al, nil
}

// editRoot renders a living alert's root again from its saved state and
// edits it in place, as the alerts do.
func (b *Bot) editRoot(ctx context.Context, al pooltask.Alert) error {
	return alert.EditRoot(ctx, loop.NewSlackPoster(b.api), al, b.cfg.Actions.Enabled)
}

// acknowledge answers Acknowledge: the first person's click names them on the
// root; a later click is told who is on it already.
func (b *Bot) acknowledge(ctx context.Context, req *request) (answer, error) {
	a := answer{to: toPrivate}
	if _, err := b.livingAlert(ctx, req, req.channel, req.messageTS); err != nil {
		return a, err
	}
	now := b.cfg.Now()
	al, err := b.cfg.Alerts.UpdateAlert(ctx, req.channel, req.messageTS, func(x *pooltask.Alert) bool {
		if x.AckedBy != "" {
			return false
		}
		x.AckedBy, x.AckedAt = req.user, now
		return true
	})
	if err != nil {
		return a, fmt.Errorf("acknowledging an alert: %w", err)
	}
	if al.AckedBy != req.user || !al.AckedAt.Equal(now) {
		a.outcome = "already_acknowledged"
		a.render = fixed(blocks.AckedAlready(al.AckedBy, al.AckedAt, al.AckedBy == req.user))
		return a, nil
	}
	a.outcome = "acknowledged"
	return a, b.editRoot(ctx, al)
}

// tomorrowAt9 is 09:00 UTC of the day after now.
func tomorrowAt9(now time.Time) time.Time {
	y, m, d := now.UTC().Date()
	return time.Date(y, m, d+1, 9, 0, 0, 0, time.UTC)
}

// snooze answers the Snooze menu: 1 h, 4 h or until tomorrow 09:00 UTC mute
// the alert's pool now; Custom… opens a modal asking how long.
func (b *Bot) snooze(ctx context.Context, req *request) (answer, error) {
	a := answer{to: toPrivate}
	al, err := b.livingAlert(ctx, req, req.channel, req.messageTS)
	if err != nil {
		return a, err
	}
	now := b.cfg.Now()
	var until time.Time
	switch req.text {
	case blocks.Snooze1h:
		until = now.Add(time.Hour)
	case blocks.Snooze4h:
		until = now.Add(4 * time.Hour)
	case blocks.SnoozeTomorrow:
		until = tomorrowAt9(now)
	case blocks.SnoozeCustom:
		// The trigger expires 3 s after the click: open at once.
		if _, err := b.api.OpenViewContext(ctx, req.triggerID, blocks.SnoozeModal(al)); err != nil {
			return a, fmt.Errorf("opening the snooze dialog: %w", err)
		}
		a.outcome = "snooze_dialog"
		return a, nil
	default:
		return a, problem(condStaleButton, "")
	}
	return b.snoozeUntil(ctx, req, al, until, "")
}

// snoozeCustom answers the custom snooze modal's submission: opened in
// the alert's channel, on its root (the request's thread, see
// SnoozeMetadata), with the typed length and reason.
func (b *Bot) snoozeCustom(ctx context.Context, req *request) (answer, error) {
	a := answer{to: toPrivate}
	al, err := b.livingAlert(ctx, req, req.channel, req.threadTS)
	if err != nil {
		return a, err
	}
	forText, reason := req.values[blocks.SnoozeBlockFor][blocks.SnoozeInput], req.values[blocks.SnoozeBlockReason][blocks.SnoozeInput]
	// The modal's words are the command language's: they parse as for=
	// and reason= of a mute.
	text := commands.Command{Verb: commands.VerbMute, Query: pooltask.ListOptions{PoolID: al.Task.PoolID}}.Canonical() + " for=" + quote(forText)
	if strings.TrimSpace(reason) != "" {
		text += " reason=" + quote(reason)
	}
	cmd, err := commands.Parse(text, req.sentAt)
	if err != nil {
		return a, err
	}
	return b.snoozeUntil(ctx, req, al, b.cfg.Now().Add(cmd.For), cmd.Reason)
}

// quote writes a typed value for the command language: in double quotes,
// which it may then not hold.
func quote(s string) string {
	return `"` + strings.ReplaceAll(strings.TrimSpace(s), `"`, "'") + `"`
}

// snoozeUntil mutes the alert's pool until then and says so on the root.
func (b *Bot) snoozeUntil(ctx context.Context, req *request, al pooltask.Alert, until time.Time, reason string) (answer, error) {
	a := answer{to: toPrivate}
	now := b.cfg.Now()
	if reason == "" {
		reason = "snoozed from the alert of task " + al.Task.ID
	}
	m, err := b.cfg.Alerts.PutMute(ctx, pooltask.Mute{PoolID: al.Task.PoolID, PoolName: al.Task.PoolName, By: req.user, Reason: reason, Start: now, Until: until})
	if err != nil {
		return a, fmt.Errorf("muting a pool: %w", err)
	}
	al, err = b.cfg.Alerts.UpdateAlert(ctx, al.Channel, al.TS, func(x *pooltask.Alert) bool {
		x.SnoozedBy, x.SnoozedUntil = req.user, m.Until
		return true
	})
	if err != nil {
		return a, fmt.Errorf("snoozing an alert: %w", err)
	}
	b.log.InfoContext(ctx, "pool muted", "pool", m.PoolID, "until", m.Until, "by", req.user, "from_alert", al.Task.ID)
	a.outcome = "snoozed"
	a.render = fixed(blocks.MuteChange(m, req.user, false))
	return a, b.editRoot(ctx, al)
}

// mutePool makes the checks of mute and unmute (mutes available, an
// operator, a pool the channel may see) and returns the pool's id and
// name, and a note when the pools API could not be asked.
func (b *Bot) mutePool(ctx context.Context, req *request, cmd commands.Command) (id, name, note string, err error) {
	if b.cfg.Alerts == nil {
		return "", "", "", problem(condNotAvailable, "Mutes are not available on this pooltasks.")
	}
	if err := b.operator(ctx, req); err != nil {
		return "", "", "", err
	}
	names, err := b.route(req, cmd.Target)
	if err != nil {
		return "", "", "", err
	}
	if len(names) > 1 {
		return "", "", "", problem(condBadInput, "Which target is the pool in? Add target=NAME (one of "+strings.Join(names, ", ")+").")
	}
	given := cmd.Query.PoolID
	if note, err = b.scopePool(ctx, req, names[0], &cmd.Query); err != nil {
		return "", "", "", err
	}
	return cmd.Query.PoolID, b.client(names[0]).ResolvePool(ctx, given).Name, note, nil
}

// mute answers `/pooltasks mute pool=NAME for=2h reason="…"`, in the
// channel, so that the people there know alerts are off.
func (b *Bot) mute(ctx context.Context, req *request, cmd commands.Command, _ delivery) (answer, error) {
	id, name, note, err := b.mutePool(ctx, req, cmd)
	if err != nil {
		return answer{to: toPrivate}, err
	}
	now := b.cfg.Now()
	m, err := b.cfg.Alerts.PutMute(ctx, pooltask.Mute{PoolID: id, PoolName: name, By: req.user, Reason: cmd.Reason, Start: now, Until: now.Add(cmd.For)})
	if err != nil {
		return answer{to: toPrivate}, fmt.Errorf("muting a pool: %w", err)
	}
	return answer{to: toChannel, note: note, outcome: "muted", render: fixed(blocks.MuteChange(m, req.user, false))}, nil
}

// unmute answers `/pooltasks unmute pool=NAME`.
func (b *Bot) unmute(ctx context.Context, req *request, cmd commands.Command, _ delivery) (answer, error) {
	id, _, note, err := b.mutePool(ctx, req, cmd)
	if err != nil {
		return answer{to: toPrivate}, err
	}
	m, ok, err := b.cfg.Alerts.EndMute(ctx, id, req.user, b.cfg.Now())
	if err != nil {
		return answer{to: toPrivate}, fmt.Errorf("ending a mute: %w", err)
	}
	if !ok {
		return answer{to: toPrivate}, problem(condNotFound, "That pool is not muted; `/pooltasks mutes` lists the mutes in force.")
	}
	return answer{to: toChannel, note: note, outcome: "unmuted", render: fixed(blocks.MuteChange(m, req.user, true))}, nil
}

// mutes answers `/pooltasks mutes`.
func (b *Bot) mutes(ctx context.Context, _ *request, _ commands.Command, to delivery) (answer, error) {
	if b.cfg.Alerts == nil {
		return answer{to: toPrivate}, problem(condNotAvailable, "Mutes are not available on this pooltasks.")
	}
	now := b.cfg.Now()
	ms, err := b.cfg.Alerts.Mutes(ctx, now)
	if err != nil {
		return answer{to: toPrivate}, fmt.Errorf("reading the mutes: %w", err)
	}
	t, bs := blocks.Mutes(ms, now)
	return answer{to: to, render: fixed(t, bs)}, nil
}
