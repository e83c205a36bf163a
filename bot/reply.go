package bot

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/pooltasks/pooltasks/bot/blocks"
	"github.com/pooltasks/pooltasks/commands"
	"github.com/pooltasks/pooltasks/trunc"
)

// delivery is where an answer goes.
type delivery int

const (
	toRequester delivery = iota // ephemeral: response_url, else chat.postEphemeral (in the thread for mentions: a thread post)
	toChannel                   // in the channel: response_url in_channel for slash commands and clicks outside threads, chat.postMessage otherwise
	toReplace                   // replace the clicked message through the click's response_url
	toPrivate                   // always ephemeral, never replacing: refusals, rate limits, Details and Output of a click
)

// render draws an answer; native says whether Slack's newer blocks may be
// used. Answers that never use them ignore it.
type render func(native bool) (string, []slack.Block)

func fixed(text string, bs []slack.Block) render {
	return func(bool) (string, []slack.Block) { return text, bs }
}

// replyTimeout bounds one answer to Slack; answers use a context of their
// own so that a job whose deadline passed can still say so.
const replyTimeout = 10 * time.Second

// reply sends an answer to the request, rendering it again without native
// blocks when Slack refuses them (and remembering that for the workspace).
func (b *Bot) reply(ctx context.Context, req *request, to delivery, r render) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), replyTimeout)
	defer cancel()
	native := b.cfg.NativeBlocks && !b.nativeRefused(req.team)
	text, bs := r(native)
	err := b.post(ctx, req, to, text, bs)
	if err != nil && invalidBlocks(err) && !blocks.Classic(bs) {
		b.refused.Store(req.team, true)
		b.log.InfoContext(ctx, "native blocks refused, using classic blocks from now on", "team", req.team)
		text, bs = r(false)
		err = b.post(ctx, req, to, text, bs)
	}
	if err != nil {
		b.log.WarnContext(ctx, "answering slack", "err", logSafe(err))
		if to == toChannel && req.kind == kindClick {
			// The clicker would otherwise see nothing happen.
			t, bs := blocks.Notice("I could not post this in the channel: " + slackError(err))
			_ = b.post(ctx, req, toPrivate, t, bs)
		}
	}
	return err
}

// slackError is what Slack said, for the user: its error code when it gave
// one. Any other error may quote the response_url (a *url.Error does), which
// lets whoever holds it post as the app: it is not shown.
func slackError(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) && se.Err != "" {
		return se.Err
	}
	var sc slack.StatusCodeError
	if errors.As(err, &sc) {
		return fmt.Sprintf("Slack answered HTTP %d", sc.Code)
	}
	return "Slack could not be reached"
}

// logSafe is err for a log line, without the URL a *url.Error quotes: a
// response_url lets whoever reads it post as the app.
func logSafe(err error) string {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return ue.Op + " (URL left out): " + ue.Err.Error()
	}
	return err.Error()
}

func (b *Bot) nativeRefused(team string) bool {
	_, ok := b.refused.Load(team)
	return ok
}

func invalidBlocks(err error) bool {
	return err != nil && strings.Contains(err.Error(), "invalid_blocks")
}

func (b *Bot) post(ctx context.Context, req *request, to delivery, text string, bs []slack.Block) error {
	opts := []slack.MsgOption{slack.MsgOptionText(text, false)}
	if len(bs) > 0 {
		opts = append(opts, slack.MsgOptionBlocks(bs...))
	}
	thread := func() []slack.MsgOption {
		if req.threadTS != "" {
			return append(opts, slack.MsgOptionTS(req.threadTS))
		}
		return opts
	}
	switch {
	case to == toReplace && req.responseURL != "":
		opts = append(opts, slack.MsgOptionResponseURL(req.responseURL, slack.ResponseTypeEphemeral),
			slack.MsgOptionReplaceOriginal(req.responseURL))
		_, _, err := b.api.PostMessageContext(ctx, "", opts...)
		return err
	case to == toChannel && req.responseURL != "" && (req.kind == kindSlash || req.kind == kindClick && req.threadTS == ""):
		// Through the response_url, the post needs no channel membership:
		// it works in private channels and DMs too.
		opts = append(opts, slack.MsgOptionResponseURL(req.responseURL, slack.ResponseTypeInChannel))
		_, _, err := b.api.PostMessageContext(ctx, "", opts...)
		return err
	case to == toChannel || (to == toRequester && req.kind == kindMention):
		_, _, err := b.api.PostMessageContext(ctx, req.channel, thread()...)
		return err
	case req.kind != kindMention && req.responseURL != "":
		opts = append(opts, slack.MsgOptionResponseURL(req.responseURL, slack.ResponseTypeEphemeral))
		_, _, err := b.api.PostMessageContext(ctx, "", opts...)
		return err
	default:
		_, err := b.api.PostEphemeralContext(ctx, req.channel, req.user, thread()...)
		return err
	}
}

// notice answers with a short message.
func (b *Bot) notice(ctx context.Context, req *request, to delivery, text string) {
	t, bs := blocks.Notice(text)
	_ = b.reply(ctx, req, to, fixed(t, bs))
}

// busy answers an envelope that found the queue full, and writes its audit
// line (outcome "busy") once answered, off the read loop like the answer.
// At most cap(b.busySlots) such answers are in flight; beyond that the
// envelope gets no answer, only its audit line (outcome "dropped", at warn
// level): it was acked, so Slack will not send it again.
func (b *Bot) busy(req *request) {
	ctx := withRequest(context.Background(), req)
	select {
	case b.busySlots <- struct{}{}:
		b.metrics.command(req.verbHint(), "busy")
	default:
		b.metrics.command(req.verbHint(), "dropped")
		b.audit(ctx, req, &outcome{command: busyCommand(req), result: "dropped"}, 0)
		return
	}
	b.busyDone.Go(func() {
		defer func() { <-b.busySlots }()
		b.notice(ctx, req, toPrivate, "pooltasks is busy right now; try again in a few seconds.")
		b.audit(ctx, req, &outcome{command: busyCommand(req), result: "busy"}, 0)
	})
}

// busyCommand is what the audit line of a busy answer says was asked: the
// canonical command when the text parses (as a button's value does), else
// the text as given, like a bad_input line. The verb stays the hint the
// busy metric was counted with.
func busyCommand(req *request) string {
	if cmd, err := commands.Parse(req.text, req.sentAt); err == nil {
		return cmd.Canonical()
	}
	return trunc.Cut(req.text, 200)
}

func newRef() string {
	return fmt.Sprintf("%x", time.Now().UnixNano()&0xffffffffff)
}
