package alert

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/pooltasks/pooltasks/bot/notify/loop"
	"github.com/pooltasks/pooltasks/bot/notify/notifytest"
	"github.com/pooltasks/pooltasks/bot/notify/state"
	"github.com/pooltasks/pooltasks/bot/slacktest"
	"github.com/pooltasks/pooltasks/pooltask"
)

// crashChild, when set in the environment, makes the test binary an
// alerter (runCrashChild) instead of running tests.
const crashChild = "POOLTASKS_TEST_ALERT_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(crashChild) != "" {
		runCrashChild()
		return
	}
	os.Exit(m.Run())
}

// crashTask is the failure the child alerts, started at start.
func crashTask(start time.Time) pooltask.Task {
	return notifytest.Task("cccccccc-0000-0000-0000-000000000001", "dev-ubuntu", pooltask.StatusFailed, start, 3, "install-agent")
}

// runCrashChild alerts into C1 of the fake Slack at $SLACK_API_URL, every
// 50 ms, the failure crashTask($START) of an in-memory lister, with its
// state in $STATE_DIR, until killed.
func runCrashChild() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	store, err := state.Open(os.Getenv("STATE_DIR"), state.Options{Lock: true})
	if err != nil {
		log.Error("opening the state", "err", err)
		os.Exit(1)
	}
	unix, _ := strconv.ParseInt(os.Getenv("START"), 10, 64)
	failed := crashTask(time.Unix(unix, 0).UTC())
	l := notifytest.NewLister(failed)
	l.PutRecords(notifytest.FailedRecords(failed, 3)...)
	api := slack.New(slacktest.BotToken, slack.OptionAPIURL(os.Getenv("SLACK_API_URL")))
	a := New(Config{Channel: "C1", Every: 50 * time.Millisecond}, loop.Deps{Lister: l, Records: func(string) loop.Records { return l },
		Poster: loop.NewSlackPoster(api), Log: log}, store)
	Routes{a}.Run(context.Background())
	os.Exit(0)
}

// TestAlertKilledBetweenPostAndSave kills (SIGKILL) a real alerter process
// after Slack took the thread reply of its alert and before it heard back,
// then the next one after Slack took the summary of a mute that ended:
// each time, before it could save that the post went out. The processes
// after neither post again nor skip: they find the reply in the root's
// thread (conversations.replies) and the summary in the channel's history
// by the key in their metadata. One root, one thread reply, one summary.
func TestAlertKilledBetweenPostAndSave(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	now := time.Now().UTC().Truncate(time.Second)
	seed := notifytest.OpenStore(t, dir)
	cfg := Config{Channel: "C1"}
	if err := seed.AddAlertKnown(t.Context(), cfg.key(), map[string]time.Time{}, now.Add(-time.Hour), DefaultMax); err != nil { // primed
		t.Fatal(err)
	}
	mute := pooltask.Mute{PoolID: "pool-finance-win11", PoolName: "finance-win11", By: "U0ALICE", Start: now.Add(-2 * time.Hour), Until: now.Add(-time.Hour)}
	if _, err := seed.PutMute(t.Context(), mute); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var victim *exec.Cmd
	var killAt func(slacktest.Message) bool
	killed := make(chan struct{}, 2)
	sl := slacktest.New(t, slacktest.Options{Accepted: func(m slacktest.Message) {
		mu.Lock()
		defer mu.Unlock()
		if victim == nil || !killAt(m) {
			return
		}
		victim.Process.Kill() // SIGKILL: no defer, no save
		victim.Wait()
		victim = nil
		killed <- struct{}{}
	}})
	start := func(kill func(slacktest.Message) bool) (*exec.Cmd, *notifytest.Buffer) {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChild+"=1", "STATE_DIR="+dir, "SLACK_API_URL="+sl.APIURL(),
			"START="+strconv.FormatInt(now.Add(-10*time.Minute).Unix(), 10))
		stderr := &notifytest.Buffer{}
		cmd.Stderr = stderr
		mu.Lock()
		defer mu.Unlock()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		victim, killAt = cmd, kill
		return cmd, stderr
	}
	waitKilled := func(cmd *exec.Cmd, stderr *notifytest.Buffer, what string) {
		t.Helper()
		select {
		case <-killed:
		case <-time.After(30 * time.Second):
			mu.Lock()
			cmd.Process.Kill()
			mu.Unlock()
			t.Fatalf("no %s posted within 30s:\n%s", what, stderr)
		}
	}

	first, firstErr := start(func(m slacktest.Message) bool { return m.ThreadTS != "" })
	waitKilled(first, firstErr, "thread reply")
	if al, _ := notifytest.OpenStore(t, dir).Alerts(t.Context(), "C1"); len(al) != 1 || al[0].Enriching.IsZero() || al[0].Enriched {
		t.Fatalf("living alerts after the first kill: %+v; want one, its reply about to be posted, not known as posted", al)
	}
	second, secondErr := start(func(m slacktest.Message) bool { return strings.Contains(m.Text, "back on") })
	waitKilled(second, secondErr, "mute summary")
	if kept, _, _ := notifytest.OpenStore(t, dir).MutedFailures(t.Context(), "C1", mute.ID()); kept.Telling.IsZero() || kept.Told {
		t.Fatalf("the mute after the second kill: %+v; want its summary about to be posted, not known as posted", kept)
	}

	third, thirdErr := start(func(slacktest.Message) bool { return false })
	defer func() {
		third.Process.Kill()
		third.Wait()
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if kept, _, _ := notifytest.OpenStore(t, dir).MutedFailures(t.Context(), "C1", mute.ID()); kept.Told {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the third process did not settle the summary within 30s:\n%s", thirdErr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var roots, replies, summaries int
	for _, m := range sl.Messages() {
		switch {
		case m.Method != "chat.postMessage":
		case m.ThreadTS != "":
			replies++
		case strings.Contains(m.Text, "back on"):
			summaries++
		default:
			roots++
		}
	}
	if roots != 1 || replies != 1 || summaries != 1 {
		t.Errorf("%d roots, %d thread replies, %d summaries; want one of each:\n%s\n%s", roots, replies, summaries, secondErr, thirdErr)
	}
	if r, h := len(sl.Calls("conversations.replies")), len(sl.Calls("conversations.history")); r != 1 || h != 1 {
		t.Errorf("%d thread reads and %d history reads, want one each", r, h)
	}
	if !strings.Contains(secondErr.String(), "the thread reply of the alert of task "+crashTask(now).ID+" went out before pooltasks stopped") ||
		!strings.Contains(thirdErr.String(), "the summary of the mute of finance-win11 went out before pooltasks stopped") {
		t.Errorf("the restarted processes do not say they found the posts:\n%s\n%s", secondErr, thirdErr)
	}
}
