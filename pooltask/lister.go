package pooltask

import "context"

// Lister is what the background loops (digests, alerts, watches) ask of
// the Workspace API: *workspace.Client has it, and so does the Lister of
// several targets (targets.Set.Lister). ResolvePool turns a configured
// pool (an id or a name) into ids by the one pool rule. It is declared
// here, once, so that the loops (bot/notify/loop) and the targets speak
// of the same type without either importing the other.
type Lister interface {
	ListTasks(ctx context.Context, opts ListOptions) (TaskPage, error)
	ResolvePool(ctx context.Context, value string) Resolution
}
