package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/pooltasks/pooltasks/act"
	"github.com/pooltasks/pooltasks/bot"
	"github.com/pooltasks/pooltasks/bot/blocks"
	"github.com/pooltasks/pooltasks/bot/notify"
	"github.com/pooltasks/pooltasks/bot/notify/alert"
	"github.com/pooltasks/pooltasks/bot/notify/digest"
	"github.com/pooltasks/pooltasks/bot/notify/lease"
	"github.com/pooltasks/pooltasks/bot/notify/loop"
	"github.com/pooltasks/pooltasks/bot/notify/state"
	"github.com/pooltasks/pooltasks/bot/notify/state/redisstore"
	"github.com/pooltasks/pooltasks/bot/notify/watch"
	"github.com/pooltasks/pooltasks/bot/notify/watchapi"
	"github.com/pooltasks/pooltasks/config"
	"github.com/pooltasks/pooltasks/doctor"
	"github.com/pooltasks/pooltasks/workspace"
)

func init() { register(newServeCmd) }

func newServeCmd(a *app) *cobra.Command {
	var useSim bool
	c := &cobra.Command{
		Use:   "serve",
		Short: "Run the Slack bot (socket mode)",
		Long: "Serve runs the Slack bot: it connects to Slack in socket mode (no public " +
			"URL needed), answers /pooltasks and @pooltasks, and runs the scheduled " +
			"digests, alerts and watches. Health and metrics are served on " +
			"POOLTASKS_HTTP_ADDR. It needs SLACK_APP_TOKEN and SLACK_BOT_TOKEN; " +
			"--sim answers from the built-in simulator instead of the Workspace API.",
		Example: "  pooltasks serve\n" +
			"  pooltasks serve --sim",
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runServe(c.Context(), a, useSim) },
	}
	c.Flags().BoolVar(&useSim, "sim", false, "answer from the built-in simulator (demo data) instead of the Workspace API")
	return c
}

func runServe(ctx context.Context, a *app, useSim bool) error {
	cfg, stderr := a.cfg, a.stderr
	needs := config.NeedAppToken | config.NeedBotToken
	if !useSim {
		needs |= config.NeedWorkspace
	}
	logger, parsed, err := prepare(cfg, needs, stderr)
	if err != nil {
		return err
	}
	bindings := parsed.Bindings
	bc := botConfig(cfg, bindings)
	bc.Logger = logger

	list, def, stop, err := workspaceTargets(ctx, cfg, parsed.Targets, useSim)
	defer stop()
	if err != nil {
		return err
	}
	if useSim {
		logger.Info("answering from the built-in simulator", "targets", len(list))
	}
	metrics := bot.NewMetrics()
	bc.Metrics = metrics
	set, err := newTargets(list, def, func(name string) workspace.Observer {
		if len(list) == 1 {
			return metrics
		}
		return metrics.Target(name)
	})
	if err != nil {
		return err
	}
	// The background loops see every target as one (targets.Set.Lister).
	client := set.Lister()
	first, _, _ := set.Client(list[0].name)

	// A background loop that keeps failing shows in /readyz and in
	// pooltasks_loop_failing; it retries until it works again. So does a
	// state store that cannot save (a full disk): it keeps the state in
	// memory and saves it all at the next save that works.
	health := loop.NewHealth(metrics.Registry())
	// A target of several that does not answer leaves the others working:
	// degraded, not unready.
	bc.Ready, bc.Degraded = health.Err, health.Degraded
	store, stateHeld, err := openStore(ctx, cfg, health, logger)
	if err != nil {
		return err
	}
	defer store.Close()
	scheduler := bool(cfg.Scheduler) && stateHeld == nil
	// With Redis the replicas share the state and elect their scheduler.
	shared, _ := store.(*redisstore.Store)
	var elector *lease.Elector
	if shared != nil {
		shared.Observe(metrics.Registry())
		elector = elect(cfg, shared, metrics, logger)
		// A replica whose Redis does not answer still answers queries:
		// /readyz says degraded, and redeliveries are told apart by
		// this replica's own memory meanwhile.
		bc.Seen = shared.Seen
		bc.Degraded = func() string {
			return strings.TrimSpace(elector.Degraded() + "\n" + health.Degraded())
		}
	}
	// Actions record their intents in the same store: with the file store
	// held by another process, this one's intents live in memory only.
	// Each action goes to its task's target, with that target's client.
	bc.Actions = bot.Actions{Enabled: parsed.Actions, Approval: parsed.Approval, Operators: cfg.Operators,
		ApprovalTTL: cfg.ApprovalTTL, Rate: cfg.ActionRate, Store: store, API: func(name string) act.API {
			c, _, _ := set.Client(name)
			return c.(*workspace.Client) // newTargets built them
		}}
	// One Slack client for the bot and notify; slack-go retries its 429s,
	// NewSlackPoster paces notify's posts.
	bc.Slack = bot.NewSlackClient(bc.AppToken, bc.BotToken, bc.APIURL)
	poster := loop.NewSlackPoster(bc.Slack)
	pools, err := digestPools(cfg, bindings, cfg.DigestChannel)
	if err != nil {
		return err
	}
	// Alerts read the failed desktops of a task in its target.
	records := func(target string) loop.Records {
		if c, _, ok := set.Client(target); ok {
			return c
		}
		return first
	}
	deps := func(component string) loop.Deps {
		return loop.Deps{Lister: client, Records: records, Poster: poster, Health: health,
			Log: logger.With("component", component)}
	}
	digests := digest.New(digest.Config{Channel: cfg.DigestChannel, Every: cfg.DigestEvery, At: parsed.DigestAt,
		Pools: pools, Quiet: cfg.DigestQuiet}, deps("digest"), store)
	// Watches run in this process, or, with POOLTASKS_WATCH_URL, in the
	// scheduler, which keeps them on its volume; digests on demand are
	// posted here either way (they keep no state).
	var watches *watch.Watches
	wcfg := watch.Config{Every: cfg.WatchEvery, Max: cfg.WatchMax, MaxActive: cfg.WatchMaxActive, Actions: parsed.Actions}
	switch {
	case shared != nil:
		// The elected scheduler follows every watch; this replica posts
		// and saves the watches asked here, and hands Stop over.
		here := wcfg
		here.Elsewhere, here.Requests = true, shared
		bc.Notifier = &notify.Notifier{Watches: watch.New(here, deps("watch"), store), Digester: digests}
		wcfg.Requests = shared
	case cfg.WatchURL != "":
		remote := watchapi.NewRemote(cfg.WatchURL, cfg.InternalToken, logger.With("component", "watch"))
		bc.Notifier = notifier{remote, &notify.Notifier{Digester: digests}}
	default:
		here := wcfg
		here.Ended = alert.Retries{Store: store, Poster: poster, Actions: parsed.Actions}
		watches = watch.New(here, deps("watch"), store)
		bc.Notifier = &notify.Notifier{Watches: watches, Digester: digests}
		if cfg.InternalToken != "" {
			api := watchapi.Handler(watches, cfg.InternalToken)
			bc.Routes = map[string]http.Handler{watchapi.StartPath: api, watchapi.StopPath: api, watchapi.ActPath: api}
		}
	}
	bc.AdminUsers = cfg.AdminUsers
	// Acknowledge, Snooze and the mutes change the state the alerts read:
	// only where that state is (Redis, or the file store this process
	// holds; not a responder that forwards watches, nor one without the
	// directory's lock).
	if cfg.WatchURL == "" && stateHeld == nil {
		bc.Alerts = store
	}
	doctorOpts := doctorOptions(cfg, list, parsed.Targets, func(nc namedConfig) (doctor.TaskLister, error) {
		c, _, _ := set.Client(nc.name)
		return c.(*workspace.Client), nil // newTargets built them
	})
	doctorOpts.Sim, doctorOpts.StateHeld, doctorOpts.Loops = useSim, stateHeld, health
	bc.Doctor = func(ctx context.Context) (string, error) {
		var buf bytes.Buffer
		report := doctor.Run(ctx, doctorOpts)
		err := report.WriteText(&buf)
		return buf.String(), err
	}

	b, err := bot.New(bc, set)
	if err != nil {
		return err
	}
	// A log line, not a plain-text banner: stdout and stderr end in one
	// log stream, where a line that is not JSON breaks LOG_FORMAT=json.
	logger.Info("serving Slack", "version", version, "http_addr", b.HTTPAddr())

	// At SIGTERM (ctx ends) the bot stops reading envelopes and answers
	// those it acked; digests and alerts stop at once. Watches stop only
	// after the bot is done, so that a watch command in flight still
	// starts; the Store saved every watch as it started, and they resume at
	// the next start. When the bot stops on its own (Slack refused the
	// token), everything stops with it.
	schedCtx, stopSchedules := context.WithCancel(ctx)
	defer stopSchedules()
	var wg sync.WaitGroup
	// A loop's Run returns before its ctx ends only when it cannot run at
	// all; /readyz then says so for good.
	runBackground := func(wg *sync.WaitGroup, ctx context.Context, name loop.Name, run func(context.Context) error) {
		wg.Go(func() {
			if err := run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				logger.Error(string(name)+" stopped", "err", err)
				health.Failed(name, time.Now(), &loop.StepError{What: string(name) + " stopped", Err: err})
			}
		})
	}
	watchCtx, stopWatches := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWatches()
	if watches != nil {
		runBackground(&wg, watchCtx, loop.Watches, watches.Run)
	}
	if cfg.DigestChannel != "" && cfg.DigestEvery <= 0 {
		logger.Warn("no scheduled digests: POOLTASKS_DIGEST_CHANNEL is set but POOLTASKS_DIGEST_EVERY is not positive",
			"every", cfg.DigestEvery)
	}
	// schedules runs the scheduled digests and alerts with store and
	// deps, and the watches of w when not nil, until ctx ends.
	schedules := func(ctx context.Context, store stateStore, deps func(string) loop.Deps, w *watch.Watches) {
		var g sync.WaitGroup
		defer g.Wait()
		if w != nil {
			runBackground(&g, ctx, loop.Watches, w.Run)
		}
		if cfg.DigestChannel != "" && cfg.DigestEvery > 0 {
			d := digest.New(digest.Config{Channel: cfg.DigestChannel, Every: cfg.DigestEvery, At: parsed.DigestAt,
				Pools: pools, Quiet: cfg.DigestQuiet}, deps("digest"), store)
			runBackground(&g, ctx, loop.Digests, d.Run)
		}
		if len(parsed.AlertRoutes) > 0 {
			// One Alerter per channel; Validate refused an alert channel that
			// may see no pool, and a channel routed twice.
			var routes alert.Routes
			for _, r := range parsed.AlertRoutes {
				routes = append(routes, alert.New(alert.Config{Channel: r.Channel, Every: cfg.AlertEvery, Pools: r.Pools,
					MinFailed: cfg.AlertMinFailed, MinRatio: cfg.AlertMinRatio, Actions: parsed.Actions}, deps("alert"), store))
			}
			runBackground(&g, ctx, loop.Alerts, routes.Run)
		}
	}
	if fs, ok := store.(*state.Store); ok && fs.Lost() != nil && scheduler {
		lost := fs.Lost()
		v := blocks.StateLostView{Dir: lost.Dir, Why: lost.Why, Kept: lost.Kept,
			Digests: cfg.DigestChannel != "" && cfg.DigestEvery > 0, Alerts: len(parsed.AlertRoutes) > 0}
		var channels []string
		if v.Digests {
			channels = append(channels, cfg.DigestChannel)
		}
		for _, r := range parsed.AlertRoutes {
			channels = append(channels, r.Channel)
		}
		wg.Go(func() { announceLoss(schedCtx, poster, v, channels, logger) })
	}
	switch {
	case shared != nil:
		wg.Go(func() {
			elector.Run(schedCtx, func(ctx context.Context, token string) {
				// Every write and post of this term carries its token:
				// once the lease is lost, Redis refuses the writes and
				// the poster refuses the posts.
				fenced := shared.Fenced(token)
				fdeps := func(component string) loop.Deps {
					d := deps(component)
					d.Poster = lease.Poster{Poster: poster, Elector: elector, Token: token}
					return d
				}
				leader := wcfg
				leader.Ended = alert.Retries{Store: fenced, Poster: fdeps("watch").Poster, Actions: parsed.Actions}
				schedules(ctx, fenced, fdeps, watch.New(leader, fdeps("watch"), fenced))
				// What failed in this term is the next leader's now.
				for _, l := range []loop.Name{loop.Digests, loop.Alerts, loop.Watches} {
					health.Recovered(l)
				}
			})
		})
	case scheduler:
		wg.Go(func() { schedules(schedCtx, store, deps, nil) })
	}
	err = b.Run(ctx)
	stopSchedules()
	stopWatches()
	wg.Wait()
	if err == nil {
		saved, _ := store.Watches(context.WithoutCancel(ctx))
		logger.Info("stopped", "watches_saved", len(saved))
	}
	return err
}

// openState opens the file store in dir, which one process at a time
// writes (a lock on the directory). When another process holds it, this
// one keeps its state in memory and runs no schedules (digests, alerts):
// held says why, for the log and doctor. A state saved by a newer
// pooltasks is refused (exit status 2), not overwritten.
func openState(dir string, health *loop.Health, logger *slog.Logger) (store *state.Store, held error, err error) {
	store, err = state.Open(dir, state.Options{Lock: true, Program: "pooltasks " + version, OnSave: func(err error) {
		if err != nil {
			health.Failed(loop.State, time.Now(), &loop.StepError{What: "saving the state in " + dir + " (kept in memory, saved at the next save that works)", Err: err})
		} else {
			health.Recovered(loop.State)
		}
	}})
	var locked *state.LockedError
	var newer *state.NewerError
	switch {
	case errors.As(err, &locked):
		logger.Warn("another pooltasks process holds the state directory: this one runs no digests or alerts, and keeps its watches in memory only",
			"state_dir", dir, "holder_pid", locked.PID)
		return state.Memory(), locked, nil
	case errors.As(err, &newer):
		return nil, nil, usageErrorf("%v", err)
	case err != nil:
		return nil, nil, err
	}
	switch lost := store.Lost(); {
	case lost != nil:
		logger.Error("saved state lost: no state file could be read, so this start is a fresh one (digests resume at the next window, alerts are re-baselined, watches are not resumed)",
			"state_dir", dir, "why", lost.Why, "kept_aside", lost.Kept)
	case store.Recovered() != "":
		// A torn or hand-edited main file: the one before it is used, so
		// a digest may repeat a window and a watch may not resume.
		logger.Warn("state file not used as it was", "state_dir", store.Dir(), "why", store.Recovered())
	}
	return store, nil, nil
}

// announceLoss posts, once, in each channel of digests and alerts (in
// order, each once), that the saved state was lost and what that means, so
// that the loss is seen where the team reads the bot, not only in the log.
func announceLoss(ctx context.Context, poster loop.Poster, v blocks.StateLostView, channels []string, logger *slog.Logger) {
	text, bs := blocks.StateLost(v)
	seen := map[string]bool{}
	for _, ch := range channels {
		if seen[ch] {
			continue
		}
		seen[ch] = true
		pctx, cancel := context.WithTimeout(ctx, loop.PostTimeout)
		_, err := poster.PostMessage(pctx, ch, "", text, bs)
		cancel()
		if err != nil {
			logger.Error("could not tell the channel that the saved state was lost", "channel", ch, "err", err)
		}
	}
}

// notifier is the bot's Notifier of a responder: watches in the scheduler
// (with the actions taken on their messages), digests here.
type notifier struct {
	*watchapi.Remote
	bot.Digester
}

// digestPools is what a digest in channel covers: POOLTASKS_DIGEST_POOLS
// in POOLTASKS_DIGEST_CHANNEL when set, else the pools the channel may see
// by POOLTASKS_CHANNEL_POOLS (nil: every pool). A channel that may see no
// pool gets no digest.
func digestPools(cfg config.Config, bindings config.Bindings, channel string) ([]string, error) {
	switch {
	case len(cfg.DigestPools) > 0 && channel == cfg.DigestChannel:
		return cfg.DigestPools, nil
	case channel == "": // a dry run, or no scheduled digests
		return nil, nil
	}
	pools, all := bindings.Pools(channel)
	if !all && len(pools) == 0 {
		return nil, usageErrorf("POOLTASKS_CHANNEL_POOLS: %s may see no pool (*= and no entry of its own), so its digest would be empty; bind it, or set POOLTASKS_DIGEST_POOLS for POOLTASKS_DIGEST_CHANNEL", channel)
	}
	return pools, nil
}

// botConfig maps the environment's configuration to the bot's.
func botConfig(cfg config.Config, bindings config.Bindings) bot.Config {
	return bot.Config{
		AppToken:        cfg.SlackAppToken,
		BotToken:        cfg.SlackBotToken,
		APIURL:          cfg.SlackAPIURL,
		AllowedUsers:    cfg.AllowedUsers,
		AllowedChannels: cfg.AllowedChannels,
		ChannelPools:    bindings,
		UserRate:        cfg.UserRate,
		HTTPAddr:        cfg.HTTPAddr,
		NativeBlocks:    true,
	}
}
