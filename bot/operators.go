package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// groupTTL is how long the members of a user group are kept before
// usergroups.users.list is asked again.
const groupTTL = 5 * time.Minute

// operators says who may act on tasks: the listed user ids, and the
// members of the listed user groups (S…), read with usergroups.users.list
// (scope usergroups:read) and kept groupTTL.
type operators struct {
	users   map[string]bool
	groups  []string
	members func(ctx context.Context, group string) ([]string, error)
	now     func() time.Time

	mu    sync.Mutex
	cache map[string]groupMembers
}

type groupMembers struct {
	users   []string
	fetched time.Time
}

func newOperators(ids []string, members func(context.Context, string) ([]string, error), now func() time.Time) *operators {
	o := &operators{users: map[string]bool{}, members: members, now: now, cache: map[string]groupMembers{}}
	for _, id := range ids {
		id = strings.TrimSpace(id)
		switch {
		case strings.HasPrefix(id, "S"):
			o.groups = append(o.groups, id)
		case id != "":
			o.users[id] = true
		}
	}
	return o
}

// is reports whether user is an operator. A group that cannot be read
// counts as empty for this answer (the error says which), and is asked
// again next time.
func (o *operators) is(ctx context.Context, user string) (bool, error) {
	if o.users[user] {
		return true, nil
	}
	var errs []string
	for _, g := range o.groups {
		m, err := o.groupMembers(ctx, g)
		if err != nil {
			errs = append(errs, fmt.Sprintf("user group %s: %v", g, err))
			continue
		}
		if slices.Contains(m, user) {
			return true, nil
		}
	}
	if len(errs) > 0 {
		return false, fmt.Errorf("reading operators: %s", strings.Join(errs, "; "))
	}
	return false, nil
}

func (o *operators) groupMembers(ctx context.Context, g string) ([]string, error) {
	now := o.now()
	o.mu.Lock()
	c, ok := o.cache[g]
	o.mu.Unlock()
	if ok && now.Sub(c.fetched) < groupTTL {
		return c.users, nil
	}
	users, err := o.members(ctx, g)
	if err != nil {
		return nil, err
	}
	o.mu.Lock()
	o.cache[g] = groupMembers{users: users, fetched: now}
	o.mu.Unlock()
	return users, nil
}
