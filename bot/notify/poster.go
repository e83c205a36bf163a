package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
)

// Poster is what notify needs from Slack. The bot passes NewSlackPoster over
// its *slack.Client; tests pass a recorder.
type Poster interface {
	// PostMessage posts a message in channel, as a reply in the thread
	// threadTS when that is not empty, and returns the message's ts.
	PostMessage(ctx context.Context, channel, threadTS, text string, blocks []slack.Block) (ts string, err error)
	// UpdateMessage replaces the text and blocks of the message ts (chat.update).
	UpdateMessage(ctx context.Context, channel, ts, text string, blocks []slack.Block) error
}

// PostInterval is the pace of chat.postMessage per channel that Slack allows
// without bursts.
const PostInterval = time.Second

// maxRateLimitRetries bounds how often one post is retried after Slack
// answered 429.
const maxRateLimitRetries = 3

// NewSlackPoster returns a Poster over api that paces posts (see NewPacedPoster).
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

func (p slackPoster) UpdateMessage(ctx context.Context, channel, ts, text string, blocks []slack.Block) error {
	_, _, _, err := p.api.UpdateMessageContext(ctx, channel, ts, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...))
	if err != nil {
		return fmt.Errorf("updating %s in %s: %w", ts, channel, err)
	}
	return nil
}

// PacedPoster spaces posts to one channel at least PostInterval apart: each
// post takes the next free slot of its channel, in the order the calls
// arrived, and waits for it (thread replies count for their channel too).
// A post Slack answers with *slack.RateLimitedError waits the Retry-After
// and is tried again, a few times at most, pushing back the channel's later
// slots. Updates are not paced (chat.update is tier 3) but are retried the
// same way.
type PacedPoster struct {
	next  Poster
	clock Clock

	mu    sync.Mutex
	slots map[string]time.Time // channel → earliest time of its next post
}

// NewPacedPoster wraps next so that posts follow Slack's pace.
func NewPacedPoster(next Poster, clock Clock) *PacedPoster {
	return &PacedPoster{next: next, clock: clock, slots: map[string]time.Time{}}
}

// reserve books the next slot of channel and returns how long to wait for it.
func (p *PacedPoster) reserve(channel string, notBefore time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock.Now()
	slot := now
	if s := p.slots[channel]; s.After(slot) {
		slot = s
	}
	if notBefore.After(slot) {
		slot = notBefore
	}
	p.slots[channel] = slot.Add(PostInterval)
	// Forget channels that have been quiet, so the map stays small.
	for ch, s := range p.slots {
		if s.Before(now) {
			delete(p.slots, ch)
		}
	}
	return slot.Sub(now)
}

// PostMessage waits for the channel's next slot and posts.
func (p *PacedPoster) PostMessage(ctx context.Context, channel, threadTS, text string, blocks []slack.Block) (string, error) {
	var notBefore time.Time
	for attempt := 0; ; attempt++ {
		if err := p.wait(ctx, p.reserve(channel, notBefore)); err != nil {
			return "", err
		}
		ts, err := p.next.PostMessage(ctx, channel, threadTS, text, blocks)
		var rl *slack.RateLimitedError
		if err == nil || !errors.As(err, &rl) || attempt >= maxRateLimitRetries {
			return ts, err
		}
		notBefore = p.clock.Now().Add(retryAfter(rl))
	}
}

// UpdateMessage updates at once, waiting and retrying when Slack says 429.
func (p *PacedPoster) UpdateMessage(ctx context.Context, channel, ts, text string, blocks []slack.Block) error {
	for attempt := 0; ; attempt++ {
		err := p.next.UpdateMessage(ctx, channel, ts, text, blocks)
		var rl *slack.RateLimitedError
		if err == nil || !errors.As(err, &rl) || attempt >= maxRateLimitRetries {
			return err
		}
		if err := p.wait(ctx, retryAfter(rl)); err != nil {
			return err
		}
	}
}

func retryAfter(rl *slack.RateLimitedError) time.Duration {
	if rl.RetryAfter <= 0 {
		return PostInterval
	}
	return rl.RetryAfter
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

// isInvalidBlocks reports whether Slack refused the blocks of a message,
// which some workspaces do for the newer data_visualization block.
func isInvalidBlocks(err error) bool {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err == "invalid_blocks"
	}
	return err != nil && strings.Contains(err.Error(), "invalid_blocks")
}
