package main

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/bot/slacktest"
	"github.com/pooltasks/pooltasks/workspace/sim"
)

var screens = flag.String("screens", "", "write the messages of TestScreenSession, one JSON file each, to this directory (docs/screenshots.sh draws them)")

// TestScreenSession is the session the README's pictures show: serve on
// the simulator, over the fake Slack, asked what a person asks first. It
// checks each answer is the one its picture is named for; with -screens
// DIR it also writes the messages as sent, for docs/screenshots.sh.
func TestScreenSession(t *testing.T) {
	cfg := defaults(t)
	cfg.AK, cfg.SK = sim.DemoAK, sim.DemoSK
	cfg.StateDir, cfg.HTTPAddr = t.TempDir(), "127.0.0.1:0"
	cfg.WatchEvery = time.Second
	s := startServe(t, cfg, slacktest.Options{})

	shots := map[string]slacktest.Message{}
	shot := func(name string, m slacktest.Message, want string) {
		t.Helper()
		if !strings.Contains(string(m.Blocks), want) {
			t.Errorf("%s: want %q in %s", name, want, m.Blocks)
		}
		shots[name] = m
	}

	failed := s.slash(t, "U1", "C1", "failed since=7d limit=4")
	shot("list", failed, "FAILED")
	details := s.click(t, "U1", "C1", findButton(t, failed, "details"))
	shot("details", details, "Failed desktops")
	// The output of the first failed desktop whose script printed something.
	var out slacktest.Message
	for _, b := range buttonsOf(details, "output") {
		if out = s.click(t, "U1", "C1", b); strings.Contains(string(out.Blocks), "```") {
			break
		}
	}
	shot("output", out, "```")
	shot("digest", s.slash(t, "U1", "C1", "digest since=7d"), "data_visualization")

	running := runningTaskID(t, s.sim)
	s.slash(t, "U1", "C1", "watch "+running)
	w, err := s.slack.WaitMessage(func(m slacktest.Message) bool {
		return m.Method == "chat.update" && m.Channel == "C1" && strings.Contains(string(m.Blocks), running)
	}, 30*time.Second)
	if err != nil {
		t.Fatalf("no update of the watch of %s: %v", running, err)
	}
	shot("watch", w, "Stop")

	if *screens == "" {
		return
	}
	if err := os.MkdirAll(*screens, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, m := range shots {
		b, err := json.MarshalIndent(map[string]any{
			"text": m.Text, "blocks": m.Blocks, "channel": m.Channel,
			"ephemeral": m.Method == "response_url" && m.ResponseType != "in_channel",
		}, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(*screens, name+".json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
