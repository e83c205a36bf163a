package notify

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/pooltasks/pooltasks/bot/notify/notifytest"
	"github.com/pooltasks/pooltasks/bot/slacktest"
)

// TestSlackPosterPacesAgainstFakeSlack posts through the real slack-go
// client to a fake Slack that answers 429 to a second message per second
// in a channel: nothing is refused, and posts to one channel are spaced.
func TestSlackPosterPacesAgainstFakeSlack(t *testing.T) {
	srv := slacktest.New(t, slacktest.Options{PostRateLimit: true, RefuseBlockTypes: []string{"data_visualization"}})
	api := slack.New(slacktest.BotToken, slack.OptionAPIURL(srv.APIURL()))
	p := NewSlackPoster(api)
	ctx := context.Background()

	done := make(chan error, 4)
	for i := range 3 {
		go func() {
			_, err := p.PostMessage(ctx, "C1", "", fmt.Sprint("m", i), nil)
			done <- err
		}()
	}
	go func() {
		_, err := p.PostMessage(ctx, "C2", "", "other channel", nil)
		done <- err
	}()
	for range 4 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if r := srv.Rejected(); len(r) != 0 {
		t.Errorf("%d posts refused: %+v", len(r), r)
	}
	var last time.Time
	for _, m := range srv.Messages() {
		if m.Channel != "C1" {
			continue
		}
		if !last.IsZero() && m.At.Sub(last) < 900*time.Millisecond { // the server's clock, not ours
			t.Errorf("posts to C1 %v apart", m.At.Sub(last))
		}
		last = m.At
	}

	// A workspace that refuses charts gets the classic digest.
	d := NewDigester(DigestConfig{}, notifytest.NewLister(sampleDigestTasks()...), p, openStore(t, t.TempDir()), nil, nil)
	if _, err := d.PostOnce(ctx, "C3", day0, day0.Add(24*time.Hour), false); err != nil {
		t.Fatal(err)
	}
	m, err := srv.WaitMessage(func(m slacktest.Message) bool { return m.Channel == "C3" }, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range m.BlockTypes() {
		if typ == "data_visualization" {
			t.Error("chart in the fallback digest")
		}
	}
}

func TestParseTimeOfDay(t *testing.T) {
	for in, want := range map[string]time.Duration{"": 0, "09:00": 9 * time.Hour, "23:59:30": 23*time.Hour + 59*time.Minute + 30*time.Second, "9h30m": 9*time.Hour + 30*time.Minute} {
		if got, err := ParseTimeOfDay(in); err != nil || got != want {
			t.Errorf("ParseTimeOfDay(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"24:00", "9", "nine", "-1h", "12:60"} {
		if _, err := ParseTimeOfDay(in); err == nil {
			t.Errorf("ParseTimeOfDay(%q) accepted", in)
		}
	}
}
