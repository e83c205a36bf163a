package main

import (
	"io"
	"log/slog"

	"github.com/pooltasks/pooltasks/bot"
	"github.com/pooltasks/pooltasks/config"
	"github.com/pooltasks/pooltasks/redact"
	"github.com/pooltasks/pooltasks/workspace"
)

// prepare validates cfg for a subcommand that needs needs and returns the
// logger of its lines and the values Validate parsed (the channel bindings,
// the digest time). An error-level problem stops
// the subcommand before it connects anywhere (exit status 2, each problem
// named); warnings are logged once.
func prepare(cfg config.Config, needs config.Need, stderr io.Writer) (*slog.Logger, config.Parsed, error) {
	parsed, problems := cfg.Validate(needs)
	if err := problems.Err(); err != nil {
		return nil, config.Parsed{}, err
	}
	logger, err := newLogger(cfg, stderr)
	if err != nil {
		return nil, config.Parsed{}, err
	}
	for _, p := range problems {
		if p.Severity == config.Warning {
			logger.Warn("configuration: "+p.Detail, "var", p.Var, "fix", p.Fix)
		}
	}
	return logger, parsed, nil
}

// newLogger builds the slog logger LOG_LEVEL and LOG_FORMAT ask for. Every
// configured secret is redacted from every line (package redact), and lines
// logged while the bot handles an envelope carry its envelope_id, user,
// channel and verb (bot.NewLogHandler), bot/notify's lines included.
func newLogger(cfg config.Config, w io.Writer) (*slog.Logger, error) {
	h, err := cfg.LogHandler(w)
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	return slog.New(redact.New(cfg.Secrets()...).Handler(bot.NewLogHandler(h))), nil
}

// workspaceConfig maps the configuration to the Workspace client's.
func workspaceConfig(cfg config.Config) workspace.Config {
	return workspace.Config{
		Region:        cfg.Region,
		Endpoint:      cfg.Endpoint,
		ProjectID:     cfg.ProjectID,
		AK:            cfg.AK,
		SK:            cfg.SK,
		SecurityToken: cfg.SecurityToken,
		RateLimit:     cfg.RateLimit,
		Burst:         cfg.Burst,
		Timeout:       cfg.Timeout,
		CacheTTL:      cfg.CacheTTL,
		UserAgent:     "pooltasks/" + version,
	}
}

// withWorkspace is cfg with the Workspace settings of wc, the API a
// subcommand talks to (the simulator's with --sim), for doctor to check:
// workspaceConfig's inverse.
func withWorkspace(cfg config.Config, wc workspace.Config) config.Config {
	cfg.Region, cfg.Endpoint, cfg.ProjectID = wc.Region, wc.Endpoint, wc.ProjectID
	cfg.AK, cfg.SK, cfg.SecurityToken = wc.AK, wc.SK, wc.SecurityToken
	return cfg
}
