package bot_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/act"
	"github.com/pooltasks/pooltasks/bot"
	"github.com/pooltasks/pooltasks/bot/notify"
	"github.com/pooltasks/pooltasks/bot/notify/loop"
	"github.com/pooltasks/pooltasks/bot/notify/watch"
	"github.com/pooltasks/pooltasks/bot/slacktest"
	"github.com/pooltasks/pooltasks/targets"
	"github.com/pooltasks/pooltasks/workspace"
	"github.com/pooltasks/pooltasks/workspace/sim"
)

const wait = 10 * time.Second

// lockedBuffer collects log lines from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// lines returns the JSON log lines with the given msg.
func (l *lockedBuffer) lines(msg string) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(l.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// env is one bot running against a fake Slack and the simulator.
type env struct {
	slack  *slacktest.Server
	sim    *sim.Sim
	simB   *sim.Sim     // the second target's, with setup.targets
	set    *targets.Set // what the bot answers from
	ws     *workspace.Client
	acts   map[string]*workspace.Client // each target's client, by name, for actions
	bot    *bot.Bot
	logs   *lockedBuffer
	cancel context.CancelFunc
	done   chan error
}

type setup struct {
	cfg       bot.Config
	wsTimeout time.Duration // per API request; 5 s by default
	watch     bool          // watch through the real Watches, posting to the fake Slack
	slack     slacktest.Options
	sim       sim.Options
	wrap      func(bot.Workspace) bot.Workspace
	noConnect bool
	// targets, when set, serves two simulated targets, sim-a (sim) and
	// sim-b (simB, a project of its own with pools of the same names),
	// with the default target def; first, when set, names sim-a otherwise.
	targets *struct{ def, first string }
}

// actAPI is Actions.API: each target's own client.
func (e *env) actAPI(target string) act.API { return e.acts[target] }

func start(t testing.TB, s setup) *env {
	t.Helper()
	e := &env{logs: &lockedBuffer{}, done: make(chan error, 1)}
	e.slack = slacktest.New(t, s.slack)
	if s.sim.Seed == 0 {
		s.sim.Seed = 1
	}
	e.sim = sim.New(s.sim)
	srv := httptest.NewServer(e.sim)
	t.Cleanup(srv.Close)
	wc := workspace.Config{
		Endpoint: srv.URL, Region: "sim-local-1", ProjectID: sim.DemoProjectID,
		AK: sim.DemoAK, SK: sim.DemoSK, RateLimit: -1, Timeout: cmp.Or(s.wsTimeout, 5*time.Second),
		BackoffBase: time.Millisecond,
	}
	if s.cfg.Metrics != nil {
		wc.Observer = s.cfg.Metrics
	}
	ws, err := workspace.New(wc)
	if err != nil {
		t.Fatal(err)
	}
	e.ws = ws
	cfg := s.cfg
	cfg.AppToken, cfg.BotToken, cfg.APIURL = slacktest.AppToken, slacktest.BotToken, e.slack.APIURL()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	var api bot.Workspace = ws
	if s.wrap != nil {
		api = s.wrap(ws)
	}
	set := targets.One(api)
	e.acts = map[string]*workspace.Client{targets.DefaultName: ws}
	if s.targets != nil {
		e.simB = sim.New(sim.Options{Seed: 2, ProjectID: sim.SecondProjectID})
		srvB := httptest.NewServer(e.simB)
		t.Cleanup(srvB.Close)
		wc.Endpoint, wc.ProjectID = srvB.URL, sim.SecondProjectID
		wsB, err := workspace.New(wc)
		if err != nil {
			t.Fatal(err)
		}
		first := cmp.Or(s.targets.first, "sim-a")
		set = targets.New([]targets.Target{{Name: first, Client: api}, {Name: "sim-b", Client: wsB}}, s.targets.def)
		e.acts = map[string]*workspace.Client{first: ws, "sim-b": wsB}
	}
	e.set = set
	if len(cfg.Actions.Enabled) > 0 && cfg.Actions.API == nil {
		cfg.Actions.API = e.actAPI
	}
	if s.watch {
		cfg.Slack = bot.NewSlackClient(cfg.AppToken, cfg.BotToken, cfg.APIURL)
		watches := watch.New(watch.Config{Every: 200 * time.Millisecond, Actions: cfg.Actions.Enabled},
			loop.Deps{Lister: set.Lister(), Poster: loop.NewSlackPoster(cfg.Slack)}, nil)
		t.Cleanup(watches.Close)
		cfg.Notifier = &notify.Notifier{Watches: watches}
	}
	e.bot, err = bot.New(cfg, set)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	go func() { e.done <- e.bot.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-e.done:
		case <-time.After(30 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	if !s.noConnect {
		if err := e.slack.WaitConnections(1, wait); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// slash sends a slash command and returns the first answer on its
// response_url.
func (e *env) slash(t testing.TB, user, channel, text string) slacktest.Message {
	t.Helper()
	id, url := e.slack.SlashCommand(slacktest.SlashCommand{Text: text, UserID: user, ChannelID: channel})
	if _, err := e.slack.WaitAck(id, wait); err != nil {
		t.Fatal(err)
	}
	m, err := e.slack.WaitMessage(slacktest.ForResponseURL(url), wait)
	if err != nil {
		t.Fatalf("%q: %v", text, err)
	}
	return m
}

// slashInFlight sends a slash command from U1 in C1 and returns its
// response_url once the command's first API call has reached the
// simulator (which a test has made slow or hung).
func (e *env) slashInFlight(t testing.TB, text string) (responseURL string) {
	t.Helper()
	before := e.sim.Requests()
	id, url := e.slack.SlashCommand(slacktest.SlashCommand{Text: text, UserID: "U1", ChannelID: "C1"})
	if _, err := e.slack.WaitAck(id, wait); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(wait)
	for e.sim.Requests() == before {
		if time.Now().After(deadline) {
			t.Fatal("the command made no API call")
		}
		time.Sleep(time.Millisecond) // polling with a deadline
	}
	return url
}

// click sends a button click and returns the first answer on its
// response_url.
func (e *env) click(t testing.TB, user, channel string, btn button) slacktest.Message {
	t.Helper()
	id, url := e.slack.BlockAction(slacktest.BlockAction{UserID: user, ChannelID: channel,
		ActionID: btn.ActionID, Value: btn.Value, IsEphemeral: true})
	if _, err := e.slack.WaitAck(id, wait); err != nil {
		t.Fatal(err)
	}
	m, err := e.slack.WaitMessage(slacktest.ForResponseURL(url), wait)
	if err != nil {
		t.Fatalf("click %s %q: %v", btn.ActionID, btn.Value, err)
	}
	return m
}

// button is a button found in a message's blocks.
type button struct {
	ActionID string `json:"action_id"`
	Value    string `json:"value"`
}

// buttons returns every button in the blocks, in order.
func buttons(raw json.RawMessage) []button {
	var out []button
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if v["type"] == "button" {
				id, _ := v["action_id"].(string)
				val, _ := v["value"].(string)
				out = append(out, button{id, val})
			}
			for _, k := range []string{"accessory", "elements", "rows", "fields"} {
				if c, ok := v[k]; ok {
					walk(c)
				}
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	var v any
	_ = json.Unmarshal(raw, &v)
	walk(v)
	return out
}

func find(t testing.TB, raw json.RawMessage, actionID string) button {
	t.Helper()
	for _, b := range buttons(raw) {
		if b.ActionID == actionID || strings.HasPrefix(b.ActionID, actionID+"#") {
			return b
		}
	}
	t.Fatalf("no %s button in %s", actionID, raw)
	return button{}
}

// header returns the text of the first header block.
func header(raw json.RawMessage) string {
	var bs []struct {
		Type string `json:"type"`
		Text struct {
			Text string `json:"text"`
		} `json:"text"`
	}
	_ = json.Unmarshal(raw, &bs)
	for _, b := range bs {
		if b.Type == "header" {
			return b.Text.Text
		}
	}
	return ""
}
