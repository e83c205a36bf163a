package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/bot/slacktest"
	"github.com/pooltasks/pooltasks/workspace/sim"
)

// TestServeRedactsEchoedToken: when Slack's answer to apps.connections.open
// echoes the Authorization header (a proxy or a compatible server can),
// the error serve logs on each retry does not show the app token, and
// neither does anything else it writes.
func TestServeRedactsEchoedToken(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "invalid_request",
			"errors": []map[string]string{{"echo": "Authorization: " + r.Header.Get("Authorization")}}})
	}))
	t.Cleanup(api.Close)
	wks := httptest.NewServer(sim.New(sim.Options{Empty: true}))
	t.Cleanup(wks.Close)

	cfg := defaults(t)
	cfg.SlackAppToken, cfg.SlackBotToken, cfg.SlackAPIURL = slacktest.AppToken, slacktest.BotToken, api.URL+"/api/"
	cfg.Endpoint, cfg.ProjectID, cfg.AK, cfg.SK = wks.URL, sim.DemoProjectID, sim.DemoAK, sim.DemoSK
	cfg.StateDir, cfg.HTTPAddr = t.TempDir(), "127.0.0.1:0"

	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, cfg, &stdout, &stderr) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("serve did not stop")
		}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(stderr.String(), "socket mode connection failed") {
		if time.Now().After(deadline) {
			t.Fatalf("no connection error logged:\n%s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond) // polling with a deadline
	}
	cancel()
	<-done
	done <- nil
	out := stdout.String() + stderr.String()
	if strings.Contains(out, slacktest.AppToken) {
		t.Errorf("the app token reached the output:\n%s", out)
	}
	if !strings.Contains(out, "[redacted SLACK_APP_TOKEN]") {
		t.Errorf("the echoed header is not in the log, redacted:\n%s", out)
	}
}
