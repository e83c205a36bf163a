// Package doctor diagnoses a pooltasks configuration before it is deployed: the
// configuration itself, exactly as config.Validate judges it for serve (so doctor passes
// what serve accepts and fails what it refuses), a writable state directory, the Huawei
// Cloud credentials through one signed call, the project id and region endpoint, the pool
// names of the configuration, and Slack's auth.test with the scopes the bot token was
// granted, and the app-level token that socket mode needs.
//
// Run returns a Report: a list of checks, each ok, skip, warn or FAIL, with what was found and
// how to fix it. `pooltasks doctor` prints it and exits 1 if any check failed;
// `/pooltasks doctor` shows the same to POOLTASKS_ADMIN_USERS. A report never holds a secret:
// tokens appear as xoxb-…last4 at most, and every configured secret is redacted from the
// report's text as it is from log lines (package redact).
//
// Doctor takes the config.Config and the pieces cmd/ has already built through small
// interfaces (TaskLister), so each diagnosis is tested against httptest servers and the
// simulator.
package doctor
