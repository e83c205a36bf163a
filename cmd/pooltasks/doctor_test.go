package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pooltasks/pooltasks/config"
	"github.com/pooltasks/pooltasks/workspace/sim"
)

const (
	testBotToken = "xoxb-1111111111-2222222222-abcdefghijklmnopqrstWXYZ"
	testAppToken = "xapp-1-A0123456789-1234567890123-0123456789abcdefAPPT"
)

// slackStub answers auth.test with the given granted scopes and apps.connections.open.
func slackStub(t *testing.T, scopes string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/auth.test":
			w.Header().Set("X-OAuth-Scopes", scopes)
			json.NewEncoder(w).Encode(map[string]any{"ok": true, "team": "Acme", "team_id": "T0ACME",
				"user": "pooltasks", "user_id": "U0BOT", "bot_id": "B0BOT"})
		case "/api/apps.connections.open":
			json.NewEncoder(w).Encode(map[string]any{"ok": true, "url": "wss://127.0.0.1:1/link"})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/api/"
}

func assertNoSecrets(t *testing.T, cfg config.Config, outputs ...string) {
	t.Helper()
	for _, out := range outputs {
		for _, secret := range []string{cfg.SlackAppToken, cfg.SlackBotToken, cfg.SK, cfg.SecurityToken} {
			if secret != "" && strings.Contains(out, secret) {
				t.Errorf("output shows a secret:\n%s", out)
			}
		}
	}
}

func TestDoctorSimWithoutSlack(t *testing.T) {
	cfg := defaults(t)
	cfg.StateDir = t.TempDir()
	code, out, errOut := call(t, cfg, "doctor", "--sim")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"ok    workspace credentials", "skip  slack bot token", "SLACK_BOT_TOKEN is not set", "0 failed"} {
		if !strings.Contains(flat(out), flat(want)) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestDoctorSimMissingScopes(t *testing.T) {
	cfg := defaults(t)
	cfg.StateDir = t.TempDir()
	cfg.SlackBotToken, cfg.SlackAppToken = testBotToken, testAppToken
	cfg.SlackAPIURL = slackStub(t, "commands,chat:write")
	code, out, errOut := call(t, cfg, "doctor", "--sim")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"FAIL  slack scopes", "missing chat:write.public, app_mentions:read, usergroups:read", "Reinstall", "ok    slack app token", "xoxb-…WXYZ"} {
		if !strings.Contains(flat(out), flat(want)) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "at least one check failed") {
		t.Errorf("stderr %q", errOut)
	}
	assertNoSecrets(t, cfg, out, errOut)
}

func TestDoctorRejectedKey(t *testing.T) {
	srv := httptest.NewServer(sim.New(sim.Options{Empty: true}))
	t.Cleanup(srv.Close)
	cfg := defaults(t)
	cfg.StateDir = t.TempDir()
	cfg.SlackBotToken, cfg.SlackAppToken = testBotToken, testAppToken
	cfg.SlackAPIURL = slackStub(t, "commands,chat:write,chat:write.public,app_mentions:read,usergroups:read")
	cfg.Endpoint, cfg.ProjectID = srv.URL, sim.DemoProjectID
	cfg.AK, cfg.SK = sim.DemoAK, "not-the-demo-secret-key-0000000000000000"
	code, out, errOut := call(t, cfg, "doctor")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"FAIL  workspace credentials", "AK/SK rejected", "lock the AK for 5 minutes", "ok    slack scopes"} {
		if !strings.Contains(flat(out), flat(want)) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	assertNoSecrets(t, cfg, out, errOut)
}

func TestDoctorEmptyEnvironment(t *testing.T) {
	cfg := defaults(t)
	cfg.StateDir = t.TempDir()
	code, out, _ := call(t, cfg, "doctor")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	for _, want := range []string{"FAIL  SLACK_APP_TOKEN", "FAIL  SLACK_BOT_TOKEN", "FAIL  WORKSPACE_REGION"} {
		if !strings.Contains(flat(out), flat(want)) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
