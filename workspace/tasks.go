package workspace

import (
	"context"
	"slices"
	"strings"

	"github.com/pooltasks/pooltasks/pooltask"
)

// maxPrefixSearch bounds the newest tasks FindTask searches for a start of
// an id (10 pages).
const maxPrefixSearch = 10 * MaxPageSize

// maxPrefixMatches is how many ids an ambiguous start lists.
const maxPrefixMatches = 5

// FindTask returns the task whose id is value, or else, for a value of
// pooltask.MinTaskPrefix characters or more that is not a whole id, the one
// task among the newest maxPrefixSearch whose id starts with it (any
// case), as narrow tables show ids. A value that names no task, or starts
// several ids, is a *pooltask.TaskIDError; an API error is returned as it
// is. This is the one rule for a task id, wherever one is given.
func FindTask(ctx context.Context, l TaskLister, value string) (pooltask.Task, error) {
	page, err := l.ListTasks(ctx, pooltask.ListOptions{TaskIDs: []string{value}, Limit: 1})
	if err != nil {
		return pooltask.Task{}, err
	}
	for _, t := range page.Tasks {
		if t.ID == value {
			return t, nil
		}
	}
	if pooltask.IsID(value) || len(value) < pooltask.MinTaskPrefix {
		return pooltask.Task{}, &pooltask.TaskIDError{ID: value}
	}
	var found []pooltask.Task
	searched := 0
	for t, err := range Tasks(ctx, l, pooltask.ListOptions{}) {
		if err != nil {
			return pooltask.Task{}, err
		}
		if searched++; len(t.ID) >= len(value) && strings.EqualFold(t.ID[:len(value)], value) {
			found = append(found, t)
		}
		if searched == maxPrefixSearch || len(found) == maxPrefixMatches {
			break
		}
	}
	if len(found) == 1 {
		return found[0], nil
	}
	e := &pooltask.TaskIDError{ID: value, Searched: searched}
	if len(found) > 1 {
		for _, t := range found {
			e.Matches = append(e.Matches, t.ID)
		}
	}
	return pooltask.Task{}, e
}

// FindTaskIDs is ids with each one that is not a whole id replaced by the
// id of the task it starts (FindTask), for task= filters; a start that
// names no task, or several, is FindTask's error. Whole ids are left as
// they are and cost no call.
func FindTaskIDs(ctx context.Context, l TaskLister, ids []string) ([]string, error) {
	var out []string
	for i, id := range ids {
		if pooltask.IsID(id) {
			continue
		}
		if out == nil {
			out = slices.Clone(ids)
		}
		t, err := FindTask(ctx, l, id)
		if err != nil {
			return nil, err
		}
		out[i] = t.ID
	}
	if out == nil {
		return ids, nil
	}
	return out, nil
}
