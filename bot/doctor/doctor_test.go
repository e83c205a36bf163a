package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/workspace"
	"github.com/pooltasks/pooltasks/workspace/sim"
)

const (
	botToken = "xoxb-1111111111-2222222222-abcdefghijklmnopqrstWXYZ"
	appToken = "xapp-1-A0123456789-1234567890123-0123456789abcdef0123456789abcdefAPPT"
)

// fakeSlack answers auth.test and apps.connections.open like Slack does.
type fakeSlack struct {
	mu       sync.Mutex
	authErr  string // error of auth.test; "" answers ok
	scopes   string // X-OAuth-Scopes of auth.test; "-" sends no header
	noBotID  bool
	appErr   string // error of apps.connections.open
	gotBot   string // Authorization seen by auth.test
	gotApp   string // Authorization seen by apps.connections.open
	requests int
}

func (f *fakeSlack) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/api/auth.test":
		_ = r.ParseForm()
		f.gotBot = r.Header.Get("Authorization") + r.PostForm.Get("token")
		if f.scopes != "-" {
			w.Header().Set("X-OAuth-Scopes", f.scopes)
		}
		if f.authErr != "" {
			json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": f.authErr})
			return
		}
		resp := map[string]any{"ok": true, "url": "https://acme.slack.com/", "team": "Acme", "team_id": "T0ACME",
			"user": "pooltasks", "user_id": "U0BOT", "bot_id": "B0BOT"}
		if f.noBotID {
			delete(resp, "bot_id")
		}
		json.NewEncoder(w).Encode(resp)
	case "/api/apps.connections.open":
		f.gotApp = r.Header.Get("Authorization")
		if f.appErr != "" {
			json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": f.appErr})
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"ok": true, "url": "wss://127.0.0.1:1/link/?ticket=t"})
	default:
		http.NotFound(w, r)
	}
}

func startSlack(t *testing.T, f *fakeSlack) string {
	t.Helper()
	if f.scopes == "" {
		f.scopes = "commands,chat:write,chat:write.public,app_mentions:read"
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv.URL + "/api/"
}

// startSim serves a simulator and returns it with its base URL.
func startSim(t *testing.T) (*sim.Sim, string) {
	t.Helper()
	// Generated data costs seconds under -race and doctor needs none.
	s := sim.New(sim.Options{Empty: true})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv.URL
}

func newClient(t *testing.T, endpoint, ak, sk, projectID string) *workspace.Client {
	t.Helper()
	c, err := workspace.New(workspace.Config{
		Endpoint: endpoint, Region: "ap-southeast-1", ProjectID: projectID, AK: ak, SK: sk,
		MaxAttempts: 1, Timeout: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// good returns settings and options that pass every check against the simulator and a fake Slack.
func good(t *testing.T, f *fakeSlack) (Options, *sim.Sim) {
	t.Helper()
	s, url := startSim(t)
	opts := Options{
		Settings: Settings{
			SlackAppToken: appToken, SlackBotToken: botToken, SlackAPIURL: startSlack(t, f),
			Region: "ap-southeast-1", Endpoint: url, ProjectID: sim.DemoProjectID,
			AK: sim.DemoAK, SK: sim.DemoSK,
			RateLimit: 5, Burst: 5, Timeout: 10 * time.Second, CacheTTL: 10 * time.Second, UserRate: 20,
			ChannelPools: "C0123=finance-win11,dev-ubuntu;C0456=*", AdminUsers: []string{"U012AB3CD"},
			Scheduler: true, StateDir: t.TempDir(), HTTPAddr: ":8080",
		},
		Workspace: newClient(t, url, sim.DemoAK, sim.DemoSK, sim.DemoProjectID),
		Timeout:   5 * time.Second,
	}
	return opts, s
}

func text(t *testing.T, r Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// must finds a check and asserts its status and that its detail and fix hold the given words.
func must(t *testing.T, r Report, name string, status Status, words ...string) Check {
	t.Helper()
	c, ok := r.Find(name)
	if !ok {
		t.Fatalf("no check %q in\n%s", name, text(t, r))
	}
	if c.Status != status {
		t.Errorf("%s: status %v, want %v (%s; fix: %s)", name, c.Status, status, c.Detail, c.Fix)
	}
	for _, w := range words {
		if !strings.Contains(c.Detail+" "+c.Fix, w) {
			t.Errorf("%s: %q lacks %q (fix: %q)", name, c.Detail, w, c.Fix)
		}
	}
	return c
}

// noSecrets fails the test if the report's text holds any secret of s.
func noSecrets(t *testing.T, r Report, s Settings) {
	t.Helper()
	out := text(t, r)
	for _, secret := range []string{s.SlackAppToken, s.SlackBotToken, s.SK, s.SecurityToken} {
		if secret != "" && strings.Contains(out, secret) {
			t.Errorf("the report shows a secret:\n%s", out)
		}
	}
}

func TestAllGood(t *testing.T) {
	f := &fakeSlack{}
	opts, _ := good(t, f)
	r := Run(context.Background(), opts)
	out := text(t, r)
	if r.Failed() {
		t.Fatalf("failed:\n%s", out)
	}
	for _, c := range r.Checks {
		if c.Status != OK {
			t.Errorf("%s is %v: %s", c.Name, c.Status, c.Detail)
		}
	}
	must(t, r, NameCredentials, OK, "signed call")
	must(t, r, NameProject, OK, sim.DemoProjectID, "configured")
	must(t, r, NamePoolNames, OK, "2 pool names")
	must(t, r, NameSlackBot, OK, "Acme", "xoxb-…WXYZ")
	must(t, r, NameSlackScopes, OK)
	must(t, r, NameSlackApp, OK, "xapp-…APPT")
	must(t, r, "POOLTASKS_STATE_DIR", OK, "writable")
	if !strings.Contains(f.gotBot, botToken) || f.gotApp != "Bearer "+appToken {
		t.Errorf("Slack did not get the tokens: auth.test %q, apps.connections.open %q", f.gotBot, f.gotApp)
	}
	if !strings.Contains(out, "0 failed") {
		t.Errorf("summary missing:\n%s", out)
	}
	noSecrets(t, r, opts.Settings)
}

// TestPoolNames: a binding or digest pool that names several pools or none
// is a warning that names it.
func TestPoolNames(t *testing.T) {
	opts, _ := good(t, &fakeSlack{})
	opts.Settings.ChannelPools = "C0123=callcenter;C0456=finance-win11"
	opts.Settings.DigestPools = []string{"nowhere", "dev-ubuntu"}
	r := Run(context.Background(), opts)
	c := must(t, r, NamePoolNames, Warn, "POOLTASKS_CHANNEL_POOLS C0123", "callcenter", "POOLTASKS_DIGEST_POOLS", "nowhere")
	if strings.Contains(c.Detail, "finance-win11") || strings.Contains(c.Detail, "dev-ubuntu") {
		t.Errorf("names of one pool reported: %s", c.Detail)
	}
	if r.Failed() {
		t.Errorf("pool names failed the run; they warn:\n%s", text(t, r))
	}
}

func TestWorkspaceFailures(t *testing.T) {
	closed := func(t *testing.T) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		url := "http://" + ln.Addr().String()
		ln.Close()
		return url
	}
	for _, tc := range []struct {
		name   string
		setup  func(t *testing.T, o *Options, s *sim.Sim)
		check  string
		status Status
		words  []string
	}{
		{
			name: "bad secret key",
			setup: func(t *testing.T, o *Options, s *sim.Sim) {
				o.Settings.SK = "wrong-secret-key-wrong-secret-key-000000"
				o.Workspace = newClient(t, o.Settings.Endpoint, sim.DemoAK, o.Settings.SK, sim.DemoProjectID)
			},
			check: NameCredentials, status: Fail,
			words: []string{"AK/SK rejected", "401", "HUAWEICLOUD_SDK_AK/SK", "lock the AK for 5 minutes"},
		},
		{
			name: "project of another account",
			setup: func(t *testing.T, o *Options, s *sim.Sim) {
				o.Settings.ProjectID = "ffffffffffffffffffffffffffffffff"
				o.Workspace = newClient(t, o.Settings.Endpoint, sim.DemoAK, sim.DemoSK, o.Settings.ProjectID)
			},
			check: NameCredentials, status: Fail, words: []string{"401", "WORKSPACE_PROJECT_ID belongs"},
		},
		{
			name: "no IAM permission",
			setup: func(t *testing.T, o *Options, s *sim.Sim) {
				s.InjectError("", http.StatusForbidden, "WKS.0004", "The user has no permission")
			},
			check: NameCredentials, status: Fail, words: []string{"403", "IAM", "read access to Workspace"},
		},
		{
			name: "project refused by the service",
			setup: func(t *testing.T, o *Options, s *sim.Sim) {
				s.InjectError("", http.StatusBadRequest, "WKS.0001", "The project id does not exist")
			},
			check: NameProject, status: Fail, words: []string{"WKS.0001", "WORKSPACE_PROJECT_ID"},
		},
		{
			name: "endpoint without the API",
			setup: func(t *testing.T, o *Options, s *sim.Sim) {
				s.InjectError("", http.StatusNotFound, "APIGW.0101", "The API does not exist")
			},
			check: NameEndpoint, status: Fail, words: []string{"does not serve", "WORKSPACE_ENDPOINT"},
		},
		{
			name: "throttled",
			setup: func(t *testing.T, o *Options, s *sim.Sim) {
				s.InjectError("", http.StatusTooManyRequests, "APIGW.0308", "over ratelimit")
			},
			check: NameCredentials, status: Warn, words: []string{"throttled", "again"},
		},
		{
			name: "service error",
			setup: func(t *testing.T, o *Options, s *sim.Sim) {
				s.InjectError("", http.StatusInternalServerError, "WKS.9999", "internal error")
			},
			check: NameCredentials, status: Fail, words: []string{"500", "request id", "try again later"},
		},
		{
			name: "endpoint unreachable",
			setup: func(t *testing.T, o *Options, s *sim.Sim) {
				o.Settings.Endpoint = closed(t)
				o.Workspace = newClient(t, o.Settings.Endpoint, sim.DemoAK, sim.DemoSK, sim.DemoProjectID)
			},
			check: NameEndpoint, status: Fail, words: []string{"unreachable", "WORKSPACE_REGION/WORKSPACE_ENDPOINT"},
		},
		{
			name: "endpoint hangs",
			setup: func(t *testing.T, o *Options, s *sim.Sim) {
				s.Hang(true)
				t.Cleanup(func() { s.Hang(false) })
				o.Timeout = 300 * time.Millisecond
			},
			check: NameCredentials, status: Fail, words: []string{"no answer", "300ms", "egress"},
		},
		{
			name: "no credentials found",
			setup: func(t *testing.T, o *Options, s *sim.Sim) {
				o.Workspace = nil
				o.WorkspaceErr = errors.New("workspace: no credentials found (env HUAWEICLOUD_SDK_AK/SK, profile file, ECS metadata or pod identity): no credential")
			},
			check: NameCredentials, status: Fail, words: []string{"could not be built", "set HUAWEICLOUD_SDK_AK"},
		},
		{
			name: "project discovery failed",
			setup: func(t *testing.T, o *Options, s *sim.Sim) {
				o.Workspace = nil
				o.WorkspaceErr = errors.New("workspace: building the sdk client: failed to get project id of region")
			},
			check: NameProject, status: Fail, words: []string{"set WORKSPACE_PROJECT_ID"},
		},
		{
			name: "unknown region",
			setup: func(t *testing.T, o *Options, s *sim.Sim) {
				o.Settings.Endpoint = ""
				o.Settings.Region = "mars-north-1"
			},
			check: NameEndpoint, status: Fail, words: []string{"mars-north-1", "WORKSPACE_ENDPOINT"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts, s := good(t, &fakeSlack{})
			tc.setup(t, &opts, s)
			start := time.Now()
			r := Run(context.Background(), opts)
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("doctor took %v", d)
			}
			must(t, r, tc.check, tc.status, tc.words...)
			if tc.status == Fail && !r.Failed() {
				t.Error("Failed() is false")
			}
			noSecrets(t, r, opts.Settings)
		})
	}
}

func TestSlackFailures(t *testing.T) {
	for _, tc := range []struct {
		name   string
		slack  *fakeSlack
		check  string
		status Status
		words  []string
	}{
		{name: "bot token revoked", slack: &fakeSlack{authErr: "token_revoked"},
			check: NameSlackBot, status: Fail, words: []string{"token_revoked", "Bot User OAuth Token"}},
		{name: "bot token invalid", slack: &fakeSlack{authErr: "invalid_auth"},
			check: NameSlackBot, status: Fail, words: []string{"invalid_auth", "xoxb-…WXYZ"}},
		{name: "missing scopes", slack: &fakeSlack{scopes: "commands,chat:write"},
			check: NameSlackScopes, status: Fail, words: []string{"missing chat:write.public, app_mentions:read", "reinstall the app"}},
		{name: "no scopes header", slack: &fakeSlack{scopes: "-"},
			check: NameSlackScopes, status: Warn, words: []string{"X-OAuth-Scopes"}},
		{name: "not a bot", slack: &fakeSlack{noBotID: true},
			check: NameSlackBot, status: Warn, words: []string{"no bot id"}},
		{name: "app token without connections:write", slack: &fakeSlack{appErr: "missing_scope"},
			check: NameSlackApp, status: Fail, words: []string{"missing_scope", "connections:write"}},
		{name: "app token revoked", slack: &fakeSlack{appErr: "invalid_auth"},
			check: NameSlackApp, status: Fail, words: []string{"invalid_auth", "new app-level token"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts, _ := good(t, tc.slack)
			r := Run(context.Background(), opts)
			must(t, r, tc.check, tc.status, tc.words...)
			if got := r.Failed(); got != (tc.status == Fail) {
				t.Errorf("Failed() = %v\n%s", got, text(t, r))
			}
			noSecrets(t, r, opts.Settings)
		})
	}

	t.Run("slack unreachable", func(t *testing.T) {
		opts, _ := good(t, &fakeSlack{})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		opts.Settings.SlackAPIURL = "http://" + ln.Addr().String() + "/api/"
		ln.Close()
		r := Run(context.Background(), opts)
		must(t, r, NameSlackBot, Fail, "cannot reach Slack", "SLACK_API_URL")
		must(t, r, NameSlackScopes, Skip)
		must(t, r, NameSlackApp, Fail, "cannot reach Slack")
		noSecrets(t, r, opts.Settings)
	})
}

func TestSimWithoutTokensSkipsSlack(t *testing.T) {
	f := &fakeSlack{}
	opts, _ := good(t, f)
	opts.Sim = true
	opts.Settings.SlackAppToken, opts.Settings.SlackBotToken = "", ""
	r := Run(context.Background(), opts)
	if r.Failed() {
		t.Fatalf("failed:\n%s", text(t, r))
	}
	if c, ok := r.Find("SLACK_BOT_TOKEN"); ok {
		t.Errorf("an unset token under --sim has its own line: %+v", c)
	}
	must(t, r, NameSlackBot, Skip, "not set")
	must(t, r, NameSlackApp, Skip, "not set")
	must(t, r, NameEndpoint, OK, "simulator")
	if f.requests != 0 {
		t.Errorf("Slack got %d requests without tokens", f.requests)
	}

	// Without --sim, missing tokens fail.
	opts.Sim = false
	r = Run(context.Background(), opts)
	must(t, r, "SLACK_BOT_TOKEN", Fail, "not set")
	must(t, r, "SLACK_APP_TOKEN", Fail, "connections:write")
}

func TestSettings(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(s *Settings)
		check  string
		status Status
		words  []string
	}{
		{"tokens swapped", func(s *Settings) { s.SlackAppToken, s.SlackBotToken = s.SlackBotToken, s.SlackAppToken },
			"SLACK_BOT_TOKEN", Fail, []string{"swapped", "xapp-…APPT"}},
		{"user token", func(s *Settings) { s.SlackBotToken = "xoxp-1111111111-2222222222-abcdefghijklmnopUSER" },
			"SLACK_BOT_TOKEN", Fail, []string{"user token", "Bot User OAuth Token"}},
		{"placeholder", func(s *Settings) { s.SlackAppToken = "xapp-REPLACE-ME" },
			"SLACK_APP_TOKEN", Fail, []string{"placeholder"}},
		{"newline in token", func(s *Settings) { s.SlackBotToken += "\n" },
			"SLACK_BOT_TOKEN", Fail, []string{"white space"}},
		{"garbage token", func(s *Settings) { s.SlackBotToken = "abc" },
			"SLACK_BOT_TOKEN", Fail, []string{"does not start with xoxb-"}},
		{"api url without slash", func(s *Settings) { s.SlackAPIURL = "https://slack-gov.com/api" },
			"SLACK_API_URL", Fail, []string{"trailing slash"}},
		{"api url in clear", func(s *Settings) { s.SlackAPIURL = "http://slack.example.com/api/" },
			"SLACK_API_URL", Fail, []string{"plain http"}},
		{"no region", func(s *Settings) { s.Region, s.Endpoint = "", "" },
			"WORKSPACE_REGION", Fail, []string{"ap-southeast-1"}},
		{"endpoint without region or project", func(s *Settings) { s.Region, s.ProjectID = "", "" },
			"WORKSPACE_PROJECT_ID", Fail, []string{"cannot be discovered"}},
		{"bad endpoint", func(s *Settings) { s.Endpoint = "workspace.example.com" },
			"WORKSPACE_ENDPOINT", Fail, []string{"not an http(s) URL"}},
		{"odd project id", func(s *Settings) { s.ProjectID = "my-project" },
			"WORKSPACE_PROJECT_ID", Warn, []string{"32 lowercase hex"}},
		{"AK without SK", func(s *Settings) { s.SK = "" },
			"HUAWEICLOUD_SDK_SK", Fail, []string{"set both"}},
		{"SK without AK", func(s *Settings) { s.AK = "" },
			"HUAWEICLOUD_SDK_AK", Fail, []string{"set both"}},
		{"burst zero-ish", func(s *Settings) { s.Burst = -1 },
			"WORKSPACE_BURST", Fail, []string{"1 to 100"}},
		{"unlimited rate", func(s *Settings) { s.RateLimit = -1 },
			"WORKSPACE_RATE_LIMIT", Warn, []string{"not limited"}},
		{"burst large", func(s *Settings) { s.Burst = 500 },
			"WORKSPACE_BURST", Warn, []string{"outside the usual 1 to 100", "serve accepts it"}},
		{"huge timeout", func(s *Settings) { s.Timeout = time.Hour },
			"WORKSPACE_TIMEOUT", Warn, []string{"outside the usual", "serve accepts it"}},
		{"negative timeout", func(s *Settings) { s.Timeout = -time.Second },
			"WORKSPACE_TIMEOUT", Fail, []string{"negative"}},
		{"negative cache ttl", func(s *Settings) { s.CacheTTL = -time.Second },
			"WORKSPACE_CACHE_TTL", Warn, []string{"cache is off"}},
		{"stale cache ttl", func(s *Settings) { s.CacheTTL = time.Hour },
			"WORKSPACE_CACHE_TTL", Warn, []string{"stale"}},
		{"user rate", func(s *Settings) { s.UserRate = 5000 },
			"POOLTASKS_USER_RATE", Warn, []string{"1 to 1000", "serve accepts it"}},
		{"negative user rate", func(s *Settings) { s.UserRate = -1 },
			"POOLTASKS_USER_RATE", Fail, []string{"negative", "1 to 1000"}},
		{"channel pools", func(s *Settings) { s.ChannelPools = "C0123=pool-a;general=pool-b" },
			"POOLTASKS_CHANNEL_POOLS", Fail, []string{`"general" is not a channel id`}},
		{"admin names", func(s *Settings) { s.AdminUsers = []string{"U012AB3CD", "@alice"} },
			"POOLTASKS_ADMIN_USERS", Fail, []string{`"@alice"`}},
		{"allowed channels", func(s *Settings) { s.AllowedChannels = []string{"#ops"} },
			"POOLTASKS_ALLOWED_CHANNELS", Fail, []string{`"#ops"`}},
		{"digest channel name", func(s *Settings) { s.DigestChannel = "#ops" },
			"POOLTASKS_DIGEST_CHANNEL", Fail, []string{"channel id"}},
		{"alert channel name", func(s *Settings) { s.AlertChannel = "ops" },
			"POOLTASKS_ALERT_CHANNEL", Fail, []string{"channel id"}},
		{"digest at", func(s *Settings) { s.DigestAt = "7am" },
			"POOLTASKS_DIGEST_AT", Fail, []string{"HH:MM"}},
		{"digest every short", func(s *Settings) { s.DigestChannel, s.DigestEvery = "C0123", 5*time.Minute },
			"POOLTASKS_DIGEST_EVERY", Warn, []string{"5m0s", "post of its own", "noisy", "15m0s or more"}},
		{"digest every short, no channel", func(s *Settings) { s.DigestEvery = time.Minute },
			"POOLTASKS_DIGEST_EVERY", Warn, []string{"noisy"}},
		{"digest every zero", func(s *Settings) { s.DigestChannel, s.DigestEvery = "C0123", 0 },
			"POOLTASKS_DIGEST_EVERY", Warn, []string{"digests are off"}},
		{"digest every negative", func(s *Settings) { s.DigestChannel, s.DigestEvery = "C0123", -time.Hour },
			"POOLTASKS_DIGEST_EVERY", Fail, []string{"negative", "0 to turn scheduled digests off"}},
		{"digest every long", func(s *Settings) { s.DigestChannel, s.DigestEvery = "C0123", 30*24*time.Hour },
			"POOLTASKS_DIGEST_EVERY", Warn, []string{"rarely"}},
		{"alert every short", func(s *Settings) { s.AlertEvery = time.Second },
			"POOLTASKS_ALERT_EVERY", Warn, []string{"outside the usual"}},
		{"alert every negative", func(s *Settings) { s.AlertEvery = -time.Minute },
			"POOLTASKS_ALERT_EVERY", Fail, []string{"negative"}},
		{"watch every", func(s *Settings) { s.WatchEvery = time.Second },
			"POOLTASKS_WATCH_EVERY", Warn, []string{"outside the usual", "serve accepts it"}},
		{"watch max long", func(s *Settings) { s.WatchMax = 48 * time.Hour },
			"POOLTASKS_WATCH_MAX", Warn, []string{"outside the usual"}},
		{"watch max negative", func(s *Settings) { s.WatchMax = -time.Hour },
			"POOLTASKS_WATCH_MAX", Fail, []string{"negative"}},
		{"watch max active", func(s *Settings) { s.WatchMaxActive = -3 },
			"POOLTASKS_WATCH_MAX_ACTIVE", Fail, []string{"negative", "1 to 200"}},
		{"watch max active large", func(s *Settings) { s.WatchMaxActive = 500 },
			"POOLTASKS_WATCH_MAX_ACTIVE", Warn, []string{"outside the usual"}},
		{"http addr", func(s *Settings) { s.HTTPAddr = "8080" },
			"POOLTASKS_HTTP_ADDR", Fail, []string{":8080"}},
		{"state dir on a file", func(s *Settings) { s.StateDir = "/dev/null/state" },
			"POOLTASKS_STATE_DIR", Fail, []string{"not a directory"}},
		{"state dir on a file, no scheduler", func(s *Settings) { s.Scheduler, s.StateDir = false, "/dev/null/state" },
			"POOLTASKS_STATE_DIR", Fail, []string{"not a directory"}},
		{"state dir not yet there", func(s *Settings) { s.StateDir = filepath.Join(s.StateDir, "a", "b") },
			"POOLTASKS_STATE_DIR", OK, []string{"will be created"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Settings{
				SlackAppToken: appToken, SlackBotToken: botToken,
				Region: "ap-southeast-1", Endpoint: "http://127.0.0.1:1", ProjectID: sim.DemoProjectID,
				AK: sim.DemoAK, SK: sim.DemoSK, Scheduler: true, StateDir: t.TempDir(),
			}
			tc.change(&s)
			r := Report{Checks: checkSettings(s, false)}
			must(t, r, tc.check, tc.status, tc.words...)
			noSecrets(t, r, s)
		})
	}
}

// TestDigestAtAsServeReadsIt: every time of day serve accepts passes doctor.
func TestDigestAtAsServeReadsIt(t *testing.T) {
	for _, at := range []string{"07:00", "7:00", "23:59:30", "9h30m"} {
		s := Settings{Region: "ap-southeast-1", DigestAt: at}
		r := Report{Checks: checkSettings(s, true)}
		if c, ok := r.Find("POOLTASKS_DIGEST_AT"); ok {
			t.Errorf("POOLTASKS_DIGEST_AT=%s: %v %s", at, c.Status, c.Detail)
		}
	}
}

// TestDigestEveryAsServeReadsIt: every period serve runs digests with passes doctor
// without a failure, the usual ones without a line; 0 without a digest channel says
// nothing (nothing is scheduled either way).
func TestDigestEveryAsServeReadsIt(t *testing.T) {
	for _, tc := range []struct {
		every time.Duration
		line  bool
	}{
		{time.Second, true}, {14 * time.Minute, true}, {15 * time.Minute, false}, {time.Hour, false},
		{24 * time.Hour, false}, {7 * 24 * time.Hour, false}, {8 * 24 * time.Hour, true},
	} {
		s := Settings{Region: "ap-southeast-1", DigestChannel: "C0123", DigestEvery: tc.every}
		r := Report{Checks: checkSettings(s, true)}
		c, ok := r.Find("POOLTASKS_DIGEST_EVERY")
		if ok != tc.line || (ok && c.Status != Warn) {
			t.Errorf("POOLTASKS_DIGEST_EVERY=%v: line %v (%v %s), want line %v and no failure", tc.every, ok, c.Status, c.Detail, tc.line)
		}
	}
	s := Settings{Region: "ap-southeast-1"}
	if c, ok := (Report{Checks: checkSettings(s, true)}).Find("POOLTASKS_DIGEST_EVERY"); ok {
		t.Errorf("POOLTASKS_DIGEST_EVERY=0 without a digest channel: %v %s", c.Status, c.Detail)
	}
}

func TestParseChannelPools(t *testing.T) {
	for in, wantErr := range map[string]string{
		"C0123=pool-a,pool-b;C0456=*": "",
		" C0123 = pool-a ; ":          "",
		"C0123":                       `has no "="`,
		"C0123=a;C0123=b":             "bound twice",
		"C0123=a,,b":                  "empty pool",
		"C0123=":                      "empty pool",
		"C0123=*,a":                   "mixes *",
		"=a":                          "not a channel id",
	} {
		err := ParseChannelPools(in)
		switch {
		case wantErr == "" && err != nil:
			t.Errorf("ParseChannelPools(%q) = %v, want nil", in, err)
		case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)):
			t.Errorf("ParseChannelPools(%q) = %v, want an error with %q", in, err, wantErr)
		}
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

func TestScrub(t *testing.T) {
	s := Settings{SK: "very-secret-key-0123456789", SlackBotToken: botToken}
	cs := []Check{{Name: "x", Detail: "error: sk=very-secret-key-0123456789 token " + botToken, Fix: botToken}}
	scrub(cs, s)
	if strings.Contains(cs[0].Detail, s.SK) || strings.Contains(cs[0].Detail, botToken) || strings.Contains(cs[0].Fix, botToken) {
		t.Errorf("scrub left a secret: %+v", cs[0])
	}
}

func TestWriteText(t *testing.T) {
	r := Report{Checks: []Check{
		{Name: "a", Status: OK, Detail: "fine"},
		{Name: "longer name", Status: Fail, Detail: "broken\nacross lines", Fix: "mend it"},
		{Name: "c", Status: Skip, Detail: "later"},
	}}
	got := text(t, r)
	want := "ok    a            fine\n" +
		"FAIL  longer name  broken across lines\n" +
		"                   fix: mend it\n" +
		"skip  c            later\n" +
		"\n1 ok, 0 warnings, 1 failed, 1 skipped\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if !r.Failed() {
		t.Error("Failed() is false with a failed check")
	}
	if (Report{Checks: r.Checks[:1]}).Failed() {
		t.Error("Failed() is true without a failed check")
	}
}
