package slacktest_test

import (
	"context"
	"errors"
	"io"
	"log"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/pooltasks/pooltasks/bot/slacktest"
)

const wait = 10 * time.Second // generous: CI runs every package's tests at once on 2 cores

// client runs a real socket-mode client against s that acks every
// envelope and reports what it saw on the returned channel.
func client(t *testing.T, s *slacktest.Server, appToken string) (*slack.Client, <-chan socketmode.Event, <-chan error) {
	t.Helper()
	api := slack.New(slacktest.BotToken, slack.OptionAppLevelToken(appToken), slack.OptionAPIURL(s.APIURL()))
	sm := socketmode.New(api, socketmode.OptionLog(log.New(io.Discard, "", 0)))
	ctx, cancel := context.WithCancel(context.Background())
	events := make(chan socketmode.Event, 100)
	done := make(chan error, 1)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		done <- sm.RunContext(ctx)
	}()
	go func() {
		defer wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case ev := <-sm.Events:
				if ev.Request != nil && ev.Request.EnvelopeID != "" {
					_ = sm.Ack(*ev.Request)
				}
				select {
				case events <- ev:
				default:
				}
			}
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return api, events, done
}

func next(t *testing.T, events <-chan socketmode.Event, typ socketmode.EventType) socketmode.Event {
	t.Helper()
	timeout := time.After(wait)
	for {
		select {
		case ev := <-events:
			if ev.Type == typ {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s event within %v", typ, wait)
		}
	}
}

func TestEnvelopesAckedAndParsed(t *testing.T) {
	s := slacktest.New(t, slacktest.Options{})
	_, events, _ := client(t, s, slacktest.AppToken)
	if err := s.WaitConnections(1, wait); err != nil {
		t.Fatal(err)
	}

	id, url := s.SlashCommand(slacktest.SlashCommand{Text: "failed pool=a &lt;b&gt;", UserID: "U1", ChannelID: "C1"})
	ev := next(t, events, socketmode.EventTypeSlashCommand)
	cmd := ev.Data.(slack.SlashCommand)
	if cmd.Text != "failed pool=a &lt;b&gt;" || cmd.UserID != "U1" || cmd.ResponseURL != url || cmd.TeamID != slacktest.TeamID {
		t.Errorf("slash command = %+v", cmd)
	}
	ack, err := s.WaitAck(id, wait)
	if err != nil {
		t.Fatal(err)
	}
	if ack.Latency <= 0 || ack.Latency > wait {
		t.Errorf("ack latency %v", ack.Latency)
	}

	s.BlockAction(slacktest.BlockAction{UserID: "U1", ChannelID: "C1", ActionID: "page_next", Value: "list page=2", IsEphemeral: true})
	cb := next(t, events, socketmode.EventTypeInteractive).Data.(slack.InteractionCallback)
	if cb.Type != slack.InteractionTypeBlockActions || len(cb.ActionCallback.BlockActions) != 1 ||
		cb.ActionCallback.BlockActions[0].Value != "list page=2" || cb.Container.ChannelID != "C1" || !cb.Container.IsEphemeral {
		t.Errorf("interaction = %+v", cb)
	}

	s.AppMention(slacktest.AppMention{Text: "<@U0BOT> show t1", UserID: "U1", ChannelID: "C1", ThreadTS: "1.2", RetryAttempt: 1})
	ea := next(t, events, socketmode.EventTypeEventsAPI)
	outer := ea.Data.(slackevents.EventsAPIEvent)
	m, ok := outer.InnerEvent.Data.(*slackevents.AppMentionEvent)
	if !ok || m.Text != "<@U0BOT> show t1" || m.ThreadTimeStamp != "1.2" || ea.Request.RetryAttempt != 1 {
		t.Errorf("mention = %+v (%T)", outer.InnerEvent.Data, outer.InnerEvent.Data)
	}

	// An unknown envelope type reaches slack-go as a bad message.
	s.Send(slacktest.Envelope{Type: "something_new", Payload: map[string]any{"x": 1}})
	next(t, events, socketmode.EventTypeErrorBadMessage)
}

func TestDisconnectReconnects(t *testing.T) {
	for _, reason := range []string{"refresh_requested", "warning", "link_disabled", "drop"} {
		t.Run(reason, func(t *testing.T) {
			s := slacktest.New(t, slacktest.Options{})
			_, events, _ := client(t, s, slacktest.AppToken)
			if err := s.WaitConnections(1, wait); err != nil {
				t.Fatal(err)
			}
			if reason == "drop" {
				s.DropConnections()
			} else {
				s.Disconnect(reason)
			}
			// Sent while no link is live: delivered after the reconnect.
			id, _ := s.SlashCommand(slacktest.SlashCommand{Text: "help", UserID: "U1", ChannelID: "C1"})
			if err := s.WaitConnections(2, 10*time.Second); err != nil {
				t.Fatal(err)
			}
			next(t, events, socketmode.EventTypeSlashCommand)
			if _, err := s.WaitAck(id, wait); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestBadAppToken(t *testing.T) {
	s := slacktest.New(t, slacktest.Options{})
	_, _, done := client(t, s, "xapp-wrong")
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "invalid_auth") {
			t.Errorf("run = %v, want invalid_auth", err)
		}
	case <-time.After(wait):
		t.Fatal("socket mode kept running with a bad token")
	}
}

func TestWebAPI(t *testing.T) {
	s := slacktest.New(t, slacktest.Options{PostRateLimit: true, RefuseBlockTypes: []string{"data_table"}})
	api := slack.New(slacktest.BotToken, slack.OptionAPIURL(s.APIURL()))
	ctx := context.Background()

	auth, err := api.AuthTestContext(ctx)
	if err != nil || auth.UserID != slacktest.BotUserID || auth.TeamID != slacktest.TeamID {
		t.Fatalf("auth.test = %+v, %v", auth, err)
	}
	if _, err := slack.New("xoxb-wrong", slack.OptionAPIURL(s.APIURL())).AuthTestContext(ctx); err == nil {
		t.Error("auth.test with a wrong token succeeded")
	}

	blocks := slack.MsgOptionBlocks(slack.NewSectionBlock(slack.NewTextBlockObject("mrkdwn", "hi", false, false), nil, nil))
	_, ts, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("hello", false), blocks, slack.MsgOptionTS("1.5"))
	if err != nil || ts == "" {
		t.Fatalf("postMessage = %q, %v", ts, err)
	}
	m, err := s.WaitMessage(slacktest.InChannel("C1"), wait)
	if err != nil {
		t.Fatal(err)
	}
	if m.Text != "hello" || m.ThreadTS != "1.5" || m.TS != ts || strings.Join(m.BlockTypes(), ",") != "section" {
		t.Errorf("message = %+v", m)
	}

	// A second post within a second to the same channel is rate limited.
	_, _, err = api.PostMessageContext(ctx, "C1", slack.MsgOptionText("again", false))
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != time.Second {
		t.Errorf("second post = %v, want rate limited", err)
	}

	_, _, err = api.PostMessageContext(ctx, "C2", slack.MsgOptionText("t", false),
		slack.MsgOptionBlocks(slack.NewDividerBlock(), rawBlock{Type: "data_table"}))
	if err == nil || !strings.Contains(err.Error(), "invalid_blocks") {
		t.Errorf("data_table post = %v, want invalid_blocks", err)
	}
	if r := s.Rejected(); len(r) != 2 || r[1].Error != "invalid_blocks" {
		t.Errorf("rejected = %+v", r)
	}

	if _, err := api.PostEphemeralContext(ctx, "C1", "U1", slack.MsgOptionText("psst", false)); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := api.UpdateMessageContext(ctx, "C1", ts, slack.MsgOptionText("edited", false)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.DeleteMessageContext(ctx, "C1", ts); err != nil {
		t.Fatal(err)
	}
	for _, method := range []string{"chat.postEphemeral", "chat.update", "chat.delete"} {
		if _, err := s.WaitMessage(func(m slacktest.Message) bool { return m.Method == method && m.Channel == "C1" }, wait); err != nil {
			t.Errorf("%s: %v", method, err)
		}
	}
	for _, c := range s.Calls("") {
		if _, ok := c.Values["token"]; ok {
			t.Errorf("%s call recorded its token", c.Method)
		}
	}

	url := s.ResponseURL()
	if _, _, err := api.PostMessageContext(ctx, "", slack.MsgOptionText("page 2", false),
		slack.MsgOptionReplaceOriginal(url)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.PostMessageContext(ctx, "", slack.MsgOptionText("to all", false),
		slack.MsgOptionResponseURL(url, slack.ResponseTypeInChannel)); err != nil {
		t.Fatal(err)
	}
	got, err := s.WaitMessages(2, slacktest.ForResponseURL(url), wait)
	if err != nil {
		t.Fatal(err)
	}
	if !got[0].ReplaceOriginal || got[0].Text != "page 2" || got[1].ResponseType != "in_channel" || got[1].ReplaceOriginal {
		t.Errorf("response_url messages = %+v", got)
	}
}

func TestEphemeralNotUpdatable(t *testing.T) {
	s := slacktest.New(t, slacktest.Options{})
	api := slack.New(slacktest.BotToken, slack.OptionAPIURL(s.APIURL()))
	ctx := context.Background()
	ts, err := api.PostEphemeralContext(ctx, "C1", "U1", slack.MsgOptionText("psst", false))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := api.UpdateMessageContext(ctx, "C1", ts, slack.MsgOptionText("edited", false)); err == nil ||
		!strings.Contains(err.Error(), "message_not_found") {
		t.Errorf("chat.update of an ephemeral message = %v, want message_not_found", err)
	}
	if r := s.Rejected(); len(r) != 1 || r[0].Method != "chat.update" {
		t.Errorf("rejected = %+v", r)
	}
}

func TestResponseURLFiveUses(t *testing.T) {
	s := slacktest.New(t, slacktest.Options{})
	api := slack.New(slacktest.BotToken, slack.OptionAPIURL(s.APIURL()))
	url := s.ResponseURL()
	const posts = 12
	errs := make(chan error, posts)
	var wg sync.WaitGroup
	for range posts { // at once: the count must hold under concurrent posts
		wg.Go(func() {
			_, _, err := api.PostMessageContext(context.Background(), "", slack.MsgOptionText("hi", false),
				slack.MsgOptionResponseURL(url, slack.ResponseTypeEphemeral))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if err != nil {
			failed++
		}
	}
	if got := len(s.Messages()); got != 5 || failed != posts-5 || len(s.Rejected()) != posts-5 {
		t.Errorf("accepted %d, failed %d, rejected %d of %d posts; want 5 accepted", got, failed, len(s.Rejected()), posts)
	}
}

// rawBlock is a block of any type, for types slack-go does not model.
type rawBlock struct {
	Type string `json:"type"`
}

func (b rawBlock) BlockType() slack.MessageBlockType { return slack.MessageBlockType(b.Type) }
func (b rawBlock) ID() string                        { return "" }
