package loop_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/bot/notify/loop"

	"github.com/slack-go/slack"

	"github.com/pooltasks/pooltasks/bot/notify/notifytest"
)

// drive fires the fake clock's timers one time at a time, waiting after
// each for the posts it released, until want calls reached the recorder.
// Every call must be released by a timer and make one call.
func drive(t *testing.T, clock *notifytest.Clock, rec *notifytest.Poster, want int) {
	t.Helper()
	for n := len(rec.Calls()); n < want; n = len(rec.Calls()) {
		clock.BlockUntil(t, 1)
		rec.WaitCalls(t, n+clock.FireNext())
	}
}

func TestPacedPosterOneMessagePerSecondPerChannel(t *testing.T) {
	start := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	clock := notifytest.NewClock(start)
	rec := notifytest.NewPoster(clock)
	p := loop.NewPacedPoster(rec, clock)

	var wg sync.WaitGroup
	post := func(channel, thread string, i int) {
		defer wg.Done()
		if _, err := p.PostMessage(context.Background(), channel, thread, fmt.Sprint(i), nil); err != nil {
			t.Error(err)
		}
	}
	// Queue every post before time moves (posted or waiting).
	queued := func(channel string, n int) {
		deadline := time.Now().Add(10 * time.Second)
		for {
			posted := 0
			for _, c := range rec.Posts() {
				if c.Channel == channel {
					posted++
				}
			}
			if p.Queued(channel)+posted >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("posts to %s not queued", channel)
			}
			runtime.Gosched()
		}
	}
	for i := range 5 {
		wg.Add(2)
		go post("C1", "", i)
		go post("C1", "1.1", i) // thread replies pace with their channel
		queued("C1", 2*i+2)
	}
	for i := range 2 {
		wg.Add(1)
		go post("C2", "", i)
		queued("C2", i+1)
	}
	// Updates are not paced.
	if err := p.UpdateMessage(context.Background(), "C1", "1.1", "u", nil); err != nil {
		t.Fatal(err)
	}
	// The first post of each channel goes at once; then each second the
	// channels with posts left each wait on one timer.
	rec.WaitCalls(t, 3)
	for n := 3; n < 13; n = len(rec.Calls()) {
		left := 0
		for _, ch := range []string{"C1", "C2"} {
			total := map[string]int{"C1": 10, "C2": 2}[ch]
			done := 0
			for _, c := range rec.Posts() {
				if c.Channel == ch {
					done++
				}
			}
			if done < total {
				left++
			}
		}
		clock.BlockUntil(t, left)
		rec.WaitCalls(t, n+clock.FireNext())
	}
	wg.Wait()

	last := map[string]time.Time{}
	count := map[string]int{}
	for _, c := range rec.Calls() {
		if c.Update {
			if !c.At.Equal(start) {
				t.Errorf("update waited until %v", c.At)
			}
			continue
		}
		count[c.Channel]++
		if prev, ok := last[c.Channel]; ok && c.At.Sub(prev) < time.Second {
			t.Errorf("posts to %s %v apart, want at least 1s", c.Channel, c.At.Sub(prev))
		}
		last[c.Channel] = c.At
	}
	if count["C1"] != 10 || count["C2"] != 2 {
		t.Errorf("posts per channel = %v", count)
	}
	// No idle gaps: 10 posts in C1 take 9 s, and C2 is not held up by C1.
	if got := last["C1"].Sub(start); got != 9*time.Second {
		t.Errorf("last C1 post at +%v, want +9s", got)
	}
	if got := last["C2"].Sub(start); got != time.Second {
		t.Errorf("last C2 post at +%v, want +1s", got)
	}
}

// TestPacedPosterLeavesRetriesToSlackGo checks that a 429 the Slack client
// gives up on is returned as it is, after one call: slack-go retries 429s
// (slack.OptionRetry), and retrying here as well would multiply attempts.
// The channel's next post still waits its interval.
func TestPacedPosterLeavesRetriesToSlackGo(t *testing.T) {
	start := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	clock := notifytest.NewClock(start)
	rec := notifytest.NewPoster(clock)
	attempts := 0
	rec.Fail = func(notifytest.Post) error {
		attempts++ // under rec's lock
		return &slack.RateLimitedError{RetryAfter: time.Second}
	}
	p := loop.NewPacedPoster(rec, clock)
	_, err := p.PostMessage(context.Background(), "C1", "", "x", nil)
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) {
		t.Errorf("err = %v, want the rate-limit error", err)
	}
	if err := p.UpdateMessage(context.Background(), "C1", "1.1", "u", nil); !errors.As(err, &rl) {
		t.Errorf("update err = %v, want the rate-limit error", err)
	}
	if attempts != 2 {
		t.Errorf("%d attempts, want 2 (one post, one update, no retries)", attempts)
	}

	rec.Fail = nil
	done := make(chan error, 1)
	go func() {
		_, err := p.PostMessage(context.Background(), "C1", "", "y", nil)
		done <- err
	}()
	drive(t, clock, rec, 1)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := rec.Calls()[0].At.Sub(start); got != time.Second {
		t.Errorf("next post at +%v, want +1s", got)
	}

	// A post waiting for its slot returns when its ctx ends.
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		_, err := p.PostMessage(ctx, "C1", "", "x", nil)
		done <- err
	}()
	clock.BlockUntil(t, 1)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}
