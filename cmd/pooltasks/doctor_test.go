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
	cfg.SlackAPIURL = slackStub(t, "commands,chat:write,chat:write.public,app_mentions:read,usergroups:read,channels:history,groups:history")
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

// TestMalformedValues: a value the environment holds that pooltasks cannot
// read is a FAIL line of doctor, with its fix, among all the other checks;
// serve and digest refuse to start with the same words (exit status 2).
func TestMalformedValues(t *testing.T) {
	for _, tc := range []struct{ name, value, detail, fix string }{
		{"POOLTASKS_SCHEDULER", "yes please", `"yes please" is not true, false or auto`, "write auto (schedule here, or with Redis take turns by the lease), true or false"},
		{"POOLTASKS_DIGEST_QUIET", "quietly", `"quietly" is not true or false`, "write true or false (yes/no, on/off and 1/0 work too)"},
		{"WORKSPACE_TIMEOUT", "10", `"10" is not a duration: it has no unit`, "write a duration such as 10s"},
		{"POOLTASKS_DIGEST_EVERY", "a week", `"a week" is not a duration`, "write a duration such as 24h"},
		{"POOLTASKS_USER_RATE", "", "set but empty, which is not a whole number", "write a whole number such as 20"},
		{"WORKSPACE_RATE_LIMIT", "5/s", `"5/s" is not a number`, "write a number such as 5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := fromEnv(map[string]string{tc.name: tc.value, "POOLTASKS_STATE_DIR": t.TempDir()})
			code, out, errOut := call(t, cfg, "doctor", "--sim")
			if code != 1 {
				t.Fatalf("doctor: exit %d, want 1\n%s\n%s", code, out, errOut)
			}
			// doctor wraps its lines at 80 columns: compare the words.
			words := strings.Join(strings.Fields(out), " ")
			for _, want := range []string{"FAIL " + tc.name, tc.detail, tc.fix,
				"ok workspace credentials", "ok POOLTASKS_STATE_DIR", "skip slack bot token", "1 failed"} {
				if !strings.Contains(words, want) {
					t.Errorf("doctor output lacks %q:\n%s", want, out)
				}
			}
			for _, sub := range [][]string{{"serve", "--sim"}, {"digest", "--sim", "--dry-run"}} {
				cfg := cfg
				cfg.SlackBotToken, cfg.SlackAppToken = testBotToken, testAppToken
				code, out, errOut := call(t, cfg, sub...)
				if code != 2 {
					t.Fatalf("%s: exit %d, want 2\n%s\n%s", sub[0], code, out, errOut)
				}
				if want := tc.name + ": " + tc.detail + " (fix: " + tc.fix; !strings.Contains(errOut, want) {
					t.Errorf("%s: stderr lacks %q:\n%s", sub[0], want, errOut)
				}
			}
		})
	}
}

// TestDurationFlags: duration flags read 7d like the environment does, and
// refuse a number without a unit with the fix.
func TestDurationFlags(t *testing.T) {
	cfg := defaults(t)
	cfg.StateDir = t.TempDir()
	if code, out, errOut := call(t, cfg, "doctor", "--sim", "--timeout", "1d"); code != 0 {
		t.Errorf("doctor --timeout 1d: exit %d\n%s%s", code, out, errOut)
	}
	code, _, errOut := call(t, cfg, "doctor", "--sim", "--timeout", "10")
	if code != 2 || !strings.Contains(errOut, "write a duration such as 10s") {
		t.Errorf("doctor --timeout 10: exit %d, stderr %q", code, errOut)
	}
}
