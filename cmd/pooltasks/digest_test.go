package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/bot/slacktest"
	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/workspace/sim"
)

func TestDigestDryRunSim(t *testing.T) {
	cfg := defaults(t)
	code, out, errOut := call(t, cfg, "digest", "--sim", "--dry-run", "--since", "72h")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	var got struct {
		Text   string           `json:"text"`
		Blocks []map[string]any `json:"blocks"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.HasPrefix(got.Text, "Failure digest ") || len(got.Blocks) < 3 || got.Blocks[0]["type"] != "header" {
		t.Errorf("dry run printed %q with %d blocks", got.Text, len(got.Blocks))
	}
	if !strings.Contains(out, `"action_id": "view_all"`) && !strings.Contains(got.Text, "all clear") {
		t.Errorf("no View all button in a digest with failures:\n%s", out)
	}
}

func TestDigestPostsToSlack(t *testing.T) {
	srv := slacktest.New(t, slacktest.Options{})
	cfg := defaults(t)
	cfg.SlackBotToken, cfg.SlackAPIURL = slacktest.BotToken, srv.APIURL()
	code, out, errOut := call(t, cfg, "digest", "--sim", "--channel", "CDIGEST")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	msgs, err := srv.WaitMessages(1, nil, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(srv.Messages()) != 1 || msgs[0].Channel != "CDIGEST" || msgs[0].Method != "chat.postMessage" || !strings.HasPrefix(msgs[0].Text, "Failure digest") {
		t.Errorf("messages %+v", srv.Messages())
	}
	if !strings.Contains(out, "posted the digest") {
		t.Errorf("stdout %q", out)
	}
	for _, m := range srv.Messages() {
		if strings.Contains(m.Text+string(m.Blocks), cfg.SlackBotToken) {
			t.Error("the token reached Slack's message")
		}
	}
}

func TestDigestBadInput(t *testing.T) {
	cfg := defaults(t)
	cfg.Region, cfg.Endpoint, cfg.DigestChannel, cfg.SlackBotToken = "", "", "", ""
	for _, args := range [][]string{
		{"digest", "--sim"},                                // no channel
		{"digest", "--sim", "--channel", "C1"},             // no token
		{"digest", "--sim", "--dry-run", "--since", "-1h"}, // bad window
		{"digest", "--sim", "--dry-run", "extra"},          // stray word
		{"digest", "--dry-run"},                            // no region
	} {
		if code, _, errOut := call(t, cfg, args...); code != 2 || errOut == "" {
			t.Errorf("%v: exit %d, stderr %q; want 2 with a message", args, code, errOut)
		}
	}
}

// TestDigestPoolsByName: POOLTASKS_DIGEST_POOLS may name pools; a name that
// matches none fails the digest instead of reporting all clear over no tasks.
func TestDigestPoolsByName(t *testing.T) {
	cfg := defaults(t)
	cfg.DigestPools = []string{"finance-win11"}
	code, out, errOut := call(t, cfg, "digest", "--sim", "--dry-run", "--since", "72h")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	if !strings.Contains(out, "pools `finance-win11`") || !strings.Contains(out, "failed task") || strings.Contains(out, "all clear") {
		t.Errorf("digest of finance-win11 by name:\n%s", out)
	}

	cfg.DigestPools = []string{"finanse-win11"}
	code, out, errOut = call(t, cfg, "digest", "--sim", "--dry-run", "--since", "72h")
	if code == 0 || !strings.Contains(errOut, `no desktop pool is named like "finanse-win11"`) {
		t.Errorf("a misspelt pool: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	// One good, one misspelt: the digest of the good one says what it left out.
	cfg.DigestPools = []string{"finance-win11", "finanse-win11"}
	code, out, errOut = call(t, cfg, "digest", "--sim", "--dry-run", "--since", "72h")
	if code != 0 || !strings.Contains(out, "pools `finance-win11`") || !strings.Contains(out, "Left out") ||
		!strings.Contains(out, "finanse-win11") {
		t.Errorf("a good and a misspelt pool: exit %d, stderr %q\n%s", code, errOut, out)
	}
}

// TestDigestBoundChannel: the CronJob's digest in a channel bound to pools
// covers those pools, as serve's scheduled digest does.
func TestDigestBoundChannel(t *testing.T) {
	cfg := defaults(t)
	cfg.ChannelPools = "CFIN=finance-win11"
	code, out, errOut := call(t, cfg, "digest", "--sim", "--dry-run", "--channel", "CFIN", "--since", "72h")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	if !strings.Contains(out, "pools `finance-win11`") {
		t.Errorf("digest for a channel bound to finance-win11:\n%s", out)
	}
	// POOLTASKS_DIGEST_POOLS belongs to POOLTASKS_DIGEST_CHANNEL, not to
	// another channel given with --channel.
	cfg.DigestChannel, cfg.DigestPools, cfg.ChannelPools = "COPS", []string{"dev-ubuntu"}, "CFIN=finance-win11"
	code, out, errOut = call(t, cfg, "digest", "--sim", "--dry-run", "--channel", "CFIN", "--since", "72h")
	if code != 0 || !strings.Contains(out, "pools `finance-win11`") || strings.Contains(out, "dev-ubuntu`") {
		t.Errorf("digest for CFIN with digest pools of COPS: exit %d, stderr %q\n%s", code, errOut, out)
	}
}

// TestDigestSinceForms: --since reads the times since= reads.
func TestDigestSinceForms(t *testing.T) {
	cfg := defaults(t)
	for _, since := range []string{"7d", "yesterday", "yday", "last week", "monday", "00:00", "2026-11-27"} {
		if code, _, errOut := call(t, cfg, "digest", "--sim", "--dry-run", "--since", since); code != 0 {
			t.Errorf("--since %q: exit %d, %s", since, code, errOut)
		}
	}
	for since, want := range map[string]string{
		"tomorrow":   `--since "tomorrow" is not a time; use a time ago such as 90s`,
		"-1h":        `--since "-1h" is not a time`,
		"2999-01-01": "--since 2999-01-01 is not in the past",
	} {
		if code, _, errOut := call(t, cfg, "digest", "--sim", "--dry-run", "--since", since); code != 2 || !strings.Contains(errOut, want) {
			t.Errorf("--since %q: exit %d, %q; want 2 and %q", since, code, errOut, want)
		}
	}
}

// TestDigestTargetDown: the CronJob's digest with two targets, one of
// which answers 500, posts the other's failure with a line naming the
// target it could not read, and exits 1 naming it, so that the CronJob's
// run shows as failed; once the target answers, the same run exits 0.
func TestDigestTargetDown(t *testing.T) {
	sl := slacktest.New(t, slacktest.Options{})
	a, b, down, file := twoTargets(t)
	now := time.Now().UTC().Truncate(time.Second)
	for _, tk := range []struct {
		sm *sim.Sim
		id string
	}{{a, "aaaaaaaa-0000-4000-8000-00000000000a"}, {b, "bbbbbbbb-0000-4000-8000-00000000000b"}} {
		p := tk.sm.Pools()[0]
		tk.sm.PutTask(pooltask.Task{ID: tk.id, PoolID: p.ID, PoolName: p.Name, Status: pooltask.StatusFailed,
			Scripts: []pooltask.Script{{ID: "s-agent", Name: "install-agent"}},
			Start:   now.Add(-20 * time.Minute), End: now.Add(-10 * time.Minute), FailedNum: 3, SuccessNum: 7})
	}
	cfg := defaults(t)
	cfg.SlackBotToken, cfg.SlackAPIURL, cfg.AK, cfg.SK = slacktest.BotToken, sl.APIURL(), sim.DemoAK, sim.DemoSK
	cfg.Region, cfg.Endpoint, cfg.ProjectID, cfg.TargetsFile = "", "", "", file

	down.Store(true)
	code, out, errOut := call(t, cfg, "digest", "--channel", "CDIGEST", "--since", "1h")
	if code != 1 || !strings.Contains(errOut, "posted without the targets that did not answer: target sim-b: ") || !strings.Contains(errOut, "APIGW.0201") || !strings.Contains(out, "posted the digest") {
		t.Errorf("a digest without sim-b: exit %d, stdout %q, stderr %q; want 1, posted, naming sim-b", code, out, errOut)
	}
	msgs, err := sl.WaitMessages(1, nil, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if body := blocksText(msgs[0]); msgs[0].Channel != "CDIGEST" || !strings.Contains(msgs[0].Text, "1 failed task,") ||
		!strings.Contains(body, "Target *sim-b* could not be read") || !strings.Contains(body, "aaaaaaaa-0000-4000-8000-00000000000a") {
		t.Errorf("the partial digest in %s: %q\n%s", msgs[0].Channel, msgs[0].Text, body)
	}

	down.Store(false)
	code, out, errOut = call(t, cfg, "digest", "--channel", "CDIGEST", "--since", "1h")
	if code != 0 || strings.Contains(errOut, "pooltasks: ") || !strings.Contains(out, "posted the digest") {
		t.Errorf("a digest of both targets: exit %d, stdout %q, stderr %q; want 0", code, out, errOut)
	}
	msgs, err = sl.WaitMessages(2, nil, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if m := msgs[1]; !strings.Contains(m.Text, "2 failed tasks,") || strings.Contains(blocksText(m), "could not be read") {
		t.Errorf("the digest of both targets: %q\n%s", m.Text, blocksText(m))
	}
}
