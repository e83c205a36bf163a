package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/bot/slacktest"
	"github.com/pooltasks/pooltasks/config"
	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/workspace/sim"
)

func TestServeSim(t *testing.T) {
	sl := slacktest.New(t, slacktest.Options{})
	cfg := config.Config{
		SlackAppToken: slacktest.AppToken, SlackBotToken: slacktest.BotToken, SlackAPIURL: sl.APIURL(),
		RateLimit: 5, Burst: 5, Timeout: 5 * time.Second, UserRate: 20,
		ChannelPools: "C9=dev-ubuntu", AdminUsers: []string{"UADMIN"}, StateDir: t.TempDir(), HTTPAddr: "127.0.0.1:0",
		LogLevel: "info", LogFormat: "json", WatchEvery: 15 * time.Second, WatchMax: time.Hour, WatchMaxActive: 5,
		// A digest channel alone runs scheduled digests: _EVERY has a default.
		Scheduler: true, DigestChannel: "CDIGEST", DigestEvery: defaults(t).DigestEvery,
	}
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve", "--sim"}, cfg, &stdout, &stderr) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("serve did not stop")
		}
	})
	if err := sl.WaitConnections(1, 30*time.Second); err != nil {
		t.Fatal(err, stderr.String())
	}
	id, url := sl.SlashCommand(slacktest.SlashCommand{Text: "failed since=7d", UserID: "U1", ChannelID: "C1"})
	if _, err := sl.WaitAck(id, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	m, err := sl.WaitMessage(slacktest.ForResponseURL(url), 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Text, "Failed tasks") {
		t.Errorf("answer = %q", m.Text)
	}
	_, url = sl.SlashCommand(slacktest.SlashCommand{Text: "doctor", UserID: "UADMIN", ChannelID: "C1"})
	if m, err := sl.WaitMessage(slacktest.ForResponseURL(url), 20*time.Second); err != nil {
		t.Fatal(err)
	} else if m.Text != "pooltasks doctor" || !strings.Contains(string(m.Blocks), "```") {
		t.Errorf("doctor answer = %q %s", m.Text, m.Blocks)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve = %v, want nil after SIGTERM", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop")
	}
	done <- nil
	if !strings.Contains(stderr.String(), `"msg":"digest schedule started"`) {
		t.Errorf("no digest schedule with POOLTASKS_DIGEST_CHANNEL alone:\n%s", stderr.String())
	}
	// With LOG_FORMAT=json every line is JSON: the start is a log record,
	// not a plain-text banner, and nothing goes to stdout.
	if stdout.String() != "" {
		t.Errorf("stdout %q, want nothing beside the JSON log", stdout.String())
	}
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("a log line is not JSON: %q", line)
		}
	}
	if !strings.Contains(stderr.String(), `"msg":"serving Slack","version":`) {
		t.Errorf("no start record:\n%s", stderr.String())
	}
	for _, secret := range []string{slacktest.AppToken, slacktest.BotToken} {
		if strings.Contains(stderr.String()+stdout.String(), secret) {
			t.Errorf("a token reached the output")
		}
	}
}

// TestServeNeedsTokens: serve without tokens stops with exit status 2 and
// says where the Slack app's steps are and how to try pooltasks without
// Slack, once.
func TestServeNeedsTokens(t *testing.T) {
	code, out, errOut := call(t, defaults(t), "serve", "--sim")
	if code != 2 {
		t.Fatalf("exit %d, want 2\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"SLACK_APP_TOKEN: not set", "SLACK_BOT_TOKEN: not set",
		`README.md, section "` + config.SlackSetupSection + `"`, "try pooltasks without Slack first: pooltasks query --sim failed"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if n := strings.Count(errOut, "pooltasks query --sim"); n != 1 {
		t.Errorf("the way to try without Slack is given %d times, want once:\n%s", n, errOut)
	}
}

// served is `pooltasks serve` running in the test against a fake Slack and
// a simulator the test controls (to inject errors and latency), wired as
// serve --sim is but with the test's own credentials.
type served struct {
	slack          *slacktest.Server
	sim            *sim.Sim
	cfg            config.Config
	stdout, stderr *syncBuffer
	conn           int // its socket-mode connection's number at the fake Slack (slacktest.Envelope.Connection)
	cancel         context.CancelFunc
	done           chan error
	stopped        bool
	err            error
}

// startServe runs serve with cfg, pointed at a new fake Slack (with so's
// tokens) and a new simulator (accepting cfg's AK and SK), and waits for
// the socket-mode connection.
func startServe(t *testing.T, cfg config.Config, so slacktest.Options) *served {
	t.Helper()
	if so.AppToken == "" && so.BotToken == "" {
		so.AppToken, so.BotToken = slacktest.AppToken, slacktest.BotToken
	}
	sl := slacktest.New(t, so)
	sm := sim.New(sim.Options{AK: cfg.AK, SK: cfg.SK})
	api := httptest.NewServer(sm)
	t.Cleanup(api.Close)
	cfg.SlackAppToken, cfg.SlackBotToken = so.AppToken, so.BotToken
	cfg.Endpoint = api.URL
	return startServeOn(t, cfg, sl, sm)
}

// startServeOn runs serve with cfg (its Slack tokens and simulator
// endpoint) against the fake Slack and simulator of another served, and
// waits for its socket-mode connection.
func startServeOn(t *testing.T, cfg config.Config, sl *slacktest.Server, sm *sim.Sim) *served {
	t.Helper()
	s := &served{slack: sl, sim: sm, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan error, 1)}
	cfg.SlackAPIURL = sl.APIURL()
	if cfg.TargetsFile == "" {
		cfg.Region, cfg.ProjectID = "", sim.DemoProjectID
	}
	s.cfg = cfg
	s.conn = sl.Connections() + 1
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go func() { s.done <- run(ctx, []string{"serve"}, cfg, s.stdout, s.stderr) }()
	t.Cleanup(func() {
		if !s.stopped {
			if err := s.stop(); err != nil {
				t.Errorf("serve: %v", err)
			}
		}
	})
	if err := s.slack.WaitConnections(s.conn, 30*time.Second); err != nil {
		t.Fatal(err, s.stderr.String())
	}
	return s
}

// stop cancels serve's ctx, as SIGTERM does, and returns what run returned.
func (s *served) stop() error {
	if s.stopped {
		return s.err
	}
	s.stopped = true
	s.cancel()
	select {
	case s.err = <-s.done:
	case <-time.After(30 * time.Second):
		s.err = errors.New("serve did not stop within 30 s of its ctx ending")
	}
	return s.err
}

// slash sends a slash command and returns its first answer on the
// response_url.
func (s *served) slash(t *testing.T, user, channel, text string) slacktest.Message {
	t.Helper()
	id, url := s.slack.SlashCommand(slacktest.SlashCommand{Text: text, UserID: user, ChannelID: channel})
	if _, err := s.slack.WaitAck(id, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	m, err := s.slack.WaitMessage(slacktest.ForResponseURL(url), 20*time.Second)
	if err != nil {
		t.Fatalf("/pooltasks %s: %v", text, err)
	}
	return m
}

// click presses a button of an ephemeral message and returns the first
// answer on the click's response_url.
func (s *served) click(t *testing.T, user, channel string, b button) slacktest.Message {
	t.Helper()
	id, url := s.slack.BlockAction(slacktest.BlockAction{UserID: user, ChannelID: channel,
		ActionID: b.ActionID, Value: b.Value, IsEphemeral: true})
	if _, err := s.slack.WaitAck(id, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	m, err := s.slack.WaitMessage(slacktest.ForResponseURL(url), 20*time.Second)
	if err != nil {
		t.Fatalf("click %s %q: %v", b.ActionID, b.Value, err)
	}
	return m
}

// button is a button found in a message's blocks.
type button struct{ ActionID, Value string }

// findButton returns the first button whose action id is actionID (or
// actionID#n), failing the test without one.
func findButton(t *testing.T, m slacktest.Message, actionID string) button {
	t.Helper()
	bs := buttonsOf(m, actionID)
	if len(bs) == 0 {
		t.Fatalf("no %s button in %q: %s", actionID, m.Text, m.Blocks)
	}
	return bs[0]
}

// buttonsOf returns the buttons whose action id is actionID (or
// actionID#n), in the order of the message's blocks.
func buttonsOf(m slacktest.Message, actionID string) []button {
	var found []button
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			id, _ := v["action_id"].(string)
			if v["type"] == "button" && (id == actionID || strings.HasPrefix(id, actionID+"#")) {
				val, _ := v["value"].(string)
				found = append(found, button{id, val})
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	var v any
	_ = json.Unmarshal(m.Blocks, &v)
	walk(v)
	return found
}

// secret returns a distinctive random string that cannot occur in output
// by chance.
func secret(t *testing.T, prefix string) string {
	t.Helper()
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return prefix + hex.EncodeToString(b)
}

// TestServeSessionLeaksNoSecret runs a whole session through serve, at
// LOG_LEVEL=debug: commands, clicks, a mention in a thread, API errors
// (401 with a gateway message that echoes the signed request, 403, 500), a
// watch, a digest and doctor. Then every log line must be JSON, the lines
// of each envelope must carry its envelope_id, user, channel and verb, and
// no configured secret may appear in the logs, in stdout or in anything
// Slack received.
func TestServeSessionLeaksNoSecret(t *testing.T) {
	appToken, botToken := secret(t, "xapp-1-A0TEST-"), secret(t, "xoxb-")
	cfg := defaults(t)
	cfg.AK, cfg.SK, cfg.SecurityToken = strings.ToUpper(secret(t, "AK"))[:20], secret(t, "sk-"), secret(t, "sts-")
	secrets := map[string]string{"SLACK_APP_TOKEN": appToken, "SLACK_BOT_TOKEN": botToken,
		"HUAWEICLOUD_SDK_SK": cfg.SK, "HUAWEICLOUD_SDK_SECURITY_TOKEN": cfg.SecurityToken}
	cfg.LogLevel = "debug"
	cfg.StateDir, cfg.HTTPAddr = t.TempDir(), "127.0.0.1:0"
	cfg.AdminUsers = []string{"UADMIN"}
	cfg.UserRate = 100
	cfg.DigestChannel, cfg.AlertChannel = "CDIGEST", "CALERT"
	s := startServe(t, cfg, slacktest.Options{AppToken: appToken, BotToken: botToken})

	// A list, its next page, a failed task's details and one desktop's output.
	list := s.slash(t, "U1", "C1", "list since=7d limit=5")
	if m := s.click(t, "U1", "C1", findButton(t, list, "page_next")); !m.ReplaceOriginal || !strings.Contains(m.Text, "6–10") {
		t.Errorf("Next: %q, replace %v", m.Text, m.ReplaceOriginal)
	}
	failed := s.slash(t, "U1", "C1", "failed since=7d limit=5")
	details := s.click(t, "U1", "C1", findButton(t, failed, "details"))
	if m := s.click(t, "U1", "C1", findButton(t, details, "output")); !strings.Contains(string(m.Blocks), "Output on") {
		t.Errorf("Output: %q", m.Text)
	}
	taskID := strings.TrimPrefix(findButton(t, failed, "details").Value, "show ")
	if m := s.slash(t, "U1", "C1", "show "+taskID); !strings.Contains(m.Text, taskID) {
		t.Errorf("show: %q", m.Text)
	}
	if m := s.slash(t, "U1", "C1", "list statuss=FAILED"); !strings.Contains(string(m.Blocks), "did you mean status") {
		t.Errorf("bad input: %s", m.Blocks)
	}
	s.slash(t, "U1", "C1", "help")
	if m := s.slash(t, "U1", "C1", "failed since=7d share"); m.ResponseType != "in_channel" {
		t.Errorf("share: response type %q", m.ResponseType)
	}

	// A mention in a thread is answered in the thread.
	s.slack.AppMention(slacktest.AppMention{Text: "<@U0BOT> failed since=2d", UserID: "U2", ChannelID: "C1", ThreadTS: "1700000000.000100"})
	if _, err := s.slack.WaitMessage(func(m slacktest.Message) bool {
		return m.Method == "chat.postMessage" && m.Channel == "C1" && m.ThreadTS == "1700000000.000100"
	}, 20*time.Second); err != nil {
		t.Fatal(err)
	}

	// API errors. The 401 carries what a gateway says about a bad
	// signature: the canonical request, security token included.
	pools := s.sim.Pools()
	s.sim.InjectError(pools[0].ID, 401, "APIGW.0301", "Incorrect IAM authentication information: verify aksk signature fail, ak:"+
		cfg.AK+", canonicalRequest:GET\n/v2/"+sim.DemoProjectID+"/desktop-pools/script-execution-tasks/detail\n\nx-security-token:"+cfg.SecurityToken)
	s.sim.InjectError(pools[1].ID, 403, "WKS.0403", "Policy doesn't allow workspace:desktopPools:listScriptExecTasks to be performed.")
	s.sim.InjectError(pools[2].ID, 500, "WKS.0500", "internal error")
	for i, want := range []string{"credentials were refused", "not allowed", "failed on its side"} {
		if m := s.slash(t, "U1", "C1", "list pool="+pools[i].ID); !strings.Contains(string(m.Blocks), want) {
			t.Errorf("error %d: %s", i, m.Blocks)
		}
		s.sim.InjectError(pools[i].ID, 0, "", "")
	}

	// A watch of a running task, a digest, doctor.
	running := runningTaskID(t, s.sim)
	s.slash(t, "U1", "C2", "watch "+running)
	if _, err := s.slack.WaitMessage(slacktest.InChannel("C2"), 30*time.Second); err != nil {
		t.Fatal(err)
	}
	// A shared digest is posted for the channel.
	if m := s.slash(t, "U1", "C3", "digest since=3d share"); m.ResponseType != "in_channel" || !strings.Contains(m.Text, "Failure digest") {
		t.Errorf("digest share: %q (%s)", m.Text, m.ResponseType)
	}
	if m := s.slash(t, "UADMIN", "C1", "doctor"); m.Text != "pooltasks doctor" {
		t.Errorf("doctor: %q", m.Text)
	}

	if err := s.stop(); err != nil {
		t.Fatalf("serve = %v, want nil", err)
	}

	// Every log line is JSON; the lines of an envelope carry its fields.
	byMsg := map[string]int{}
	for i, line := range strings.Split(strings.TrimSpace(s.stderr.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("log line %d is not JSON: %v: %s", i+1, err, line)
			continue
		}
		msg, _ := m["msg"].(string)
		byMsg[msg]++
		// Lines written for one envelope, in bot and in bot/notify.
		_, ok := m["envelope_id"]
		if !ok && msg != "command" && msg != "command failed" && msg != "watch started" && msg != "digest posted" {
			continue
		}
		for _, k := range []string{"envelope_id", "user", "channel", "verb"} {
			// A command is known by its verb, unless it did not parse.
			if v, _ := m[k].(string); v == "" || (k == "verb" && msg == "command" && v == "unknown" && m["outcome"] != "bad_input") {
				t.Errorf("log line %d lacks %s: %s", i+1, k, line)
			}
		}
	}
	if n := byMsg["command"]; n != 16 {
		t.Errorf("%d command lines, want one per envelope (16)", n)
	}
	for _, msg := range []string{"command failed", "watch started",
		"alerts started; failures already there are taken as known", "digest schedule started"} {
		if byMsg[msg] == 0 {
			t.Errorf("no %q line in the log", msg)
		}
	}

	// No secret anywhere.
	outputs := map[string]string{"log": s.stderr.String(), "stdout": s.stdout.String()}
	for i, m := range append(s.slack.Messages(), s.slack.Rejected()...) {
		outputs[fmt.Sprintf("slack message %d (%s)", i, m.Method)] = m.Text + string(m.Blocks) + m.Error
	}
	for i, c := range s.slack.Calls("") {
		b, _ := json.Marshal(c.Values)
		outputs[fmt.Sprintf("slack call %d (%s)", i, c.Method)] = string(b)
	}
	for name, secret := range secrets {
		for where, text := range outputs {
			if strings.Contains(text, secret) {
				t.Errorf("%s appears in the %s", name, where)
			}
		}
	}
}

// TestServeSIGTERMFinishesInFlight cancels serve's ctx, as SIGTERM does,
// while a list and a watch command wait for a slow API: both are answered,
// the state file holds the watch started before and the one that was in
// flight (they resume at the next start), and run returns nil (exit 0).
func TestServeSIGTERMFinishesInFlight(t *testing.T) {
	cfg := defaults(t)
	cfg.AK, cfg.SK = sim.DemoAK, sim.DemoSK
	cfg.StateDir, cfg.HTTPAddr = t.TempDir(), "127.0.0.1:0"
	cfg.CacheTTL = 0 // every command reaches the (slow) simulator
	cfg.DigestChannel, cfg.AlertChannel = "CDIGEST", "CALERT"
	s := startServe(t, cfg, slacktest.Options{})

	var running []string
	for _, tk := range s.sim.Tasks() {
		if tk.Status == pooltask.StatusRunning {
			running = append(running, tk.ID)
		}
	}
	if len(running) < 2 {
		t.Fatalf("%d running tasks in the simulator, want 2", len(running))
	}
	if m := s.slash(t, "U1", "C2", "watch "+running[0]); !strings.Contains(m.Text, "Watching task") {
		t.Fatalf("watch: %q", m.Text)
	}

	s.sim.SetLatency(2 * time.Second)
	before := s.sim.Requests()
	var urls []string
	for _, c := range []slacktest.SlashCommand{
		{Text: "failed since=7d", UserID: "U1", ChannelID: "C1"},
		{Text: "watch " + running[1], UserID: "U1", ChannelID: "C3"},
	} {
		id, url := s.slack.SlashCommand(c)
		if _, err := s.slack.WaitAck(id, 30*time.Second); err != nil {
			t.Fatal(err)
		}
		urls = append(urls, url)
	}
	deadline := time.Now().Add(30 * time.Second)
	for s.sim.Requests() < before+2 { // both calls are in flight
		if time.Now().After(deadline) {
			t.Fatal("the commands made no API calls")
		}
		time.Sleep(5 * time.Millisecond) // polling with a deadline
	}

	err := s.stop()
	if code := exitCode(err, io.Discard); err != nil || code != 0 {
		t.Fatalf("serve = %v (exit %d), want nil and 0", err, code)
	}
	for i, want := range []string{"Failed tasks", "Watching task"} {
		if got := s.slack.Messages(); !slices.ContainsFunc(got, func(m slacktest.Message) bool {
			return m.ResponseURL == urls[i] && strings.Contains(m.Text, want)
		}) {
			t.Errorf("no answer %q to the command in flight", want)
		}
	}
	if !slices.ContainsFunc(s.slack.Messages(), slacktest.InChannel("C3")) {
		t.Error("the watch in flight posted no message in its channel")
	}

	b, err := os.ReadFile(filepath.Join(cfg.StateDir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Watches map[string]struct {
			TaskID    string `json:"task_id"`
			MessageTS string `json:"message_ts"`
		} `json:"watches"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("state: %v\n%s", err, b)
	}
	saved := map[string]bool{}
	for _, w := range st.Watches {
		saved[w.TaskID] = w.MessageTS != ""
	}
	for _, id := range running[:2] {
		if !saved[id] {
			t.Errorf("the watch of %s is not saved: %s", id, b)
		}
	}
	if !strings.Contains(s.stderr.String(), `"msg":"stopped"`) {
		t.Errorf("no last line:\n%s", s.stderr.String())
	}
	if strings.Contains(s.stderr.String(), `"level":"ERROR"`) {
		t.Errorf("errors logged at shutdown:\n%s", s.stderr.String())
	}
}

// TestServeRefusedTokenStops checks that serve returns, with an error, when
// Slack refuses the app token, the schedules running or not.
func TestServeRefusedTokenStops(t *testing.T) {
	sl := slacktest.New(t, slacktest.Options{})
	api := httptest.NewServer(sim.New(sim.Options{}))
	t.Cleanup(api.Close)
	cfg := defaults(t)
	cfg.SlackAppToken, cfg.SlackBotToken, cfg.SlackAPIURL = "xapp-1-revoked", slacktest.BotToken, sl.APIURL()
	cfg.Endpoint, cfg.ProjectID, cfg.AK, cfg.SK = api.URL, sim.DemoProjectID, sim.DemoAK, sim.DemoSK
	cfg.StateDir, cfg.HTTPAddr = t.TempDir(), "127.0.0.1:0"
	cfg.DigestChannel, cfg.AlertChannel = "CDIGEST", "CALERT"
	done := make(chan error, 1)
	var stderr syncBuffer
	go func() { done <- run(context.Background(), []string{"serve"}, cfg, io.Discard, &stderr) }()
	select {
	case err := <-done:
		if err == nil || exitCode(err, io.Discard) != 1 {
			t.Errorf("serve = %v, want an error (exit 1)", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("serve did not return after Slack refused the app token:\n%s", stderr.String())
	}
}

// TestServeForwardsWatches runs a scheduler (POOLTASKS_INTERNAL_TOKEN, state
// dir A) and a responder (POOLTASKS_WATCH_URL to the scheduler, state dir
// B) against the same Slack and API: a watch command that reaches the
// responder is started, and kept, by the scheduler, and a Stop click that
// reaches the responder stops it there.
func TestServeForwardsWatches(t *testing.T) {
	token := secret(t, "internal-")
	cfg := defaults(t)
	cfg.AK, cfg.SK = sim.DemoAK, sim.DemoSK
	cfg.HTTPAddr, cfg.InternalToken = "127.0.0.1:0", token
	cfg.StateDir = t.TempDir()
	sched, resp := startForwarding(t, cfg)
	rcfg := resp.cfg

	running := runningTaskID(t, sched.sim)
	sl := sched.slack
	id, url := sl.SlashCommand(slacktest.SlashCommand{Text: "watch " + running, UserID: "U1", ChannelID: "C2", Connection: resp.conn})
	if m, err := sl.WaitMessage(slacktest.ForResponseURL(url), 30*time.Second); err != nil {
		t.Fatal(err)
	} else if !strings.Contains(m.Text, "Watching task") {
		t.Fatalf("watch: %q %s", m.Text, m.Blocks)
	}
	watchMsg, err := sl.WaitMessage(func(m slacktest.Message) bool {
		return m.Method == "chat.postMessage" && m.Channel == "C2"
	}, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	stop := findButton(t, watchMsg, "watch_stop")
	if got := savedWatches(t, cfg.StateDir); len(got) != 1 || got[0] != running {
		t.Errorf("scheduler's saved watches %v, want [%s]", got, running)
	}
	if got := savedWatches(t, rcfg.StateDir); len(got) != 0 {
		t.Errorf("responder's saved watches %v, want none", got)
	}
	// The same watch again (someone else, or a retry after a start that
	// timed out here): the scheduler starts no second one and the
	// responder says so.
	_, url2 := sl.SlashCommand(slacktest.SlashCommand{Text: "watch " + running, UserID: "U2", ChannelID: "C2", Connection: resp.conn})
	if m, err := sl.WaitMessage(slacktest.ForResponseURL(url2), 30*time.Second); err != nil {
		t.Fatal(err)
	} else if !strings.Contains(m.Text, "Already watching task "+running) {
		t.Errorf("second watch: %q %s", m.Text, m.Blocks)
	}
	posted := 0
	for _, m := range sl.Messages() {
		if m.Method == "chat.postMessage" && m.Channel == "C2" {
			posted++
		}
	}
	if got := savedWatches(t, cfg.StateDir); posted != 1 || len(got) != 1 {
		t.Errorf("after the second watch: %d watch messages, saved %v; want one", posted, got)
	}

	clickID, _ := sl.BlockAction(slacktest.BlockAction{UserID: "U1", ChannelID: "C2", ActionID: stop.ActionID, Value: stop.Value,
		MessageTS: watchMsg.TS, Connection: resp.conn})
	if _, err := sl.WaitMessage(func(m slacktest.Message) bool {
		return m.Method == "chat.update" && m.TS == watchMsg.TS && strings.Contains(string(m.Blocks), "Stopped by")
	}, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := resp.stop(); err != nil {
		t.Fatalf("responder: %v", err)
	}
	if err := sched.stop(); err != nil {
		t.Fatalf("scheduler: %v", err)
	}
	// Each envelope's lines carry its id: the responder alone handled them.
	for what, envID := range map[string]string{"watch command": id, "Stop click": clickID} {
		if !strings.Contains(resp.stderr.String(), envID) || strings.Contains(sched.stderr.String(), envID) {
			t.Errorf("the %s (%s) was not handled by the responder alone", what, envID)
		}
	}
	if !strings.Contains(sched.stderr.String(), `"msg":"watch started"`) {
		t.Errorf("the scheduler did not start the watch:\n%s", sched.stderr.String())
	}
	if got := savedWatches(t, cfg.StateDir); len(got) != 0 {
		t.Errorf("scheduler's saved watches after Stop: %v", got)
	}
	for _, m := range sl.Messages() {
		if strings.Contains(m.Text+string(m.Blocks), "no longer running") {
			t.Errorf("a reply says the watch is gone: %q", m.Text)
		}
	}
	for name, out := range map[string]string{"scheduler": sched.stderr.String() + sched.stdout.String(),
		"responder": resp.stderr.String() + resp.stdout.String()} {
		if strings.Contains(out, token) {
			t.Errorf("the internal token appears in the %s's output", name)
		}
	}
}

// startForwarding runs a scheduler with cfg (its POOLTASKS_INTERNAL_TOKEN
// and state dir) and a responder that forwards its watches to it
// (POOLTASKS_WATCH_URL, a state dir of its own) on the same Slack and API.
func startForwarding(t *testing.T, cfg config.Config) (sched, resp *served) {
	t.Helper()
	sched = startServe(t, cfg, slacktest.Options{})
	addr := regexp.MustCompile(`"msg":"serving Slack".*"http_addr":"([^"]+)"`).FindStringSubmatch(sched.stderr.String())
	if addr == nil {
		t.Fatalf("no HTTP address in %q", sched.stderr.String())
	}
	rcfg := sched.cfg
	rcfg.Scheduler, rcfg.StateDir = false, t.TempDir()
	rcfg.WatchURL = "http://" + addr[1]
	return sched, startServeOn(t, rcfg, sched.slack, sched.sim)
}

// savedWatches returns the task ids of the watches saved in dir's state
// file; none without one.
func savedWatches(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Watches map[string]struct {
			TaskID string `json:"task_id"`
		} `json:"watches"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("state: %v\n%s", err, b)
	}
	var ids []string
	for _, w := range st.Watches {
		ids = append(ids, w.TaskID)
	}
	return ids
}

// runningTaskID is the id of a task of the simulator that is still running.
func runningTaskID(t *testing.T, sm *sim.Sim) string {
	t.Helper()
	for _, tk := range sm.Tasks() {
		if tk.Status == pooltask.StatusRunning {
			return tk.ID
		}
	}
	t.Fatal("the simulator has no running task")
	return ""
}
