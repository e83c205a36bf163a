// Package redact keeps configured secret values out of what pooltasks
// writes: a Redactor replaces each secret wherever it appears in a string,
// and its Handler does so in every log record (the message, every
// attribute, errors, groups, and what a LogValuer resolves to), so that no
// code path can log a token, say through an error text that quotes an
// HTTP answer.
package redact

import (
	"context"
	"encoding"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
)

// Secret is one secret value and the name it is shown by once redacted
// (its environment variable).
type Secret struct {
	Name  string
	Value string
}

// MinLen is the shortest secret replaced wherever it appears in a text.
// A shorter one (no real token, SK or password is that short) would turn
// ordinary words into "[redacted …]" and make every log line unreadable:
// it is replaced only where a value is the secret alone, and config's
// validation warns about it.
const MinLen = 8

// Redactor replaces secret values. The zero value and nil replace nothing.
type Redactor struct {
	secrets []Secret // longest first, so that a secret holding another goes whole
}

// New returns a Redactor of the secrets with a value.
func New(secrets ...Secret) *Redactor {
	r := &Redactor{}
	for _, s := range secrets {
		if s.Value != "" {
			r.secrets = append(r.secrets, s)
		}
	}
	slices.SortStableFunc(r.secrets, func(a, b Secret) int { return len(b.Value) - len(a.Value) })
	return r
}

// String returns s with every secret replaced by "[redacted NAME]" (one
// shorter than MinLen only when it is the whole of s).
func (r *Redactor) String(s string) string {
	if r == nil {
		return s
	}
	for _, sec := range r.secrets {
		switch {
		case s == sec.Value:
			return "[redacted " + sec.Name + "]"
		case len(sec.Value) >= MinLen && strings.Contains(s, sec.Value):
			s = strings.ReplaceAll(s, sec.Value, "[redacted "+sec.Name+"]")
		}
	}
	return s
}

// holds reports whether String would change s.
func (r *Redactor) holds(s string) bool {
	if r == nil {
		return false
	}
	for _, sec := range r.secrets {
		if s == sec.Value || len(sec.Value) >= MinLen && strings.Contains(s, sec.Value) {
			return true
		}
	}
	return false
}

// Handler returns a handler that passes every record to next with the
// secrets replaced. A record without a secret passes as it is.
func (r *Redactor) Handler(next slog.Handler) slog.Handler {
	return handler{r: r, next: next}
}

type handler struct {
	r    *Redactor
	next slog.Handler
}

func (h handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h handler) Handle(ctx context.Context, rec slog.Record) error {
	msg := h.r.String(rec.Message)
	changed := msg != rec.Message
	attrs := make([]slog.Attr, 0, rec.NumAttrs())
	rec.Attrs(func(a slog.Attr) bool {
		a, ch := h.r.attr(a)
		changed = changed || ch
		attrs = append(attrs, a)
		return true
	})
	if !changed {
		return h.next.Handle(ctx, rec)
	}
	out := slog.NewRecord(rec.Time, rec.Level, msg, rec.PC)
	out.AddAttrs(attrs...)
	return h.next.Handle(ctx, out)
}

func (h handler) WithAttrs(as []slog.Attr) slog.Handler {
	out := make([]slog.Attr, len(as))
	for i, a := range as {
		out[i], _ = h.r.attr(a)
	}
	return handler{r: h.r, next: h.next.WithAttrs(out)}
}

func (h handler) WithGroup(name string) slog.Handler {
	return handler{r: h.r, next: h.next.WithGroup(name)}
}

// attr returns a with the secrets in its value replaced, and whether there
// were any. Keys are the code's own words, never a secret.
func (r *Redactor) attr(a slog.Attr) (slog.Attr, bool) {
	v, changed := r.value(a.Value.Resolve())
	return slog.Attr{Key: a.Key, Value: v}, changed
}

func (r *Redactor) value(v slog.Value) (slog.Value, bool) {
	switch v.Kind() {
	case slog.KindString:
		if s := v.String(); r.holds(s) {
			return slog.StringValue(r.String(s)), true
		}
	case slog.KindGroup:
		as := v.Group()
		out := make([]slog.Attr, len(as))
		changed := false
		for i, a := range as {
			var ch bool
			out[i], ch = r.attr(a)
			changed = changed || ch
		}
		if changed {
			return slog.GroupValue(out...), true
		}
	case slog.KindAny:
		// The forms the handlers write: an error's text, a value's text
		// (TextHandler) or JSON (JSONHandler).
		switch x := v.Any().(type) {
		case error:
			if s := x.Error(); r.holds(s) {
				return slog.StringValue(r.String(s)), true
			}
			return v, false
		case []byte: // TextHandler writes it as text, JSONHandler in base64
			if r.holds(string(x)) {
				return slog.StringValue(r.String(string(x))), true
			}
			return v, false
		case encoding.TextMarshaler:
			if b, err := x.MarshalText(); err == nil && r.holds(string(b)) {
				return slog.StringValue(r.String(string(b))), true
			}
		}
		if s := fmt.Sprintf("%+v", v.Any()); r.holds(s) {
			return slog.StringValue(r.String(s)), true
		}
		if b, err := json.Marshal(v.Any()); err == nil && r.holds(string(b)) {
			return slog.StringValue(r.String(string(b))), true
		}
	}
	return v, false
}
