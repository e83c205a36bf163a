package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pooltasks/pooltasks/bot/slacktest"
)

func TestServeSim(t *testing.T) {
	sl := slacktest.New(t, slacktest.Options{})
	cfg := Config{
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
	if err := sl.WaitConnections(1, 10*time.Second); err != nil {
		t.Fatal(err, stderr.String())
	}
	id, url := sl.SlashCommand(slacktest.SlashCommand{Text: "failed since=7d", UserID: "U1", ChannelID: "C1"})
	if _, err := sl.WaitAck(id, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	m, err := sl.WaitMessage(slacktest.ForResponseURL(url), 10*time.Second)
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
	for _, secret := range []string{slacktest.AppToken, slacktest.BotToken} {
		if strings.Contains(stderr.String()+stdout.String(), secret) {
			t.Errorf("a token reached the output")
		}
	}
}

func TestParseChannelPools(t *testing.T) {
	got, err := parseChannelPools(" C1=pool-a, pool-b ;C2=*;")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"C1": {"pool-a", "pool-b"}, "C2": {"*"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
	for _, bad := range []string{"C1", "=a", "C1=", "C1=a;C1=b"} {
		if _, err := parseChannelPools(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestServeNeedsTokens(t *testing.T) {
	err := run(context.Background(), []string{"serve"}, Config{LogLevel: "info", LogFormat: "json"}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || exitCode(err, &bytes.Buffer{}) != 2 {
		t.Errorf("serve without tokens = %v, want a usage error", err)
	}
}
