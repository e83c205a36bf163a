package bot_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/pooltasks/pooltasks/bot"
	"github.com/pooltasks/pooltasks/bot/notify"
	"github.com/pooltasks/pooltasks/bot/notify/digest"
	"github.com/pooltasks/pooltasks/bot/notify/loop"
	"github.com/pooltasks/pooltasks/bot/notify/notifytest"
	"github.com/pooltasks/pooltasks/bot/notify/watch"
	"github.com/pooltasks/pooltasks/bot/slacktest"
	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/workspace/sim"
)

// fakeNotifier records what the bot hands to watches and digests.
type fakeNotifier struct {
	mu      sync.Mutex
	watches []string // "task channel thread user"
	stops   []string // "watch user"
	digests []string // "hours pools name"
}

func (f *fakeNotifier) StartWatch(_ context.Context, taskID, _, channel, threadTS, userID string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.watches = append(f.watches, strings.Join([]string{taskID, channel, threadTS, userID}, " "))
	return "w0123456789abcdef", nil
}

func (f *fakeNotifier) StopWatch(watchID, userID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stops = append(f.stops, watchID+" "+userID)
	return nil
}

func (f *fakeNotifier) Digest(_ context.Context, q pooltask.ListOptions, pools []string) (func(bool) (string, []slack.Block), error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.digests = append(f.digests, strings.Join([]string{q.End.Sub(q.Start).Round(time.Hour).String(), strings.Join(pools, ","), q.ScriptName}, " "))
	return func(bool) (string, []slack.Block) { return "the digest", nil }, nil
}

func TestWatchDigestAndStopRouted(t *testing.T) {
	n := &fakeNotifier{}
	e := start(t, setup{cfg: bot.Config{Notifier: n}})
	task := e.sim.Tasks()[0]
	m := e.slash(t, "U1", "C1", "watch "+task.ID)
	if !strings.Contains(m.Text, "Watching") {
		t.Errorf("watch answer = %q", m.Text)
	}
	e.slack.AppMention(slacktest.AppMention{Text: "<@U0BOT> watch " + task.ID, UserID: "U2", ChannelID: "C2",
		TS: "5.5", ThreadTS: "4.4"})
	waitAudit(t, e, 2)
	if m := e.slash(t, "U1", "C3", "digest since=48h"); m.Text != "the digest" || m.ResponseType == "in_channel" {
		t.Errorf("digest answer %q (%s), want the digest, ephemeral", m.Text, m.ResponseType)
	}
	e.slack.BlockAction(slacktest.BlockAction{UserID: "U3", ChannelID: "C1", ActionID: "watch_stop", Value: "w0123456789abcdef"})
	waitAudit(t, e, 4)

	n.mu.Lock()
	defer n.mu.Unlock()
	want := []string{task.ID + " C1  U1", task.ID + " C2 4.4 U2"}
	if strings.Join(n.watches, "|") != strings.Join(want, "|") {
		t.Errorf("watches = %q, want %q", n.watches, want)
	}
	if len(n.digests) != 1 || n.digests[0] != "48h0m0s  " {
		t.Errorf("digests = %q", n.digests)
	}
	if len(n.stops) != 1 || n.stops[0] != "w0123456789abcdef U3" {
		t.Errorf("stops = %q", n.stops)
	}
}

// TestWatchTwiceHere: with the real Watches behind the bot, a second
// `watch` of a running task in the same channel (someone else, or a retry)
// starts no second watch and says the task is watched already; the
// audit line says so too.
func TestWatchTwiceHere(t *testing.T) {
	e, running, poster, watches := startWatching(t, watch.Config{})

	if m := e.slash(t, "U1", "C1", "watch "+running.ID); !strings.Contains(m.Text, "Watching task") {
		t.Fatalf("first watch = %q", m.Text)
	}
	if m := e.slash(t, "U2", "C1", "watch "+running.ID); !strings.Contains(m.Text, "Already watching task "+running.ID+" in this channel") {
		t.Errorf("second watch = %q", m.Text)
	}
	if m := e.slash(t, "U2", "C2", "watch "+running.ID); !strings.Contains(m.Text, "Watching task") {
		t.Errorf("watch in another channel = %q", m.Text)
	}
	if n := len(poster.Posts()); n != 2 || watches.Active() != 2 {
		t.Errorf("%d watch messages, %d watches; want one per channel", n, watches.Active())
	}
	waitAudit(t, e, 3)
	outcomes := map[any]int{}
	for _, l := range e.logs.lines("command") {
		outcomes[l["outcome"]]++
	}
	if outcomes["ok"] != 2 || outcomes["already_watching"] != 1 {
		t.Errorf("audit outcomes %v, want 2 ok and 1 already_watching", outcomes)
	}
}

// TestTooManyWatchesSaid: a watch beyond the limit of watches at once is
// a condition the user can act on, answered with its own title and hint
// and audited as "limit", not as an internal error.
func TestTooManyWatchesSaid(t *testing.T) {
	e, running, _, _ := startWatching(t, watch.Config{MaxActive: 1})
	if m := e.slash(t, "U1", "C1", "watch "+running.ID); !strings.Contains(m.Text, "Watching task") {
		t.Fatalf("first watch = %q", m.Text)
	}
	m := e.slash(t, "U1", "C2", "watch "+running.ID)
	if h := header(m.Blocks); !strings.Contains(h, "Too many watches") {
		t.Errorf("watch beyond the limit: header %q, text %q", h, m.Text)
	}
	if s := string(m.Blocks); !strings.Contains(s, "Stop watching button") || strings.Contains(s, "Something went wrong") {
		t.Errorf("watch beyond the limit lacks its hint: %s", s)
	}
	waitAudit(t, e, 2)
	// The answer can reach the test before the first command's audit line
	// is written: count the outcomes rather than read them in order.
	outcomes := map[any]int{}
	for _, l := range e.logs.lines("command") {
		outcomes[l["outcome"]]++
	}
	if outcomes["ok"] != 1 || outcomes["limit"] != 1 {
		t.Errorf("audit outcomes %v, want 1 ok and 1 limit", outcomes)
	}
	if strings.Contains(e.logs.String(), "command failed") {
		t.Errorf("a user-facing condition was logged as a failure:\n%s", e.logs.String())
	}
}

// startWatching starts the bot with the real Watches behind it and returns
// them, what they post to, and a running task of the simulator that they
// can see.
func startWatching(t *testing.T, cfg watch.Config) (*env, pooltask.Task, *notifytest.Poster, *watch.Watches) {
	t.Helper()
	lister := notifytest.NewLister()
	poster := notifytest.NewPoster(nil)
	watches := watch.New(cfg, loop.Deps{Lister: lister, Poster: poster, Clock: notifytest.NewClock(time.Now())}, nil)
	t.Cleanup(watches.Close)
	e := start(t, setup{cfg: bot.Config{Notifier: &notify.Notifier{Watches: watches}}})
	running := runningTask(t, e)
	lister.Put(running)
	return e, running, poster, watches
}

// runningTask is a task of the simulator that is still running.
func runningTask(t *testing.T, e *env) pooltask.Task {
	t.Helper()
	for _, tk := range e.sim.Tasks() {
		if tk.Status == pooltask.StatusRunning {
			return tk
		}
	}
	t.Fatal("the simulator has no running task")
	return pooltask.Task{}
}

// TestWatchButtonStartsAWatch: the Watch button of a running task's
// details starts a watch like a typed watch, in the click's channel and
// the thread of the clicked message, and tells the clicker without
// replacing the details.
func TestWatchButtonStartsAWatch(t *testing.T) {
	n := &fakeNotifier{}
	e := start(t, setup{cfg: bot.Config{Notifier: n}})
	running := runningTask(t, e)
	d := e.slash(t, "U1", "C1", "show "+running.ID)
	w := find(t, d.Blocks, "watch")
	if w.Value != "watch "+running.ID {
		t.Fatalf("Watch value = %q", w.Value)
	}
	if m := e.click(t, "U1", "C1", w); !strings.Contains(m.Text, "Watching task "+running.ID+" in this channel") ||
		m.ReplaceOriginal || m.ResponseType == "in_channel" {
		t.Errorf("Watch click answer = %+v", m)
	}
	id, url := e.slack.BlockAction(slacktest.BlockAction{UserID: "U2", ChannelID: "C2", ActionID: w.ActionID,
		Value: w.Value, MessageTS: "8.8", ThreadTS: "7.7"})
	if _, err := e.slack.WaitAck(id, wait); err != nil {
		t.Fatal(err)
	}
	m, err := e.slack.WaitMessage(slacktest.ForResponseURL(url), wait)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Text, "in this thread") || m.ReplaceOriginal || m.ResponseType == "in_channel" {
		t.Errorf("Watch click in a thread answer = %+v", m)
	}
	// The value is parsed again like typed input: anything else is refused.
	for _, bad := range []string{"list since=7d", "watch", "watch <!channel>"} {
		if m := e.click(t, "U1", "C1", button{ActionID: "watch", Value: bad}); m.ReplaceOriginal ||
			!strings.Contains(m.Text, "not valid") && !strings.Contains(m.Text, "couldn't read") {
			t.Errorf("Watch click with %q = %+v", bad, m)
		}
	}
	waitAudit(t, e, 6)

	n.mu.Lock()
	defer n.mu.Unlock()
	want := []string{running.ID + " C1  U1", running.ID + " C2 7.7 U2"}
	if strings.Join(n.watches, "|") != strings.Join(want, "|") {
		t.Errorf("watches = %q, want %q", n.watches, want)
	}
	clicks := map[string]int{}
	for _, l := range e.logs.lines("command") {
		if l["kind"] == "click" {
			clicks[fmt.Sprint(l["verb"], " ", l["outcome"])]++
		}
	}
	if clicks["watch ok"] != 2 || clicks["watch bad_input"] != 3 || len(clicks) != 2 {
		t.Errorf("click audit lines %v, want 2 watch ok and 3 watch bad_input", clicks)
	}
}

// TestWatchButtonAlreadyWatching: with the real Watches behind the bot, a
// Watch click where a typed watch runs says so and starts no other.
func TestWatchButtonAlreadyWatching(t *testing.T) {
	e, running, poster, watches := startWatching(t, watch.Config{})
	if m := e.slash(t, "U1", "C1", "watch "+running.ID); !strings.Contains(m.Text, "Watching task") {
		t.Fatalf("typed watch = %q", m.Text)
	}
	d := e.slash(t, "U2", "C1", "show "+running.ID)
	if m := e.click(t, "U2", "C1", find(t, d.Blocks, "watch")); !strings.Contains(m.Text, "Already watching task "+running.ID+" in this channel") ||
		m.ReplaceOriginal {
		t.Errorf("Watch click = %+v", m)
	}
	if watches.Active() != 1 || len(poster.Posts()) != 1 {
		t.Errorf("%d watches, %d watch messages; want 1", watches.Active(), len(poster.Posts()))
	}
}

func TestWithoutNotifier(t *testing.T) {
	e := start(t, setup{})
	if m := e.slash(t, "U1", "C1", "digest"); !strings.Contains(m.Text, "not available") {
		t.Errorf("digest without notifier = %q", m.Text)
	}
	// No Watch button that could only say so.
	d := e.slash(t, "U1", "C1", "show "+runningTask(t, e).ID)
	for _, b := range buttons(d.Blocks) {
		if b.ActionID == "watch" {
			t.Errorf("a Watch button without a notifier: %+v", b)
		}
	}
}

// blocking holds every ListTasks until released.
type blocking struct {
	bot.Workspace
	release chan struct{}
	entered chan struct{}
}

func (b blocking) ListTasks(ctx context.Context, o pooltask.ListOptions) (pooltask.TaskPage, error) {
	b.entered <- struct{}{}
	<-b.release
	return b.Workspace.ListTasks(ctx, o)
}

func TestQueueFullAnswersBusy(t *testing.T) {
	bl := blocking{release: make(chan struct{}), entered: make(chan struct{}, 10)}
	e := start(t, setup{cfg: bot.Config{Workers: 1, Queue: 1}, wrap: func(w bot.Workspace) bot.Workspace {
		bl.Workspace = w
		return bl
	}})
	var released sync.Once
	release := func() { released.Do(func() { close(bl.release) }) }
	t.Cleanup(release)
	_, first := e.slack.SlashCommand(slacktest.SlashCommand{Text: "list since=7d", UserID: "U1", ChannelID: "C1"})
	<-bl.entered // the one worker is busy
	_, second := e.slack.SlashCommand(slacktest.SlashCommand{Text: "list since=7d", UserID: "U1", ChannelID: "C1"})
	id, third := e.slack.SlashCommand(slacktest.SlashCommand{Text: "list since=7d", UserID: "U1", ChannelID: "C1"})
	if _, err := e.slack.WaitAck(id, wait); err != nil {
		t.Fatal(err)
	}
	m, err := e.slack.WaitMessage(slacktest.ForResponseURL(third), wait)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Text, "busy") {
		t.Errorf("third = %q, want busy", m.Text)
	}
	// The busy answer has its audit line, written after it was sent and
	// while the other two are still waiting.
	waitAudit(t, e, 1)
	audit := e.logs.lines("command")
	if len(audit) != 1 {
		t.Fatalf("audit lines before release = %v", audit)
	}
	a := audit[0]
	if a["envelope_id"] != id || a["user"] != "U1" || a["channel"] != "C1" || a["verb"] != "unknown" ||
		a["kind"] != "slash" || a["outcome"] != "busy" || a["api_calls"] != float64(0) ||
		!strings.HasPrefix(fmt.Sprint(a["command"]), "list since=") {
		t.Errorf("busy audit = %v", a)
	}
	if _, ok := a["latency_ms"].(float64); !ok {
		t.Errorf("busy audit without latency_ms: %v", a)
	}
	release()
	for _, url := range []string{first, second} {
		if _, err := e.slack.WaitMessage(slacktest.ForResponseURL(url), wait); err != nil {
			t.Fatal(err)
		}
	}
	// Exactly one line per command: the busy one is not written twice.
	waitAudit(t, e, 3)
	busy := 0
	for _, a := range e.logs.lines("command") {
		if a["outcome"] == "busy" {
			busy++
		}
	}
	if busy != 1 {
		t.Errorf("%d busy audit lines, want 1", busy)
	}
}

func TestDoctorForAdminsOnly(t *testing.T) {
	e := start(t, setup{cfg: bot.Config{AdminUsers: []string{"UADMIN"},
		Doctor: func(context.Context) (string, error) { return "OK   slack auth <fine>", nil }}})
	if m := e.slash(t, "U1", "C1", "doctor"); !strings.Contains(m.Text, "admins") {
		t.Errorf("doctor for a non-admin = %q", m.Text)
	}
	m := e.slash(t, "UADMIN", "C1", "doctor")
	if !strings.Contains(decoded(m.Blocks), "slack auth &lt;fine&gt;") || m.ResponseType == "in_channel" {
		t.Errorf("doctor report = %s", m.Blocks)
	}
}

// TestRelativeTimesCountFromArrival: "since=1h" counts back from when the
// command arrived, not from when a busy worker got to it.
func TestRelativeTimesCountFromArrival(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	var now atomic.Int64
	now.Store(t0.Unix())
	rec := &recorder{}
	bl := blocking{release: make(chan struct{}), entered: make(chan struct{}, 10)}
	e := start(t, setup{cfg: bot.Config{Workers: 1, Now: func() time.Time { return time.Unix(now.Load(), 0) }},
		wrap: func(w bot.Workspace) bot.Workspace {
			rec.Workspace = w
			bl.Workspace = rec
			return bl
		}})
	var released sync.Once
	release := func() { released.Do(func() { close(bl.release) }) }
	t.Cleanup(release)
	e.slack.SlashCommand(slacktest.SlashCommand{Text: "list since=7d", UserID: "U1", ChannelID: "C1"})
	<-bl.entered // the one worker is busy
	id, url := e.slack.SlashCommand(slacktest.SlashCommand{Text: "failed since=1h", UserID: "U1", ChannelID: "C1"})
	if _, err := e.slack.WaitAck(id, wait); err != nil {
		t.Fatal(err)
	}
	now.Store(t0.Add(10 * time.Minute).Unix()) // the queue was slow
	release()
	if _, err := e.slack.WaitMessage(slacktest.ForResponseURL(url), wait); err != nil {
		t.Fatal(err)
	}
	var failed []pooltask.ListOptions
	rec.mu.Lock()
	for _, o := range rec.opts {
		if o.Status == pooltask.FilterFailed {
			failed = append(failed, o)
		}
	}
	rec.mu.Unlock()
	if len(failed) == 0 {
		t.Fatal("no ListTasks call for the failed command")
	}
	for _, o := range failed {
		if want := t0.Add(-time.Hour); !o.Start.Equal(want) {
			t.Errorf("since=1h listed from %v, want %v (an hour before the command arrived)", o.Start, want)
		}
	}
}

// TestDigestOnDemand: /pooltasks digest with the real notify digester over
// the simulator keeps its filters, answers like any command (privately;
// with share in the channel; a mention in its thread), is never quiet, and
// in a bound channel covers the bound pools.
func TestDigestOnDemand(t *testing.T) {
	n := &notify.Notifier{}
	e := start(t, setup{
		cfg: bot.Config{Notifier: n, ChannelPools: bindings(t, "C9=dev-ubuntu;C8=callcenter;C10=dev-ubuntoo")},
		wrap: func(w bot.Workspace) bot.Workspace {
			n.Digester = digest.New(digest.Config{Quiet: true}, loop.Deps{Lister: w, Poster: notifytest.NewPoster(nil)}, nil)
			return w
		},
	})

	// The failed tasks of one pool and script in the last 7 days, as the
	// simulator has them.
	now := time.Now()
	var pool, script string
	want := 0
	for _, tk := range e.sim.Tasks() {
		if tk.Status != pooltask.StatusFailed || len(tk.Scripts) == 0 || tk.Start.Before(now.Add(-7*24*time.Hour)) {
			continue
		}
		if pool == "" {
			pool, script = tk.PoolName, tk.Scripts[0].Name
		}
	}
	for _, tk := range e.sim.Tasks() {
		if tk.Status != pooltask.StatusFailed || tk.PoolName != pool || tk.Start.Before(now.Add(-7*24*time.Hour)) {
			continue
		}
		for _, s := range tk.Scripts {
			if s.Name == script {
				want++
				break
			}
		}
	}
	if want == 0 {
		t.Fatal("the simulator has no failed task with a script in the last 7 days")
	}

	m := e.slash(t, "U1", "C1", fmt.Sprintf("digest pool=%s name=%q since=7d", pool, script))
	if m.ResponseType == "in_channel" || !strings.Contains(m.Text, "Failure digest") {
		t.Fatalf("digest = %q (%s), want a digest answered privately", m.Text, m.ResponseType)
	}
	if !strings.Contains(m.Text, fmt.Sprintf(": %d failed task", want)) {
		t.Errorf("digest of pool %s, script %q = %q, want %d failed tasks", pool, script, m.Text, want)
	}
	if d := decoded(m.Blocks); !strings.Contains(d, "name `"+script+"`") || !strings.Contains(d, "name="+strconv.Quote(script)) && !strings.Contains(d, "name="+script) {
		t.Errorf("the digest does not show or keep its script filter: %s", d)
	}

	if m := e.slash(t, "U1", "C1", "digest since=7d share"); m.ResponseType != "in_channel" {
		t.Errorf("digest share answered %q, want in_channel", m.ResponseType)
	}

	e.slack.AppMention(slacktest.AppMention{Text: "<@U0BOT> digest since=7d", UserID: "U1", ChannelID: "C2",
		TS: "1700000300.000200", ThreadTS: "1700000300.000100"})
	tm, err := e.slack.WaitMessage(slacktest.InChannel("C2"), wait)
	if err != nil {
		t.Fatal(err)
	}
	if tm.ThreadTS != "1700000300.000100" || !strings.Contains(tm.Text, "Failure digest") {
		t.Errorf("mention in a thread: %q in thread %q, want the digest in 1700000300.000100", tm.Text, tm.ThreadTS)
	}

	// Quiet applies to scheduled digests only: asked for, nothing failed
	// still gets an answer.
	if m := e.slash(t, "U1", "C1", "digest name=no-such-script since=1h"); !strings.Contains(m.Text, "all clear") {
		t.Errorf("an all-clear digest on demand = %q", m.Text)
	}

	// A bound channel's digest covers its pools.
	var devID string
	for _, p := range e.sim.Pools() {
		if p.Name == "dev-ubuntu" {
			devID = p.ID
		}
	}
	if m := e.slash(t, "U1", "C9", "digest since=7d"); !strings.Contains(decoded(m.Blocks), "pools `dev-ubuntu`") ||
		!strings.Contains(decoded(m.Blocks), "pool="+devID) {
		t.Errorf("digest in a channel bound to dev-ubuntu (%s): %s", devID, decoded(m.Blocks))
	}
	// A binding entry that names several pools, or none, is refused: the
	// digest must neither show pools the channel may not see nor report
	// all clear over nothing.
	for ch, entry := range map[string]string{"C8": "callcenter", "C10": "dev-ubuntoo"} {
		m := e.slash(t, "U1", ch, "digest since=7d")
		if !strings.Contains(m.Text, "No digest") || !strings.Contains(m.Text, "POOLTASKS_CHANNEL_POOLS") || !strings.Contains(m.Text, strconv.Quote(entry)) {
			t.Errorf("digest in %s bound to %q = %q", ch, entry, m.Text)
		}
	}
}

func TestPoolsAPIDown(t *testing.T) {
	rec := &recorder{}
	n := &notify.Notifier{}
	e := start(t, setup{
		cfg: bot.Config{Notifier: n, ChannelPools: bindings(t, "C9=dev-ubuntu")},
		wrap: func(w bot.Workspace) bot.Workspace {
			rec.Workspace = w
			n.Digester = digest.New(digest.Config{}, loop.Deps{Lister: w, Poster: notifytest.NewPoster(nil)}, nil)
			return rec
		},
	})
	e.sim.InjectError(sim.PoolList, 503, "WKS.0500", "service unavailable")
	// The one answer says, at its top, that the name was used as an id.
	m := e.slash(t, "U1", "C1", "list pool=finance-win11 since=7d")
	if !strings.Contains(m.Text, `"finance-win11" was used as a pool id`) || !strings.Contains(decoded(m.Blocks), `:warning: The pools could not be listed`) {
		t.Errorf("pools API down: answer %q %s, want a note that the name was used as an id", m.Text, decoded(m.Blocks))
	}
	if got := rec.last().PoolID; got != "finance-win11" {
		t.Errorf("pools API down: listed pool %q, want the name used as an id", got)
	}
	m = e.slash(t, "U1", "C9", "digest since=7d")
	if !strings.Contains(decoded(m.Blocks), "WKS.0500") || strings.Contains(m.Text, "fix the binding") {
		t.Errorf("bound digest with the pools API down = %q, want the API's error", m.Text)
	}

	e.sim.InjectError(sim.PoolList, 0, "", "")
	before := e.sim.Requests()
	e.slash(t, "U1", "C1", "list pool=finance-win11 since=7d")
	if e.sim.Requests()-before < 2 || rec.last().PoolID == "finance-win11" {
		t.Errorf("after the API came back: %d requests, listed %q; want the name looked up again", e.sim.Requests()-before, rec.last().PoolID)
	}
}
