package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

func TestLogHandlerAddsRequestFields(t *testing.T) {
	var buf bytes.Buffer
	h := NewLogHandler(slog.NewJSONHandler(&buf, nil))
	if NewLogHandler(h) != h {
		t.Error("wrapping twice added a second layer")
	}
	log := slog.New(h).With("component", "test")
	req := &request{kind: kindSlash, envelopeID: "env-1", user: "U1", channel: "C1"}
	ctx := withRequest(context.Background(), req)

	log.InfoContext(ctx, "before parse")
	req.setVerb("list")
	log.InfoContext(ctx, "after parse", "channel", "C1") // a key the line has already is kept once
	log.Info("no request")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines:\n%s", len(lines), buf.String())
	}
	for i, want := range []map[string]string{
		{"envelope_id": "env-1", "user": "U1", "channel": "C1", "verb": "unknown", "component": "test"},
		{"envelope_id": "env-1", "user": "U1", "channel": "C1", "verb": "list", "component": "test"},
		{"envelope_id": "", "user": "", "channel": "", "verb": "", "component": "test"},
	} {
		var got map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &got); err != nil {
			t.Fatalf("line %d: %v: %s", i, err, lines[i])
		}
		for k, v := range want {
			if g, _ := got[k].(string); g != v {
				t.Errorf("line %d: %s = %q, want %q", i, k, g, v)
			}
		}
		if n := strings.Count(lines[i], `"channel":`); n > 1 {
			t.Errorf("line %d has channel %d times: %s", i, n, lines[i])
		}
	}
}
