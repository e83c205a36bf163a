package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// threeRegions is the README's example file.
const threeRegions = `targets:
  - name: eu
    region: eu-west-101
    project_id: 0123456789abcdef0123456789abcdef
    credentials:
      env: {ak: EU_AK, sk: EU_SK}
  - name: ap
    region: ap-southeast-1
    rate_limit: 10
    burst: 10
  - name: latam
    region: la-south-2
    credentials:
      agency: {account_id: 0a1b2c3d4e5f60718293a4b5c6d7e8f9, agency_name: pooltasks-ro, duration: 2h, session_policy_ids: [p-1]}
default_target: eu
`

const euSK = "eu-secret-key-0123456789abcdef0123456789"

// withFile is c with POOLTASKS_TARGETS_FILE set to a file holding body,
// and the variables env for Getenv.
func withFile(t *testing.T, c Config, body string, env map[string]string) Config {
	t.Helper()
	path := filepath.Join(t.TempDir(), "targets.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	c.TargetsFile = path
	c.Region, c.Endpoint, c.ProjectID = "", "", ""
	c.Getenv = func(k string) string { return env[k] }
	return c
}

// TestTargetsWithoutFile: the WORKSPACE_* and HUAWEICLOUD_SDK_* variables
// are the one target "default", as before targets existed.
func TestTargetsWithoutFile(t *testing.T) {
	parsed, ps := valid().Validate(serveNeeds)
	if err := ps.Err(); err != nil {
		t.Fatal(err)
	}
	ts := parsed.Targets
	if len(ts.List) != 1 || ts.Default != "" || ts.File != "" {
		t.Fatalf("targets = %v", ts)
	}
	got := ts.List[0]
	c := valid()
	if got.Name != "default" || got.Region != c.Region || got.Endpoint != c.Endpoint || got.ProjectID != c.ProjectID ||
		got.AK != c.AK || got.SK != c.SK || got.Credentials != "HUAWEICLOUD_SDK_AK/SK" {
		t.Errorf("default target = %#v", got)
	}
}

// TestTargetsFile: the README's three-region file, with credentials read
// from the variables it names and an agency.
func TestTargetsFile(t *testing.T) {
	c := withFile(t, valid(), threeRegions, map[string]string{"EU_AK": "EUAKEUAKEUAKEUAK0001", "EU_SK": euSK})
	parsed, ps := c.Validate(serveNeeds)
	if err := ps.Err(); err != nil {
		t.Fatal(err)
	}
	ts := parsed.Targets
	if diff := cmp.Diff([]string{"eu", "ap", "latam"}, ts.Names()); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	if ts.Default != "eu" {
		t.Errorf("default = %q, want eu", ts.Default)
	}
	eu, _ := ts.Lookup("EU")
	if eu.AK != "EUAKEUAKEUAKEUAK0001" || eu.SK != euSK || eu.Credentials != "EU_AK/EU_SK" {
		t.Errorf("eu credentials = %q %q %q", eu.AK, eu.Credentials, eu.Region)
	}
	ap, _ := ts.Lookup("ap")
	if ap.AK != c.AK || ap.RateLimit != 10 || ap.Burst != 10 {
		t.Errorf("ap = %#v, want HUAWEICLOUD_SDK_* credentials and its own rate", ap)
	}
	latam, _ := ts.Lookup("latam")
	if latam.Agency == nil || latam.Agency.URN() != "iam::0a1b2c3d4e5f60718293a4b5c6d7e8f9:agency:pooltasks-ro" ||
		latam.Agency.Duration != 2*time.Hour || latam.Agency.SessionName != "pooltasks" || !slices.Equal(latam.Agency.SessionPolicyIDs, []string{"p-1"}) {
		t.Errorf("latam agency = %+v", latam.Agency)
	}
	// The SK a target's variable holds is a secret like HUAWEICLOUD_SDK_SK,
	// and never shows in a target's text.
	found := false
	for _, s := range c.Secrets() {
		found = found || (s.Name == "EU_SK" && s.Value == euSK)
	}
	if !found {
		t.Errorf("Secrets() lacks EU_SK")
	}
	for _, text := range []string{eu.String(), eu.GoString(), c.String()} {
		if strings.Contains(text, euSK) {
			t.Errorf("%q shows the SK", text)
		}
	}
}

// TestTargetsWithActions: actions and several targets go together (each
// action goes to its task's target).
func TestTargetsWithActions(t *testing.T) {
	c := withFile(t, valid(), "targets:\n  - name: eu\n    region: r\n  - name: ap\n    region: s\n", nil)
	c.Actions, c.Approval, c.Operators = []string{"retry", "stop", "rerun"}, []string{"rerun"}, []string{"U0ANA"}
	parsed, ps := c.Validate(serveNeeds)
	for _, p := range ps {
		if p.Severity == Error || strings.Contains(p.Detail, "target") {
			t.Errorf("problem: %v", p)
		}
	}
	if len(parsed.Actions) != 3 || len(parsed.Targets.List) != 2 {
		t.Errorf("actions %v over targets %v", parsed.Actions, parsed.Targets.Names())
	}
}

// TestTargetsFileProblems: every mistake in the file is an error naming
// its line or its target, the same words for serve, digest and doctor.
func TestTargetsFileProblems(t *testing.T) {
	env := map[string]string{"EU_AK": "EUAKEUAKEUAKEUAK0001", "EU_SK": euSK}
	for _, tt := range []struct {
		name, body string
		env        func(c *Config)
		wantVar    string
		want, fix  string
	}{
		{name: "unknown key", body: "targets:\n  - name: eu\n    regoin: eu-west-101\n",
			wantVar: "POOLTASKS_TARGETS_FILE", want: ":3: field regoin not found"},
		{name: "agency by domain name", body: "targets:\n  - name: eu\n    region: eu-west-101\n    credentials:\n      agency: {domain_name: ops, agency_name: ro}\n",
			wantVar: "POOLTASKS_TARGETS_FILE", want: ":5: field domain_name not found", fix: "write account_id"},
		{name: "empty", body: "", wantVar: "POOLTASKS_TARGETS_FILE", want: "the file is empty"},
		{name: "no targets", body: "targets: []\n", wantVar: "POOLTASKS_TARGETS_FILE", want: "no targets"},
		{name: "bad name", body: "targets:\n  - name: eu west\n    region: r\n", wantVar: "POOLTASKS_TARGETS_FILE", want: `:2: target name "eu west" is not letters`},
		{name: "all", body: "targets:\n  - name: all\n    region: r\n", wantVar: "POOLTASKS_TARGETS_FILE", want: `target name "all" is taken`},
		{name: "twice", body: "targets:\n  - name: eu\n    region: r\n  - name: EU\n    region: s\n", wantVar: "POOLTASKS_TARGETS_FILE", want: ":4: target EU is named twice"},
		{name: "nowhere", body: "targets:\n  - name: eu\n", wantVar: "POOLTASKS_TARGETS_FILE", want: "target eu: has neither region nor endpoint"},
		{name: "endpoint without project", body: "targets:\n  - name: eu\n    endpoint: http://127.0.0.1:9\n", wantVar: "POOLTASKS_TARGETS_FILE", want: "needs project_id"},
		{name: "unset variable", body: "targets:\n  - name: eu\n    region: r\n    credentials:\n      env: {ak: EU_AK, sk: EU_SK2}\n",
			wantVar: "POOLTASKS_TARGETS_FILE", want: "credentials.env.sk names EU_SK2, which is not set"},
		{name: "inline secret", body: "targets:\n  - name: eu\n    region: r\n    credentials:\n      env: {ak: EU_AK, sk: 'abc/def+ghi'}\n",
			wantVar: "POOLTASKS_TARGETS_FILE", want: "credentials.env.sk is not the name of an environment variable", fix: "never holds secrets"},
		{name: "default typo", body: "targets:\n  - name: eu\n    region: r\ndefault_target: ue\n",
			wantVar: "POOLTASKS_TARGETS_FILE", want: `default_target "ue" is not a target`, fix: "did you mean eu?"},
		{name: "agency duration", body: "targets:\n  - name: eu\n    region: r\n    credentials:\n      agency: {account_id: 0a1b2c3d4e5f60718293a4b5c6d7e8f9, agency_name: ro, duration: 5m}\n",
			wantVar: "POOLTASKS_TARGETS_FILE", want: "duration 5m0s is outside 15m to 12h"},
		{name: "region as well", body: "targets:\n  - name: eu\n    region: r\n",
			env: func(c *Config) { c.Region = "ap-southeast-1" }, wantVar: "WORKSPACE_REGION", want: "is set as well as POOLTASKS_TARGETS_FILE"},
		{name: "project as well", body: "targets:\n  - name: eu\n    region: r\n",
			env: func(c *Config) { c.ProjectID = "0123456789abcdef0123456789abcdef" }, wantVar: "WORKSPACE_PROJECT_ID", want: "is set as well as POOLTASKS_TARGETS_FILE"},
		{name: "binding target", body: "targets:\n  - name: eu\n    region: r\n",
			env: func(c *Config) { c.ChannelPools = "C1=ue:pool-a" }, wantVar: "POOLTASKS_CHANNEL_POOLS", want: `names target "ue"`, fix: "did you mean eu:pool-a?"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := withFile(t, valid(), tt.body, env)
			if tt.env != nil {
				tt.env(&c)
			}
			_, ps := c.Validate(serveNeeds)
			for _, p := range ps {
				if p.Var == tt.wantVar && p.Severity == Error && strings.Contains(p.Detail, tt.want) && strings.Contains(p.Fix, tt.fix) {
					if strings.Contains(p.String(), "abc/def") || strings.Contains(p.String(), euSK) {
						t.Errorf("problem shows a secret: %s", p)
					}
					return
				}
			}
			t.Errorf("no error %s: …%s… (fix …%s…); got:\n%v", tt.wantVar, tt.want, tt.fix, ps)
		})
	}
}

// TestBindingTargets: TARGET: prefixes scope a channel's pools to targets.
func TestBindingTargets(t *testing.T) {
	b, err := ParseBindings("C1=eu:Finance,eu:pool-x;C2=eu:pool-a,us:pool-b;C3=pool-c,eu:pool-d;C4=*;C5=us:*")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		channel, target string
		targets, pools  []string
		all             bool
	}{
		{"C1", "eu", []string{"eu"}, []string{"Finance", "pool-x"}, false},
		{"C1", "us", []string{"eu"}, nil, false},
		{"C2", "US", []string{"eu", "us"}, []string{"pool-b"}, false},
		{"C3", "eu", nil, []string{"pool-c", "pool-d"}, false},
		{"C3", "us", nil, []string{"pool-c"}, false},
		{"C4", "eu", nil, nil, true},
		{"C5", "us", []string{"us"}, nil, true},
		{"C5", "eu", []string{"us"}, nil, false},
	} {
		if got := b.Targets(tt.channel); !slices.Equal(got, tt.targets) {
			t.Errorf("Targets(%s) = %v, want %v", tt.channel, got, tt.targets)
		}
		pools, all := b.PoolsIn(tt.channel, tt.target)
		if !slices.Equal(pools, tt.pools) || all != tt.all {
			t.Errorf("PoolsIn(%s, %s) = %v %v, want %v %v", tt.channel, tt.target, pools, all, tt.pools, tt.all)
		}
	}
}

// TestTargetsFileLoad: Load reads the credential variables a targets file
// names through the same lookup as every other variable.
func TestTargetsFileLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "targets.yaml")
	if err := os.WriteFile(path, []byte("targets:\n  - name: eu\n    region: eu-west-101\n    credentials:\n      env: {ak: EU_AK, sk: EU_SK}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"POOLTASKS_TARGETS_FILE": path, "EU_AK": "EUAKEUAKEUAKEUAK0001", "EU_SK": euSK}
	c := Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	parsed, ps := c.Validate(0)
	if err := ps.Err(); err != nil {
		t.Fatal(err)
	}
	if eu, _ := parsed.Targets.Lookup("eu"); eu.AK != env["EU_AK"] || eu.SK != euSK {
		t.Errorf("eu's credentials were not read: %q", eu.AK)
	}
}
