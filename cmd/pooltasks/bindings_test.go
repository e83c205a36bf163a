package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/bot/slacktest"
	"github.com/pooltasks/pooltasks/workspace/sim"
)

// bindingExamples are values of POOLTASKS_CHANNEL_POOLS and, for those that
// must be refused, the entry the refusal names.
var bindingExamples = []struct{ value, refused string }{
	{"C123=pool-a,*", `"C123=pool-a,*"`},   // * mixed with pools: would see every pool
	{"general=pool-a", `"general=pool-a"`}, // a name, not a channel id: would never match
	{"C123=pool-a,,pool-b", `"C123=pool-a,,pool-b"`},
	{"C123=", `"C123="`},
	{"C123=pool-a;C123=pool-b", `"C123=pool-b"`},
	{"C123=pool-a;*=pool-b;*=", `"*="`},
	{"C123", `"C123"`},
	{"", ""},
	{"C123=pool-a,pool-b;C456=*", ""},
	{"C123=pool-a;*=", ""},
	{"*=pool-a,pool-b", ""},
}

// TestBindingsServeAndDoctorAgree: serve refuses to start (exit status 2,
// naming the variable and the entry) on exactly the bindings doctor fails,
// before it connects to Slack or the Workspace API or creates its state;
// doctor shows the same problem, and for bindings that parse says which
// default is in force for unnamed channels and DMs.
func TestBindingsServeAndDoctorAgree(t *testing.T) {
	sl := slacktest.New(t, slacktest.Options{})
	sm := sim.New(sim.Options{Empty: true})
	api := httptest.NewServer(sm)
	t.Cleanup(api.Close)
	base := defaults(t)
	base.SlackAppToken, base.SlackBotToken, base.SlackAPIURL = slacktest.AppToken, slacktest.BotToken, sl.APIURL()
	base.Endpoint, base.ProjectID, base.AK, base.SK = api.URL, sim.DemoProjectID, sim.DemoAK, sim.DemoSK
	base.HTTPAddr = "127.0.0.1:0"
	doctorLine := regexp.MustCompile(`(?m)^(ok|warn|FAIL) +POOLTASKS_CHANNEL_POOLS +(.*)$`)

	for _, ex := range bindingExamples {
		t.Run(ex.value, func(t *testing.T) {
			cfg := base
			cfg.ChannelPools = ex.value
			cfg.StateDir = filepath.Join(t.TempDir(), "state")

			// doctor
			_, out, _ := call(t, cfg, "doctor")
			lines := doctorLine.FindAllStringSubmatch(out, -1)
			if len(lines) == 0 {
				t.Fatalf("doctor has no POOLTASKS_CHANNEL_POOLS line:\n%s", out)
			}
			doctorFails := false
			for _, l := range lines {
				doctorFails = doctorFails || l[1] == "FAIL"
			}

			if ex.refused == "" {
				if doctorFails {
					t.Errorf("doctor fails good bindings:\n%s", out)
				}
				if !strings.Contains(flat(out), "other channels and DMs see") {
					t.Errorf("doctor does not say which default is in force:\n%s", out)
				}
				// serve starts with them.
				s := startServeOn(t, cfg, sl, sm)
				if err := s.stop(); err != nil {
					t.Errorf("serve: %v\n%s", err, s.stderr.String())
				}
				return
			}

			if !doctorFails || !strings.Contains(flat(out), flat(ex.refused)) {
				t.Errorf("doctor does not fail naming %s:\n%s", ex.refused, out)
			}
			calls, requests := len(sl.Calls("apps.connections.open")), sm.Requests()
			// A serve that accepts them runs until the deadline: the test
			// fails rather than hangs.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var stdout, stderr bytes.Buffer
			code := exitCode(run(ctx, []string{"serve"}, cfg, &stdout, &stderr), &stderr)
			errOut := stderr.String()
			if code != 2 || !strings.Contains(errOut, "POOLTASKS_CHANNEL_POOLS") || !strings.Contains(errOut, ex.refused) {
				t.Errorf("serve: exit %d, want 2 naming POOLTASKS_CHANNEL_POOLS and %s:\n%s", code, ex.refused, errOut)
			}
			// The same words as doctor's.
			for _, l := range lines {
				if l[1] == "FAIL" && !strings.Contains(strings.Join(strings.Fields(errOut), " "), l[2]) {
					t.Errorf("serve says\n%s\ndoctor says\n%s", errOut, l[2])
				}
			}
			if len(sl.Calls("apps.connections.open")) != calls || sm.Requests() != requests {
				t.Error("serve connected before refusing its configuration")
			}
			if _, err := os.Stat(cfg.StateDir); err == nil {
				t.Error("serve created its state before refusing its configuration")
			}
			// digest uses the same parser: it refuses too.
			if code, _, errOut := call(t, cfg, "digest", "--dry-run", "--channel", "C123"); code != 2 || !strings.Contains(errOut, ex.refused) {
				t.Errorf("digest: exit %d, want 2 naming %s:\n%s", code, ex.refused, errOut)
			}
		})
	}
}

// TestDigestChannelSeesNothing: a digest for a channel that may see no pool
// (under *=) is refused rather than cover every pool.
func TestDigestChannelSeesNothing(t *testing.T) {
	cfg := defaults(t)
	cfg.ChannelPools = "CFIN=finance-win11;*="
	code, out, errOut := call(t, cfg, "digest", "--sim", "--dry-run", "--channel", "COTHER")
	if code != 2 || !strings.Contains(errOut, "COTHER may see no pool") {
		t.Errorf("exit %d, want 2 saying COTHER may see no pool\n%s\n%s", code, errOut, out)
	}
}
