package doctor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/pooltasks/pooltasks/bot/notify/state"
	"github.com/pooltasks/pooltasks/config"
)

// RequiredScopes are the bot scopes pooltasks needs; manifest.yml asks for exactly these
// (deploy's tests check that the two agree).
// usergroups:read lets POOLTASKS_OPERATORS name user groups (usergroups.users.list).
var RequiredScopes = []string{"commands", "chat:write", "chat:write.public", "app_mentions:read", "usergroups:read", "channels:history", "groups:history"}

// historyScopes are the RequiredScopes without which pooltasks still works, but cannot
// read a channel's history to check, after a crash between a digest's or an alert's post
// and its save, whether it went out: it may then post it twice.
var historyScopes = []string{"channels:history", "groups:history"}

// checkConfig reports config.Validate's problems, each as a check named after its variable:
// exactly what serve and digest refuse to start with (Fail) or warn of (Warn), and what is
// worth knowing (ok), such as the default in force for channels the bindings do not name.
// Then the state directory, which serve opens in every process. It returns the bindings
// Validate parsed, for the pool-name check.
func checkConfig(cfg config.Config, sim bool) ([]Check, config.Bindings) {
	// With --sim the Workspace settings are the simulator's, and unset Slack tokens
	// need no line here: the Slack checks say they were skipped.
	needs := config.NeedAppToken | config.NeedBotToken | config.NeedWorkspace
	if sim {
		needs = 0
	}
	var cs []Check
	parsed, problems := cfg.Validate(needs)
	for _, p := range problems {
		c := Check{Name: p.Var, Status: OK, Detail: p.Detail, Fix: p.Fix}
		switch p.Severity {
		case config.Warning:
			c.Status = Warn
		case config.Error:
			c.Status = Fail
		}
		cs = append(cs, c)
	}
	if cfg.StateDir != "" && cfg.RedisURL == "" {
		cs = append(cs, checkStateDir(cfg.StateDir))
	}
	return cs, parsed.Bindings
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

// checkStateLock says which process writes the state directory (one at a
// time, by a lock): with POOLTASKS_SCHEDULER=true, a second process on the
// same directory runs without scheduling. held is serve's own reason for
// not using the directory, nil when it uses it (or outside serve).
func checkStateLock(cfg config.Config, held error) Check {
	c := Check{Name: "state lock"}
	if held != nil {
		c.Status, c.Detail = Warn, held.Error()+": this process keeps its watches in memory only"
		if cfg.Scheduler {
			c.Detail += " and runs no digests or alerts although POOLTASKS_SCHEDULER=true"
		}
		c.Fix = "run one scheduler per state directory: stop the other process, or give this one its own POOLTASKS_STATE_DIR"
		return c
	}
	pid, isHeld, err := state.Holder(cfg.StateDir)
	switch {
	case err != nil:
		c.Status, c.Detail = Warn, fmt.Sprintf("cannot check the lock of %s: %v", cfg.StateDir, err)
	case isHeld && pid == os.Getpid():
		c.Status, c.Detail = OK, "this process holds "+cfg.StateDir+" and is the one that writes it"
	case isHeld:
		c.Status, c.Detail = OK, fmt.Sprintf("held by a running pooltasks (pid %d): a second serve on %s would run without scheduling", pid, cfg.StateDir)
	default:
		c.Status, c.Detail = OK, "free: the next serve takes it"
	}
	return c
}
