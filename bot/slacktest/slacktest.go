// Package slacktest is a fake Slack at the wire for tests of socket-mode
// apps: apps.connections.open, a websocket that speaks Slack's envelope JSON
// (hello, envelopes, disconnect, pings), the chat.* Web API methods (with
// message metadata), conversations.history and .replies and response_url endpoints, all
// recording what they receive.
//
// It runs on 127.0.0.1 through httptest and is meant for the real slack-go
// clients: point slack.OptionAPIURL at APIURL().
package slacktest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Default tokens and ids of the fake workspace.
const (
	AppToken  = "xapp-test"
	BotToken  = "xoxb-test"
	TeamID    = "T0TEST"
	BotUserID = "U0BOT"
	BotID     = "B0BOT"
	AppID     = "A0TEST"
)

// Options configure a Server. The zero value is usable.
type Options struct {
	AppToken string // the xapp- token apps.connections.open accepts; AppToken by default
	BotToken string // the xoxb- token the Web API accepts; BotToken by default

	// PostRateLimit makes chat.postMessage answer 429 with Retry-After when
	// a channel gets more than one message per second, as Slack does.
	PostRateLimit bool

	// RefuseBlockTypes makes every message method answer invalid_blocks
	// when the message holds a top-level block of one of these types
	// (for example "data_table").
	RefuseBlockTypes []string

	// PrivateChannels are private channels the bot is not a member of:
	// chat.postMessage and chat.postEphemeral there answer not_in_channel,
	// as chat:write.public reaches public channels only.
	PrivateChannels []string

	// UserGroups are the workspace's user groups (S… id → member user
	// ids), which usergroups.users.list answers; another id answers
	// no_such_subteam, as Slack does.
	UserGroups map[string][]string

	// Outsider lists public channels the bot has not joined: it posts there
	// through chat:write.public, but conversations.history answers
	// not_in_channel, as channels:history reads channels the bot is in.
	Outsider []string

	// MissingScopes are bot scopes the app lacks (channels:history or
	// groups:history): conversations.history then answers missing_scope,
	// as Slack does for an install made before the manifest asked for it.
	MissingScopes []string

	// Accepted, when set, is called with each message chat.postMessage
	// accepts, before the answer is written: a test can stop the app there,
	// when Slack has the message and the app does not know it yet.
	Accepted func(Message)

	// PingInterval is how often the websocket pings the client; slack-go
	// reconnects when it sees no ping for 30 s. 5 s by default.
	PingInterval time.Duration
}

// Server is a running fake Slack.
type Server struct {
	opts Options
	srv  *httptest.Server
	up   websocket.Upgrader

	mu        sync.Mutex
	cond      *sync.Cond // broadcast on every recorded change
	conns     []*wsConn  // connections that get new envelopes
	allConns  map[*wsConn]bool
	connected int // hellos sent, ever
	pending   []envelope
	sent      map[string]time.Time // envelope id → when its frame was last written
	acks      []Ack
	messages  []Message
	rejected  []Message
	calls     []Call
	lastPost  map[string]time.Time
	urlUses   map[string]int       // response_url → messages accepted on it
	ephemeral map[string]bool      // ts of chat.postEphemeral messages, which chat.update cannot address
	triggers  map[string]time.Time // trigger ids issued and not used, with when
	viewLog   []View
	nextID    int
	closed    bool
	wg        sync.WaitGroup
}

// New starts a fake Slack on 127.0.0.1; it is closed when the test ends.
func New(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s := Start(opts)
	tb.Cleanup(s.Close)
	return s
}

// Start starts a fake Slack on 127.0.0.1. The caller closes it.
func Start(opts Options) *Server {
	if opts.AppToken == "" {
		opts.AppToken = AppToken
	}
	if opts.BotToken == "" {
		opts.BotToken = BotToken
	}
	if opts.PingInterval <= 0 {
		opts.PingInterval = 5 * time.Second
	}
	s := &Server{
		opts:      opts,
		allConns:  map[*wsConn]bool{},
		sent:      map[string]time.Time{},
		lastPost:  map[string]time.Time{},
		urlUses:   map[string]int{},
		ephemeral: map[string]bool{},
		triggers:  map[string]time.Time{},
	}
	s.cond = sync.NewCond(&s.mu)
	// slack-go dials with Origin https://api.slack.com, as Slack expects.
	s.up.CheckOrigin = func(*http.Request) bool { return true }
	mux := http.NewServeMux()
	mux.HandleFunc("/api/apps.connections.open", s.connectionsOpen)
	mux.HandleFunc("/api/auth.test", s.authTest)
	mux.HandleFunc("/api/chat.postMessage", s.chat("chat.postMessage"))
	mux.HandleFunc("/api/chat.postEphemeral", s.chat("chat.postEphemeral"))
	mux.HandleFunc("/api/chat.update", s.chat("chat.update"))
	mux.HandleFunc("/api/chat.delete", s.chat("chat.delete"))
	mux.HandleFunc("/api/usergroups.users.list", s.userGroupMembers)
	mux.HandleFunc("/api/views.open", s.views("views.open"))
	mux.HandleFunc("/api/views.update", s.views("views.update"))
	mux.HandleFunc("/api/conversations.history", s.history)
	mux.HandleFunc("/api/conversations.replies", s.replies)
	mux.HandleFunc("/api/", s.unknownMethod)
	mux.HandleFunc("/link", s.link)
	mux.HandleFunc("/response/", s.response)
	s.srv = httptest.NewUnstartedServer(mux)
	s.srv.Listener = stampListener{s.srv.Listener}
	s.srv.Start()
	return s
}

// Close drops every websocket connection and stops the server.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	conns := make([]*wsConn, 0, len(s.allConns))
	for c := range s.allConns {
		conns = append(conns, c)
	}
	s.cond.Broadcast()
	s.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
	s.wg.Wait()
	s.srv.Close()
}

// URL is the server's base URL, http://127.0.0.1:port.
func (s *Server) URL() string { return s.srv.URL }

// APIURL is the Web API base for slack.OptionAPIURL, with its trailing slash.
func (s *Server) APIURL() string { return s.srv.URL + "/api/" }

// ResponseURL returns a fresh response_url whose posts are recorded.
func (s *Server) ResponseURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	return fmt.Sprintf("%s/response/R%04d", s.srv.URL, s.nextID)
}

func (s *Server) newID(prefix string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	return fmt.Sprintf("%s%06d", prefix, s.nextID)
}

// wait blocks until cond holds (called with s.mu held) or the timeout
// passes; it reports whether cond held.
func (s *Server) wait(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	t := time.AfterFunc(timeout, func() {
		s.mu.Lock()
		s.cond.Broadcast()
		s.mu.Unlock()
	})
	defer t.Stop()
	for !cond() {
		if s.closed || !time.Now().Before(deadline) {
			return cond()
		}
		s.cond.Wait()
	}
	return true
}

// ---- socket mode ----

type wsConn struct {
	c    *websocket.Conn
	n    int // 1 for the first connection that got its hello, and so on
	wmu  sync.Mutex
	done chan struct{}
	once sync.Once
}

func (c *wsConn) write(msg []byte) error {
	return c.writeStamped(msg, nil)
}

// writeStamped writes one frame, first calling stamp (when not nil) with the
// time the write starts, after any wait for the connection: the moment an
// ack's latency is measured from. It is recorded before the frame leaves so
// that no ack can be read before its envelope's send time is known.
func (c *wsConn) writeStamped(msg []byte, stamp func(time.Time)) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	now := time.Now()
	if stamp != nil {
		stamp(now)
	}
	_ = c.c.SetWriteDeadline(now.Add(5 * time.Second))
	return c.c.WriteMessage(websocket.TextMessage, msg)
}

func (c *wsConn) close() {
	c.once.Do(func() {
		close(c.done)
		_ = c.c.Close()
	})
}

func (s *Server) connectionsOpen(w http.ResponseWriter, r *http.Request) {
	s.record(r, "apps.connections.open", nil)
	if r.Header.Get("Authorization") != "Bearer "+s.opts.AppToken {
		writeJSON(w, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	url := "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/link?ticket=" + s.newID("t")
	writeJSON(w, map[string]any{"ok": true, "url": url})
}

func (s *Server) link(w http.ResponseWriter, r *http.Request) {
	c, err := s.up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	conn := &wsConn{c: c, done: make(chan struct{})}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = c.Close()
		return
	}
	s.allConns[conn] = true
	s.wg.Add(2)
	s.mu.Unlock()

	hello, _ := json.Marshal(map[string]any{
		"type":            "hello",
		"num_connections": 1,
		"debug_info":      map[string]any{"host": "applink-fake", "build_number": 1, "approximate_connection_time": 18060},
		"connection_info": map[string]any{"app_id": AppID},
	})
	if err := conn.write(hello); err != nil {
		conn.close()
	}

	s.mu.Lock()
	s.connected++
	conn.n = s.connected
	s.conns = append(s.conns, conn)
	pending := s.pending
	s.pending = nil
	s.cond.Broadcast()
	s.mu.Unlock()
	for _, env := range pending {
		s.deliver(env)
	}

	go func() { // pings, as Slack sends them
		defer s.wg.Done()
		t := time.NewTicker(s.opts.PingInterval)
		defer t.Stop()
		for {
			select {
			case <-conn.done:
				return
			case <-t.C:
				_ = conn.c.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(time.Second))
			}
		}
	}()
	go func() { // reads acks until the connection ends
		defer s.wg.Done()
		defer s.forget(conn)
		for {
			_, data, err := c.ReadMessage()
			if err != nil {
				return
			}
			s.recordAck(data, receivedAt(c))
		}
	}()
}

func (s *Server) forget(conn *wsConn) {
	conn.close()
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.allConns, conn)
	s.unroute(conn)
	s.cond.Broadcast()
}

// unroute stops sending new envelopes to conn; s.mu is held.
func (s *Server) unroute(conn *wsConn) {
	for i, c := range s.conns {
		if c == conn {
			s.conns = append(s.conns[:i], s.conns[i+1:]...)
			return
		}
	}
}

// receivedAt is when the frame just read from c reached this machine's
// socket: the kernel's receive time where it is known, else now.
func receivedAt(c *websocket.Conn) time.Time {
	if sc, ok := c.NetConn().(*stampConn); ok {
		return sc.receivedAt()
	}
	return time.Now()
}

// recordAck records an ack frame that arrived at now.
func (s *Server) recordAck(data []byte, now time.Time) {
	var a struct {
		EnvelopeID string          `json:"envelope_id"`
		Payload    json.RawMessage `json:"payload"`
	}
	if json.Unmarshal(data, &a) != nil || a.EnvelopeID == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ack := Ack{EnvelopeID: a.EnvelopeID, Payload: a.Payload, At: now}
	if t, ok := s.sent[a.EnvelopeID]; ok {
		ack.Latency = now.Sub(t)
	}
	s.acks = append(s.acks, ack)
	s.cond.Broadcast()
}

// envelope is a marshalled envelope and its id.
type envelope struct {
	id   string
	msg  []byte
	conn int // Envelope.Connection
}

// deliver sends one envelope to a connection (round robin, as Slack spreads
// envelopes over an app's connections) or keeps it until one connects. The
// envelope's send time is when its frame is written. An envelope for one
// connection goes to it alone, and is dropped when it is not live.
func (s *Server) deliver(env envelope) {
	if env.conn != 0 {
		s.mu.Lock()
		i := slices.IndexFunc(s.conns, func(c *wsConn) bool { return c.n == env.conn })
		if i < 0 {
			s.mu.Unlock()
			return
		}
		conn := s.conns[i]
		s.mu.Unlock()
		if err := conn.writeStamped(env.msg, func(at time.Time) {
			s.mu.Lock()
			s.sent[env.id] = at
			s.mu.Unlock()
		}); err != nil {
			s.forget(conn)
		}
		return
	}
	for {
		s.mu.Lock()
		if len(s.conns) == 0 {
			s.pending = append(s.pending, env)
			s.mu.Unlock()
			return
		}
		conn := s.conns[0]
		s.conns = append(s.conns[1:], conn)
		s.mu.Unlock()
		err := conn.writeStamped(env.msg, func(at time.Time) {
			s.mu.Lock()
			s.sent[env.id] = at
			s.mu.Unlock()
		})
		if err == nil {
			return
		}
		s.forget(conn)
	}
}

// Envelope is one socket-mode envelope to send.
type Envelope struct {
	EnvelopeID             string // generated when empty; reuse one to redeliver
	Type                   string // slash_commands, interactive, events_api or anything else
	Payload                any    // marshalled to JSON
	AcceptsResponsePayload bool
	RetryAttempt           int
	RetryReason            string
	// Connection, when not 0, sends the envelope on the n-th connection
	// to get its hello (1 for the first) instead of round robin, so that a
	// test with several apps' processes chooses which one handles it.
	Connection int
}

// Send sends an envelope to the app and returns its envelope id. Without a
// connection it is kept and sent when the app connects.
func (s *Server) Send(e Envelope) string {
	if e.EnvelopeID == "" {
		e.EnvelopeID = s.newID("env-")
	}
	// A struct rather than a map: the same JSON for less of the CPU the
	// fake shares with the app it measures.
	msg, err := json.Marshal(struct {
		AcceptsResponsePayload bool   `json:"accepts_response_payload"`
		EnvelopeID             string `json:"envelope_id"`
		Payload                any    `json:"payload"`
		RetryAttempt           int    `json:"retry_attempt"`
		RetryReason            string `json:"retry_reason"`
		Type                   string `json:"type"`
	}{e.AcceptsResponsePayload, e.EnvelopeID, e.Payload, e.RetryAttempt, e.RetryReason, e.Type})
	if err != nil {
		panic(fmt.Sprintf("slacktest: marshalling envelope: %v", err))
	}
	s.deliver(envelope{id: e.EnvelopeID, msg: msg, conn: e.Connection})
	return e.EnvelopeID
}

// SlashCommand is what Slack sends for /command text.
type SlashCommand struct {
	Command     string // "/pooltasks" by default
	Text        string // as Slack sends it: & < > already entity-encoded
	UserID      string
	UserName    string
	ChannelID   string
	TeamID      string // TeamID by default
	ResponseURL string // a fresh ResponseURL() by default
	TriggerID   string

	EnvelopeID   string // generated when empty
	RetryAttempt int
	Connection   int // see Envelope.Connection
}

// SlashCommand sends a slash_commands envelope and returns its envelope id.
// Its response_url is filled in when empty and reported in the second result.
func (s *Server) SlashCommand(c SlashCommand) (envelopeID, responseURL string) {
	if c.Command == "" {
		c.Command = "/pooltasks"
	}
	if c.TeamID == "" {
		c.TeamID = TeamID
	}
	if c.ResponseURL == "" {
		c.ResponseURL = s.ResponseURL()
	}
	if c.TriggerID == "" {
		c.TriggerID = s.trigger()
	}
	// Socket mode sends the form fields as strings, booleans included.
	payload := slashPayload{
		APIAppID:            AppID,
		ChannelID:           c.ChannelID,
		ChannelName:         "general",
		Command:             c.Command,
		IsEnterpriseInstall: "false",
		ResponseURL:         c.ResponseURL,
		TeamDomain:          "fake",
		TeamID:              c.TeamID,
		Text:                c.Text,
		Token:               "verification-token",
		TriggerID:           c.TriggerID,
		UserID:              c.UserID,
		UserName:            c.UserName,
	}
	id := s.Send(Envelope{EnvelopeID: c.EnvelopeID, Type: "slash_commands", Payload: payload,
		AcceptsResponsePayload: true, RetryAttempt: c.RetryAttempt, Connection: c.Connection})
	return id, c.ResponseURL
}

// slashPayload is a slash command's payload (fields in JSON key order).
type slashPayload struct {
	APIAppID            string `json:"api_app_id"`
	ChannelID           string `json:"channel_id"`
	ChannelName         string `json:"channel_name"`
	Command             string `json:"command"`
	IsEnterpriseInstall string `json:"is_enterprise_install"`
	ResponseURL         string `json:"response_url"`
	TeamDomain          string `json:"team_domain"`
	TeamID              string `json:"team_id"`
	Text                string `json:"text"`
	Token               string `json:"token"`
	TriggerID           string `json:"trigger_id"`
	UserID              string `json:"user_id"`
	UserName            string `json:"user_name"`
}

// BlockAction is a click on a button of a message.
type BlockAction struct {
	UserID      string
	ChannelID   string
	TeamID      string // TeamID by default
	ResponseURL string // a fresh ResponseURL() by default
	ActionID    string
	BlockID     string
	Value       string
	// Selected is the value of the option picked in a static_select menu;
	// the action is then the menu's, not a button's.
	Selected    string
	MessageTS   string
	ThreadTS    string
	IsEphemeral bool
	// MessageBlocks are the clicked message's blocks, which Slack sends
	// with a click on a message that is not ephemeral.
	MessageBlocks json.RawMessage

	EnvelopeID   string
	RetryAttempt int
	Connection   int // see Envelope.Connection
}

// BlockAction sends an interactive block_actions envelope and returns its
// envelope id and response_url.
func (s *Server) BlockAction(a BlockAction) (envelopeID, responseURL string) {
	if a.TeamID == "" {
		a.TeamID = TeamID
	}
	if a.ResponseURL == "" {
		a.ResponseURL = s.ResponseURL()
	}
	if a.MessageTS == "" {
		a.MessageTS = "1700000000.000100"
	}
	if a.BlockID == "" {
		a.BlockID = "b1"
	}
	container := map[string]any{
		"type":         "message",
		"message_ts":   a.MessageTS,
		"channel_id":   a.ChannelID,
		"is_ephemeral": a.IsEphemeral,
	}
	if a.ThreadTS != "" {
		container["thread_ts"] = a.ThreadTS
	}
	payload := map[string]any{
		"type":         "block_actions",
		"user":         map[string]any{"id": a.UserID, "username": a.UserID, "team_id": a.TeamID},
		"api_app_id":   AppID,
		"token":        "verification-token",
		"container":    container,
		"trigger_id":   s.trigger(),
		"team":         map[string]any{"id": a.TeamID, "domain": "fake"},
		"channel":      map[string]any{"id": a.ChannelID, "name": "general"},
		"response_url": a.ResponseURL,
		"actions": []map[string]any{{
			"type":      "button",
			"action_id": a.ActionID,
			"block_id":  a.BlockID,
			"value":     a.Value,
			"text":      map[string]any{"type": "plain_text", "text": a.ActionID},
			"action_ts": "1700000001.000200",
		}},
	}
	if a.Selected != "" {
		payload["actions"] = []map[string]any{{
			"type":            "static_select",
			"action_id":       a.ActionID,
			"block_id":        a.BlockID,
			"selected_option": map[string]any{"value": a.Selected, "text": map[string]any{"type": "plain_text", "text": a.Selected}},
			"action_ts":       "1700000001.000200",
		}}
	}
	if !a.IsEphemeral {
		msg := map[string]any{"type": "message", "ts": a.MessageTS, "text": "", "user": BotUserID}
		if len(a.MessageBlocks) > 0 {
			msg["blocks"] = a.MessageBlocks
		}
		payload["message"] = msg
	}
	id := s.Send(Envelope{EnvelopeID: a.EnvelopeID, Type: "interactive", Payload: payload, RetryAttempt: a.RetryAttempt,
		Connection: a.Connection})
	return id, a.ResponseURL
}

// AppMention is an app_mention event.
type AppMention struct {
	Text      string // as Slack sends it, e.g. "<@U0BOT> failed pool=a &lt;b&gt;"
	UserID    string
	ChannelID string
	TeamID    string // TeamID by default
	TS        string // generated when empty
	ThreadTS  string // set for a mention inside a thread
	EventID   string // generated when empty; reuse one to redeliver

	EnvelopeID   string
	RetryAttempt int
	RetryReason  string
}

// AppMention sends an events_api envelope holding an app_mention event and
// returns its envelope id and event id.
func (s *Server) AppMention(m AppMention) (envelopeID, eventID string) {
	if m.TeamID == "" {
		m.TeamID = TeamID
	}
	if m.TS == "" {
		s.mu.Lock()
		s.nextID++
		m.TS = fmt.Sprintf("1700000000.%06d", s.nextID)
		s.mu.Unlock()
	}
	if m.EventID == "" {
		m.EventID = s.newID("Ev")
	}
	ev := map[string]any{
		"type":     "app_mention",
		"user":     m.UserID,
		"text":     m.Text,
		"ts":       m.TS,
		"channel":  m.ChannelID,
		"event_ts": m.TS,
	}
	if m.ThreadTS != "" {
		ev["thread_ts"] = m.ThreadTS
	}
	payload := map[string]any{
		"token":      "verification-token",
		"team_id":    m.TeamID,
		"api_app_id": AppID,
		"event":      ev,
		"type":       "event_callback",
		"event_id":   m.EventID,
		"event_time": 1700000000,
		"authorizations": []map[string]any{{
			"team_id": m.TeamID, "user_id": BotUserID, "is_bot": true,
		}},
	}
	id := s.Send(Envelope{EnvelopeID: m.EnvelopeID, Type: "events_api", Payload: payload,
		RetryAttempt: m.RetryAttempt, RetryReason: m.RetryReason})
	return id, m.EventID
}

// Disconnect sends a disconnect frame (reason refresh_requested, warning or
// link_disabled) on every connection. From then on new envelopes wait for
// the next connection, as Slack routes them to live links only.
func (s *Server) Disconnect(reason string) {
	msg, _ := json.Marshal(map[string]any{
		"type":       "disconnect",
		"reason":     reason,
		"debug_info": map[string]any{"host": "applink-fake"},
	})
	s.mu.Lock()
	conns := append([]*wsConn(nil), s.conns...)
	s.conns = nil
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.write(msg)
	}
}

// DropConnections closes every websocket abruptly, without a frame.
func (s *Server) DropConnections() {
	s.mu.Lock()
	conns := make([]*wsConn, 0, len(s.allConns))
	for c := range s.allConns {
		conns = append(conns, c)
	}
	s.conns = nil
	s.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
}

// Connections is how many websocket connections got their hello, ever.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected
}

// Active is how many connections currently get envelopes.
func (s *Server) Active() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// WaitConnections waits until n connections got their hello, ever, and one
// of them is live.
func (s *Server) WaitConnections(n int, timeout time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.wait(timeout, func() bool { return s.connected >= n && len(s.conns) > 0 }) {
		return fmt.Errorf("slacktest: %d connections after %v, want %d", s.connected, timeout, n)
	}
	return nil
}

// Ack is the app's acknowledgement of an envelope.
type Ack struct {
	EnvelopeID string
	Payload    json.RawMessage // null or absent when the ack had none
	At         time.Time
	Latency    time.Duration // from the (last) send of the envelope
}

// Acks returns every ack received so far, in order.
func (s *Server) Acks() []Ack {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Ack(nil), s.acks...)
}

// WaitAck waits for the first ack of an envelope.
func (s *Server) WaitAck(envelopeID string, timeout time.Duration) (Ack, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var got Ack
	next := 0 // acks only grow: each wake-up scans the new ones
	ok := s.wait(timeout, func() bool {
		for ; next < len(s.acks); next++ {
			if s.acks[next].EnvelopeID == envelopeID {
				got = s.acks[next]
				return true
			}
		}
		return false
	})
	if !ok {
		return Ack{}, fmt.Errorf("slacktest: no ack of %s within %v", envelopeID, timeout)
	}
	return got, nil
}

// ---- Web API ----

// Call is one Web API request as received, the token removed.
type Call struct {
	Method string
	Values map[string][]string // form fields or top-level JSON fields
	At     time.Time
}

// Calls returns the Web API calls received for a method ("" for all).
func (s *Server) Calls(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if method == "" || c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// Message is a message the app sent through a chat.* method or a
// response_url.
type Message struct {
	Method          string // chat.postMessage, chat.postEphemeral, chat.update, chat.delete or response_url
	ResponseURL     string // for Method response_url
	Channel         string
	User            string // chat.postEphemeral's user
	TS              string // the ts assigned (postMessage) or addressed (update, delete)
	ThreadTS        string
	Text            string
	Blocks          json.RawMessage // the blocks as sent; nil without blocks
	Metadata        json.RawMessage // chat.postMessage's metadata as sent; nil without
	ResponseType    string          // response_url: in_channel or ephemeral ("" is ephemeral)
	ReplaceOriginal bool
	DeleteOriginal  bool
	Error           string // for rejected messages: why
	At              time.Time
}

// BlockTypes lists the types of the message's top-level blocks.
func (m Message) BlockTypes() []string {
	var bs []struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(m.Blocks, &bs)
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.Type
	}
	return out
}

// Messages returns the messages accepted so far, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Rejected returns the messages answered with an error (invalid_blocks,
// rate limited), in order.
func (s *Server) Rejected() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.rejected...)
}

// WaitMessage waits for an accepted message matching pred (nil matches any)
// and returns the first one.
func (s *Server) WaitMessage(pred func(Message) bool, timeout time.Duration) (Message, error) {
	got, err := s.WaitMessages(1, pred, timeout)
	if err != nil {
		return Message{}, err
	}
	return got[0], nil
}

// WaitMessages waits until n accepted messages match pred (nil matches
// any) and returns the first n.
func (s *Server) WaitMessages(n int, pred func(Message) bool, timeout time.Duration) ([]Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var got []Message
	next := 0 // messages only grow: each wake-up scans the new ones
	ok := s.wait(timeout, func() bool {
		for ; next < len(s.messages) && len(got) < n; next++ {
			if m := s.messages[next]; pred == nil || pred(m) {
				got = append(got, m)
			}
		}
		return len(got) >= n
	})
	if !ok {
		return got, fmt.Errorf("slacktest: %d matching messages within %v, want %d (%d messages in all)", len(got), timeout, n, len(s.messages))
	}
	return got, nil
}

// ForResponseURL matches messages posted to one response_url.
func ForResponseURL(url string) func(Message) bool {
	return func(m Message) bool { return m.ResponseURL == url }
}

// InChannel matches chat.postMessage posts to a channel.
func InChannel(channel string) func(Message) bool {
	return func(m Message) bool { return m.Method == "chat.postMessage" && m.Channel == channel }
}

func (s *Server) authorized(r *http.Request) bool {
	if r.Header.Get("Authorization") == "Bearer "+s.opts.BotToken {
		return true
	}
	return r.PostFormValue("token") == s.opts.BotToken
}

// record parses the request body (form or JSON) and records the call.
func (s *Server) record(r *http.Request, method string, values map[string][]string) map[string][]string {
	if values == nil {
		values = map[string][]string{}
		if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			var m map[string]any
			_ = json.NewDecoder(r.Body).Decode(&m)
			for k, v := range m {
				switch v := v.(type) {
				case string:
					values[k] = []string{v}
				default:
					b, _ := json.Marshal(v)
					values[k] = []string{string(b)}
				}
			}
		} else {
			_ = r.ParseForm()
			for k, v := range r.PostForm {
				values[k] = v
			}
		}
	}
	rec := map[string][]string{}
	for k, v := range values {
		if k != "token" {
			rec[k] = v
		}
	}
	s.mu.Lock()
	s.calls = append(s.calls, Call{Method: method, Values: rec, At: time.Now()})
	s.cond.Broadcast()
	s.mu.Unlock()
	return values
}

func (s *Server) authTest(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	s.record(r, "auth.test", nil)
	if !s.authorized(r) {
		writeJSON(w, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	writeJSON(w, map[string]any{"ok": true, "url": "https://fake.slack.com/", "team": "Fake",
		"user": "pooltasks", "team_id": TeamID, "user_id": BotUserID, "bot_id": BotID})
}

// triggerLife is how long a trigger_id opens a view, as on Slack.
const triggerLife = 3 * time.Second

// trigger issues a trigger_id, which views.open accepts once within
// triggerLife.
func (s *Server) trigger() string {
	id := s.newID("trig-")
	s.mu.Lock()
	s.triggers[id] = time.Now()
	s.mu.Unlock()
	return id
}

// View is a view the app opened (views.open) or updated (views.update).
type View struct {
	Method    string          // views.open or views.update
	ID        string          // the view's id
	TriggerID string          // views.open's
	View      json.RawMessage // the view as sent
	At        time.Time
}

// Views returns the views opened and updated so far, in order.
func (s *Server) Views() []View {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]View(nil), s.viewLog...)
}

// views answers views.open (with a trigger_id issued within triggerLife
// and not used before: else expired_trigger_id or invalid_trigger_id, as
// Slack answers) and views.update (of a view opened before: else
// not_found).
func (s *Server) views(method string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := s.record(r, method, nil)
		if !s.authorized(r) {
			writeJSON(w, map[string]any{"ok": false, "error": "invalid_auth"})
			return
		}
		view := first(v, "view")
		if !json.Valid([]byte(view)) {
			writeJSON(w, map[string]any{"ok": false, "error": "invalid_arguments"})
			return
		}
		rec := View{Method: method, View: json.RawMessage(view), At: time.Now()}
		s.mu.Lock()
		defer s.mu.Unlock()
		switch method {
		case "views.open":
			rec.TriggerID = first(v, "trigger_id")
			issued, ok := s.triggers[rec.TriggerID]
			switch {
			case !ok:
				writeJSON(w, map[string]any{"ok": false, "error": "invalid_trigger_id"})
				return
			case rec.At.Sub(issued) > triggerLife:
				writeJSON(w, map[string]any{"ok": false, "error": "expired_trigger_id"})
				return
			}
			delete(s.triggers, rec.TriggerID)
			s.nextID++
			rec.ID = fmt.Sprintf("V%06d", s.nextID)
		default:
			rec.ID = first(v, "view_id")
			if !slices.ContainsFunc(s.viewLog, func(o View) bool { return o.ID == rec.ID }) {
				writeJSON(w, map[string]any{"ok": false, "error": "not_found"})
				return
			}
		}
		s.viewLog = append(s.viewLog, rec)
		s.cond.Broadcast()
		var body map[string]any
		_ = json.Unmarshal(rec.View, &body)
		body["id"] = rec.ID
		writeJSON(w, map[string]any{"ok": true, "view": body})
	}
}

// ViewSubmission is a person pressing a modal's submit button.
type ViewSubmission struct {
	UserID          string
	TeamID          string // TeamID by default
	ViewID          string
	CallbackID      string
	PrivateMetadata string
	// Values are the inputs' values: block id → action id → value, as
	// number and plain text inputs give them.
	Values map[string]map[string]string

	EnvelopeID   string
	RetryAttempt int
}

// ViewSubmission sends an interactive view_submission envelope and
// returns its envelope id.
func (s *Server) ViewSubmission(v ViewSubmission) string {
	if v.TeamID == "" {
		v.TeamID = TeamID
	}
	values := map[string]any{}
	for block, actions := range v.Values {
		m := map[string]any{}
		for action, val := range actions {
			m[action] = map[string]any{"type": "number_input", "value": val}
		}
		values[block] = m
	}
	payload := map[string]any{
		"type":       "view_submission",
		"user":       map[string]any{"id": v.UserID, "username": v.UserID, "team_id": v.TeamID},
		"api_app_id": AppID,
		"token":      "verification-token",
		"trigger_id": s.trigger(),
		"team":       map[string]any{"id": v.TeamID, "domain": "fake"},
		"view": map[string]any{
			"id": v.ViewID, "type": "modal", "callback_id": v.CallbackID, "private_metadata": v.PrivateMetadata,
			"state": map[string]any{"values": values},
		},
	}
	return s.Send(Envelope{EnvelopeID: v.EnvelopeID, Type: "interactive", Payload: payload, RetryAttempt: v.RetryAttempt})
}

// userGroupMembers answers usergroups.users.list.
func (s *Server) userGroupMembers(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	v := s.record(r, "usergroups.users.list", nil)
	if !s.authorized(r) {
		writeJSON(w, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	users, ok := s.opts.UserGroups[first(v, "usergroup")]
	if !ok {
		writeJSON(w, map[string]any{"ok": false, "error": "no_such_subteam"})
		return
	}
	writeJSON(w, map[string]any{"ok": true, "users": append([]string{}, users...)})
}

func (s *Server) unknownMethod(w http.ResponseWriter, r *http.Request) {
	s.record(r, strings.TrimPrefix(r.URL.Path, "/api/"), nil)
	writeJSON(w, map[string]any{"ok": false, "error": "unknown_method"})
}

// refusedBlocks reports whether blocks hold a type the options refuse.
func (s *Server) refusedBlocks(blocks json.RawMessage) bool {
	if len(s.opts.RefuseBlockTypes) == 0 || len(blocks) == 0 {
		return false
	}
	for _, t := range (Message{Blocks: blocks}).BlockTypes() {
		for _, r := range s.opts.RefuseBlockTypes {
			if t == r {
				return true
			}
		}
	}
	return false
}

func first(v map[string][]string, k string) string {
	if len(v[k]) == 0 {
		return ""
	}
	return v[k][0]
}

func (s *Server) chat(method string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		ok := s.authorized(r)
		v := s.record(r, method, nil)
		if !ok {
			writeJSON(w, map[string]any{"ok": false, "error": "invalid_auth"})
			return
		}
		m := Message{
			Method:   method,
			Channel:  first(v, "channel"),
			User:     first(v, "user"),
			TS:       first(v, "ts"),
			ThreadTS: first(v, "thread_ts"),
			Text:     first(v, "text"),
			At:       time.Now(),
		}
		if b := first(v, "blocks"); b != "" {
			m.Blocks = json.RawMessage(b)
		}
		if md := first(v, "metadata"); md != "" && method == "chat.postMessage" {
			var parsed struct {
				EventType    string         `json:"event_type"`
				EventPayload map[string]any `json:"event_payload"`
			}
			if json.Unmarshal([]byte(md), &parsed) != nil || parsed.EventType == "" || parsed.EventPayload == nil {
				s.reject(m, "invalid_metadata_format")
				writeJSON(w, map[string]any{"ok": false, "error": "invalid_metadata_format"})
				return
			}
			m.Metadata = json.RawMessage(md)
		}
		if m.Channel == "" {
			writeJSON(w, map[string]any{"ok": false, "error": "channel_not_found"})
			return
		}
		if (method == "chat.postMessage" || method == "chat.postEphemeral") && slices.Contains(s.opts.PrivateChannels, m.Channel) {
			s.reject(m, "not_in_channel")
			writeJSON(w, map[string]any{"ok": false, "error": "not_in_channel"})
			return
		}
		if s.refusedBlocks(m.Blocks) {
			s.reject(m, "invalid_blocks")
			writeJSON(w, map[string]any{"ok": false, "error": "invalid_blocks",
				"response_metadata": map[string]any{"messages": []string{"[ERROR] unsupported type [json-pointer:/blocks/0/type]"}}})
			return
		}
		switch method {
		case "chat.postMessage":
			s.mu.Lock()
			last, seen := s.lastPost[m.Channel]
			if s.opts.PostRateLimit && seen && m.At.Sub(last) < time.Second {
				s.mu.Unlock()
				s.reject(m, "ratelimited")
				w.Header().Set("Retry-After", "1")
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusTooManyRequests)
				writeJSONBody(w, map[string]any{"ok": false, "error": "ratelimited"})
				return
			}
			s.lastPost[m.Channel] = m.At
			s.nextID++
			m.TS = fmt.Sprintf("%d.%06d", m.At.Unix(), s.nextID)
			s.mu.Unlock()
		case "chat.postEphemeral":
			s.mu.Lock()
			s.nextID++
			m.TS = fmt.Sprintf("%d.%06d", m.At.Unix(), s.nextID)
			s.ephemeral[m.TS] = true
			s.mu.Unlock()
		case "chat.update", "chat.delete":
			s.mu.Lock()
			eph := s.ephemeral[m.TS]
			s.mu.Unlock()
			if m.TS == "" || eph { // ephemeral messages change through response_url only
				s.reject(m, "message_not_found")
				writeJSON(w, map[string]any{"ok": false, "error": "message_not_found"})
				return
			}
		}
		s.accept(m)
		if method == "chat.postMessage" && s.opts.Accepted != nil {
			s.opts.Accepted(m)
		}
		answer := map[string]any{"ok": true, "channel": m.Channel, "ts": m.TS}
		if method == "chat.postEphemeral" {
			answer = map[string]any{"ok": true, "message_ts": m.TS}
		}
		writeJSON(w, answer)
	}
}

// history answers conversations.history as Slack does for a bot token:
// the channel's messages (chat.postMessage, not thread replies), newest
// first, from oldest to latest (exclusive unless inclusive), limit per page
// (100 by default, at most 999) with a cursor, metadata only with
// include_all_metadata; missing_scope without channels:history (or
// groups:history for a private channel), not_in_channel for a channel the
// bot is not in.
func (s *Server) history(w http.ResponseWriter, r *http.Request) {
	v, channel, ok := s.readable(w, r, "conversations.history")
	if !ok {
		return
	}
	s.mu.Lock()
	var all []Message
	for i := len(s.messages) - 1; i >= 0; i-- {
		m := s.messages[i]
		if m.Method == "chat.postMessage" && m.Channel == channel && (m.ThreadTS == "" || m.ThreadTS == m.TS) {
			all = append(all, m)
		}
	}
	s.mu.Unlock()
	s.writeMessages(w, v, all, map[string]any{"pin_count": 0, "channel_actions_ts": nil, "channel_actions_count": 0}, nil)
}

// replies answers conversations.replies as Slack does for a bot token: the
// message ts names (a root, or a reply in its thread) and the replies of
// its thread, oldest first, the root first, each with its thread_ts, then
// as history pages and filters them (oldest, latest, inclusive, limit,
// cursor, include_all_metadata); thread_not_found when ts names no message
// of the channel; the scopes and membership as history.
func (s *Server) replies(w http.ResponseWriter, r *http.Request) {
	v, channel, ok := s.readable(w, r, "conversations.replies")
	if !ok {
		return
	}
	ts := first(v, "ts")
	s.mu.Lock()
	root := ""
	for _, m := range s.messages {
		if m.Method == "chat.postMessage" && m.Channel == channel && m.TS == ts {
			root = cmp.Or(m.ThreadTS, m.TS)
		}
	}
	var all []Message
	for _, m := range s.messages {
		if m.Method == "chat.postMessage" && m.Channel == channel && root != "" && (m.TS == root || m.ThreadTS == root) {
			all = append(all, m)
		}
	}
	s.mu.Unlock()
	if root == "" {
		writeJSON(w, map[string]any{"ok": false, "error": "thread_not_found"})
		return
	}
	s.writeMessages(w, v, all, nil, func(m Message, mm map[string]any) {
		mm["thread_ts"] = root
		if m.TS == root {
			mm["reply_count"] = len(all) - 1
		} else {
			mm["parent_user_id"] = BotUserID
		}
	})
}

// readable records a call of a history method and answers its errors: the
// token, the channel, the scope, membership. ok says the call may go on.
func (s *Server) readable(w http.ResponseWriter, r *http.Request, method string) (v map[string][]string, channel string, ok bool) {
	_ = r.ParseForm()
	authorized := s.authorized(r)
	v = s.record(r, method, nil)
	if !authorized {
		writeJSON(w, map[string]any{"ok": false, "error": "invalid_auth"})
		return nil, "", false
	}
	channel = first(v, "channel")
	if channel == "" {
		writeJSON(w, map[string]any{"ok": false, "error": "channel_not_found"})
		return nil, "", false
	}
	private := slices.Contains(s.opts.PrivateChannels, channel)
	scope := "channels:history"
	if private {
		scope = "groups:history"
	}
	if slices.Contains(s.opts.MissingScopes, scope) {
		var provided []string
		for _, sc := range []string{"commands", "chat:write", "chat:write.public", "app_mentions:read", "usergroups:read", "channels:history", "groups:history"} {
			if !slices.Contains(s.opts.MissingScopes, sc) {
				provided = append(provided, sc)
			}
		}
		writeJSON(w, map[string]any{"ok": false, "error": "missing_scope", "needed": scope, "provided": strings.Join(provided, ",")})
		return nil, "", false
	}
	if private || slices.Contains(s.opts.Outsider, channel) {
		writeJSON(w, map[string]any{"ok": false, "error": "not_in_channel"})
		return nil, "", false
	}
	return v, channel, true
}

// writeMessages answers a history method with the messages of all (in the
// method's order) that its parameters v select: oldest to latest
// (exclusive unless inclusive), a page of limit (100 by default, at most
// 999) from cursor, metadata only with include_all_metadata. extra are the
// method's own fields of the answer, more adds its own to a message.
func (s *Server) writeMessages(w http.ResponseWriter, v map[string][]string, all []Message, extra map[string]any, more func(Message, map[string]any)) {
	limit := 100
	if l, err := strconv.Atoi(first(v, "limit")); err == nil && l > 0 {
		limit = min(l, 999)
	}
	inclusive := first(v, "inclusive") == "1" || first(v, "inclusive") == "true"
	oldest, latest := parseTS(first(v, "oldest")), parseTS(first(v, "latest"))
	withMetadata := first(v, "include_all_metadata") == "1" || first(v, "include_all_metadata") == "true"
	skip := 0
	if c := first(v, "cursor"); c != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(c, "next:"))
		if err != nil || n < 0 {
			writeJSON(w, map[string]any{"ok": false, "error": "invalid_cursor"})
			return
		}
		skip = n
	}
	all = slices.DeleteFunc(slices.Clone(all), func(m Message) bool {
		ts := parseTS(m.TS)
		return (ts < oldest || (ts == oldest && !inclusive && oldest != 0)) || (latest != 0 && (ts > latest || (ts == latest && !inclusive)))
	})
	page := all[min(skip, len(all)):]
	hasMore := len(page) > limit
	if hasMore {
		page = page[:limit]
	}
	msgs := make([]map[string]any, 0, len(page))
	for _, m := range page {
		mm := map[string]any{"type": "message", "user": BotUserID, "bot_id": BotID, "app_id": AppID,
			"text": m.Text, "ts": m.TS, "team": TeamID}
		if len(m.Blocks) > 0 {
			mm["blocks"] = m.Blocks
		}
		if withMetadata && len(m.Metadata) > 0 {
			mm["metadata"] = m.Metadata
		}
		if more != nil {
			more(m, mm)
		}
		msgs = append(msgs, mm)
	}
	answer := map[string]any{"ok": true, "messages": msgs, "has_more": hasMore}
	maps.Copy(answer, extra)
	if hasMore {
		answer["response_metadata"] = map[string]any{"next_cursor": "next:" + strconv.Itoa(skip+limit)}
	}
	writeJSON(w, answer)
}

// parseTS reads a Slack ts ("1700000000.000123") as microseconds, to
// compare; 0 when empty or not one.
func parseTS(ts string) int64 {
	sec, frac, _ := strings.Cut(ts, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return 0
	}
	frac = (frac + "000000")[:6]
	us, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return 0
	}
	return s*1_000_000 + us
}

func (s *Server) response(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Text            string          `json:"text"`
		ThreadTS        string          `json:"thread_ts"`
		Blocks          json.RawMessage `json:"blocks"`
		ResponseType    string          `json:"response_type"`
		ReplaceOriginal bool            `json:"replace_original"`
		DeleteOriginal  bool            `json:"delete_original"`
	}
	if err := json.Unmarshal(readBody(r), &body); err != nil {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	url := s.srv.URL + r.URL.Path
	s.record(r, "response_url", map[string][]string{"url": {url}})
	m := Message{
		Method:          "response_url",
		ResponseURL:     url,
		ThreadTS:        body.ThreadTS,
		Text:            body.Text,
		ResponseType:    body.ResponseType,
		ReplaceOriginal: body.ReplaceOriginal,
		DeleteOriginal:  body.DeleteOriginal,
		At:              time.Now(),
	}
	if len(body.Blocks) > 0 && string(body.Blocks) != "null" {
		m.Blocks = body.Blocks
	}
	if s.refusedBlocks(m.Blocks) {
		s.reject(m, "invalid_blocks")
		writeJSON(w, map[string]any{"ok": false, "error": "invalid_blocks"})
		return
	}
	// Counted and accepted under one lock: concurrent posts on one
	// response_url must not get a sixth use through.
	s.mu.Lock()
	if s.urlUses[url] >= 5 { // a response_url works five times
		m.Error = "used_url"
		s.rejected = append(s.rejected, m)
		s.cond.Broadcast()
		s.mu.Unlock()
		http.Error(w, "used_url", http.StatusNotFound)
		return
	}
	s.acceptLocked(m)
	s.mu.Unlock()
	writeJSON(w, map[string]any{"ok": true})
}

// readBody reads a request body whole, in one allocation when its length
// is known (a json.Decoder would copy it over and over as its buffer grows).
func readBody(r *http.Request) []byte {
	if r.ContentLength > 0 && r.ContentLength <= 1<<20 {
		buf := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, buf); err == nil {
			return buf
		}
		return nil
	}
	buf, _ := io.ReadAll(r.Body)
	return buf
}

func (s *Server) accept(m Message) {
	s.mu.Lock()
	s.acceptLocked(m)
	s.mu.Unlock()
}

// acceptLocked records an accepted message; s.mu is held.
func (s *Server) acceptLocked(m Message) {
	if m.ResponseURL != "" {
		s.urlUses[m.ResponseURL]++
	}
	s.messages = append(s.messages, m)
	s.cond.Broadcast()
}

func (s *Server) reject(m Message, why string) {
	m.Error = why
	s.mu.Lock()
	s.rejected = append(s.rejected, m)
	s.cond.Broadcast()
	s.mu.Unlock()
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	writeJSONBody(w, v)
}

func writeJSONBody(w http.ResponseWriter, v any) {
	_ = json.NewEncoder(w).Encode(v)
}
