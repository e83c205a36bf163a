package loop

import "time"

// Clock is the time source of the schedulers, so tests can drive them with
// a fake clock (see notifytest.Clock).
type Clock interface {
	Now() time.Time
	// After sends the time once d has passed; a d of zero or less fires at once.
	After(d time.Duration) <-chan time.Time
}

// RealClock is the wall clock.
var RealClock Clock = realClock{}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
