package bot_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/bot"
	"github.com/pooltasks/pooltasks/bot/slacktest"
	"github.com/pooltasks/pooltasks/pooltask"
)

func TestListAnsweredEphemeral(t *testing.T) {
	e := start(t, setup{})
	m := e.slash(t, "U1", "C1", "failed since=7d")
	if m.ResponseType == "in_channel" || m.ReplaceOriginal {
		t.Errorf("answer type %q replace %v, want ephemeral", m.ResponseType, m.ReplaceOriginal)
	}
	if h := header(m.Blocks); h != "Failed tasks" {
		t.Errorf("header = %q, want Failed tasks", h)
	}
	if len(buttons(m.Blocks)) == 0 {
		t.Errorf("no buttons in %s", m.Blocks)
	}
	find(t, m.Blocks, "details")
	share := find(t, m.Blocks, "share")
	if !strings.HasSuffix(share.Value, " share") && !strings.Contains(share.Value, "share") {
		t.Errorf("share value %q", share.Value)
	}

	// One audit line, with the canonical command and the API calls made.
	waitAudit(t, e, 1)
	audit := e.logs.lines("command")
	if len(audit) != 1 {
		t.Fatalf("audit lines = %v", audit)
	}
	a := audit[0]
	if a["user"] != "U1" || a["channel"] != "C1" || a["verb"] != "failed" || a["outcome"] != "ok" ||
		a["api_calls"] != float64(1) || !strings.HasPrefix(a["command"].(string), "failed") {
		t.Errorf("audit = %v", a)
	}
	for _, secret := range []string{slacktest.AppToken, slacktest.BotToken, "demo-secret"} {
		if strings.Contains(e.logs.String(), secret) {
			t.Errorf("a secret (%s…) reached the logs", secret[:4])
		}
	}
}

func TestShareInChannel(t *testing.T) {
	e := start(t, setup{})
	m := e.slash(t, "U1", "C1", "list since=7d limit=3 share")
	if m.ResponseType != "in_channel" {
		t.Errorf("response_type = %q, want in_channel", m.ResponseType)
	}
	for _, b := range buttons(m.Blocks) {
		if b.ActionID == "share" {
			t.Errorf("a shared answer has a Share button")
		}
	}
	// The Share button of an ephemeral list posts in the channel, through
	// the click's response_url: no membership needed, a private channel
	// works too.
	m = e.slash(t, "U1", "C1", "list since=7d limit=3")
	post := e.click(t, "U1", "C7", find(t, m.Blocks, "share"))
	if post.ResponseType != "in_channel" || post.ReplaceOriginal || header(post.Blocks) != "Tasks" {
		t.Errorf("shared post: %s, replace %v, header %q; want a new Tasks message in the channel",
			post.ResponseType, post.ReplaceOriginal, header(post.Blocks))
	}
}

// TestShareFailureSaid: a Share click that cannot post (from a thread of a
// private channel the bot is not in) tells the clicker so.
func TestShareFailureSaid(t *testing.T) {
	e := start(t, setup{slack: slacktest.Options{PrivateChannels: []string{"G1"}}})
	m := e.slash(t, "U1", "C1", "list since=7d limit=3")
	id, url := e.slack.BlockAction(slacktest.BlockAction{UserID: "U1", ChannelID: "G1", ActionID: "share",
		Value: find(t, m.Blocks, "share").Value, IsEphemeral: true, ThreadTS: "1700000000.000100"})
	if _, err := e.slack.WaitAck(id, wait); err != nil {
		t.Fatal(err)
	}
	got, err := e.slack.WaitMessage(slacktest.ForResponseURL(url), wait)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got.Text, "could not post this in the channel: not_in_channel") || got.ResponseType == "in_channel" {
		t.Errorf("after a failed share the clicker saw %q (%s)", got.Text, got.ResponseType)
	}
}

func TestNextPagesAndDetailsOpen(t *testing.T) {
	e := start(t, setup{})
	m := e.slash(t, "U1", "C1", "list since=7d limit=5")
	if strings.Contains(m.Text, "6–10") {
		t.Fatalf("first page text %q", m.Text)
	}
	next := find(t, m.Blocks, "page_next")
	p2 := e.click(t, "U1", "C1", next)
	if !p2.ReplaceOriginal {
		t.Error("Next did not replace the original message")
	}
	if !strings.Contains(p2.Text, "6–10") {
		t.Errorf("page 2 text = %q, want 6–10", p2.Text)
	}
	find(t, p2.Blocks, "page_prev")

	// Details of a failed task, then the Output of one failed desktop.
	f := e.slash(t, "U1", "C1", "failed since=7d limit=5")
	det := find(t, f.Blocks, "details")
	d := e.click(t, "U1", "C1", det)
	if d.ReplaceOriginal {
		t.Error("Details replaced the list")
	}
	if !strings.HasPrefix(det.Value, "show ") || !strings.Contains(d.Text, strings.TrimPrefix(det.Value, "show ")) {
		t.Errorf("details text %q for %q", d.Text, det.Value)
	}
	out := e.click(t, "U1", "C1", find(t, d.Blocks, "output"))
	if !strings.HasPrefix(header(out.Blocks), "Output on") {
		t.Errorf("output header %q", header(out.Blocks))
	}
}

func TestBadInputMakesNoAPICall(t *testing.T) {
	e := start(t, setup{})
	before := e.sim.Requests()
	m := e.slash(t, "U1", "C1", "list stauts=FAILED")
	if !strings.Contains(string(m.Blocks), "status") {
		t.Errorf("answer does not suggest status: %s", m.Blocks)
	}
	// A forged button value is validated like typed input.
	e.click(t, "U1", "C1", button{ActionID: "page_next", Value: "list limit=5000"})
	if got := e.sim.Requests(); got != before {
		t.Errorf("bad input made %d API calls", got-before)
	}
}

func TestReconnectServesNextCommand(t *testing.T) {
	for _, reason := range []string{"refresh_requested", "warning", "link_disabled"} {
		t.Run(reason, func(t *testing.T) {
			e := start(t, setup{})
			e.slack.Disconnect(reason)
			m := e.slash(t, "U1", "C1", "help")
			if header(m.Blocks) != "pooltasks help" {
				t.Errorf("answer after reconnect: %s", m.Blocks)
			}
			if n := e.slack.Connections(); n != 2 {
				t.Errorf("connections = %d, want 2", n)
			}
		})
	}
}

func TestRefusedUserAndChannel(t *testing.T) {
	e := start(t, setup{cfg: bot.Config{AllowedUsers: []string{"U1"}, AllowedChannels: []string{"C1"}}})
	before := e.sim.Requests()
	m := e.slash(t, "U2", "C1", "failed")
	if !strings.Contains(m.Text, "not on the list") || m.ResponseType == "in_channel" {
		t.Errorf("refusal = %+v", m)
	}
	m = e.slash(t, "U1", "C2", "failed")
	if !strings.Contains(m.Text, "channel") {
		t.Errorf("channel refusal = %q", m.Text)
	}
	e.click(t, "U2", "C1", button{ActionID: "details", Value: "show 00000000-0000-0000-0000-000000000000"})
	if got := e.sim.Requests(); got != before {
		t.Errorf("refused requests made %d API calls", got-before)
	}
	if m := e.slash(t, "U1", "C1", "list limit=1 since=7d"); header(m.Blocks) != "Tasks" {
		t.Errorf("allowed user got %q", m.Text)
	}
}

func TestUserRate(t *testing.T) {
	e := start(t, setup{cfg: bot.Config{UserRate: 2}})
	e.slash(t, "U1", "C1", "help")
	e.slash(t, "U1", "C1", "help")
	m := e.slash(t, "U1", "C1", "help")
	if !strings.Contains(m.Text, "try again in") {
		t.Errorf("third command = %q, want try again in", m.Text)
	}
	if m := e.slash(t, "U2", "C1", "help"); header(m.Blocks) != "pooltasks help" {
		t.Errorf("another user was limited: %q", m.Text)
	}
}

func TestMentionInThreadAndEscaping(t *testing.T) {
	rec := &recorder{}
	e := start(t, setup{wrap: func(w bot.Workspace) bot.Workspace { rec.Workspace = w; return rec }})
	pools := e.sim.Pools()
	now := time.Now().UTC()
	e.sim.PutTask(pooltask.Task{
		ID: "11111111-2222-3333-4444-555555555555", PoolID: pools[0].ID, PoolName: pools[0].Name,
		Scripts: []pooltask.Script{{ID: "s1", Name: "<!channel> <@U123> hi"}},
		Start:   now.Add(-time.Hour), End: now.Add(-50 * time.Minute),
		Status: pooltask.StatusFailed, FailedNum: 1,
	})

	// In a thread: answered in that thread, and the script name pings nobody.
	e.slack.AppMention(slacktest.AppMention{Text: "<@U0BOT> show 11111111-2222-3333-4444-555555555555",
		UserID: "U1", ChannelID: "C1", TS: "1700000100.000200", ThreadTS: "1700000000.000100"})
	m, err := e.slack.WaitMessage(slacktest.InChannel("C1"), wait)
	if err != nil {
		t.Fatal(err)
	}
	if m.ThreadTS != "1700000000.000100" {
		t.Errorf("thread_ts = %q, want the thread's", m.ThreadTS)
	}
	if s := decoded(m.Blocks) + m.Text; strings.Contains(s, "<!channel>") || strings.Contains(s, "<@U123>") {
		t.Errorf("API text reached Slack unescaped: %s", m.Blocks)
	}
	if !strings.Contains(decoded(m.Blocks), "&lt;!channel&gt;") {
		t.Errorf("escaped script name missing: %s", m.Blocks)
	}

	// Outside a thread: the answer starts a thread on the mention. Slack
	// sends the text entity-encoded; it is decoded before parsing.
	e.slack.AppMention(slacktest.AppMention{Text: "<@U0BOT> list script_name=&lt;b&gt; since=7d",
		UserID: "U1", ChannelID: "C2", TS: "1700000200.000300"})
	m, err = e.slack.WaitMessage(slacktest.InChannel("C2"), wait)
	if err != nil {
		t.Fatal(err)
	}
	if m.ThreadTS != "1700000200.000300" {
		t.Errorf("thread_ts = %q, want the mention's ts", m.ThreadTS)
	}
	if got := rec.last(); got.ScriptName != "<b>" {
		t.Errorf("script_name sent to the API = %q, want <b>", got.ScriptName)
	}
	if d := decoded(m.Blocks); !strings.Contains(d, "&lt;b&gt;") || strings.Contains(d, "&amp;lt;") {
		t.Errorf("the name is not escaped exactly once: %s", m.Blocks)
	}
}

// recorder keeps the list options the bot asks for.
type recorder struct {
	bot.Workspace
	mu   sync.Mutex
	opts []pooltask.ListOptions
}

func (r *recorder) ListTasks(ctx context.Context, o pooltask.ListOptions) (pooltask.TaskPage, error) {
	r.mu.Lock()
	r.opts = append(r.opts, o)
	r.mu.Unlock()
	return r.Workspace.ListTasks(ctx, o)
}

func (r *recorder) last() pooltask.ListOptions {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.opts) == 0 {
		return pooltask.ListOptions{}
	}
	return r.opts[len(r.opts)-1]
}

func TestRedeliveredAnsweredOnce(t *testing.T) {
	e := start(t, setup{})
	url := e.slack.ResponseURL()
	id, _ := e.slack.SlashCommand(slacktest.SlashCommand{Text: "help", UserID: "U1", ChannelID: "C1", ResponseURL: url, TriggerID: "trig-1"})
	e.slack.SlashCommand(slacktest.SlashCommand{Text: "help", UserID: "U1", ChannelID: "C1", ResponseURL: url, TriggerID: "trig-1",
		EnvelopeID: id, RetryAttempt: 1})
	_, ev := e.slack.AppMention(slacktest.AppMention{Text: "<@U0BOT> help", UserID: "U1", ChannelID: "C3", TS: "1.1"})
	again, _ := e.slack.AppMention(slacktest.AppMention{Text: "<@U0BOT> help", UserID: "U1", ChannelID: "C3", TS: "1.1",
		EventID: ev, RetryAttempt: 1, RetryReason: "timeout"})
	if _, err := e.slack.WaitAck(again, wait); err != nil {
		t.Fatal(err)
	}
	// A later command is answered; by then the duplicates would have been.
	e.slash(t, "U1", "C1", "help")
	if _, err := e.slack.WaitMessage(slacktest.InChannel("C3"), wait); err != nil {
		t.Fatal(err)
	}
	waitAudit(t, e, 3)
	if n := len(msgs(e, slacktest.ForResponseURL(url))); n != 1 {
		t.Errorf("redelivered slash command answered %d times", n)
	}
	if n := len(msgs(e, slacktest.InChannel("C3"))); n != 1 {
		t.Errorf("redelivered mention answered %d times", n)
	}
	acks := 0
	for _, a := range e.slack.Acks() {
		if a.EnvelopeID == id {
			acks++
		}
	}
	if acks != 2 {
		t.Errorf("redelivered envelope acked %d times, want 2", acks)
	}
}

func waitAudit(t *testing.T, e *env, n int) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for len(e.logs.lines("command")) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d audit lines, want %d", len(e.logs.lines("command")), n)
		}
		time.Sleep(5 * time.Millisecond) // polling with a deadline
	}
}

func msgs(e *env, pred func(slacktest.Message) bool) []slacktest.Message {
	var out []slacktest.Message
	for _, m := range e.slack.Messages() {
		if pred(m) {
			out = append(out, m)
		}
	}
	return out
}

func TestUnknownEnvelopeAcked(t *testing.T) {
	e := start(t, setup{})
	id := e.slack.Send(slacktest.Envelope{Type: "something_new", Payload: map[string]any{"a": 1}})
	if _, err := e.slack.WaitAck(id, wait); err != nil {
		t.Fatal(err)
	}
	id = e.slack.Send(slacktest.Envelope{Type: "events_api", Payload: map[string]any{
		"type": "event_callback", "event_id": "Ev9", "event": map[string]any{"type": "reaction_added", "user": "U1"}}})
	if _, err := e.slack.WaitAck(id, wait); err != nil {
		t.Fatal(err)
	}
}

// panicky panics on one pool, as a bug in a handler would.
type panicky struct{ bot.Workspace }

func (p panicky) ListTasks(ctx context.Context, o pooltask.ListOptions) (pooltask.TaskPage, error) {
	if o.ScriptName == "boom" {
		panic("boom")
	}
	return p.Workspace.ListTasks(ctx, o)
}

func TestPanicRecovered(t *testing.T) {
	e := start(t, setup{wrap: func(w bot.Workspace) bot.Workspace { return panicky{w} }})
	m := e.slash(t, "U1", "C1", "list name=boom")
	if !strings.Contains(m.Text, "went wrong") || !strings.Contains(m.Text, "ref ") {
		t.Errorf("panic answer = %q", m.Text)
	}
	if !strings.Contains(e.logs.String(), "handler panicked") {
		t.Error("panic not logged")
	}
	if m := e.slash(t, "U1", "C1", "list since=7d limit=2"); header(m.Blocks) != "Tasks" {
		t.Errorf("after a panic: %q", m.Text)
	}
}

func TestShutdownFinishesSlowRequest(t *testing.T) {
	e := start(t, setup{cfg: bot.Config{ShutdownTimeout: 10 * time.Second}})
	e.sim.SetLatency(time.Second)
	url := e.slashInFlight(t, "failed since=7d")
	e.cancel()
	select {
	case err := <-e.done:
		if err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	case <-time.After(wait):
		t.Fatal("Run did not return")
	}
	e.done <- nil // for the cleanup
	got := msgs(e, slacktest.ForResponseURL(url))
	if len(got) != 1 || header(got[0].Blocks) != "Failed tasks" {
		t.Errorf("answers when Run returned: %+v", got)
	}
}

func TestShutdownDeadlineAnswersTimeout(t *testing.T) {
	e := start(t, setup{cfg: bot.Config{ShutdownTimeout: 200 * time.Millisecond}})
	e.sim.Hang(true)
	t.Cleanup(func() { e.sim.Hang(false) })
	url := e.slashInFlight(t, "failed since=7d")
	e.cancel()
	if err := <-e.done; err != nil {
		t.Errorf("Run = %v", err)
	}
	e.done <- nil
	got := msgs(e, slacktest.ForResponseURL(url))
	if len(got) != 1 || !strings.Contains(strings.ToLower(got[0].Text+string(got[0].Blocks)), "in time") {
		t.Errorf("answers when Run returned: %+v", got)
	}
}

func TestAPIErrorShown(t *testing.T) {
	e := start(t, setup{})
	pool := e.sim.Pools()[0]
	e.sim.InjectError(pool.ID, 403, "WKS.0403", "no permission for ListScriptExecTasks")
	m := e.slash(t, "U1", "C1", "list pool="+pool.ID)
	s := string(m.Blocks)
	for _, want := range []string{"WKS.0403", "no permission", "IAM"} {
		if !strings.Contains(s, want) {
			t.Errorf("error answer lacks %q: %s", want, s)
		}
	}
}

func TestPoolNames(t *testing.T) {
	e := start(t, setup{cfg: bot.Config{ChannelPools: bindings(t, "C9=dev-ubuntu")}})
	var byName = map[string]pooltask.Pool{}
	for _, p := range e.sim.Pools() {
		byName[p.Name] = p
	}
	// A name gives the pool's id in the buttons' commands.
	m := e.slash(t, "U1", "C1", `list pool=callcenter-pool since=7d`)
	if r := find(t, m.Blocks, "refresh").Value; !strings.Contains(r, byName["callcenter-pool"].ID) {
		t.Errorf("refresh %q lacks the pool id", r)
	}
	// Two pools contain "callcenter": the answer names both.
	m = e.slash(t, "U1", "C1", `list pool=callcenter`)
	if !strings.Contains(string(m.Blocks), "callcenter-pool-emea") || !strings.Contains(m.Text+string(m.Blocks), "which one") {
		t.Errorf("ambiguous answer: %s", m.Blocks)
	}
	// A name that matches nothing gets the closest names and no task
	// request (the pools are already listed).
	before := e.sim.Requests()
	m = e.slash(t, "U1", "C1", `list pool=finanse-win11`)
	if s := m.Text + decoded(m.Blocks); !strings.Contains(s, `Did you mean pool=\"finance-win11\"?`) {
		t.Errorf("unknown name answer: %s", s)
	}
	if n := e.sim.Requests() - before; n != 0 {
		t.Errorf("an unknown name made %d API requests, want none", n)
	}
	// A bound channel defaults to its pool and refuses others.
	m = e.slash(t, "U1", "C9", `list since=7d`)
	if r := find(t, m.Blocks, "refresh").Value; !strings.Contains(r, byName["dev-ubuntu"].ID) {
		t.Errorf("bound channel list %q, want pool dev-ubuntu", r)
	}
	// Nor does it hear of the pools it may not see, as choices or as
	// suggestions.
	for _, text := range []string{"list pool=callcenter", "list pool=finanse-win11"} {
		m = e.slash(t, "U1", "C9", text)
		if s := m.Text + decoded(m.Blocks); strings.Contains(s, "callcenter-pool") || strings.Contains(s, "finance-win11") {
			t.Errorf("%q in a channel bound to dev-ubuntu names other pools: %s", text, s)
		}
	}
	before = e.sim.Requests()
	m = e.slash(t, "U1", "C9", "list pool="+byName["finance-win11"].ID)
	if !strings.Contains(m.Text, "dev-ubuntu") {
		t.Errorf("refusal = %q", m.Text)
	}
	if e.sim.Requests() != before {
		t.Error("a refused pool made API calls")
	}
}

func TestNativeBlocksFallback(t *testing.T) {
	e := start(t, setup{cfg: bot.Config{NativeBlocks: true}, slack: slacktest.Options{RefuseBlockTypes: []string{"data_table"}}})
	m := e.slash(t, "U1", "C1", "list since=7d limit=20")
	if strings.Contains(string(m.Blocks), "data_table") {
		t.Errorf("accepted answer has a data_table")
	}
	if len(e.slack.Rejected()) != 1 {
		t.Errorf("rejected = %d, want 1", len(e.slack.Rejected()))
	}
	e.slash(t, "U1", "C1", "list since=7d limit=20")
	if len(e.slack.Rejected()) != 1 {
		t.Errorf("native blocks tried again in a workspace that refused them")
	}
}

func TestHTTPEndpoints(t *testing.T) {
	e := start(t, setup{cfg: bot.Config{HTTPAddr: "127.0.0.1:0", Metrics: bot.NewMetrics()}})
	e.slash(t, "U1", "C1", "list since=7d limit=2")
	base := "http://" + e.bot.HTTPAddr()
	get := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if c, _ := get("/healthz"); c != 200 {
		t.Errorf("/healthz = %d", c)
	}
	if c, _ := get("/readyz"); c != 200 {
		t.Errorf("/readyz = %d", c)
	}
	waitAudit(t, e, 1) // metrics are counted with the audit line, after the answer
	_, metrics := get("/metrics")
	for _, want := range []string{
		`pooltasks_commands_total{outcome="ok",verb="list"} 1`,
		"pooltasks_ack_latency_seconds_count",
		"pooltasks_socket_connected 1",
		`status="200"`, // the Workspace client reports through the same registry
		"pooltasks_workspace_api_latency_seconds_bucket",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestBadTokens(t *testing.T) {
	if _, err := bot.New(bot.Config{AppToken: "xoxb-x", BotToken: "xoxb-y"}, nil); err == nil {
		t.Error("New accepted a bot token as app token")
	}
	e := start(t, setup{noConnect: true, cfg: bot.Config{}, slack: slacktest.Options{AppToken: "xapp-other"}})
	select {
	case err := <-e.done:
		if err == nil || !strings.Contains(err.Error(), "invalid_auth") {
			t.Errorf("Run = %v, want invalid_auth", err)
		}
		e.done <- err
	case <-time.After(wait):
		t.Fatal("Run kept going with a refused token")
	}
}

// decoded is blocks JSON without Go's \u003c-style escapes, as Slack reads it.
func decoded(raw []byte) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return b.String()
}

func TestBoundChannelRefusesOtherPoolsTasks(t *testing.T) {
	n := &fakeNotifier{}
	e := start(t, setup{cfg: bot.Config{Notifier: n, ChannelPools: bindings(t, "C9=dev-ubuntu")}})
	var other pooltask.Task
	for _, task := range e.sim.Tasks() {
		if task.PoolName != "dev-ubuntu" {
			other = task
			break
		}
	}
	if other.ID == "" {
		t.Fatal("the simulator has no task outside dev-ubuntu")
	}
	for _, typed := range []string{"show " + other.ID, "watch " + other.ID} {
		if m := e.slash(t, "U1", "C9", typed); !strings.Contains(m.Text, "cannot see") {
			t.Errorf("%s in a bound channel = %q", typed, m.Text)
		}
	}
	// A click carries the same check: Details and Output of that task.
	if m := e.click(t, "U1", "C9", button{ActionID: "details", Value: "show " + other.ID}); !strings.Contains(m.Text, "cannot see") {
		t.Errorf("Details click in a bound channel = %q", m.Text)
	}
	if m := e.click(t, "U1", "C9", button{ActionID: "output", Value: "output r1 " + other.ID}); !strings.Contains(m.Text, "cannot see") {
		t.Errorf("Output click in a bound channel = %q", m.Text)
	}
	if m := e.click(t, "U1", "C9", button{ActionID: "watch", Value: "watch " + other.ID}); !strings.Contains(m.Text, "cannot see") {
		t.Errorf("Watch click in a bound channel = %q", m.Text)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.watches) != 0 {
		t.Errorf("watches started: %q", n.watches)
	}
}

func TestPagesOfAPublicAnswerHaveNoShare(t *testing.T) {
	e := start(t, setup{})
	m := e.slash(t, "U1", "C1", "list since=7d limit=3 share")
	next := find(t, m.Blocks, "page_next")
	for _, ephemeral := range []bool{false, true} {
		id, url := e.slack.BlockAction(slacktest.BlockAction{UserID: "U1", ChannelID: "C1",
			ActionID: next.ActionID, Value: next.Value, IsEphemeral: ephemeral})
		if _, err := e.slack.WaitAck(id, wait); err != nil {
			t.Fatal(err)
		}
		p, err := e.slack.WaitMessage(slacktest.ForResponseURL(url), wait)
		if err != nil {
			t.Fatal(err)
		}
		shared := false
		for _, b := range buttons(p.Blocks) {
			shared = shared || b.ActionID == "share"
		}
		if shared == !ephemeral {
			t.Errorf("page 2 of a message with is_ephemeral=%v: Share button %v", ephemeral, shared)
		}
	}
}

// TestForgedClicksKeepMetricsBounded: clicks with action ids pooltasks
// never rendered (anyone can send them) are counted under one fixed label,
// so 300 of them do not make 300 series.
func TestForgedClicksKeepMetricsBounded(t *testing.T) {
	m := bot.NewMetrics()
	e := start(t, setup{cfg: bot.Config{Metrics: m}})
	series := func() int {
		var b strings.Builder
		m.Registry().WritePrometheus(&b)
		n := 0
		for line := range strings.Lines(b.String()) {
			if strings.HasPrefix(line, "pooltasks_commands_total{") {
				n++
			}
		}
		return n
	}
	var last string
	for i := range 300 {
		last, _ = e.slack.BlockAction(slacktest.BlockAction{UserID: "U1", ChannelID: "C1",
			ActionID: fmt.Sprintf("forged-%d", i), Value: "list"})
	}
	if _, err := e.slack.WaitAck(last, wait); err != nil {
		t.Fatal(err)
	}
	waitAudit(t, e, 300)
	if n := series(); n != 1 {
		t.Errorf("300 forged clicks made %d pooltasks_commands_total series, want 1", n)
	}
	for _, a := range e.logs.lines("command") {
		if a["verb"] != "other" || a["outcome"] != "ignored" {
			t.Fatalf("forged click audited as %v", a)
		}
	}
}

// TestSlowHTTPClientsCutOff: clients that announce a body and send one
// byte (the endpoints need no authentication) are cut off within the
// server's timeouts, and a normal request still gets through, behind more
// of them than the server takes connections at once.
func TestSlowHTTPClientsCutOff(t *testing.T) {
	const conns, timeout = 4, 300 * time.Millisecond
	bot.SetHTTPLimits(t, conns, timeout)
	e := start(t, setup{cfg: bot.Config{HTTPAddr: "127.0.0.1:0"}})
	addr := e.bot.HTTPAddr()
	var slow []net.Conn
	for range 3 * conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := io.WriteString(c, "POST /healthz HTTP/1.1\r\nHost: bot\r\nContent-Length: 100000\r\n\r\nx"); err != nil {
			t.Fatal(err)
		}
		slow = append(slow, c)
	}
	client := &http.Client{Timeout: 20 * timeout}
	resp, err := client.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("a normal request behind %d slow clients: %v", len(slow), err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/healthz = %d", resp.StatusCode)
	}
	// Each slow client's connection is closed by the server: reading it
	// ends (EOF or reset) before the deadline, a bound far above the
	// timeouts so that a busy machine does not fail the test.
	deadline := time.Now().Add(20 * timeout)
	for i, c := range slow {
		_ = c.SetReadDeadline(deadline)
		_, err := io.Copy(io.Discard, c)
		if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
			t.Fatalf("slow client %d still connected after %v", i, 20*timeout)
		}
	}
}
