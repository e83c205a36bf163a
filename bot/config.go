package bot

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/pooltasks/pooltasks/config"
	"github.com/pooltasks/pooltasks/targets"
)

// Workspace is what the bot asks of one target's Workspace API (the
// targets.Set it answers from holds one for each); *workspace.Client
// provides it.
type Workspace = targets.Client

// Config is everything the bot needs, filled by cmd/pooltasks from the
// environment. Zero values take the defaults named on each field.
type Config struct {
	AppToken string // xapp-…, for socket mode
	BotToken string // xoxb-…, for the Web API
	APIURL   string // Web API base with its trailing slash; https://slack.com/api/ by default

	// Slack is the client for socket mode and the Web API, built with the
	// tokens and APIURL above, to share with whatever else posts for the
	// app (bot/notify); nil builds one with NewSlackClient.
	Slack *slack.Client

	AllowedUsers    []string        // Slack user ids; empty allows everyone
	AllowedChannels []string        // Slack channel ids; empty allows every channel
	ChannelPools    config.Bindings // the pools each channel and DM may see; the zero value binds nothing
	UserRate        int             // commands per user per minute; 0 is unlimited

	Workers         int           // concurrent jobs; 16 by default (see docs/performance.md)
	Queue           int           // acked jobs waiting for a worker; 256 by default
	ShutdownTimeout time.Duration // how long Run lets in-flight jobs finish after ctx ends; 10 s by default
	JobTimeout      time.Duration // one job's deadline; 30 s by default
	DedupeWindow    time.Duration // how long envelope and event ids are remembered; 10 min by default
	NativeBlocks    bool          // try Slack's data_table blocks for lists (fall back per workspace on invalid_blocks)

	HTTPAddr string   // /healthz, /readyz and /metrics; "" serves none
	Metrics  *Metrics // nil creates one; share it with the Workspace client as its Observer
	// Routes are more handlers on the HTTP server, by http.ServeMux
	// pattern (the scheduler's internal watch API, bot/notify's
	// watchapi.Handler).
	Routes map[string]http.Handler
	// Ready, when set, is asked by /readyz once socket mode is up: an
	// error (which must hold no secret) answers 503 with its text, as when
	// a background loop of bot/notify keeps failing (notify.Health.Err).
	Ready func() error
	// Seen, when not nil, is the dedupe memory every replica shares
	// (Redis): it records the keys of a request for ttl and reports whether
	// none was recorded before, so that an envelope Slack redelivers to
	// another replica is answered once. When it fails, the request is
	// answered (each replica still remembers what it answered itself).
	Seen func(ctx context.Context, keys []string, ttl time.Duration) (bool, error)
	// Degraded, when not nil, says why this process runs degraded ("" when
	// it does not): it still answers, so /readyz answers 200, with a body
	// that says "degraded" and why (the shared state does not answer, a
	// target of several does not).
	Degraded func() string

	Notifier Notifier // watch, digest and the Stop button; nil answers "not available"
	// Alerts is the state behind living alerts' Acknowledge and Snooze and
	// the mute commands; nil answers "not available".
	Alerts Alerts

	// Actions configures retry and stop from Slack; the zero value is
	// read-only.
	Actions Actions

	// Doctor runs the diagnostics of `pooltasks doctor` and returns the
	// report as text (no secrets); /pooltasks doctor shows it to AdminUsers
	// only. nil answers "not available".
	Doctor     func(ctx context.Context) (string, error)
	AdminUsers []string

	Logger *slog.Logger // nil discards
	Now    func() time.Time
}

func (c *Config) defaults() error {
	if !strings.HasPrefix(c.AppToken, "xapp-") {
		return errors.New("app token: want an xapp- token")
	}
	if !strings.HasPrefix(c.BotToken, "xoxb-") {
		return errors.New("bot token: want an xoxb- token")
	}
	if c.APIURL == "" {
		c.APIURL = "https://slack.com/api/"
	}
	if !strings.HasSuffix(c.APIURL, "/") {
		c.APIURL += "/"
	}
	if c.Workers <= 0 {
		c.Workers = 16
	}
	if c.Queue <= 0 {
		c.Queue = 256
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 10 * time.Second
	}
	if c.JobTimeout <= 0 {
		c.JobTimeout = 30 * time.Second
	}
	if c.DedupeWindow <= 0 {
		c.DedupeWindow = 10 * time.Minute
	}
	if c.UserRate < 0 {
		return errors.New("user rate: want 0 or more commands per minute")
	}
	if err := c.Actions.defaults(); err != nil {
		return err
	}
	if c.Metrics == nil {
		c.Metrics = NewMetrics()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}
