package config

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	botToken = "xoxb-1111111111-2222222222-abcdefghijklmnopqrstWXYZ"
	appToken = "xapp-1-A0123456789-1234567890123-0123456789abcdef0123456789abcdefAPPT"
	demoSK   = "demo-secret-key-0123456789abcdef0123456789"
)

// valid is a configuration Validate passes for serve without a problem.
func valid() Config {
	return Config{
		SlackAppToken: appToken, SlackBotToken: botToken,
		Region: "ap-southeast-1", Endpoint: "http://127.0.0.1:1", ProjectID: "0123456789abcdef0123456789abcdef",
		AK: "DEMOAKDEMOAKDEMOAK01", SK: demoSK, Scheduler: true,
	}
}

const serveNeeds = NeedAppToken | NeedBotToken | NeedWorkspace

// find returns the first problem of a variable at a severity other than
// Info, or the Info one when that is all there is.
// problems is what c.Validate(needs) found.
func problems(c Config, needs Need) Problems {
	_, ps := c.Validate(needs)
	return ps
}

// TestValidateParsed: Validate returns what it parsed, so no caller parses
// a variable again.
func TestValidateParsed(t *testing.T) {
	c := valid()
	c.ChannelPools, c.DigestAt = "C1=pool-a;*=", "07:30"
	parsed, ps := c.Validate(serveNeeds)
	if err := ps.Err(); err != nil {
		t.Fatal(err)
	}
	if parsed.DigestAt != 7*time.Hour+30*time.Minute {
		t.Errorf("DigestAt = %v, want 7h30m", parsed.DigestAt)
	}
	if pools, all := parsed.Bindings.Pools("C1"); all || !slices.Equal(pools, []string{"pool-a"}) {
		t.Errorf("C1 sees %v (all %v), want [pool-a]", pools, all)
	}
	if pools, all := parsed.Bindings.Pools("C2"); all || len(pools) > 0 {
		t.Errorf("C2 sees %v (all %v), want nothing", pools, all)
	}
}

func find(ps Problems, name string) (Problem, bool) {
	var info *Problem
	for i, p := range ps {
		if p.Var != name {
			continue
		}
		if p.Severity != Info {
			return p, true
		}
		info = &ps[i]
	}
	if info != nil {
		return *info, true
	}
	return Problem{}, false
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(c *Config)
		check  string
		status Severity
		words  []string
	}{
		{"tokens swapped", func(c *Config) { c.SlackAppToken, c.SlackBotToken = c.SlackBotToken, c.SlackAppToken },
			"SLACK_BOT_TOKEN", Error, []string{"swapped", "xapp-…APPT"}},
		{"user token", func(c *Config) { c.SlackBotToken = "xoxp-1111111111-2222222222-abcdefghijklmnopUSER" },
			"SLACK_BOT_TOKEN", Error, []string{"user token", "Bot User OAuth Token"}},
		{"placeholder", func(c *Config) { c.SlackAppToken = "xapp-REPLACE-ME" },
			"SLACK_APP_TOKEN", Error, []string{"placeholder"}},
		{"newline in token", func(c *Config) { c.SlackBotToken += "\n" },
			"SLACK_BOT_TOKEN", Error, []string{"white space"}},
		{"garbage token", func(c *Config) { c.SlackBotToken = "abc" },
			"SLACK_BOT_TOKEN", Error, []string{"does not start with xoxb-"}},
		{"api url without slash", func(c *Config) { c.SlackAPIURL = "https://slack-gov.com/api" },
			"SLACK_API_URL", Error, []string{"trailing slash"}},
		{"api url in clear", func(c *Config) { c.SlackAPIURL = "http://slack.example.com/api/" },
			"SLACK_API_URL", Error, []string{"plain http"}},
		{"example digest channel", func(c *Config) { c.DigestChannel = ExampleChannel },
			"POOLTASKS_DIGEST_CHANNEL", Warning, []string{"example channel id", "your channel's id"}},
		{"example alert channel", func(c *Config) { c.AlertChannel = ExampleChannel },
			"POOLTASKS_ALERT_CHANNEL", Warning, []string{"example channel id"}},
		{"no region", func(c *Config) { c.Region, c.Endpoint = "", "" },
			"WORKSPACE_REGION", Error, []string{"ap-southeast-1"}},
		{"endpoint without region or project", func(c *Config) { c.Region, c.ProjectID = "", "" },
			"WORKSPACE_PROJECT_ID", Error, []string{"cannot be discovered"}},
		{"bad endpoint", func(c *Config) { c.Endpoint = "workspace.example.com" },
			"WORKSPACE_ENDPOINT", Error, []string{"not an http(s) URL"}},
		{"odd project id", func(c *Config) { c.ProjectID = "my-project" },
			"WORKSPACE_PROJECT_ID", Warning, []string{"32 lowercase hex"}},
		{"AK without SK", func(c *Config) { c.SK = "" },
			"HUAWEICLOUD_SDK_SK", Error, []string{"set both"}},
		{"SK without AK", func(c *Config) { c.AK = "" },
			"HUAWEICLOUD_SDK_AK", Error, []string{"set both"}},
		{"burst zero-ish", func(c *Config) { c.Burst = -1 },
			"WORKSPACE_BURST", Error, []string{"1 to 100"}},
		{"unlimited rate", func(c *Config) { c.RateLimit = -1 },
			"WORKSPACE_RATE_LIMIT", Warning, []string{"not limited"}},
		{"burst large", func(c *Config) { c.Burst = 500 },
			"WORKSPACE_BURST", Warning, []string{"outside the usual 1 to 100", "pooltasks accepts it"}},
		{"huge timeout", func(c *Config) { c.Timeout = time.Hour },
			"WORKSPACE_TIMEOUT", Warning, []string{"outside the usual", "pooltasks accepts it"}},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second },
			"WORKSPACE_TIMEOUT", Error, []string{"negative"}},
		{"unknown action", func(c *Config) { c.Actions = []string{"retry", "reboot"} },
			"POOLTASKS_ACTIONS", Error, []string{`"reboot"`, "retry, stop and rerun"}},
		{"actions without operators", func(c *Config) { c.Actions = []string{"retry"} },
			"POOLTASKS_OPERATORS", Warning, []string{"nobody may take them"}},
		{"operator by name", func(c *Config) { c.Actions, c.Operators = []string{"stop"}, []string{"U01ANA", "@ana"} },
			"POOLTASKS_OPERATORS", Error, []string{`"@ana"`, "user group ids (S…)"}},
		{"approval of a disabled action", func(c *Config) {
			c.Actions, c.Operators, c.Approval = []string{"retry"}, []string{"S0GROUP"}, []string{"stop"}
		}, "POOLTASKS_APPROVAL", Warning, []string{"stop", "not in POOLTASKS_ACTIONS"}},
		{"approval with one operator", func(c *Config) {
			c.Actions, c.Operators, c.Approval = []string{"retry"}, []string{"U01ANA"}, []string{"retry"}
		}, "POOLTASKS_APPROVAL", Warning, []string{"second operator"}},
		{"negative action rate", func(c *Config) { c.ActionRate = -1 },
			"POOLTASKS_ACTION_RATE", Error, []string{"negative"}},
		{"negative approval ttl", func(c *Config) { c.ApprovalTTL = -time.Minute },
			"POOLTASKS_APPROVAL_TTL", Error, []string{"negative"}},
		{"negative cache ttl", func(c *Config) { c.CacheTTL = -time.Second },
			"WORKSPACE_CACHE_TTL", Warning, []string{"cache is off"}},
		{"stale cache ttl", func(c *Config) { c.CacheTTL = time.Hour },
			"WORKSPACE_CACHE_TTL", Warning, []string{"stale"}},
		{"user rate", func(c *Config) { c.UserRate = 5000 },
			"POOLTASKS_USER_RATE", Warning, []string{"1 to 1000", "pooltasks accepts it"}},
		{"negative user rate", func(c *Config) { c.UserRate = -1 },
			"POOLTASKS_USER_RATE", Error, []string{"negative", "1 to 1000"}},
		{"channel pools", func(c *Config) { c.ChannelPools = "C0123=pool-a;general=pool-b" },
			"POOLTASKS_CHANNEL_POOLS", Error, []string{`entry "general=pool-b" binds "general", which is not a channel id`}},
		{"admin names", func(c *Config) { c.AdminUsers = []string{"U012AB3CD", "@alice"} },
			"POOLTASKS_ADMIN_USERS", Error, []string{`"@alice"`}},
		{"allowed channels", func(c *Config) { c.AllowedChannels = []string{"#ops"} },
			"POOLTASKS_ALLOWED_CHANNELS", Error, []string{`"#ops"`}},
		{"digest channel name", func(c *Config) { c.DigestChannel = "#ops" },
			"POOLTASKS_DIGEST_CHANNEL", Error, []string{"channel id"}},
		{"alert channel name", func(c *Config) { c.AlertChannel = "ops" },
			"POOLTASKS_ALERT_CHANNEL", Error, []string{"channel id"}},
		{"digest at", func(c *Config) { c.DigestAt = "7am" },
			"POOLTASKS_DIGEST_AT", Error, []string{"HH:MM"}},
		{"digest every short", func(c *Config) { c.DigestChannel, c.DigestEvery = "C0123", 5*time.Minute },
			"POOLTASKS_DIGEST_EVERY", Warning, []string{"5m0s", "post of its own", "noisy", "15m0s or more"}},
		{"digest every short, no channel", func(c *Config) { c.DigestEvery = time.Minute },
			"POOLTASKS_DIGEST_EVERY", Warning, []string{"noisy"}},
		{"digest every zero", func(c *Config) { c.DigestChannel, c.DigestEvery = "C0123", 0 },
			"POOLTASKS_DIGEST_EVERY", Warning, []string{"digests are off"}},
		{"digest every negative", func(c *Config) { c.DigestChannel, c.DigestEvery = "C0123", -time.Hour },
			"POOLTASKS_DIGEST_EVERY", Error, []string{"negative", "0 to turn scheduled digests off"}},
		{"digest every long", func(c *Config) { c.DigestChannel, c.DigestEvery = "C0123", 30*24*time.Hour },
			"POOLTASKS_DIGEST_EVERY", Warning, []string{"rarely"}},
		{"alert every short", func(c *Config) { c.AlertEvery = time.Second },
			"POOLTASKS_ALERT_EVERY", Warning, []string{"outside the usual"}},
		{"alert every negative", func(c *Config) { c.AlertEvery = -time.Minute },
			"POOLTASKS_ALERT_EVERY", Error, []string{"negative"}},
		{"watch every", func(c *Config) { c.WatchEvery = time.Second },
			"POOLTASKS_WATCH_EVERY", Warning, []string{"outside the usual", "pooltasks accepts it"}},
		{"watch max long", func(c *Config) { c.WatchMax = 48 * time.Hour },
			"POOLTASKS_WATCH_MAX", Warning, []string{"outside the usual"}},
		{"watch max negative", func(c *Config) { c.WatchMax = -time.Hour },
			"POOLTASKS_WATCH_MAX", Error, []string{"negative"}},
		{"watch max active", func(c *Config) { c.WatchMaxActive = -3 },
			"POOLTASKS_WATCH_MAX_ACTIVE", Error, []string{"negative", "1 to 200"}},
		{"watch max active large", func(c *Config) { c.WatchMaxActive = 500 },
			"POOLTASKS_WATCH_MAX_ACTIVE", Warning, []string{"outside the usual"}},
		{"http addr", func(c *Config) { c.HTTPAddr = "8080" },
			"POOLTASKS_HTTP_ADDR", Error, []string{":8080"}},
		{"log level", func(c *Config) { c.LogLevel = "loud" },
			"LOG_LEVEL", Error, []string{`"loud"`, "debug, info, warn or error"}},
		{"log format", func(c *Config) { c.LogFormat = "xml" },
			"LOG_FORMAT", Error, []string{`"xml"`}},
		{"watch url without token", func(c *Config) { c.WatchURL = "http://pooltasks-scheduler:8080" },
			"POOLTASKS_WATCH_URL", Error, []string{"POOLTASKS_INTERNAL_TOKEN"}},
		{"watch url not a url", func(c *Config) { c.WatchURL, c.InternalToken = "pooltasks-scheduler:8080", strings.Repeat("t", 32) },
			"POOLTASKS_WATCH_URL", Error, []string{"not an http(s) URL"}},
		{"watch url ftp", func(c *Config) { c.WatchURL, c.InternalToken = "ftp://pooltasks-scheduler", strings.Repeat("t", 32) },
			"POOLTASKS_WATCH_URL", Error, []string{"not an http(s) URL"}},
		{"internal token, nowhere to serve", func(c *Config) { c.InternalToken = strings.Repeat("t", 32) },
			"POOLTASKS_INTERNAL_TOKEN", Error, []string{"POOLTASKS_HTTP_ADDR"}},
		{"internal token short", func(c *Config) { c.InternalToken, c.HTTPAddr = "s3cret-tok", ":8080" },
			"POOLTASKS_INTERNAL_TOKEN", Warning, []string{"10 characters"}},
		{"redis url of another scheme", func(c *Config) { c.RedisURL = "http://:pw-long-enough@redis:6379" },
			"POOLTASKS_REDIS_URL", Error, []string{"not a redis:// or rediss:// URL", "http://:xxxxx@redis:6379"}},
		{"redis url without host", func(c *Config) { c.RedisURL = "redis:///0" },
			"POOLTASKS_REDIS_URL", Error, []string{"not a redis:// or rediss:// URL"}},
		{"redis password in clear", func(c *Config) { c.RedisURL = "redis://:pw-long-enough@redis.example:6379/0" },
			"POOLTASKS_REDIS_URL", Warning, []string{"without TLS", "redis://:xxxxx@redis.example"}},
		{"redis lease short", func(c *Config) { c.RedisURL, c.Lease = "redis://127.0.0.1:6379", time.Second },
			"POOLTASKS_LEASE", Warning, []string{"outside the usual"}},
		{"redis with the watch api", func(c *Config) {
			c.RedisURL, c.WatchURL, c.InternalToken = "redis://127.0.0.1:6379", "http://sched:8080", strings.Repeat("t", 32)
		}, "POOLTASKS_WATCH_URL", Warning, []string{"not used with POOLTASKS_REDIS_URL"}},
		{"redis prefix with a space", func(c *Config) { c.RedisURL, c.RedisPrefix = "redis://127.0.0.1:6379", "pool tasks:" },
			"POOLTASKS_REDIS_PREFIX", Error, []string{"white space"}},
		{"alert channel that sees nothing", func(c *Config) { c.ChannelPools, c.AlertChannel = "C1=pool-a;*=", "C0ALERT" },
			"POOLTASKS_ALERT_CHANNEL", Error, []string{"C0ALERT may see no pool"}},
		{"digest channel that sees nothing", func(c *Config) { c.ChannelPools, c.DigestChannel = "*=", "C0DIG" },
			"POOLTASKS_DIGEST_CHANNEL", Error, []string{"C0DIG may see no pool"}},
		{"empty digest pool", func(c *Config) { c.DigestPools = []string{"a", " "} },
			"POOLTASKS_DIGEST_POOLS", Error, []string{"empty pool"}},
		{"default bindings", func(c *Config) {},
			"POOLTASKS_CHANNEL_POOLS", Info, []string{"no channel is bound", "every pool (no *= entry)"}},
		{"bindings with nothing for others", func(c *Config) { c.ChannelPools = "C1=pool-a;*=" },
			"POOLTASKS_CHANNEL_POOLS", Info, []string{"1 channel is bound", "see no pool (*=)"}},
		{"bindings with pools for others", func(c *Config) { c.ChannelPools = "C1=pool-a;C2=*;*=pool-b,pool-c" },
			"POOLTASKS_CHANNEL_POOLS", Info, []string{"2 channels are bound", "see only pool-b, pool-c (*=)"}},
		{"bindings listing a pool twice", func(c *Config) { c.ChannelPools = "C1=pool-a,POOL-A" },
			"POOLTASKS_CHANNEL_POOLS", Warning, []string{"twice"}},
		{"alert route not a channel", func(c *Config) { c.AlertRoutes = "C0FIN=Finance*;ops=*" },
			"POOLTASKS_ALERT_ROUTES", Error, []string{`entry "ops=*" binds "ops", which is not a channel id`}},
		{"alert route for every other channel", func(c *Config) { c.AlertRoutes = "C0FIN=Finance*;*=pool-a" },
			"POOLTASKS_ALERT_ROUTES", Error, []string{`entry "*=pool-a" names no channel`}},
		{"alert route twice", func(c *Config) { c.AlertRoutes = "C0FIN=Finance*;C0FIN=pool-x" },
			"POOLTASKS_ALERT_ROUTES", Error, []string{"binds C0FIN a second time"}},
		{"alert route and alert channel alike", func(c *Config) { c.AlertChannel, c.AlertRoutes = "C0OPS", "C0FIN=Finance*;C0OPS=pool-x" },
			"POOLTASKS_ALERT_ROUTES", Error, []string{"routes C0OPS, which is POOLTASKS_ALERT_CHANNEL too"}},
		{"alert routes", func(c *Config) { c.AlertRoutes = "C0FIN=Finance*,pool-x;C0OPS=*" },
			"POOLTASKS_ALERT_ROUTES", Info, []string{"2 alert routes"}},
		{"alert min failed negative", func(c *Config) { c.AlertMinFailed = -1 },
			"POOLTASKS_ALERT_MIN_FAILED", Error, []string{"negative"}},
		{"alert min ratio a percentage", func(c *Config) { c.AlertMinRatio = 20 },
			"POOLTASKS_ALERT_MIN_RATIO", Error, []string{"20 is not a ratio from 0 to 1", "0.2 for 20%"}},
		{"alert min ratio just above 1", func(c *Config) { c.AlertMinRatio = 1.01 },
			"POOLTASKS_ALERT_MIN_RATIO", Error, []string{"1.01 is not a ratio from 0 to 1"}},
		{"alert min ratio negative", func(c *Config) { c.AlertMinRatio = -0.1 },
			"POOLTASKS_ALERT_MIN_RATIO", Error, []string{"-0.1 is not a ratio from 0 to 1"}},
		{"alert min ratio NaN", func(c *Config) { c.AlertMinRatio = math.NaN() },
			"POOLTASKS_ALERT_MIN_RATIO", Error, []string{"NaN is not a ratio from 0 to 1"}},
		{"scheduler off, routes only", func(c *Config) { c.Scheduler, c.AlertRoutes = false, "C0FIN=*" },
			"POOLTASKS_SCHEDULER", Info, []string{"another process"}},
		{"scheduler off", func(c *Config) { c.Scheduler, c.AlertChannel = false, "C0ALERT" },
			"POOLTASKS_SCHEDULER", Info, []string{"another process"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.change(&c)
			ps := problems(c, serveNeeds)
			p, ok := find(ps, tc.check)
			if !ok {
				t.Fatalf("no problem with %s in %v", tc.check, ps)
			}
			if p.Severity != tc.status {
				t.Errorf("%s: severity %v, want %v (%s; fix: %s)", tc.check, p.Severity, tc.status, p.Detail, p.Fix)
			}
			for _, w := range tc.words {
				if !strings.Contains(p.Detail+" "+p.Fix, w) {
					t.Errorf("%s: %q lacks %q (fix: %q)", tc.check, p.Detail, w, p.Fix)
				}
			}
			if got := ps.Err() != nil; got != (tc.status == Error) {
				t.Errorf("Err() = %v, want an error %v", ps.Err(), tc.status == Error)
			}
			for _, s := range c.Secrets() {
				for _, p := range ps {
					if strings.Contains(p.String(), s.Value) {
						t.Errorf("a problem shows %s: %s", s.Name, p)
					}
				}
			}
		})
	}
}

// TestValidateAlertThresholdLimits: the thresholds' limits are values
// like any other, with no problem: 0 failed desktops (a failed task with
// none is alerted too), a share of 0 (any) or of 1 (every desktop failed).
func TestValidateAlertThresholdLimits(t *testing.T) {
	for _, th := range []struct {
		failed int
		ratio  float64
	}{{0, 0}, {0, 1}, {1000, 1}} {
		c := valid()
		c.AlertMinFailed, c.AlertMinRatio = th.failed, th.ratio
		for _, name := range []string{"POOLTASKS_ALERT_MIN_FAILED", "POOLTASKS_ALERT_MIN_RATIO"} {
			if p, ok := find(problems(c, serveNeeds), name); ok {
				t.Errorf("%d and %g: %s", th.failed, th.ratio, p)
			}
		}
	}
}

// TestValidateActions: the actions enabled and those needing approval are
// parsed once, whatever their case and spacing.
func TestValidateActions(t *testing.T) {
	c := valid()
	c.Actions, c.Approval, c.Operators = []string{" Retry", "stop ", "retry"}, []string{"STOP"}, []string{"U01ANA", "S02OPS"}
	parsed, ps := c.Validate(serveNeeds)
	if err := ps.Err(); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(parsed.Actions, parsed.Approval); got != "[retry stop] [stop]" {
		t.Errorf("actions, approval = %s, want [retry stop] [stop]", got)
	}
	c.Actions = nil
	if parsed, _ := c.Validate(serveNeeds); len(parsed.Actions)+len(parsed.Approval) != 0 {
		t.Errorf("read-only: %v %v", parsed.Actions, parsed.Approval)
	}
}

// TestValidateValid: the configuration of an empty environment, with the
// tokens and a region set, has no problem but the bindings' note.
func TestValidateValid(t *testing.T) {
	c := Load(env(nil))
	c.SlackAppToken, c.SlackBotToken, c.Region = appToken, botToken, "ap-southeast-1"
	for _, p := range problems(c, serveNeeds) {
		if p.Severity != Info {
			t.Errorf("%s", p)
		}
	}
}

// TestValidateNeeds: what is missing is an error only for a subcommand
// that needs it.
func TestValidateNeeds(t *testing.T) {
	var empty Config
	for _, tc := range []struct {
		needs Need
		want  []string
	}{
		{0, nil},
		{NeedAppToken, []string{"SLACK_APP_TOKEN"}},
		{NeedBotToken, []string{"SLACK_BOT_TOKEN"}},
		{NeedWorkspace, []string{"WORKSPACE_REGION"}},
		{serveNeeds, []string{"SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "WORKSPACE_REGION"}},
	} {
		var got []string
		if err := problems(empty, tc.needs).Err(); err != nil {
			for _, p := range err.(*InvalidError).Problems {
				got = append(got, p.Var)
			}
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("needs %b: errors (-want +got)\n%s", tc.needs, d)
		}
	}
}

// TestURLPasswordNeverQuoted: a URL with a password is never quoted back
// whole, in a problem or in the configuration's String.
func TestURLPasswordNeverQuoted(t *testing.T) {
	c := valid()
	c.WatchURL = "ftp://svc:pa%24%24word-0123@pooltasks-scheduler:8080"
	c.SlackAPIURL = "http://bot:hunter2-slack@slack.example.com/api"
	c.Endpoint = "workspace:hunter3-wks@example.com"
	ps := problems(c, serveNeeds)
	text := ""
	for _, p := range ps {
		text += p.String() + "\n"
	}
	text += c.String() + fmtGo(c)
	for _, secret := range []string{"pa$$word-0123", "pa%24%24word-0123", "hunter2-slack", "hunter3-wks"} {
		if strings.Contains(text, secret) {
			t.Errorf("%q quoted back:\n%s", secret, text)
		}
	}
	for _, v := range []string{"POOLTASKS_WATCH_URL", "SLACK_API_URL", "WORKSPACE_ENDPOINT"} {
		if p, ok := find(ps, v); !ok || p.Severity != Error {
			t.Errorf("%s: %v, want an error", v, p)
		}
	}
	var names []string
	for _, s := range c.Secrets() {
		names = append(names, s.Name+"="+s.Value)
	}
	for _, want := range []string{"POOLTASKS_WATCH_URL password=pa$$word-0123", "POOLTASKS_WATCH_URL password=pa%24%24word-0123",
		"SLACK_API_URL password=hunter2-slack", "SLACK_BOT_TOKEN=" + botToken, "HUAWEICLOUD_SDK_SK=" + demoSK} {
		if !strings.Contains(strings.Join(names, "\n"), want) {
			t.Errorf("Secrets() lacks %s: %v", want, names)
		}
	}
}

// TestDigestEvery: every period runs digests without an error, the usual
// ones without a line; 0 without a digest channel says nothing.
func TestDigestEvery(t *testing.T) {
	for _, tc := range []struct {
		every time.Duration
		line  bool
	}{
		{time.Second, true}, {14 * time.Minute, true}, {15 * time.Minute, false}, {time.Hour, false},
		{24 * time.Hour, false}, {7 * 24 * time.Hour, false}, {8 * 24 * time.Hour, true},
	} {
		c := Config{Region: "ap-southeast-1", DigestChannel: "C0123", DigestEvery: tc.every}
		p, ok := find(problems(c, 0), "POOLTASKS_DIGEST_EVERY")
		if ok != tc.line || (ok && p.Severity != Warning) {
			t.Errorf("POOLTASKS_DIGEST_EVERY=%v: line %v (%v), want line %v and no error", tc.every, ok, p, tc.line)
		}
	}
	if p, ok := find(problems(Config{}, 0), "POOLTASKS_DIGEST_EVERY"); ok {
		t.Errorf("POOLTASKS_DIGEST_EVERY=0 without a digest channel: %v", p)
	}
}

func TestParseTimeOfDay(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"": 0, "07:00": 7 * time.Hour, "7:00": 7 * time.Hour, "23:59:30": 23*time.Hour + 59*time.Minute + 30*time.Second,
		"9h30m": 9*time.Hour + 30*time.Minute, " 00:15 ": 15 * time.Minute,
	} {
		if got, err := ParseTimeOfDay(in); err != nil || got != want {
			t.Errorf("ParseTimeOfDay(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"7am", "24:00", "12:60", "1:2:3:4", "-1h", "25h", "12"} {
		if _, err := ParseTimeOfDay(in); err == nil {
			t.Errorf("ParseTimeOfDay(%q) accepted", in)
		}
	}
	if p, ok := find(problems(Config{DigestAt: "7am"}, 0), "POOLTASKS_DIGEST_AT"); !ok || p.Severity != Error {
		t.Errorf("POOLTASKS_DIGEST_AT=7am: %v", p)
	}
}

func TestMask(t *testing.T) {
	for in, want := range map[string]string{
		botToken:                "xoxb-…WXYZ",
		appToken:                "xapp-…APPT",
		"xoxb-short":            "xoxb-…",
		"":                      "…",
		"ABCDEFGHIJKLMNOPQRST1": "…RST1",
	} {
		if got := Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
}

func fmtGo(c Config) string { return fmt.Sprintf("%#v %v %+v", c, c, c) }

// TestShortSecretWarned: a secret too short to be redacted inside a text
// (redact.MinLen) is said, so that nobody relies on the logs hiding it.
func TestShortSecretWarned(t *testing.T) {
	c := valid()
	c.SK = "b"
	p, ok := find(problems(c, serveNeeds), "HUAWEICLOUD_SDK_SK")
	if !ok || p.Severity != Warning || strings.Contains(p.Detail, `"b"`) {
		t.Errorf("a one-letter SK: %+v, want a warning that does not quote it", p)
	}
	if _, ok := find(problems(valid(), serveNeeds), "HUAWEICLOUD_SDK_SK"); ok {
		t.Errorf("a real-length SK is warned about")
	}
}

// TestAlertRoutes: POOLTASKS_ALERT_CHANNEL and POOLTASKS_ALERT_ROUTES give
// one route per channel, the alert channel's first with the pools its
// binding lets it see; "*" is every pool.
func TestAlertRoutes(t *testing.T) {
	c := valid()
	c.ChannelPools, c.AlertChannel = "C0OPS=pool-a,pool-b", "C0OPS"
	c.AlertRoutes = "C0FIN=Finance*,pool-x; C0ALL=*"
	parsed, ps := c.Validate(serveNeeds)
	if err := ps.Err(); err != nil {
		t.Fatal(err)
	}
	want := []Route{{Channel: "C0OPS", Pools: []string{"pool-a", "pool-b"}}, {Channel: "C0ALL"}, {Channel: "C0FIN", Pools: []string{"Finance*", "pool-x"}}}
	if diff := cmp.Diff(want, parsed.AlertRoutes); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
	c.AlertRoutes = "C0FIN=Finance*;oops"
	if parsed, ps := c.Validate(serveNeeds); ps.Err() == nil || parsed.AlertRoutes != nil {
		t.Errorf("bad routes gave %v, %v; want an error and no routes", parsed.AlertRoutes, ps.Err())
	}
}
