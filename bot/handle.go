package bot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"

	"github.com/pooltasks/pooltasks/bot/blocks"
	"github.com/pooltasks/pooltasks/bot/notify/watch"
	"github.com/pooltasks/pooltasks/commands"
	"github.com/pooltasks/pooltasks/config"
	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/targets"
	"github.com/pooltasks/pooltasks/trunc"
	"github.com/pooltasks/pooltasks/workspace"
)

// Watcher starts and stops live watches of a task (bot/notify's Watches,
// adapted in cmd/pooltasks).
type Watcher interface {
	// StartWatch posts the watch message and returns the watch id. When
	// the task is already watched in that channel and thread, it starts
	// no other and returns an error matching watch.ErrAlreadyWatching,
	// which the bot tells the user about.
	StartWatch(ctx context.Context, taskID, target, channel, threadTS, userID string) (string, error)
	// StopWatch ends a watch at the Stop button pressed by userID.
	StopWatch(watchID, userID string) error
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
	triggerID     string                       // a click's, to open a modal with
	original      []slack.Block                // the blocks of the clicked message, when Slack sends them (public messages)
	viewID        string                       // a modal's submission: the view
	values        map[string]map[string]string // a modal's submission: block id → action id → value
	received      time.Time                    // when the loop took the envelope, for latency
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

// verbHint is the verb before the command is parsed: a button's action,
// one of a fixed set ("other" for an action id pooltasks never rendered,
// which anyone can forge), or "unknown".
func (r *request) verbHint() string {
	if r.kind != kindClick {
		return "unknown"
	}
	if a := blocks.BaseAction(r.actionID); knownAction(a) {
		return a
	}
	return "other"
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

// serve answers one request: it routes it (see handle), sends the one
// answer, recovers a panic (answering with a reference to the log line),
// and writes the audit line. Everything it logs, and what it calls logs
// with its ctx, carries the request's fields.
func (b *Bot) serve(ctx context.Context, req *request) {
	ctx, cancel := context.WithTimeout(withRequest(ctx, req), b.cfg.JobTimeout)
	defer cancel()
	if !b.firstAcrossReplicas(ctx, req) {
		b.log.InfoContext(ctx, "envelope already answered by another replica")
		return
	}
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
	a, err := b.handle(ctx, req, o)
	if err != nil {
		v, result, private := b.explain(ctx, err)
		o.result = result
		t, bs := blocks.Error(v)
		_ = b.reply(ctx, req, errorDelivery(req, private), fixed(t, bs))
		return
	}
	if a.outcome != "" {
		o.result = a.outcome
	}
	if a.render != nil {
		r := a.render
		if a.note != "" {
			r = func(native bool) (string, []slack.Block) { return blocks.WithNote(a.note)(a.render(native)) }
		}
		_ = b.reply(ctx, req, a.to, r)
	}
}

// errorDelivery is where the answer to a failed request goes: to the
// requester alone, never to the channel and never over the clicked message.
// A mention's errors go to its thread like its answers, unless private.
func errorDelivery(req *request, private bool) delivery {
	if private || req.kind == kindClick {
		return toPrivate
	}
	return toRequester
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

// answer is what a handler says: a message and where it goes, and the
// audit outcome ("" is "ok"). A nil render says nothing more (a watch
// started from a mention shows its own message).
type answer struct {
	to      delivery
	render  render
	outcome string
	note    string // a caveat shown at the top of the answer (the pools API failed, so a name was used as an id)
}

// handler answers a parsed command, to go to "to" unless it says
// otherwise. It returns a *userError for conditions the user can act on;
// any other error is a failure (see explain).
type handler func(b *Bot, ctx context.Context, req *request, cmd commands.Command, to delivery) (answer, error)

// verbs routes every verb of the command language.
var verbs = map[commands.Verb]handler{
	commands.VerbHelp:   (*Bot).help,
	commands.VerbList:   (*Bot).list,
	commands.VerbFailed: (*Bot).list,
	commands.VerbShow:   (*Bot).show,
	commands.VerbWatch:  (*Bot).watch,
	commands.VerbDigest: (*Bot).digest,
	commands.VerbDoctor: (*Bot).doctor,
	commands.VerbRetry:  (*Bot).confirmAction,
	commands.VerbStop:   (*Bot).confirmAction,
	commands.VerbMute:   (*Bot).mute,
	commands.VerbMutes:  (*Bot).mutes,
	commands.VerbUnmute: (*Bot).unmute,
}

// action is how a click on one of pooltasks' buttons is answered. Most
// buttons carry a command (built with commands.Command.Canonical) that is
// parsed again like typed text and answered by its verb's handler; raw
// ones carry something else, which their own handler reads.
type action struct {
	to   delivery
	verb commands.Verb // the only verb the value may carry; "" any
	raw  func(b *Bot, ctx context.Context, req *request) (answer, error)
}

// actions routes every button by its base action id (blocks.BaseAction).
var actions = map[string]action{
	blocks.ActionDetails: {to: toPrivate},
	// Like a typed watch in the click's channel (and thread); its outcome
	// goes to the clicker, the details stay as they are.
	blocks.ActionWatch:     {to: toPrivate, verb: commands.VerbWatch},
	blocks.ActionPrev:      {to: toReplace},
	blocks.ActionNext:      {to: toReplace},
	blocks.ActionFailed:    {to: toReplace},
	blocks.ActionRefresh:   {to: toReplace},
	blocks.ActionShare:     {to: toChannel},
	blocks.ActionViewAll:   {to: toPrivate},
	blocks.ActionOutput:    {to: toPrivate, raw: (*Bot).output},
	blocks.ActionStopWatch: {to: toPrivate, raw: (*Bot).stopWatch},
	// Actions on tasks (act.go): the click is confirmed by Slack's dialog
	// or is the Confirm of a confirmation message.
	blocks.ActionRetry:       {to: toPrivate, raw: (*Bot).actClick},
	blocks.ActionStop:        {to: toPrivate, raw: (*Bot).actClick},
	blocks.ActionRetryRecord: {to: toPrivate, raw: (*Bot).actClick},
	blocks.ActionConfirm:     {to: toReplace, raw: (*Bot).actClick},
	blocks.ActionCancel:      {to: toReplace, raw: (*Bot).cancelAction},
	blocks.ActionRerun:       {to: toPrivate, raw: (*Bot).openRerun},
	blocks.RerunCallback:     {to: toPrivate, raw: (*Bot).submitRerun}, // the modal's submission
	blocks.ActionApprove:     {to: toPrivate, raw: (*Bot).decide},
	blocks.ActionDeny:        {to: toPrivate, raw: (*Bot).decide},
	blocks.ActionAck:         {to: toPrivate, raw: (*Bot).acknowledge},
	blocks.ActionSnooze:      {to: toPrivate, raw: (*Bot).snooze},
	// The custom snooze modal's submission (see toRequest).
	blocks.CallbackSnooze: {to: toPrivate, raw: (*Bot).snoozeCustom},
}

// handle routes a request: the access checks, then its button's or its
// verb's handler. It records the audit line's command in o.
func (b *Bot) handle(ctx context.Context, req *request, o *outcome) (answer, error) {
	to := toRequester
	var act action
	if req.kind == kindClick {
		var ok bool
		if act, ok = actions[blocks.BaseAction(req.actionID)]; !ok {
			return answer{outcome: "ignored"}, nil
		}
		to = act.to
	}
	if err := b.admit(req); err != nil {
		return answer{to: to}, err
	}
	if act.raw != nil {
		o.command = trunc.Cut(strings.Join(strings.Fields(req.actionID+" "+req.text), " "), 200)
		return act.raw(b, ctx, req)
	}
	o.command = trunc.Cut(req.text, 200) // as given, until it parses
	cmd, err := commands.Parse(req.text, req.sentAt)
	if err != nil {
		return answer{to: to}, err
	}
	if act.verb != "" && cmd.Verb != act.verb {
		return answer{to: to}, problem(condStaleButton, "")
	}
	req.setVerb(string(cmd.Verb))
	o.command = cmd.Canonical()
	if cmd.Verb != commands.VerbHelp && cmd.Verb != commands.VerbDoctor && b.access.seesNothing(req.channel) {
		return answer{to: to}, errNotBound()
	}
	if cmd.Share && req.kind == kindSlash {
		to = toChannel
	}
	h, ok := verbs[cmd.Verb]
	if !ok {
		return answer{to: to}, problem(condNotAvailable, "/pooltasks "+string(cmd.Verb)+" is not available here.")
	}
	return h(b, ctx, req, cmd, to)
}

// admit checks the allow lists and the user's command rate.
func (b *Bot) admit(req *request) error {
	if !b.access.userAllowed(req.user) {
		return &userError{cond: condNotAllowed, detail: "Sorry, you are not on the list of people who can use pooltasks.",
			hint: "Ask the team that runs it to add you."}
	}
	if !b.access.channelAllowed(req.channel) {
		return &userError{cond: condNotAllowed, detail: "Sorry, pooltasks does not answer in this channel.",
			hint: "Ask the team that runs it, or try a channel it serves."}
	}
	if ok, wait := b.access.allow(req.user, b.cfg.Now()); !ok {
		return &userError{cond: condRateLimited, detail: fmt.Sprintf("You are sending commands faster than %d a minute; try again in %d s.",
			b.cfg.UserRate, seconds(wait))}
	}
	return nil
}

func (b *Bot) help(_ context.Context, _ *request, cmd commands.Command, to delivery) (answer, error) {
	help := commands.Help()
	if cmd.Topic != "" {
		if h, ok := commands.HelpTopic(cmd.Topic); ok {
			help = h
		}
	}
	t, bs := blocks.Help(help)
	return answer{to: to, render: fixed(t, bs)}, nil
}

// route returns the targets a command goes to (see targets.Set.Route),
// leaving out those in which the channel may see no pool.
func (b *Bot) route(req *request, given string) ([]string, error) {
	names, err := b.targets.Route(given, b.access.bindings.Targets(req.channel))
	if err != nil {
		return nil, err
	}
	seen := slices.DeleteFunc(slices.Clone(names), func(n string) bool {
		pools, all := b.access.bindings.PoolsIn(req.channel, n)
		return !all && len(pools) == 0
	})
	if len(seen) == 0 {
		return nil, problem(condPoolNotAllowed, "This channel may see no pool of target "+strings.Join(names, ", ")+".")
	}
	return seen, nil
}

// client returns the client of a target Route returned.
func (b *Bot) client(name string) Workspace {
	c, _, _ := b.targets.Client(name)
	return c
}

// scopePool applies the channel's pool binding in a target to a query and
// resolves a pool name to its id there, or says why the command cannot go
// on.
func (b *Bot) scopePool(ctx context.Context, req *request, target string, q *pooltask.ListOptions) (note string, err error) {
	ws := b.client(target)
	entries, all := b.access.bindings.PoolsIn(req.channel, target)
	bound := !all
	if q.PoolID == "" && bound && len(entries) > 0 {
		q.PoolID = entries[0]
	}
	given := q.PoolID
	if given == "" {
		return "", nil
	}
	res := ws.ResolvePool(ctx, given)
	if bound {
		// A bound channel hears only of the pools it may see: the others
		// are neither choices nor suggestions, and one choice left is the
		// pool meant.
		res.Choices = slices.DeleteFunc(res.Choices, func(p pooltask.Pool) bool {
			return !allowedPool(ctx, ws, entries, p.Name, p.ID)
		})
		res.Suggestions = slices.DeleteFunc(res.Suggestions, func(name string) bool {
			return !allowedPool(ctx, ws, entries, name, ws.ResolvePool(ctx, name).ID)
		})
		if len(res.Choices) == 1 {
			res.ID, res.Name, res.Choices = res.Choices[0].ID, res.Choices[0].Name, nil
		}
	}
	in := ""
	if b.targets.Multi() {
		in = " in target " + target
	}
	if len(res.Choices) > 0 {
		var lines []string
		for i, p := range res.Choices {
			if i == 10 {
				lines = append(lines, fmt.Sprintf("… and %d more", len(res.Choices)-i))
				break
			}
			lines = append(lines, fmt.Sprintf("%s (pool=%s)", p.Name, p.ID))
		}
		return "", &userError{cond: condAmbiguousPool, detail: fmt.Sprintf("%d pools match %q%s; which one?", len(res.Choices), given, in), problems: lines}
	}
	if !res.Found() {
		detail := fmt.Sprintf("No desktop pool%s is named like %q.", in, given)
		if len(res.Suggestions) > 0 {
			alts := make([]string, len(res.Suggestions))
			for i, n := range res.Suggestions {
				alts[i] = "pool=" + strconv.Quote(n)
			}
			detail += " Did you mean " + strings.Join(alts, " or ") + "?"
		}
		return "", problem(condUnknownPool, detail)
	}
	id := res.ID
	if bound && !allowedPool(ctx, ws, entries, given, id) {
		return "", problem(condPoolNotAllowed, "This channel can see the pools "+strings.Join(entries, ", ")+in+" only.")
	}
	q.PoolID = id
	// When the pools API failed the value goes on as an id, and the answer
	// says so: the user learns why it may then be empty.
	return res.Note(), nil
}

func (b *Bot) list(ctx context.Context, req *request, cmd commands.Command, to delivery) (answer, error) {
	names, err := b.route(req, cmd.Target)
	if err != nil {
		return answer{to: to}, err
	}
	// Each target resolves the pool by itself (a pool of one name in
	// each has ids of its own); a target without it is left out, unless
	// none has it.
	var qs []targets.Query
	var notes []string
	var firstErr error
	for _, n := range names {
		q := cmd.Query
		// task= may hold the start of ids (each target's own); the
		// buttons carry them whole.
		ids, err := workspace.FindTaskIDs(ctx, b.client(n), q.TaskIDs)
		if err != nil {
			firstErr = cmp.Or(firstErr, err)
			continue
		}
		q.TaskIDs = ids
		note, err := b.scopePool(ctx, req, n, &q)
		if err != nil {
			firstErr = cmp.Or(firstErr, err)
			continue
		}
		if note != "" {
			notes = append(notes, note)
		}
		qs = append(qs, targets.Query{Target: n, Options: q})
	}
	switch len(qs) {
	case 0:
		return answer{to: to}, firstErr
	case 1:
		// The buttons carry the pool as resolved in the one target.
		cmd.Query = qs[0].Options
	}
	m, err := b.targets.ListTasks(ctx, qs, cmd.Query.Offset, cmd.Query.Limit)
	if err != nil {
		return answer{to: to}, err
	}
	if len(m.Failures) == len(qs) {
		return answer{to: to}, b.targets.Err(m.Failures[0])
	}
	for _, f := range m.Failures {
		notes = append(notes, "Target "+f.Target+" did not answer: "+errorSummary(f.Err)+". The list shows the other targets.")
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
		Tasks:       m.Tasks,
		Total:       m.Total,
		Offset:      cmd.Query.Offset,
		Command:     base.Canonical(),
		Now:         b.cfg.Now(),
	}
	if b.targets.Multi() {
		v.Targets = names
	}
	if cmd.Page > 1 {
		prev := base
		prev.Page--
		v.PrevCommand = prev.Canonical()
	}
	if cmd.Query.Offset+len(m.Tasks) < m.Total {
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
	return answer{to: to, note: strings.Join(notes, "\n"), render: func(native bool) (string, []slack.Block) {
		v.Native = native
		return blocks.List(v)
	}}, nil
}

// scopedTask finds one task, by its id or the start of it, in the targets
// of given (target= as given), and checks it against the channel's pool
// binding in its target, as show, watch and the Output button need. It
// returns the task (naming its target when there are several) and its
// target's name.
func (b *Bot) scopedTask(ctx context.Context, req *request, given, taskID string) (pooltask.Task, string, error) {
	names, err := b.route(req, given)
	if err != nil {
		return pooltask.Task{}, "", err
	}
	task, err := b.targets.FindTask(ctx, names, taskID)
	if err != nil {
		return pooltask.Task{}, "", err
	}
	target := cmp.Or(task.Target, names[0])
	if entries, all := b.access.bindings.PoolsIn(req.channel, target); !all &&
		!allowedPool(ctx, b.client(target), entries, task.PoolName, task.PoolID) {
		return pooltask.Task{}, "", problem(condPoolNotAllowed, "That task belongs to a pool this channel cannot see.")
	}
	return task, target, nil
}

func (b *Bot) show(ctx context.Context, req *request, cmd commands.Command, to delivery) (answer, error) {
	task, target, err := b.scopedTask(ctx, req, cmd.Target, cmd.TaskID)
	if err != nil {
		return answer{to: to}, err
	}
	v := blocks.TaskView{Task: task, Now: b.cfg.Now(), NoWatch: b.cfg.Notifier == nil, Actions: b.cfg.Actions.Enabled}
	recs, err := b.client(target).ListRecords(ctx, pooltask.RecordOptions{TaskID: task.ID, Status: "FAILED", Limit: 50})
	if err != nil {
		v.RecordsErr = errorSummary(err)
	} else {
		v.Failed, v.FailedTotal = recs.Records, recs.Total
	}
	if req.private(to) {
		share := cmd
		share.Share = true
		share.Target = task.Target
		v.ShareCommand = share.Canonical()
	}
	t, bs := blocks.Task(v)
	return answer{to: to, render: fixed(t, bs)}, nil
}

var recordIDShape = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)

// output answers the Output button (see blocks.OutputValue).
func (b *Bot) output(ctx context.Context, req *request) (answer, error) {
	a := answer{to: toPrivate}
	recordID, taskID, target, ok := blocks.OutputIDs(req.text)
	if !ok || !recordIDShape.MatchString(recordID) || !recordIDShape.MatchString(taskID) {
		return a, problem(condStaleButton, "")
	}
	if b.access.seesNothing(req.channel) {
		return a, errNotBound()
	}
	names, err := b.route(req, target)
	if err != nil {
		return a, err
	}
	if len(names) > 1 {
		return a, problem(condStaleButton, "")
	}
	var task *pooltask.Task
	if _, bound := b.access.binding(req.channel); bound || b.enabled(pooltask.ActionRetry) {
		t, _, err := b.scopedTask(ctx, req, names[0], taskID)
		if err != nil {
			return a, err
		}
		if b.enabled(pooltask.ActionRetry) {
			task = &t
		}
	}
	rec, err := b.client(names[0]).GetRecord(ctx, recordID)
	if err != nil {
		return a, err
	}
	if rec.TaskID != "" && rec.TaskID != taskID {
		return a, problem(condStaleButton, "That record does not belong to the task.")
	}
	if b.targets.Multi() {
		rec.Target = names[0]
	}
	t, bs := blocks.Output(rec, task)
	a.render = fixed(t, bs)
	return a, nil
}

func (b *Bot) watch(ctx context.Context, req *request, cmd commands.Command, _ delivery) (answer, error) {
	a := answer{to: toPrivate}
	if b.cfg.Notifier == nil {
		return a, problem(condNotAvailable, "Watches are not available on this pooltasks.")
	}
	task, _, err := b.scopedTask(ctx, req, cmd.Target, cmd.TaskID)
	if err != nil {
		return a, err
	}
	thread := ""
	if req.kind == kindMention || req.kind == kindClick {
		// A mention's thread, or the thread of the clicked message.
		thread = req.threadTS
	}
	where := "this channel"
	if thread != "" {
		where = "this thread"
	}
	if _, err := b.cfg.Notifier.StartWatch(ctx, task.ID, task.Target, req.channel, thread, req.user); err != nil {
		if errors.Is(err, watch.ErrAlreadyWatching) {
			// Someone else asked first, or an earlier try that seemed to
			// fail did start: the one watch message serves both.
			return a, problem(condAlreadyWatching, "Already watching task "+task.ID+" in "+where+"; follow its watch message there.")
		}
		return a, err
	}
	if req.kind != kindMention {
		t, bs := blocks.Notice("Watching task " + task.ID + " in " + where + ".")
		a.render = fixed(t, bs)
	}
	return a, nil
}

func (b *Bot) stopWatch(_ context.Context, req *request) (answer, error) {
	a := answer{to: toPrivate}
	if b.cfg.Notifier == nil {
		return a, problem(condNotAvailable, "Watches are not available on this pooltasks.")
	}
	id := strings.TrimSpace(req.text)
	if !recordIDShape.MatchString(id) {
		return a, problem(condStaleButton, "")
	}
	return a, b.cfg.Notifier.StopWatch(id, req.user)
}

func (b *Bot) digest(ctx context.Context, req *request, cmd commands.Command, to delivery) (answer, error) {
	a := answer{to: to}
	if b.cfg.Notifier == nil {
		return a, problem(condNotAvailable, "Digests are not available on this pooltasks.")
	}
	names, err := b.route(req, cmd.Target)
	if err != nil {
		return a, err
	}
	var pools []string
	switch entries, bound := b.access.binding(req.channel); {
	case bound && cmd.Query.PoolID == "":
		// A bound channel's digest covers every pool it may see, resolved
		// by the digester as for a scheduled digest: an entry that names
		// several pools or none is left out, said in the digest, and a
		// digest left with no pool is refused.
		pools = entries
	case len(names) == 1:
		note, err := b.scopePool(ctx, req, names[0], &cmd.Query)
		if err != nil {
			return a, err
		}
		a.note = note
		if cmd.Query.PoolID != "" {
			pools = []string{cmd.Query.PoolID}
		}
	case cmd.Query.PoolID != "":
		pools = []string{cmd.Query.PoolID} // the digester resolves it in each target
	}
	if b.targets.Multi() && len(names) < len(b.targets.Names()) {
		// The digester covers every target: scope it to those routed to.
		pools = inTargets(pools, names)
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
		return a, err
	}
	a.render = r
	return a, nil
}

// inTargets scopes a digest's pool values to some targets: a value without
// a TARGET: prefix becomes one for each target, one of another target is
// left out, and no value at all (every pool) is every pool of each target.
func inTargets(pools, names []string) []string {
	if len(pools) == 0 {
		pools = []string{"*"}
	}
	var out []string
	for _, p := range pools {
		t, pool := config.SplitTarget(p)
		for _, n := range names {
			if t == "" || strings.EqualFold(t, n) {
				out = append(out, n+":"+pool)
			}
		}
	}
	return out
}

func (b *Bot) doctor(ctx context.Context, req *request, _ commands.Command, _ delivery) (answer, error) {
	a := answer{to: toPrivate}
	if b.cfg.Doctor == nil {
		return a, problem(condNotAvailable, "/pooltasks doctor is not available on this pooltasks.")
	}
	if !slices.Contains(b.cfg.AdminUsers, req.user) {
		return a, &userError{cond: condNotAllowed, detail: "/pooltasks doctor is for the admins of pooltasks (POOLTASKS_ADMIN_USERS).",
			hint: "Run `pooltasks doctor` where it is deployed instead."}
	}
	report, err := b.cfg.Doctor(ctx)
	if err != nil {
		return a, fmt.Errorf("the diagnostics failed: %w", err)
	}
	a.render = fixed(blocks.Doctor(report))
	return a, nil
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

// knownAction reports whether a is the base action id of one of
// pooltasks' buttons.
func knownAction(a string) bool {
	_, ok := actions[a]
	return ok
}

// sharedSeenTimeout bounds the shared dedupe check, so that a slow or
// absent Redis delays no answer by more.
const sharedSeenTimeout = 250 * time.Millisecond

// firstAcrossReplicas reports whether no replica took req before (see
// Config.Seen); true when there is no shared memory or it does not answer.
func (b *Bot) firstAcrossReplicas(ctx context.Context, req *request) bool {
	if b.cfg.Seen == nil {
		return true
	}
	var keys []string
	for _, k := range req.keys {
		if k != "" && k != "trigger:" && k != "event:" {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, sharedSeenTimeout)
	defer cancel()
	fresh, err := b.cfg.Seen(ctx, keys, b.cfg.DedupeWindow)
	if err != nil {
		b.log.WarnContext(ctx, "shared dedupe memory does not answer; answering", "err", err)
		return true
	}
	return fresh
}
