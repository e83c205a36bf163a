package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pooltasks/pooltasks/commands"
	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/redact"
)

// Severity says how much a Problem matters.
type Severity int

// The severities, from least to most.
const (
	// Info is not a problem: what a reader of the configuration should know,
	// such as which default is in force. doctor shows it as ok.
	Info Severity = iota
	// Warning is a value pooltasks uses, but probably not as meant.
	Warning
	// Error is a value pooltasks cannot use as given: serve and digest stop
	// at start (exit status 2), doctor fails.
	Error
)

// String returns the severity's name.
func (s Severity) String() string {
	switch s {
	case Info:
		return "info"
	case Warning:
		return "warning"
	case Error:
		return "error"
	}
	return fmt.Sprintf("Severity(%d)", int(s))
}

// Problem is what Validate found about one variable. Its text never holds a
// secret, nor a URL's password.
type Problem struct {
	Var      string // the environment variable, e.g. POOLTASKS_CHANNEL_POOLS
	Severity Severity
	Detail   string // what is wrong, naming the entry or value at fault
	Fix      string // what to do about it; empty when nothing needs doing
}

// String returns the problem as one line: "VAR: detail (fix: …)".
func (p Problem) String() string {
	s := p.Var + ": " + p.Detail
	if p.Fix != "" {
		s += " (fix: " + p.Fix + ")"
	}
	return s
}

// Problems is what Validate found, in the order of the variables.
type Problems []Problem

// Err returns the error-level problems as an *InvalidError, or nil when
// there are none.
func (ps Problems) Err() error {
	var errs Problems
	for _, p := range ps {
		if p.Severity == Error {
			errs = append(errs, p)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return &InvalidError{Problems: errs}
}

// InvalidError is a configuration with error-level problems.
type InvalidError struct {
	Problems Problems // Error severity only
}

// Error lists the problems, one a line.
func (e *InvalidError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return "invalid configuration: " + strings.Join(lines, "\n")
}

// Need is what a subcommand needs set, beyond every set value being right:
// Validate reports a needed value that is missing as an error.
type Need uint

// The needs, to be combined with |.
const (
	// NeedAppToken is SLACK_APP_TOKEN, for socket mode (serve).
	NeedAppToken Need = 1 << iota
	// NeedBotToken is SLACK_BOT_TOKEN, to post (serve, digest).
	NeedBotToken
	// NeedWorkspace is WORKSPACE_REGION or WORKSPACE_ENDPOINT, to call the
	// Workspace API (not needed with --sim).
	NeedWorkspace
)

// SlackSetupSection is the heading of README.md's section that creates the
// Slack app, which the fix of a missing token names.
const SlackSetupSection = "Slack app setup"

// ExampleChannel is the channel id the shipped examples (deploy/, the Helm
// chart's values, .env.example, README.md) show: Validate warns when it is
// configured, since it is nobody's channel.
const ExampleChannel = "C0123456789"

var (
	userIDRe    = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)
	channelIDRe = regexp.MustCompile(`^[CGD][A-Z0-9]+$`)
	projectIDRe = regexp.MustCompile(`^[0-9a-f]{32}$`)
	operatorRe  = regexp.MustCompile(`^[UWS][A-Z0-9]{2,}$`)
)

// Parsed holds the values Validate parsed to check them, so that no
// subcommand parses a variable a second time.
type Parsed struct {
	Targets  Targets  // POOLTASKS_TARGETS_FILE, or the one target "default"
	Bindings Bindings // POOLTASKS_CHANNEL_POOLS; the zero Bindings when it has errors
	// AlertRoutes are where alerts go: POOLTASKS_ALERT_CHANNEL first (the
	// pools its binding lets it see), then POOLTASKS_ALERT_ROUTES; one
	// route per channel. Empty: no alerts.
	AlertRoutes []Route
	DigestAt    time.Duration     // POOLTASKS_DIGEST_AT, from midnight UTC
	Actions     []pooltask.Action // POOLTASKS_ACTIONS: the actions enabled
	Approval    []pooltask.Action // POOLTASKS_APPROVAL: the enabled actions that need a second operator
}

// Validate checks the configuration for a subcommand that needs needs, and
// returns the values it parsed on the way (meaningful when Problems.Err is
// nil).
// Zero numbers and durations are "not set" (the defaults apply), except
// where zero means something (POOLTASKS_DIGEST_EVERY=0 turns scheduled
// digests off, POOLTASKS_USER_RATE=0 lifts the per-user limit). Values
// pooltasks accepts but that are probably not meant are warnings; values it
// cannot use are errors. Validate reads nothing but c and the targets file
// it names (and the variables that file names): checks of the world
// (a writable state directory, Slack and Workspace answering) are doctor's.
func (c Config) Validate(needs Need) (Parsed, Problems) {
	var parsed Parsed
	ps := slices.Clone(c.unreadable)
	add := func(v string, s Severity, detail, fix string) {
		ps = append(ps, Problem{Var: v, Severity: s, Detail: detail, Fix: fix})
	}

	// The first missing token's fix also says where the app comes from,
	// and how to try pooltasks without one.
	noApp := "; no Slack app yet: create it from manifest.yml as README.md, section \"" + SlackSetupSection +
		"\", says, or try pooltasks without Slack first: pooltasks query --sim failed"
	if token(&ps, "SLACK_APP_TOKEN", c.SlackAppToken, "xapp-", needs&NeedAppToken != 0,
		"Basic Information → App-Level Tokens → Generate, with the scope connections:write", noApp) {
		noApp = ""
	}
	token(&ps, "SLACK_BOT_TOKEN", c.SlackBotToken, "xoxb-", needs&NeedBotToken != 0,
		"Install App → Bot User OAuth Token", noApp)
	if u := c.SlackAPIURL; u != "" {
		p, err := url.Parse(u)
		switch {
		case err != nil || p.Host == "" || (p.Scheme != "https" && p.Scheme != "http"):
			add("SLACK_API_URL", Error, fmt.Sprintf("%q is not an http(s) URL", quoteURL(u)), "use https://slack.com/api/ (GovSlack: https://slack-gov.com/api/)")
		case p.Scheme == "http" && !isLoopback(p.Hostname()):
			add("SLACK_API_URL", Error, fmt.Sprintf("%q is plain http to a remote host: tokens would cross the network in clear", quoteURL(u)), "use https")
		case !strings.HasSuffix(p.Path, "/"):
			add("SLACK_API_URL", Error, fmt.Sprintf("%q has no trailing slash: every method URL would be wrong", quoteURL(u)), "add the trailing slash: "+quoteURL(u)+"/")
		}
	}

	targets, targetProblems := c.targets()
	ps = append(ps, targetProblems...)
	parsed.Targets = targets
	switch {
	case c.TargetsFile != "":
		// Each target's region and endpoint were checked with the file.
	case c.Region == "" && c.Endpoint == "":
		if needs&NeedWorkspace != 0 {
			add("WORKSPACE_REGION", Error, "neither WORKSPACE_REGION nor WORKSPACE_ENDPOINT is set",
				"set WORKSPACE_REGION to the region of your desktop pools, e.g. ap-southeast-1 (or WORKSPACE_ENDPOINT and WORKSPACE_PROJECT_ID), or try --sim")
		}
	case c.Endpoint != "":
		p, err := url.Parse(c.Endpoint)
		switch {
		case err != nil || p.Host == "" || (p.Scheme != "https" && p.Scheme != "http"):
			add("WORKSPACE_ENDPOINT", Error, fmt.Sprintf("%q is not an http(s) URL", quoteURL(c.Endpoint)),
				"write the full base URL, e.g. https://workspace.ap-southeast-1.myhuaweicloud.com, or unset it to use the region's")
		case p.Scheme == "http" && !isLoopback(p.Hostname()):
			add("WORKSPACE_ENDPOINT", Warning, fmt.Sprintf("%q is plain http to a remote host", quoteURL(c.Endpoint)),
				"use https; plain http is meant for local servers such as the simulator")
		}
	}
	if c.TargetsFile == "" && c.Endpoint != "" && c.Region == "" && c.ProjectID == "" {
		add("WORKSPACE_PROJECT_ID", Error, "an endpoint without a region needs the project id (it cannot be discovered)",
			"set WORKSPACE_PROJECT_ID (IAM console → My Credentials → Projects), or set WORKSPACE_REGION too")
	}
	if c.ProjectID != "" && !projectIDRe.MatchString(c.ProjectID) {
		add("WORKSPACE_PROJECT_ID", Warning, fmt.Sprintf("%q is not shaped like a project id (32 lowercase hex digits)", c.ProjectID),
			"copy the project id of the region from IAM console → My Credentials → Projects")
	}
	switch {
	case c.AK != "" && c.SK == "":
		add("HUAWEICLOUD_SDK_SK", Error, "HUAWEICLOUD_SDK_AK is set but HUAWEICLOUD_SDK_SK is not",
			"set both, or neither to use the profile file, ECS metadata or pod identity")
	case c.AK == "" && c.SK != "":
		add("HUAWEICLOUD_SDK_AK", Error, "HUAWEICLOUD_SDK_SK is set but HUAWEICLOUD_SDK_AK is not",
			"set both, or neither to use the profile file, ECS metadata or pod identity")
	case c.AK == "" && c.SecurityToken != "":
		add("HUAWEICLOUD_SDK_SECURITY_TOKEN", Warning, "a security token without HUAWEICLOUD_SDK_AK/SK is ignored",
			"set the temporary AK/SK that belong to the token")
	}
	if c.RateLimit < 0 {
		add("WORKSPACE_RATE_LIMIT", Warning, fmt.Sprintf("%g: outbound API calls are not limited", c.RateLimit),
			"keep a limit (default 5 per second): the gateway throttles with APIGW.0308")
	} else if c.RateLimit > 50 {
		add("WORKSPACE_RATE_LIMIT", Warning, fmt.Sprintf("%g requests per second is more than the API gateway usually allows", c.RateLimit),
			"use 5–20; the client retries throttled calls anyway")
	}
	rangeInt(&ps, "WORKSPACE_BURST", c.Burst, 1, 100)
	rangeDur(&ps, "WORKSPACE_TIMEOUT", c.Timeout, time.Second, 2*time.Minute)
	switch {
	case c.CacheTTL < 0:
		add("WORKSPACE_CACHE_TTL", Warning, fmt.Sprintf("%v: the cache is off, as with 0", c.CacheTTL),
			"write 0 to turn the cache off, or a few seconds; the default is 10s")
	case c.CacheTTL > 10*time.Minute:
		add("WORKSPACE_CACHE_TTL", Warning, fmt.Sprintf("%v: answers would be stale", c.CacheTTL),
			"use 0 (off) to a few seconds; the default is 10s")
	}

	rangeInt(&ps, "POOLTASKS_USER_RATE", c.UserRate, 1, 1000) // 0: no per-user limit
	idList(&ps, "POOLTASKS_ALLOWED_USERS", c.AllowedUsers, userIDRe, "user ids (U… or W…)")
	idList(&ps, "POOLTASKS_ALLOWED_CHANNELS", c.AllowedChannels, channelIDRe, "channel ids (C…, G… or D…)")
	idList(&ps, "POOLTASKS_ADMIN_USERS", c.AdminUsers, userIDRe, "user ids (U… or W…)")
	parsed.Actions, parsed.Approval = actionSettings(&ps, c)
	b, bindingProblems := parseBindings(c.ChannelPools)
	if targetProblems.Err() == nil {
		bindingProblems = append(bindingProblems, bindingTargets(b, targets)...)
	}
	ps = append(ps, bindingProblems...)
	if bindingProblems.Err() == nil {
		parsed.Bindings = b
		add("POOLTASKS_CHANNEL_POOLS", Info, b.Describe(), "")
	}

	for _, ch := range []struct{ name, value string }{
		{"POOLTASKS_DIGEST_CHANNEL", c.DigestChannel}, {"POOLTASKS_ALERT_CHANNEL", c.AlertChannel},
	} {
		if ch.value == "" {
			continue
		}
		if ch.value == ExampleChannel {
			add(ch.name, Warning, fmt.Sprintf("%s is the example channel id of deploy/configmap.yaml and the README, not one of yours", ch.value),
				"put your channel's id (C…, at the bottom of the channel's details) or leave the variable out")
		}
		if !channelIDRe.MatchString(ch.value) {
			add(ch.name, Error, fmt.Sprintf("%q is not a channel id", ch.value),
				"use the channel id (C…), shown at the bottom of the channel's details; not its #name")
			continue
		}
		if pools, all := b.Pools(ch.value); !all && len(pools) == 0 && (ch.name == "POOLTASKS_ALERT_CHANNEL" || len(c.DigestPools) == 0) {
			add(ch.name, Error, fmt.Sprintf("%s may see no pool (POOLTASKS_CHANNEL_POOLS has *= and does not name it), so it would be posted nothing", ch.value),
				"bind the channel in POOLTASKS_CHANNEL_POOLS, e.g. "+ch.value+"=pool-a")
		}
	}
	parsed.AlertRoutes = alertRoutes(&ps, c, b)
	if at, err := ParseTimeOfDay(c.DigestAt); err != nil {
		add("POOLTASKS_DIGEST_AT", Error, err.Error(), "write HH:MM in UTC, e.g. 07:00")
	} else {
		parsed.DigestAt = at
	}
	digestEvery(&ps, c)
	for _, p := range c.DigestPools {
		if strings.TrimSpace(p) == "" {
			add("POOLTASKS_DIGEST_POOLS", Error, "has an empty pool", "list pool ids or names separated by commas, without empty ones")
			break
		}
	}
	rangeDur(&ps, "POOLTASKS_ALERT_EVERY", c.AlertEvery, 10*time.Second, time.Hour)
	rangeDur(&ps, "POOLTASKS_WATCH_EVERY", c.WatchEvery, 5*time.Second, 10*time.Minute)
	rangeDur(&ps, "POOLTASKS_WATCH_MAX", c.WatchMax, time.Minute, 24*time.Hour)
	rangeInt(&ps, "POOLTASKS_WATCH_MAX_ACTIVE", c.WatchMaxActive, 1, 200)
	if !c.Scheduler && (c.DigestChannel != "" || len(parsed.AlertRoutes) > 0) {
		add("POOLTASKS_SCHEDULER", Info,
			"false: this process posts no scheduled digests or alerts (another process, or a CronJob, must)", "")
	}
	watchForwarding(&ps, c)
	redisURL(&ps, c)
	if c.HTTPAddr != "" {
		if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
			add("POOLTASKS_HTTP_ADDR", Error, fmt.Sprintf("%q: %v", c.HTTPAddr, err), "write host:port or :port, e.g. :8080")
		}
	}
	if _, err := c.logLevel(); err != nil {
		add("LOG_LEVEL", Error, fmt.Sprintf("%q is not debug, info, warn or error", c.LogLevel), "write debug, info, warn or error")
	}
	if _, err := c.logText(); err != nil {
		add("LOG_FORMAT", Error, fmt.Sprintf("%q is not json or text", c.LogFormat), "write json or text")
	}
	for _, sec := range c.Secrets() {
		if len(sec.Value) < redact.MinLen {
			add(strings.TrimSuffix(sec.Name, " password"), Warning,
				fmt.Sprintf("the %s is shorter than %d characters: logs hide it only where it stands alone", sec.Name, redact.MinLen),
				"use the real secret (tokens, SKs and passwords are longer)")
		}
	}
	return parsed, ps
}

// actionSettings checks POOLTASKS_ACTIONS, _OPERATORS, _APPROVAL,
// _APPROVAL_TTL and _ACTION_RATE, and returns the actions enabled and those
// of them that need approval.
func actionSettings(ps *Problems, c Config) (enabled, approval []pooltask.Action) {
	add := func(v string, s Severity, detail, fix string) {
		*ps = append(*ps, Problem{Var: v, Severity: s, Detail: detail, Fix: fix})
	}
	enabled, bad := ParseActions(c.Actions)
	if len(bad) > 0 {
		add("POOLTASKS_ACTIONS", Error, "not an action: "+strings.Join(bad, ", "), "list retry, stop and rerun separated by commas, or leave it empty for read-only")
		enabled = nil
	}
	asked, bad := ParseActions(c.Approval)
	if len(bad) > 0 {
		add("POOLTASKS_APPROVAL", Error, "not an action: "+strings.Join(bad, ", "), "list the actions of POOLTASKS_ACTIONS that need a second operator")
	}
	for _, a := range asked {
		if slices.Contains(enabled, a) {
			approval = append(approval, a)
		} else if len(bad) == 0 {
			add("POOLTASKS_APPROVAL", Warning, fmt.Sprintf("%s needs approval but is not in POOLTASKS_ACTIONS, so it cannot be taken at all", a), "")
		}
	}
	idList(ps, "POOLTASKS_OPERATORS", c.Operators, operatorRe, "user ids (U… or W…) or user group ids (S…)")
	switch {
	case len(enabled) == 0:
		add("POOLTASKS_ACTIONS", Info, "empty: pooltasks is read-only (no retry, stop or rerun)", "")
	case len(c.Operators) == 0:
		add("POOLTASKS_OPERATORS", Warning, "actions are enabled but no operator is listed, so nobody may take them",
			"list the Slack user ids (U…) or user groups (S…) who may retry and stop tasks")
	default:
		add("POOLTASKS_ACTIONS", Info, fmt.Sprintf("enabled: %s, for %d operator entries", joinActions(enabled), len(c.Operators)), "")
	}
	if len(approval) > 0 && len(c.Operators) == 1 && !strings.HasPrefix(strings.TrimSpace(c.Operators[0]), "S") {
		add("POOLTASKS_APPROVAL", Warning, "approval needs a second operator, but only one is listed", "list at least two operators, or a user group")
	}
	rangeDur(ps, "POOLTASKS_APPROVAL_TTL", c.ApprovalTTL, time.Minute, 24*time.Hour)
	rangeInt(ps, "POOLTASKS_ACTION_RATE", c.ActionRate, 1, 1000)
	return enabled, approval
}

// ParseActions reads a list of action names (case-insensitive, blanks
// ignored): the actions it names, each once, in the order given, and the
// entries that name none.
func ParseActions(list []string) (actions []pooltask.Action, bad []string) {
	for _, s := range list {
		s = strings.ToLower(strings.TrimSpace(s))
		if s == "" {
			continue
		}
		a := pooltask.Action(s)
		if !slices.Contains(pooltask.Actions, a) {
			bad = append(bad, strconv.Quote(s))
			continue
		}
		if !slices.Contains(actions, a) {
			actions = append(actions, a)
		}
	}
	return actions, bad
}

func joinActions(as []pooltask.Action) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = string(a)
	}
	return strings.Join(s, ", ")
}

// bindingTargets checks that every TARGET: prefix of the bindings names a
// target.
func bindingTargets(b Bindings, ts Targets) Problems {
	var ps Problems
	for channel, pools := range b.All() {
		for _, p := range pools {
			t, _ := SplitTarget(p)
			if t == "" {
				continue
			}
			if _, ok := ts.Lookup(t); ok {
				continue
			}
			fix := "prefix pools with one of the targets: " + strings.Join(ts.Names(), ", ")
			if s, ok := commands.SuggestName(t, ts.Names()); ok {
				fix = "did you mean " + s + ":" + strings.TrimPrefix(p, t+":") + "?"
			}
			ps = append(ps, Problem{Var: "POOLTASKS_CHANNEL_POOLS", Severity: Error,
				Detail: fmt.Sprintf("%s=…%s… names target %q, which is not one", channel, p, t), Fix: fix})
		}
	}
	return ps
}

// token checks a Slack token: shaped like its kind and not a placeholder
// when set, and set when needed. It reports whether the token is needed
// and missing, which the fix says with noApp after it.
func token(ps *Problems, name, value, prefix string, needed bool, where, noApp string) (missing bool) {
	other := map[string]string{"xapp-": "xoxb-", "xoxb-": "xapp-"}[prefix]
	p := Problem{Var: name, Severity: Error}
	switch {
	case value == "" && !needed:
		return false
	case value == "":
		p.Detail, p.Fix = "not set", "set it to the "+prefix+"… token from the app's settings: "+where+noApp
		missing = true
	case strings.Contains(strings.ToUpper(value), "REPLACE"):
		p.Detail, p.Fix = "still the placeholder of the deploy/secret.yaml template", "put the real "+prefix+"… token in the Secret: "+where
	case strings.TrimSpace(value) != value:
		p.Detail, p.Fix = "has leading or trailing white space", "remove the spaces or newline around the token"
	case strings.HasPrefix(value, other):
		p.Detail, p.Fix = fmt.Sprintf("is a %s… token (%s): SLACK_APP_TOKEN and SLACK_BOT_TOKEN look swapped", other, Mask(value)),
			"swap the two values"
	case strings.HasPrefix(value, "xoxp-"):
		p.Detail, p.Fix = fmt.Sprintf("is a user token (%s)", Mask(value)), "use the "+prefix+"… token: "+where
	case !strings.HasPrefix(value, prefix):
		p.Detail, p.Fix = fmt.Sprintf("does not start with %s (%s)", prefix, Mask(value)), "use the "+prefix+"… token: "+where
	default:
		return false
	}
	*ps = append(*ps, p)
	return missing
}

// Mask shows a token as its kind and last four characters at most
// (xoxb-…WXYZ), so a person can tell two tokens apart without the text
// holding either.
func Mask(secret string) string {
	prefix := ""
	for _, p := range []string{"xapp-", "xoxb-", "xoxp-", "xoxa-", "xoxe-"} {
		if strings.HasPrefix(secret, p) {
			prefix = p
		}
	}
	if len(secret) < 20 {
		return prefix + "…"
	}
	return prefix + "…" + secret[len(secret)-4:]
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// digestEvery checks POOLTASKS_DIGEST_EVERY: any positive period runs
// digests, 0 turns them off, a negative one is a mistake.
func digestEvery(ps *Problems, c Config) {
	const name, lo, hi = "POOLTASKS_DIGEST_EVERY", 15 * time.Minute, 7 * 24 * time.Hour
	v := c.DigestEvery
	p := Problem{Var: name, Severity: Warning}
	switch {
	case v < 0:
		p.Severity, p.Detail = Error, fmt.Sprintf("%v is negative: no scheduled digest could be posted", v)
		p.Fix = "use a period such as 24h (the default), or 0 to turn scheduled digests off"
	case v == 0 && c.DigestChannel != "":
		p.Detail = "0: digests are off, although POOLTASKS_DIGEST_CHANNEL is set"
		p.Fix = "set a period such as 24h (the default), or unset POOLTASKS_DIGEST_CHANNEL"
	case v > 0 && v < lo:
		p.Detail = fmt.Sprintf("%v: every %v window needs a digest post of its own, which may be noisy in the channel", v, v)
		p.Fix = fmt.Sprintf("use %v or more (the default is 24h) unless you mean it", lo)
	case v > hi:
		p.Detail = fmt.Sprintf("%v: a digest covers more than %v and comes that rarely", v, hi)
		p.Fix = "use 24h (the default) or a few days unless you mean it"
	default:
		return
	}
	*ps = append(*ps, p)
}

// watchForwarding checks POOLTASKS_WATCH_URL and POOLTASKS_INTERNAL_TOKEN,
// never showing the token or the URL's password.
func watchForwarding(ps *Problems, c Config) {
	add := func(v string, s Severity, detail, fix string) {
		*ps = append(*ps, Problem{Var: v, Severity: s, Detail: detail, Fix: fix})
	}
	if c.WatchURL != "" {
		u, err := url.Parse(c.WatchURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("POOLTASKS_WATCH_URL", Error, fmt.Sprintf("%q is not an http(s) URL", quoteURL(c.WatchURL)),
				"write the scheduler's base URL, like http://pooltasks-scheduler:8080")
		}
		if c.InternalToken == "" {
			add("POOLTASKS_WATCH_URL", Error, "forwarding watches needs POOLTASKS_INTERNAL_TOKEN, which is not set",
				"set POOLTASKS_INTERNAL_TOKEN to the token the scheduler accepts")
		}
	}
	if c.WatchURL == "" && c.InternalToken != "" && c.HTTPAddr == "" {
		add("POOLTASKS_INTERNAL_TOKEN", Error, "watches are forwarded over POOLTASKS_HTTP_ADDR, which is empty",
			"set POOLTASKS_HTTP_ADDR, e.g. :8080, or unset POOLTASKS_INTERNAL_TOKEN")
	}
	if n := len(c.InternalToken); n > 0 && n < 16 {
		add("POOLTASKS_INTERNAL_TOKEN", Warning, fmt.Sprintf("only %d characters: easy to guess", n),
			"use a random token of 32 characters or more, e.g. `openssl rand -hex 32`")
	}
}

// alertRoutes checks POOLTASKS_ALERT_ROUTES and the thresholds, and returns
// every route (POOLTASKS_ALERT_CHANNEL's first) when they are usable.
func alertRoutes(ps *Problems, c Config, b Bindings) []Route {
	add := func(v string, s Severity, detail, fix string) {
		*ps = append(*ps, Problem{Var: v, Severity: s, Detail: detail, Fix: fix})
	}
	var routes []Route
	if c.AlertChannel != "" && channelIDRe.MatchString(c.AlertChannel) {
		pools, _ := b.Pools(c.AlertChannel) // all: nil
		routes = append(routes, Route{Channel: c.AlertChannel, Pools: pools})
	}
	rs, rps := parseRoutes(c.AlertRoutes)
	*ps = append(*ps, rps...)
	bad := rps.Err() != nil
	for _, r := range rs {
		if r.Channel == c.AlertChannel {
			add("POOLTASKS_ALERT_ROUTES", Error, fmt.Sprintf("routes %s, which is POOLTASKS_ALERT_CHANNEL too: its failures would be alerted there twice", r.Channel),
				"list the channel in one of them only: POOLTASKS_ALERT_CHANNEL is every pool it may see, a route the pools it names")
			bad = true
		}
	}
	routes = append(routes, rs...)
	if len(rs) > 0 {
		add("POOLTASKS_ALERT_ROUTES", Info, fmt.Sprintf("%d alert routes", len(rs)), "")
	}
	switch {
	case c.AlertMinFailed < 0:
		add("POOLTASKS_ALERT_MIN_FAILED", Error, fmt.Sprintf("%d is negative", c.AlertMinFailed),
			"write the failed desktops a task needs to be alerted: 0 or more (default 1; 0 also alerts a failed task with no failed desktop)")
		bad = true
	case c.AlertMinFailed > 1000:
		add("POOLTASKS_ALERT_MIN_FAILED", Warning, fmt.Sprintf("%d failed desktops: few tasks would ever be alerted", c.AlertMinFailed),
			"use 1 (the default) to a few dozen unless you mean it")
	}
	if r := c.AlertMinRatio; r < 0 || r > 1 || r != r {
		add("POOLTASKS_ALERT_MIN_RATIO", Error, fmt.Sprintf("%g is not a ratio from 0 to 1", r),
			"write the share of a task's desktops that must fail for an alert, e.g. 0.2 for 20% (default 0: any)")
		bad = true
	}
	if bad {
		return nil
	}
	return routes
}

// redisURL checks POOLTASKS_REDIS_URL: redis:// or rediss:// with a host,
// and TLS when a password crosses the network.
func redisURL(ps *Problems, c Config) {
	if c.RedisURL == "" {
		return
	}
	const name = "POOLTASKS_REDIS_URL"
	u, err := url.Parse(c.RedisURL)
	switch {
	case err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "":
		*ps = append(*ps, Problem{Var: name, Severity: Error, Detail: fmt.Sprintf("%q is not a redis:// or rediss:// URL", quoteURL(c.RedisURL)),
			Fix: "write redis://[:PASSWORD@]HOST:6379/0, or rediss://… for TLS"})
	case u.Scheme == "redis" && u.User != nil && !isLoopback(u.Hostname()):
		*ps = append(*ps, Problem{Var: name, Severity: Warning, Detail: fmt.Sprintf("%q sends its password to a remote host without TLS", quoteURL(c.RedisURL)),
			Fix: "use rediss:// when the Redis is reached over a network you do not trust"})
	}
	rangeDur(ps, "POOLTASKS_LEASE", c.Lease, 3*time.Second, 5*time.Minute)
	if c.WatchURL != "" || c.InternalToken != "" {
		*ps = append(*ps, Problem{Var: "POOLTASKS_WATCH_URL", Severity: Warning, Detail: "not used with POOLTASKS_REDIS_URL: watches are handed over through Redis",
			Fix: "unset POOLTASKS_WATCH_URL and POOLTASKS_INTERNAL_TOKEN"})
	}
	if strings.ContainsAny(c.RedisPrefix, " \t\n") {
		*ps = append(*ps, Problem{Var: "POOLTASKS_REDIS_PREFIX", Severity: Error, Detail: fmt.Sprintf("%q has white space", c.RedisPrefix),
			Fix: "use a prefix like pooltasks: (two deployments on one Redis need two prefixes)"})
	}
}

// rangeInt checks a count that is used when positive (0 means the default):
// a negative one is an error, one outside lo..hi a warning.
func rangeInt(ps *Problems, name string, v, lo, hi int) {
	switch {
	case v < 0:
		*ps = append(*ps, Problem{Var: name, Severity: Error, Detail: fmt.Sprintf("%d is negative", v),
			Fix: fmt.Sprintf("use %d to %d, or unset it for the default", lo, hi)})
	case v != 0 && (v < lo || v > hi):
		*ps = append(*ps, Problem{Var: name, Severity: Warning, Detail: fmt.Sprintf("%d is outside the usual %d to %d (pooltasks accepts it)", v, lo, hi),
			Fix: fmt.Sprintf("use %d to %d unless you mean it, or unset it for the default", lo, hi)})
	}
}

// rangeDur checks a duration that is used when positive (0 means the
// default): a negative one is an error, one outside lo..hi a warning.
func rangeDur(ps *Problems, name string, v, lo, hi time.Duration) {
	switch {
	case v < 0:
		*ps = append(*ps, Problem{Var: name, Severity: Error, Detail: fmt.Sprintf("%v is negative", v),
			Fix: fmt.Sprintf("use %v to %v, or unset it for the default", lo, hi)})
	case v != 0 && (v < lo || v > hi):
		*ps = append(*ps, Problem{Var: name, Severity: Warning, Detail: fmt.Sprintf("%v is outside the usual %v to %v (pooltasks accepts it)", v, lo, hi),
			Fix: fmt.Sprintf("use %v to %v unless you mean it, or unset it for the default", lo, hi)})
	}
}

func idList(ps *Problems, name string, ids []string, re *regexp.Regexp, what string) {
	var bad []string
	for _, id := range ids {
		if id = strings.TrimSpace(id); id != "" && !re.MatchString(id) {
			bad = append(bad, fmt.Sprintf("%q", id))
		}
	}
	if len(bad) > 0 {
		*ps = append(*ps, Problem{Var: name, Severity: Error, Detail: "not " + what + ": " + strings.Join(bad, ", "),
			Fix: "list Slack ids separated by commas (a member's profile → ⋮ → Copy member ID), not names"})
	}
}

// ParseTimeOfDay reads POOLTASKS_DIGEST_AT: "HH:MM" (or "HH:MM:SS", or a
// duration such as "9h30m") in UTC, as the offset from midnight; empty is
// midnight.
func ParseTimeOfDay(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if d, err := ParseDuration(s); err == nil {
		if d < 0 || d >= 24*time.Hour {
			return 0, fmt.Errorf("time of day %q is not within a day", s)
		}
		return d, nil
	}
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, fmt.Errorf("time of day %q: want HH:MM in UTC, e.g. 09:00", s)
	}
	limits := []int{24, 60, 60}
	units := []time.Duration{time.Hour, time.Minute, time.Second}
	var d time.Duration
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 || v >= limits[i] {
			return 0, fmt.Errorf("time of day %q: want HH:MM in UTC, e.g. 09:00", s)
		}
		d += time.Duration(v) * units[i]
	}
	return d, nil
}
