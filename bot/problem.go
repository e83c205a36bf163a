package bot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/pooltasks/pooltasks/bot/blocks"
	"github.com/pooltasks/pooltasks/bot/notify/loop"
	"github.com/pooltasks/pooltasks/bot/notify/watch"
	"github.com/pooltasks/pooltasks/commands"
	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/targets"
)

// condition is a kind of answer a user can act on: a mistake, a refusal, a
// limit. It is not an internal error: it is answered with its own title and
// hint, has an audit outcome of its own, and is not logged as a failure.
type condition int

const (
	condBadInput condition = iota + 1
	condStaleButton
	condNotFound
	condNotAllowed      // the user or the channel is not served
	condPoolNotAllowed  // the channel's binding does not cover the pool
	condRateLimited     // the user's own command budget
	condAmbiguousPool   // a pool= value names several pools
	condUnknownPool     // a pool= value names none
	condNotAvailable    // a feature this pooltasks does not offer
	condTooManyWatches  // the limit of watches at once
	condAlreadyWatching // the task is watched there already
	condAmbiguousTask   // the start of a task id that starts several
	condWrongStatus     // the task's status does not allow the action
	condUnknownTarget   // a target= value names none
	condAmbiguousTarget // a task id of several targets
)

// conditions maps each condition, once, to what the user is told and what
// the audit line and the metrics say. private: the answer goes to the
// requester alone, even in a thread where the answers are public.
var conditions = map[condition]struct {
	title, hint, outcome string
	private              bool
}{
	condBadInput:        {"I couldn't read that command", "See /pooltasks help for the keys and examples.", "bad_input", false},
	condStaleButton:     {"That button is not valid any more", "Run the command again for fresh buttons.", "bad_input", true},
	condNotFound:        {"Not found", "Check the id, or list tasks with /pooltasks list since=7d.", "not_found", false},
	condNotAllowed:      {"Not allowed", "Ask the team that runs pooltasks.", "refused", true},
	condPoolNotAllowed:  {"Not allowed in this channel", "Ask in a channel that may see the pool, or ask the team that runs pooltasks.", "refused_pool", true},
	condRateLimited:     {"Too many commands", "Wait a moment; every command is answered once you are within the rate.", "rate_limited", true},
	condAmbiguousPool:   {"Which pool?", "Give the pool's id, or its full name in double quotes.", "ambiguous_pool", false},
	condUnknownPool:     {"No such pool", "Give the pool's id, or its name as the Workspace console shows it (see /pooltasks help pool).", "unknown_pool", false},
	condNotAvailable:    {"Not available here", "The team that runs pooltasks can turn it on.", "unavailable", true},
	condTooManyWatches:  {"Too many watches", "Stop a watch with the Stop watching button on its message, or try again when one ends.", "limit", true},
	condAlreadyWatching: {"Already watching", "Follow the watch message that is there.", "already_watching", true},
	condAmbiguousTask:   {"Which task?", "Give more of the id; lists show it whole.", "ambiguous_task", false},
	condWrongStatus:     {"Not possible now", "Look at the task again with /pooltasks show TASK_ID.", "wrong_status", true},
	condUnknownTarget:   {"No such target", "See /pooltasks help target.", "unknown_target", false},
	condAmbiguousTarget: {"Which target?", "Add target= with one of them.", "ambiguous_target", false},
}

// userError is a condition met by a request, with what is specific to it.
// Handlers return it; the bot answers it (see explain).
type userError struct {
	cond     condition
	detail   string   // a sentence about this request: the task, the pool, the wait
	problems []string // one bullet each: what was wrong with the input, the choices
	hint     string   // replaces the condition's hint when what to do depends on the request
}

func (e *userError) Error() string {
	if e.detail != "" {
		return conditions[e.cond].title + ": " + e.detail
	}
	return conditions[e.cond].title
}

// problem returns a *userError of cond saying detail.
func problem(cond condition, detail string) *userError {
	return &userError{cond: cond, detail: detail}
}

// asUserError finds the condition a failed request met: a *userError, bad
// input from commands.Parse, or a condition of bot/notify's watches. It
// returns nil for failures that are not the user's to act on.
func asUserError(err error) *userError {
	if ue, ok := errors.AsType[*userError](err); ok {
		return ue
	}
	if in, ok := errors.AsType[*commands.InputError](err); ok {
		ue := &userError{cond: condBadInput}
		for _, p := range in.Problems {
			ue.problems = append(ue.problems, p.Message)
		}
		return ue
	}
	if te, ok := errors.AsType[*pooltask.TaskIDError](err); ok {
		cond := condNotFound
		if len(te.Matches) > 1 {
			cond = condAmbiguousTask
		}
		return problem(cond, sentence(te.Error()))
	}
	if ut, ok := errors.AsType[*targets.UnknownError](err); ok {
		return problem(condUnknownTarget, sentence(ut.Error()))
	}
	if at, ok := errors.AsType[*targets.AmbiguousError](err); ok {
		return problem(condAmbiguousTarget, sentence(at.Error()))
	}
	if de, ok := errors.AsType[*targets.DepthError](err); ok {
		return problem(condBadInput, sentence(de.Error()))
	}
	if np, ok := errors.AsType[*loop.NoPoolError](err); ok {
		return &userError{cond: condPoolNotAllowed,
			detail: "No digest: this channel may see certain pools only, and in POOLTASKS_CHANNEL_POOLS " + strings.Join(np.Problems, "; ") + ".",
			hint:   "Give pool=, or ask the team that runs pooltasks to fix the binding."}
	}
	switch {
	case errors.Is(err, watch.ErrTooManyWatches):
		return problem(condTooManyWatches, "Too many watches are running at once.")
	case errors.Is(err, watch.ErrAlreadyWatching):
		return problem(condAlreadyWatching, "This task is watched here already.")
	case errors.Is(err, watch.ErrTaskNotFound):
		return problem(condNotFound, "No task with that id was found.")
	case errors.Is(err, watch.ErrWatchNotFound):
		return &userError{cond: condNotFound, detail: "That watch is no longer running.", hint: "Nothing to stop."}
	case errors.Is(err, watch.ErrStoreUnavailable):
		return &userError{cond: condNotAvailable, detail: "Watches need the shared state (Redis), which does not answer right now.",
			hint: "Queries still work; try the watch again in a minute."}
	case errors.Is(err, watch.ErrWatchesClosed):
		return &userError{cond: condNotAvailable, detail: "Watches are shutting down.", hint: "Try again in a minute."}
	}
	return nil
}

// explain turns a failed request into its answer and audit outcome: a
// condition with its title and hint, the API's error with its code, message
// and request id, or, for anything else, a short "something went wrong"
// (logged with the error).
func (b *Bot) explain(ctx context.Context, err error) (v blocks.ErrorView, outcome string, private bool) {
	if ue := asUserError(err); ue != nil {
		c := conditions[ue.cond]
		v = blocks.ErrorView{Title: c.title, Problems: ue.problems, Message: ue.detail, Hint: cmp.Or(ue.hint, c.hint)}
		if ue.cond == condBadInput {
			v.Example = "/pooltasks help"
			v.Hint = ""
		}
		return v, c.outcome, c.private
	}
	b.log.WarnContext(ctx, "command failed", "err", err)
	v = blocks.ErrorView{Title: "The Workspace API answered with an error"}
	acted, isAction := errors.AsType[*actionError](err)
	in := ""
	if f, ok := errors.AsType[*targets.Failure](err); ok {
		in = " (target " + f.Target + ")"
		v.Title += in
	}
	if ae, ok := errors.AsType[*pooltask.APIError](err); ok {
		v.Code, v.Message, v.RequestID = ae.Code, ae.Message, ae.RequestID
		switch {
		case ae.Status == 401:
			v.Hint = "pooltasks' credentials were refused: check HUAWEICLOUD_SDK_AK/SK (or the role) and the project id."
		case ae.Status == 403 && isAction:
			v.Hint = "pooltasks' credentials may not do this: grant its IAM user or agency the action " + acted.action.IAM() + " in this project. Nothing was done."
		case ae.Status == 403:
			v.Hint = "pooltasks is not allowed to do this: grant its IAM user or agency the Workspace read permissions (e.g. Workspace ReadOnlyAccess) in this project."
		case isAction && ae.Status < 500:
			v.Hint = "The API refused the action; nothing was done."
		case ae.Status == 429:
			v.Hint = "The API is busy; pooltasks retried with backoff. Try again in a minute."
		case ae.Status >= 500:
			v.Hint = "The API failed on its side; pooltasks retried. Try again shortly."
		case ae.Status == 400:
			v.Hint = "The API refused the query; check the ids and filters (see /pooltasks help)."
		}
		return v, fmt.Sprintf("api_%d", ae.Status), false
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		v.Title = "The Workspace API did not answer in time" + in
		v.Hint = "Nothing came back before the deadline (pooltasks may also be restarting). Try again, or narrow the query."
		return v, "timeout", false
	}
	v.Title = "Something went wrong"
	v.Message = errorSummary(err)
	return v, "error", false
}

// sentence is an error's lower-case text as a sentence of an answer.
func sentence(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:] + "."
}
