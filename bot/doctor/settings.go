package doctor

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/pooltasks/pooltasks/bot/notify"
)

// Settings are the configuration values doctor checks, named after their environment
// variables. A zero number or duration means "not set" and is not checked: the defaults
// apply. Except: POOLTASKS_DIGEST_EVERY=0 turns scheduled digests off, and
// POOLTASKS_USER_RATE=0 lifts the per-user limit, as in serve.
//
// Numbers serve accepts but that are probably not meant (outside the usual range) are
// warnings; only values serve cannot use as given (a negative period or count) fail.
type Settings struct {
	SlackAppToken string // SLACK_APP_TOKEN
	SlackBotToken string // SLACK_BOT_TOKEN
	SlackAPIURL   string // SLACK_API_URL

	Region        string // WORKSPACE_REGION
	Endpoint      string // WORKSPACE_ENDPOINT
	ProjectID     string // WORKSPACE_PROJECT_ID
	AK            string // HUAWEICLOUD_SDK_AK
	SK            string // HUAWEICLOUD_SDK_SK
	SecurityToken string // HUAWEICLOUD_SDK_SECURITY_TOKEN

	RateLimit float64       // WORKSPACE_RATE_LIMIT
	Burst     int           // WORKSPACE_BURST
	Timeout   time.Duration // WORKSPACE_TIMEOUT
	CacheTTL  time.Duration // WORKSPACE_CACHE_TTL

	AllowedUsers    []string // POOLTASKS_ALLOWED_USERS
	AllowedChannels []string // POOLTASKS_ALLOWED_CHANNELS
	AdminUsers      []string // POOLTASKS_ADMIN_USERS
	ChannelPools    string   // POOLTASKS_CHANNEL_POOLS, as written
	UserRate        int      // POOLTASKS_USER_RATE

	Scheduler      bool          // POOLTASKS_SCHEDULER
	DigestChannel  string        // POOLTASKS_DIGEST_CHANNEL
	DigestEvery    time.Duration // POOLTASKS_DIGEST_EVERY
	DigestAt       string        // POOLTASKS_DIGEST_AT, HH:MM in UTC
	DigestPools    []string      // POOLTASKS_DIGEST_POOLS, ids or names
	AlertChannel   string        // POOLTASKS_ALERT_CHANNEL
	AlertEvery     time.Duration // POOLTASKS_ALERT_EVERY
	WatchEvery     time.Duration // POOLTASKS_WATCH_EVERY
	WatchMax       time.Duration // POOLTASKS_WATCH_MAX
	WatchMaxActive int           // POOLTASKS_WATCH_MAX_ACTIVE
	StateDir       string        // POOLTASKS_STATE_DIR
	HTTPAddr       string        // POOLTASKS_HTTP_ADDR
}

// RequiredScopes are the bot scopes pooltasks needs; manifest.yml asks for exactly these
// (deploy's tests check that the two agree).
var RequiredScopes = []string{"commands", "chat:write", "chat:write.public", "app_mentions:read"}

var (
	userIDRe    = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)
	channelIDRe = regexp.MustCompile(`^[CGD][A-Z0-9]{2,}$`)
	projectIDRe = regexp.MustCompile(`^[0-9a-f]{32}$`)
)

func checkSettings(s Settings, sim bool) []Check {
	var cs []Check
	add := func(c Check) { cs = append(cs, c) }

	// With --sim an unset token needs no line here: the Slack checks say they were skipped.
	if s.SlackAppToken != "" || !sim {
		add(checkToken("SLACK_APP_TOKEN", s.SlackAppToken, "xapp-",
			"Basic Information → App-Level Tokens → Generate, with the scope connections:write"))
	}
	if s.SlackBotToken != "" || !sim {
		add(checkToken("SLACK_BOT_TOKEN", s.SlackBotToken, "xoxb-", "Install App → Bot User OAuth Token"))
	}
	if c, ok := checkSlackURL(s.SlackAPIURL); ok {
		add(c)
	}

	switch {
	case s.Region == "" && s.Endpoint == "":
		add(Check{Name: "WORKSPACE_REGION", Status: Fail, Detail: "neither WORKSPACE_REGION nor WORKSPACE_ENDPOINT is set",
			Fix: "set WORKSPACE_REGION to the region of your desktop pools, e.g. ap-southeast-1"})
	case s.Endpoint != "":
		if c, ok := checkEndpoint(s.Endpoint); ok {
			add(c)
		}
	}
	if s.Endpoint != "" && s.Region == "" && s.ProjectID == "" {
		add(Check{Name: "WORKSPACE_PROJECT_ID", Status: Fail, Detail: "an endpoint without a region needs the project id (it cannot be discovered)",
			Fix: "set WORKSPACE_PROJECT_ID (IAM console → My Credentials → Projects), or set WORKSPACE_REGION too"})
	}
	if s.ProjectID != "" && !projectIDRe.MatchString(s.ProjectID) {
		add(Check{Name: "WORKSPACE_PROJECT_ID", Status: Warn, Detail: fmt.Sprintf("%q is not shaped like a project id (32 lowercase hex digits)", s.ProjectID),
			Fix: "copy the project id of the region from IAM console → My Credentials → Projects"})
	}
	switch {
	case s.AK != "" && s.SK == "":
		add(Check{Name: "HUAWEICLOUD_SDK_SK", Status: Fail, Detail: "HUAWEICLOUD_SDK_AK is set but HUAWEICLOUD_SDK_SK is not",
			Fix: "set both, or neither to use the profile file, ECS metadata or pod identity"})
	case s.AK == "" && s.SK != "":
		add(Check{Name: "HUAWEICLOUD_SDK_AK", Status: Fail, Detail: "HUAWEICLOUD_SDK_SK is set but HUAWEICLOUD_SDK_AK is not",
			Fix: "set both, or neither to use the profile file, ECS metadata or pod identity"})
	case s.AK == "" && s.SecurityToken != "":
		add(Check{Name: "HUAWEICLOUD_SDK_SECURITY_TOKEN", Status: Warn, Detail: "a security token without HUAWEICLOUD_SDK_AK/SK is ignored",
			Fix: "set the temporary AK/SK that belong to the token"})
	}

	if s.RateLimit < 0 {
		add(Check{Name: "WORKSPACE_RATE_LIMIT", Status: Warn, Detail: fmt.Sprintf("%g: outbound API calls are not limited", s.RateLimit),
			Fix: "keep a limit (default 5 per second): the gateway throttles with APIGW.0308"})
	} else if s.RateLimit > 50 {
		add(Check{Name: "WORKSPACE_RATE_LIMIT", Status: Warn, Detail: fmt.Sprintf("%g requests per second is more than the API gateway usually allows", s.RateLimit),
			Fix: "use 5–20; the client retries throttled calls anyway"})
	}
	rangeInt(&cs, "WORKSPACE_BURST", s.Burst, 1, 100)
	rangeDur(&cs, "WORKSPACE_TIMEOUT", s.Timeout, time.Second, 2*time.Minute)
	switch {
	case s.CacheTTL < 0:
		add(Check{Name: "WORKSPACE_CACHE_TTL", Status: Warn, Detail: fmt.Sprintf("%v: the cache is off, as with 0", s.CacheTTL),
			Fix: "write 0 to turn the cache off, or a few seconds; the default is 10s"})
	case s.CacheTTL > 10*time.Minute:
		add(Check{Name: "WORKSPACE_CACHE_TTL", Status: Warn, Detail: fmt.Sprintf("%v: answers would be stale", s.CacheTTL),
			Fix: "use 0 (off) to a few seconds; the default is 10s"})
	}
	rangeInt(&cs, "POOLTASKS_USER_RATE", s.UserRate, 1, 1000) // 0: no per-user limit

	idList(&cs, "POOLTASKS_ALLOWED_USERS", s.AllowedUsers, userIDRe, "user ids (U… or W…)")
	idList(&cs, "POOLTASKS_ALLOWED_CHANNELS", s.AllowedChannels, channelIDRe, "channel ids (C…, G… or D…)")
	idList(&cs, "POOLTASKS_ADMIN_USERS", s.AdminUsers, userIDRe, "user ids (U… or W…)")
	if s.ChannelPools != "" {
		if err := ParseChannelPools(s.ChannelPools); err != nil {
			add(Check{Name: "POOLTASKS_CHANNEL_POOLS", Status: Fail, Detail: err.Error(),
				Fix: `write bindings as C123=pool-a,pool-b;C456=* (a channel id, "=", pools or *, ";" between bindings)`})
		} else {
			add(Check{Name: "POOLTASKS_CHANNEL_POOLS", Status: OK, Detail: "bindings parse"})
		}
	}

	if s.DigestChannel != "" && !channelIDRe.MatchString(s.DigestChannel) {
		add(Check{Name: "POOLTASKS_DIGEST_CHANNEL", Status: Fail, Detail: fmt.Sprintf("%q is not a channel id", s.DigestChannel),
			Fix: "use the channel id (C…), shown at the bottom of the channel's details; not its #name"})
	}
	if s.AlertChannel != "" && !channelIDRe.MatchString(s.AlertChannel) {
		add(Check{Name: "POOLTASKS_ALERT_CHANNEL", Status: Fail, Detail: fmt.Sprintf("%q is not a channel id", s.AlertChannel),
			Fix: "use the channel id (C…), shown at the bottom of the channel's details; not its #name"})
	}
	// The parser serve uses, so that doctor passes exactly what serve accepts.
	if _, err := notify.ParseTimeOfDay(s.DigestAt); err != nil {
		add(Check{Name: "POOLTASKS_DIGEST_AT", Status: Fail, Detail: err.Error(),
			Fix: "write HH:MM in UTC, e.g. 07:00"})
	}
	if c, ok := checkDigestEvery(s); ok {
		add(c)
	}
	rangeDur(&cs, "POOLTASKS_ALERT_EVERY", s.AlertEvery, 10*time.Second, time.Hour)
	rangeDur(&cs, "POOLTASKS_WATCH_EVERY", s.WatchEvery, 5*time.Second, 10*time.Minute)
	rangeDur(&cs, "POOLTASKS_WATCH_MAX", s.WatchMax, time.Minute, 24*time.Hour)
	rangeInt(&cs, "POOLTASKS_WATCH_MAX_ACTIVE", s.WatchMaxActive, 1, 200)
	if !s.Scheduler && (s.DigestChannel != "" || s.AlertChannel != "") {
		add(Check{Name: "POOLTASKS_SCHEDULER", Status: OK,
			Detail: "false: this process posts no scheduled digests or alerts (another process, or a CronJob, must)"})
	}
	// serve opens the state directory in every process, scheduler or not:
	// active watches are kept there too.
	if s.StateDir != "" {
		add(checkStateDir(s.StateDir))
	}
	if s.HTTPAddr != "" {
		if _, _, err := net.SplitHostPort(s.HTTPAddr); err != nil {
			add(Check{Name: "POOLTASKS_HTTP_ADDR", Status: Fail, Detail: fmt.Sprintf("%q: %v", s.HTTPAddr, err),
				Fix: "write host:port or :port, e.g. :8080"})
		}
	}
	return cs
}

// checkToken checks that a token is present, shaped like its kind and not a placeholder.
func checkToken(name, token, prefix, where string) Check {
	c := Check{Name: name}
	other := map[string]string{"xapp-": "xoxb-", "xoxb-": "xapp-"}[prefix]
	switch {
	case token == "":
		c.Status, c.Detail, c.Fix = Fail, "not set", "set it to the "+prefix+"… token from the app's settings: "+where
	case strings.Contains(strings.ToUpper(token), "REPLACE"):
		c.Status, c.Detail, c.Fix = Fail, "still the placeholder of the deploy/secret.yaml template", "put the real "+prefix+"… token in the Secret: "+where
	case strings.TrimSpace(token) != token:
		c.Status, c.Detail, c.Fix = Fail, "has leading or trailing white space", "remove the spaces or newline around the token"
	case strings.HasPrefix(token, other):
		c.Status, c.Detail, c.Fix = Fail, fmt.Sprintf("is a %s… token (%s): SLACK_APP_TOKEN and SLACK_BOT_TOKEN look swapped", other, Mask(token)),
			"swap the two values"
	case strings.HasPrefix(token, "xoxp-"):
		c.Status, c.Detail, c.Fix = Fail, fmt.Sprintf("is a user token (%s)", Mask(token)), "use the "+prefix+"… token: "+where
	case !strings.HasPrefix(token, prefix):
		c.Status, c.Detail, c.Fix = Fail, fmt.Sprintf("does not start with %s (%s)", prefix, Mask(token)), "use the "+prefix+"… token: "+where
	default:
		c.Status, c.Detail = OK, Mask(token)
	}
	return c
}

func checkSlackURL(u string) (Check, bool) {
	if u == "" {
		return Check{}, false
	}
	c := Check{Name: "SLACK_API_URL"}
	p, err := url.Parse(u)
	switch {
	case err != nil || p.Host == "" || (p.Scheme != "https" && p.Scheme != "http"):
		c.Status, c.Detail, c.Fix = Fail, fmt.Sprintf("%q is not an http(s) URL", u), "use https://slack.com/api/ (GovSlack: https://slack-gov.com/api/)"
	case p.Scheme == "http" && !isLoopback(p.Hostname()):
		c.Status, c.Detail, c.Fix = Fail, fmt.Sprintf("%q is plain http to a remote host: tokens would cross the network in clear", u), "use https"
	case !strings.HasSuffix(p.Path, "/"):
		c.Status, c.Detail, c.Fix = Fail, fmt.Sprintf("%q has no trailing slash: every method URL would be wrong", u), "add the trailing slash: "+u+"/"
	default:
		if u == "https://slack.com/api/" {
			return Check{}, false // the default needs no line
		}
		c.Status, c.Detail = OK, u
	}
	return c, true
}

func checkEndpoint(e string) (Check, bool) {
	p, err := url.Parse(e)
	if err != nil || p.Host == "" || (p.Scheme != "https" && p.Scheme != "http") {
		return Check{Name: "WORKSPACE_ENDPOINT", Status: Fail, Detail: fmt.Sprintf("%q is not an http(s) URL", e),
			Fix: "write the full base URL, e.g. https://workspace.ap-southeast-1.myhuaweicloud.com, or unset it to use the region's"}, true
	}
	if p.Scheme == "http" && !isLoopback(p.Hostname()) {
		return Check{Name: "WORKSPACE_ENDPOINT", Status: Warn, Detail: fmt.Sprintf("%q is plain http to a remote host", e),
			Fix: "use https; plain http is meant for local servers such as the simulator"}, true
	}
	return Check{}, false
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkDigestEvery checks POOLTASKS_DIGEST_EVERY as serve reads it: any positive
// period runs digests, 0 turns them off, a negative one is a mistake (serve posts
// none and only logs it).
func checkDigestEvery(s Settings) (Check, bool) {
	const name, lo, hi = "POOLTASKS_DIGEST_EVERY", 15 * time.Minute, 7 * 24 * time.Hour
	v := s.DigestEvery
	c := Check{Name: name}
	switch {
	case v < 0:
		c.Status, c.Detail = Fail, fmt.Sprintf("%v is negative: serve posts no scheduled digests", v)
		c.Fix = "use a period such as 24h (the default), or 0 to turn scheduled digests off"
	case v == 0 && s.DigestChannel != "":
		c.Status, c.Detail = Warn, "0: digests are off, although POOLTASKS_DIGEST_CHANNEL is set"
		c.Fix = "set a period such as 24h (the default), or unset POOLTASKS_DIGEST_CHANNEL"
	case v > 0 && v < lo:
		c.Status = Warn
		c.Detail = fmt.Sprintf("%v: every %v window needs a digest post of its own, which may be noisy in the channel", v, v)
		c.Fix = fmt.Sprintf("use %v or more (the default is 24h) unless you mean it", lo)
	case v > hi:
		c.Status = Warn
		c.Detail = fmt.Sprintf("%v: a digest covers more than %v and comes that rarely", v, hi)
		c.Fix = "use 24h (the default) or a few days unless you mean it"
	default:
		return Check{}, false
	}
	return c, true
}

// rangeInt checks a count serve accepts when positive (0 means the default): a negative
// one fails, one outside lo..hi is a warning.
func rangeInt(cs *[]Check, name string, v, lo, hi int) {
	switch {
	case v < 0:
		*cs = append(*cs, Check{Name: name, Status: Fail, Detail: fmt.Sprintf("%d is negative", v),
			Fix: fmt.Sprintf("use %d to %d, or unset it for the default", lo, hi)})
	case v != 0 && (v < lo || v > hi):
		*cs = append(*cs, Check{Name: name, Status: Warn, Detail: fmt.Sprintf("%d is outside the usual %d to %d (serve accepts it)", v, lo, hi),
			Fix: fmt.Sprintf("use %d to %d unless you mean it, or unset it for the default", lo, hi)})
	}
}

// rangeDur checks a duration serve accepts when positive (0 means the default): a
// negative one fails, one outside lo..hi is a warning.
func rangeDur(cs *[]Check, name string, v, lo, hi time.Duration) {
	switch {
	case v < 0:
		*cs = append(*cs, Check{Name: name, Status: Fail, Detail: fmt.Sprintf("%v is negative", v),
			Fix: fmt.Sprintf("use %v to %v, or unset it for the default", lo, hi)})
	case v != 0 && (v < lo || v > hi):
		*cs = append(*cs, Check{Name: name, Status: Warn, Detail: fmt.Sprintf("%v is outside the usual %v to %v (serve accepts it)", v, lo, hi),
			Fix: fmt.Sprintf("use %v to %v unless you mean it, or unset it for the default", lo, hi)})
	}
}

func idList(cs *[]Check, name string, ids []string, re *regexp.Regexp, what string) {
	var bad []string
	for _, id := range ids {
		if id = strings.TrimSpace(id); id != "" && !re.MatchString(id) {
			bad = append(bad, fmt.Sprintf("%q", id))
		}
	}
	if len(bad) > 0 {
		*cs = append(*cs, Check{Name: name, Status: Fail, Detail: "not " + what + ": " + strings.Join(bad, ", "),
			Fix: "list Slack ids separated by commas (a member's profile → ⋮ → Copy member ID), not names"})
	}
}

// ParseChannelPools checks POOLTASKS_CHANNEL_POOLS bindings, `C123=pool-a,pool-b;C456=*`,
// and returns an error naming the first binding that does not parse.
func ParseChannelPools(s string) error {
	seen := map[string]bool{}
	for i, b := range strings.Split(s, ";") {
		b = strings.TrimSpace(b)
		if b == "" {
			continue
		}
		ch, pools, ok := strings.Cut(b, "=")
		ch = strings.TrimSpace(ch)
		switch {
		case !ok:
			return fmt.Errorf("binding %d %q has no \"=\"", i+1, b)
		case !channelIDRe.MatchString(ch):
			return fmt.Errorf("binding %d: %q is not a channel id", i+1, ch)
		case seen[ch]:
			return fmt.Errorf("channel %s is bound twice", ch)
		}
		seen[ch] = true
		var list []string
		for _, p := range strings.Split(pools, ",") {
			if p = strings.TrimSpace(p); p == "" {
				return fmt.Errorf("binding %d (%s) has an empty pool", i+1, ch)
			}
			list = append(list, p)
		}
		if len(list) > 1 && contains(list, "*") {
			return fmt.Errorf("binding %d (%s) mixes * with pool names", i+1, ch)
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// checkStateDir makes sure serve can write its state (a read-only root file system without a
// volume at POOLTASKS_STATE_DIR cannot, and serve then fails at start). It creates nothing that stays: a missing
// directory is checked through the nearest parent that exists.
func checkStateDir(dir string) Check {
	c := Check{Name: "POOLTASKS_STATE_DIR"}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	probe, note := filepath.Clean(dir), " is writable"
	for {
		fi, err := os.Stat(probe)
		if err == nil {
			if !fi.IsDir() {
				c.Status, c.Detail, c.Fix = Fail, probe+" is not a directory", "point POOLTASKS_STATE_DIR at a directory on a writable volume (the image declares /var/lib/pooltasks)"
				return c
			}
			break
		}
		parent := filepath.Dir(probe)
		if !errors.Is(err, fs.ErrNotExist) || parent == probe {
			c.Status, c.Detail, c.Fix = Fail, fmt.Sprintf("cannot use %s: %v", dir, err), "mount a writable volume there (the image declares /var/lib/pooltasks)"
			return c
		}
		probe, note = parent, " does not exist yet; it will be created in "+parent
	}
	f, err := os.CreateTemp(probe, ".pooltasks-doctor-*")
	if err != nil {
		c.Status, c.Detail, c.Fix = Fail, fmt.Sprintf("%s is not writable: %v", probe, err), "mount a writable volume there (on Kubernetes: fsGroup 65532 and a PVC)"
		return c
	}
	name := f.Name()
	f.Close()
	os.Remove(name)
	c.Status, c.Detail = OK, filepath.Clean(dir)+note
	return c
}

// Mask shows a secret as its kind and last four characters at most (xoxb-…WXYZ), so a
// person can tell two tokens apart without the report holding either.
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
