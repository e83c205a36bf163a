package config

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kelseyhightower/envconfig"
)

func TestConfigDefaultsAndEnv(t *testing.T) {
	t.Setenv("WORKSPACE_RATE_LIMIT", "2.5")
	t.Setenv("POOLTASKS_ALLOWED_USERS", "U1,U2")
	t.Setenv("POOLTASKS_WATCH_EVERY", "30s")
	t.Setenv("POOLTASKS_SCHEDULER", "false")
	var cfg Config
	if err := envconfig.Process("", &cfg); err != nil {
		t.Fatal(err)
	}
	want := Config{
		SlackAPIURL: "https://slack.com/api/", RateLimit: 2.5, Burst: 5, Timeout: 10 * time.Second, CacheTTL: 10 * time.Second,
		AllowedUsers: []string{"U1", "U2"}, UserRate: 20, ApprovalTTL: 15 * time.Minute, ActionRate: 10, Scheduler: false, DigestEvery: 24 * time.Hour, AlertEvery: time.Minute, AlertMinFailed: 1,
		WatchEvery: 30 * time.Second, WatchMax: 2 * time.Hour, WatchMaxActive: 20, StateDir: "./state", RedisPrefix: "pooltasks:",
		HTTPAddr: ":8080", LogLevel: "info", LogFormat: "json",
	}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	t.Setenv("WORKSPACE_TIMEOUT", "soon")
	var bad Config
	if err := envconfig.Process("", &bad); err == nil {
		t.Error("a malformed duration was accepted")
	}
}

func TestConfigRedactsSecrets(t *testing.T) {
	cfg := Config{
		SlackAppToken: "xapp-1-secret-app", SlackBotToken: "xoxb-secret-bot",
		AK: "AKIDEXAMPLE123", SK: "sk-very-secret", SecurityToken: "sts-secret-token", Region: "ap-southeast-1",
		InternalToken: "internal-secret-token",
	}
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("config", "config", cfg)
	outputs := map[string]string{
		"String": cfg.String(), "%v": fmt.Sprintf("%v", cfg), "%+v": fmt.Sprintf("%+v", cfg),
		"%#v": fmt.Sprintf("%#v", cfg), "%s": fmt.Sprintf("%s", cfg), "slog": logBuf.String(),
		"pointer %v": fmt.Sprintf("%v", &cfg),
	}
	for name, s := range outputs {
		for _, secret := range []string{"xapp-1-secret-app", "xoxb-secret-bot", "sk-very-secret", "sts-secret-token", "AKIDEXAMPLE123", "internal-secret-token"} {
			if strings.Contains(s, secret) {
				t.Errorf("%s shows %q: %s", name, secret, s)
			}
		}
		if !strings.Contains(s, "ap-southeast-1") || !strings.Contains(s, redacted) {
			t.Errorf("%s should show the region and mark secrets: %s", name, s)
		}
	}
}
