package bot_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// BenchmarkEnvelopeJSON is the JSON work slack-go's socket-mode client does
// for every slash command before the bot sees it, the same calls in the same
// order: the frame read as a json.RawMessage, the envelope decoded, its
// payload decoded, the ack encoded. It bounds how fast one connection can
// ack a burst (see the README's Performance section).
func BenchmarkEnvelopeJSON(b *testing.B) {
	frame := []byte(`{"envelope_id":"env-000123","type":"slash_commands","accepts_response_payload":true,"retry_attempt":0,"retry_reason":"","payload":{"api_app_id":"A0TEST","channel_id":"C1","channel_name":"general","command":"/pooltasks","is_enterprise_install":"false","response_url":"http://127.0.0.1:41234/response/R0123","team_domain":"fake","team_id":"T0TEST","text":"list since=7d limit=10 page=3","token":"verification-token","trigger_id":"trig-000123","user_id":"U12","user_name":""}}`)
	b.ReportAllocs()
	for b.Loop() {
		var raw json.RawMessage
		if err := json.NewDecoder(bytes.NewReader(frame)).Decode(&raw); err != nil {
			b.Fatal(err)
		}
		var req socketmode.Request
		if err := json.Unmarshal(raw, &req); err != nil {
			b.Fatal(err)
		}
		var cmd slack.SlashCommand
		if err := json.Unmarshal(req.Payload, &cmd); err != nil {
			b.Fatal(err)
		}
		if cmd.Text == "" {
			b.Fatal("no text decoded")
		}
		if _, err := json.Marshal(socketmode.Response{EnvelopeID: req.EnvelopeID}); err != nil {
			b.Fatal(err)
		}
	}
}
