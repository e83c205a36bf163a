package loop

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/pooltasks/pooltasks/bot/slacktest"
)

// TestSlackPosterPacesAgainstFakeSlack posts through the real slack-go
// client, configured as cmd configures it, to a fake Slack that answers 429
// to a second message per second in a channel: nothing is refused, and
// posts to one channel are spaced.
func TestSlackPosterPacesAgainstFakeSlack(t *testing.T) {
	srv := slacktest.New(t, slacktest.Options{PostRateLimit: true})
	api := slack.New(slacktest.BotToken, slack.OptionAPIURL(srv.APIURL()), slack.OptionRetry(3))
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
}

// TestSlackPosterRetryIsSlackGos shows what notify relies on slack-go for:
// a post that meets a 429 anyway (another process posted in the channel) is
// retried after Retry-After by slack.OptionRetry, and that wait ends with
// the post's ctx.
func TestSlackPosterRetryIsSlackGos(t *testing.T) {
	srv := slacktest.New(t, slacktest.Options{PostRateLimit: true})
	other := slack.New(slacktest.BotToken, slack.OptionAPIURL(srv.APIURL()))
	p := NewSlackPoster(slack.New(slacktest.BotToken, slack.OptionAPIURL(srv.APIURL()), slack.OptionRetry(3)))
	ctx := context.Background()

	if _, _, err := other.PostMessageContext(ctx, "C1", slack.MsgOptionText("elsewhere", false)); err != nil {
		t.Fatal(err)
	}
	if _, err := p.PostMessage(ctx, "C1", "", "ours", nil); err != nil {
		t.Fatalf("post after a 429: %v", err)
	}
	if r := srv.Rejected(); len(r) != 1 || r[0].Text != "ours" {
		t.Errorf("refused %+v, want our first attempt only", r)
	}
	msgs := srv.Messages()
	if len(msgs) != 2 || msgs[1].Text != "ours" {
		t.Fatalf("messages %+v", msgs)
	}
	if gap := msgs[1].At.Sub(msgs[0].At); gap < time.Second {
		t.Errorf("retried %v after the other post, want Retry-After (1s) at least", gap)
	}

	if _, _, err := other.PostMessageContext(ctx, "C2", slack.MsgOptionText("elsewhere", false)); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	_, err := p.PostMessage(short, "C2", "", "ours", nil)
	returned := time.Now()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the ctx's deadline", err)
	}
	// Measured from the 429 (the fake's clock is ours), not from the call,
	// so a slow first request on a loaded machine does not count.
	if r := srv.Rejected(); len(r) != 2 {
		t.Errorf("refused %+v, want one more attempt", r)
	} else if waited := returned.Sub(r[1].At); waited >= time.Second {
		t.Errorf("returned %v after the 429, want at the ctx's deadline, before Retry-After (1s)", waited)
	}
}
