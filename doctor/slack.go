package doctor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/slack-go/slack"

	"github.com/pooltasks/pooltasks/config"
)

// Check names of the Slack side.
const (
	NameSlackBot    = "slack bot token"
	NameSlackScopes = "slack scopes"
	NameSlackApp    = "slack app token"
)

func checkSlack(ctx context.Context, opts Options) []Check {
	s := opts.Config
	apiURL := s.SlackAPIURL
	if apiURL == "" {
		apiURL = slack.APIURL
	}
	var cs []Check

	switch bot := s.SlackBotToken; {
	case bot == "" && opts.Sim:
		cs = append(cs,
			Check{Name: NameSlackBot, Status: Skip, Detail: "SLACK_BOT_TOKEN is not set: auth.test skipped"},
			Check{Name: NameSlackScopes, Status: Skip, Detail: "SLACK_BOT_TOKEN is not set: scopes not checked"})
	case !strings.HasPrefix(bot, "xoxb-"):
		cs = append(cs,
			Check{Name: NameSlackBot, Status: Skip, Detail: "not called: SLACK_BOT_TOKEN is missing or not a bot token (see above)"},
			Check{Name: NameSlackScopes, Status: Skip, Detail: "not checked: no usable bot token"})
	default:
		cs = append(cs, authTest(ctx, opts, apiURL)...)
	}

	switch app := s.SlackAppToken; {
	case app == "" && opts.Sim:
		cs = append(cs, Check{Name: NameSlackApp, Status: Skip, Detail: "SLACK_APP_TOKEN is not set: socket mode not checked"})
	case !strings.HasPrefix(app, "xapp-"):
		cs = append(cs, Check{Name: NameSlackApp, Status: Skip, Detail: "not called: SLACK_APP_TOKEN is missing or not an app-level token (see above)"})
	default:
		cs = append(cs, connectionsOpen(ctx, opts, apiURL))
	}
	return cs
}

// authTest calls auth.test with the bot token and compares the scopes Slack reports in the
// X-OAuth-Scopes header with RequiredScopes.
func authTest(ctx context.Context, opts Options, apiURL string) []Check {
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	api := slack.New(opts.Config.SlackBotToken, slack.OptionAPIURL(apiURL), slack.OptionHTTPClient(opts.HTTPClient))
	resp, err := api.AuthTestContext(ctx)
	if err != nil {
		bot := Check{Name: NameSlackBot, Status: Fail}
		var se slack.SlackErrorResponse
		switch {
		case errors.As(err, &se):
			bot.Detail = fmt.Sprintf("Slack refused the bot token %s: %s", config.Mask(opts.Config.SlackBotToken), se.Err)
			switch se.Err {
			case "invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive":
				bot.Fix = "copy the Bot User OAuth Token again (Install App → Bot User OAuth Token); if the app was uninstalled, install it again"
			default:
				bot.Fix = "see https://api.slack.com/methods/auth.test for the error " + se.Err
			}
		default:
			bot.Detail = fmt.Sprintf("cannot reach Slack at %s: %v", apiURL, err)
			bot.Fix = "check SLACK_API_URL and that this host can reach it (egress firewall, proxy, DNS)"
		}
		return []Check{bot, {Name: NameSlackScopes, Status: Skip, Detail: "not checked: auth.test failed"}}
	}

	bot := Check{Name: NameSlackBot, Status: OK,
		Detail: fmt.Sprintf("%s: team %s (%s), bot user %s (%s)", config.Mask(opts.Config.SlackBotToken), resp.Team, resp.TeamID, resp.User, resp.UserID)}
	if resp.BotID == "" {
		bot.Status = Warn
		bot.Detail += ", but Slack reports no bot id"
		bot.Fix = "use the Bot User OAuth Token of the app (features.bot_user in manifest.yml)"
	}

	sc := Check{Name: NameSlackScopes}
	header := ""
	if resp.Header != nil {
		header = resp.Header.Get("X-OAuth-Scopes")
	}
	granted := splitScopes(header)
	var missing []string
	for _, s := range RequiredScopes {
		if !slices.Contains(granted, s) {
			missing = append(missing, s)
		}
	}
	switch {
	case header == "":
		sc.Status, sc.Detail = Warn, "Slack did not report the granted scopes (no X-OAuth-Scopes header)"
		sc.Fix = "compare the app's OAuth & Permissions page with manifest.yml: " + strings.Join(RequiredScopes, ", ")
	case len(missing) > 0 && !slices.ContainsFunc(missing, func(s string) bool { return !slices.Contains(historyScopes, s) }):
		sc.Status = Warn
		sc.Detail = "missing " + strings.Join(missing, ", ") + ": after a crash between a digest's or an alert's post and its save, " +
			"pooltasks cannot look in the channel's history whether it went out, and may post it twice (granted: " + strings.Join(granted, ", ") + ")"
		sc.Fix = "update the app from manifest.yml (or OAuth & Permissions → Bot Token Scopes), then reinstall it: Install App → Reinstall to Workspace"
	case len(missing) > 0:
		sc.Status = Fail
		sc.Detail = "missing " + strings.Join(missing, ", ") + " (granted: " + strings.Join(granted, ", ") + ")"
		sc.Fix = "add the missing scopes (update the app from manifest.yml, or OAuth & Permissions → Bot Token Scopes), then reinstall the app: Install App → Reinstall to Workspace"
	default:
		sc.Status, sc.Detail = OK, strings.Join(RequiredScopes, ", ")
	}
	return []Check{bot, sc}
}

func splitScopes(h string) []string {
	var out []string
	for _, s := range strings.Split(h, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// connectionsOpen asks apps.connections.open for a socket-mode URL, which proves the
// app-level token and socket mode without connecting.
func connectionsOpen(ctx context.Context, opts Options, apiURL string) Check {
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	token := opts.Config.SlackAppToken
	api := slack.New("", slack.OptionAppLevelToken(token), slack.OptionAPIURL(apiURL), slack.OptionHTTPClient(opts.HTTPClient))
	_, _, err := api.StartSocketModeContext(ctx)
	c := Check{Name: NameSlackApp}
	if err == nil {
		c.Status, c.Detail = OK, config.Mask(token)+": socket mode can connect (apps.connections.open answered)"
		return c
	}
	c.Status = Fail
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) {
		c.Detail = fmt.Sprintf("cannot reach Slack at %s: %v", apiURL, err)
		c.Fix = "check SLACK_API_URL and that this host can reach it (egress firewall, proxy, DNS)"
		return c
	}
	c.Detail = fmt.Sprintf("apps.connections.open refused %s: %s", config.Mask(token), se.Err)
	switch se.Err {
	case "missing_scope":
		c.Fix = "generate an app-level token with the scope connections:write (Basic Information → App-Level Tokens)"
	case "not_allowed_token_type":
		c.Fix = "SLACK_APP_TOKEN must be the app-level token (xapp-…), not a bot or user token"
	case "invalid_auth", "not_authed", "token_revoked", "token_expired":
		c.Fix = "generate a new app-level token with connections:write (Basic Information → App-Level Tokens)"
	default:
		c.Fix = "check that socket mode is on (settings.socket_mode_enabled in manifest.yml, or Settings → Socket Mode)"
	}
	return c
}
