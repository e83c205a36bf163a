package loop_test

import (
	"github.com/pooltasks/pooltasks/bot/notify/loop"
	"github.com/pooltasks/pooltasks/bot/notify/notifytest"
)

// notifytest's fakes are what the loops take.
var (
	_ loop.Lister = (*notifytest.Lister)(nil)
	_ loop.Poster = (*notifytest.Poster)(nil)
	_ loop.Clock  = (*notifytest.Clock)(nil)
)
