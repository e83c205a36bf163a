package bot

import (
	"testing"
	"time"
)

// SetHTTPLimits makes the HTTP servers of bots made during the test allow
// conns connections and time out after d (d/2 for headers), so that a
// test of the limits takes well under a second.
func SetHTTPLimits(t testing.TB, conns int, d time.Duration) {
	saved := httpLimits
	t.Cleanup(func() { httpLimits = saved })
	httpLimits.conns = conns
	httpLimits.header, httpLimits.read, httpLimits.write, httpLimits.idle = d/2, d, d, d
}
