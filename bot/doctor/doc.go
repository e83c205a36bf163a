// Package doctor diagnoses a pooltasks configuration before it is deployed: the settings
// themselves (tokens present and shaped right, a region or endpoint, numbers in range,
// channel-pool bindings that parse), the Huawei Cloud credentials through one signed call,
// the project id and region endpoint, and Slack's auth.test with the scopes the bot token
// was granted, and the app-level token that socket mode needs.
//
// Run returns a Report: a list of checks, each ok, skip, warn or FAIL, with what was found and
// how to fix it. `pooltasks doctor` prints it and exits 1 if any check failed;
// `/pooltasks doctor` shows the same to POOLTASKS_ADMIN_USERS. A report never holds a secret:
// tokens appear as xoxb-…last4 at most, the SK and security token never.
//
// Doctor takes the pieces cmd/ has already built through small interfaces (TaskLister) and
// plain values (Settings), so each diagnosis is tested against httptest servers and the
// simulator.
package doctor
