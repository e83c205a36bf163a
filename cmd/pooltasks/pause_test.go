package main

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/bot/notify/state/redistest"
	"github.com/pooltasks/pooltasks/bot/slacktest"
	"github.com/pooltasks/pooltasks/config"
	"github.com/pooltasks/pooltasks/workspace/sim"
)

// TestServeChild is `pooltasks serve` in a child process of
// TestServeRedisPausedLeader, which runs this test binary with
// POOLTASKS_TEST_CHILD=1 and the configuration in the environment.
func TestServeChild(t *testing.T) {
	if os.Getenv("POOLTASKS_TEST_CHILD") != "1" {
		t.Skip("not a test: the serve process that TestServeRedisPausedLeader starts")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := run(ctx, []string{"serve"}, config.Load(os.LookupEnv), os.Stdout, os.Stderr); err != nil {
		t.Fatal(err)
	}
}

// child is a serve process of the test, with the Slack Web API calls it
// made that change messages.
type child struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	conn   int
	posts  atomic.Int64 // chat.postMessage and chat.update through its proxy
}

func (c *child) logged(text string) bool { return strings.Contains(c.stderr.String(), text) }

func (c *child) waitLog(t *testing.T, text string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !c.logged(text) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v:\n%s", text, within, c.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServeRedisPausedLeader: two serve processes on one Redis, one fake
// Slack and one simulator. The scheduler is stopped with SIGSTOP past its
// lease: the other takes over and goes on with the running watch (its Stop
// ends it, on the same message). Resumed with SIGCONT, the old scheduler
// finds its lease gone and changes no message in Slack.
func TestServeRedisPausedLeader(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes and waits for leases")
	}
	const lease = 3 * time.Second
	f := newFleet(t, lease, "POOLTASKS_WATCH_EVERY=5s")
	sl, sm := f.slack, f.sim
	a := startChild(t, f, 1)
	b := startChild(t, f, 2)
	const acquired = `"msg":"scheduler lease acquired`
	leader := childLeader(t, a, b)
	other := a
	if leader == a {
		other = b
	}

	// A watch asked of the other replica, followed by the scheduler.
	task := runningTaskID(t, sm)
	_, respURL := sl.SlashCommand(slacktest.SlashCommand{Text: "watch " + task, UserID: "U1", ChannelID: "C2", Connection: other.conn})
	if _, err := sl.WaitMessage(slacktest.ForResponseURL(respURL), 30*time.Second); err != nil {
		t.Fatal(err)
	}
	watchMsg, err := sl.WaitMessage(func(m slacktest.Message) bool {
		return m.Method == "chat.postMessage" && m.Channel == "C2"
	}, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	leader.waitLog(t, `"msg":"watch resumed"`, 30*time.Second)

	// Pause the scheduler past its lease: the other takes over.
	if err := leader.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	paused := time.Now()
	other.waitLog(t, acquired, 2*lease+5*time.Second)
	t.Logf("takeover %v after the pause (lease %v)", time.Since(paused).Round(time.Millisecond), lease)
	other.waitLog(t, `"msg":"watch resumed"`, 30*time.Second)
	for time.Since(paused) < 2*lease { // well past the lease, as a long GC or a partition
		time.Sleep(50 * time.Millisecond)
	}
	before := leader.posts.Load()
	if err := leader.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	leader.waitLog(t, `"msg":"scheduler lease lost`, 30*time.Second)

	// The new scheduler ends the watch on the same message.
	stop := findButton(t, watchMsg, "watch_stop")
	sl.BlockAction(slacktest.BlockAction{UserID: "U1", ChannelID: "C2", ActionID: stop.ActionID, Value: stop.Value,
		MessageTS: watchMsg.TS, Connection: other.conn})
	if _, err := sl.WaitMessage(func(u slacktest.Message) bool {
		return u.Method == "chat.update" && u.TS == watchMsg.TS && strings.Contains(string(u.Blocks), "Stopped by")
	}, 30*time.Second); err != nil {
		t.Fatalf("the new scheduler did not end the watch: %v", err)
	}
	if n := leader.posts.Load() - before; n != 0 {
		t.Errorf("the scheduler resumed after its lease posted or updated %d messages", n)
	}
	// Which reason it gives depends on what it notices first after the
	// pause (its own clock past the lease's end, or the other holder), so
	// the test asks for a reason, not for one of them.
	if !regexp.MustCompile(`"msg":"scheduler lease lost[^\n]*"why":"[^"]+`).MatchString(leader.stderr.String()) {
		t.Errorf("the old scheduler does not say why it stopped:\n%s", leader.stderr.String())
	}
}

// fleet is what the serve children of a test share: one Redis, one fake
// Slack, one simulator, and the environment they start with.
type fleet struct {
	redis *redistest.Server
	slack *slacktest.Server
	sim   *sim.Sim
	env   []string
}

// newFleet starts the Redis, the fake Slack and the simulator of serve
// children with lease, extra variables after the common ones.
func newFleet(t *testing.T, lease time.Duration, extra ...string) *fleet {
	f := &fleet{redis: redistest.Start(t, redistest.Options{}),
		slack: slacktest.New(t, slacktest.Options{AppToken: slacktest.AppToken, BotToken: slacktest.BotToken}),
		sim:   sim.New(sim.Options{AK: sim.DemoAK, SK: sim.DemoSK})}
	api := httptest.NewServer(f.sim)
	t.Cleanup(api.Close)
	redisURL := f.redis.URL()
	f.env = append([]string{"POOLTASKS_TEST_CHILD=1", "PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
		"SLACK_APP_TOKEN=" + slacktest.AppToken, "SLACK_BOT_TOKEN=" + slacktest.BotToken,
		"WORKSPACE_ENDPOINT=" + api.URL, "WORKSPACE_PROJECT_ID=" + sim.DemoProjectID,
		"HUAWEICLOUD_SDK_AK=" + sim.DemoAK, "HUAWEICLOUD_SDK_SK=" + sim.DemoSK,
		"POOLTASKS_REDIS_URL=" + redisURL, "POOLTASKS_LEASE=" + lease.String(), "POOLTASKS_HTTP_ADDR=127.0.0.1:0",
		"POOLTASKS_STATE_DIR=" + t.TempDir(), "LOG_FORMAT=json"}, extra...)
	return f
}

// startChild starts serve child n of f (its socket-mode connection is the
// fake Slack's nth), its Web API calls through a proxy that
// counts its posts, and waits for it to connect. The test's end stops it.
func startChild(t *testing.T, f *fleet, n int) *child {
	t.Helper()
	sl := f.slack
	target, _ := url.Parse(sl.URL())
	c := &child{stderr: &syncBuffer{}, conn: n}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ErrorLog = log.New(io.Discard, "", 0) // calls cut off at the end of the test
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/chat.postMessage") || strings.HasSuffix(r.URL.Path, "/chat.update") {
			c.posts.Add(1)
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	c.cmd = exec.Command(os.Args[0], "-test.run=^TestServeChild$")
	c.cmd.Env = append(slices.Clip(f.env), "SLACK_API_URL="+front.URL+"/api/")
	c.cmd.Stdout, c.cmd.Stderr = c.stderr, c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.cmd.Process.Signal(syscall.SIGCONT)
		c.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { c.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			c.cmd.Process.Kill()
			<-done
		}
	})
	if err := sl.WaitConnections(n, 60*time.Second); err != nil {
		t.Fatal(err, c.stderr.String())
	}
	return c
}

// childLeader waits until one of cs says it acquired the scheduler lease,
// and returns it.
func childLeader(t *testing.T, cs ...*child) *child {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		for _, c := range cs {
			if c.logged(`"msg":"scheduler lease acquired`) {
				return c
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no scheduler")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
