package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"

	"github.com/pooltasks/pooltasks/bot/blocks"
	"github.com/pooltasks/pooltasks/commands"
	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/trunc"
	"github.com/pooltasks/pooltasks/workspace"
)

// Watcher starts and stops live watches of a task (bot/notify's Watches,
// adapted in cmd/pooltasks).
type Watcher interface {
	// StartWatch posts the watch message and returns the watch id. When
	// the task is already watched in that channel and thread, it starts
	// no other and returns an error with an ExistingWatch method (see
	// existingWatch), which the bot tells the user about.
	StartWatch(ctx context.Context, taskID, channel, threadTS, userID string) (string, error)
	// StopWatch ends a watch at the Stop button pressed by userID.
	StopWatch(watchID, userID string) error
}

// existingWatch is implemented by the error of a StartWatch that found the
// task already watched there (bot/notify's AlreadyWatchingError).
type existingWatch interface {
	error
	ExistingWatch() (watchID, channel, messageTS string)
}

// Digester collects a failure digest now (bot/notify's Notifier): of q's
// window [q.Start, q.End), limited to q's script, script name and task type
// and to pools (all when empty). The bot renders it (native: chart blocks
// allowed) and delivers it like any other answer.
type Digester interface {
	Digest(ctx context.Context, q pooltask.ListOptions, pools []string) (func(native bool) (string, []slack.Block), error)
}

// Notifier is what the bot hands watch, digest and the Stop button to.
type Notifier interface {
	Watcher
	Digester
}

// kind is how a request reached the bot.
type kind int

const (
	kindSlash kind = iota
	kindClick
	kindMention
)

func (k kind) String() string {
	switch k {
	case kindSlash:
		return "slash"
	case kindClick:
		return "click"
	default:
		return "mention"
	}
}

// request is one acked envelope waiting to be answered.
type request struct {
	kind       kind
	envelopeID string
	keys       []string // ids a redelivery would repeat
	team       string
	user       string
	channel    string
	text       string // command text, or the clicked button's value
	actionID   string
	// responseURL answers a slash command or a click.
	responseURL string
	messageTS   string
	threadTS    string // where a mention's answer goes; the thread of a clicked message
	// publicMessage says a click came from a message everyone in the
	// channel sees (a shared answer, a mention's answer in its thread).
	publicMessage bool
	received      time.Time // when the loop took the envelope, for latency
	// sentAt is cfg.Now() when the envelope arrived: what "since=1h" is
	// counted back from, however long the request then waited for a
	// worker. It also keeps a burst of alike commands on the same cache
	// key, so that the client's token bucket is not spent on one answer
	// per second a slow queue took.
	sentAt time.Time

	// verbKnown is the verb as far as the worker knows it; log lines of
	// the request read it (see NewLogHandler).
	verbKnown atomic.Pointer[string]
}

func (r *request) verbHint() string {
	if r.kind == kindClick {
		return blocks.BaseAction(r.actionID)
	}
	return "unknown"
}

// private reports whether an answer delivered to is seen by the requester
// only, so that a Share button makes sense on it: not when it goes to the
// channel, answers a mention (in its thread), or replaces a public message.
func (r *request) private(to delivery) bool {
	switch {
	case to == toChannel, r.kind == kindMention:
		return false
	case to == toReplace:
		return !r.publicMessage
	}
	return true
}

// setVerb records what the request turned out to ask for.
func (r *request) setVerb(v string) { r.verbKnown.Store(&v) }

// verb is the verb as known so far: the parsed command's, or a hint.
func (r *request) verb() string {
	if v := r.verbKnown.Load(); v != nil {
		return *v
	}
	return r.verbHint()
}

// outcome is what the audit line says about a request.
type outcome struct {
	command string
	result  string
}

var mentionPrefix = regexp.MustCompile(`^\s*<@[A-Z0-9]+(\|[^>]*)?>[\s:,]*`)

// stripMention removes the leading mention of the bot from a mention's text.
func stripMention(text string) string {
	return mentionPrefix.ReplaceAllString(text, "")
}

// serve answers one request: it recovers a panic, answering the user with a
// reference to the log line, and writes the audit line. Everything it logs,
// and what it calls logs with its ctx, carries the request's fields.
func (b *Bot) serve(ctx context.Context, req *request) {
	ctx, cancel := context.WithTimeout(withRequest(ctx, req), b.cfg.JobTimeout)
	defer cancel()
	ctx, calls := workspace.CountCalls(ctx)
	o := &outcome{result: "ok"}
	defer func() {
		if p := recover(); p != nil {
			ref := newRef()
			o.result = "panic"
			b.log.ErrorContext(ctx, "handler panicked", "ref", ref, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			b.notice(ctx, req, toPrivate, "Something went wrong on my side (ref "+ref+"). It has been logged; please try again.")
		}
		b.metrics.command(req.verb(), o.result)
		b.audit(ctx, req, o, calls())
	}()
	b.handle(ctx, req, o)
}

// audit writes the one audit line of a request (the user, channel and verb
// come from ctx, see withRequest): served ones and those answered "busy".
func (b *Bot) audit(ctx context.Context, req *request, o *outcome, apiCalls int) {
	level := slog.LevelInfo
	if o.result == "dropped" { // no answer went out: someone should look
		level = slog.LevelWarn
	}
	b.log.Log(ctx, level, "command", "kind", req.kind.String(), "command", o.command, "outcome", o.result,
		"api_calls", apiCalls, "latency_ms", time.Since(req.received).Milliseconds())
}

func (b *Bot) handle(ctx context.Context, req *request, o *outcome) {
	text := req.text
	to := toRequester
	if req.kind == kindClick {
		switch blocks.BaseAction(req.actionID) {
		case blocks.ActionOutput, blocks.ActionStopWatch:
		case blocks.ActionDetails:
			to = toPrivate
		case blocks.ActionWatch:
			// Like a typed watch in the click's channel (and thread); its
			// outcome goes to the clicker, the details stay as they are.
			to = toPrivate
		case blocks.ActionPrev, blocks.ActionNext, blocks.ActionFailed, blocks.ActionRefresh:
			to = toReplace
		case blocks.ActionShare:
			to = toChannel
		case blocks.ActionViewAll:
			to = toPrivate
		default:
			o.result = "ignored"
			return
		}
	}

	if !b.access.userAllowed(req.user) || !b.access.channelAllowed(req.channel) {
		o.result = "refused"
		msg := "Sorry, you are not on the list of people who can use pooltasks. Ask the team that runs it to add you."
		if b.access.userAllowed(req.user) {
			msg = "Sorry, pooltasks does not answer in this channel. Ask the team that runs it, or try a channel it serves."
		}
		b.notice(ctx, req, toPrivate, msg)
		return
	}
	if ok, wait := b.access.allow(req.user, b.cfg.Now()); !ok {
		o.result = "rate_limited"
		b.notice(ctx, req, toPrivate, fmt.Sprintf("You are sending commands faster than %d a minute; try again in %d s.",
			b.cfg.UserRate, seconds(wait)))
		return
	}

	if req.kind == kindClick {
		switch blocks.BaseAction(req.actionID) {
		case blocks.ActionOutput:
			req.setVerb("output")
			b.output(ctx, req, o)
			return
		case blocks.ActionStopWatch:
			req.setVerb("watch_stop")
			b.stopWatch(ctx, req, o)
			return
		}
	}

	cmd, err := commands.Parse(text, req.sentAt)
	if err != nil {
		o.result = "bad_input"
		o.command = trunc.Cut(text, 200)
		var in *commands.InputError
		if !errors.As(err, &in) {
			in = &commands.InputError{Problems: []commands.Problem{{Message: err.Error()}}}
		}
		problems := make([]string, len(in.Problems))
		for i, p := range in.Problems {
			problems[i] = p.Message
		}
		t, bs := blocks.Error(blocks.ErrorView{
			Title:    "I couldn't read that command",
			Problems: problems,
			Example:  "/pooltasks help",
		})
		if req.kind == kindClick {
			to = toPrivate
		}
		_ = b.reply(ctx, req, to, fixed(t, bs))
		return
	}
	if req.kind == kindClick && blocks.BaseAction(req.actionID) == blocks.ActionWatch && cmd.Verb != commands.VerbWatch {
		o.result = "bad_input"
		o.command = trunc.Cut(text, 200)
		b.notice(ctx, req, toPrivate, "That button is not valid any more; run the command again.")
		return
	}
	req.setVerb(string(cmd.Verb))
	o.command = cmd.Canonical()
	if cmd.Share && req.kind == kindSlash {
		to = toChannel
	}

	switch cmd.Verb {
	case commands.VerbHelp:
		help := commands.Help()
		if cmd.Topic != "" {
			if h, ok := commands.HelpTopic(cmd.Topic); ok {
				help = h
			}
		}
		t, bs := blocks.Help(help)
		_ = b.reply(ctx, req, to, fixed(t, bs))
	case commands.VerbList, commands.VerbFailed:
		b.list(ctx, req, to, cmd, o)
	case commands.VerbShow:
		b.show(ctx, req, to, cmd, o)
	case commands.VerbWatch:
		b.watch(ctx, req, cmd, o)
	case commands.VerbDigest:
		b.digest(ctx, req, to, cmd, o)
	case commands.VerbDoctor:
		b.doctor(ctx, req, o)
	default:
		o.result = "unsupported"
		b.notice(ctx, req, toPrivate, "/pooltasks "+string(cmd.Verb)+" is not available here.")
	}
}

// scopePool applies the channel's pool binding to a query and resolves a
// pool name to its id. It answers the user itself and returns false when
// the command cannot go on.
func (b *Bot) scopePool(ctx context.Context, req *request, cmd *commands.Command, o *outcome) bool {
	if cmd.Query.PoolID == "" {
		cmd.Query.PoolID = b.access.defaultPool(req.channel)
	}
	given := cmd.Query.PoolID
	if given == "" {
		return true
	}
	id, choices := b.pools.resolve(ctx, given)
	if len(choices) > 0 {
		o.result = "ambiguous_pool"
		var lines []string
		for i, p := range choices {
			if i == 10 {
				lines = append(lines, fmt.Sprintf("… and %d more", len(choices)-i))
				break
			}
			lines = append(lines, fmt.Sprintf("%s (pool=%s)", p.Name, p.ID))
		}
		t, bs := blocks.Error(blocks.ErrorView{
			Title:    fmt.Sprintf("%d pools match %q; which one?", len(choices), given),
			Problems: lines,
			Hint:     "Give the pool's id, or its full name in double quotes.",
		})
		_ = b.reply(ctx, req, toPrivate, fixed(t, bs))
		return false
	}
	if entries, bound := b.access.binding(req.channel); bound && !b.pools.allowed(ctx, entries, given, id) {
		o.result = "refused_pool"
		b.notice(ctx, req, toPrivate, "This channel can see the pools "+strings.Join(entries, ", ")+" only.")
		return false
	}
	cmd.Query.PoolID = id
	return true
}

func (b *Bot) list(ctx context.Context, req *request, to delivery, cmd commands.Command, o *outcome) {
	if !b.scopePool(ctx, req, &cmd, o) {
		return
	}
	page, err := b.ws.ListTasks(ctx, cmd.Query)
	if err != nil {
		b.apiError(ctx, req, to, err, o)
		return
	}
	title := "Tasks"
	if cmd.Verb == commands.VerbFailed || cmd.Query.Status == pooltask.FilterFailed {
		title = "Failed tasks"
	}
	base := cmd
	base.Share = false
	v := blocks.ListView{
		Title:       title,
		Description: base.Describe(),
		Tasks:       page.Tasks,
		Total:       page.Total,
		Offset:      cmd.Query.Offset,
		Command:     base.Canonical(),
		Now:         b.cfg.Now(),
	}
	if cmd.Page > 1 {
		prev := base
		prev.Page--
		v.PrevCommand = prev.Canonical()
	}
	if cmd.Query.Offset+len(page.Tasks) < page.Total {
		next := base
		next.Page++
		v.NextCommand = next.Canonical()
	}
	if cmd.Query.Status != pooltask.FilterFailed {
		failed := base
		failed.Query.Status = pooltask.FilterFailed
		failed.Page = 1
		v.FailedCommand = failed.Canonical()
	}
	if req.private(to) {
		share := base
		share.Share = true
		v.ShareCommand = share.Canonical()
	}
	_ = b.reply(ctx, req, to, func(native bool) (string, []slack.Block) {
		v.Native = native
		return blocks.List(v)
	})
}

// scopedTask fetches one task and checks it against the channel's pool
// binding, as show, watch and the Output button need. It answers the user
// itself (errors to to) and returns false when the command cannot go on.
func (b *Bot) scopedTask(ctx context.Context, req *request, to delivery, taskID string, o *outcome) (pooltask.Task, bool) {
	page, err := b.ws.ListTasks(ctx, pooltask.ListOptions{TaskIDs: []string{taskID}, Limit: 1})
	if err != nil {
		b.apiError(ctx, req, to, err, o)
		return pooltask.Task{}, false
	}
	if len(page.Tasks) == 0 {
		o.result = "not_found"
		b.notice(ctx, req, to, "No task with id "+taskID+" was found. Check the id, or list tasks with /pooltasks list since=7d.")
		return pooltask.Task{}, false
	}
	task := page.Tasks[0]
	if entries, bound := b.access.binding(req.channel); bound &&
		!b.pools.allowed(ctx, entries, task.PoolName, task.PoolID) {
		o.result = "refused_pool"
		b.notice(ctx, req, toPrivate, "That task belongs to a pool this channel cannot see.")
		return pooltask.Task{}, false
	}
	return task, true
}

func (b *Bot) show(ctx context.Context, req *request, to delivery, cmd commands.Command, o *outcome) {
	task, ok := b.scopedTask(ctx, req, to, cmd.TaskID, o)
	if !ok {
		return
	}
	v := blocks.TaskView{Task: task, Now: b.cfg.Now(), NoWatch: b.cfg.Notifier == nil}
	recs, err := b.ws.ListRecords(ctx, pooltask.RecordOptions{TaskID: task.ID, Status: "FAILED", Limit: 50})
	if err != nil {
		v.RecordsErr = errorSummary(err)
	} else {
		v.Failed, v.FailedTotal = recs.Records, recs.Total
	}
	if req.private(to) {
		share := cmd
		share.Share = true
		v.ShareCommand = share.Canonical()
	}
	t, bs := blocks.Task(v)
	_ = b.reply(ctx, req, to, fixed(t, bs))
}

var recordIDShape = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)

// output answers the Output button: value "output RECORD_ID TASK_ID".
func (b *Bot) output(ctx context.Context, req *request, o *outcome) {
	f := strings.Fields(req.text)
	if len(f) != 3 || f[0] != "output" || !recordIDShape.MatchString(f[1]) || !recordIDShape.MatchString(f[2]) {
		o.result = "bad_input"
		b.notice(ctx, req, toPrivate, "That button is not valid any more; run the command again.")
		return
	}
	recordID, taskID := f[1], f[2]
	o.command = "output " + recordID + " " + taskID
	if _, bound := b.access.binding(req.channel); bound {
		if _, ok := b.scopedTask(ctx, req, toPrivate, taskID, o); !ok {
			return
		}
	}
	rec, err := b.ws.GetRecord(ctx, recordID)
	if err != nil {
		b.apiError(ctx, req, toPrivate, err, o)
		return
	}
	if rec.TaskID != "" && rec.TaskID != taskID {
		o.result = "bad_input"
		b.notice(ctx, req, toPrivate, "That record does not belong to the task; run the command again.")
		return
	}
	t, bs := blocks.Output(rec)
	_ = b.reply(ctx, req, toPrivate, fixed(t, bs))
}

func (b *Bot) watch(ctx context.Context, req *request, cmd commands.Command, o *outcome) {
	if b.cfg.Notifier == nil {
		o.result = "unavailable"
		b.notice(ctx, req, toPrivate, "Watches are not available on this pooltasks.")
		return
	}
	if _, ok := b.scopedTask(ctx, req, toPrivate, cmd.TaskID, o); !ok {
		return
	}
	thread := ""
	if req.kind == kindMention || req.kind == kindClick {
		// A mention's thread, or the thread of the clicked message.
		thread = req.threadTS
	}
	if _, err := b.cfg.Notifier.StartWatch(ctx, cmd.TaskID, req.channel, thread, req.user); err != nil {
		var running existingWatch
		if errors.As(err, &running) {
			// Someone else asked first, or an earlier try that seemed to
			// fail did start: the one watch message serves both.
			o.result = "already_watching"
			where := "this channel"
			if thread != "" {
				where = "this thread"
			}
			b.notice(ctx, req, toPrivate, "Already watching task "+cmd.TaskID+" in "+where+"; follow its watch message there.")
			return
		}
		b.apiError(ctx, req, toPrivate, err, o)
		return
	}
	if req.kind != kindMention {
		where := "this channel"
		if thread != "" {
			where = "this thread"
		}
		b.notice(ctx, req, toPrivate, "Watching task "+cmd.TaskID+" in "+where+".")
	}
}

func (b *Bot) stopWatch(ctx context.Context, req *request, o *outcome) {
	if b.cfg.Notifier == nil {
		o.result = "unavailable"
		b.notice(ctx, req, toPrivate, "Watches are not available on this pooltasks.")
		return
	}
	id := strings.TrimSpace(req.text)
	if !recordIDShape.MatchString(id) {
		o.result = "bad_input"
		b.notice(ctx, req, toPrivate, "That button is not valid any more.")
		return
	}
	if err := b.cfg.Notifier.StopWatch(id, req.user); err != nil {
		o.result = "error"
		b.notice(ctx, req, toPrivate, err.Error())
	}
}

func (b *Bot) digest(ctx context.Context, req *request, to delivery, cmd commands.Command, o *outcome) {
	if b.cfg.Notifier == nil {
		o.result = "unavailable"
		b.notice(ctx, req, toPrivate, "Digests are not available on this pooltasks.")
		return
	}
	var pools []string
	if entries, bound := b.access.binding(req.channel); bound && cmd.Query.PoolID == "" {
		// A bound channel's digest covers every pool it may see.
		var problem error
		if pools, problem = b.pools.boundIDs(ctx, entries); problem != nil {
			if _, named := errors.AsType[*pooltask.PoolNameError](problem); !named {
				b.apiError(ctx, req, to, problem, o) // the pools API failed
				return
			}
			o.result = "refused_pool"
			b.notice(ctx, req, toPrivate, "No digest: this channel may see certain pools only, and in POOLTASKS_CHANNEL_POOLS "+
				problem.Error()+". Give pool=, or ask the team that runs pooltasks to fix the binding.")
			return
		}
	} else {
		if !b.scopePool(ctx, req, &cmd, o) {
			return
		}
		if cmd.Query.PoolID != "" {
			pools = []string{cmd.Query.PoolID}
		}
	}
	q := pooltask.ListOptions{ScriptID: cmd.Query.ScriptID, ScriptName: cmd.Query.ScriptName, TaskType: cmd.Query.TaskType,
		Start: cmd.Query.Start, End: cmd.Query.End}
	if q.End.IsZero() {
		q.End = req.sentAt
	}
	if q.Start.IsZero() {
		q.Start = q.End.Add(-24 * time.Hour)
	}
	r, err := b.cfg.Notifier.Digest(ctx, q, pools)
	if err != nil {
		b.apiError(ctx, req, to, err, o)
		return
	}
	_ = b.reply(ctx, req, to, r)
}

func (b *Bot) doctor(ctx context.Context, req *request, o *outcome) {
	if b.cfg.Doctor == nil {
		o.result = "unavailable"
		b.notice(ctx, req, toPrivate, "/pooltasks doctor is not available on this pooltasks.")
		return
	}
	if !slices.Contains(b.cfg.AdminUsers, req.user) {
		o.result = "refused"
		b.notice(ctx, req, toPrivate, "/pooltasks doctor is for the admins of pooltasks (POOLTASKS_ADMIN_USERS); run `pooltasks doctor` where it is deployed instead.")
		return
	}
	report, err := b.cfg.Doctor(ctx)
	if err != nil {
		o.result = "error"
		b.notice(ctx, req, toPrivate, "The diagnostics failed: "+errorSummary(err))
		return
	}
	text := "```" + blocks.Escape(trunc.Cut(report, 2800)) + "```"
	bs := []slack.Block{
		slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, "pooltasks doctor", false, false)),
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, text, false, false), nil, nil),
	}
	_ = b.reply(ctx, req, toPrivate, fixed("pooltasks doctor", bs))
}

// apiError answers a failed call: the API's code, message and request id
// with a hint, or what else went wrong.
func (b *Bot) apiError(ctx context.Context, req *request, to delivery, err error, o *outcome) {
	if to == toChannel {
		to = toRequester // errors are not for the whole channel
	}
	v := blocks.ErrorView{Title: "The Workspace API answered with an error"}
	var ae *pooltask.APIError
	switch {
	case errors.As(err, &ae):
		o.result = fmt.Sprintf("api_%d", ae.Status)
		v.Code, v.Message, v.RequestID = ae.Code, ae.Message, ae.RequestID
		switch {
		case ae.Status == 401:
			v.Hint = "pooltasks' credentials were refused: check HUAWEICLOUD_SDK_AK/SK (or the role) and the project id."
		case ae.Status == 403:
			v.Hint = "pooltasks is not allowed to do this: grant its IAM user or agency the Workspace read permissions (e.g. Workspace ReadOnlyAccess) in this project."
		case ae.Status == 429:
			v.Hint = "The API is busy; pooltasks retried with backoff. Try again in a minute."
		case ae.Status >= 500:
			v.Hint = "The API failed on its side; pooltasks retried. Try again shortly."
		case ae.Status == 400:
			v.Hint = "The API refused the query; check the ids and filters (see /pooltasks help)."
		}
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		o.result = "timeout"
		v.Title = "The Workspace API did not answer in time"
		v.Hint = "Nothing came back before the deadline (pooltasks may also be restarting). Try again, or narrow the query."
	default:
		o.result = "error"
		v.Title = "Something went wrong"
		v.Message = errorSummary(err)
	}
	b.log.WarnContext(ctx, "command failed", "err", err)
	t, bs := blocks.Error(v)
	_ = b.reply(ctx, req, to, fixed(t, bs))
}

// errorSummary is an error for people: the API's own message or a short
// description, never a raw transport error with URLs.
func errorSummary(err error) string {
	var ae *pooltask.APIError
	if errors.As(err, &ae) {
		s := ae.Code + ": " + ae.Message
		if ae.RequestID != "" {
			s += " (request id " + ae.RequestID + ")"
		}
		return s
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "no answer in time"
	}
	s := err.Error()
	return trunc.Cut(s, 300)
}
