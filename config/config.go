package config

import (
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/pooltasks/pooltasks/redact"
)

// Config is the whole configuration of pooltasks, read once from the
// environment by Load (each field from the variable its envconfig tag names,
// or its default tag). Fields tagged secret:"true" never appear in
// String, GoString or LogValue; of those tagged secret:"userinfo" (URLs) the
// password never does. Secrets lists both for the log handler's redaction.
type Config struct {
	// Slack.
	SlackAppToken string `envconfig:"SLACK_APP_TOKEN" secret:"true"` // xapp-…, socket mode
	SlackBotToken string `envconfig:"SLACK_BOT_TOKEN" secret:"true"` // xoxb-…, Web API
	SlackAPIURL   string `envconfig:"SLACK_API_URL" default:"https://slack.com/api/" secret:"userinfo"`

	// Workspace API.
	Region        string        `envconfig:"WORKSPACE_REGION"`
	Endpoint      string        `envconfig:"WORKSPACE_ENDPOINT" secret:"userinfo"`
	ProjectID     string        `envconfig:"WORKSPACE_PROJECT_ID"`
	AK            string        `envconfig:"HUAWEICLOUD_SDK_AK"`
	SK            string        `envconfig:"HUAWEICLOUD_SDK_SK" secret:"true"`
	SecurityToken string        `envconfig:"HUAWEICLOUD_SDK_SECURITY_TOKEN" secret:"true"`
	RateLimit     float64       `envconfig:"WORKSPACE_RATE_LIMIT" default:"5"`
	Burst         int           `envconfig:"WORKSPACE_BURST" default:"5"`
	Timeout       time.Duration `envconfig:"WORKSPACE_TIMEOUT" default:"10s"`
	CacheTTL      time.Duration `envconfig:"WORKSPACE_CACHE_TTL" default:"10s"`
	// TargetsFile names a YAML file of several targets (projects and
	// regions); without it WORKSPACE_* and HUAWEICLOUD_SDK_* are the one
	// target "default" (see Targets).
	TargetsFile string `envconfig:"POOLTASKS_TARGETS_FILE"`
	// Getenv reads the variables the targets file names for credentials
	// (Load sets it from its lookup); nil reads none.
	Getenv func(string) string `ignored:"true"`

	// Who may do what, and where.
	AllowedUsers    []string `envconfig:"POOLTASKS_ALLOWED_USERS"`    // Slack user ids; empty: everyone
	AllowedChannels []string `envconfig:"POOLTASKS_ALLOWED_CHANNELS"` // Slack channel ids; empty: all
	AdminUsers      []string `envconfig:"POOLTASKS_ADMIN_USERS"`      // may run doctor
	ChannelPools    string   `envconfig:"POOLTASKS_CHANNEL_POOLS"`    // C123=pool-a,pool-b;C456=*;*=pool-c (see Bindings)
	UserRate        int      `envconfig:"POOLTASKS_USER_RATE" default:"20"`

	// Actions on tasks (retry, stop, rerun): off unless listed.
	Actions     []string      `envconfig:"POOLTASKS_ACTIONS"`                    // retry,stop,rerun; empty: read-only
	Operators   []string      `envconfig:"POOLTASKS_OPERATORS"`                  // user ids (U…/W…) and user groups (S…) who may act
	Approval    []string      `envconfig:"POOLTASKS_APPROVAL"`                   // actions that need a second operator
	ApprovalTTL time.Duration `envconfig:"POOLTASKS_APPROVAL_TTL" default:"15m"` // how long an approval request stays open
	ActionRate  int           `envconfig:"POOLTASKS_ACTION_RATE" default:"10"`   // actions per channel per minute

	// Digests, alerts and watches.
	Scheduler      Scheduling    `envconfig:"POOLTASKS_SCHEDULER" default:"auto"`   // true, false or auto (see Scheduling)
	DigestChannel  string        `envconfig:"POOLTASKS_DIGEST_CHANNEL"`             // empty: no scheduled digests
	DigestEvery    time.Duration `envconfig:"POOLTASKS_DIGEST_EVERY" default:"24h"` // window length; 0 turns scheduled digests off
	DigestAt       string        `envconfig:"POOLTASKS_DIGEST_AT"`                  // time of day, e.g. 09:00 (see ParseTimeOfDay)
	DigestPools    []string      `envconfig:"POOLTASKS_DIGEST_POOLS"`
	DigestQuiet    bool          `envconfig:"POOLTASKS_DIGEST_QUIET"` // skip digests without failures
	AlertChannel   string        `envconfig:"POOLTASKS_ALERT_CHANNEL"`
	AlertEvery     time.Duration `envconfig:"POOLTASKS_ALERT_EVERY" default:"1m"`
	AlertRoutes    string        `envconfig:"POOLTASKS_ALERT_ROUTES"`                 // C_FIN=Finance*,pool-x;C_OPS=* (see Route)
	AlertMinFailed int           `envconfig:"POOLTASKS_ALERT_MIN_FAILED" default:"1"` // failed desktops a task needs to be alerted
	// failed ÷ (success+failed+skip) a task needs to be alerted; example is
	// the fix's example for a value that is not a number
	AlertMinRatio  float64       `envconfig:"POOLTASKS_ALERT_MIN_RATIO" default:"0" example:"0.2 (20%: a share from 0 to 1)"`
	WatchEvery     time.Duration `envconfig:"POOLTASKS_WATCH_EVERY" default:"15s"`
	WatchMax       time.Duration `envconfig:"POOLTASKS_WATCH_MAX" default:"2h"`
	WatchMaxActive int           `envconfig:"POOLTASKS_WATCH_MAX_ACTIVE" default:"20"`
	StateDir       string        `envconfig:"POOLTASKS_STATE_DIR" default:"./state"`
	// WatchURL is the scheduler's HTTP server that runs every watch
	// (responders forward to it); empty runs watches in this process.
	WatchURL string `envconfig:"POOLTASKS_WATCH_URL" secret:"userinfo"`
	// InternalToken authenticates forwarded watches: responders send it,
	// the scheduler serves its internal API only with one.
	InternalToken string `envconfig:"POOLTASKS_INTERNAL_TOKEN" secret:"true"`
	// RedisURL is the Redis that holds the state every replica shares
	// (redis:// or rediss://); empty keeps it in StateDir.
	RedisURL    string `envconfig:"POOLTASKS_REDIS_URL" secret:"userinfo"`
	RedisPrefix string `envconfig:"POOLTASKS_REDIS_PREFIX" default:"pooltasks:"` // before every key
	// Lease is the scheduler lease with Redis: a replica that dies is
	// replaced as scheduler within it.
	Lease time.Duration `envconfig:"POOLTASKS_LEASE" default:"15s"`

	// Operations.
	HTTPAddr  string `envconfig:"POOLTASKS_HTTP_ADDR" default:":8080"` // /healthz, /readyz, /metrics
	LogLevel  string `envconfig:"LOG_LEVEL" default:"info"`
	LogFormat string `envconfig:"LOG_FORMAT" default:"json"`

	// unreadable are the values Load could not read (their fields hold the
	// default); Validate reports them first.
	unreadable Problems
}

// Scheduling is POOLTASKS_SCHEDULER: whether this process may run the
// digests, alerts and watch updates. true (also yes, on, 1) and auto, the
// default, are the same: with the file store the process schedules (when it
// holds the state directory), with Redis it campaigns for the scheduler
// lease, so that one replica schedules at a time; false (no, off, 0) never
// schedules.
type Scheduling bool

// Decode reads auto or a boolean (see ParseBool), in any case.
func (s *Scheduling) Decode(v string) error {
	if strings.EqualFold(strings.TrimSpace(v), "auto") {
		*s = true
		return nil
	}
	b, err := ParseBool(v)
	if err != nil {
		return fmt.Errorf("%q is not true, false or auto", v)
	}
	*s = Scheduling(b)
	return nil
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
		if name == "" {
			continue
		}
		val := fmt.Sprint(v.Field(i).Interface())
		if sl, ok := v.Field(i).Interface().([]string); ok {
			val = strings.Join(sl, ",")
		}
		switch {
		case f.Tag.Get("secret") == "true" && !v.Field(i).IsZero():
			val = redacted
		case f.Tag.Get("secret") == "userinfo":
			val = quoteURL(val)
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
func (c Config) GoString() string { return "config.Config{" + c.String() + "}" }

// LogValue lets slog log the configuration with secrets redacted.
func (c Config) LogValue() slog.Value {
	fs := c.fields()
	attrs := make([]slog.Attr, 0, len(fs))
	for _, f := range fs {
		attrs = append(attrs, slog.String(f[0], f[1]))
	}
	return slog.GroupValue(attrs...)
}

// Secrets are the configured secret values, named after their variables:
// the tokens, the SK, the security token, the internal token and the
// password of every configured URL, and the SK and security token of
// every target of POOLTASKS_TARGETS_FILE. Unset ones are left out.
func (c Config) Secrets() []redact.Secret {
	v := reflect.ValueOf(c)
	t := v.Type()
	var out []redact.Secret
	for i := range t.NumField() {
		f := t.Field(i)
		name := f.Tag.Get("envconfig")
		if name == "" {
			continue
		}
		s, _ := v.Field(i).Interface().(string)
		switch f.Tag.Get("secret") {
		case "true":
			if s != "" {
				out = append(out, redact.Secret{Name: name, Value: s})
			}
		case "userinfo":
			out = append(out, urlPasswords(name, s)...)
		}
	}
	return append(out, c.targetSecrets()...)
}

// urlPasswords is the password of a URL, as written and decoded, when it
// has one.
func urlPasswords(name, raw string) []redact.Secret {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return nil
	}
	pw, ok := u.User.Password()
	if !ok || pw == "" {
		return nil
	}
	out := []redact.Secret{{Name: name + " password", Value: pw}}
	// The form written in the URL too (percent-encoded), as a URL quoted
	// back would show it.
	if _, rest, ok := strings.Cut(raw, "://"); ok {
		authority, _, _ := strings.Cut(rest, "/")
		if at := strings.LastIndex(authority, "@"); at >= 0 {
			if _, written, ok := strings.Cut(authority[:at], ":"); ok && written != pw {
				out = append(out, redact.Secret{Name: name + " password", Value: written})
			}
		}
	}
	return out
}

// quoteURL is a configured URL as it may be shown: without its password,
// and not at all when it does not parse but could hold one.
func quoteURL(raw string) string {
	if !strings.Contains(raw, "@") {
		return raw
	}
	if u, err := url.Parse(raw); err == nil && u.User != nil && u.Opaque == "" {
		return u.Redacted()
	}
	return "(not shown: it is not a URL Go can read and may hold a password)"
}

// LogHandler returns the slog handler LOG_LEVEL and LOG_FORMAT ask for,
// writing to w. Validate reports a level or format it cannot build.
func (c Config) LogHandler(w io.Writer) (slog.Handler, error) {
	level, err := c.logLevel()
	if err != nil {
		return nil, err
	}
	text, err := c.logText()
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: level}
	if text {
		return slog.NewTextHandler(w, opts), nil
	}
	opts.ReplaceAttr = durationText
	return slog.NewJSONHandler(w, opts), nil
}

// durationText writes a duration as people read it ("100ms", "1m30s"),
// where slog's JSON handler writes a count of nanoseconds.
func durationText(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		a.Value = slog.StringValue(a.Value.Duration().String())
	}
	return a
}

// logText reads LOG_FORMAT: text (true) or json (false, also when unset).
func (c Config) logText() (bool, error) {
	switch strings.ToLower(c.LogFormat) {
	case "json", "":
		return false, nil
	case "text":
		return true, nil
	}
	return false, fmt.Errorf("LOG_FORMAT: %q is not json or text", c.LogFormat)
}

func (c Config) logLevel() (slog.Level, error) {
	var l slog.Level
	if c.LogLevel == "" {
		return slog.LevelInfo, nil
	}
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return 0, fmt.Errorf("LOG_LEVEL: %q is not debug, info, warn or error", c.LogLevel)
	}
	return l, nil
}
