package config

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// env is an environment holding vars, for Load.
func env(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

func TestConfigDefaultsAndEnv(t *testing.T) {
	cfg := Load(env(map[string]string{
		"WORKSPACE_RATE_LIMIT": "2.5", "POOLTASKS_ALLOWED_USERS": "U1, U2", "POOLTASKS_WATCH_EVERY": "30s",
		"POOLTASKS_SCHEDULER": "off", "POOLTASKS_DIGEST_QUIET": "Yes", "POOLTASKS_DIGEST_EVERY": "7d",
		"POOLTASKS_STATE_DIR": "", "POOLTASKS_ALERT_EVERY": "1d12h",
	}))
	want := Config{
		SlackAPIURL: "https://slack.com/api/", RateLimit: 2.5, Burst: 5, Timeout: 10 * time.Second, CacheTTL: 10 * time.Second,
		AllowedUsers: []string{"U1", "U2"}, UserRate: 20, ApprovalTTL: 15 * time.Minute, ActionRate: 10, Scheduler: false,
		DigestEvery: 7 * 24 * time.Hour, DigestQuiet: true, AlertEvery: 36 * time.Hour, AlertMinFailed: 1,
		WatchEvery: 30 * time.Second, WatchMax: 2 * time.Hour, WatchMaxActive: 20, StateDir: "", RedisPrefix: "pooltasks:", Lease: 15 * time.Second,
		HTTPAddr: ":8080", LogLevel: "info", LogFormat: "json",
	}
	if diff := cmp.Diff(want, cfg, cmp.AllowUnexported(Config{}), cmpopts.IgnoreFields(Config{}, "Getenv")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestLoadUnreadable: Load reads every value it can, keeps the default of
// each it cannot, and Validate reports each of those as an error with its
// fix, alongside the other problems.
func TestLoadUnreadable(t *testing.T) {
	cfg := Load(env(map[string]string{
		"POOLTASKS_SCHEDULER":        "yes please",
		"WORKSPACE_TIMEOUT":          "10",
		"POOLTASKS_DIGEST_EVERY":     "a week",
		"POOLTASKS_USER_RATE":        "",
		"WORKSPACE_RATE_LIMIT":       "fast",
		"WORKSPACE_BURST":            "5.5",
		"POOLTASKS_WATCH_MAX":        "",
		"LOG_FORMAT":                 "xml", // a readable value Validate refuses
		"POOLTASKS_ALERT_MIN_FAILED": "three",
		"POOLTASKS_ALERT_MIN_RATIO":  "20%",
	}))
	_, ps := cfg.Validate(0)
	for _, tc := range []struct{ name, detail, fix string }{
		{"POOLTASKS_SCHEDULER", `"yes please" is not true, false or auto`, "write auto (schedule here, or with Redis take turns by the lease), true or false (yes/no, on/off and 1/0 work too), or unset it for the default auto"},
		{"WORKSPACE_TIMEOUT", `"10" is not a duration: it has no unit`, "write a duration such as 10s, or unset it for the default 10s"},
		{"POOLTASKS_DIGEST_EVERY", `"a week" is not a duration`, "write a duration such as 24h, or unset it for the default 24h"},
		{"POOLTASKS_USER_RATE", "set but empty, which is not a whole number", "write a whole number such as 20, or unset it for the default 20"},
		{"WORKSPACE_RATE_LIMIT", `"fast" is not a number`, "write a number such as 5, or unset it for the default 5"},
		{"WORKSPACE_BURST", `"5.5" is not a whole number`, "write a whole number such as 5, or unset it for the default 5"},
		{"POOLTASKS_WATCH_MAX", "set but empty, which is not a duration", "write a duration such as 2h, or unset it for the default 2h"},
		{"LOG_FORMAT", `"xml" is not json or text`, "write json or text"},
		{"POOLTASKS_ALERT_MIN_FAILED", `"three" is not a whole number`, "write a whole number such as 1, or unset it for the default 1"},
		{"POOLTASKS_ALERT_MIN_RATIO", `"20%" is not a number`, "write a number such as 0.2 (20%: a share from 0 to 1), or unset it for the default 0"},
	} {
		p, ok := find(ps, tc.name)
		if !ok || p.Severity != Error || p.Detail != tc.detail || p.Fix != tc.fix {
			t.Errorf("%s: got %+v (found %v), want an error %q, fix %q", tc.name, p, ok, tc.detail, tc.fix)
		}
	}
	if ps.Err() == nil {
		t.Error("Err() is nil")
	}
	// The defaults stay in force meanwhile.
	if !cfg.Scheduler || cfg.Timeout != 10*time.Second || cfg.DigestEvery != 24*time.Hour || cfg.UserRate != 20 || cfg.Burst != 5 {
		t.Errorf("defaults not kept: %v", cfg)
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"10s": 10 * time.Second, "1h30m": 90 * time.Minute, "500ms": 500 * time.Millisecond, "0": 0, " 7d ": 7 * 24 * time.Hour,
		"1d12h": 36 * time.Hour, "0.5d": 12 * time.Hour, "-1d": -24 * time.Hour, "0d": 0, "2d30m": 48*time.Hour + 30*time.Minute,
	} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "10", "d", "7 d", "1d-2h", "1d1d", "+-1d", "1e3d", "week", "1w", "--1h", "1d+2h"} {
		if got, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", in, got)
		}
	}
}

func TestParseBool(t *testing.T) {
	for _, in := range []string{"true", "TRUE", "yes", "Y", "on", "1", " t "} {
		if b, err := ParseBool(in); err != nil || !b {
			t.Errorf("ParseBool(%q) = %v, %v", in, b, err)
		}
	}
	for _, in := range []string{"false", "No", "off", "0", "f", "n"} {
		if b, err := ParseBool(in); err != nil || b {
			t.Errorf("ParseBool(%q) = %v, %v", in, b, err)
		}
	}
	for _, in := range []string{"", "maybe", "2", "enabled"} {
		if _, err := ParseBool(in); err == nil {
			t.Errorf("ParseBool(%q) accepted", in)
		}
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

// TestLogDurations: JSON log lines show durations as people read them, not
// as nanoseconds; text lines already do.
func TestLogDurations(t *testing.T) {
	for format, want := range map[string]string{"json": `"took":"1m30.1s"`, "text": "took=1m30.1s"} {
		var buf bytes.Buffer
		h, err := Config{LogFormat: format}.LogHandler(&buf)
		if err != nil {
			t.Fatal(err)
		}
		slog.New(h).Info("done", "took", 90*time.Second+100*time.Millisecond)
		if !strings.Contains(buf.String(), want) {
			t.Errorf("%s: %s, want %s", format, buf.String(), want)
		}
	}
}

func TestSchedulingDecode(t *testing.T) {
	for v, want := range map[string]bool{"auto": true, "AUTO": true, "true": true, "yes": true, "on": true, "1": true,
		"false": false, "No": false, "off": false, "0": false} {
		var s Scheduling
		if err := s.Decode(v); err != nil || bool(s) != want {
			t.Errorf("Decode(%q) = %v, %v; want %v", v, s, err, want)
		}
	}
	var s Scheduling
	if err := s.Decode("maybe"); err == nil || !strings.Contains(err.Error(), "true, false or auto") {
		t.Errorf("Decode(maybe) = %v", err)
	}
}

// TestDurationFlag: a flag of type Duration reads what the environment
// reads, days included, and names the fix of what it cannot.
func TestDurationFlag(t *testing.T) {
	d := Duration(time.Second)
	if err := d.Set("1d2h"); err != nil || time.Duration(d) != 26*time.Hour || d.String() != "26h0m0s" {
		t.Errorf("Set(1d2h) = %v, %v", d, err)
	}
	if err := d.Set("10"); err == nil || !strings.Contains(err.Error(), "write a duration such as 10s") {
		t.Errorf("Set(10) = %v", err)
	}
}
