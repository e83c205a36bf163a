package main

import (
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"time"

	"github.com/pooltasks/pooltasks/workspace"
)

// Config is the whole configuration of pooltasks, read once from the
// environment by main. Fields tagged secret:"true" never appear in String,
// GoString or LogValue.
type Config struct {
	// Slack.
	SlackAppToken string `envconfig:"SLACK_APP_TOKEN" secret:"true"` // xapp-…, socket mode
	SlackBotToken string `envconfig:"SLACK_BOT_TOKEN" secret:"true"` // xoxb-…, Web API
	SlackAPIURL   string `envconfig:"SLACK_API_URL" default:"https://slack.com/api/"`

	// Workspace API.
	Region        string        `envconfig:"WORKSPACE_REGION"`
	Endpoint      string        `envconfig:"WORKSPACE_ENDPOINT"`
	ProjectID     string        `envconfig:"WORKSPACE_PROJECT_ID"`
	AK            string        `envconfig:"HUAWEICLOUD_SDK_AK"`
	SK            string        `envconfig:"HUAWEICLOUD_SDK_SK" secret:"true"`
	SecurityToken string        `envconfig:"HUAWEICLOUD_SDK_SECURITY_TOKEN" secret:"true"`
	RateLimit     float64       `envconfig:"WORKSPACE_RATE_LIMIT" default:"5"`
	Burst         int           `envconfig:"WORKSPACE_BURST" default:"5"`
	Timeout       time.Duration `envconfig:"WORKSPACE_TIMEOUT" default:"10s"`
	CacheTTL      time.Duration `envconfig:"WORKSPACE_CACHE_TTL" default:"10s"`

	// Who may do what, and where.
	AllowedUsers    []string `envconfig:"POOLTASKS_ALLOWED_USERS"`    // Slack user ids; empty: everyone
	AllowedChannels []string `envconfig:"POOLTASKS_ALLOWED_CHANNELS"` // Slack channel ids; empty: all
	AdminUsers      []string `envconfig:"POOLTASKS_ADMIN_USERS"`      // may run doctor
	ChannelPools    string   `envconfig:"POOLTASKS_CHANNEL_POOLS"`    // C123=pool-a,pool-b;C456=*
	UserRate        int      `envconfig:"POOLTASKS_USER_RATE" default:"20"`

	// Digests, alerts and watches.
	Scheduler      bool          `envconfig:"POOLTASKS_SCHEDULER" default:"true"`   // run digests and alerts in this process
	DigestChannel  string        `envconfig:"POOLTASKS_DIGEST_CHANNEL"`             // empty: no scheduled digests
	DigestEvery    time.Duration `envconfig:"POOLTASKS_DIGEST_EVERY" default:"24h"` // window length; 0 turns scheduled digests off
	DigestAt       string        `envconfig:"POOLTASKS_DIGEST_AT"`                  // time of day, e.g. 09:00
	DigestPools    []string      `envconfig:"POOLTASKS_DIGEST_POOLS"`
	DigestQuiet    bool          `envconfig:"POOLTASKS_DIGEST_QUIET"` // skip digests without failures
	AlertChannel   string        `envconfig:"POOLTASKS_ALERT_CHANNEL"`
	AlertEvery     time.Duration `envconfig:"POOLTASKS_ALERT_EVERY" default:"1m"`
	WatchEvery     time.Duration `envconfig:"POOLTASKS_WATCH_EVERY" default:"15s"`
	WatchMax       time.Duration `envconfig:"POOLTASKS_WATCH_MAX" default:"2h"`
	WatchMaxActive int           `envconfig:"POOLTASKS_WATCH_MAX_ACTIVE" default:"20"`
	StateDir       string        `envconfig:"POOLTASKS_STATE_DIR" default:"./state"`
	// WatchURL is the scheduler's HTTP server that runs every watch
	// (responders forward to it); empty runs watches in this process.
	WatchURL string `envconfig:"POOLTASKS_WATCH_URL"`
	// InternalToken authenticates forwarded watches: responders send it,
	// the scheduler serves its internal API only with one.
	InternalToken string `envconfig:"POOLTASKS_INTERNAL_TOKEN" secret:"true"`

	// Operations.
	HTTPAddr  string `envconfig:"POOLTASKS_HTTP_ADDR" default:":8080"` // /healthz, /readyz, /metrics
	LogLevel  string `envconfig:"LOG_LEVEL" default:"info"`
	LogFormat string `envconfig:"LOG_FORMAT" default:"json"`
}

// redacted replaces a secret's value.
const redacted = "[redacted]"

// fields lists the configuration as environment variable names and printable
// values, secrets redacted (an unset secret shows as empty, so "is it set?"
// can still be answered).
func (c Config) fields() [][2]string {
	v := reflect.ValueOf(c)
	t := v.Type()
	out := make([][2]string, 0, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name := f.Tag.Get("envconfig")
		val := fmt.Sprint(v.Field(i).Interface())
		if sl, ok := v.Field(i).Interface().([]string); ok {
			val = strings.Join(sl, ",")
		}
		switch {
		case f.Tag.Get("secret") == "true" && !v.Field(i).IsZero():
			val = redacted
		case f.Name == "AK" && len(val) > 4:
			val = val[:4] + "…"
		}
		out = append(out, [2]string{name, val})
	}
	return out
}

// String returns the configuration as NAME=value pairs, secrets redacted.
func (c Config) String() string {
	var b strings.Builder
	for i, f := range c.fields() {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(f[0] + "=" + f[1])
	}
	return b.String()
}

// GoString keeps %#v from printing secrets.
func (c Config) GoString() string { return "main.Config{" + c.String() + "}" }

// LogValue lets slog log the configuration with secrets redacted.
func (c Config) LogValue() slog.Value {
	fs := c.fields()
	attrs := make([]slog.Attr, 0, len(fs))
	for _, f := range fs {
		attrs = append(attrs, slog.String(f[0], f[1]))
	}
	return slog.GroupValue(attrs...)
}

// workspaceConfig maps the configuration to the Workspace client's.
func workspaceConfig(cfg Config) workspace.Config {
	return workspace.Config{
		Region:        cfg.Region,
		Endpoint:      cfg.Endpoint,
		ProjectID:     cfg.ProjectID,
		AK:            cfg.AK,
		SK:            cfg.SK,
		SecurityToken: cfg.SecurityToken,
		RateLimit:     cfg.RateLimit,
		Burst:         cfg.Burst,
		Timeout:       cfg.Timeout,
		CacheTTL:      cfg.CacheTTL,
		UserAgent:     "pooltasks/" + version,
	}
}
