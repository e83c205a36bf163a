package loop

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
)

// Poster is what notify needs from Slack. cmd passes NewSlackPoster over a
// *slack.Client; tests pass a recorder.
type Poster interface {
	// PostMessage posts a message in channel, as a reply in the thread
	// threadTS when that is not empty, and returns the message's ts.
	PostMessage(ctx context.Context, channel, threadTS, text string, blocks []slack.Block) (ts string, err error)
	// UpdateMessage replaces the text and blocks of the message ts (chat.update).
	UpdateMessage(ctx context.Context, channel, ts, text string, blocks []slack.Block) error
	// PostRecorded posts a message in channel (in the thread rec.Thread
	// when that is not empty) that carries rec in its metadata: every
	// digest and alert post, so that it can be found again.
	PostRecorded(ctx context.Context, channel string, rec Record, text string, blocks []slack.Block) (ts string, err error)
	// FindRecorded looks among the messages of channel (of the thread
	// rec.Thread when that is not empty) posted since since for one that
	// carries rec, and returns its ts ("" when there is none). A
	// *HistoryError says the history cannot be read until someone changes
	// the app or the channel.
	FindRecorded(ctx context.Context, channel string, rec Record, since time.Time) (ts string, err error)
}

// Record is what a digest or alert message carries in its Slack metadata
// (event_type, and event_payload.key), so that after a crash between the
// post and the save of its outcome the post is found in the channel's
// history (conversations.history), or its thread's
// (conversations.replies), rather than made twice.
type Record struct {
	Type string // DigestRecord or AlertRecord
	// Key is what the post is: a digest window, an alert's tasks, an
	// alert's thread reply, a mute's summary.
	Key string
	// Thread is the ts of the root whose thread the post is a reply in;
	// empty for a post in the channel. It is where the post is, not what
	// its metadata carries.
	Thread string
}

// The event types of Record.
const (
	DigestRecord = "pooltasks_digest"
	AlertRecord  = "pooltasks_alert"
)

// HistoryError is a channel history that cannot be read (FindRecorded):
// the app lacks channels:history or groups:history (installed before the
// manifest asked for them), or the bot is not in the channel (it posts in
// public channels without joining them). A post that may have been made
// cannot be checked then.
type HistoryError struct {
	Channel string
	Err     string // Slack's error: missing_scope, not_in_channel, channel_not_found
	Needed  string // the missing scope, for missing_scope
}

func (e *HistoryError) Error() string {
	switch e.Err {
	case "missing_scope":
		return fmt.Sprintf("cannot read the history of %s: the app lacks the %s scope (reinstall it from manifest.yml)", e.Channel, e.Needed)
	case "not_in_channel":
		return fmt.Sprintf("cannot read the history of %s: the bot is not in it (invite it with /invite @pooltasks)", e.Channel)
	}
	return fmt.Sprintf("cannot read the history of %s: Slack answered %s", e.Channel, e.Err)
}

// historyPages bounds the pages (of 200 messages) FindRecorded reads.
const historyPages = 5

// PostInterval is the pace of chat.postMessage per channel that Slack allows
// without bursts.
const PostInterval = time.Second

// NewSlackPoster returns a Poster over api that paces posts (see
// NewPacedPoster). Build api with slack.OptionRetry: slack-go then retries
// an answer 429 itself, after Slack's Retry-After and within the call's
// ctx; notify does not retry.
func NewSlackPoster(api *slack.Client) Poster {
	return NewPacedPoster(slackPoster{api: api}, RealClock)
}

type slackPoster struct{ api *slack.Client }

func (p slackPoster) PostMessage(ctx context.Context, channel, threadTS, text string, blocks []slack.Block) (string, error) {
	opts := []slack.MsgOption{slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...)}
	if threadTS != "" {
		opts = append(opts, slack.MsgOptionTS(threadTS))
	}
	_, ts, err := p.api.PostMessageContext(ctx, channel, opts...)
	if err != nil {
		return "", fmt.Errorf("posting to %s: %w", channel, err)
	}
	return ts, nil
}

func (p slackPoster) PostRecorded(ctx context.Context, channel string, rec Record, text string, blocks []slack.Block) (string, error) {
	opts := []slack.MsgOption{slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...),
		slack.MsgOptionMetadata(slack.SlackMetadata{EventType: rec.Type, EventPayload: map[string]any{"key": rec.Key}})}
	if rec.Thread != "" {
		opts = append(opts, slack.MsgOptionTS(rec.Thread))
	}
	_, ts, err := p.api.PostMessageContext(ctx, channel, opts...)
	if err != nil {
		return "", fmt.Errorf("posting to %s: %w", channel, err)
	}
	return ts, nil
}

// FindRecorded reads the channel's history (conversations.history), or
// the thread's (conversations.replies, which holds the root and its
// replies; the channel's history holds no reply), a page of 200 at a time.
func (p slackPoster) FindRecorded(ctx context.Context, channel string, rec Record, since time.Time) (string, error) {
	oldest := fmt.Sprintf("%d.%06d", since.Unix(), since.Nanosecond()/1000)
	page := func(cursor string) ([]slack.Message, string, error) {
		if rec.Thread != "" {
			msgs, more, next, err := p.api.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{ChannelID: channel,
				Timestamp: rec.Thread, Limit: 200, IncludeAllMetadata: true, Oldest: oldest, Cursor: cursor})
			if !more {
				next = ""
			}
			return msgs, next, err
		}
		resp, err := p.api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: channel,
			Limit: 200, IncludeAllMetadata: true, Oldest: oldest, Cursor: cursor})
		if err != nil {
			return nil, "", err
		}
		if !resp.HasMore {
			return resp.Messages, "", nil
		}
		return resp.Messages, resp.ResponseMetaData.NextCursor, nil
	}
	cursor := ""
	for range historyPages {
		msgs, next, err := page(cursor)
		if se, ok := errors.AsType[slack.SlackErrorResponse](err); ok {
			switch se.Err {
			// not_allowed_token_type: Slack's page on conversations.replies
			// says a bot token may not read a channel's threads, which
			// bots with channels:history do (unverified here): if Slack
			// answers so, the reply is posted again rather than never.
			case "missing_scope", "not_in_channel", "channel_not_found", "not_allowed_token_type":
				return "", &HistoryError{Channel: channel, Err: se.Err, Needed: neededScope(channel)}
			case "thread_not_found": // the root is gone, and any reply with it
				return "", nil
			}
		}
		if err != nil {
			return "", fmt.Errorf("reading the history of %s: %w", channel, err)
		}
		for _, m := range msgs {
			if m.Metadata.EventType == rec.Type && m.Metadata.EventPayload["key"] == rec.Key {
				return m.Timestamp, nil
			}
		}
		if next == "" {
			return "", nil
		}
		cursor = next
	}
	return "", nil
}

// neededScope is the scope conversations.history needs for channel, as far
// as its id tells (G… is a private channel of the old kind).
func neededScope(channel string) string {
	if strings.HasPrefix(channel, "G") {
		return "groups:history"
	}
	return "channels:history (or groups:history for a private channel)"
}

func (p slackPoster) UpdateMessage(ctx context.Context, channel, ts, text string, blocks []slack.Block) error {
	_, _, _, err := p.api.UpdateMessageContext(ctx, channel, ts, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...))
	if err != nil {
		return fmt.Errorf("updating %s in %s: %w", ts, channel, err)
	}
	return nil
}

// PacedPoster spaces posts to one channel: a post waits for the ones to the
// same channel before it, then starts at least PostInterval after the last
// one finished (so network jitter never brings two closer together at
// Slack); thread replies count for their channel too. The channel's turn is
// held for the whole call, so while slack-go waits out a 429 (see
// NewSlackPoster) the channel's later posts wait too. Updates are not paced
// (chat.update is tier 3).
type PacedPoster struct {
	next  Poster
	clock Clock

	mu    sync.Mutex
	lanes map[string]*lane
}

// lane is the queue of one channel.
type lane struct {
	turn  chan struct{} // holding it is the channel's turn to post
	next  time.Time     // earliest start of the next post; guarded by turn
	users int           // posts queued or posting; guarded by PacedPoster.mu
}

// NewPacedPoster wraps next so that posts follow Slack's pace.
func NewPacedPoster(next Poster, clock Clock) *PacedPoster {
	return &PacedPoster{next: next, clock: clock, lanes: map[string]*lane{}}
}

func (p *PacedPoster) join(channel string) *lane {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.lanes[channel]
	if l == nil {
		l = &lane{turn: make(chan struct{}, 1)}
		p.lanes[channel] = l
	}
	l.users++
	return l
}

func (p *PacedPoster) leave(channel string, l *lane, idleAt time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	l.users--
	// Forget a quiet channel, so the map stays small; a lane whose pause
	// is still running is kept.
	if l.users == 0 && !idleAt.After(p.clock.Now()) {
		delete(p.lanes, channel)
	}
}

// PostMessage waits for the channel's turn and pace, then posts.
func (p *PacedPoster) PostMessage(ctx context.Context, channel, threadTS, text string, blocks []slack.Block) (string, error) {
	return p.paced(ctx, channel, func() (string, error) { return p.next.PostMessage(ctx, channel, threadTS, text, blocks) })
}

// paced calls post in channel's turn, at Slack's pace.
func (p *PacedPoster) paced(ctx context.Context, channel string, post func() (string, error)) (string, error) {
	l := p.join(channel)
	var idleAt time.Time
	defer func() { p.leave(channel, l, idleAt) }()
	select {
	case l.turn <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { idleAt = l.next; <-l.turn }()
	if err := p.wait(ctx, l.next.Sub(p.clock.Now())); err != nil {
		return "", err
	}
	ts, err := post()
	l.next = p.clock.Now().Add(PostInterval)
	return ts, err
}

// PostRecorded waits for the channel's turn and pace, then posts.
func (p *PacedPoster) PostRecorded(ctx context.Context, channel string, rec Record, text string, blocks []slack.Block) (string, error) {
	return p.paced(ctx, channel, func() (string, error) { return p.next.PostRecorded(ctx, channel, rec, text, blocks) })
}

// FindRecorded reads the history at once (conversations.history is tier 3).
func (p *PacedPoster) FindRecorded(ctx context.Context, channel string, rec Record, since time.Time) (string, error) {
	return p.next.FindRecorded(ctx, channel, rec, since)
}

// UpdateMessage updates at once.
func (p *PacedPoster) UpdateMessage(ctx context.Context, channel, ts, text string, blocks []slack.Block) error {
	return p.next.UpdateMessage(ctx, channel, ts, text, blocks)
}

func (p *PacedPoster) wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	select {
	case <-p.clock.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// IsInvalidBlocks reports whether Slack refused the blocks of a message,
// which some workspaces do for the newer data_visualization block.
func IsInvalidBlocks(err error) bool {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err == "invalid_blocks"
	}
	return err != nil && strings.Contains(err.Error(), "invalid_blocks")
}
