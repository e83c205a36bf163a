package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/bot/notify/loop"
	"github.com/pooltasks/pooltasks/bot/notify/state"
	"github.com/pooltasks/pooltasks/bot/slacktest"
	"github.com/pooltasks/pooltasks/workspace/sim"
)

// TestServeOneSchedulerPerStateDir: a second serve with
// POOLTASKS_SCHEDULER=true on the state directory of a running one says so
// in its log and its doctor, and runs no schedule of its own (two opens in
// one process conflict as two processes do: flock is per open file).
func TestServeOneSchedulerPerStateDir(t *testing.T) {
	cfg := defaults(t)
	cfg.AK, cfg.SK = sim.DemoAK, sim.DemoSK
	cfg.HTTPAddr, cfg.StateDir = "127.0.0.1:0", t.TempDir()
	cfg.Scheduler, cfg.DigestChannel, cfg.AlertChannel = true, "CDIGEST", "CALERT"
	cfg.AdminUsers = []string{"UADMIN"}
	first := startServe(t, cfg, slacktest.Options{})
	waitLog(t, first, `"msg":"digest schedule started"`)
	waitLog(t, first, "alerts started")

	second := startServeOn(t, first.cfg, first.slack, first.sim)
	waitLog(t, second, "another pooltasks process holds the state directory")
	if !strings.Contains(second.stderr.String(), fmt.Sprintf(`"holder_pid":%d`, os.Getpid())) {
		t.Errorf("the log does not name the holder's pid:\n%s", second.stderr.String())
	}
	_, url := first.slack.SlashCommand(slacktest.SlashCommand{Text: "doctor", UserID: "UADMIN", ChannelID: "C1", Connection: second.conn})
	m, err := first.slack.WaitMessage(slacktest.ForResponseURL(url), 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"state lock", "is in use by another process (pid", "runs no digests or alerts although POOLTASKS_SCHEDULER=true"} {
		if !strings.Contains(string(m.Blocks), w) {
			t.Errorf("the second process's doctor does not say %q:\n%s", w, m.Blocks)
		}
	}
	if err := second.stop(); err != nil {
		t.Fatal(err)
	}
	if err := first.stop(); err != nil {
		t.Fatal(err)
	}
	for _, loop := range []string{"digest schedule started", `"loop":"alerts"`, "alerts started"} {
		if strings.Contains(second.stderr.String(), loop) {
			t.Errorf("the second process runs a schedule (%q):\n%s", loop, second.stderr.String())
		}
	}
}

// TestServeRefusesNewerState: a state saved by a newer pooltasks is not
// overwritten: serve refuses to start, exit status 2, naming that version.
func TestServeRefusesNewerState(t *testing.T) {
	cfg := defaults(t)
	cfg.SlackAppToken, cfg.SlackBotToken, cfg.SlackAPIURL = slacktest.AppToken, slacktest.BotToken, "http://127.0.0.1:1/api/"
	cfg.HTTPAddr, cfg.StateDir = "127.0.0.1:0", t.TempDir()
	newer := `{"version": 7, "written_by": "pooltasks v3.0.0"}`
	path := filepath.Join(cfg.StateDir, "state.json")
	if err := os.WriteFile(path, []byte(newer), 0o600); err != nil {
		t.Fatal(err)
	}
	err := run(context.Background(), []string{"serve", "--sim"}, cfg, &bytes.Buffer{}, &bytes.Buffer{})
	var out bytes.Buffer
	if code := exitCode(err, &out); code != 2 {
		t.Errorf("exit status %d (%v), want 2", code, err)
	}
	for _, w := range []string{"pooltasks v3.0.0", "state version 7", path} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("%q does not say %q", out.String(), w)
		}
	}
	if b, _ := os.ReadFile(path); string(b) != newer {
		t.Errorf("the newer state was changed: %s", b)
	}
}

// waitLog waits until s's log holds want.
func waitLog(t *testing.T, s *served, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(s.stderr.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the log:\n%s", want, s.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServeStateSaveFailureShowsInHealth: a state store that cannot save
// (a full disk; here its directory is gone, which refuses even root) makes
// /readyz say so and pooltasks_loop_failing{loop="state"} 1, until a save
// works again.
func TestServeStateSaveFailureShowsInHealth(t *testing.T) {
	dir := t.TempDir()
	health := loop.NewHealth(nil)
	store, held, err := openState(dir, health, slog.New(slog.DiscardHandler))
	if err != nil || held != nil {
		t.Fatalf("openState = %v, %v", held, err)
	}
	defer store.Close()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := store.SetChartsRefused(t.Context()); err == nil {
		t.Fatal("a save into a removed directory worked")
	}
	if err := health.Err(); err == nil || !strings.Contains(err.Error(), "state: failing since") || !strings.Contains(err.Error(), "saving the state in "+dir) {
		t.Errorf("health = %v", err)
	}
	if refused, _ := store.ChartsRefused(t.Context()); !refused {
		t.Error("the change was lost from memory")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := store.PutWatch(t.Context(), state.Watch{ID: "w1"}); err != nil {
		t.Fatal(err)
	}
	if err := health.Err(); err != nil {
		t.Errorf("health after a save that worked = %v", err)
	}
}

// TestServeSaysStateWasLost: with both state files unreadable, serve
// keeps them aside, starts afresh, and says so once in the digest and the
// alert channel (not only in a WARN line); the next start says nothing.
func TestServeSaysStateWasLost(t *testing.T) {
	cfg := defaults(t)
	cfg.AK, cfg.SK = sim.DemoAK, sim.DemoSK
	cfg.HTTPAddr, cfg.StateDir = "127.0.0.1:0", t.TempDir()
	cfg.Scheduler, cfg.DigestChannel, cfg.AlertChannel = true, "CDIGEST", "CALERT"
	for name, content := range map[string]string{"state.json": `{"version":1,"digests":{"k":"2026-`, "state.prev.json": "\x00\x00"} {
		if err := os.WriteFile(filepath.Join(cfg.StateDir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s := startServe(t, cfg, slacktest.Options{})
	lost := func(m slacktest.Message) bool {
		return m.Method == "chat.postMessage" && strings.Contains(m.Text, "lost its saved state")
	}
	got, err := s.slack.WaitMessages(2, lost, 30*time.Second)
	if err != nil {
		t.Fatal(err, s.stderr.String())
	}
	if got[0].Channel != "CDIGEST" || got[1].Channel != "CALERT" {
		t.Errorf("notices in %s and %s, want CDIGEST and CALERT", got[0].Channel, got[1].Channel)
	}
	for _, w := range []string{"Digests", "Alerts", "re-baselined", "state.json.corrupt-"} {
		if !strings.Contains(string(got[0].Blocks), w) {
			t.Errorf("the notice does not say %q: %s", w, got[0].Blocks)
		}
	}
	waitLog(t, s, "saved state lost")
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	kept, _ := filepath.Glob(filepath.Join(cfg.StateDir, "*.corrupt-*"))
	if len(kept) != 2 {
		t.Errorf("kept aside: %v, want both files", kept)
	}

	// Connected means past the start (and any notice under way): stop
	// waits for it.
	again := startServeOn(t, s.cfg, s.slack, s.sim)
	if err := again.stop(); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range s.slack.Messages() {
		if lost(m) {
			n++
		}
	}
	if n != 2 || strings.Contains(again.stderr.String(), "saved state lost") {
		t.Errorf("%d notices after a second start (want 2 in all), its log:\n%s", n, again.stderr.String())
	}
}
