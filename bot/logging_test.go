package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/targets"
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

// TestDroppedEnvelopeAudited: an envelope that finds the queue and every
// "busy" slot full gets no answer, but still its one audit line.
func TestDroppedEnvelopeAudited(t *testing.T) {
	var buf lockedBuf
	b, err := New(Config{AppToken: "xapp-1", BotToken: "xoxb-1", APIURL: "http://127.0.0.1:1/api/",
		Logger: slog.New(slog.NewJSONHandler(&buf, nil))}, targets.One(nopWorkspace{}))
	if err != nil {
		t.Fatal(err)
	}
	for range cap(b.busySlots) {
		b.busySlots <- struct{}{}
	}
	b.busy(&request{kind: kindSlash, envelopeID: "env-9", user: "U1", channel: "C1", text: "failed since=2026-11-01",
		received: time.Now(), sentAt: time.Now()})
	b.busyDone.Wait()

	var line map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(buf.Bytes()), &line); err != nil {
		t.Fatalf("%v: %s", err, buf.String())
	}
	want := map[string]any{"level": "WARN", "msg": "command", "outcome": "dropped", "command": "failed since=2026-11-01T00:00:00Z",
		"envelope_id": "env-9", "user": "U1", "channel": "C1", "api_calls": float64(0)}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("%s = %v, want %v (line %s)", k, line[k], v, buf.String())
		}
	}
}

type lockedBuf struct {
	mu sync.Mutex
	bytes.Buffer
}

func (b *lockedBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.Buffer.Write(p)
}

// nopWorkspace answers nothing; the test above makes no API call.
type nopWorkspace struct{ Workspace }
