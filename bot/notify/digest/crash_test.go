package digest

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/pooltasks/pooltasks/bot/notify/loop"
	"github.com/pooltasks/pooltasks/bot/notify/notifytest"
	"github.com/pooltasks/pooltasks/bot/notify/state"
	"github.com/pooltasks/pooltasks/bot/slacktest"
)

// crashChild, when set in the environment, makes the test binary a digest
// scheduler (runCrashChild) instead of running tests.
const crashChild = "POOLTASKS_TEST_DIGEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(crashChild) != "" {
		runCrashChild()
		return
	}
	os.Exit(m.Run())
}

// runCrashChild schedules hourly digests of an empty lister into C1 of the
// fake Slack at $SLACK_API_URL, with its state in $STATE_DIR, until killed.
func runCrashChild() {
	dir := os.Getenv("STATE_DIR")
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	store, err := state.Open(dir, state.Options{Lock: true})
	if err != nil {
		log.Error("opening the state", "err", err)
		os.Exit(1)
	}
	api := slack.New(slacktest.BotToken, slack.OptionAPIURL(os.Getenv("SLACK_API_URL")))
	d := New(Config{Channel: "C1", Every: time.Hour}, loop.Deps{Lister: notifytest.NewLister(),
		Poster: loop.NewSlackPoster(api), Log: log}, store)
	d.Run(context.Background())
	os.Exit(0)
}

// TestDigestKilledBetweenPostAndSave kills (SIGKILL) a real scheduler
// process after Slack took its digest and before it heard back, so before
// it could save the watermark; the next process neither posts the window
// again nor skips it: it finds the post in the channel's history. The
// kill also shows that the directory's lock does not outlive its holder.
func TestDigestKilledBetweenPostAndSave(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	cfg := Config{Channel: "C1", Every: time.Hour}
	mark := WindowEnd(time.Now(), time.Hour, 0).Add(-time.Hour) // one window to post at once
	seed := notifytest.OpenStore(t, dir)
	if err := seed.SetDigestWatermark(t.Context(), cfg.key(), mark); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var victim *exec.Cmd
	killed := make(chan struct{})
	sl := slacktest.New(t, slacktest.Options{Accepted: func(slacktest.Message) {
		mu.Lock()
		defer mu.Unlock()
		if victim == nil {
			return
		}
		victim.Process.Kill() // SIGKILL: no defer, no save
		victim.Wait()
		victim = nil
		close(killed)
	}})
	start := func() (*exec.Cmd, *notifytest.Buffer) {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChild+"=1", "STATE_DIR="+dir, "SLACK_API_URL="+sl.APIURL())
		stderr := &notifytest.Buffer{}
		cmd.Stderr = stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, stderr
	}

	mu.Lock()
	first, firstErr := start()
	victim = first
	mu.Unlock()
	select {
	case <-killed:
	case <-time.After(30 * time.Second):
		mu.Lock()
		first.Process.Kill()
		mu.Unlock()
		t.Fatalf("no digest posted within 30s:\n%s", firstErr)
	}
	onDisk := notifytest.OpenStore(t, dir)
	if got, _, _ := onDisk.DigestWatermark(t.Context(), cfg.key()); !got.Equal(mark) {
		t.Fatalf("watermark %v after the kill, want %v still (the kill came too late)", got, mark)
	}
	if _, ok, _ := onDisk.DigestIntent(t.Context(), cfg.key()); !ok {
		t.Fatal("no intent saved before the post")
	}

	second, secondErr := start()
	defer func() {
		second.Process.Kill()
		second.Wait()
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, _, _ := notifytest.OpenStore(t, dir).DigestWatermark(t.Context(), cfg.key())
		if got.Equal(mark.Add(time.Hour)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the restarted process did not settle the window within 30s (watermark %v):\n%s", got, secondErr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if posts := sl.Calls("chat.postMessage"); len(posts) != 1 {
		t.Errorf("%d digests posted, want 1:\n%s", len(posts), secondErr)
	}
	if n := len(sl.Calls("conversations.history")); n != 1 {
		t.Errorf("%d history reads, want 1", n)
	}
	if !strings.Contains(secondErr.String(), "went out before pooltasks stopped; not posting it again") {
		t.Errorf("the restarted process does not say it found the post:\n%s", secondErr)
	}
}
