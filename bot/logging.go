package bot

import (
	"context"
	"log/slog"
)

// Request-scoped log fields. The bot handles an envelope with a context that
// carries its request (withRequest); a handler made by NewLogHandler adds
// the request's fields to every record logged with that context, in bot and
// in what it calls (bot/notify logs with the ctx it is given). The verb is
// read when the line is written, so lines logged before the command was
// parsed carry the verb as known then.

// Keys of the request-scoped fields.
const (
	logKeyEnvelopeID = "envelope_id"
	logKeyUser       = "user"
	logKeyChannel    = "channel"
	logKeyVerb       = "verb"
)

type requestKey struct{}

// withRequest returns ctx carrying req for NewLogHandler's handlers.
func withRequest(ctx context.Context, req *request) context.Context {
	return context.WithValue(ctx, requestKey{}, req)
}

// NewLogHandler returns a handler that passes records to h, adding to those
// logged with the context of a request the bot is handling (InfoContext and
// friends) its envelope_id, user, channel and verb. A key the record already
// has is not added again. Wrapping a handler it returned returns it as is.
func NewLogHandler(h slog.Handler) slog.Handler {
	if rh, ok := h.(requestHandler); ok {
		return rh
	}
	return requestHandler{h}
}

type requestHandler struct{ next slog.Handler }

func (h requestHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h requestHandler) Handle(ctx context.Context, r slog.Record) error {
	req, _ := ctx.Value(requestKey{}).(*request)
	if req == nil {
		return h.next.Handle(ctx, r)
	}
	fields := [...]slog.Attr{
		slog.String(logKeyEnvelopeID, req.envelopeID),
		slog.String(logKeyUser, req.user),
		slog.String(logKeyChannel, req.channel),
		slog.String(logKeyVerb, req.verb()),
	}
	var has [len(fields)]bool
	r.Attrs(func(a slog.Attr) bool {
		for i, f := range fields {
			if a.Key == f.Key {
				has[i] = true
			}
		}
		return true
	})
	r = r.Clone()
	for i, f := range fields {
		if !has[i] {
			r.AddAttrs(f)
		}
	}
	return h.next.Handle(ctx, r)
}

func (h requestHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return requestHandler{h.next.WithAttrs(as)}
}

func (h requestHandler) WithGroup(name string) slog.Handler {
	return requestHandler{h.next.WithGroup(name)}
}
