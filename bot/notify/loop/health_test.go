package loop

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

func TestPublicErrorHidesTexts(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&StepError{What: "posting the digest", Err: fmt.Errorf("posting to C1: %w", slack.SlackErrorResponse{Err: "not_in_channel"})}, "posting the digest: Slack answered not_in_channel"},
		{&StepError{What: "saving", Err: &fs.PathError{Op: "open", Path: "/state/x", Err: fs.ErrPermission}}, "saving: open /state/x: permission denied"},
		{errors.New("Authorization: Bearer xoxb-secret"), "see the log for why"},
		{&StepError{What: "posting", Err: errors.New("xapp-1-secret echoed")}, "posting: see the log for why"},
		{context.DeadlineExceeded, "timed out"},
	} {
		if got := PublicError(tc.err); got != tc.want {
			t.Errorf("PublicError(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

func TestBackoffWait(t *testing.T) {
	b := Backoff{Base: time.Second, Max: time.Minute}
	for failures, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 6: 32 * time.Second, 7: time.Minute, 100: time.Minute} {
		for range 20 {
			if got := b.Wait(failures); got < want/2 || got > want {
				t.Errorf("Wait(%d) = %v, want %v–%v", failures, got, want/2, want)
			}
		}
	}
}
