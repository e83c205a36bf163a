package loop_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/bot/notify/loop"

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
	p := loop.NewSlackPoster(api)
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
	p := loop.NewSlackPoster(slack.New(slacktest.BotToken, slack.OptionAPIURL(srv.APIURL()), slack.OptionRetry(3)))
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

// TestSlackPosterFindsRecordedPosts: a recorded post carries its record in
// Slack's message metadata, and FindRecorded finds it in the channel's
// history through the real slack-go client, over pages, and only there.
func TestSlackPosterFindsRecordedPosts(t *testing.T) {
	srv := slacktest.New(t, slacktest.Options{})
	api := slack.New(slacktest.BotToken, slack.OptionAPIURL(srv.APIURL()))
	p := loop.NewSlackPoster(api)
	ctx := context.Background()
	since := time.Now().Add(-time.Minute)

	want := loop.Record{Type: loop.DigestRecord, Key: "CDIGEST|24h0m0s|0s||2026-12-02T00:00:00Z|2026-12-03T00:00:00Z"}
	ts, err := p.PostRecorded(ctx, "C1", want, "digest", nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := srv.WaitMessage(slacktest.InChannel("C1"), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(m.Metadata); !strings.Contains(got, `"event_type":"pooltasks_digest"`) || !strings.Contains(got, `"key":"CDIGEST|24h0m0s`) {
		t.Errorf("metadata = %s", got)
	}
	// 250 newer messages, one of them a thread reply carrying the same
	// record: the post is on the second page of 200, and a thread reply is
	// not in the channel's history.
	for i := range 250 {
		opts := []slack.MsgOption{slack.MsgOptionText(fmt.Sprint("chatter ", i), false)}
		if i == 10 {
			opts = append(opts, slack.MsgOptionTS("1.000001"), slack.MsgOptionMetadata(slack.SlackMetadata{EventType: want.Type, EventPayload: map[string]any{"key": want.Key}}))
		}
		if _, _, err := api.PostMessageContext(ctx, "C1", opts...); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := p.FindRecorded(ctx, "C1", want, since); err != nil || got != ts {
		t.Errorf("FindRecorded = %q, %v; want %q", got, err, ts)
	}
	if n := len(srv.Calls("conversations.history")); n != 2 {
		t.Errorf("%d history calls, want 2 pages", n)
	}
	for name, tc := range map[string]struct {
		channel string
		rec     loop.Record
		since   time.Time
	}{
		"another key":      {"C1", loop.Record{Type: loop.DigestRecord, Key: "other"}, since},
		"another type":     {"C1", loop.Record{Type: loop.AlertRecord, Key: want.Key}, since},
		"another channel":  {"C2", want, since},
		"older than since": {"C1", want, time.Now().Add(time.Hour)},
	} {
		if got, err := p.FindRecorded(ctx, tc.channel, tc.rec, tc.since); err != nil || got != "" {
			t.Errorf("%s: FindRecorded = %q, %v; want none", name, got, err)
		}
	}
	if c := srv.Calls("conversations.history")[0]; c.Values["include_all_metadata"][0] != "1" {
		t.Errorf("history asked without include_all_metadata: %v", c.Values)
	}
}

// TestSlackPosterHistoryErrors: a history, or a thread, that cannot be
// read (no scope, not in the channel) is a *HistoryError that says what to
// do.
func TestSlackPosterHistoryErrors(t *testing.T) {
	srv := slacktest.New(t, slacktest.Options{Outsider: []string{"CPUBLIC"}, PrivateChannels: []string{"GPRIV"}})
	noScope := slacktest.New(t, slacktest.Options{MissingScopes: []string{"channels:history"}})
	rec := loop.Record{Type: loop.AlertRecord, Key: "k"}
	for _, tc := range []struct {
		srv     *slacktest.Server
		channel string
		err     string
		says    string
	}{
		{srv, "CPUBLIC", "not_in_channel", "/invite @pooltasks"},
		{srv, "GPRIV", "not_in_channel", "not in it"},
		{noScope, "C1", "missing_scope", "channels:history"},
	} {
		p := loop.NewSlackPoster(slack.New(slacktest.BotToken, slack.OptionAPIURL(tc.srv.APIURL())))
		for _, thread := range []string{"", "1700000000.000001"} { // the channel's history, a thread's
			rec.Thread = thread
			_, err := p.FindRecorded(context.Background(), tc.channel, rec, time.Now().Add(-time.Hour))
			he, ok := errors.AsType[*loop.HistoryError](err)
			if !ok || he.Err != tc.err || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("%s %q: FindRecorded = %v, want a HistoryError %s saying %q", tc.channel, thread, err, tc.err, tc.says)
			}
		}
	}
}

// TestSlackPosterFindsRecordedReplies: a recorded post in a thread goes
// there, carrying its record, and FindRecorded finds it in that thread
// (conversations.replies) through the real slack-go client, over pages;
// not in another thread, nor in the channel's history, and a thread whose
// root is gone holds none.
func TestSlackPosterFindsRecordedReplies(t *testing.T) {
	srv := slacktest.New(t, slacktest.Options{})
	api := slack.New(slacktest.BotToken, slack.OptionAPIURL(srv.APIURL()))
	p := loop.NewSlackPoster(api)
	ctx := context.Background()
	since := time.Now().Add(-time.Minute)
	root, err := p.PostMessage(ctx, "C1", "", "the alert", nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := p.PostMessage(ctx, "C1", "", "another alert", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := loop.Record{Type: loop.AlertRecord, Key: "thread:t1", Thread: root}
	ts, err := p.PostRecorded(ctx, "C1", want, "the failed desktops", nil)
	if err != nil {
		t.Fatal(err)
	}
	if m, err := srv.WaitMessage(func(m slacktest.Message) bool { return m.TS == ts }, 10*time.Second); err != nil || m.ThreadTS != root || len(m.Metadata) == 0 {
		t.Fatalf("the recorded reply: %+v, %v; want in %s's thread with metadata", m, err, root)
	}
	for i := range 250 { // after it: it is on the first page of 200, the search reads one
		if _, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText(fmt.Sprint("chatter ", i), false), slack.MsgOptionTS(root)); err != nil {
			t.Fatal(err)
		}
	}
	late := loop.Record{Type: loop.AlertRecord, Key: "thread:late", Thread: root}
	lateTS, err := p.PostRecorded(ctx, "C1", late, "the last reply", nil) // on the second page
	if err != nil {
		t.Fatal(err)
	}
	if got, err := p.FindRecorded(ctx, "C1", want, since); err != nil || got != ts {
		t.Errorf("FindRecorded = %q, %v; want %q", got, err, ts)
	}
	if got, err := p.FindRecorded(ctx, "C1", late, since); err != nil || got != lateTS {
		t.Errorf("FindRecorded of the reply on the second page = %q, %v; want %q", got, err, lateTS)
	}
	calls := srv.Calls("conversations.replies")
	if len(calls) != 3 || calls[0].Values["include_all_metadata"][0] != "1" || calls[0].Values["ts"][0] != root {
		t.Errorf("%d replies calls (want 1, then 2 pages), the first %v", len(calls), calls[0].Values)
	}
	for name, tc := range map[string]loop.Record{
		"another thread":       {Type: want.Type, Key: want.Key, Thread: other},
		"the channel":          {Type: want.Type, Key: want.Key},
		"a thread that is not": {Type: want.Type, Key: want.Key, Thread: "1.000009"},
	} {
		if got, err := p.FindRecorded(ctx, "C1", tc, since); err != nil || got != "" {
			t.Errorf("%s: FindRecorded = %q, %v; want none", name, got, err)
		}
	}
}
