package redact

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

const (
	appToken = "xapp-1-A0123456789-1234567890123-0123456789abcdefAPPT"
	sk       = "sk-0123456789abcdef0123456789"
)

// tokenValue is a LogValuer that resolves to a secret.
type tokenValue struct{}

func (tokenValue) LogValue() slog.Value { return slog.StringValue("Bearer " + appToken) }

// header is a struct that holds a secret in a field.
type header struct{ Authorization string }

func TestHandlerRedactsEverywhere(t *testing.T) {
	r := New(Secret{Name: "SLACK_APP_TOKEN", Value: appToken}, Secret{Name: "HUAWEICLOUD_SDK_SK", Value: sk}, Secret{Name: "UNSET"})
	for _, format := range []string{"json", "text"} {
		var buf bytes.Buffer
		var h slog.Handler = slog.NewJSONHandler(&buf, nil)
		if format == "text" {
			h = slog.NewTextHandler(&buf, nil)
		}
		log := slog.New(r.Handler(h)).With("conn", "token="+appToken).WithGroup("g")
		log.Error("socket mode: answer echoed Authorization: Bearer "+appToken,
			"err", fmt.Errorf("apps.connections.open: %w", errors.New(`unknown error structure: {"authorization":"Bearer `+appToken+`"}`)),
			"sk", sk,
			slog.Group("nested", "deep", "sk="+sk, "n", 3),
			"valuer", tokenValue{},
			"struct", header{Authorization: "Bearer " + appToken},
			"bytes", []byte(appToken),
			"ok", "nothing secret here",
		)
		out := buf.String()
		for _, s := range []string{appToken, sk} {
			if strings.Contains(out, s) {
				t.Errorf("%s: a secret reached the log:\n%s", format, out)
			}
		}
		for _, want := range []string{"[redacted SLACK_APP_TOKEN]", "[redacted HUAWEICLOUD_SDK_SK]", "nothing secret here", "apps.connections.open"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: log lacks %q:\n%s", format, want, out)
			}
		}
	}
}

// TestHandlerPassesCleanRecords: a record without a secret reaches the next
// handler as it was (an error stays an error).
// TestHandlerKeepsKeys: keys are the code's words; a secret that happens
// to spell part of one leaves it alone.
func TestHandlerKeepsKeys(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(New(Secret{Name: "SK", Value: "backoff-"}).Handler(slog.NewJSONHandler(&buf, nil)))
	log.WithGroup("backoff-group").Info("retry", "backoff-ms", 800, "err", errors.New("backoff-xyz failed"))
	if got := buf.String(); !strings.Contains(got, `"backoff-group":{"backoff-ms":800,"err":"[redacted SK]xyz failed"}`) {
		t.Errorf("got %s", got)
	}
}

func TestHandlerPassesCleanRecords(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(New(Secret{Name: "X", Value: "secret-value"}).Handler(slog.NewJSONHandler(&buf, nil)))
	log.Info("hello", "err", errors.New("boom"), "n", 1)
	if got := buf.String(); !strings.Contains(got, `"msg":"hello","err":"boom","n":1`) {
		t.Errorf("got %s", got)
	}
}

func TestString(t *testing.T) {
	r := New(Secret{Name: "A", Value: "abcdefgh"}, Secret{Name: "LONG", Value: "abcdefghijkl"})
	if got, want := r.String("x abcdefghijkl y abcdefgh"), "x [redacted LONG] y [redacted A]"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	// A secret shorter than MinLen goes only where it stands alone: "b"
	// must not turn "backoff" into "[redacted SK]ackoff".
	short := New(Secret{Name: "SK", Value: "b"})
	if got := short.String("backoff"); got != "backoff" {
		t.Errorf("a one-letter secret changed %q", got)
	}
	if got := short.String("b"); got != "[redacted SK]" {
		t.Errorf("a short secret alone = %q, want it redacted", got)
	}
	var none *Redactor
	if got := none.String("abc"); got != "abc" {
		t.Errorf("nil Redactor changed %q", got)
	}
}
