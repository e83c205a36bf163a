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

	"github.com/google/go-cmp/cmp"
	"github.com/pooltasks/pooltasks/bot/notify/state/redistest"
	"github.com/pooltasks/pooltasks/config"
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
		f.scopes = "commands,chat:write,chat:write.public,app_mentions:read,usergroups:read,channels:history,groups:history"
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
		Config: config.Config{
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
func noSecrets(t *testing.T, r Report, s config.Config) {
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
	noSecrets(t, r, opts.Config)
}

// TestPoolNames: a binding or digest pool that names several pools or none
// is a warning that names it.
func TestPoolNames(t *testing.T) {
	opts, _ := good(t, &fakeSlack{})
	opts.Config.ChannelPools = "C0123=callcenter;C0456=finance-win11"
	opts.Config.DigestPools = []string{"nowhere", "dev-ubuntu"}
	r := Run(context.Background(), opts)
	c := must(t, r, NamePoolNames, Warn, "POOLTASKS_CHANNEL_POOLS C0123", "callcenter", "POOLTASKS_DIGEST_POOLS", "nowhere")
	// Names of one pool are not reported (they may appear as suggestions).
	for _, ok := range []string{"C0456", `pool "finance-win11"`, `like "finance-win11"`, `pool "dev-ubuntu"`, `like "dev-ubuntu"`} {
		if strings.Contains(c.Detail, ok) {
			t.Errorf("a name of one pool reported (%s): %s", ok, c.Detail)
		}
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
				o.Config.SK = "wrong-secret-key-wrong-secret-key-000000"
				o.Workspace = newClient(t, o.Config.Endpoint, sim.DemoAK, o.Config.SK, sim.DemoProjectID)
			},
			check: NameCredentials, status: Fail,
			words: []string{"AK/SK rejected", "401", "HUAWEICLOUD_SDK_AK/SK", "lock the AK for 5 minutes"},
		},
		{
			name: "project of another account",
			setup: func(t *testing.T, o *Options, s *sim.Sim) {
				o.Config.ProjectID = "ffffffffffffffffffffffffffffffff"
				o.Workspace = newClient(t, o.Config.Endpoint, sim.DemoAK, sim.DemoSK, o.Config.ProjectID)
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
				o.Config.Endpoint = closed(t)
				o.Workspace = newClient(t, o.Config.Endpoint, sim.DemoAK, sim.DemoSK, sim.DemoProjectID)
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
				o.Config.Endpoint = ""
				o.Config.Region = "mars-north-1"
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
			noSecrets(t, r, opts.Config)
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
			check: NameSlackScopes, status: Fail, words: []string{"missing chat:write.public, app_mentions:read, usergroups:read, channels:history, groups:history", "reinstall the app"}},
		// An install made before the manifest asked for the history scopes works, but
		// cannot check after a crash whether a post went out.
		{name: "no history scopes", slack: &fakeSlack{scopes: "commands,chat:write,chat:write.public,app_mentions:read,usergroups:read"},
			check: NameSlackScopes, status: Warn, words: []string{"missing channels:history, groups:history", "may post it twice", "Reinstall"}},
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
			noSecrets(t, r, opts.Config)
		})
	}

	t.Run("slack unreachable", func(t *testing.T) {
		opts, _ := good(t, &fakeSlack{})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		opts.Config.SlackAPIURL = "http://" + ln.Addr().String() + "/api/"
		ln.Close()
		r := Run(context.Background(), opts)
		must(t, r, NameSlackBot, Fail, "cannot reach Slack", "SLACK_API_URL")
		must(t, r, NameSlackScopes, Skip)
		must(t, r, NameSlackApp, Fail, "cannot reach Slack")
		noSecrets(t, r, opts.Config)
	})
}

func TestSimWithoutTokensSkipsSlack(t *testing.T) {
	f := &fakeSlack{}
	opts, _ := good(t, f)
	opts.Sim = true
	opts.Config.SlackAppToken, opts.Config.SlackBotToken = "", ""
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
	one := text(t, Report{Checks: []Check{{Name: "w", Status: Warn, Detail: "odd"}}})
	if !strings.HasSuffix(one, "\n0 ok, 1 warning, 0 failed, 0 skipped\n") {
		t.Errorf("one warning is counted as %q", one)
	}
}

// TestReportsValidation: doctor reports config.Validate's problems as they are, one check
// per problem named after its variable (error FAIL, warning warn, info ok), and nothing of
// its own about the values.
func TestReportsValidation(t *testing.T) {
	cfg := config.Config{
		SlackAppToken: appToken, SlackBotToken: "xoxp-1111111111-2222222222-abcdefghijklmnopUSER",
		Region: "ap-southeast-1", Burst: 500, ChannelPools: "C0123=pool-a,*;general=pool-b;*=", StateDir: t.TempDir(),
	}
	r := Report{Checks: configChecks(cfg, false)}
	var want []Check
	_, problems := cfg.Validate(config.NeedAppToken | config.NeedBotToken | config.NeedWorkspace)
	for _, p := range problems {
		c := Check{Name: p.Var, Status: map[config.Severity]Status{config.Info: OK, config.Warning: Warn, config.Error: Fail}[p.Severity],
			Detail: p.Detail, Fix: p.Fix}
		want = append(want, c)
	}
	want = append(want, checkStateDir(cfg.StateDir))
	if d := cmp.Diff(want, r.Checks); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
	must(t, r, "SLACK_BOT_TOKEN", Fail, "user token")
	must(t, r, "WORKSPACE_BURST", Warn, "outside the usual")
	c := must(t, r, "POOLTASKS_CHANNEL_POOLS", Fail, `"C0123=pool-a,*"`, "mixes *")
	if strings.Contains(c.Detail, "general") {
		t.Errorf("the first check names the second entry: %s", c.Detail)
	}
	// Bindings that parse: which default is in force.
	cfg.ChannelPools = "C0123=pool-a;*="
	r = Report{Checks: configChecks(cfg, false)}
	must(t, r, "POOLTASKS_CHANNEL_POOLS", OK, "other channels and DMs see no pool")
}

// configChecks is checkConfig's checks, without the bindings it returns.
func configChecks(cfg config.Config, sim bool) []Check {
	cs, _ := checkConfig(cfg, sim)
	return cs
}

func TestStateDir(t *testing.T) {
	for _, tc := range []struct {
		name      string
		dir       func(tmp string) string
		scheduler bool
		status    Status
		words     []string
	}{
		{"on a file", func(string) string { return "/dev/null/state" }, true, Fail, []string{"not a directory"}},
		{"on a file, no scheduler", func(string) string { return "/dev/null/state" }, false, Fail, []string{"not a directory"}},
		{"not yet there", func(tmp string) string { return filepath.Join(tmp, "a", "b") }, true, OK, []string{"will be created"}},
		{"there", func(tmp string) string { return tmp }, true, OK, []string{"writable"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Config{Region: "ap-southeast-1", Scheduler: config.Scheduling(tc.scheduler), StateDir: tc.dir(t.TempDir())}
			must(t, Report{Checks: configChecks(cfg, true)}, "POOLTASKS_STATE_DIR", tc.status, tc.words...)
		})
	}
}

// TestReportRedactsSecrets: a secret that reaches a check's text anyway (say in a
// library's error) is redacted like in a log line.
func TestReportRedactsSecrets(t *testing.T) {
	f := &fakeSlack{appErr: "invalid_auth"}
	opts, _ := good(t, f)
	opts.Config.InternalToken = "internal-token-0123456789abcdef"
	opts.Config.WatchURL = "http://svc:hunter2-watch@pooltasks-scheduler:8080"
	opts.Workspace = nil
	opts.WorkspaceErr = errors.New("dial: Authorization: Bearer " + appToken + " token " + opts.Config.InternalToken + " via " + opts.Config.WatchURL)
	r := Run(context.Background(), opts)
	out := text(t, r)
	for _, secret := range []string{appToken, opts.Config.InternalToken, "hunter2-watch"} {
		if strings.Contains(out, secret) {
			t.Errorf("the report shows %q:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, "[redacted SLACK_APP_TOKEN]") {
		t.Errorf("no redaction mark:\n%s", out)
	}
}

// TestTargets: with several targets, each is checked on its own (endpoint,
// credentials with where they come from, project id, a signed call) and
// named; one that fails does not hide the other.
func TestTargets(t *testing.T) {
	opts, _ := good(t, &fakeSlack{})
	eu := opts.Config
	broken := opts.Config
	broken.SK = "another-secret-key-0123456789abcdef0123"
	opts.Targets = []Target{
		{Name: "eu", Credentials: "EU_AK/EU_SK", Config: eu, Workspace: opts.Workspace},
		{Name: "ap", Credentials: "HUAWEICLOUD_SDK_AK/SK", Config: broken,
			Workspace: newClient(t, eu.Endpoint, sim.DemoAK, broken.SK, sim.DemoProjectID)},
	}
	opts.Workspace = nil
	r := Run(context.Background(), opts)
	must(t, r, "workspace credentials (eu)", OK, "with EU_AK/EU_SK", "a signed call")
	must(t, r, "workspace project id (eu)", OK, sim.DemoProjectID)
	must(t, r, "workspace credentials (ap)", Fail)
	if _, ok := r.Find(NameCredentials); ok {
		t.Errorf("a check of no target:\n%s", text(t, r))
	}
	noSecrets(t, r, broken)
}

// TestRedisChecks: doctor says whether Redis answers (and why not: a
// wrong password), its version and who holds the scheduler lease.
func TestRedisChecks(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{Password: "doctor-s3cret-pass"})
	cfg := config.Config{Region: "ap-southeast-1", RedisURL: srv.URL(), RedisPrefix: "pooltasks:", Scheduler: true}
	r := Run(t.Context(), Options{Config: cfg, Timeout: 5 * time.Second})
	c, _ := r.Find("redis")
	if c.Status != OK || !strings.Contains(c.Detail, "Redis 7") || !strings.Contains(c.Detail, "answers in") {
		t.Errorf("redis check = %+v", c)
	}
	if l, _ := r.Find("scheduler lease"); l.Status != Warn || !strings.Contains(l.Detail, "no replica holds it") {
		t.Errorf("lease check = %+v", l)
	}
	srv.Do("SET", "pooltasks:lease", "3 abcd1234 pod-7/42", "PX", "10000")
	r = Run(t.Context(), Options{Config: cfg, Timeout: 5 * time.Second})
	if l, _ := r.Find("scheduler lease"); l.Status != OK || !strings.Contains(l.Detail, "held by pod-7/42") {
		t.Errorf("lease check = %+v", l)
	}
	if _, ok := r.Find("POOLTASKS_STATE_DIR"); ok {
		t.Error("the state directory is checked in Redis mode")
	}
	cfg.RedisURL = "redis://:wrong-password@" + srv.Addr
	r = Run(t.Context(), Options{Config: cfg, Timeout: 5 * time.Second})
	if c, _ := r.Find("redis"); c.Status != Fail || !strings.Contains(c.Fix, "password") || strings.Contains(c.Detail+c.Fix, "wrong-password") {
		t.Errorf("redis check with a wrong password = %+v", c)
	}
}

type fakeLoops struct {
	err      error
	degraded string
}

func (f fakeLoops) Err() error       { return f.err }
func (f fakeLoops) Degraded() string { return f.degraded }

// TestCheckLoops: serve's doctor fails on a failing loop, warns on one
// that works but for a target, naming it, and is ok otherwise.
func TestCheckLoops(t *testing.T) {
	for _, tt := range []struct {
		loops  fakeLoops
		status Status
		detail string
	}{
		{fakeLoops{}, OK, "work"},
		{fakeLoops{degraded: "alerts: failing since …; last error: target sim-b: timed out"}, Warn, "target sim-b: timed out"},
		{fakeLoops{err: errors.New("digests: failing since …; last error: no target answered"), degraded: "x"}, Fail, "no target answered"},
	} {
		c := checkLoops(tt.loops)
		if c.Name != NameLoops || c.Status != tt.status || !strings.Contains(c.Detail, tt.detail) {
			t.Errorf("checkLoops(%+v) = %+v, want %v with %q", tt.loops, c, tt.status, tt.detail)
		}
	}
}
